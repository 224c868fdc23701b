import { createEnvelope, type Envelope, ServerFrameType } from './envelope';
import { ValidationError } from './errors';
import { isLogId, logIdTime } from './log-id';
import { LogStream, type MessageLog, type ReplayGap, streamsToReplay } from './message-log';
import { type RoomLog, replayRooms } from './room-log';
import { assertRoomName } from './rooms';

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
  /**
   * The rooms the client is in (our adapter sends its own): the replay reads those of them the user belongs to.
   * Absent: every room the user belongs to.
   */
  rooms?: string[];
  /**
   * Offline delivery's receipt: the client fired the pending messages up to this log id, so the user's offline cursor
   * advances to it and the user's next connection without a cursor does not get them again. A frame with
   * `delivered` asks for no page and gets no answer.
   */
  delivered?: string;
}

/** How far ahead of this server's clock a receipt's id may be: another container's clock may run a little ahead. */
const RECEIPT_CLOCK_SLACK_MS = 60_000;

/** Most rooms a resume frame may name: the most a connection may be in (`MAX_ROOMS_PER_CONNECTION` at most 1,000). */
export const MAX_RESUME_ROOMS = 1000;

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
  const { after, page, rooms, delivered } = frame as {
    after?: unknown;
    page?: unknown;
    rooms?: unknown;
    delivered?: unknown;
  };
  for (const [name, value] of [
    ['after', after],
    ['page', page],
    ['delivered', delivered],
  ] as const) {
    if (value !== undefined && value !== null && !isLogId(value)) {
      throw new ValidationError(
        `${name} must be a log id (the logId of a message received), got ${JSON.stringify(value)}`,
      );
    }
  }
  if (delivered) {
    if (after || page) throw new ValidationError('delivered is a receipt of its own: give it without after or page');
    // A receipt from the future would skip what is not sent yet, for every later device of the user.
    if (logIdTime(delivered as string) > Date.now() + RECEIPT_CLOCK_SLACK_MS) {
      throw new ValidationError('delivered must be the log id of a message received, not a later one');
    }
    return { delivered: delivered as string };
  }
  if (rooms !== undefined && rooms !== null) {
    if (!Array.isArray(rooms)) throw new ValidationError('rooms must be an array of room names');
    if (rooms.length > MAX_RESUME_ROOMS) throw new ValidationError(`rooms may name at most ${MAX_RESUME_ROOMS} rooms`);
    for (const room of rooms) assertRoomName(room, 'each of rooms');
  }
  return {
    ...(after ? { after: after as string } : {}),
    ...(page ? { page: page as string } : {}),
    ...(Array.isArray(rooms) ? { rooms: rooms as string[] } : {}),
  };
}

/**
 * One page of a user's replay, as the `replay` envelope the route answers with. With the membership records
 * (`roomLog`), a resume with a cursor also replays the rooms the user belongs to (narrowed to the frame's `rooms`),
 * each from where the user joined it; every page reads the records again (one Query), so the pages of one resume
 * agree unless a join or leave comes between them.
 *
 * @example
 * const envelope = await replayPage(log, 'user123', { after: '1764255600000-0000-a3f91c' }, roomLog);
 * envelope.data.messages.length; // up to 100
 */
export async function replayPage(
  log: Pick<MessageLog, 'readReplay'>,
  userId: string,
  frame: ResumeFrame,
  roomLog?: Pick<RoomLog, 'roomsOf'>,
): Promise<Envelope<ReplayData>> {
  // Offline delivery (no cursor) reads the user's stream only: no records to read.
  const records = roomLog && frame.after !== undefined ? replayRooms(await roomLog.roomsOf(userId), frame.rooms) : [];
  const page = await log.readReplay({
    streams: streamsToReplay(
      userId,
      records.map((record) => record.room),
    ),
    ...(records.length > 0
      ? { since: new Map(records.map((record) => [LogStream.room(record.room), record.since])) }
      : {}),
    after: frame.after,
    pageAfter: frame.page,
  });
  const data: ReplayData = {
    messages: page.messages,
    recovered: frame.after !== undefined && page.gaps.length === 0,
    gaps: page.gaps,
    windowMs: page.windowMs,
  };
  if (page.next !== undefined) data.next = page.next;
  return createEnvelope(ServerFrameType.replay, data);
}
