import type { Environment } from './config';
import { type SigV4Credentials, signRequest } from './sigv4';

/**
 * Reads a Secrets Manager secret without the AWS SDK: one `GetSecretValue` call over Node's `fetch`, signed with
 * the execution role's credentials by `sigv4.ts`. The token verifiers use it in secret mode.
 *
 * Why not the SDK client: `@aws-sdk/client-secrets-manager` brings its middleware stack, protocol and signer into a
 * bundle whose budget is 40 KB (the authorizer runs on every connect, before the handshake completes). Bundled
 * with the deployed esbuild options, a handler holding only that client and one GetSecretValue is 182.6 KB and
 * imports in about 23 ms; this module and `sigv4.ts` are 3.7 KB and about 6 ms (node:crypto's load included).
 *
 * Why not the Parameters and Secrets Lambda Extension (the layer used before): CDK maps its layer ARNs in 21
 * regions only, so the stack could not be deployed in the other commercial regions (eu-central-2, ap-southeast-4,
 * mx-central-1, ...), and the layer is one more process started in every cold start. One path everywhere rather
 * than the layer where CDK maps it and this call elsewhere: the call is needed anyway, and two paths would mean
 * the regions on the second one run code the others never exercise.
 * A direct call works wherever Secrets Manager runs, which is every region API Gateway WebSockets run in.
 */

/**
 * Standard name of the SDKs' service-specific endpoint override; set, it replaces the regional endpoint (tests
 * point it at a loopback server). Unset on AWS.
 */
export const endpointSetting = 'AWS_ENDPOINT_URL_SECRETS_MANAGER';
/** A cold start should not hang on a stuck connection: the attempt fails and the next one (or invocation) retries. */
export const REQUEST_TIMEOUT_MS = 5000;
/** One retry for what is worth retrying at once: a network error, a timeout, a 5xx, throttling. */
const MAX_ATTEMPTS = 2;

/**
 * DNS suffix of each partition's regional endpoints (`secretsmanager.{region}.{suffix}`), as in CDK's region facts
 * (`RegionInfo.get(region).domainSuffix`, checked by test/unit/secret-source.test.ts).
 */
export const partitionDnsSuffixes: Readonly<Record<string, string>> = {
  aws: 'amazonaws.com',
  'aws-cn': 'amazonaws.com.cn',
  'aws-us-gov': 'amazonaws.com',
};

/** A Secrets Manager secret ARN: `arn:{partition}:secretsmanager:{region}:{account}:secret:{name}`. */
export const secretArnPattern = /^arn:([a-z-]+):secretsmanager:([a-z0-9-]+):\d{12}:secret:.+$/;

/** Where the verification secret's string comes from, given its ARN. */
export interface SecretSource {
  /** Resolves with the secret's `SecretString`, undefined when it has none (a binary secret). */
  secretString(secretArn: string): Promise<string | undefined>;
}

/** Secrets Manager could not give the secret: unreachable, refused, or answered something else. */
export class SecretUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretUnavailableError';
  }
}

export interface SecretsManagerSourceOptions {
  /** Defaults to the global `fetch` (Node's built-in client: nothing to bundle). */
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/**
 * The Secrets Manager endpoint for a secret: its own region's, in its partition (from the ARN), unless
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER` overrides it.
 *
 * @example
 * secretsManagerEndpoint('arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:jwt-AbCdEf', {});
 * // { url: URL('https://secretsmanager.cn-north-1.amazonaws.com.cn/'), region: 'cn-north-1' }
 */
export function secretsManagerEndpoint(secretArn: string, env: Environment): { url: URL; region: string } {
  const match = secretArnPattern.exec(secretArn);
  if (!match) throw new SecretUnavailableError(`"${secretArn}" is not a Secrets Manager secret ARN`);
  const [, partition, region] = match;
  const override = env[endpointSetting];
  if (override) return { url: new URL(override), region };
  const suffix = partitionDnsSuffixes[partition];
  if (!suffix) {
    throw new SecretUnavailableError(
      `No Secrets Manager endpoint known for partition "${partition}": set ${endpointSetting}`,
    );
  }
  return { url: new URL(`https://secretsmanager.${region}.${suffix}/`), region };
}

/** The execution role's credentials, which Lambda puts in the environment of every function. */
function credentialsFrom(env: Environment): SigV4Credentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new SecretUnavailableError(
      'No AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (Lambda sets them from the execution role)',
    );
  }
  return { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined };
}

/**
 * A {@link SecretSource} that calls Secrets Manager's `GetSecretValue` directly. Credentials are read from the
 * environment per call (Lambda sets them before the first invocation). Callers cache the result: the token
 * verifiers keep the secret and refresh it every few minutes (lambdas/core/jwt.ts).
 *
 * @example
 * const source = secretsManagerSecretSource(process.env);
 * const secret = await source.secretString(process.env.JWT_SECRET_ARN!);
 */
export function secretsManagerSecretSource(env: Environment, options: SecretsManagerSourceOptions = {}): SecretSource {
  const fetchFrom = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;

  async function attempt(secretArn: string): Promise<{ retry: boolean; error?: Error; secret?: string }> {
    const { url, region } = secretsManagerEndpoint(secretArn, env);
    const body = JSON.stringify({ SecretId: secretArn });
    const headers = signRequest(
      {
        method: 'POST',
        url,
        body,
        headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
      },
      { credentials: credentialsFrom(env), region, service: 'secretsmanager' },
    );
    let response: Response;
    let text: string;
    try {
      response = await fetchFrom(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
      text = await response.text();
    } catch (error) {
      return {
        retry: true,
        error: new SecretUnavailableError(`Secrets Manager at ${url.host} did not answer`, { cause: error }),
      };
    }
    let answer: { SecretString?: unknown; __type?: unknown; message?: unknown; Message?: unknown } | null = null;
    try {
      answer = JSON.parse(text);
    } catch {
      // Reported below with the status.
    }
    if (!response.ok) {
      // Errors come as `{ "__type": "...#ResourceNotFoundException", "message": "..." }` (awsJson1_1).
      const type = String(answer?.__type ?? response.headers.get('x-amzn-errortype') ?? '').replace(/^.*#|:.*$/g, '');
      const message = String(answer?.message ?? answer?.Message ?? text.slice(0, 300));
      return {
        retry: response.status >= 500 || response.status === 429 || /Throttling/.test(type),
        error: new SecretUnavailableError(`Secrets Manager answered ${response.status} ${type}: ${message}`.trim()),
      };
    }
    if (answer === null) {
      return {
        retry: false,
        error: new SecretUnavailableError('Secrets Manager answered with something other than JSON'),
      };
    }
    return { retry: false, secret: typeof answer.SecretString === 'string' ? answer.SecretString : undefined };
  }

  return {
    async secretString(secretArn: string): Promise<string | undefined> {
      let outcome = await attempt(secretArn);
      for (let attempts = 1; outcome.error && outcome.retry && attempts < MAX_ATTEMPTS; attempts++) {
        outcome = await attempt(secretArn);
      }
      if (outcome.error) throw outcome.error;
      return outcome.secret;
    },
  };
}
