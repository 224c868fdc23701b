// End-to-end, local only: a real socket.io-client when no ping sweep reaches it (a stage whose sweep is late or
// stopped; socket-io-idle.test.ts has the sweep running). The gateway's idle timeout, shortened here, closes it:
// "transport close", never "ping timeout" (the announced heartbeat outlasts the gateway), and it reconnects by itself.
// A file of its own: one local stack per process.
import type { Socket } from 'socket.io-client';
import { useIdleSocketIoStack } from './support/socket-io';
import { isRemote } from './support/target';

const describeLocal = isRemote ? describe.skip : describe;
const IDLE_TIMEOUT_MS = 1000;

describeLocal('an idle socket.io-client without ping sweeps', () => {
  const { idleClient } = useIdleSocketIoStack({ idleTimeoutMs: IDLE_TIMEOUT_MS, scheduleIntervalMs: 0 });
  let socket: Socket | undefined;

  it('is closed by the idle timeout ("transport close", not "ping timeout") and reconnects with a new id', async () => {
    socket = await idleClient();
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
