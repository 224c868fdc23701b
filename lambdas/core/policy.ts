import { type AuthorizerContext, permissionsOf } from './authorizer-context';
import { type Environment, optionalString, Setting } from './config';
import { ForbiddenError } from './errors';
import { RoomSetting } from './room-settings';
import { ROOM_PERMISSION_PREFIX, roomGranted } from './rooms';

/**
 * Who may do what, configurable per deployment. Each operation needs at most one permission, taken from the
 * token's `scope` claim or its permissions claim (the authorizer merges both into the context). Defaults:
 *
 * | operation            | setting                | default        |
 * |----------------------|------------------------|----------------|
 * | `sendToUsers`        | `SEND_PERMISSION`      | none: any authenticated user |
 * | `notify`             | `NOTIFY_PERMISSION`    | none: any authenticated user |
 * | `broadcast`          | `BROADCAST_PERMISSION` | `ws:broadcast` |
 * | `sendToRoom`         | `ROOM_SEND_PERMISSION` | `ws:rooms` (any room; `room:<pattern>` grants matching rooms, {@link authorizeRoomSend}) |
 * | `listConnectedUsers` | `ADMIN_PERMISSION`     | `ws:admin`     |
 * | `statusOfOther`      | `ADMIN_PERMISSION`     | `ws:admin`     |
 * | `disconnectOther`    | `ADMIN_PERMISSION`     | `ws:admin`     |
 * | `seeConnectionIds`   | `ADMIN_PERMISSION`     | `ws:admin`     |
 * | `manageRooms`        | `ROOMS_PERMISSION`     | `ws:rooms`     |
 *
 * A setting set to `none` or to the empty string lifts the requirement (any authenticated user); an unset one
 * takes the default. Seeing one's own status and
 * disconnecting oneself need nothing: {@link authorizeForUser} only asks for the admin permission when the
 * target is someone else. No permission implies another (`ws:admin` does not grant `ws:broadcast`).
 * `seeConnectionIds` is not refused but decides how much a send report shows ({@link permits}): the status route
 * shows another user's connections only to admins, so a send report does the same.
 * `manageRooms` covers joining and leaving other users' connections and listing any room's members; a caller acting
 * on their own connections in a room their token grants (`room:<pattern>`, see `rooms.ts`) needs no policy
 * permission ({@link authorizeRoom}).
 */
export interface Policy {
  /** Required permission per operation; undefined: any authenticated user. */
  readonly required: Readonly<Record<Operation, string | undefined>>;
}

export type Operation =
  | 'sendToUsers'
  | 'notify'
  | 'broadcast'
  | 'sendToRoom'
  | 'listConnectedUsers'
  | 'statusOfOther'
  | 'disconnectOther'
  | 'seeConnectionIds'
  | 'manageRooms';

export const DEFAULT_BROADCAST_PERMISSION = 'ws:broadcast';
export const DEFAULT_ADMIN_PERMISSION = 'ws:admin';
/** The "any room" permission: a backend that sends to rooms it does not name in a token (`ROOM_SEND_PERMISSION`). */
export const DEFAULT_ROOM_SEND_PERMISSION = 'ws:rooms';
export const DEFAULT_ROOMS_PERMISSION = 'ws:rooms';
/** The setting value that means "no permission needed". */
export const NO_PERMISSION = 'none';

/** The caller as the handlers know it: the token's `sub` and its permissions. */
export interface Caller {
  userId: string;
  permissions: ReadonlySet<string>;
}

/**
 * Builds the caller from the authorizer's context.
 *
 * @example
 * callerFromContext({ userId: 'user123', permissions: 'ws:admin read', tokenExpiresAt: 1790000000 });
 * // { userId: 'user123', permissions: Set { 'ws:admin', 'read' } }
 */
export function callerFromContext(context: Pick<AuthorizerContext, 'userId' | 'permissions'>): Caller {
  return { userId: context.userId, permissions: permissionsOf(context) };
}

function readPermission(env: Environment, name: string, fallback: string | undefined): string | undefined {
  // Set but empty means "no permission" too: that is how the CDK construct passes an empty permission name.
  if (env[name] !== undefined && env[name]?.trim() === '') return undefined;
  const value = optionalString(env, name) ?? fallback;
  return value === NO_PERMISSION ? undefined : value;
}

/**
 * Reads the policy once, at cold start.
 *
 * @example
 * readPolicy({ BROADCAST_PERMISSION: 'news:publish' }).required.broadcast; // 'news:publish'
 * readPolicy({}).required.sendToUsers; // undefined: any authenticated user may send
 */
export function readPolicy(env: Environment): Policy {
  const admin = readPermission(env, Setting.adminPermission, DEFAULT_ADMIN_PERMISSION);
  return {
    required: {
      sendToUsers: readPermission(env, Setting.sendPermission, undefined),
      notify: readPermission(env, Setting.notifyPermission, undefined),
      broadcast: readPermission(env, Setting.broadcastPermission, DEFAULT_BROADCAST_PERMISSION),
      sendToRoom: readPermission(env, RoomSetting.roomSendPermission, DEFAULT_ROOM_SEND_PERMISSION),
      listConnectedUsers: admin,
      statusOfOther: admin,
      disconnectOther: admin,
      seeConnectionIds: admin,
      manageRooms: readPermission(env, RoomSetting.roomsPermission, DEFAULT_ROOMS_PERMISSION),
    },
  };
}

const operationDescription: Record<Operation, string> = {
  sendToUsers: 'send messages to users',
  notify: 'send notifications',
  broadcast: 'broadcast',
  sendToRoom: 'send to any room',
  listConnectedUsers: 'list connected users',
  statusOfOther: "see another user's status",
  disconnectOther: 'disconnect another user',
  seeConnectionIds: "see other users' connection ids",
  manageRooms: "manage other users' room memberships or rooms the token does not grant",
};

/**
 * Whether the caller may perform `operation`, for the operations that change an answer rather than refuse it.
 *
 * @example
 * permits(readPolicy({}), { userId: 'user123', permissions: new Set(['ws:admin']) }, 'seeConnectionIds'); // true
 */
export function permits(policy: Policy, caller: Caller, operation: Operation): boolean {
  const permission = policy.required[operation];
  return permission === undefined || caller.permissions.has(permission);
}

/**
 * Throws a {@link ForbiddenError} naming the missing permission unless the caller may perform `operation`.
 *
 * @example
 * authorize(readPolicy({}), { userId: 'user123', permissions: new Set() }, 'broadcast');
 * // throws ForbiddenError('The permission "ws:broadcast" is required to broadcast')
 */
export function authorize(policy: Policy, caller: Caller, operation: Operation): void {
  const permission = policy.required[operation];
  if (permission !== undefined && !permits(policy, caller, operation)) {
    throw new ForbiddenError(`The permission "${permission}" is required to ${operationDescription[operation]}`);
  }
}

/**
 * Authorizes an operation about one user: always allowed on oneself, otherwise the `...Other` operation's
 * permission is needed.
 *
 * @example
 * authorizeForUser(policy, caller, 'status', caller.userId); // allowed
 * authorizeForUser(policy, caller, 'disconnect', 'someone-else'); // needs ws:admin
 */
export function authorizeForUser(
  policy: Policy,
  caller: Caller,
  action: 'status' | 'disconnect',
  targetUserId: string,
): void {
  if (targetUserId === caller.userId) return;
  authorize(policy, caller, action === 'status' ? 'statusOfOther' : 'disconnectOther');
}

/**
 * Throws a {@link ForbiddenError} unless the caller may send to `room`: a `room:<pattern>` permission that grants it
 * (`roomGranted`), or the policy's `sendToRoom` permission (`ROOM_SEND_PERMISSION`, default `ws:rooms`: any room).
 * The message names both, so a refused caller knows which to ask for.
 *
 * @example
 * authorizeRoomSend(policy, { userId: 'user123', permissions: new Set(['room:chat:*']) }, 'chat:42'); // allowed
 * authorizeRoomSend(policy, { userId: 'user123', permissions: new Set() }, 'news');
 * // throws ForbiddenError('Sending to room "news" needs the permission "room:news" (or a room: pattern granting it) or "ws:rooms"')
 */
export function authorizeRoomSend(policy: Policy, caller: Caller, room: string): void {
  if (permits(policy, caller, 'sendToRoom') || roomGranted(caller.permissions, room)) return;
  const anyRoom = policy.required.sendToRoom;
  throw new ForbiddenError(
    `Sending to room "${room}" needs the permission "${ROOM_PERMISSION_PREFIX}${room}" (or a ${ROOM_PERMISSION_PREFIX} pattern granting it) or "${anyRoom}"`,
  );
}

/**
 * Authorizes a room operation: allowed when the caller acts on their own connections (`targetUserId` is theirs, or
 * absent as for a listing) in a room their token grants ({@link roomGranted}: a `room:<pattern>` permission), or when
 * they hold the `manageRooms` permission. The refusal names both ways in.
 *
 * @example
 * authorizeRoom(policy, { userId: 'user123', permissions: new Set(['room:chat:*']) }, 'chat:42', 'user123'); // allowed
 * authorizeRoom(policy, caller, 'chat:42', 'someone-else'); // needs ws:rooms
 */
export function authorizeRoom(policy: Policy, caller: Caller, room: string, targetUserId?: string): void {
  const own = targetUserId === undefined || targetUserId === caller.userId;
  if (own && roomGranted(caller.permissions, room)) return;
  if (permits(policy, caller, 'manageRooms')) return;
  const permission = policy.required.manageRooms;
  const grant = `a permission "${ROOM_PERMISSION_PREFIX}<pattern>" matching "${room}" (e.g. "${ROOM_PERMISSION_PREFIX}${room}")`;
  throw new ForbiddenError(
    own
      ? `room "${room}" is not granted to this caller: the token needs ${grant} or the permission "${permission}"`
      : `The permission "${permission}" is required to ${operationDescription.manageRooms}`,
  );
}
