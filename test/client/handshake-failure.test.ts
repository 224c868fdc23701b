import { HandshakeFailureReader, readRenewalRefusal } from '../../client/handshake-failure';

describe('HandshakeFailureReader', () => {
  const unopened = { code: 1006, reason: '', wasOpen: false };
  const inBrowser = { knowsHandshakeStatus: false };

  const navigatorBefore = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  afterEach(() => {
    if (navigatorBefore) Object.defineProperty(globalThis, 'navigator', navigatorBefore);
    else Reflect.deleteProperty(globalThis, 'navigator');
  });

  it('reads a 401 or 403 status as a refusal that is not retried, and another status as a retried rejection', () => {
    const failures = new HandshakeFailureReader(20_000, 3);
    const withWs = { knowsHandshakeStatus: true };

    const unauthorized = failures.read({ ...unopened, handshakeStatus: 401 }, withWs);
    expect(unauthorized).toMatchObject({ reason: 'unauthorized', status: 401 });
    expect(unauthorized.retry).toBeUndefined();
    expect(failures.read({ ...unopened, handshakeStatus: 403 }, withWs)).toMatchObject({ reason: 'forbidden' });
    expect(failures.read({ ...unopened, handshakeStatus: 502 }, withWs)).toMatchObject({
      reason: 'handshake_rejected',
      retry: true,
    });
  });

  it('in a browser, calls the refusedAfterFailures-th unopened attempt in a row a refusal, and reset starts again', () => {
    const failures = new HandshakeFailureReader(20_000, 2);

    expect(failures.read(unopened, inBrowser)).toMatchObject({ reason: 'transport_error', retry: true });
    expect(failures.read(unopened, inBrowser)).toMatchObject({ reason: 'unauthorized_or_refused' });
    failures.reset();
    expect(failures.read(unopened, inBrowser)).toMatchObject({ reason: 'transport_error', retry: true });
  });

  it('does not count attempts made while the browser says it is offline', () => {
    Object.defineProperty(globalThis, 'navigator', { value: { onLine: false }, configurable: true });
    const failures = new HandshakeFailureReader(20_000, 1);

    expect(failures.read(unopened, inBrowser)).toMatchObject({ reason: 'transport_error', retry: true });
  });

  it('reports a timed-out attempt as a retried timeout naming the limit', () => {
    const failures = new HandshakeFailureReader(1500, 3);

    expect(failures.read({ ...unopened, wasOpen: true }, { ...inBrowser, timedOut: true })).toEqual({
      reason: 'timeout',
      message: 'No authenticated reply within 1500 ms',
      retry: true,
    });
  });
});

describe('readRenewalRefusal', () => {
  const unopened = { code: 1006, reason: '', wasOpen: false };
  const current = { token: 'expired-token', tokenExpiresAtMs: 1000 };

  it('reads a 401 as a refusal that ends the session, and a network failure as none', () => {
    const renewal = { knowsHandshakeStatus: true, renewalReason: 'lifetime' as const };

    expect(readRenewalRefusal({ ...unopened, handshakeStatus: 401 }, renewal, current)).toMatchObject({
      reason: 'unauthorized',
      status: 401,
    });
    expect(readRenewalRefusal(unopened, renewal, current)).toBeUndefined();
  });

  it('in a browser, after token_expired, reads an unopened renewal with no fresher token as refused', () => {
    const renewal = { knowsHandshakeStatus: false, renewalReason: 'token_expired' as const, ...current };

    expect(readRenewalRefusal(unopened, renewal, current)).toMatchObject({ reason: 'unauthorized_or_refused' });
    expect(readRenewalRefusal(unopened, { ...renewal, token: 'new', tokenExpiresAtMs: 2000 }, current)).toBeUndefined();
    expect(readRenewalRefusal(unopened, { ...renewal, renewalReason: 'token' }, current)).toBeUndefined();
  });
});
