import { mapBounded } from './bounded';
import { type BroadcastAcceptance, type BroadcastProducerDependencies, startBroadcast } from './broadcast-fan-out';
import { type Environment, optionalInteger, RoomSetting } from './config';
import { type DeliveryDependencies, ProtocolPayloads, postToConnection, recordMetrics } from './delivery';
import type { Envelope } from './envelope';
import type { RoomMember, RoomRegistry } from './rooms';

/**
 * Sending to a room: every live member connection of the room (`RoomRegistry.membersOf`, one paginated Query on the
 * room's partition) gets the envelope in its protocol. A module of its own because it joins the two delivery modes:
 * the synchronous posts of `delivery.ts` and the asynchronous fan-out of `broadcast-fan-out.ts` (which imports
 * `delivery.ts`, so this cannot live there without a circle).
 *
 * The rule (see {@link deliverToRoom}): a room of at most `syncMaxMembers` live members is posted here, in this
 * invocation, and answered with its counts; a larger room, or a caller asking `async`, goes through the fan-out (one
 * slice walking the room's Query, the broadcast worker's leases, claim-before-post checkpoints and post budget) and is
 * answered with a broadcast id at once. The size is learnt from the room's first Query page, read with `Limit`
 * `syncMaxMembers + 1`: no count is kept anywhere (a counter item would be one more write per join and leave, and a
 * hot item for a busy room), and the decision is taken before any post, so nothing is ever posted twice.
 */

/**
 * Live members a room may have and still be posted synchronously (`ROOM_SYNC_MAX_MEMBERS`). 1,000 posts are 5 rounds
 * of the 200 posts in flight (`SEND_CONCURRENCY`): about 0.1 s at API Gateway's 10-20 ms per post, far inside the
 * API-fronted senders' 29 s, even if every post is retried. Above it the synchronous path would stop being a safe
 * default: its posts bypass the global post budget (a 10,000-member room would be a burst the size of 5 s of the
 * default budget, shared with broadcasts), and a caller retrying a send cut short by a timeout re-sends to every
 * member already reached. The same bound as the largest `userIds` list (`MAX_USER_IDS` at most 1,000).
 */
export const DEFAULT_ROOM_SYNC_MAX_MEMBERS = 1000;
/** The largest value `ROOM_SYNC_MAX_MEMBERS` accepts: 50 rounds of 200 posts, still seconds inside 29 s. */
export const MAX_ROOM_SYNC_MAX_MEMBERS = 10_000;

/**
 * Reads `ROOM_SYNC_MAX_MEMBERS` (default {@link DEFAULT_ROOM_SYNC_MAX_MEMBERS}, 0 to {@link MAX_ROOM_SYNC_MAX_MEMBERS};
 * 0 sends every room through the fan-out).
 *
 * @example
 * readRoomSyncMaxMembers({ ROOM_SYNC_MAX_MEMBERS: '200' }); // 200
 */
export function readRoomSyncMaxMembers(env: Environment): number {
  return optionalInteger(env, RoomSetting.roomSyncMaxMembers, DEFAULT_ROOM_SYNC_MAX_MEMBERS, {
    min: 0,
    max: MAX_ROOM_SYNC_MAX_MEMBERS,
  });
}

export interface RoomDeliveryDependencies extends DeliveryDependencies {
  /** A room's members (`membersOf`), and the memberships a 410 ends (`forget`). */
  rooms: Pick<RoomRegistry, 'membersOf' | 'forget'>;
  /** Most live members a room may have to be posted synchronously; see {@link DEFAULT_ROOM_SYNC_MAX_MEMBERS}. */
  syncMaxMembers: number;
  /** The asynchronous fan-out; absent: a room beyond `syncMaxMembers` (or `async`) throws {@link RoomFanOutUnavailableError}. */
  fanOut?: BroadcastProducerDependencies;
}

/**
 * The answer of a room send posted synchronously: counts only, the same for every caller (which connections are in a
 * room is not the sender's business, and a room's report would grow with the room).
 *
 * ```json
 * { "delivery": "synchronous", "room": "chat:42", "messageId": "6f1c…", "timestamp": "2026-11-27T15:00:00.000Z",
 *   "connections": { "delivered": 12, "failed": 0, "stale": 1 } }
 * ```
 *
 * `stale` connections were found gone (410) and removed from the registry; `failed` ones failed otherwise (after the
 * SDK's retries). An empty room is not an error: every count is 0.
 */
export interface RoomDeliveryReport {
  delivery: 'synchronous';
  room: string;
  messageId: string;
  timestamp: string;
  connections: { delivered: number; failed: number; stale: number };
}

/** A room send handed to the asynchronous fan-out: follow it on the broadcast status route by `broadcastId`. */
export type RoomFanOutAcceptance = BroadcastAcceptance & { delivery: 'asynchronous'; room: string };

/** What a room send comes to; `delivery` tells which. */
export type RoomSendOutcome = RoomDeliveryReport | RoomFanOutAcceptance;

/** A room send needed the asynchronous fan-out, and the caller was built without it (the server library's `fanOut`). */
export class RoomFanOutUnavailableError extends Error {
  constructor(room: string, syncMaxMembers: number) {
    super(
      `room "${room}" has more than ${syncMaxMembers} live members (or async was asked), which needs the asynchronous fan-out: configure fanOut (FAN_OUT_TABLE_NAME, SLICE_QUEUE_URL)`,
    );
    this.name = 'RoomFanOutUnavailableError';
  }
}

/**
 * Sends one envelope to every live member connection of `room`. With `async`, or when the room's first Query page
 * holds more than `deps.syncMaxMembers` live members, it records a room fan-out and queues its slice (nothing is
 * posted here) and resolves with the acceptance; otherwise it posts every member, at most `deps.concurrency` at once,
 * and resolves with the counts. Throws `PayloadTooLargeError` before any read when the envelope is over 128 KB; a room
 * index read failure is thrown before any post. A 410 removes the connection from the registry, as every send does.
 *
 * @example
 * const outcome = await deliverToRoom({ ...deliveryDeps, rooms, syncMaxMembers: 1000, fanOut },
 *   { room: 'chat:42', envelope: createEnvelope('chat', { message: 'Hi' }, { from: 'user123' }) });
 * if (outcome.delivery === 'synchronous') outcome.connections.delivered; // 12
 * else outcome.broadcastId; // follow GET /websocket/broadcasts/{broadcastId}
 */
export async function deliverToRoom(
  deps: RoomDeliveryDependencies,
  request: { room: string; envelope: Envelope; async?: boolean; loggedAt?: number },
): Promise<RoomSendOutcome> {
  const { room, envelope, loggedAt } = request;
  // Encodes (and size-checks) the envelope before anything is read or queued.
  const payloads = new ProtocolPayloads(envelope);
  if (request.async) return fanOut(deps, room, envelope, loggedAt);

  const members: RoomMember[] = [];
  // A Limit one above the bound: a room that fits is read whole in one request, a larger one is known as such after
  // at most that many items (later pages are read only when expired items were filtered out of the first).
  for await (const page of deps.rooms.membersOf(room, { pageSize: deps.syncMaxMembers + 1 })) {
    members.push(...page);
    if (members.length > deps.syncMaxMembers) return fanOut(deps, room, envelope, loggedAt);
  }

  const logged = { logId: envelope.logId, loggedAt };
  const outcomes = await mapBounded(members, deps.concurrency, (member) =>
    postToConnection(deps, member, payloads, envelope.id, logged),
  );
  const connections = { delivered: 0, failed: 0, stale: 0 };
  for (const outcome of outcomes) connections[outcome.status]++;
  recordMetrics(deps, connections.delivered, connections.stale, connections.failed);
  deps.logger?.info('message delivered to room', {
    messageId: envelope.id,
    type: envelope.type,
    from: envelope.from,
    room,
    ...connections,
  });
  return { delivery: 'synchronous', room, messageId: envelope.id, timestamp: envelope.timestamp, connections };
}

async function fanOut(
  deps: RoomDeliveryDependencies,
  room: string,
  envelope: Envelope,
  loggedAt: number | undefined,
): Promise<RoomFanOutAcceptance> {
  if (!deps.fanOut) throw new RoomFanOutUnavailableError(room, deps.syncMaxMembers);
  const accepted = await startBroadcast(deps.fanOut, {
    envelope,
    room,
    ...(loggedAt === undefined ? {} : { loggedAt }),
  });
  deps.logger?.info('room send handed to the fan-out', {
    messageId: envelope.id,
    type: envelope.type,
    from: envelope.from,
    room,
    broadcastId: accepted.broadcastId,
  });
  return { ...accepted, delivery: 'asynchronous', room };
}
