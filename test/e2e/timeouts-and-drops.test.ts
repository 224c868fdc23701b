// End-to-end, local mode only: API Gateway's idle timeout, shortened so a test can wait for it, and a client
// that vanishes without a close frame. A deployed stage's 10-minute timeout cannot be shortened, so parity mode
// leaves this file out.
import { connect, eventually, type TestClient } from './support/sockets';
import { type E2eTarget, isRemote, startTarget } from './support/target';

// Long enough that a ping's round trip through the handlers on a loaded machine stays well inside it.
const IDLE_TIMEOUT_MS = 1500;
const localOnly = isRemote ? describe.skip : describe;

localOnly('connections ended by the gateway or the network', () => {
  let target: E2eTarget;
  const clients: TestClient[] = [];
  const rowsOf = (userId: string) => target.registry!.rowsOf(userId);

  beforeAll(async () => {
    target = await startTarget({ idleTimeoutMs: IDLE_TIMEOUT_MS });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
  });
  afterAll(() => target.stop());

  it('closes an idle connection with 1001 and runs $disconnect, which removes its row', async () => {
    // Prepare
    const idle = await connect(target.wsUrl, target.tokens.user123);
    clients.push(idle);
    await eventually(async () => (await rowsOf('user123')).length === 1);
    // Act: stay silent past the idle timeout.
    const { code } = await idle.closed;
    // Assess
    expect(code).toBe(1001);
    await eventually(async () => (await rowsOf('user123')).length === 0);
  });

  it('keeps a connection that keeps talking', async () => {
    const chatty = await connect(target.wsUrl, target.tokens.user456);
    clients.push(chatty);
    const started = Date.now();

    while (Date.now() - started < IDLE_TIMEOUT_MS * 2) {
      chatty.send({ action: 'ping' });
      await chatty.next('pong');
      await new Promise((resolve) => setTimeout(resolve, IDLE_TIMEOUT_MS / 5));
    }

    expect(chatty.socket.readyState).toBe(chatty.socket.OPEN);
    expect(await rowsOf('user456')).toHaveLength(1);
  });

  it('runs $disconnect for a client that drops without a close frame', async () => {
    const dropped = await connect(target.wsUrl, target.tokens.user789);
    await eventually(async () => (await rowsOf('user789')).length === 1);

    dropped.socket.terminate();

    await eventually(async () => (await rowsOf('user789')).length === 0);
  });
});
