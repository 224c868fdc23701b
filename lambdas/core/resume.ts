import { createEnvelope, type Envelope, ServerFrameType } from './envelope';
import { ValidationError } from './errors';
import { isLogId } from './log-id';
import { type MessageLog, type ReplayGap, streamsToReplay } from './message-log';

/**
 * Resume for the JSON protocol: the client's `resume` frame and the `replay` page that answers it.
 *
 * `{"action":"resume","after":"<last seen log id>"}` asks for the first page of what the client missed; the answer
 * is a `replay` envelope whose `data.next`, when present, is sent back as `page` for the next page:
 * `{"action":"resume","after":"<same>","page":"<next>"}`. A page is bounded (100 messages, 96 KB), so a long
 * absence never overflows a connection; the client asks for each next page when it has taken the last one. Without
 * `after` (a client with no history) the answer is offline delivery (`OFFLINE_DELIVERY`).
 */

/** What a `replay` frame carries. */
export interface ReplayData {
  /** The missed messages, in log id order, each exactly as it was posted (log id included). */
  messages: Envelope[];
  /** Send back as `page` for the next page; absent: the replay is complete. */
  next?: string;
  /** First page only: true when nothing the client missed is lost (the cursor was within retention and the cap). */
  recovered: boolean;
  /** What was lost (first page only). */
  gaps: ReplayGap[];
  /** Keep the ids of messages seen this long (ms) to drop the duplicates the replay's overlap brings. */
  windowMs: number;
}

/** A validated `resume` frame. */
export interface ResumeFrame {
  after?: string;
  page?: string;
}

/**
 * Reads a `resume` frame's cursors; a malformed one is a 400 `ValidationError` naming the field.
 *
 * @example
 * validateResumeFrame({ action: 'resume', after: '1764255600000-0000-a3f91c' }); // { after: '1764255600000-0000-a3f91c' }
 */
export function validateResumeFrame(frame: unknown): ResumeFrame {
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
    throw new ValidationError('The resume frame must be a JSON object');
  }
  const { after, page } = frame as { after?: unknown; page?: unknown };
  for (const [name, value] of [
    ['after', after],
    ['page', page],
  ] as const) {
    if (value !== undefined && value !== null && !isLogId(value)) {
      throw new ValidationError(
        `${name} must be a log id (the logId of a message received), got ${JSON.stringify(value)}`,
      );
    }
  }
  if (page && !after) throw new ValidationError('page needs the after cursor of the same resume');
  return { ...(after ? { after: after as string } : {}), ...(page ? { page: page as string } : {}) };
}

/**
 * One page of a user's replay, as the `replay` envelope the route answers with.
 *
 * @example
 * const envelope = await replayPage(log, 'user123', { after: '1764255600000-0000-a3f91c' });
 * envelope.data.messages.length; // up to 100
 */
export async function replayPage(
  log: Pick<MessageLog, 'readReplay'>,
  userId: string,
  frame: ResumeFrame,
): Promise<Envelope<ReplayData>> {
  const page = await log.readReplay({ streams: streamsToReplay(userId), after: frame.after, pageAfter: frame.page });
  const data: ReplayData = {
    messages: page.messages,
    recovered: frame.after !== undefined && page.gaps.length === 0,
    gaps: page.gaps,
    windowMs: page.windowMs,
  };
  if (page.next !== undefined) data.next = page.next;
  return createEnvelope(ServerFrameType.replay, data);
}
