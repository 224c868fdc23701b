import type { Envelope } from './envelope';
import { HANDOFF_SKEW_MS } from './live-handoff';
import { isLogId, logIdFloor, logIds, logIdTime } from './log-id';
import { LogStream, type MessageLog, type ReplayGap, streamsToReplay } from './message-log';
import type { ConnectionRegistry } from './registry';
import type { RoomLog, RoomRecord } from './room-log';
import { encodeEnvelopeEvent, encodeEvent } from './socketio-protocol';

/**
 * Socket.IO's connection-state recovery, over the message log, for an unmodified socket.io-client.
 *
 * socket.io-client sends `pid` and `offset` in its CONNECT packet's `auth` once a server has given it a `pid`; it
 * keeps as `offset` the last string argument of every event it fires, and sets `socket.recovered` when the CONNECT
 * answer carries the `pid` it sent. Here `pid` is a log id minted when the session started, and every logged event
 * ends with its log id, so the cursor is `offset`, or `pid` when the client fired nothing since.
 *
 * The CONNECT is answered only after the missed events are posted: socket.io-client holds events that arrive before
 * the CONNECT answer and fires them, in arrival order, before `connect`. The connection stays `replaying` until the
 * replay has caught up with the log, so live senders wait and then post only what the replay did not
 * (`live-handoff.ts`): each missed message once, replayed ones first, in log id order.
 *
 * What socket.io-client cannot do (drop a duplicate by id) sets one limit: the replay starts strictly after the
 * offset. A message whose id is older than the offset but which had not reached the client when it went away (a
 * broadcast still being fanned out, or another sender's message minted a few ms earlier and posted later) is not
 * replayed. Our adapter, which drops duplicates, reaches back instead (`message-log.ts`).
 */

export interface SocketIoRecoveryDependencies {
  log: Pick<MessageLog, 'readReplay' | 'readRange' | 'config' | 'confirmOffline'>;
  registry: Pick<ConnectionRegistry, 'finishReplay'>;
  /** Posts one Engine.IO frame to the connection (`PostToConnection`), awaited: posts are sequential, in order. */
  post: (frame: string) => Promise<void>;
  /** Most events one recovery posts: the CONNECT must be answered within API Gateway's 29 s. */
  maxMessages: number;
  now?: () => number;
  /** Mints the `pid` of a new session. */
  newPid?: () => string;
  /**
   * The session's rooms, restored as Socket.IO's own recovery restores a socket's rooms. Absent: none are (a
   * deployment without rooms).
   */
  rooms?: SessionRooms;
}

/** What restoring a recovered session's rooms takes. */
export interface SessionRooms {
  /** The user's room records: which rooms each session was in, and from where (`room-log.ts`). */
  log: Pick<RoomLog, 'roomsOf' | 'joined'>;
  /**
   * Joins the new connection to the rooms (with the same grant checks as a client's join); answers those joined. A
   * room no longer granted, or full, is left out.
   */
  rejoin: (rooms: readonly string[]) => Promise<string[]>;
  /** After the hand-off: the memberships joined while replaying take it (`RoomRegistry.finishReplay`). */
  finishReplay: (rooms: readonly string[], handoff: { liveAfter: string; replayReadAt: number }) => Promise<void>;
}

/** What the CONNECT answer needs, and what the recovery did. */
export interface SocketIoRecovery {
  /** The `pid` to answer with: the client's own when nothing was lost (then `socket.recovered` is true). */
  pid: string;
  recovered: boolean;
  posted: number;
  gaps: ReplayGap[];
  /** The session's rooms joined again (Socket.IO's recovery restores a socket's rooms). */
  rooms: string[];
}

/** The most events one CONNECT replays by default: at ~10 ms a post on AWS, about 10 s of the 29 s. */
export const DEFAULT_SOCKET_IO_REPLAY_LIMIT = 1000;

/**
 * Replays what a Socket.IO client missed (or, on a first connect, what offline delivery keeps), hands the
 * connection over to the live senders, and says which `pid` to answer the CONNECT with.
 *
 * @example
 * const { pid } = await recoverSocketIoSession(deps, { userId: 'user123', connectionId: 'abc=', auth });
 * return encodeConnect('abc=', pid);
 */
export async function recoverSocketIoSession(
  deps: SocketIoRecoveryDependencies,
  request: { userId: string; connectionId: string; auth?: Record<string, unknown> },
): Promise<SocketIoRecovery> {
  const now = deps.now ?? Date.now;
  const clientPid = isLogId(request.auth?.pid) ? request.auth.pid : undefined;
  const offset = isLogId(request.auth?.offset) ? request.auth.offset : undefined;
  // A pid that is not ours (another server's session) cannot be resumed: the client starts afresh.
  const cursor = clientPid === undefined ? undefined : (offset ?? clientPid);
  // The session's rooms are joined again before the replay reads them: a room send that read the members after a
  // join waits for the hand-off (the membership is `replaying`), one that read them before was recorded before, and
  // the replay finds it. The records are the user's, so a pid can only restore rooms its user belonged to.
  const restored =
    cursor !== undefined && clientPid !== undefined && deps.rooms
      ? await restoreRooms(deps.rooms, request.userId, clientPid)
      : [];
  const streams = streamsToReplay(
    request.userId,
    restored.map((record) => record.room),
  );
  const since = new Map(restored.map((record) => [LogStream.room(record.room), record.since]));
  const posted = new Set<string>();
  let last: string | undefined;
  let capped = false;
  const gaps: ReplayGap[] = [];

  const post = async (envelope: Envelope): Promise<boolean> => {
    if (envelope.logId === undefined || posted.has(envelope.logId)) return true;
    if (posted.size === deps.maxMessages) {
      capped = true;
      return false;
    }
    await deps.post(encodeEnvelopeEvent(envelope));
    posted.add(envelope.logId);
    if (last === undefined || envelope.logId > last) last = envelope.logId;
    return true;
  };

  // The replay proper: pages from the cursor (or offline delivery without one), strictly after it.
  let replayReadAt = now();
  let pageAfter: string | undefined;
  do {
    // Each event is posted on its own, the size it had live: no page to fit in.
    const page = await deps.log.readReplay({
      streams,
      since,
      after: cursor,
      pageAfter,
      exact: true,
      maxEnvelopeBytes: Number.POSITIVE_INFINITY,
    });
    if (pageAfter === undefined) gaps.push(...page.gaps);
    for (const message of page.messages) if (!(await post(message))) break;
    pageAfter = capped ? undefined : page.next;
  } while (pageAfter !== undefined);

  // Catch up until a read finds nothing new: records written meanwhile, or out of id order by concurrent senders
  // (those reach back HANDOFF_SKEW_MS). Offline delivery needs none: whatever was sent since `$connect` waits for
  // the hand-off and is posted live.
  if (cursor !== undefined && !capped) {
    for (let fresh = 1; fresh > 0 && !capped; ) {
      fresh = 0;
      replayReadAt = now();
      const floor = last === undefined ? cursor : logIdFloor(logIdTime(last) - HANDOFF_SKEW_MS);
      // Never below the cursor: the client has everything up to it.
      let after = laterLogId(floor, cursor);
      for (let more = true; more && !capped; ) {
        const read = await deps.log.readRange({ streams, after, limit: deps.log.config.pageMessages, since });
        for (const message of read.messages) {
          if (message.logId === undefined || posted.has(message.logId)) continue;
          if (!(await post(message))) break;
          fresh += 1;
        }
        more = read.more;
        after = read.messages.at(-1)?.logId ?? after;
      }
    }
  }
  if (cursor === undefined && last !== undefined) {
    // Offline delivery: every post above succeeded, so the pending messages reached this connection; the user's next
    // connection without a cursor does not get them again.
    await deps.log.confirmOffline(request.userId, last);
  }
  if (capped) gaps.push({ reason: 'cap', stream: streams[0], after: last });
  if (gaps.length > 0) await deps.post(encodeEvent('recovery_gap', [gaps]));

  const recovered = cursor !== undefined && gaps.length === 0;
  const pid = recovered && clientPid !== undefined ? clientPid : (deps.newPid ?? (() => logIds.next()))();
  const handoff = { liveAfter: last ?? cursor ?? '', replayReadAt };
  await deps.registry.finishReplay(request.userId, request.connectionId, { ...handoff, session: pid });
  if (deps.rooms && restored.length > 0) {
    const rooms = restored.map((record) => record.room);
    await deps.rooms.finishReplay(rooms, handoff);
    // A session that could not be recovered whole starts a new pid, yet keeps its rooms: their records learn it.
    if (pid !== clientPid) {
      for (const record of restored) {
        await deps.rooms.log.joined(request.userId, record.room, { since: record.since, session: pid });
      }
    }
  }
  return { pid, recovered, posted: posted.size, gaps, rooms: restored.map((record) => record.room) };
}

/** The rooms of the user's records that name the session, joined again; those joined, with where each starts. */
async function restoreRooms(rooms: SessionRooms, userId: string, pid: string): Promise<RoomRecord[]> {
  const records = (await rooms.log.roomsOf(userId)).filter((record) => record.sessions.includes(pid));
  if (records.length === 0) return [];
  const joined = new Set(await rooms.rejoin(records.map((record) => record.room)));
  return records.filter((record) => joined.has(record.room));
}

/** The later of two log ids (they compare as strings; `Math.max` would not). */
function laterLogId(a: string, b: string): string {
  return a < b ? b : a;
}
