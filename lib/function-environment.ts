import { CompletionEventSetting, MessageLogSetting, Setting } from '../lambdas/core/config';
import { RoomSetting } from '../lambdas/core/room-settings';
import type { FunctionAccess, QueueName } from '../lambdas/routes';

/**
 * How tokens are verified. On AWS the HS* secret lives in Secrets Manager and only its ARN is passed; the local
 * stack and tests pass the secret itself (`JWT_SECRET`), which never happens on AWS.
 */
export type TokenVerification =
  | { readonly mode: 'secret'; readonly secretArn: string }
  | { readonly mode: 'secret'; readonly secret: string }
  | {
      readonly mode: 'jwks';
      readonly jwksUrl: string;
      readonly issuer?: string;
      readonly audience?: string;
    };

/** Permission names of the send and management policy; an empty string means "any authenticated user". */
export interface PermissionNames {
  readonly send?: string;
  readonly notify?: string;
  readonly broadcast?: string;
  /** Sending to any room (`ROOM_SEND_PERMISSION`); `room:<pattern>` permissions grant single rooms regardless. */
  readonly roomSend?: string;
  readonly admin?: string;
  /** Managing other users' room memberships and listing any room (`ROOMS_PERMISSION`). */
  readonly rooms?: string;
}

/** Room settings; each left undefined takes the reader's default. */
export interface RoomSettings {
  readonly maxRoomsPerConnection?: number;
  /** Rooms with this name prefix send presence events; an empty string turns presence off. */
  readonly presenceRoomPrefix?: string;
  readonly presenceMaxMembers?: number;
}

/** The message log's settings (see `readMessageLogConfig`). */
export interface MessageLogSettings {
  /** Seconds a message stays replayable. @default 86400 */
  readonly retentionSeconds?: number;
  /** Most messages of one user stream a resume replays. @default 1000 */
  readonly userCap?: number;
  /** Types never logged. @default - none */
  readonly ephemeralTypes?: readonly string[];
  /** How far a resume reaches back before the last seen id, in ms. @default 30000 */
  readonly resumeSkewMs?: number;
  /** What a connection without a cursor gets. @default 'notifications' */
  readonly offlineDelivery?: 'all' | 'notifications' | 'none';
}

/**
 * The values of every Lambda setting, whatever function they end up in. An optional value left undefined is
 * not passed at all, so the handler's reader applies its own default: defaults live in one place, the readers.
 * Values may be CDK tokens (table name, callback URL, secret ARN); they are only copied, never inspected.
 */
export interface EnvironmentValues {
  /** Registry table name. */
  readonly tableName: string;
  /** Fan-out state table name (asynchronous broadcasts). */
  readonly fanOutTableName: string;
  /** The room index's table name. */
  readonly roomTableName: string;
  /** Most live members a room is posted to synchronously (`ROOM_SYNC_MAX_MEMBERS`). */
  readonly roomSyncMaxMembers?: number;
  readonly rooms?: RoomSettings;
  /** Message log table name (resume, offline delivery). */
  readonly messageLogTableName: string;
  /** The message log's settings; each left undefined takes the reader's default (`message-log.ts`). */
  readonly messageLog?: MessageLogSettings;
  /** Each queue's URL (SQS's, or the local SQS server's). */
  readonly queueUrls: Readonly<Record<QueueName, string>>;
  /** Slices (Scan segments) per broadcast. */
  readonly broadcastSegments?: number;
  /** Posts per second all broadcast workers together may start. */
  readonly postBudgetPerSecond?: number;
  /** The bus that gets completion events (`COMPLETION_EVENT_BUS`); undefined: completion events are off. */
  readonly completionEventBus?: string;
  /** The WebSocket stage's callback URL (the emulator's URL locally). */
  readonly callbackUrl: string;
  readonly tokenVerification: TokenVerification;
  readonly jwtAlgorithms?: readonly string[];
  readonly jwtClockToleranceSeconds?: number;
  readonly jwtMaxTokenBytes?: number;
  readonly permissionsClaim?: string;
  /** Allowed browser origins; `['*']` allows any. */
  readonly allowedOrigins?: readonly string[];
  readonly connectionTtlSeconds?: number;
  readonly permissions?: PermissionNames;
  readonly maxUserIds?: number;
  readonly allowedMessageTypes?: readonly string[];
  readonly sendConcurrency?: number;
  readonly broadcastTimeMarginMs?: number;
  readonly logLevel?: string;
}

/**
 * The environment of one function, derived from its `access` flags alone, so that the CDK construct and the
 * local stack give each handler exactly the same settings. A function gets only the settings of what it may
 * touch:
 *
 * - every function: `LOG_LEVEL`;
 * - registry access (`table` not empty): `TABLE_NAME`, `CONNECTION_TTL_SECONDS` and the policy's permission
 *   names, because the functions that use the registry are the ones that decide who may reach whom;
 * - `manageConnections`: `CALLBACK_URL` and the delivery settings (bounds on recipients, message types,
 *   posts in flight, broadcast time margin);
 * - fan-out table access (`fanOutTable` not empty): `FAN_OUT_TABLE_NAME`;
 * - room index access (`roomTable` not empty): `ROOM_TABLE_NAME`, and, for a room sender that may start a fan-out
 *   (room `Query` and fan-out `PutItem`), `ROOM_SYNC_MAX_MEMBERS`;
 * - message log access (`messageLog` not empty): `MESSAGE_LOG_TABLE_NAME` and the log's settings (retention, cap,
 *   ephemeral types, resume skew, offline delivery);
 * - fan-out `UpdateItem` (the broadcast worker, which takes from the global post budget): `POST_BUDGET_PER_SECOND`;
 * - `sendsTo` the slice queue: `SLICE_QUEUE_URL` and `BROADCAST_SEGMENTS`; the openings queue: `OPENING_QUEUE_URL`;
 * - `sendsCompletionEvents`, when completion events are on: `COMPLETION_EVENT_BUS`;
 * - room table access (`roomTable` not empty): `ROOM_TABLE_NAME`, `MAX_ROOMS_PER_CONNECTION`, `ROOMS_PERMISSION` and
 *   the presence settings (`PRESENCE_ROOM_PREFIX`, `PRESENCE_MAX_MEMBERS`);
 * - `verifiesTokens`: the JWT settings (secret ARN, or secret locally, or JWKS URL, issuer and audience),
 *   the permissions claim and the allowed origins.
 *
 * @example
 * environmentFor(functions.httpStatus.access, { tableName: 'Registry', fanOutTableName: 'FanOut', roomTableName: 'Rooms',
 *   queueUrls: { broadcastSlices: 'https://sqs…' }, callbackUrl: 'http://127.0.0.1:3001',
 *   tokenVerification: { mode: 'secret', secret: 'dev-secret' }, logLevel: 'DEBUG' });
 * // { LOG_LEVEL: 'DEBUG', TABLE_NAME: 'Registry', FAN_OUT_TABLE_NAME: 'FanOut' }
 */
export function environmentFor(access: FunctionAccess, values: EnvironmentValues): Record<string, string> {
  const environment: Record<string, string> = {};
  const put = (name: string, value: string | number | readonly string[] | undefined): void => {
    if (value === undefined) return;
    environment[name] = typeof value === 'object' ? value.join(',') : String(value);
  };

  put(Setting.logLevel, values.logLevel);

  if (access.table.length > 0) {
    put(Setting.tableName, values.tableName);
    put(Setting.connectionTtlSeconds, values.connectionTtlSeconds);
    put(Setting.sendPermission, values.permissions?.send);
    put(Setting.notifyPermission, values.permissions?.notify);
    put(Setting.broadcastPermission, values.permissions?.broadcast);
    put(RoomSetting.roomSendPermission, values.permissions?.roomSend);
    put(Setting.adminPermission, values.permissions?.admin);
  }

  if (access.manageConnections) {
    put(Setting.callbackUrl, values.callbackUrl);
    put(Setting.maxUserIds, values.maxUserIds);
    put(Setting.allowedMessageTypes, values.allowedMessageTypes);
    put(Setting.sendConcurrency, values.sendConcurrency);
    put(Setting.broadcastTimeMarginMs, values.broadcastTimeMarginMs);
  }

  if (access.fanOutTable.length > 0) put(Setting.fanOutTableName, values.fanOutTableName);
  if (access.roomTable.length > 0) put(RoomSetting.roomTableName, values.roomTableName);
  // The bound is read where a room send decides between posting and queueing: a function that reads room members and
  // may record a fan-out (not the worker, which only drains one).
  if (access.roomTable.includes('Query') && access.fanOutTable.includes('PutItem')) {
    put(RoomSetting.roomSyncMaxMembers, values.roomSyncMaxMembers);
  }
  // The budget's windows are written with UpdateItem: only a function that may write them posts under the budget.
  if (access.fanOutTable.includes('UpdateItem')) put(Setting.postBudgetPerSecond, values.postBudgetPerSecond);

  if (access.roomTable.length > 0) {
    put(RoomSetting.roomTableName, values.roomTableName);
    put(RoomSetting.maxRoomsPerConnection, values.rooms?.maxRoomsPerConnection);
    put(RoomSetting.roomsPermission, values.permissions?.rooms);
    put(RoomSetting.presenceRoomPrefix, values.rooms?.presenceRoomPrefix);
    put(RoomSetting.presenceMaxMembers, values.rooms?.presenceMaxMembers);
  }
  if (access.messageLog.length > 0) {
    put(MessageLogSetting.messageLogTableName, values.messageLogTableName);
    put(MessageLogSetting.messageRetentionSeconds, values.messageLog?.retentionSeconds);
    put(MessageLogSetting.messageLogUserCap, values.messageLog?.userCap);
    put(MessageLogSetting.ephemeralMessageTypes, values.messageLog?.ephemeralTypes);
    put(MessageLogSetting.resumeSkewMs, values.messageLog?.resumeSkewMs);
    put(MessageLogSetting.offlineDelivery, values.messageLog?.offlineDelivery);
  }

  if (access.sendsTo.includes('socketIoOpenings')) put(Setting.openingQueueUrl, values.queueUrls.socketIoOpenings);

  if (access.sendsTo.includes('broadcastSlices')) {
    put(Setting.sliceQueueUrl, values.queueUrls.broadcastSlices);
    put(Setting.broadcastSegments, values.broadcastSegments);
  }

  if (access.sendsCompletionEvents) put(CompletionEventSetting.completionEventBus, values.completionEventBus);

  if (access.verifiesTokens) {
    const verification = values.tokenVerification;
    if (verification.mode === 'jwks') {
      put(Setting.jwksUrl, verification.jwksUrl);
      put(Setting.jwtIssuer, verification.issuer);
      put(Setting.jwtAudience, verification.audience);
    } else if ('secretArn' in verification) {
      put(Setting.jwtSecretArn, verification.secretArn);
    } else {
      put(Setting.jwtSecret, verification.secret);
    }
    put(Setting.jwtAlgorithms, values.jwtAlgorithms);
    put(Setting.jwtClockToleranceSeconds, values.jwtClockToleranceSeconds);
    put(Setting.jwtMaxTokenBytes, values.jwtMaxTokenBytes);
    put(Setting.permissionsClaim, values.permissionsClaim);
    put(Setting.allowedOrigins, values.allowedOrigins);
  }

  return environment;
}

/**
 * Node flags of the senders (`access.manageConnections`). A broadcast allocates a short-lived request pipeline per
 * post; a larger young generation keeps that garbage out of repeated scavenges: 12-15% less client CPU per post
 * (about 230 -> 200 µs) in bench/broadcast-core.ts. It cannot be set from inside the code once Node has started.
 */
const SENDER_NODE_OPTIONS = '--enable-source-maps --max-semi-space-size=32';

/**
 * `NODE_OPTIONS` of a deployed function (AWS only: the local stack runs its handlers in its own process). Every
 * function maps stack traces to the TypeScript sources; the senders also get a larger young generation.
 * `scripts/size.ts` imports each bundle with these same flags, so its cold-import figures are the deployed ones.
 *
 * @example
 * deployedNodeOptions(functions.wsAuthorizer.access); // '--enable-source-maps'
 * deployedNodeOptions(functions.httpSend.access); // '--enable-source-maps --max-semi-space-size=32'
 */
export function deployedNodeOptions(access: FunctionAccess): string {
  return access.manageConnections ? SENDER_NODE_OPTIONS : '--enable-source-maps';
}
