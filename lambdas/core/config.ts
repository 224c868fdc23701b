import { ConfigurationError } from './errors';
import { RoomSetting } from './room-settings';

/**
 * Every environment setting the Lambda functions (and the local stack, which runs them unchanged) read.
 * Each is read and checked once, at cold start, by the reader of the feature that needs it; a bad or missing
 * one throws a {@link ConfigurationError} that names it. The README's configuration table mirrors this list.
 */
export const Setting = {
  /** Registry table name. Required by every function that touches the registry. */
  tableName: 'TABLE_NAME',
  /** Seconds a connection item lives without `$disconnect` (API Gateway's 2 h limit plus a margin). */
  connectionTtlSeconds: 'CONNECTION_TTL_SECONDS',
  /** The WebSocket stage's callback URL (`https://{api}.execute-api.{region}.amazonaws.com/{stage}`). */
  callbackUrl: 'CALLBACK_URL',
  /** ARN of the Secrets Manager secret holding the HS* signing secret (AWS). */
  jwtSecretArn: 'JWT_SECRET_ARN',
  /** The HS* signing secret itself: local stack and tests only, never set on AWS. */
  jwtSecret: 'JWT_SECRET',
  /** JWKS URL for RS256/ES256 tokens (Cognito, Auth0, ...). Exclusive with the secret settings. */
  jwksUrl: 'JWKS_URL',
  /** Comma-separated pinned algorithms. */
  jwtAlgorithms: 'JWT_ALGORITHMS',
  jwtIssuer: 'JWT_ISSUER',
  jwtAudience: 'JWT_AUDIENCE',
  jwtClockToleranceSeconds: 'JWT_CLOCK_TOLERANCE_SECONDS',
  jwtMaxTokenBytes: 'JWT_MAX_TOKEN_BYTES',
  /** Name of the array claim that carries permissions, besides the space-separated `scope`. */
  permissionsClaim: 'PERMISSIONS_CLAIM',
  /** Comma-separated allowed browser origins; `*` allows any. Requests without `Origin` (non-browsers) pass. */
  allowedOrigins: 'ALLOWED_ORIGINS',
  /** Permission needed to send to users (empty: any authenticated user). */
  sendPermission: 'SEND_PERMISSION',
  /** Permission needed to send a notification (empty: any authenticated user). */
  notifyPermission: 'NOTIFY_PERMISSION',
  broadcastPermission: 'BROADCAST_PERMISSION',
  adminPermission: 'ADMIN_PERMISSION',
  /** Largest `userIds` list one send may address. */
  maxUserIds: 'MAX_USER_IDS',
  /** Comma-separated closed list of message types; empty: any type matching the documented pattern. */
  allowedMessageTypes: 'ALLOWED_MESSAGE_TYPES',
  /** Posts to the management API in flight at once, per invocation. */
  sendConcurrency: 'SEND_CONCURRENCY',
  /** A broadcast stops starting new pages when less than this many ms of the invocation remain. */
  broadcastTimeMarginMs: 'BROADCAST_TIME_MARGIN_MS',
  logLevel: 'LOG_LEVEL',
  /** The fan-out state table's name (asynchronous broadcasts: status, slice checkpoints). */
  fanOutTableName: 'FAN_OUT_TABLE_NAME',
  /** URL of the broadcast slice queue (SQS); the producers and the worker send to it. */
  sliceQueueUrl: 'SLICE_QUEUE_URL',
  /** The queue of new Socket.IO connections whose Engine.IO open packet is to be posted. */
  openingQueueUrl: 'OPENING_QUEUE_URL',
  /** Scan segments (slices) one broadcast is split into. */
  broadcastSegments: 'BROADCAST_SEGMENTS',
  /** Posts per second all broadcast workers together may start (the global post budget). */
  postBudgetPerSecond: 'POST_BUDGET_PER_SECOND',
} as const;

/** Re-exported: the room senders read their settings from here, the membership code from `room-settings.ts`. */
export { RoomSetting };

/**
 * Every setting name a function may read: {@link Setting}, {@link RoomSetting}, {@link MessageLogSetting} and
 * {@link CompletionEventSetting}.
 *
 * @example
 * allSettingNames().includes('ROOM_TABLE_NAME'); // true
 */
export function allSettingNames(): string[] {
  return [
    ...Object.values(Setting),
    ...Object.values(RoomSetting),
    ...Object.values(MessageLogSetting),
    ...Object.values(CompletionEventSetting),
  ];
}

/**
 * The completion event's setting, read by `broadcast-completion.ts`: apart from {@link Setting} for the reason
 * {@link MessageLogSetting} is (the token verifiers bundle `Setting` whole, within a 40 KB budget).
 */
export const CompletionEventSetting = {
  /**
   * The event bus (name or ARN; `default` for the account's) that gets one `Broadcast Completed` event per
   * asynchronous broadcast or room fan-out. Unset: no events.
   */
  completionEventBus: 'COMPLETION_EVENT_BUS',
} as const;
/**
 * The message log's settings (issue 12), read by `message-log.ts`. A list of their own rather than entries of
 * {@link Setting}: every function that reads any setting bundles that whole object, and the token verifiers, which
 * never touch the log, have a 40 KB bundle budget (`test/infra/bundling.test.ts`).
 */
export const MessageLogSetting = {
  /** The message log's table (resume and offline delivery); absent on a library user: nothing is recorded. */
  messageLogTableName: 'MESSAGE_LOG_TABLE_NAME',
  /** Seconds a logged message can still be replayed (the log's TTL). */
  messageRetentionSeconds: 'MESSAGE_RETENTION_SECONDS',
  /** Most messages of one user stream one resume replays; older ones are skipped and reported as a gap. */
  messageLogUserCap: 'MESSAGE_LOG_USER_CAP',
  /** Comma-separated message types never logged (typing indicators, cursors): at most once, as before. */
  ephemeralMessageTypes: 'EPHEMERAL_MESSAGE_TYPES',
  /** Milliseconds a resume reaches back before the client's last seen id (concurrent senders' skew). */
  resumeSkewMs: 'RESUME_SKEW_MS',
  /** What a connection without a cursor gets on connect: `all`, `notifications` or `none`. */
  offlineDelivery: 'OFFLINE_DELIVERY',
} as const;

export type Environment = Record<string, string | undefined>;

/**
 * A required, non-empty string setting.
 *
 * @example
 * requireString(process.env, Setting.tableName); // throws 'Configuration setting TABLE_NAME is required but not set'
 */
export function requireString(env: Environment, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigurationError(name, 'is required but not set');
  return value;
}

/**
 * An optional string setting; empty counts as unset.
 *
 * @example
 * optionalString({ JWT_ISSUER: ' ' }, Setting.jwtIssuer); // undefined
 */
export function optionalString(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/**
 * An optional integer setting within [min, max].
 *
 * @example
 * optionalInteger({ MAX_USER_IDS: '50' }, Setting.maxUserIds, 100, { min: 1, max: 1000 }); // 50
 */
export function optionalInteger(
  env: Environment,
  name: string,
  fallback: number,
  bounds: { min?: number; max?: number } = {},
): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigurationError(name, `must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (bounds.min !== undefined && value < bounds.min) {
    throw new ConfigurationError(name, `must be at least ${bounds.min}, got ${value}`);
  }
  if (bounds.max !== undefined && value > bounds.max) {
    throw new ConfigurationError(name, `must be at most ${bounds.max}, got ${value}`);
  }
  return value;
}

/**
 * An optional comma-separated list; blanks dropped.
 *
 * @example
 * optionalList({ ALLOWED_MESSAGE_TYPES: 'chat, ,alert' }, Setting.allowedMessageTypes); // ['chat', 'alert']
 */
export function optionalList(env: Environment, name: string): string[] {
  return (env[name] ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/**
 * An optional URL setting, checked to parse.
 *
 * @example
 * optionalUrl({ JWKS_URL: 'not a url' }, Setting.jwksUrl); // throws, naming JWKS_URL
 */
export function optionalUrl(env: Environment, name: string): URL | undefined {
  const raw = optionalString(env, name);
  if (raw === undefined) return undefined;
  try {
    return new URL(raw);
  } catch {
    throw new ConfigurationError(name, `must be a URL, got "${raw}"`);
  }
}

/**
 * A required URL setting.
 *
 * @example
 * requireUrl(process.env, Setting.callbackUrl); // URL of the stage's callback endpoint
 */
export function requireUrl(env: Environment, name: string): URL {
  const url = optionalUrl(env, name);
  if (!url) throw new ConfigurationError(name, 'is required but not set');
  return url;
}

/** Two hours (API Gateway's maximum connection duration) plus a margin: the least TTL accepted. */
export const MIN_CONNECTION_TTL_SECONDS = 2 * 3600 + 10 * 60;
export const DEFAULT_CONNECTION_TTL_SECONDS = 3 * 3600;
