// End-to-end, local only (a stage's idle timeout is API Gateway's 10 minutes): what the heartbeat choice means for a
// real socket.io-client. The server sends no Engine.IO pings and announces a 2-hour pingInterval (README, "Socket.IO
// clients"), so an idle connection is closed by the gateway's idle timeout, shortened here, and the client reconnects
// by itself: "transport close", never "ping timeout".
import { io, type Socket } from 'socket.io-client';
import { signDevToken } from '../../local/dev-tokens';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { socketIoAddress } from './support/socket-io';
import { isRemote } from './support/target';

const describeLocal = isRemote ? describe.skip : describe;

describeLocal('an idle socket.io-client', () => {
  let stack: LocalStack;
  let socket: Socket | undefined;

  beforeAll(async () => {
    stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: true, idleTimeoutMs: 1000 });
  }, 60_000);
  afterAll(async () => {
    socket?.close();
    await stack?.stop();
  });

  it('is closed by the gateway\'s idle timeout ("transport close") and reconnects by itself with a new id', async () => {
    const token = await signDevToken(stack.jwtSecret, 'user123');
    const { url, options } = socketIoAddress(stack.wsUrl);
    socket = io(url, {
      ...options,
      reconnection: true,
      reconnectionDelay: 50,
      extraHeaders: { Authorization: `Bearer ${token}` },
    });
    const ids: string[] = [];
    const reasons: string[] = [];
    socket.on('disconnect', (reason) => reasons.push(reason));

    await new Promise<void>((resolve) => {
      socket!.on('connect', () => {
        ids.push(socket!.id!);
        if (ids.length === 2) resolve();
      });
    });

    expect(reasons[0]).toBe('transport close');
    expect(ids[1]).not.toBe(ids[0]);
    expect(await socket.timeout(5000).emitWithAck('hello')).toEqual({ userId: 'user123', connectionId: ids[1] });
  });
});
