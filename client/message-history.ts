import type { Envelope } from '../lambdas/core/envelope';

/**
 * What the adapter remembers of the messages it fired, to resume and to drop duplicates: the largest log id seen
 * (the resume cursor), and the log ids seen within the server's replay window (a resume reaches back that far
 * before the cursor, so everything in it may come again).
 */

/** Log ids kept at most, whatever the window: a bound on memory for a very busy socket. */
const MAX_REMEMBERED_LOG_IDS = 20_000;
/** The window until the first `replay` page says the server's (15 min, the server's default broadcast reach). */
const DEFAULT_WINDOW_MS = 15 * 60_000;

/**
 * The cursor and the recent log ids of one socket.
 *
 * @example
 * const history = new MessageHistory();
 * history.accept({ logId: '1764255600000-0000-a3f91c', ... }); // true: fire it
 * history.accept({ logId: '1764255600000-0000-a3f91c', ... }); // false: a duplicate
 * history.lastLogId; // '1764255600000-0000-a3f91c'
 */
export class MessageHistory {
  /** The largest log id fired: where a resume starts. */
  lastLogId: string | undefined;
  windowMs = DEFAULT_WINDOW_MS;
  /** Log ids in arrival order (insertion order of a Map), pruned from the oldest. */
  private readonly seen = new Map<string, true>();

  constructor(lastLogId?: string) {
    this.lastLogId = lastLogId;
  }

  /** Records an envelope's log id; false when it was seen already (drop it). An envelope without one passes. */
  accept(envelope: Pick<Envelope, 'logId'>): boolean {
    const { logId } = envelope;
    if (logId === undefined) return true;
    if (this.seen.has(logId)) return false;
    if (this.lastLogId !== undefined && logId < this.lastLogId && this.isBeforeWindow(logId)) {
      // Older than anything a replay can bring again: cannot be a replayed copy, and it is not remembered.
      return true;
    }
    this.seen.set(logId, true);
    if (this.lastLogId === undefined || logId > this.lastLogId) this.lastLogId = logId;
    this.prune();
    return true;
  }

  private isBeforeWindow(logId: string): boolean {
    return logIdMs(logId) < logIdMs(this.lastLogId as string) - this.windowMs;
  }

  private prune(): void {
    for (const logId of this.seen.keys()) {
      if (this.seen.size <= MAX_REMEMBERED_LOG_IDS && !this.isBeforeWindow(logId)) break;
      this.seen.delete(logId);
    }
  }
}

function logIdMs(logId: string): number {
  return Number(logId.slice(0, 13));
}
