/**
 * The room settings, beside `Setting` (config.ts) rather than in it: `Setting` is in every bundle, the 40 KB WebSocket
 * authorizer's included, which reads none of these; only the functions with room access do. The README's
 * configuration table lists them with the others, and the local stack unsets them like the others.
 */
export const RoomSetting = {
  /** The room index's table name (`roomTableSchema`): required by every function that joins, leaves, cleans up, sends
   * to a room or walks one (the worker). */
  roomTableName: 'ROOM_TABLE_NAME',
  /** Rooms one connection may be in at once. */
  maxRoomsPerConnection: 'MAX_ROOMS_PER_CONNECTION',
  /** Permission needed to manage other users' room memberships and to list any room's members. */
  roomsPermission: 'ROOMS_PERMISSION',
  /** Rooms whose name starts with this prefix send presence events (`joined`/`left`) to their members. */
  presenceRoomPrefix: 'PRESENCE_ROOM_PREFIX',
  /** Most connections a presence room may hold (a join beyond it is refused). */
  presenceMaxMembers: 'PRESENCE_MAX_MEMBERS',
  /** Permission that lets a caller send to any room (besides the `room:<pattern>` permissions of `rooms.ts`). */
  roomSendPermission: 'ROOM_SEND_PERMISSION',
  /** A room with more live members than this is sent through the asynchronous fan-out instead of synchronously. */
  roomSyncMaxMembers: 'ROOM_SYNC_MAX_MEMBERS',
} as const;
