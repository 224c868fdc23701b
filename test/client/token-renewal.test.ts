import type { ConnectError, WebSocketConstructor } from '../../client';
import { readTokenExpiry } from '../../client/token-expiry';
import { BrowserLikeWebSocket, fakeJwt, useFakeGateway, waitFor } from './fake-gateway';

const fast = { reconnectionDelay: 20, reconnectionDelayMax: 200, randomizationFactor: 0, timeout: 2000 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('readTokenExpiry (scheduling only, nothing verified)', () => {
  it("reads a JWT's exp as epoch milliseconds, whatever the signature", () => {
    expect(readTokenExpiry(fakeJwt('user123', 1_795_690_800_000))).toBe(1_795_690_800_000);
    const realShaped =
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyMTIzIiwiZXhwIjoxNzk1NjkwODAwfQ.c2lnbmF0dXJl';
    expect(readTokenExpiry(realShaped)).toBe(1_795_690_800_000);
  });

  it('decodes base64url (with its - and _) and multi-byte characters', () => {
    const payload = Buffer.from(JSON.stringify({ sub: 'ÿÿÿ€~~', exp: 1_800_000_000 })).toString('base64url');
    expect(payload).toMatch(/-/);
    expect(payload).toMatch(/_/);
    expect(readTokenExpiry(`e30.${payload}.sig`)).toBe(1_800_000_000_000);
  });

  it.each([
    ['no token', undefined],
    ['an opaque token', 'user.user123'],
    ['two segments', 'e30.e30'],
    ['a payload that is not base64 JSON', 'e30.!!!.sig'],
    ['a payload without exp', `e30.${Buffer.from('{"sub":"u"}').toString('base64url')}.sig`],
    ['a string exp', `e30.${Buffer.from('{"exp":"1800000000"}').toString('base64url')}.sig`],
    ['a payload that is not an object', `e30.${Buffer.from('null').toString('base64url')}.sig`],
  ])('gives undefined for %s', (_case, token) => {
    expect(readTokenExpiry(token)).toBeUndefined();
  });
});

describe('client adapter: renewal before the token expires', () => {
  const harness = useFakeGateway();
  const open = harness.open;

  it('renews make-before-break at exp - tokenRenewalMargin, with a token obtained again', async () => {
    // Prepare: each call of the token function signs a fresh 4 s token; the 2-hour renewal stays far away.
    const issued: string[] = [];
    const token = () => {
      const fresh = fakeJwt('user123', Date.now() + 4000, issued.length);
      issued.push(fresh);
      return fresh;
    };
    const socket = open({ auth: { token }, tokenRenewalMargin: 2000, ...fast });
    const events: string[] = [];
    socket.on('disconnect', (reason) => events.push(`disconnect ${reason}`));
    socket.on('connection_renewed', ({ previousId, id }) => events.push(`renewed ${previousId} -> ${id}`));
    await waitFor(() => socket.connected, 'connect');

    // Act
    await waitFor(() => events.length === 1, 'renewal', 10_000);

    // Assess
    expect(events).toEqual(['renewed conn-1 -> conn-2']);
    expect(issued.length).toBeGreaterThanOrEqual(2);
    expect(harness.gateway.handshakes.slice(0, 2).map((h) => h.token)).toEqual([issued[0], issued[1]]);
    const firstExpiresAt = readTokenExpiry(issued[0])!;
    // Timers never fire early: not before exp - margin (exp is whole seconds, so up to 1 s earlier than signed).
    expect(harness.gateway.handshakes[1].at).toBeGreaterThanOrEqual(firstExpiresAt - 2000);
    expect(readTokenExpiry(issued[1])!).toBeGreaterThan(firstExpiresAt);
    await waitFor(
      () => harness.gateway.open.length === 1 && harness.gateway.open[0].connectionId === 'conn-2',
      'old one closed',
    );
    expect(socket.id).toBe('conn-2');
  });

  it('renews a token shorter than twice the margin halfway through its life, not at once in a loop', async () => {
    let calls = 0;
    const socket = open({
      auth: () => ({ token: fakeJwt('user123', Date.now() + 3000, calls++) }),
      ...fast, // tokenRenewalMargin stays at its 60 s default, longer than the token's whole life
    });
    let connectedAt = 0;
    socket.once('connect', () => {
      connectedAt = Date.now(); // right after the renewal timer was armed
    });
    await waitFor(() => socket.connected, 'connect');
    const expiresAt = readTokenExpiry(harness.gateway.handshakes[0].token)!;

    await waitFor(() => harness.gateway.handshakes.length === 2, 'the renewal', 10_000);

    // Half of what was left at connect, at the earliest (exp is whole seconds: at least 2 s were left).
    expect(harness.gateway.handshakes[1].at - connectedAt).toBeGreaterThanOrEqual((expiresAt - connectedAt) / 2 - 20);
    expect(calls).toBe(2);
  });

  it('a token_expired answer renews at once, with a token obtained again', async () => {
    let calls = 0;
    const socket = open({ auth: { token: () => fakeJwt('user123', Date.now() + 3_600_000, calls++) }, ...fast });
    const events: string[] = [];
    socket.on('error', (error) => events.push(`error ${error.code}`));
    socket.on('disconnect', (reason) => events.push(`disconnect ${reason}`));
    socket.on('connection_renewed', ({ previousId, id }) => events.push(`renewed ${previousId} -> ${id}`));
    await waitFor(() => socket.connected, 'connect');
    expect(calls).toBe(1);

    harness.gateway.push(harness.gateway.connections[0], 'error', {
      code: 'token_expired',
      message: 'the token expired at …',
    });

    await waitFor(() => events.length === 2, 'error, then renewal');
    expect(events).toEqual(['error token_expired', 'renewed conn-1 -> conn-2']);
    expect(calls).toBe(2);
    expect(harness.gateway.handshakes[1].token).not.toBe(harness.gateway.handshakes[0].token);
    // Another kind of error frame renews nothing.
    harness.gateway.push(harness.gateway.connections[1], 'error', {
      code: 'validation_error',
      message: 'type is required',
    });
    await waitFor(() => events.length === 3, 'the other error');
    await sleep(200);
    expect(harness.gateway.handshakes).toHaveLength(2);
  });

  it('a static token: no pointless renewal before exp; after it, a refused send ends the session with 401', async () => {
    // Prepare: a 2 s token that nothing can refresh, handed out by a token function that counts its calls.
    const token = fakeJwt('user123', Date.now() + 2000);
    let calls = 0;
    const socket = open({
      auth: {
        token: () => {
          calls += 1;
          return token;
        },
      },
      tokenRenewalMargin: 1500,
      ...fast,
    });
    const events: string[] = [];
    const errors: ConnectError[] = [];
    socket.on('error', (error) => events.push(`error ${error.code}`));
    socket.on('disconnect', (reason) => events.push(`disconnect ${reason}`));
    socket.on('connect_error', (error) => {
      events.push(`connect_error ${error.reason}`);
      errors.push(error);
    });
    await waitFor(() => socket.connected, 'connect');

    // Act: wait past exp (the renewal timer fired meanwhile and found no fresher token), then send.
    await sleep(Math.max(0, readTokenExpiry(token)! + 100 - Date.now()));
    await waitFor(() => calls === 2, 'the renewal timer asked for a token');
    expect(harness.gateway.handshakes).toHaveLength(1);
    socket.sendTo('user456', 'chat', { message: 'too late' });

    // Assess: the renewal's handshake is refused; the old connection is closed, and no retry follows.
    await waitFor(() => events.length === 3, 'error, disconnect, connect_error');
    expect(events).toEqual(['error token_expired', 'disconnect io server disconnect', 'connect_error unauthorized']);
    expect(errors[0]).toMatchObject({ status: 401, willRetry: false });
    expect(harness.gateway.handshakes.map((h) => h.status)).toEqual([101, 401]);
    expect(calls).toBe(3);
    await waitFor(() => harness.gateway.open.length === 0, 'the old connection closed');
    await sleep(300);
    expect(harness.gateway.handshakes).toHaveLength(2);
    expect(socket.connected).toBe(false);
    expect(socket.active).toBe(false);
  });

  it('in a browser, which hides the 401, the refused renewal after token_expired also ends the session', async () => {
    const token = fakeJwt('user123', Date.now() + 1000);
    const socket = open({
      auth: { token },
      WebSocket: BrowserLikeWebSocket as unknown as WebSocketConstructor,
      ...fast,
    });
    const events: string[] = [];
    socket.on('disconnect', (reason) => events.push(`disconnect ${reason}`));
    socket.on('connect_error', (error) => events.push(`connect_error ${error.reason} retry=${error.willRetry}`));
    await waitFor(() => socket.connected, 'connect');

    await sleep(Math.max(0, readTokenExpiry(token)! + 100 - Date.now()));
    socket.sendTo('user456', 'chat', { message: 'too late' });

    await waitFor(() => events.length === 2, 'disconnect, connect_error');
    expect(events).toEqual(['disconnect io server disconnect', 'connect_error unauthorized_or_refused retry=false']);
    await sleep(300);
    expect(harness.gateway.handshakes).toHaveLength(2);
  });
});
