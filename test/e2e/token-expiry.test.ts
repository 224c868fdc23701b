// End-to-end: a socket whose token expires after $connect can no longer send (server refusal), while ping and
// hello keep answering. Local mode only: it signs its own short-lived token (see support/target.ts).
import { TOKEN_EXPIRY_SKEW_SECONDS } from '../../lambdas/core/authorizer-context';
import { connect, type TestClient } from './support/sockets';
import { type E2eTarget, itWithTokenSigning, startTarget, waitUntilDisconnected } from './support/target';

let target: E2eTarget;
const clients: TestClient[] = [];

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

beforeAll(async () => {
  target = await startTarget();
}, 150_000);
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await waitUntilDisconnected(target, ['user123', 'user456']);
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
      const refusedAfterMs = (expiresAt + TOKEN_EXPIRY_SKEW_SECONDS) * 1000 + 250;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, refusedAfterMs - Date.now())));
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
});
