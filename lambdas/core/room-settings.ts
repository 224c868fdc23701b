/**
 * The room settings, beside `Setting` (config.ts) rather than in it: `Setting` is in every bundle, the 40 KB WebSocket
 * authorizer's included, which reads none of these; only the functions with room access do. The README's
 * configuration table lists them with the others, and the local stack unsets them like the others.
 */
export const RoomSetting = {
  /** The room index's table name (room memberships). Required by every function that joins, leaves or cleans up. */
  roomTableName: 'ROOM_TABLE_NAME',
  /** Rooms one connection may be in at once. */
  maxRoomsPerConnection: 'MAX_ROOMS_PER_CONNECTION',
  /** Permission needed to manage other users' room memberships and to list any room's members. */
  roomsPermission: 'ROOMS_PERMISSION',
  /** Rooms whose name starts with this prefix send presence events (`joined`/`left`) to their members. */
  presenceRoomPrefix: 'PRESENCE_ROOM_PREFIX',
  /** Most connections a presence room may hold (a join beyond it is refused). */
  presenceMaxMembers: 'PRESENCE_MAX_MEMBERS',
} as const;
