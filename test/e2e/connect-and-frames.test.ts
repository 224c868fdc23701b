// End-to-end: connecting (every token carrier, every refusal), the frames each way, and the socket limits.
// Local mode by default; parity mode against a deployed stage: see support/target.ts.
import { webSocketSubprotocol } from '../../lambdas/routes';
import { useE2eSession } from './support/session';
import { connect, eventually, type TokenCarrier } from './support/sockets';
import { itWithExpiredToken, itWithRegistry } from './support/target';

const session = useE2eSession(['user123']);

describe('connecting', () => {
  it.each<TokenCarrier>(['header', 'subprotocol', 'query'])(
    'admits a valid token on the %s carrier, records the connection and answers hello with authenticated',
    async (carrier) => {
      // Prepare
      const origin = carrier === 'subprotocol' ? session.target.allowedOrigin : undefined;
      // Act
      const client = await session.connect(session.target.wsUrl, session.target.tokens.user123, { carrier, origin });
      client.send({ action: 'hello' });
      const frame = await client.next('authenticated');
      // Assess
      expect(frame).toMatchObject({
        type: 'authenticated',
        data: { userId: 'user123', connectionId: expect.any(String) },
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        id: expect.any(String),
      });
      if (carrier === 'subprotocol') expect(client.socket.protocol).toBe(webSocketSubprotocol);
      if (session.target.registry) {
        const { connectionId } = frame.data as { connectionId: string };
        const rows = await session.target.registry.rowsOf('user123');
        expect(rows).toEqual([
          {
            userId: 'user123',
            connectionId,
            connectedAt: expect.stringMatching(/^\d{4}-/),
            expiresAt: expect.any(Number),
          },
        ]);
        // The TTL covers API Gateway's two-hour maximum plus a margin.
        expect(rows[0].expiresAt).toBeGreaterThan(Date.now() / 1000 + 2 * 3600);
      }
    },
  );

  const refusals: Array<[string, () => string | undefined, { origin?: string; carrier?: TokenCarrier }, number]> = [
    ['no token', () => undefined, {}, 401],
    ['a token with a bad signature', () => `${session.target.tokens.user123.slice(0, -4)}AAAA`, {}, 401],
    ['a token that is not a JWT', () => 'not-a-jwt', {}, 401],
    ['an unsigned token (alg none)', () => unsignedToken('user123'), {}, 401],
    ['a foreign browser origin', () => session.target.tokens.user123, { origin: 'https://evil.example' }, 403],
    [
      'a foreign origin on the subprotocol carrier',
      () => session.target.tokens.user123,
      { origin: 'https://evil.example', carrier: 'subprotocol' },
      403,
    ],
  ];
  it.each(refusals)('refuses %s with the right status and records nothing', async (_case, token, options, status) => {
    await expect(connect(session.target.wsUrl, token(), options)).rejects.toMatchObject({ statusCode: status });

    if (session.target.registry) expect(await session.target.registry.rowsOf('user123')).toEqual([]);
  });

  itWithExpiredToken('refuses an expired token with 401 and records nothing', async () => {
    await expect(connect(session.target.wsUrl, session.target.expiredToken!)).rejects.toMatchObject({
      statusCode: 401,
    });

    if (session.target.registry) expect(await session.target.registry.rowsOf('user123')).toEqual([]);
  });
});

describe('frames', () => {
  it('answers ping with pong carrying the server time', async () => {
    const client = await session.connect(session.target.wsUrl, session.target.tokens.user123);

    client.send({ action: 'ping' });
    const pong = await client.next();

    expect(pong).toMatchObject({ type: 'pong', data: { serverTime: expect.any(String) } });
    const serverTime = Date.parse((pong.data as { serverTime: string }).serverTime);
    expect(Math.abs(serverTime - Date.now())).toBeLessThan(60_000);
  });

  it.each([
    ['an unknown action', { action: 'dance' }, 'unknown_action'],
    ['a frame that is not JSON', 'hello there', 'not_json'],
    ['a frame without an action', { type: 'chat' }, 'missing_action'],
  ])('answers %s with an error frame that says what is wrong', async (_case, frame, code) => {
    const client = await session.connect(session.target.wsUrl, session.target.tokens.user123);

    client.send(frame);
    const answer = await client.next();

    expect(answer).toMatchObject({ type: 'error', data: { code, message: expect.any(String) } });
    expect(answer.message).toBeUndefined(); // never API Gateway's "Internal server error"
  });

  it('closes a connection that sends more than 128 KB with 1009, and removes its registry row', async () => {
    const client = await session.connect(session.target.wsUrl, session.target.tokens.user123);
    if (session.target.registry)
      await eventually(async () => (await session.target.registry!.rowsOf('user123')).length === 1);

    client.send({ action: 'ping', padding: 'x'.repeat(128 * 1024) });

    expect((await client.closed).code).toBe(1009);
    if (session.target.registry)
      await eventually(async () => (await session.target.registry!.rowsOf('user123')).length === 0);
  });
});

describe('disconnecting', () => {
  itWithRegistry('removes every row of a user whose sockets close', async () => {
    const first = await session.connect(session.target.wsUrl, session.target.tokens.user123);
    const second = await session.connect(session.target.wsUrl, session.target.tokens.user123, { carrier: 'query' });
    await eventually(async () => (await session.target.registry!.rowsOf('user123')).length === 2);

    await first.close();
    await second.close();

    await eventually(async () => (await session.target.registry!.rowsOf('user123')).length === 0);
  });
});

/** A token with `alg: none` and no signature. */
function unsignedToken(userId: string): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ sub: userId, exp: now + 3600 })}.`;
}
