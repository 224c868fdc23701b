import { connect, type TestClient } from './sockets';
import { type DemoUser, type E2eTarget, startTarget, waitUntilDisconnected } from './target';

/** A demo user's socket that `hello` proved routed, with the connection id the server gave it. */
export type OpenClient = TestClient & { connectionId: string };

/** What a suite gets from {@link useE2eSession}: the target, and sockets that are closed after each test. */
export interface E2eSession {
  /** The local stack or the deployed stage (set in `beforeAll`: read it inside tests only). */
  readonly target: E2eTarget;
  /** Connects with any token and carrier, as `connect` does; the socket is closed after the test. */
  connect(...args: Parameters<typeof connect>): Promise<TestClient>;
  /**
   * Connects as a demo user and waits for `authenticated`: the registry row is written by `$connect` before the
   * handshake completes, and `hello` proves the socket is routed.
   */
  open(user: DemoUser): Promise<OpenClient>;
}

/**
 * The life cycle every end-to-end suite shares: one target for the file, the sockets a test opened closed after
 * it, and the next test started only when `$disconnect` has removed the listed users' rows (it runs after the close).
 *
 * @example
 * const session = useE2eSession(['user123', 'user456']);
 * it('delivers', async () => {
 *   const recipient = await session.open('user456');
 *   await callApi(session.target.httpUrl, 'POST', '/websocket/message/user', session.target.tokens.user123, body);
 *   await recipient.next('chat');
 * });
 */
export function useE2eSession(settledUsers: readonly DemoUser[]): E2eSession {
  let target: E2eTarget | undefined;
  const clients: TestClient[] = [];
  const started = (): E2eTarget => {
    if (!target) throw new Error('the e2e target is started in beforeAll: use it inside a test');
    return target;
  };

  beforeAll(async () => {
    target = await startTarget();
  }, 150_000);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await waitUntilDisconnected(started(), settledUsers);
  });
  afterAll(() => target?.stop());

  const session: E2eSession = {
    get target() {
      return started();
    },
    async connect(...args) {
      const client = await connect(...args);
      clients.push(client);
      return client;
    },
    async open(user) {
      const client = await session.connect(started().wsUrl, started().tokens[user]);
      client.send({ action: 'hello' });
      const hello = await client.next('authenticated');
      return Object.assign(client, { connectionId: (hello.data as { connectionId: string }).connectionId });
    },
  };
  return session;
}
