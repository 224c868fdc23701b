import type { Envelope } from '../lambdas/core/envelope';

/** What part of the history a replay could not bring back (the server's `ReplayGap`, or the adapter's timeout). */
export interface ReplayGap {
  /**
   * `retention`: older than the server keeps; `cap`: more missed than one replay brings; `too_large`: one message
   * (`logId`) too large to ride in a replay page; `timeout`: no answer.
   */
  reason: 'retention' | 'cap' | 'too_large' | 'timeout';
  stream?: string;
  /** Messages after this log id and before `until` may be missing. */
  after?: string;
  until?: string;
  logId?: string;
}

/** A `replay` page, as the server's `resume` route answers it. */
export interface ReplayData {
  messages: Envelope[];
  next?: string;
  recovered: boolean;
  gaps: ReplayGap[];
  windowMs: number;
}

/** One connection's replay in progress: the live messages it holds back, and the `connect` it announces. */
export interface ReplaySession {
  /** The cursor this replay started from (absent: offline delivery). */
  after: string | undefined;
  /** Live messages that arrived during the replay, fired after it. */
  held: Envelope[];
  /** Fires `connect` (once, on the first page). */
  announce: () => void;
  firstPage: boolean;
  timer?: ReturnType<typeof setTimeout>;
  /** The rooms joined again before the resume, named on each page's frame; absent: none were. */
  rooms?: string[];
}

/**
 * The `resume` frame: the cursor of the whole replay, the page cursor from the previous page, and the rooms the
 * socket joined again before resuming (the server replays those of them the user belongs to).
 *
 * @example
 * encodeResume('1764255600000-0000-a3f91c', undefined); // '{"action":"resume","after":"1764255600000-0000-a3f91c"}'
 */
export function encodeResume(after: string | undefined, page: string | undefined, rooms?: readonly string[]): string {
  return JSON.stringify({
    action: 'resume',
    ...(after ? { after } : {}),
    ...(page ? { page } : {}),
    ...(rooms ? { rooms } : {}),
  });
}

/**
 * Offline delivery's receipt: the pending messages up to `logId` were fired, so the server gives them to no other
 * connection of the user (the user's offline cursor advances). The server answers nothing.
 *
 * @example
 * encodeOfflineReceipt('1764255600000-0000-a3f91c'); // '{"action":"resume","delivered":"1764255600000-0000-a3f91c"}'
 */
export function encodeOfflineReceipt(logId: string): string {
  return JSON.stringify({ action: 'resume', delivered: logId });
}
