import { isFresher, nextRenewal } from '../../client/renewal-schedule';

describe('nextRenewal', () => {
  const now = 1_000_000_000_000;
  const timing = { renewConnectionAfter: 6_900_000, tokenRenewalMargin: 60_000, authenticatedAt: now, now };

  it('renews at exp less the margin when that comes before the 2-hour limit', () => {
    expect(nextRenewal({ ...timing, tokenExpiresAtMs: now + 600_000 })).toEqual({ delay: 540_000, reason: 'token' });
  });

  it('renews a token shorter than twice the margin halfway through its remaining life', () => {
    expect(nextRenewal({ ...timing, tokenExpiresAtMs: now + 80_000 })).toEqual({ delay: 40_000, reason: 'token' });
  });

  it('counts the 2-hour limit from the authenticated reply, and ignores an expired or unreadable exp', () => {
    const later = { ...timing, now: now + 900_000 };
    expect(nextRenewal({ ...later, tokenExpiresAtMs: now })).toEqual({ delay: 6_000_000, reason: 'lifetime' });
    expect(nextRenewal({ ...later, tokenExpiresAtMs: undefined })).toEqual({ delay: 6_000_000, reason: 'lifetime' });
  });

  it('schedules nothing with the 2-hour renewal disabled and no token exp', () => {
    expect(nextRenewal({ ...timing, renewConnectionAfter: 0, tokenExpiresAtMs: undefined })).toBeUndefined();
  });
});

describe('isFresher', () => {
  it('takes only another token, with a later exp when both are readable', () => {
    expect(isFresher('same', undefined, { token: 'same' })).toBe(false);
    expect(isFresher('new', 2000, { token: 'old', tokenExpiresAtMs: 1000 })).toBe(true);
    expect(isFresher('new', 1000, { token: 'old', tokenExpiresAtMs: 1000 })).toBe(false);
    expect(isFresher('new', undefined, { token: 'old', tokenExpiresAtMs: 1000 })).toBe(true);
  });
});
