import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { type BroadcastAcceptance, type SliceQueue, startBroadcast } from './broadcast-fan-out';
import { DEFAULT_SEND_CONCURRENCY, getDocumentClient, getManagementClient, readSendConcurrency } from './clients';
import { type Environment, optionalInteger, requireString, Setting } from './config';
import {
  type DeliveryDependencies,
  type DeliveryLogger,
  type DeliveryMetrics,
  type DeliveryReport,
  deliverToConnections,
  deliverToUsers,
  disconnectConnections,
  removeEndedConnection,
} from './delivery';
import { createEnvelope, type Envelope, ServerFrameType } from './envelope';
import { ValidationError } from './errors';
import {
  type BroadcastStatus,
  createFanOutState,
  DEFAULT_FAN_OUT_STATE_TTL_SECONDS,
  type FanOutState,
} from './fan-out-state';
import { createMessageLog, LogStream, type MessageLog, readMessageLogConfig } from './message-log';
import {
  type ConnectedUsersPage,
  type ConnectionRegistry,
  createConnectionRegistry,
  readRegistryConfig,
} from './registry';
import {
  DEFAULT_ROOM_SYNC_MAX_MEMBERS,
  deliverToRoom,
  type RoomSendOutcome,
  readRoomSyncMaxMembers,
} from './room-delivery';
import { createRoomLog, type RoomLog } from './room-log';
import {
  announceDepartures,
  joinSelected,
  leaveSelected,
  listRoomMembers,
  type MembershipSelector,
  type PresenceConfig,
  type RoomMembershipDependencies,
  type RoomMembersPage,
  readPresenceConfig,
} from './room-membership';
import { createRoomRegistry, readRoomRegistryConfig } from './room-registry';
import { RoomSetting } from './room-settings';
import { assertRoomName, type RoomRegistry } from './rooms';
import { createSqsSliceQueue, getSqsClient, readSliceQueueConfig } from './slice-queue';
import {
  checkDataDepth,
  checkMessageType,
  checkUserId,
  checkUserIds,
  defaultMessageRules,
  type MessageRules,
  readMessageRules,
  validateNotification,
} from './validation';

export type { BroadcastAcceptance } from './broadcast-fan-out';
export type { DeliveryReport, RecipientReport } from './delivery';
export type { BroadcastStatus } from './fan-out-state';
export type { RoomDeliveryReport, RoomFanOutAcceptance, RoomSendOutcome } from './room-delivery';

/** Posts in flight when no `concurrency` is given: the `SEND_CONCURRENCY` default, declared once in `clients.ts`. */
export const DEFAULT_CONCURRENCY = DEFAULT_SEND_CONCURRENCY;
/**
 * A broadcast stops starting pages when fewer ms than this remain (`BROADCAST_TIME_MARGIN_MS`): enough for the
 * posts in flight to settle (each at most a few retries) and the report to be written before Lambda's timeout.
 */
export const DEFAULT_BROADCAST_TIME_MARGIN_MS = 3000;

export interface WebSocketServiceOptions {
  registry: ConnectionRegistry;
  /** The management API client (`@connections`): posts and closes. */
  managementClient: ApiGatewayManagementApiClient;
  /** Posts in flight at once; default {@link DEFAULT_CONCURRENCY}. */
  concurrency?: number;
  /** See {@link DEFAULT_BROADCAST_TIME_MARGIN_MS}. */
  broadcastTimeMarginMs?: number;
  /** Parallel Scan segments a broadcast walks; default 1. */
  broadcastScanSegments?: number;
  /**
   * Where broadcasts go: the fan-out state table and the slice queue (asynchronous broadcasts). Absent: the service
   * sends to users but `broadcast` throws.
   */
  fanOut?: FanOutOptions;
  /** Validation rules; default: at most 100 userIds, any type matching the documented pattern. */
  messageRules?: MessageRules;
  /**
   * The room index: joins, leaves, room listings, room sends ({@link WebSocketService.sendToRoom},
   * {@link WebSocketService.to}), and the cleanup of the memberships of connections found gone.
   * Absent: the room methods throw, and memberships of gone connections are left to their TTL.
   */
  rooms?: RoomRegistry;
  /** Which rooms send presence events; default: rooms named `presence-*`, at most 100 connections each. */
  presence?: PresenceConfig;
  /** Most live members a room is posted to synchronously; larger rooms go through `fanOut`. Default 1,000. */
  roomSyncMaxMembers?: number;
  /**
   * The message log: every message to users (and every broadcast) is recorded before it is posted, so clients can
   * resume. Absent: nothing is recorded and delivery is at most once.
   */
  messageLog?: MessageLog;
  /**
   * The message log's room membership records (`room-log.ts`): joins and explicit leaves keep them, so a resume
   * replays the rooms the user belonged to. Absent: room messages are recorded (with `messageLog`) but no join is.
   */
  roomLog?: RoomLog;
  logger?: DeliveryLogger;
  metrics?: DeliveryMetrics;
}

/** The asynchronous broadcast's parts: its state (status, checkpoints) and the queue its slices go to. */
export interface FanOutOptions {
  state: Pick<FanOutState, 'createBroadcast' | 'readStatus'>;
  queue: SliceQueue;
  /** Slices (Scan segments) per broadcast. */
  segments: number;
}

/**
 * Reads the fan-out settings once: `FAN_OUT_TABLE_NAME`, `SLICE_QUEUE_URL` (both required) and
 * `BROADCAST_SEGMENTS`; builds the state and the queue over the process's shared clients.
 *
 * @example
 * new WebSocketService({ registry, managementClient, fanOut: readFanOut(process.env) });
 */
export function readFanOut(env: Environment): FanOutOptions {
  const { queueUrl, segments } = readSliceQueueConfig(env);
  return {
    state: readFanOutState(env),
    queue: createSqsSliceQueue({ client: getSqsClient(), queueUrl }),
    segments,
  };
}

/**
 * The fan-out state from `FAN_OUT_TABLE_NAME` (required), over the process's shared document client.
 *
 * @example
 * const state = readFanOutState(process.env);
 * await state.readStatus(broadcastId);
 */
export function readFanOutState(env: Environment): FanOutState {
  return createFanOutState({
    client: getDocumentClient(),
    tableName: requireString(env, Setting.fanOutTableName),
    ttlSeconds: DEFAULT_FAN_OUT_STATE_TTL_SECONDS,
  });
}

/** Per-call options of the send methods. */
export interface SendOptions {
  /** The sender's userId, stamped into the envelope's `from`; only ever from a verified identity. */
  from?: string;
  /** Milliseconds left before the caller's deadline (Lambda's `getRemainingTimeInMillis`); broadcasts watch it. */
  remainingTimeMs?: () => number;
  /**
   * `false`: this message is not recorded in the message log (a typing indicator): it is posted at most once and
   * never replayed. Default: recorded unless its type is listed in `EPHEMERAL_MESSAGE_TYPES`.
   */
  persist?: boolean;
}

/** Per-call options of a room send. */
export interface RoomSendOptions extends SendOptions {
  /**
   * Send through the asynchronous fan-out whatever the room's size: answered at once with a broadcast id (a caller
   * that wants no wait, or a room it knows is large). Default: by size, see `deliverToRoom`.
   */
  async?: boolean;
}

/**
 * The target of `service.to(room)`, as Socket.IO's `io.to(room)`: `emit` sends to the room's members.
 */
export interface RoomEmitter {
  /**
   * Sends one message to every live member connection of the room (see {@link WebSocketService.sendToRoom}).
   *
   * @example
   * await service.to('chat:42').emit('chat', { message: 'Hi all' }, { from: 'user123' });
   */
  emit(type: string, data: unknown, options?: RoomSendOptions): Promise<RoomSendOutcome>;
}

/** A user's presence, as `getUserStatus` answers it. */
export interface UserStatus {
  userId: string;
  connected: boolean;
  connectionCount: number;
  connections: Array<{ connectionId: string; connectedAt: string }>;
}

/**
 * Reads the delivery settings once: `SEND_CONCURRENCY`, `BROADCAST_TIME_MARGIN_MS`, `MAX_USER_IDS` and
 * `ALLOWED_MESSAGE_TYPES`; each bad value throws a ConfigurationError naming it.
 *
 * @example
 * readDeliverySettings({ SEND_CONCURRENCY: '100' }); // { concurrency: 100, broadcastTimeMarginMs: 3000, ... }
 */
export function readDeliverySettings(
  env: Environment,
): Required<Pick<WebSocketServiceOptions, 'concurrency' | 'broadcastTimeMarginMs' | 'messageRules'>> {
  return {
    concurrency: readSendConcurrency(env),
    broadcastTimeMarginMs: optionalInteger(env, Setting.broadcastTimeMarginMs, DEFAULT_BROADCAST_TIME_MARGIN_MS, {
      min: 0,
      max: 600_000,
    }),
    messageRules: readMessageRules(env),
  };
}

/**
 * The read-only half of the library: who is connected, from the registry alone. The status function uses it
 * without any management API client (it has no right to one); {@link WebSocketService} inherits it.
 *
 * @example
 * const presence = new ConnectionPresence({ registry });
 * await presence.isUserConnected('user123'); // true
 */
export class ConnectionPresence {
  protected readonly registry: ConnectionRegistry;
  protected readonly broadcasts?: Pick<FanOutState, 'readStatus'>;

  constructor(options: { registry: ConnectionRegistry; broadcasts?: Pick<FanOutState, 'readStatus'> }) {
    this.registry = options.registry;
    this.broadcasts = options.broadcasts;
  }

  /**
   * Where an asynchronous broadcast stands: `queued`, `running`, `complete` or `failed`, with its counts and when it
   * finished; undefined for an unknown (or expired) id. Needs the fan-out state (`broadcasts`, or `fanOut` on a
   * {@link WebSocketService}).
   *
   * @example
   * const { broadcastId } = await service.broadcast('system', { message: 'Maintenance at 22:00' });
   * const status = await service.getBroadcastStatus(broadcastId);
   * status?.connections.delivered; // 9990 once status.state === 'complete'
   */
  async getBroadcastStatus(broadcastId: string): Promise<BroadcastStatus | undefined> {
    if (!this.broadcasts) throw new Error('getBroadcastStatus needs the fan-out state (the broadcasts option)');
    return this.broadcasts.readStatus(broadcastId);
  }

  /**
   * Whether the user has at least one live connection.
   *
   * @example
   * if (!(await service.isUserConnected('user123'))) await sendEmail(...);
   */
  async isUserConnected(userId: string): Promise<boolean> {
    return (await this.registry.connectionsOf(checkUserId(userId, 'userId'))).length > 0;
  }

  /**
   * One page of connected users; pass `nextCursor` back as `cursor` for the next page.
   *
   * @example
   * let page = await service.getConnectedUsers({ limit: 50 });
   * while (page.nextCursor) page = await service.getConnectedUsers({ limit: 50, cursor: page.nextCursor });
   */
  async getConnectedUsers(options: { limit?: number; cursor?: string } = {}): Promise<ConnectedUsersPage> {
    return this.registry.listConnectedUsers({ limit: options.limit ?? 50, cursor: options.cursor });
  }

  /**
   * Whether the user is connected, with each live connection and its `connectedAt`.
   *
   * @example
   * await service.getUserStatus('user123');
   * // { userId: 'user123', connected: true, connectionCount: 1,
   * //   connections: [{ connectionId: 'abc=', connectedAt: '2026-11-26T10:00:00.000Z' }] }
   */
  async getUserStatus(userId: string): Promise<UserStatus> {
    const connections = await this.registry.connectionsOf(checkUserId(userId, 'userId'));
    return {
      userId,
      connected: connections.length > 0,
      connectionCount: connections.length,
      connections: connections.map(({ connectionId, connectedAt }) => ({ connectionId, connectedAt })),
    };
  }
}

/**
 * Sends messages to connected users and manages their connections (and, from {@link ConnectionPresence}, tells
 * who is connected): the operations the old in-process Socket.IO service offered, now over API Gateway's management API and the DynamoDB registry. The Lambda handlers use it;
 * so can any Node backend holding IAM credentials with `execute-api:ManageConnections` on the stage and access to
 * the registry table.
 *
 * Its reports carry connection ids: the library is for trusted backends, which hold `execute-api:ManageConnections`
 * and read the registry table anyway (the HTTP and socket send routes summarize them for callers without the admin
 * permission; see `reportForCaller`).
 *
 * Arguments are checked like an HTTP request's: a bad userId or type, or a `data` nested more than 64 levels deep,
 * throws a `ValidationError` (`code` `validation_error`, `too_deep`, ...) before anything is posted; an envelope
 * over 128 KB throws a `PayloadTooLargeError`.
 *
 * @example
 * const service = WebSocketService.fromEnvironment(); // TABLE_NAME and CALLBACK_URL from the environment
 * await service.sendToUser('user123', 'chat', { message: 'Hello!' });
 */
export class WebSocketService extends ConnectionPresence {
  private readonly managementClient: ApiGatewayManagementApiClient;
  private readonly concurrency: number;
  private readonly broadcastTimeMarginMs: number;
  private readonly broadcastScanSegments: number;
  private readonly fanOut?: FanOutOptions;
  private readonly messageRules: MessageRules;
  private readonly roomSyncMaxMembers: number;
  private readonly messageLog?: MessageLog;
  private readonly roomLog?: RoomLog;
  private readonly logger?: DeliveryLogger;
  private readonly metrics?: DeliveryMetrics;
  private readonly rooms?: RoomRegistry;
  private readonly presence: PresenceConfig;

  /**
   * @example
   * const service = new WebSocketService({ registry, managementClient, concurrency: 100 });
   */
  constructor(options: WebSocketServiceOptions) {
    super({ registry: options.registry, broadcasts: options.fanOut?.state });
    this.fanOut = options.fanOut;
    this.managementClient = options.managementClient;
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.broadcastTimeMarginMs = options.broadcastTimeMarginMs ?? DEFAULT_BROADCAST_TIME_MARGIN_MS;
    this.broadcastScanSegments = options.broadcastScanSegments ?? 1;
    this.messageRules = options.messageRules ?? defaultMessageRules;
    this.roomSyncMaxMembers = options.roomSyncMaxMembers ?? DEFAULT_ROOM_SYNC_MAX_MEMBERS;
    this.messageLog = options.messageLog;
    this.roomLog = options.roomLog;
    this.logger = options.logger;
    this.metrics = options.metrics;
    this.rooms = options.rooms;
    this.presence = options.presence ?? readPresenceConfig({});
  }

  /**
   * Builds a service from the environment: `TABLE_NAME` and `CALLBACK_URL` (required), `CONNECTION_TTL_SECONDS`,
   * `SEND_CONCURRENCY`, `BROADCAST_TIME_MARGIN_MS`, `MAX_USER_IDS`, `ALLOWED_MESSAGE_TYPES`; and the rooms when
   * `ROOM_TABLE_NAME` is set (required with `rooms: true`), with `MAX_ROOMS_PER_CONNECTION`, `PRESENCE_ROOM_PREFIX`
   * and `PRESENCE_MAX_MEMBERS`. Credentials and region come from the SDK's usual chain. The clients are the
   * process's shared ones (keep-alive, standard retries).
   *
   * @example
   * const service = WebSocketService.fromEnvironment(process.env, { logger });
   */
  static fromEnvironment(
    env: Environment = process.env,
    extra: Pick<WebSocketServiceOptions, 'logger' | 'metrics' | 'broadcastScanSegments'> & {
      /** Read the fan-out settings too (`FAN_OUT_TABLE_NAME`, `SLICE_QUEUE_URL`, `BROADCAST_SEGMENTS`): broadcasts. */
      broadcasts?: boolean;
      /**
       * Require the room settings (`ROOM_TABLE_NAME`; `ROOM_SYNC_MAX_MEMBERS`): joins, leaves, listings and room
       * sends. A room beyond the synchronous bound also needs `broadcasts` (the fan-out).
       */
      rooms?: boolean;
    } = {},
  ): WebSocketService {
    const { broadcasts, rooms, ...rest } = extra;
    const withRooms = rooms === true || env[RoomSetting.roomTableName]?.trim();
    const logConfig = readMessageLogConfig(env);
    return new WebSocketService({
      registry: createConnectionRegistry({ client: getDocumentClient(), ...readRegistryConfig(env) }),
      managementClient: getManagementClient(env),
      ...readDeliverySettings(env),
      ...(logConfig
        ? {
            messageLog: createMessageLog({ client: getDocumentClient(), config: logConfig }),
            roomLog: createRoomLog({ client: getDocumentClient(), config: logConfig }),
          }
        : {}),
      ...(broadcasts ? { fanOut: readFanOut(env) } : {}),
      ...(withRooms
        ? {
            rooms: createRoomRegistry({ client: getDocumentClient(), ...readRoomRegistryConfig(env) }),
            presence: readPresenceConfig(env),
            roomSyncMaxMembers: readRoomSyncMaxMembers(env),
          }
        : {}),
      ...rest,
    });
  }

  /**
   * Sends one message to every connection of one user.
   *
   * @example
   * const report = await service.sendToUser('user123', 'chat', { message: 'Hello!' }, { from: 'user456' });
   * report.recipients.user123?.delivered; // ['abc=', 'def='] (two tabs)
   */
  async sendToUser(userId: string, type: string, data: unknown, options: SendOptions = {}): Promise<DeliveryReport> {
    return this.deliver([checkUserId(userId, 'userId')], this.envelope(type, data, options), options);
  }

  /**
   * Sends one message (one id) to every connection of each listed user.
   *
   * @example
   * const report = await service.sendToUsers(['user123', 'user456'], 'announcement', { text: 'Release 2.0' });
   * report.notConnected; // ['user456']
   */
  async sendToUsers(
    userIds: readonly string[],
    type: string,
    data: unknown,
    options: SendOptions = {},
  ): Promise<DeliveryReport> {
    const checked = checkUserIds(userIds, this.messageRules);
    return this.deliver(checked, this.envelope(type, data, options), options);
  }

  /**
   * Sends one message to every connected user, asynchronously: records the broadcast, queues its slices and
   * resolves at once with its id; the broadcast worker posts. Follow it with {@link getBroadcastStatus}. Delivery
   * is at most once per connection (see `broadcast-fan-out.ts`).
   *
   * @example
   * const accepted = await service.broadcast('system', { message: 'Maintenance at 22:00', level: 'info' });
   * accepted.broadcastId; // 'b0e1…'; accepted.state === 'queued'
   */
  async broadcast(type: string, data: unknown, options: SendOptions = {}): Promise<BroadcastAcceptance> {
    const envelope = this.envelope(type, data, options);
    if (!this.fanOut) throw new Error('broadcast needs the fan-out state and slice queue (the fanOut option)');
    // Recorded once in the broadcast stream, never once per recipient: every user's resume reads that stream.
    const loggedAt = this.messageLog?.persists(envelope.type, options.persist)
      ? await this.messageLog.record(envelope, [LogStream.broadcast])
      : undefined;
    return startBroadcast(this.fanOut, { envelope, loggedAt });
  }

  /**
   * Sends one message to every live member connection of a room (each connection the encoding of its protocol). A
   * room of at most `roomSyncMaxMembers` live members (default 1,000) is posted before this resolves, with the counts
   * (`delivery: 'synchronous'`); a larger one, or any with `async: true`, is handed to the asynchronous fan-out and
   * resolves at once with a broadcast id (`delivery: 'asynchronous'`; follow it with {@link getBroadcastStatus}),
   * which needs the `fanOut` option. A bad room name throws a `ValidationError` (`invalid_room`).
   *
   * @example
   * const outcome = await service.sendToRoom('chat:42', 'chat', { message: 'Hi all' }, { from: 'user123' });
   * if (outcome.delivery === 'synchronous') console.log(outcome.connections.delivered);
   * else console.log(await service.getBroadcastStatus(outcome.broadcastId));
   */
  async sendToRoom(room: string, type: string, data: unknown, options: RoomSendOptions = {}): Promise<RoomSendOutcome> {
    assertRoomName(room);
    const envelope = this.envelope(type, data, options);
    if (!this.rooms) throw new Error('sendToRoom needs the room index (the rooms option)');
    // Recorded once in the room's stream, whatever the room's size, before its members are read: a member who
    // joined after that read resumes from the log (see `message-log.ts`).
    const loggedAt = this.messageLog?.persists(envelope.type, options.persist)
      ? await this.messageLog.record(envelope, [LogStream.room(room)])
      : undefined;
    return deliverToRoom(
      {
        ...this.deliveryDependencies(options),
        rooms: this.rooms,
        syncMaxMembers: this.roomSyncMaxMembers,
        fanOut: this.fanOut,
      },
      { room, envelope, async: options.async, loggedAt },
    );
  }

  /**
   * Socket.IO's `io.to(room).emit(type, data)`: the room's members get the message. One room per emit; the room name
   * is checked when `emit` is called.
   *
   * @example
   * await service.to('chat:42').emit('chat', { message: 'Hi all' });
   * await service.to('news').emit('headline', { title: 'Release 2.0' }, { async: true }); // via the fan-out
   */
  to(room: string): RoomEmitter {
    return { emit: (type, data, options) => this.sendToRoom(room, type, data, options) };
  }

  /**
   * Sends a notification: type `notification`, data `{ title, body, ...data }`.
   *
   * @example
   * await service.sendNotification('user123', 'New order', 'Order #42 shipped', { orderId: 42 });
   */
  async sendNotification(
    userId: string,
    title: string,
    body: string,
    data?: Record<string, unknown>,
    options: SendOptions = {},
  ): Promise<DeliveryReport> {
    const notification = validateNotification({ userId, title, body, data }, 'Notification');
    const envelope = createEnvelope(
      ServerFrameType.notification,
      { title: notification.title, body: notification.body, ...notification.data },
      { from: options.from },
    );
    return this.deliver([notification.userId], envelope, options);
  }

  /**
   * Closes every connection of the user through the management API (one already gone is fine) and removes them
   * from the registry. Returns how many were closed; see {@link closeConnectionsOf} for the failures too.
   *
   * @example
   * const closed = await service.disconnectUser('user123'); // 2
   */
  async disconnectUser(userId: string): Promise<number> {
    return (await this.closeConnectionsOf(userId)).disconnected;
  }

  /**
   * Like {@link disconnectUser}, with the connections whose close failed (they stay registered).
   *
   * @example
   * const { disconnected, failed } = await service.closeConnectionsOf('user123');
   */
  async closeConnectionsOf(
    userId: string,
  ): Promise<{ disconnected: number; failed: Array<{ connectionId: string; error: string }> }> {
    // Presence departures are announced here: the `$disconnect` that follows the close finds the item gone.
    const ended = this.rooms
      ? (connection: { userId: string; connectionId: string }, rooms: string[]) =>
          announceDepartures(this.membership(), connection, rooms)
      : undefined;
    return disconnectConnections(this.deliveryDependencies({}), checkUserId(userId, 'userId'), ended);
  }

  /**
   * Joins connections to a room, like Socket.IO's `io.in(...).socketsJoin(room)`: every live connection of a user, or
   * one connection of theirs. A connection is named with its user because the registry is keyed by user (a lookup by
   * connection id alone would need an index written on every connect). Answers the connections joined. Throws a
   * `NotFoundError` (404) for a user with no live connection or a connection that is not connected, a `ClientError`
   * 409 (`too_many_rooms`, `room_full`) past `MAX_ROOMS_PER_CONNECTION` or a full presence room, a `ValidationError`
   * for a bad room name. In a presence room (`presence-*`) the user's arrival is announced to the other members.
   *
   * @example
   * await service.socketsJoin('chat:42', { userId: 'user123' }); // ['abc=', 'def='] (both tabs)
   * await service.socketsJoin('chat:42', { userId: 'user123', connectionId: 'abc=' }); // ['abc=']
   */
  async socketsJoin(room: string, selector: MembershipSelector): Promise<string[]> {
    return joinSelected(this.membership(), this.checkedSelector(selector), room);
  }

  /**
   * Removes connections from a room (see {@link socketsJoin}); not being in it is fine. In a presence room the user's
   * departure is announced once their last connection has left.
   *
   * @example
   * await service.socketsLeave('chat:42', { userId: 'user123' }); // ['abc=', 'def=']
   */
  async socketsLeave(room: string, selector: MembershipSelector): Promise<string[]> {
    return leaveSelected(this.membership(), this.checkedSelector(selector), room);
  }

  /**
   * One page of a room's members as users with their connection counts (presence); pass `nextCursor` back as
   * `cursor`. `limit` bounds the member connections read (default 100, at most 1,000).
   *
   * @example
   * await service.fetchRoomMembers('presence-lobby');
   * // { room: 'presence-lobby', members: [{ userId: 'user123', connections: 2 }] }
   */
  async fetchRoomMembers(room: string, options: { limit?: number; cursor?: string } = {}): Promise<RoomMembersPage> {
    return listRoomMembers(this.membership(), room, options);
  }

  /**
   * The rooms one connection is in.
   *
   * @example
   * await service.roomsOf({ userId: 'user123', connectionId: 'abc=' }); // ['chat:42']
   */
  async roomsOf(target: { userId: string; connectionId: string }): Promise<string[]> {
    const { userId, connectionId } = this.checkedSelector(target);
    if (connectionId === undefined) throw new ValidationError('connectionId is required');
    return this.membership().rooms.roomsOf({ userId, connectionId });
  }

  /**
   * Ends a connection in the tables, as `$disconnect` does: removes its registry item and its memberships, and
   * announces the user's departure from presence rooms where this was their last connection. Answers its rooms.
   *
   * @example
   * await service.removeConnection('user123', 'abc='); // ['presence-lobby']
   */
  async removeConnection(userId: string, connectionId: string): Promise<string[]> {
    const target = { userId, connectionId };
    const rooms = await removeEndedConnection({ registry: this.registry, rooms: this.rooms }, target);
    if (this.rooms && rooms.length > 0) await announceDepartures(this.membership(), target, rooms);
    return rooms;
  }

  private membership(): RoomMembershipDependencies {
    if (!this.rooms) throw new Error('rooms need the room index (the rooms option, or ROOM_TABLE_NAME)');
    return {
      rooms: this.rooms,
      registry: this.registry,
      presence: this.presence,
      deliver: (connections, envelope) =>
        deliverToConnections(this.deliveryDependencies({}), { connections, envelope }),
      roomLog: this.roomLog,
    };
  }

  private checkedSelector(selector: MembershipSelector): MembershipSelector {
    const userId = checkUserId(selector?.userId, 'userId');
    if (selector.connectionId === undefined) return { userId };
    if (typeof selector.connectionId !== 'string' || !/^[A-Za-z0-9_=+/-]{1,128}$/.test(selector.connectionId)) {
      throw new ValidationError('connectionId must be a connection id (letters, digits and = + / _ -)');
    }
    return { userId, connectionId: selector.connectionId };
  }

  private envelope(type: string, data: unknown, options: SendOptions): Envelope {
    const checkedType = checkMessageType(type, this.messageRules);
    // A backend's data is checked like a request's: a value nested too deep is a ValidationError (`too_deep`).
    checkDataDepth(data);
    return createEnvelope(checkedType, data, { from: options.from });
  }

  private async deliver(userIds: string[], envelope: Envelope, options: SendOptions): Promise<DeliveryReport> {
    const log = this.messageLog?.persists(envelope.type, options.persist) ? this.messageLog : undefined;
    // Recorded before the registry is read: a connection registered after that read resumes from the log, and
    // one registered before it is posted to (see `message-log.ts`).
    const loggedAt = log ? await log.record(envelope, [...new Set(userIds)].map(LogStream.user)) : undefined;
    const report = await deliverToUsers(this.deliveryDependencies(options), { userIds, envelope, loggedAt });
    if (log && envelope.logId && report.notConnected.length > 0) {
      await this.markOffline(log, envelope.logId, report);
      // Mark, then read the registry again: a first connection registered after the first read whose offline read
      // came before the mark would otherwise get the message neither way. Its registration came before that offline
      // read, so before the mark, so before this read, which finds it and posts (a copy it already has is dropped by
      // id, or skipped by the Socket.IO hand-off). The price: one registry Query per user found offline.
      const late = await deliverToUsers(this.deliveryDependencies(options), {
        userIds: report.notConnected,
        envelope,
        loggedAt,
      });
      Object.assign(report.recipients, late.recipients);
      report.notConnected = late.notConnected;
    }
    return report;
  }

  /** Offline delivery's marker on the users nobody was connected for; a failure costs only that delivery. */
  private async markOffline(log: MessageLog, logId: string, report: DeliveryReport): Promise<void> {
    const offline = report.notConnected;
    try {
      await log.markOffline(logId, offline);
    } catch (error) {
      this.logger?.warn('marking a message for offline delivery failed', { logId, users: offline.length, error });
    }
  }

  private deliveryDependencies(options: SendOptions): DeliveryDependencies {
    return {
      registry: this.registry,
      rooms: this.rooms,
      managementClient: this.managementClient,
      logger: this.logger,
      metrics: this.metrics,
      concurrency: this.concurrency,
      remainingTimeMs: options.remainingTimeMs,
      timeMarginMs: this.broadcastTimeMarginMs,
      scanSegments: this.broadcastScanSegments,
    };
  }
}
