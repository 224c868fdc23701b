import {
  createRemoteJWKSet,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose';
import type { AuthorizerContext } from './authorizer-context';
import {
  type Environment,
  optionalInteger,
  optionalList,
  optionalString,
  optionalUrl,
  requireString,
  Setting,
} from './config';
import { ConfigurationError } from './errors';
import { jwksAlgorithms, reservedClaims, secretAlgorithms } from './jwt-algorithms';
import { type SecretSource, secretArnPattern, secretsManagerSecretSource } from './secret-source';
import { MAX_USER_ID_LENGTH, userIdProblem } from './user-id';

/**
 * JWT verification shared by both Lambda authorizers (WebSocket `$connect` and the HTTP API).
 *
 * Two mutually exclusive modes:
 * - **secret**: an HS256/384/512 shared secret. On AWS only its ARN is configured (`JWT_SECRET_ARN`) and the
 *   secret string is read from Secrets Manager at the first verification and refreshed every
 *   {@link SECRET_REFRESH_MS} (a direct signed call rather than the SDK, see `secret-source.ts`: the authorizer's
 *   40 KB budget); `JWT_SECRET` holds the secret itself and is
 *   meant for the local stack and tests only (an environment variable is visible to anyone who can read the
 *   function's configuration).
 * - **jwks**: asymmetric tokens (RS*, PS*, ES*) checked against the key set at `JWKS_URL` (Cognito, Auth0, ...),
 *   with a required issuer and audience.
 *
 * Algorithms are always pinned from configuration, never taken from the token: that is what defeats `alg: none`
 * and the "RSA public key used as an HMAC secret" confusion.
 */

export { jwksAlgorithms, secretAlgorithms } from './jwt-algorithms';

export const DEFAULT_SECRET_ALGORITHMS = ['HS256'];
export const DEFAULT_JWKS_ALGORITHMS = ['RS256', 'ES256'];
export const DEFAULT_CLOCK_TOLERANCE_SECONDS = 5;
export const MAX_CLOCK_TOLERANCE_SECONDS = 300;
export const DEFAULT_MAX_TOKEN_BYTES = 8192;
/** API Gateway refuses an HTTP request line plus headers over 10,240 bytes: a larger token could never arrive. */
export const MAX_MAX_TOKEN_BYTES = 10240;
export const MIN_MAX_TOKEN_BYTES = 256;
export const DEFAULT_PERMISSIONS_CLAIM = 'permissions';
/** A shorter HMAC secret can be brute-forced offline from a single captured token. */
export const MIN_SECRET_BYTES = 32;
/** Longest accepted `sub`: the userId rule's bound (`user-id.ts`), shared with every userId a request names. */
export const MAX_SUBJECT_LENGTH = MAX_USER_ID_LENGTH;
/**
 * How long a verifier uses the secret it read before asking Secrets Manager again. Without a refresh, a warm
 * authorizer would keep verifying with the old secret after a rotation and refuse every new token until Lambda
 * recycles it (hours). Five minutes bounds that window at about one `GetSecretValue` per sandbox per 5 minutes
 * (the same default as the Parameters and Secrets extension's cache).
 */
export const SECRET_REFRESH_MS = 5 * 60_000;
/** After a failed refresh the verifier keeps the secret it has and asks again no sooner than this. */
export const SECRET_RETRY_MS = 30_000;

/** Where the verification key comes from. */
export type VerificationKeySource =
  | { kind: 'secrets-manager'; secretArn: string }
  | { kind: 'inline-secret'; secret: Uint8Array }
  | { kind: 'jwks'; jwksUrl: URL };

export interface JwtConfig {
  keySource: VerificationKeySource;
  /** Pinned algorithms; a token whose `alg` is not listed is refused before any key is looked up. */
  algorithms: string[];
  /** Enforced when set (always set in JWKS mode). */
  issuer?: string;
  /** Accepted audiences; enforced when non-empty (always in JWKS mode). */
  audience?: string[];
  clockToleranceSeconds: number;
  maxTokenBytes: number;
  /** Name of the array claim carrying permissions, besides the space-separated `scope`. */
  permissionsClaim: string;
}

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Reads and checks the JWT settings once, at cold start. Exactly one of `JWT_SECRET_ARN`, `JWT_SECRET` and
 * `JWKS_URL` must be set; any problem throws a {@link ConfigurationError} naming the setting.
 *
 * @example
 * readJwtConfig({ JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf' });
 * // { keySource: { kind: 'secrets-manager', ... }, algorithms: ['HS256'], clockToleranceSeconds: 5, ... }
 * readJwtConfig({ JWKS_URL: 'https://example.auth0.com/.well-known/jwks.json',
 *   JWT_ISSUER: 'https://example.auth0.com/', JWT_AUDIENCE: 'realtime-gateway' });
 * // { keySource: { kind: 'jwks', ... }, algorithms: ['RS256', 'ES256'], issuer: ..., audience: [...] }
 */
export function readJwtConfig(env: Environment): JwtConfig {
  const secretArn = optionalString(env, Setting.jwtSecretArn);
  // The inline secret is used byte for byte as configured (no trimming): it must match what the issuer signs with.
  const rawSecret = env[Setting.jwtSecret];
  const inlineSecret = rawSecret !== undefined && rawSecret.trim() !== '' ? rawSecret : undefined;
  const jwksUrl = optionalUrl(env, Setting.jwksUrl);

  const chosen: string[] = [];
  if (secretArn !== undefined) chosen.push(Setting.jwtSecretArn);
  if (inlineSecret !== undefined) chosen.push(Setting.jwtSecret);
  if (jwksUrl !== undefined) chosen.push(Setting.jwksUrl);
  if (chosen.length === 0) {
    throw new ConfigurationError(
      Setting.jwtSecretArn,
      `is not set, nor ${Setting.jwtSecret} nor ${Setting.jwksUrl}: set exactly one of them ` +
        `(${Setting.jwtSecretArn} on AWS, ${Setting.jwtSecret} for the local stack and tests, ${Setting.jwksUrl} for RS*/ES* tokens)`,
    );
  }
  if (chosen.length > 1) {
    throw new ConfigurationError(chosen[1]!, `cannot be set together with ${chosen[0]}: set exactly one token mode`);
  }
  if (secretArn !== undefined && !secretArnPattern.test(secretArn)) {
    throw new ConfigurationError(
      Setting.jwtSecretArn,
      `must be a Secrets Manager secret ARN (arn:{partition}:secretsmanager:{region}:{account}:secret:{name}), got "${secretArn}"`,
    );
  }

  const issuer = optionalString(env, Setting.jwtIssuer);
  const audience = optionalList(env, Setting.jwtAudience);
  const common = {
    clockToleranceSeconds: optionalInteger(env, Setting.jwtClockToleranceSeconds, DEFAULT_CLOCK_TOLERANCE_SECONDS, {
      min: 0,
      max: MAX_CLOCK_TOLERANCE_SECONDS,
    }),
    maxTokenBytes: optionalInteger(env, Setting.jwtMaxTokenBytes, DEFAULT_MAX_TOKEN_BYTES, {
      min: MIN_MAX_TOKEN_BYTES,
      max: MAX_MAX_TOKEN_BYTES,
    }),
    permissionsClaim: readPermissionsClaim(env),
  };

  if (jwksUrl) {
    if (jwksUrl.protocol !== 'https:' && !(jwksUrl.protocol === 'http:' && loopbackHosts.has(jwksUrl.hostname))) {
      // A key set fetched over plain HTTP can be replaced in transit, and with it every identity.
      throw new ConfigurationError(
        Setting.jwksUrl,
        `must be an https URL (plain http only on loopback), got "${jwksUrl}"`,
      );
    }
    return {
      keySource: { kind: 'jwks', jwksUrl },
      algorithms: readAlgorithms(env, jwksAlgorithms, DEFAULT_JWKS_ALGORITHMS),
      issuer: requireString(env, Setting.jwtIssuer),
      audience: audience.length > 0 ? audience : [requireString(env, Setting.jwtAudience)],
      ...common,
    };
  }

  const keySource: VerificationKeySource = secretArn
    ? { kind: 'secrets-manager', secretArn }
    : { kind: 'inline-secret', secret: checkedSecret(inlineSecret as string, Setting.jwtSecret) };
  const config: JwtConfig = {
    keySource,
    algorithms: readAlgorithms(env, secretAlgorithms, DEFAULT_SECRET_ALGORITHMS),
    ...common,
  };
  if (issuer !== undefined) config.issuer = issuer;
  if (audience.length > 0) config.audience = audience;
  return config;
}

function readAlgorithms(env: Environment, allowed: readonly string[], fallback: string[]): string[] {
  const listed = optionalList(env, Setting.jwtAlgorithms);
  if (listed.length === 0) return [...fallback];
  for (const algorithm of listed) {
    if (!allowed.includes(algorithm)) {
      throw new ConfigurationError(
        Setting.jwtAlgorithms,
        `lists "${algorithm}", which this token mode does not accept; allowed: ${allowed.join(', ')}`,
      );
    }
  }
  return [...new Set(listed)];
}

function readPermissionsClaim(env: Environment): string {
  const claim = optionalString(env, Setting.permissionsClaim) ?? DEFAULT_PERMISSIONS_CLAIM;
  if (reservedClaims.includes(claim)) {
    throw new ConfigurationError(Setting.permissionsClaim, `must not name the registered claim "${claim}"`);
  }
  return claim;
}

function checkedSecret(secret: string, setting: string): Uint8Array {
  const bytes = new TextEncoder().encode(secret);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new ConfigurationError(
      setting,
      `must hold a secret of at least ${MIN_SECRET_BYTES} bytes, got ${bytes.length}`,
    );
  }
  return bytes;
}

/** Why a token was refused. Stable codes: logs and the `AuthRefused` metric carry them. */
export type TokenRejectionReason =
  | 'too_large'
  | 'malformed'
  | 'algorithm_not_allowed'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'missing_claim'
  | 'invalid_claim'
  | 'invalid_subject'
  | 'wrong_issuer'
  | 'wrong_audience';

/**
 * The token is not acceptable: the caller must get a 401. The message says what is wrong and never quotes the
 * token.
 */
export class TokenRejectedError extends Error {
  readonly reason: TokenRejectionReason;
  constructor(reason: TokenRejectionReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TokenRejectedError';
    this.reason = reason;
  }
}

/**
 * The verification key could not be obtained (Secrets Manager or the JWKS endpoint failed). This is the server's
 * trouble, not the caller's: authorizers let it fail the invocation instead of answering 401.
 */
export class VerificationKeyUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerificationKeyUnavailableError';
  }
}

/** Who a verified token says the caller is. */
export interface VerifiedIdentity {
  /** The token's `sub`. */
  userId: string;
  /** `scope` (space-separated) and the permissions claim (array of strings), de-duplicated, in that order. */
  permissions: string[];
  /** The token's `exp`, epoch seconds. */
  expiresAt: number;
}

export interface TokenVerifier {
  /** Resolves with the caller's identity, or rejects with a {@link TokenRejectedError}. */
  verify(token: string): Promise<VerifiedIdentity>;
}

export interface TokenVerifierDependencies {
  /** Required in secrets-manager mode; asked at the first verification, then every {@link SECRET_REFRESH_MS}. */
  secretSource?: SecretSource;
  /** The clock of the secret's refresh (tests pass their own); defaults to `Date.now`. */
  now?: () => number;
}

type KeyResolver = { kind: 'symmetric'; key: () => Promise<Uint8Array> } | { kind: 'jwks'; keySet: JWTVerifyGetKey };

/**
 * Builds the verifier for a configuration. In JWKS mode the remote key set is created here, once, so its cache
 * lives as long as the process; it only ever fetches `JWKS_URL` (a token's `jku`, `x5u` or `kid` never makes it
 * fetch anything else).
 *
 * @example
 * const verifier = createTokenVerifier(readJwtConfig(process.env), { secretSource: secretsManagerSecretSource(process.env) });
 * const { userId, permissions } = await verifier.verify(token);
 */
export function createTokenVerifier(config: JwtConfig, deps: TokenVerifierDependencies = {}): TokenVerifier {
  const resolver = createKeyResolver(config, deps);
  const options: JWTVerifyOptions = {
    algorithms: config.algorithms,
    requiredClaims: ['exp', 'sub'],
    clockTolerance: config.clockToleranceSeconds,
  };
  if (config.issuer !== undefined) options.issuer = config.issuer;
  if (config.audience !== undefined && config.audience.length > 0) options.audience = config.audience;

  return {
    async verify(token: string): Promise<VerifiedIdentity> {
      checkShape(token, config.maxTokenBytes);
      let payload: JWTPayload;
      try {
        payload =
          resolver.kind === 'jwks'
            ? (await jwtVerify(token, resolver.keySet, options)).payload
            : (await jwtVerify(token, await resolver.key(), options)).payload;
      } catch (error) {
        throw toRejection(error);
      }
      checkIssuedAt(payload, config.clockToleranceSeconds);
      return identityOf(payload, config.permissionsClaim);
    },
  };
}

/** Size first, before a single byte is decoded: an oversized token must cost nothing to refuse. */
function checkShape(token: string, maxTokenBytes: number): void {
  if (typeof token !== 'string' || token.length === 0) throw new TokenRejectedError('malformed', 'The token is empty');
  const bytes = Buffer.byteLength(token, 'utf8');
  if (bytes > maxTokenBytes) {
    throw new TokenRejectedError('too_large', `The token is ${bytes} bytes; at most ${maxTokenBytes} are accepted`);
  }
  const segments = token.split('.').length;
  if (segments !== 3) {
    throw new TokenRejectedError('malformed', `A JWT has 3 dot-separated segments; this token has ${segments}`);
  }
}

function createKeyResolver(config: JwtConfig, deps: TokenVerifierDependencies): KeyResolver {
  const source = config.keySource;
  switch (source.kind) {
    case 'jwks': {
      const remote = createRemoteJWKSet(source.jwksUrl);
      const keySet: JWTVerifyGetKey = async (header, token) => {
        try {
          return await remote(header, token);
        } catch (error) {
          // No (or no single) key for the token's kid is the token's problem; anything else (a network error, a
          // timeout, a non-200 answer, an unreadable key set) is the key source's.
          if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
            throw error;
          throw new VerificationKeyUnavailableError(`Could not load the key set from ${Setting.jwksUrl}`, {
            cause: error,
          });
        }
      };
      return { kind: 'jwks', keySet };
    }
    case 'inline-secret': {
      const secret = source.secret;
      return { kind: 'symmetric', key: async () => secret };
    }
    case 'secrets-manager': {
      const secretSource = deps.secretSource;
      if (!secretSource) throw new ConfigurationError(Setting.jwtSecretArn, 'is set but no secret source was given');
      const now = deps.now ?? Date.now;
      let cached: { secret: Uint8Array; refreshAt: number } | undefined;
      let pending: Promise<Uint8Array> | undefined;
      const load = async (): Promise<Uint8Array> => {
        try {
          const secret = await fetchSecret(secretSource, source.secretArn);
          cached = { secret, refreshAt: now() + SECRET_REFRESH_MS };
          return secret;
        } catch (error) {
          // A failed first read fails the verification (the next one tries again); a failed refresh keeps the
          // secret in hand, so a Secrets Manager outage does not turn into refused connections.
          if (!cached) throw error;
          cached.refreshAt = now() + SECRET_RETRY_MS;
          return cached.secret;
        } finally {
          pending = undefined;
        }
      };
      return {
        kind: 'symmetric',
        key: () => {
          if (cached && now() < cached.refreshAt) return Promise.resolve(cached.secret);
          // One read at a time, however many verifications arrive meanwhile.
          pending ??= load();
          return pending;
        },
      };
    }
  }
}

async function fetchSecret(secretSource: SecretSource, secretArn: string): Promise<Uint8Array> {
  let secretString: string | undefined;
  try {
    secretString = await secretSource.secretString(secretArn);
  } catch (error) {
    throw new VerificationKeyUnavailableError(
      `Could not read the JWT secret named by ${Setting.jwtSecretArn} from Secrets Manager: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (secretString === undefined || secretString === '') {
    throw new ConfigurationError(Setting.jwtSecretArn, 'names a secret without a SecretString');
  }
  return checkedSecret(secretString, Setting.jwtSecretArn);
}

/** Maps jose's errors to stable reasons; anything else is the server's trouble and is passed on. */
function toRejection(error: unknown): Error {
  if (error instanceof TokenRejectedError || error instanceof ConfigurationError) return error;
  if (error instanceof VerificationKeyUnavailableError) return error;
  if (error instanceof errors.JWTExpired)
    return new TokenRejectedError('expired', 'The token has expired', { cause: error });
  if (error instanceof errors.JWTClaimValidationFailed) return claimRejection(error);
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new TokenRejectedError('algorithm_not_allowed', "The token's algorithm is not accepted", { cause: error });
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new TokenRejectedError('bad_signature', "The token's signature does not verify", { cause: error });
  }
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return new TokenRejectedError('unknown_key', 'No single key of the configured key set matches the token', {
      cause: error,
    });
  }
  if (
    error instanceof errors.JWSInvalid ||
    error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSENotSupported
  ) {
    return new TokenRejectedError('malformed', 'The token is not a well-formed signed JWT', { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}

function claimRejection(error: InstanceType<typeof errors.JWTClaimValidationFailed>): TokenRejectedError {
  const options = { cause: error };
  if (error.reason === 'missing') {
    return new TokenRejectedError('missing_claim', `The token has no "${error.claim}" claim`, options);
  }
  switch (error.claim) {
    case 'nbf':
      return new TokenRejectedError('not_yet_valid', 'The token is not valid yet ("nbf" is in the future)', options);
    case 'iss':
      return new TokenRejectedError('wrong_issuer', 'The token was issued by an issuer that is not accepted', options);
    case 'aud':
      return new TokenRejectedError('wrong_audience', 'The token is meant for another audience', options);
    default:
      return new TokenRejectedError('invalid_claim', `The token's "${error.claim}" claim is invalid`, options);
  }
}

/**
 * Refuses a token issued in the future beyond the clock tolerance (`JWT_CLOCK_TOLERANCE_SECONDS`, default 5 s, the
 * same leeway as `exp` and `nbf`). jose checks `iat` only when a maximum token age is set, and then refuses old
 * tokens too; this checks the one thing that is always wrong: an issuer cannot have signed a token later than now.
 * Such a token comes from a misconfigured issuer clock or a forged claim set, and a future `iat` would defeat
 * any later "issued after" rule (a revocation cut-off), so it is refused on every carrier and route alike. jose
 * has already checked that an `iat`, when present, is a number.
 */
function checkIssuedAt(payload: JWTPayload, clockToleranceSeconds: number, nowMs: number = Date.now()): void {
  if (payload.iat === undefined) return;
  const latest = Math.floor(nowMs / 1000) + clockToleranceSeconds;
  if (payload.iat > latest) {
    throw new TokenRejectedError(
      'issued_in_future',
      `The token's "iat" is in the future (more than the ${clockToleranceSeconds} s clock tolerance ahead)`,
    );
  }
}

function identityOf(payload: JWTPayload, permissionsClaim: string): VerifiedIdentity {
  const subject = payload.sub;
  // The same rule as every userId a request names (user-id.ts), so any `sub` is an id a send can address.
  const problem = userIdProblem(subject);
  if (problem !== undefined) {
    throw new TokenRejectedError('invalid_subject', `The token's "sub" ${problem}`);
  }
  // jose has already checked that `exp` is present and a number.
  const expiresAt = Math.floor(payload.exp as number);
  return { userId: subject as string, permissions: permissionsOf(payload, permissionsClaim), expiresAt };
}

function permissionsOf(payload: JWTPayload, permissionsClaim: string): string[] {
  const permissions: string[] = [];
  const scope = payload.scope;
  if (scope !== undefined) {
    if (typeof scope !== 'string') {
      throw new TokenRejectedError('invalid_claim', 'The token\'s "scope" claim must be a space-separated string');
    }
    permissions.push(...scope.split(/\s+/).filter((entry) => entry.length > 0));
  }
  const listed = payload[permissionsClaim];
  if (listed !== undefined) {
    // Permissions travel to later routes as one space-separated string, so an entry may not contain whitespace.
    if (!Array.isArray(listed) || !listed.every((entry) => typeof entry === 'string' && /^\S+$/.test(entry))) {
      throw new TokenRejectedError(
        'invalid_claim',
        `The token's "${permissionsClaim}" claim must be an array of strings without whitespace`,
      );
    }
    permissions.push(...listed);
  }
  return [...new Set(permissions)];
}

let sharedVerifier: TokenVerifier | undefined;

/**
 * The process's one verifier: configuration read from the environment on the first call (handlers make it at
 * module scope, so a bad setting fails the cold start and names the setting), and in secrets-manager mode a direct
 * `GetSecretValue` call as the secret source, asked on the first verification and then every few minutes.
 *
 * @example
 * const verifier = sharedTokenVerifier(); // at module scope of an authorizer
 * export const handler = middy(async (event) => verifier.verify(tokenOf(event)));
 */
export function sharedTokenVerifier(env: Environment = process.env): TokenVerifier {
  if (!sharedVerifier) {
    const config = readJwtConfig(env);
    const deps: TokenVerifierDependencies =
      config.keySource.kind === 'secrets-manager' ? { secretSource: secretsManagerSecretSource(env) } : {};
    sharedVerifier = createTokenVerifier(config, deps);
  }
  return sharedVerifier;
}

/** API Gateway fails an authorizer whose context exceeds 8 KB; leave room for its own framing. */
export const MAX_AUTHORIZER_CONTEXT_BYTES = 8000;

/**
 * The context both authorizers hand to every later route (`requestContext.authorizer`, `$disconnect` included).
 * A token whose permissions would not fit API Gateway's 8 KB context is refused rather than failing the
 * authorizer.
 *
 * @example
 * authorizerContextOf({ userId: 'user123', permissions: ['ws:broadcast'], expiresAt: 1767225600 });
 * // { userId: 'user123', permissions: 'ws:broadcast', tokenExpiresAt: 1767225600 }
 */
export function authorizerContextOf(identity: VerifiedIdentity): AuthorizerContext {
  const context: AuthorizerContext = {
    userId: identity.userId,
    permissions: identity.permissions.join(' '),
    tokenExpiresAt: identity.expiresAt,
  };
  if (Buffer.byteLength(JSON.stringify(context), 'utf8') > MAX_AUTHORIZER_CONTEXT_BYTES) {
    throw new TokenRejectedError(
      'invalid_claim',
      'The token carries more permissions than an authorizer context can hold',
    );
  }
  return context;
}
