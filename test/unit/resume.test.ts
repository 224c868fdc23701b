import { replayPage, validateResumeFrame } from '../../lambdas/core/resume';

const cursor = '1764255600000-0000-a3f91c';

describe('the resume frame', () => {
  it('takes a cursor and a page cursor', () => {
    expect(validateResumeFrame({ action: 'resume', after: cursor, page: cursor })).toEqual({
      after: cursor,
      page: cursor,
    });
    expect(validateResumeFrame({ action: 'resume' })).toEqual({});
    // An offline delivery's later page has no cursor, only the page's.
    expect(validateResumeFrame({ action: 'resume', page: cursor })).toEqual({ page: cursor });
  });

  it("takes the rooms the client is in, and an offline delivery's receipt on its own", () => {
    expect(validateResumeFrame({ action: 'resume', after: cursor, rooms: ['chat:42'] })).toEqual({
      after: cursor,
      rooms: ['chat:42'],
    });
    expect(validateResumeFrame({ action: 'resume', delivered: cursor })).toEqual({ delivered: cursor });
  });

  it.each([
    ['a cursor that is not a log id', { after: 'yesterday' }, 'after must be a log id'],
    ['rooms that are not a list', { after: cursor, rooms: 'chat:42' }, 'rooms must be an array'],
    ['a room name with a space', { after: cursor, rooms: ['chat 42'] }, 'each of rooms may contain only'],
    ['a receipt with a cursor', { after: cursor, delivered: cursor }, 'delivered is a receipt of its own'],
    ['a receipt from the future', { delivered: '9764255600000-0000-a3f91c' }, 'not a later one'],
    ['a number', { after: 42 }, 'after must be a log id'],
  ])('refuses %s with a 400 that names the field', (_case, frame, message) => {
    expect(() => validateResumeFrame({ action: 'resume', ...frame })).toThrow(
      expect.objectContaining({ statusCode: 400, message: expect.stringContaining(message) }),
    );
  });
});

describe('a replay page', () => {
  it("reads the user's streams and says recovered only with a cursor and no gap", async () => {
    // A log stand-in (unit test): what readReplay was asked, and a page with or without a gap.
    const asked: unknown[] = [];
    const log = (gaps: Array<{ reason: 'cap'; stream: string }>) => ({
      readReplay: async (request: unknown) => {
        asked.push(request);
        return { messages: [], gaps, windowMs: 900_000 };
      },
    });

    const recovered = await replayPage(log([]), 'user123', { after: cursor });
    const gap = await replayPage(log([{ reason: 'cap', stream: 'user#user123' }]), 'user123', { after: cursor });
    const offline = await replayPage(log([]), 'user123', {});

    expect(asked[0]).toEqual({ streams: ['user#user123', 'broadcast'], after: cursor, pageAfter: undefined });
    expect(recovered).toMatchObject({ type: 'replay', data: { recovered: true, messages: [], windowMs: 900_000 } });
    expect(gap.data.recovered).toBe(false);
    expect(offline.data.recovered).toBe(false);
    expect(recovered.data).not.toHaveProperty('next');
  });
});
