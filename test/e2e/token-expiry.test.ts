// End-to-end: a socket whose token expires after $connect can no longer send (server refusal), while ping and
// hello keep answering; the client adapter renews ahead of the expiry with a token function, and ends the session
// when its token is static. Local mode only: it signs its own short-lived tokens (see support/target.ts).
import { type ConnectError, io, type RealtimeSocket } from '../../client';
import { TOKEN_EXPIRY_SKEW_SECONDS } from '../../lambdas/core/authorizer-context';
import { connect, eventually, type TestClient } from './support/sockets';
import { type E2eTarget, itWithTokenSigning, startTarget, waitUntilDisconnected } from './support/target';

let target: E2eTarget;
const clients: TestClient[] = [];
const adapters: RealtimeSocket[] = [];

/** Opens a socket with `token` and says hello, as the adapter does. */
async function open(token: string): Promise<TestClient> {
  const client = await connect(target.wsUrl, token);
  clients.push(client);
  client.send({ action: 'hello' });
  await client.next('authenticated');
  return client;
}

/** The token's `exp`, read from its payload (the test signed it; nothing here is verified). */
function expOf(token: string): number {
  return (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { exp: number }).exp;
}

/** Waits until the server refuses a token with this `exp`: past it and the skew the server allows. */
async function untilRefused(expiresAt: number): Promise<void> {
  const refusedAfterMs = (expiresAt + TOKEN_EXPIRY_SKEW_SECONDS) * 1000 + 250;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, refusedAfterMs - Date.now())));
}

beforeAll(async () => {
  target = await startTarget();
}, 150_000);
afterEach(async () => {
  for (const adapter of adapters.splice(0)) adapter.disconnect();
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await waitUntilDisconnected(target, ['user123', 'user456', 'user789']);
});
afterAll(() => target.stop());

describe('a socket whose token expires after $connect', () => {
  itWithTokenSigning(
    'sends while the token is valid, then gets token_expired and delivers nothing; ping and hello still answer',
    async () => {
      // Prepare: a 2 s token; the recipient holds a long-lived one.
      const token = await target.signShortLived!('user123', 2);
      const sender = await open(token);
      const recipient = await open(target.tokens.user456);
      sender.send({ action: 'send', userId: 'user456', type: 'chat', data: { message: 'before' } });
      expect(await sender.next('delivery')).toMatchObject({ type: 'delivery' });
      expect(await recipient.next('chat')).toMatchObject({ data: { message: 'before' }, from: 'user123' });

      // Act: wait until the token is past its expiry and the skew the server allows.
      const expiresAt = expOf(token);
      await untilRefused(expiresAt);
      sender.send({ action: 'send', userId: 'user456', type: 'chat', data: { message: 'after' } });

      // Assess
      expect(await sender.next()).toMatchObject({
        type: 'error',
        data: {
          code: 'token_expired',
          message: `the token of this connection expired at ${new Date(expiresAt * 1000).toISOString()}; reconnect with a fresh token`,
        },
      });
      sender.send({ action: 'ping' });
      expect(await sender.next()).toMatchObject({ type: 'pong' });
      sender.send({ action: 'hello' });
      expect(await sender.next()).toMatchObject({ type: 'authenticated', data: { userId: 'user123' } });
      await recipient.expectNothing();
    },
    30_000,
  );

  itWithTokenSigning(
    'the adapter: a token function keeps the session sending past the first expiry; a static token ends it with 401',
    async () => {
      // Prepare: one adapter whose token function signs a fresh 3 s token on every call (renewed halfway, as
      // 3 s is less than twice the default 60 s margin), one with a static 2 s token; a raw recipient.
      const recipient = await open(target.tokens.user456);
      const issued: string[] = [];
      const renewing = io(target.wsUrl, {
        auth: async () => {
          const token = await target.signShortLived!('user123', 3);
          issued.push(token);
          return { token };
        },
      });
      const staticToken = await target.signShortLived!('user789', 2);
      const expiring = io(target.wsUrl, { auth: { token: staticToken } });
      adapters.push(renewing, expiring);
      const reports: unknown[] = [];
      renewing.on('delivery', (report) => reports.push(report));
      const events: string[] = [];
      const refusals: ConnectError[] = [];
      expiring.on('error', (error) => events.push(`error ${error.code}`));
      expiring.on('disconnect', (reason) => events.push(`disconnect ${reason}`));
      expiring.on('connect_error', (error) => {
        events.push(`connect_error ${error.reason}`);
        refusals.push(error);
      });
      await eventually(async () => renewing.connected && expiring.connected, 10_000);

      // Act: wait until the first tokens of both are refused by the server, then send from both.
      await untilRefused(Math.max(expOf(issued[0]), expOf(staticToken)));
      renewing.sendTo('user456', 'chat', { message: 'renewed in time' });
      expiring.sendTo('user456', 'chat', { message: 'too late' });

      // Assess
      expect(await recipient.next('chat')).toMatchObject({ data: { message: 'renewed in time' }, from: 'user123' });
      await eventually(async () => reports.length === 1 && events.length === 3, 10_000);
      expect(issued.length).toBeGreaterThan(1);
      expect(events).toEqual(['error token_expired', 'disconnect io server disconnect', 'connect_error unauthorized']);
      expect(refusals[0]).toMatchObject({ status: 401, willRetry: false });
      expect(expiring.active).toBe(false);
      await recipient.expectNothing();
    },
    40_000,
  );
});
