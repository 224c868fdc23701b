import { logIdTime } from './log-id';
import type { ConnectionRegistry } from './registry';
import type { ConnectionItem } from './table-schema';

/**
 * The hand-off between a Socket.IO connection's replay and the live senders, so that socket.io-client, which keeps
 * no ids and cannot drop a duplicate or reorder, gets each missed message once and in order.
 *
 * A Socket.IO connection is registered `replaying` at `$connect`. Its namespace CONNECT is answered only after the
 * server has posted what the client missed (`socketio-recovery.ts`): read, post, read again, until a read finds
 * nothing new; then the item becomes live with `liveAfter` (the last id the replay posted) and `replayReadAt` (when
 * that last, empty read started). A live sender that finds the connection `replaying` waits for the hand-off, then:
 *
 * - a message with a log id above `liveAfter` is posted: the replay did not post it (its last read would have found
 *   it);
 * - a message with a log id up to `liveAfter` is skipped (the replay posted it), unless its record was written after
 *   `replayReadAt` (the last read could not see it) or took longer than {@link HANDOFF_SKEW_MS} to write after its id
 *   was minted (a read between the two could have missed it): then it is posted, a possible duplicate rather than a
 *   loss;
 * - a message without a log id (ephemeral) is posted.
 *
 * The waits: a replay normally ends within the time the client takes to send CONNECT after the open packet and the
 * replay's posts; a sender waits at most {@link HANDOFF_WAIT_MS} and then posts. A connection still `replaying` long
 * after `$connect` ({@link ABANDONED_AFTER_MS}) never sent CONNECT: nothing is posted to it, and a CONNECT that comes
 * later replays those messages from the log.
 */

/** How long a live sender waits for a replaying connection's hand-off before it posts anyway. */
export const HANDOFF_WAIT_MS = 10_000;
/** A connection replaying this long after `$connect` is taken as never having sent CONNECT. */
export const ABANDONED_AFTER_MS = 30_000;
/** Longer than this between minting an id and its record's write, and a replay read could have missed the record. */
export const HANDOFF_SKEW_MS = 2_000;
const POLL_MS = 25;

/** What a live sender does with one connection. */
export type HandoffDecision =
  | { action: 'post' }
  /** The replay posted it already: counts as delivered. */
  | { action: 'replayed' }
  /** The Socket.IO client never sent CONNECT: not posted. */
  | { action: 'not-connected' }
  /** The connection went away while the sender waited. */
  | { action: 'gone' };

export interface HandoffDependencies {
  registry: Pick<ConnectionRegistry, 'connection'>;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** The message being posted: its log id, and when its record was written (epoch ms). */
export interface LoggedMessage {
  logId?: string;
  loggedAt?: number;
}

/**
 * Decides whether to post a message to a connection, waiting for a replaying connection's hand-off.
 *
 * @example
 * const decision = await handoffDecision({ registry }, connection, { logId: envelope.logId, loggedAt });
 * if (decision.action === 'post') await post();
 */
export async function handoffDecision(
  deps: HandoffDependencies,
  connection: Pick<ConnectionItem, 'userId' | 'connectionId'> &
    Partial<Pick<ConnectionItem, 'connectedAt' | 'replaying' | 'liveAfter' | 'replayReadAt'>>,
  message: LoggedMessage,
): Promise<HandoffDecision> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let item = connection;
  if (item.replaying) {
    const connectedAt = item.connectedAt === undefined ? now() : Date.parse(item.connectedAt);
    if (now() - connectedAt > ABANDONED_AFTER_MS) return { action: 'not-connected' };
    const deadline = now() + HANDOFF_WAIT_MS;
    while (item.replaying && now() < deadline) {
      await sleep(POLL_MS);
      const read = await deps.registry.connection(connection.userId, connection.connectionId);
      if (!read) return { action: 'gone' };
      item = read;
    }
    // Still replaying at the deadline: post, a possible duplicate rather than a loss.
    if (item.replaying) return { action: 'post' };
  }
  const { logId, loggedAt } = message;
  if (logId === undefined || item.liveAfter === undefined || logId > item.liveAfter) return { action: 'post' };
  const writtenLate =
    loggedAt === undefined ||
    (item.replayReadAt !== undefined && loggedAt >= item.replayReadAt) ||
    loggedAt - logIdTime(logId) > HANDOFF_SKEW_MS;
  return writtenLate ? { action: 'post' } : { action: 'replayed' };
}

/**
 * Whether a connection needs {@link handoffDecision} at all: only Socket.IO connections that replay or replayed do.
 *
 * @example
 * needsHandoff({ userId: 'u', connectionId: 'c' }); // false
 */
export function needsHandoff(connection: Partial<Pick<ConnectionItem, 'replaying' | 'liveAfter'>>): boolean {
  return connection.replaying === true || connection.liveAfter !== undefined;
}
