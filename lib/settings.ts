import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { logLevelNames } from '../lambdas/core/authorizer-telemetry';
import { MIN_CONNECTION_TTL_SECONDS } from '../lambdas/core/config';
import {
  jwksAlgorithms as publicKeyAlgorithms,
  reservedClaims,
  secretAlgorithms,
} from '../lambdas/core/jwt-algorithms';
import { MAX_ROOM_SYNC_MAX_MEMBERS } from '../lambdas/core/room-delivery';
import { MAX_PRESENCE_MAX_MEMBERS } from '../lambdas/core/room-membership';
import { MAX_MAX_ROOMS_PER_CONNECTION } from '../lambdas/core/room-registry';
import { MAX_BROADCAST_SEGMENTS } from '../lambdas/core/slice-queue';
import { MAX_MAX_USER_IDS, MAX_TYPE_LENGTH, MESSAGE_TYPE_PATTERN } from '../lambdas/core/validation';
import { asyncRetryAttemptsRange } from './direct-send-failures';
import type { PermissionNames, RoomSettings } from './function-environment';
import {
  API_INTEGRATION_TIMEOUT_SECONDS,
  directSendTimeoutRangeSeconds,
  lambdaMemoryRangeMb,
  type RealtimeGatewayProps,
  type TokenVerificationProps,
} from './realtime-gateway';

/** A CDK context value that cannot become a construct prop; the message names the key and what is wrong. */
export class InvalidContextError extends Error {
  readonly key: string;
  constructor(key: string, problem: string) {
    super(`CDK context "${key}" ${problem}`);
    this.name = 'InvalidContextError';
    this.key = key;
  }
}

/** Every context key this app reads (`cdk synth -c key=value`, or `context` in cdk.json). */
export const ContextKey = {
  stageName: 'stageName',
  jwtMode: 'jwtMode',
  jwksUrl: 'jwksUrl',
  jwtIssuer: 'jwtIssuer',
  jwtAudience: 'jwtAudience',
  jwtAlgorithms: 'jwtAlgorithms',
  jwtClockToleranceSeconds: 'jwtClockToleranceSeconds',
  jwtMaxTokenBytes: 'jwtMaxTokenBytes',
  allowedOrigins: 'allowedOrigins',
  connectionTtlSeconds: 'connectionTtlSeconds',
  logLevel: 'logLevel',
  logRetentionDays: 'logRetentionDays',
  authorizerCacheTtlSeconds: 'authorizerCacheTtlSeconds',
  webSocketThrottleRate: 'webSocketThrottleRate',
  webSocketThrottleBurst: 'webSocketThrottleBurst',
  httpThrottleRate: 'httpThrottleRate',
  httpThrottleBurst: 'httpThrottleBurst',
  sendConcurrency: 'sendConcurrency',
  maxUserIds: 'maxUserIds',
  allowedMessageTypes: 'allowedMessageTypes',
  sendPermission: 'sendPermission',
  notifyPermission: 'notifyPermission',
  broadcastPermission: 'broadcastPermission',
  roomSendPermission: 'roomSendPermission',
  adminPermission: 'adminPermission',
  roomsPermission: 'roomsPermission',
  maxRoomsPerConnection: 'maxRoomsPerConnection',
  presenceRoomPrefix: 'presenceRoomPrefix',
  presenceMaxMembers: 'presenceMaxMembers',
  permissionsClaim: 'permissionsClaim',
  broadcastTimeMarginMs: 'broadcastTimeMarginMs',
  senderMemoryMb: 'senderMemoryMb',
  broadcastSegments: 'broadcastSegments',
  postBudgetPerSecond: 'postBudgetPerSecond',
  roomSyncMaxMembers: 'roomSyncMaxMembers',
  directSendTimeoutSeconds: 'directSendTimeoutSeconds',
  directSendRetryAttempts: 'directSendRetryAttempts',
  tableRemovalPolicy: 'tableRemovalPolicy',
  apiGatewayLogRole: 'apiGatewayLogRole',
  dashboard: 'dashboard',
  alarms: 'alarms',
  alarmEmail: 'alarmEmail',
  messageRetentionSeconds: 'messageRetentionSeconds',
  messageLogUserCap: 'messageLogUserCap',
  ephemeralMessageTypes: 'ephemeralMessageTypes',
  resumeSkewMs: 'resumeSkewMs',
  offlineDelivery: 'offlineDelivery',
  completionEvents: 'completionEvents',
  completionEventBusName: 'completionEventBusName',
} as const;

/**
 * Context keys that are CDK's, not this app's, and pass unchecked: feature flags (`@aws-cdk/...:...`), the CLI's
 * own (`aws:cdk:...`), lookups cached in cdk.context.json (`availability-zones:account=...:region=...`), anything
 * else namespaced with `:` or `/`, `cdk-` keys, and `acknowledged-issue-numbers` (written by `cdk acknowledge`).
 */
export function isCdkContextKey(key: string): boolean {
  return (
    key.includes(':') ||
    key.includes('/') ||
    key.startsWith('@') ||
    key.startsWith('cdk-') ||
    key.startsWith('aws:') ||
    key === 'acknowledged-issue-numbers'
  );
}

/** Edit distance (insertions, deletions, substitutions), ignoring case: `stagename` is 0 from `stageName`. */
function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, index) => index);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[y.length];
}

/**
 * The known key closest to a mistyped one, if it is close enough to be what was meant (a case slip, or at most a
 * third of its letters wrong); undefined otherwise.
 *
 * @example
 * closestContextKey('stagename'); // 'stageName'
 * closestContextKey('logRetentionDay'); // 'logRetentionDays'
 * closestContextKey('color'); // undefined
 */
export function closestContextKey(
  key: string,
  known: readonly string[] = Object.values(ContextKey),
): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key, candidate);
    if (!best || distance < best.distance) best = { key: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(key.length / 3)) ? best.key : undefined;
}

/**
 * Refuses a context key this app does not read, naming the closest known key: a mistyped `-c stagename=dev`
 * would otherwise be ignored and deploy the default stage. CDK's own keys ({@link isCdkContextKey}) pass.
 *
 * @example
 * checkContextKeys(Object.keys(app.node.getAllContext()));
 * // -c stagename=dev throws: CDK context "stagename" is not a key this app reads: did you mean "stageName"? ...
 */
export function checkContextKeys(keys: Iterable<string>): void {
  const known: readonly string[] = Object.values(ContextKey);
  for (const key of keys) {
    if (known.includes(key) || isCdkContextKey(key)) continue;
    const closest = closestContextKey(key, known);
    throw new InvalidContextError(
      key,
      `is not a key this app reads: ${closest ? `did you mean "${closest}"? ` : ''}Every key is in docs/configuration.md`,
    );
  }
}

const retentionDays = new Set<number>(
  Object.values(RetentionDays).filter((value): value is number => typeof value === 'number'),
);

/** Reads one context key; `undefined` when unset. */
export type ContextReader = (key: string) => unknown;

/**
 * Turns CDK context into {@link RealtimeGatewayProps}, checking every value and naming the bad key. Unset keys are
 * left undefined, so the construct's documented defaults apply.
 *
 * @example
 * const props = gatewayPropsFromContext((key) => app.node.tryGetContext(key));
 * // `-c jwtMode=jwks` without `-c jwksUrl=...` throws: CDK context "jwksUrl" is required when jwtMode is jwks
 */
export function gatewayPropsFromContext(read: ContextReader): RealtimeGatewayProps {
  const context = new ContextValues(read);

  const connectionTtlSeconds = context.integer(ContextKey.connectionTtlSeconds, {
    min: MIN_CONNECTION_TTL_SECONDS,
    max: 7 * 24 * 3600,
  });
  const authorizerCacheTtlSeconds = context.integer(ContextKey.authorizerCacheTtlSeconds, { min: 0, max: 3600 });
  const jwtClockToleranceSeconds = context.integer(ContextKey.jwtClockToleranceSeconds, { min: 0, max: 300 });
  // Below the API-fronted senders' timeout, or their broadcasts would start no page at all.
  const broadcastTimeMarginMs = context.integer(ContextKey.broadcastTimeMarginMs, {
    min: 0,
    max: API_INTEGRATION_TIMEOUT_SECONDS * 1000 - 1,
  });
  const directSendTimeoutSeconds = context.integer(ContextKey.directSendTimeoutSeconds, directSendTimeoutRangeSeconds);
  const logRetention = context.integer(ContextKey.logRetentionDays, { min: 1 });
  if (logRetention !== undefined && !retentionDays.has(logRetention)) {
    throw new InvalidContextError(
      ContextKey.logRetentionDays,
      `must be one of CloudWatch's retention periods (${[...retentionDays].sort((a, b) => a - b).join(', ')}), got ${logRetention}`,
    );
  }
  const logLevel = context.oneOf(ContextKey.logLevel, logLevelNames, { caseInsensitive: true });
  const removal = context.oneOf(ContextKey.tableRemovalPolicy, ['destroy', 'retain'] as const);

  const permissions: PermissionNames = {
    send: context.permission(ContextKey.sendPermission),
    notify: context.permission(ContextKey.notifyPermission),
    broadcast: context.permission(ContextKey.broadcastPermission),
    roomSend: context.permission(ContextKey.roomSendPermission),
    admin: context.permission(ContextKey.adminPermission),
    rooms: context.permission(ContextKey.roomsPermission),
  };
  const anyPermission = Object.values(permissions).some((value) => value !== undefined);
  const permissionsClaim = context.permission(ContextKey.permissionsClaim);
  if (permissionsClaim === '') throw new InvalidContextError(ContextKey.permissionsClaim, 'must not be empty');
  if (permissionsClaim !== undefined && reservedClaims.includes(permissionsClaim)) {
    throw new InvalidContextError(
      ContextKey.permissionsClaim,
      `must not name the registered claim "${permissionsClaim}"`,
    );
  }
  const allowedMessageTypes = context.list(ContextKey.allowedMessageTypes);
  for (const type of allowedMessageTypes ?? []) {
    if (type.length > MAX_TYPE_LENGTH || !MESSAGE_TYPE_PATTERN.test(type)) {
      throw new InvalidContextError(
        ContextKey.allowedMessageTypes,
        `lists "${type}", which is not a message type (1 to ${MAX_TYPE_LENGTH} characters matching ${MESSAGE_TYPE_PATTERN})`,
      );
    }
  }

  const roomSettings: RoomSettings = {
    maxRoomsPerConnection: context.integer(ContextKey.maxRoomsPerConnection, {
      min: 1,
      max: MAX_MAX_ROOMS_PER_CONNECTION,
    }),
    // A room-name prefix (room names' characters, no `*`), `none`, or empty: no presence rooms.
    presenceRoomPrefix: context.matching(
      ContextKey.presenceRoomPrefix,
      /^[A-Za-z0-9_\-.:@/=+]{0,64}$/,
      'at most 64 characters of a room name (letters, digits and _ - . : @ / = +), or none',
    ),
    presenceMaxMembers: context.integer(ContextKey.presenceMaxMembers, { min: 1, max: MAX_PRESENCE_MAX_MEMBERS }),
  };
  const anyRoomSetting = Object.values(roomSettings).some((value) => value !== undefined);
  const ephemeralMessageTypes = context.list(ContextKey.ephemeralMessageTypes);
  for (const type of ephemeralMessageTypes ?? []) {
    if (type.length > MAX_TYPE_LENGTH || !MESSAGE_TYPE_PATTERN.test(type)) {
      throw new InvalidContextError(
        ContextKey.ephemeralMessageTypes,
        `lists "${type}", which is not a message type (1 to ${MAX_TYPE_LENGTH} characters matching ${MESSAGE_TYPE_PATTERN})`,
      );
    }
  }
  // The message log's settings (issue 12), bounded as the handlers' reader bounds them (`message-log.ts`).
  const messageLog = {
    retentionSeconds: context.integer(ContextKey.messageRetentionSeconds, { min: 1, max: 366 * 24 * 3600 }),
    userCap: context.integer(ContextKey.messageLogUserCap, { min: 1, max: 100_000 }),
    ephemeralTypes: ephemeralMessageTypes,
    resumeSkewMs: context.integer(ContextKey.resumeSkewMs, { min: 0, max: 15 * 60_000 }),
    offlineDelivery: context.oneOf(ContextKey.offlineDelivery, ['all', 'notifications', 'none'] as const),
  };
  const anyMessageLogSetting = Object.values(messageLog).some((value) => value !== undefined);

  const alarmsEnabled = context.boolean(ContextKey.alarms);
  const alarmEmail = context.matching(ContextKey.alarmEmail, /^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'an email address');
  if (alarmEmail !== undefined && alarmsEnabled === false) {
    throw new InvalidContextError(ContextKey.alarmEmail, 'has nothing to subscribe to when alarms is false');
  }

  const completionEventsEnabled = context.boolean(ContextKey.completionEvents);
  const completionEventBusName = context.matching(
    ContextKey.completionEventBusName,
    /^(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/.\-_A-Za-z0-9]{1,256}$/,
    'an event bus name or ARN (letters, digits, . - _ /)',
  );
  if (completionEventBusName !== undefined && completionEventsEnabled === false) {
    throw new InvalidContextError(ContextKey.completionEventBusName, 'has no effect when completionEvents is false');
  }

  return {
    stageName: context.matching(ContextKey.stageName, /^[A-Za-z0-9_-]{1,128}$/, '1 to 128 letters, digits, _ or -'),
    tokenVerification: tokenVerificationFrom(context),
    allowedOrigins: context.origins(ContextKey.allowedOrigins),
    connectionTtl: connectionTtlSeconds === undefined ? undefined : Duration.seconds(connectionTtlSeconds),
    logLevel,
    logRetention: logRetention as RetentionDays | undefined,
    authorizerCacheTtl:
      authorizerCacheTtlSeconds === undefined ? undefined : Duration.seconds(authorizerCacheTtlSeconds),
    webSocketThrottle: context.throttle(ContextKey.webSocketThrottleRate, ContextKey.webSocketThrottleBurst),
    httpThrottle: context.throttle(ContextKey.httpThrottleRate, ContextKey.httpThrottleBurst),
    sendConcurrency: context.integer(ContextKey.sendConcurrency, { min: 1, max: 1000 }),
    maxUserIds: context.integer(ContextKey.maxUserIds, { min: 1, max: MAX_MAX_USER_IDS }),
    allowedMessageTypes,
    permissions: anyPermission ? permissions : undefined,
    rooms: anyRoomSetting ? roomSettings : undefined,
    permissionsClaim,
    broadcastTimeMargin: broadcastTimeMarginMs === undefined ? undefined : Duration.millis(broadcastTimeMarginMs),
    senderMemorySize: context.integer(ContextKey.senderMemoryMb, lambdaMemoryRangeMb),
    broadcastSegments: context.integer(ContextKey.broadcastSegments, { min: 1, max: MAX_BROADCAST_SEGMENTS }),
    postBudgetPerSecond: context.integer(ContextKey.postBudgetPerSecond, { min: 1, max: 100_000 }),
    roomSyncMaxMembers: context.integer(ContextKey.roomSyncMaxMembers, { min: 0, max: MAX_ROOM_SYNC_MAX_MEMBERS }),
    directSendTimeout: directSendTimeoutSeconds === undefined ? undefined : Duration.seconds(directSendTimeoutSeconds),
    directSendRetryAttempts: context.integer(ContextKey.directSendRetryAttempts, asyncRetryAttemptsRange),
    jwtClockTolerance: jwtClockToleranceSeconds === undefined ? undefined : Duration.seconds(jwtClockToleranceSeconds),
    jwtMaxTokenBytes: context.integer(ContextKey.jwtMaxTokenBytes, { min: 256, max: 10_240 }),
    apiGatewayLogRole: context.boolean(ContextKey.apiGatewayLogRole),
    tableRemovalPolicy:
      removal === undefined ? undefined : removal === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    dashboard: context.boolean(ContextKey.dashboard),
    messageLog: anyMessageLogSetting ? messageLog : undefined,
    alarms:
      alarmsEnabled === undefined && alarmEmail === undefined
        ? undefined
        : { enabled: alarmsEnabled, email: alarmEmail },
    completionEvents:
      completionEventsEnabled === undefined && completionEventBusName === undefined
        ? undefined
        : { enabled: completionEventsEnabled, eventBusName: completionEventBusName },
  };
}

function tokenVerificationFrom(context: ContextValues): TokenVerificationProps {
  const mode = context.oneOf(ContextKey.jwtMode, ['secret', 'jwks'] as const) ?? 'secret';
  if (mode === 'secret') {
    for (const key of [ContextKey.jwksUrl, ContextKey.jwtIssuer, ContextKey.jwtAudience]) {
      if (context.string(key) !== undefined) {
        throw new InvalidContextError(key, 'applies only when jwtMode is jwks (jwtMode is secret)');
      }
    }
    return { mode, algorithms: context.algorithms(secretAlgorithms) };
  }
  const jwksUrl = context.required(ContextKey.jwksUrl, 'when jwtMode is jwks');
  let parsed: URL;
  try {
    parsed = new URL(jwksUrl);
  } catch {
    throw new InvalidContextError(ContextKey.jwksUrl, `must be a URL, got "${jwksUrl}"`);
  }
  if (parsed.protocol !== 'https:') {
    throw new InvalidContextError(ContextKey.jwksUrl, `must be an https:// URL (keys fetched in clear can be forged)`);
  }
  return {
    mode,
    jwksUrl,
    issuer: context.required(ContextKey.jwtIssuer, 'when jwtMode is jwks'),
    audience: context.required(ContextKey.jwtAudience, 'when jwtMode is jwks'),
    algorithms: context.algorithms(publicKeyAlgorithms),
  };
}

/** Typed, checked reads of context values, which arrive as strings from `-c` and as JSON values from cdk.json. */
class ContextValues {
  constructor(private readonly read: ContextReader) {}

  string(key: string): string | undefined {
    const value = this.read(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new InvalidContextError(key, `must be a string, got ${JSON.stringify(value)}`);
    }
    const text = String(value).trim();
    return text === '' ? undefined : text;
  }

  required(key: string, when: string): string {
    const value = this.string(key);
    if (value === undefined) throw new InvalidContextError(key, `is required ${when}`);
    return value;
  }

  /** A permission name: may be empty (opens the operation to everyone) but holds no spaces. */
  permission(key: string): string | undefined {
    const value = this.read(key);
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw new InvalidContextError(key, `must be a string, got ${JSON.stringify(value)}`);
    const name = value.trim();
    if (/\s/.test(name)) {
      throw new InvalidContextError(key, `must not contain spaces (permissions travel space-separated), got "${name}"`);
    }
    return name;
  }

  matching(key: string, pattern: RegExp, description: string): string | undefined {
    const value = this.string(key);
    if (value !== undefined && !pattern.test(value)) {
      throw new InvalidContextError(key, `must be ${description}, got "${value}"`);
    }
    return value;
  }

  oneOf<T extends string>(
    key: string,
    choices: readonly T[],
    options: { caseInsensitive?: boolean } = {},
  ): T | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    const wanted = options.caseInsensitive ? value.toUpperCase() : value;
    const match = choices.find((choice) => choice === wanted);
    if (!match) throw new InvalidContextError(key, `must be one of ${choices.join(', ')}, got "${value}"`);
    return match;
  }

  boolean(key: string): boolean | undefined {
    const value = this.read(key);
    if (value === undefined || value === null || value === '') return undefined;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    throw new InvalidContextError(key, `must be true or false, got ${JSON.stringify(value)}`);
  }

  number(key: string): number | undefined {
    const value = this.read(key);
    if (value === undefined || value === null || value === '') return undefined;
    const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value.trim()) : Number.NaN;
    if (!Number.isFinite(number)) throw new InvalidContextError(key, `must be a number, got ${JSON.stringify(value)}`);
    return number;
  }

  integer(key: string, bounds: { min?: number; max?: number }): number | undefined {
    const value = this.number(key);
    if (value === undefined) return undefined;
    if (!Number.isInteger(value)) throw new InvalidContextError(key, `must be an integer, got ${value}`);
    if (bounds.min !== undefined && value < bounds.min) {
      throw new InvalidContextError(key, `must be at least ${bounds.min}, got ${value}`);
    }
    if (bounds.max !== undefined && value > bounds.max) {
      throw new InvalidContextError(key, `must be at most ${bounds.max}, got ${value}`);
    }
    return value;
  }

  /** A list: a JSON array of strings (cdk.json) or a comma-separated string (`-c`). */
  list(key: string): string[] | undefined {
    const value = this.read(key);
    if (value === undefined || value === null) return undefined;
    let items: unknown[];
    if (Array.isArray(value)) items = value;
    else if (typeof value === 'string') items = value.split(',');
    else
      throw new InvalidContextError(key, `must be a comma-separated string or an array, got ${JSON.stringify(value)}`);
    const strings = items.map((item) => {
      if (typeof item !== 'string')
        throw new InvalidContextError(key, `must hold strings only, got ${JSON.stringify(item)}`);
      return item.trim();
    });
    return strings.filter((item) => item.length > 0);
  }

  algorithms<T extends string>(allowed: readonly T[]): T[] | undefined {
    const names = this.list(ContextKey.jwtAlgorithms);
    if (names === undefined) return undefined;
    if (names.length === 0) throw new InvalidContextError(ContextKey.jwtAlgorithms, 'must name at least one algorithm');
    return names.map((name) => {
      const match = allowed.find((candidate) => candidate === name);
      if (!match) {
        throw new InvalidContextError(
          ContextKey.jwtAlgorithms,
          `must be among ${allowed.join(', ')} in this jwtMode, got "${name}"`,
        );
      }
      return match;
    });
  }

  /** Browser origins: `*` alone, or `scheme://host[:port]` with nothing after. */
  origins(key: string): string[] | undefined {
    const origins = this.list(key);
    if (origins === undefined) return undefined;
    if (origins.includes('*') && origins.length > 1) {
      throw new InvalidContextError(key, 'must be "*" alone or a list of origins, not both');
    }
    for (const origin of origins) {
      if (origin === '*') continue;
      let url: URL | undefined;
      try {
        url = new URL(origin);
      } catch {
        url = undefined;
      }
      if (!url || !/^https?:$/.test(url.protocol) || url.origin !== origin) {
        throw new InvalidContextError(
          key,
          `must hold origins like https://app.example.com (scheme, host and optional port, no path or trailing slash), got "${origin}"`,
        );
      }
    }
    return origins;
  }

  /** Rate and burst of one stage; either may be set alone, the other keeps its default. */
  throttle(rateKey: string, burstKey: string): ThrottleSettings | undefined {
    const rateLimit = this.number(rateKey);
    if (rateLimit !== undefined && rateLimit <= 0) {
      throw new InvalidContextError(rateKey, `must be a positive number of requests per second, got ${rateLimit}`);
    }
    const burstLimit = this.integer(burstKey, { min: 0 });
    if (rateLimit === undefined && burstLimit === undefined) return undefined;
    return { rateLimit, burstLimit };
  }
}
