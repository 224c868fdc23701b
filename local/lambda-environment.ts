import { Setting } from '../lambdas/core/config';
import { type FunctionName, functions } from '../lambdas/routes';
import { type EnvironmentValues, environmentFor } from '../lib/function-environment';
import { localCredentials, localRegion } from './local-dynamo';

/** Where the local handlers find dynalite and the emulator, and how they verify tokens. */
export interface LocalEnvironmentInput {
  tableName: string;
  dynamoEndpoint: string;
  /** The emulator's callback URL: the WebSocket port, without `/@connections`. */
  callbackUrl: string;
  jwtSecret: string;
  allowedOrigins: readonly string[];
  logLevel: string;
  /** Extra settings given to every function (same names as on AWS), applied last. */
  extra?: Record<string, string>;
}

/**
 * What every local "Lambda container" has besides its own settings: a region, dummy credentials (dynalite and
 * the emulator check no signature), the SDK's DynamoDB endpoint override, which the SDK reads itself, and
 * metrics switched off (there is no CloudWatch to read EMF lines locally).
 */
export function runtimeEnvironment(dynamoEndpoint: string): Record<string, string> {
  return {
    AWS_REGION: localRegion,
    AWS_DEFAULT_REGION: localRegion,
    AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
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
    callbackUrl: input.callbackUrl,
    tokenVerification: { mode: 'secret', secret: input.jwtSecret },
    allowedOrigins: input.allowedOrigins,
    logLevel: input.logLevel,
  };
  return { ...environmentFor(functions[name].access, values), ...input.extra };
}

/** Every setting name a handler may read, so the runner can unset those a function does not get. */
export const settingNames: readonly string[] = Object.values(Setting);
