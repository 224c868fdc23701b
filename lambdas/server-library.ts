/**
 * The server library: what a Node backend holding IAM credentials imports to reach connected users without going
 * through the HTTP API (`import { WebSocketService } from '@realtime-gateway/server'`). The Lambda handlers use the
 * same classes. Built by `npm run build` (into `dist/server/`) and by `npm pack` in `packages/server/`.
 *
 * @example
 * import { WebSocketService } from '@realtime-gateway/server';
 * // TABLE_NAME and CALLBACK_URL: the stack's ConnectionTableName and CallbackUrl outputs.
 * const service = WebSocketService.fromEnvironment();
 * const report = await service.sendToUser('user123', 'chat', { message: 'Hello!' });
 * // Rooms: ROOM_TABLE_NAME too (and the fan-out settings for rooms beyond ROOM_SYNC_MAX_MEMBERS members).
 * const rooms = WebSocketService.fromEnvironment(process.env, { rooms: true, broadcasts: true });
 * await rooms.to('chat:42').emit('chat', { message: 'Hi all' });
 */
export type { Envelope } from './core/envelope';
export { createEnvelope } from './core/envelope';
export {
  ClientError,
  ConfigurationError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
} from './core/errors';
export {
  createMessageLog,
  LogStream,
  type MessageLog,
  type MessageLogConfig,
  type ReplayGap,
  readMessageLogConfig,
  streamsToReplay,
} from './core/message-log';
export type { ConnectedUsersPage, ConnectionRegistry } from './core/registry';
export { createConnectionRegistry, readRegistryConfig } from './core/registry';
export { RoomFanOutUnavailableError } from './core/room-delivery';
export { createRoomLog, type RoomLog, type RoomRecord } from './core/room-log';
export {
  type MembershipSelector,
  type PresenceConfig,
  type PresenceEvent,
  RoomFullError,
  type RoomMembersPage,
  readPresenceConfig,
} from './core/room-membership';
export { createRoomRegistry, readRoomRegistryConfig, TooManyRoomsError } from './core/room-registry';
export { assertRoomName, type RoomMember, type RoomRegistry, roomGranted } from './core/rooms';
export type { ConnectionItem } from './core/table-schema';
export {
  type BroadcastAcceptance,
  type BroadcastStatus,
  ConnectionPresence,
  type DeliveryReport,
  type FanOutOptions,
  type RecipientReport,
  type RoomDeliveryReport,
  type RoomEmitter,
  type RoomFanOutAcceptance,
  type RoomSendOptions,
  type RoomSendOutcome,
  readFanOut,
  readFanOutState,
  type SendOptions,
  type UserStatus,
  WebSocketService,
  type WebSocketServiceOptions,
} from './core/websocket-service';
