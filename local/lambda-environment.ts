import { allSettingNames, Setting } from '../lambdas/core/config';
import { type FunctionName, functions, type QueueName } from '../lambdas/routes';
import { type EnvironmentValues, environmentFor } from '../lib/function-environment';
import type { LocalCredentials } from './dev-credentials';
import { localRegion } from './local-dynamo';

/** Where the local handlers find dynalite and the emulator, and how they verify tokens. */
export interface LocalEnvironmentInput {
  tableName: string;
  fanOutTableName: string;
  roomTableName: string;
  messageLogTableName: string;
  queueUrls: Record<QueueName, string>;
  dynamoEndpoint: string;
  /** The emulator's callback URL: the WebSocket port, without `/@connections`. */
  callbackUrl: string;
  jwtSecret: string;
  allowedOrigins: readonly string[];
  logLevel: string;
  /** The bus the worker puts completion events on (`COMPLETION_EVENT_BUS`); undefined: none. */
  completionEventBus?: string;
  /**
   * Extra settings, same names as on AWS, applied last. A Lambda setting (`MAX_USER_IDS`, `ALLOWED_ORIGINS`, ...)
   * goes only to the functions that get it on AWS; any other variable (e.g. `POWERTOOLS_*`) goes to every function.
   */
  extra?: Record<string, string>;
}

/**
 * What every local "Lambda container" has besides its own settings: a region, the stack's credentials (as the
 * Lambda runtime hands its role's credentials to a function: the emulator's `@connections` checks their SigV4
 * signature, dynalite ignores it), the SDK's DynamoDB endpoint override, which the SDK reads itself, and metrics
 * switched off (there is no CloudWatch to read EMF lines locally).
 *
 * @example
 * runtimeEnvironment('http://127.0.0.1:4567', stackCredentials).AWS_ACCESS_KEY_ID; // stackCredentials.accessKeyId
 */
export function runtimeEnvironment(dynamoEndpoint: string, credentials: LocalCredentials): Record<string, string> {
  return {
    AWS_REGION: localRegion,
    AWS_DEFAULT_REGION: localRegion,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
}

/**
 * One function's settings, derived from its access flags by the same `environmentFor` the CDK construct uses,
 * so a handler gets locally exactly the settings it gets on AWS (plus the local-only `JWT_SECRET` in place of
 * the Secrets Manager ARN).
 *
 * @example
 * localFunctionEnvironment('wsConnect', input); // { LOG_LEVEL, TABLE_NAME }
 */
export function localFunctionEnvironment(name: FunctionName, input: LocalEnvironmentInput): Record<string, string> {
  const values: EnvironmentValues = {
    tableName: input.tableName,
    fanOutTableName: input.fanOutTableName,
    roomTableName: input.roomTableName,
    messageLogTableName: input.messageLogTableName,
    queueUrls: input.queueUrls,
    callbackUrl: input.callbackUrl,
    tokenVerification: { mode: 'secret', secret: input.jwtSecret },
    allowedOrigins: input.allowedOrigins,
    logLevel: input.logLevel,
    completionEventBus: input.completionEventBus,
  };
  const receives = settingsReceivedBy(name);
  const extra = Object.entries(input.extra ?? {}).filter(
    ([setting]) => !settingNames.includes(setting) || receives.has(setting),
  );
  return { ...environmentFor(functions[name].access, values), ...Object.fromEntries(extra) };
}

/**
 * The setting names a function receives on AWS: what `environmentFor` emits for its access flags when every
 * optional value is given.
 */
function settingsReceivedBy(name: FunctionName): Set<string> {
  const everyValue: EnvironmentValues = {
    tableName: 'probe',
    fanOutTableName: 'probe',
    roomTableName: 'probe',
    roomSyncMaxMembers: 0,
    rooms: { maxRoomsPerConnection: 0, presenceRoomPrefix: 'probe', presenceMaxMembers: 0 },
    messageLogTableName: 'probe',
    messageLog: {
      retentionSeconds: 0,
      userCap: 0,
      ephemeralTypes: ['probe'],
      resumeSkewMs: 0,
      offlineDelivery: 'none',
    },
    queueUrls: { broadcastSlices: 'probe', socketIoOpenings: 'probe' },
    broadcastSegments: 0,
    postBudgetPerSecond: 0,
    completionEventBus: 'probe',
    callbackUrl: 'probe',
    tokenVerification: { mode: 'secret', secret: 'probe' },
    jwtAlgorithms: ['probe'],
    jwtClockToleranceSeconds: 0,
    jwtMaxTokenBytes: 0,
    permissionsClaim: 'probe',
    allowedOrigins: ['probe'],
    connectionTtlSeconds: 0,
    permissions: {
      send: 'probe',
      notify: 'probe',
      broadcast: 'probe',
      roomSend: 'probe',
      admin: 'probe',
      rooms: 'probe',
    },
    maxUserIds: 0,
    allowedMessageTypes: ['probe'],
    sendConcurrency: 0,
    broadcastTimeMarginMs: 0,
    logLevel: 'probe',
  };
  const received = new Set(Object.keys(environmentFor(functions[name].access, everyValue)));
  // The local-only secret stands in for the secret ARN or JWKS settings of a token verifier.
  if (received.has(Setting.jwtSecret)) {
    for (const setting of [Setting.jwtSecretArn, Setting.jwksUrl, Setting.jwtIssuer, Setting.jwtAudience]) {
      received.add(setting);
    }
  }
  return received;
}

/** Every setting name a handler may read, so the runner can unset those a function does not get. */
export const settingNames: readonly string[] = allSettingNames();
