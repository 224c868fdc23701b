import { ValidationError } from './errors';
import type { RoomMemberItem } from './table-schema';

/**
 * Rooms: named groups of connections that a send can address, as in Socket.IO (`socket.join(room)`,
 * `io.to(room).emit(...)`). This module is the contract shared by the membership code (join, leave, cleanup,
 * presence) and the send paths (HTTP, socket `send`, direct send, server library, the fan-out worker); the DynamoDB
 * implementation lives beside it (`room-registry.ts`). Core code: clients are parameters.
 *
 * A membership belongs to one connection, like a Socket.IO socket's rooms: it ends with the connection (`$disconnect`,
 * a 410 on a post, or its TTL). Joining "a user" joins each of the user's live connections.
 */

/** Longest room name, in characters. */
export const MAX_ROOM_NAME_LENGTH = 128;

/**
 * Room names: 1-128 characters from letters, digits and `_ - . : @ / = +`. No spaces, no `*` (reserved for the
 * permission patterns that grant rooms) and no `#` (reserved for the tables' key prefixes).
 */
const ROOM_NAME = /^[A-Za-z0-9_\-.:@/=+]+$/;

/**
 * Throws a {@link ValidationError} (400, `invalid_room`) naming what is wrong unless `room` is a valid room name.
 *
 * @example
 * assertRoomName('chat:42'); // ok
 * assertRoomName('chat 42'); // throws ValidationError('room may contain only letters, digits and _ - . : @ / = +')
 */
export function assertRoomName(room: unknown, field = 'room'): asserts room is string {
  if (typeof room !== 'string' || room.length === 0) {
    throw new ValidationError(`${field} must be a non-empty string`, 'invalid_room');
  }
  if (room.length > MAX_ROOM_NAME_LENGTH) {
    throw new ValidationError(`${field} must be at most ${MAX_ROOM_NAME_LENGTH} characters`, 'invalid_room');
  }
  if (!ROOM_NAME.test(room)) {
    throw new ValidationError(`${field} may contain only letters, digits and _ - . : @ / = +`, 'invalid_room');
  }
}

/** A member connection of a room, as a send reads it (with the Socket.IO replay hand-off's fields when it has them). */
export type RoomMember = Pick<RoomMemberItem, 'userId' | 'connectionId' | 'protocol'> &
  Partial<Pick<RoomMemberItem, 'replaying' | 'connectedAt' | 'liveAfter' | 'replayReadAt'>>;

/** What a join or leave learnt of the connection: its Socket.IO session, for the user's room records. */
export interface MembershipChange {
  session?: string;
}

/** The connection a membership change is about. */
export interface MembershipTarget {
  userId: string;
  connectionId: string;
}

/** Options of a walk over a room's members. */
export interface RoomMembersOptions {
  /** Items per Query request (DynamoDB `Limit`). */
  pageSize?: number;
  /** Resume just after this member (DynamoDB `ExclusiveStartKey`), as a fan-out slice's checkpoint does. */
  startAfter?: Pick<RoomMember, 'connectionId'>;
}

/**
 * The room index. Every read drops memberships whose `expiresAt` has passed (DynamoDB's TTL deletes late).
 */
export interface RoomRegistry {
  /**
   * Adds one live connection to a room: records the room in the connection's registry item (`rooms` set, conditional
   * on the item existing) and writes the member item. Joining twice is not an error. Throws `NotFoundError` (404)
   * naming the connection when it is not registered.
   */
  join(target: MembershipTarget, room: string): Promise<MembershipChange>;
  /** Removes one connection from a room (both writes); leaving a room one is not in is not an error. */
  leave(target: MembershipTarget, room: string): Promise<MembershipChange>;
  /**
   * After a Socket.IO connection's replay: its memberships written while it replayed take the connection's hand-off
   * (`liveAfter`, `replayReadAt`) and stop making room senders wait. One UpdateItem per room; a membership gone
   * meanwhile is not created.
   */
  finishReplay(
    target: MembershipTarget,
    rooms: readonly string[],
    handoff: { liveAfter: string; replayReadAt: number },
  ): Promise<void>;
  /** The rooms of one connection (the registry item's `rooms`); empty when it has none or is gone. */
  roomsOf(target: MembershipTarget): Promise<string[]>;
  /**
   * Deletes the member items of a connection that ended, given the rooms it was in (what `$disconnect`'s DeleteItem
   * returned, or `roomsOf` before a 410 removal). Failures are thrown; the TTL removes what is left either way.
   */
  forget(target: MembershipTarget, rooms: readonly string[]): Promise<void>;
  /** Walks a room's live members page by page (one Query, strongly consistent, paginated). */
  membersOf(room: string, options?: RoomMembersOptions): AsyncIterable<RoomMember[]>;
}

/** The permission prefix that grants rooms by pattern: `room:chat:*` grants every room whose name starts `chat:`. */
export const ROOM_PERMISSION_PREFIX = 'room:';

/**
 * Whether the caller's permissions (the token's `scope` and permissions claims, merged by the authorizer) grant
 * `room`: a permission `room:<pattern>` where the pattern is the room's name, or a prefix of it followed by `*`
 * (`room:*` grants every room). A granted room may be joined, left, sent to and (with presence) watched by the
 * caller's own connections; acting on other users' memberships needs the rooms permission of the policy instead.
 *
 * @example
 * roomGranted(new Set(['room:chat:*']), 'chat:42'); // true
 * roomGranted(new Set(['room:chat:*']), 'news'); // false
 */
export function roomGranted(permissions: ReadonlySet<string>, room: string): boolean {
  for (const permission of permissions) {
    if (!permission.startsWith(ROOM_PERMISSION_PREFIX)) continue;
    const pattern = permission.slice(ROOM_PERMISSION_PREFIX.length);
    if (pattern.endsWith('*') ? room.startsWith(pattern.slice(0, -1)) : room === pattern) return true;
  }
  return false;
}
