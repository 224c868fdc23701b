import { type Environment, optionalInteger } from './config';
import { createEnvelope, type Envelope, ServerFrameType } from './envelope';
import { ClientError, NotFoundError, ValidationError } from './errors';
import { logIdFloor } from './log-id';
import type { ConnectionRegistry } from './registry';
import type { RoomLog } from './room-log';
import { RoomSetting } from './room-settings';
import {
  assertRoomName,
  type MembershipChange,
  type MembershipTarget,
  type RoomMember,
  type RoomRegistry,
} from './rooms';

/**
 * Room membership as the product offers it (server library, HTTP API, client requests, `$disconnect`) over the room
 * index ({@link RoomRegistry}), with presence: the members of a room as users with connection counts, and, in presence
 * rooms, `presence` events to the members when a user's first connection joins or last one leaves.
 *
 * Presence rooms are opted into by name (`PRESENCE_ROOM_PREFIX`, default `presence-`, Pusher's convention) and bounded
 * (`PRESENCE_MAX_MEMBERS` connections, default 100, Pusher's presence limit): every join or leave of a presence room
 * reads the room's members (one Query of at most that many items) to decide whether the user's first connection joined
 * or last one left, and posts at most that many events. A join that would take a presence room past the bound is
 * refused (409 `room_full`): events then always match the membership, and their cost stays bounded. Other rooms have
 * no bound but send no events (a join or leave there costs no read).
 *
 * A connection found gone by a 410 on a post leaves its rooms without a `left` event (the cleanup runs inside a send;
 * events from there would nest sends): its user disappears from the listing at once.
 *
 * The first-join / last-leave decision reads the members, then writes: two connections of one user joining (or leaving)
 * the same presence room at the same instant may both announce (or neither). Events are best effort like every post
 * (at most once); the listing is the truth. The bound is checked the same way, so concurrent joins may pass it by the
 * number of joins in flight.
 */

/** The event type of presence events. */
export const PRESENCE_EVENT_TYPE = ServerFrameType.presence;

/** A presence event's data: `{"room":"presence-lobby","userId":"user123","event":"joined"}`. */
export interface PresenceEvent {
  room: string;
  userId: string;
  event: 'joined' | 'left';
}

export const DEFAULT_PRESENCE_ROOM_PREFIX = 'presence-';
export const DEFAULT_PRESENCE_MAX_MEMBERS = 100;
/** The highest `PRESENCE_MAX_MEMBERS`: every join and leave of a presence room reads and may post to this many. */
export const MAX_PRESENCE_MAX_MEMBERS = 1000;

/** Which rooms are presence rooms, and their bound. */
export interface PresenceConfig {
  /** Rooms whose name starts with it; undefined: no presence rooms. */
  roomPrefix?: string;
  /** Most connections a presence room may hold. */
  maxMembers: number;
}

/**
 * Reads `PRESENCE_ROOM_PREFIX` (default `presence-`; `none` or empty: no presence rooms) and `PRESENCE_MAX_MEMBERS`
 * (default 100, 1 to 1,000).
 *
 * @example
 * readPresenceConfig({}); // { roomPrefix: 'presence-', maxMembers: 100 }
 * readPresenceConfig({ PRESENCE_ROOM_PREFIX: 'none' }); // { roomPrefix: undefined, maxMembers: 100 }
 */
export function readPresenceConfig(env: Environment): PresenceConfig {
  const raw = env[RoomSetting.presenceRoomPrefix];
  const prefix = raw === undefined ? DEFAULT_PRESENCE_ROOM_PREFIX : raw.trim();
  return {
    roomPrefix: prefix === '' || prefix === 'none' ? undefined : prefix,
    maxMembers: optionalInteger(env, RoomSetting.presenceMaxMembers, DEFAULT_PRESENCE_MAX_MEMBERS, {
      min: 1,
      max: MAX_PRESENCE_MAX_MEMBERS,
    }),
  };
}

/**
 * 409: a presence room already holds `PRESENCE_MAX_MEMBERS` connections.
 *
 * @example
 * await joinRoom(deps, target, 'presence-lobby'); // rejects with RoomFullError when the lobby holds 100 connections
 */
export class RoomFullError extends ClientError {
  constructor(room: string, limit: number) {
    super(409, 'room_full', `presence room "${room}" already holds its ${limit} connections`);
    this.name = 'RoomFullError';
  }
}

export interface RoomMembershipDependencies {
  rooms: RoomRegistry;
  /** A user's live connections, for joins and leaves by user. */
  registry: Pick<ConnectionRegistry, 'connectionsOf'>;
  presence: PresenceConfig;
  /**
   * Posts an envelope to member connections (the delivery core's `deliverToConnections`). Absent: no presence events
   * are posted (a function without the management API).
   */
  deliver?: (connections: readonly RoomMember[], envelope: Envelope) => Promise<unknown>;
  /**
   * The message log's membership records (`room-log.ts`): a join records the room for the user's resumes, an explicit
   * leave ends the record once no other connection of the user is in the room. Absent: no message log.
   */
  roomLog?: Pick<RoomLog, 'joined' | 'left'>;
  /** The clock (epoch ms) the records' `since` is taken from; tests pass a fixed one. */
  now?: () => number;
}

/**
 * Whether `room` sends presence events.
 *
 * @example
 * isPresenceRoom({ roomPrefix: 'presence-', maxMembers: 100 }, 'presence-lobby'); // true
 */
export function isPresenceRoom(presence: PresenceConfig, room: string): boolean {
  return presence.roomPrefix !== undefined && room.startsWith(presence.roomPrefix);
}

/** Every live member of a presence room; more than `bound` means the bound was passed (read no further). */
async function membersUpTo(rooms: RoomRegistry, room: string, bound: number): Promise<RoomMember[]> {
  const members: RoomMember[] = [];
  for await (const page of rooms.membersOf(room, { pageSize: bound + 1 })) {
    members.push(...page);
    if (members.length > bound) break;
  }
  return members;
}

async function announce(
  deps: RoomMembershipDependencies,
  to: readonly RoomMember[],
  event: PresenceEvent,
): Promise<void> {
  if (!deps.deliver || to.length === 0) return;
  await deps.deliver(to, createEnvelope<PresenceEvent>(PRESENCE_EVENT_TYPE, event));
}

/**
 * Adds one connection to a room: 404 when it is not connected, 409 when it is in too many rooms or the presence room
 * is full. In a presence room, a user's first connection to join is announced (`joined`) to the other members.
 *
 * @example
 * await joinRoom(deps, { userId: 'user123', connectionId: 'abc=' }, 'presence-lobby');
 */
export async function joinRoom(
  deps: RoomMembershipDependencies,
  target: MembershipTarget,
  room: string,
): Promise<void> {
  assertRoomName(room);
  // Taken before the membership is written: a message minted before it was sent before the user was in the room, and
  // is never replayed to them.
  const since = logIdFloor((deps.now ?? Date.now)());
  if (!isPresenceRoom(deps.presence, room)) {
    const { session } = await deps.rooms.join(target, room);
    await deps.roomLog?.joined(target.userId, room, { since, session });
    return;
  }
  const before = await membersUpTo(deps.rooms, room, deps.presence.maxMembers);
  if (before.some((member) => member.connectionId === target.connectionId)) return; // joined already: no event
  if (before.length >= deps.presence.maxMembers) throw new RoomFullError(room, deps.presence.maxMembers);
  const { session } = await deps.rooms.join(target, room);
  await deps.roomLog?.joined(target.userId, room, { since, session });
  if (before.some((member) => member.userId === target.userId)) return;
  await announce(deps, before, { room, userId: target.userId, event: 'joined' });
}

/**
 * Removes one connection from a room (not being in it is fine). In a presence room, a user's last connection to leave
 * is announced (`left`) to the remaining members.
 *
 * @example
 * await leaveRoom(deps, { userId: 'user123', connectionId: 'abc=' }, 'presence-lobby');
 */
export async function leaveRoom(
  deps: RoomMembershipDependencies,
  target: MembershipTarget,
  room: string,
): Promise<void> {
  assertRoomName(room);
  if (!isPresenceRoom(deps.presence, room)) {
    await forgetRecord(deps, target, room, await deps.rooms.leave(target, room));
    return;
  }
  const before = await membersUpTo(deps.rooms, room, deps.presence.maxMembers);
  await forgetRecord(deps, target, room, await deps.rooms.leave(target, room));
  if (!before.some((member) => member.connectionId === target.connectionId)) return;
  await announceIfLast(deps, target, room, before);
}

/**
 * After an explicit leave: the user's membership record ends unless another connection of theirs is still in the room
 * (one Query of the user's connections, which carry their rooms). A disconnect never comes here: it is what a resume
 * bridges.
 */
async function forgetRecord(
  deps: RoomMembershipDependencies,
  target: MembershipTarget,
  room: string,
  change: MembershipChange,
): Promise<void> {
  if (!deps.roomLog) return;
  const connections = await deps.registry.connectionsOf(target.userId);
  const stillIn = connections.some(
    (connection) => connection.connectionId !== target.connectionId && connection.rooms?.includes(room),
  );
  await deps.roomLog.left(target.userId, room, { stillIn, session: change.session });
}

async function announceIfLast(
  deps: RoomMembershipDependencies,
  target: MembershipTarget,
  room: string,
  before: readonly RoomMember[],
): Promise<void> {
  const remaining = before.filter((member) => member.connectionId !== target.connectionId);
  if (remaining.some((member) => member.userId === target.userId)) return;
  await announce(deps, remaining, { room, userId: target.userId, event: 'left' });
}

/**
 * After a connection ended (`$disconnect`) and its memberships were forgotten (`removeEndedConnection`): announces
 * `left` in each presence room it was in where the user has no connection left. Failures are thrown.
 *
 * @example
 * const rooms = await removeEndedConnection({ registry, rooms }, target);
 * await announceDepartures(deps, target, rooms);
 */
export async function announceDepartures(
  deps: RoomMembershipDependencies,
  target: MembershipTarget,
  rooms: readonly string[],
): Promise<void> {
  for (const room of rooms) {
    if (!isPresenceRoom(deps.presence, room)) continue;
    const remaining = await membersUpTo(deps.rooms, room, deps.presence.maxMembers);
    await announceIfLast(deps, target, room, remaining);
  }
}

/** Who a join or leave is about: one connection of a user, or every live connection of the user. */
export type MembershipSelector = { userId: string; connectionId?: string };

/**
 * Joins the selected connections to a room: the one connection, or every live connection of the user (like
 * Socket.IO's `io.in(userRoom).socketsJoin(room)`). Answers the connections joined; a user with no live connection
 * is a 404.
 *
 * @example
 * await joinSelected(deps, { userId: 'user123' }, 'chat:42'); // ['abc=', 'def=']
 */
export async function joinSelected(
  deps: RoomMembershipDependencies,
  selector: MembershipSelector,
  room: string,
): Promise<string[]> {
  assertRoomName(room);
  const targets = await targetsOf(deps, selector);
  // One after another: in a presence room only the user's first connection is announced.
  for (const target of targets) await joinRoom(deps, target, room);
  return targets.map((target) => target.connectionId);
}

/**
 * Removes the selected connections from a room (see {@link joinSelected}). Answers the connections addressed.
 *
 * @example
 * await leaveSelected(deps, { userId: 'user123' }, 'chat:42'); // ['abc=', 'def=']
 */
export async function leaveSelected(
  deps: RoomMembershipDependencies,
  selector: MembershipSelector,
  room: string,
): Promise<string[]> {
  assertRoomName(room);
  const targets = await targetsOf(deps, selector);
  for (const target of targets) await leaveRoom(deps, target, room);
  return targets.map((target) => target.connectionId);
}

async function targetsOf(deps: RoomMembershipDependencies, selector: MembershipSelector): Promise<MembershipTarget[]> {
  if (selector.connectionId !== undefined) return [{ userId: selector.userId, connectionId: selector.connectionId }];
  const connections = await deps.registry.connectionsOf(selector.userId);
  if (connections.length === 0) throw new NotFoundError(`user ${selector.userId} has no live connection`);
  return connections.map(({ userId, connectionId }) => ({ userId, connectionId }));
}

/** One page of a room's members, as users with their connection counts. */
export interface RoomMembersPage {
  room: string;
  members: Array<{ userId: string; connections: number }>;
  /** Present when more members may follow; pass it back as `cursor`. */
  nextCursor?: string;
}

/** `limit` bounds: connections read per page of a listing. */
export const ROOM_MEMBERS_PAGE = { fallback: 100, min: 1, max: 1000 } as const;

/**
 * One page of a room's members: at most `limit` member connections read (one Query, or a few when expired items are
 * filtered), grouped by user with their connection counts, users in order of first appearance. A room of at most
 * `limit` connections (any presence room at the default bounds) is listed whole on one page; past that, a user whose
 * connections straddle pages appears on each with that page's count.
 *
 * @example
 * await listRoomMembers(deps, 'presence-lobby', { limit: 100 });
 * // { room: 'presence-lobby', members: [{ userId: 'user123', connections: 2 }, { userId: 'user456', connections: 1 }] }
 */
export async function listRoomMembers(
  deps: Pick<RoomMembershipDependencies, 'rooms'>,
  room: string,
  options: { limit?: number; cursor?: string } = {},
): Promise<RoomMembersPage> {
  assertRoomName(room);
  const limit = options.limit ?? ROOM_MEMBERS_PAGE.fallback;
  if (!Number.isInteger(limit) || limit < ROOM_MEMBERS_PAGE.min || limit > ROOM_MEMBERS_PAGE.max) {
    throw new ValidationError(`limit must be an integer from ${ROOM_MEMBERS_PAGE.min} to ${ROOM_MEMBERS_PAGE.max}`);
  }
  const startAfter = options.cursor === undefined ? undefined : { connectionId: decodeMembersCursor(options.cursor) };
  const read: RoomMember[] = [];
  let more = false;
  for await (const page of deps.rooms.membersOf(room, { pageSize: limit, startAfter })) {
    read.push(...page);
    if (read.length >= limit) {
      more = true;
      break;
    }
  }
  const shown = read.slice(0, limit);
  const counts = new Map<string, number>();
  for (const member of shown) counts.set(member.userId, (counts.get(member.userId) ?? 0) + 1);
  const answer: RoomMembersPage = {
    room,
    members: [...counts].map(([userId, connections]) => ({ userId, connections })),
  };
  const last = shown.at(-1);
  if (more && last) answer.nextCursor = Buffer.from(last.connectionId, 'utf8').toString('base64url');
  return answer;
}

function decodeMembersCursor(cursor: string): string {
  const connectionId = /^[A-Za-z0-9_-]{1,400}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (connectionId.length === 0 || Buffer.from(connectionId, 'utf8').toString('base64url') !== cursor) {
    throw new ValidationError('cursor is not valid', 'invalid_cursor');
  }
  return connectionId;
}
