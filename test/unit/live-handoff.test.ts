import { ABANDONED_AFTER_MS, HANDOFF_SKEW_MS, handoffDecision } from '../../lambdas/core/live-handoff';
import { logIdFloor } from '../../lambdas/core/log-id';
import type { ConnectionItem } from '../../lambdas/core/table-schema';

// The Socket.IO replay hand-off's rules (live-handoff.ts), with a registry stand-in and a clock the test moves.
const T = 1_764_255_600_000;
const idAt = (ms: number) => logIdFloor(ms).replace(/000000$/, 'abcdef');

function harness(reads: Array<Partial<ConnectionItem> | undefined>) {
  const clock = { now: T };
  const registry = {
    connection: jest.fn(async () => {
      const next = reads.shift();
      return next && ({ userId: 'u', connectionId: 'c', connectedAt: '', expiresAt: 0, ...next } as ConnectionItem);
    }),
  };
  const deps = {
    registry,
    now: () => clock.now,
    sleep: async (ms: number) => {
      clock.now += ms;
    },
  };
  return { deps, registry, clock };
}

const replaying = { userId: 'u', connectionId: 'c', connectedAt: new Date(T - 100).toISOString(), replaying: true };

describe('the live hand-off of a replaying Socket.IO connection', () => {
  it('waits for the hand-off, then posts what the replay did not post', async () => {
    const { deps, registry } = harness([{ replaying: true }, { liveAfter: idAt(T - 10), replayReadAt: T - 5 }]);

    const decision = await handoffDecision(deps, replaying, { logId: idAt(T), loggedAt: T + 1 });

    expect(decision).toEqual({ action: 'post' });
    expect(registry.connection).toHaveBeenCalledTimes(2);
  });

  it('skips a message the replay posted (id up to liveAfter, written before its last read)', async () => {
    const { deps } = harness([{ liveAfter: idAt(T - 10), replayReadAt: T - 5 }]);

    const decision = await handoffDecision(deps, replaying, { logId: idAt(T - 20), loggedAt: T - 19 });

    expect(decision).toEqual({ action: 'replayed' });
  });

  it('posts a message with an older id whose record the last read could not see (a possible duplicate, never a loss)', async () => {
    const { deps } = harness([]);
    const handedOver = { userId: 'u', connectionId: 'c', liveAfter: idAt(T - 10), replayReadAt: T - 5 };

    const writtenAfterRead = await handoffDecision(deps, handedOver, { logId: idAt(T - 20), loggedAt: T - 4 });
    const writtenLate = await handoffDecision(deps, handedOver, {
      logId: idAt(T - HANDOFF_SKEW_MS - 200),
      loggedAt: T - 100,
    });

    expect(writtenAfterRead).toEqual({ action: 'post' });
    expect(writtenLate).toEqual({ action: 'post' });
  });

  it('posts nothing to a connection that never sent CONNECT, and reports one gone meanwhile', async () => {
    const abandoned = { ...replaying, connectedAt: new Date(T - ABANDONED_AFTER_MS - 1).toISOString() };
    const { deps } = harness([undefined]);

    expect(await handoffDecision(deps, abandoned, { logId: idAt(T) })).toEqual({ action: 'not-connected' });
    expect(await handoffDecision(deps, replaying, { logId: idAt(T) })).toEqual({ action: 'gone' });
  });

  it('posts after waiting the longest, rather than lose the message', async () => {
    const { deps, clock } = harness(Array.from({ length: 1000 }, () => ({ replaying: true })));

    const decision = await handoffDecision(deps, replaying, { logId: idAt(T) });

    expect(decision).toEqual({ action: 'post' });
    expect(clock.now - T).toBeGreaterThanOrEqual(10_000);
  });
});
