// End-to-end, local only (a stage's idle timeout is API Gateway's 10 minutes and its sweep runs every 5): the
// heartbeat of a real socket.io-client. Only client frames reset the gateway's idle timeout, so the server's Engine.IO
// ping sweep (through the fan-out) makes an idle client answer with pongs and stay connected; without sweeps the
// gateway closes it ("transport close", never "ping timeout") and it reconnects by itself. Both shortened here.
import type { Socket } from 'socket.io-client';
import { useIdleSocketIoStack } from './support/socket-io';
import { isRemote } from './support/target';

const describeLocal = isRemote ? describe.skip : describe;
const IDLE_TIMEOUT_MS = 1000;

describeLocal('an idle socket.io-client with the ping sweep running', () => {
  const { idleClient } = useIdleSocketIoStack({ idleTimeoutMs: IDLE_TIMEOUT_MS, scheduleIntervalMs: 250 });
  let socket: Socket | undefined;

  it('answers the pings and stays connected past the idle timeout, on one connection', async () => {
    socket = await idleClient();
    const reasons: string[] = [];
    socket.on('disconnect', (reason) => reasons.push(reason));
    await new Promise<void>((resolve) => socket!.once('connect', () => resolve()));
    const id = socket.id;
    let pings = 0;
    socket.io.engine.on('ping', () => pings++);

    // Three idle timeouts without a frame from the application.
    await new Promise((resolve) => setTimeout(resolve, 3 * IDLE_TIMEOUT_MS));

    expect(pings).toBeGreaterThanOrEqual(3);
    expect(reasons).toEqual([]);
    expect(socket.id).toBe(id);
  });
});
