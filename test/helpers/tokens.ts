import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

/**
 * Test tokens for every suite: HS* tokens signed with a secret generated per test run, RS256/ES256 tokens signed
 * with key pairs generated per run, a JWKS served by a real local HTTP server, and raw token crafting for the
 * malicious cases (`alg: none`, wrong segment counts, claims of the wrong type).
 */

/** A fresh random HS* secret (64 base64url characters, 48 random bytes). */
export function createTestSecret(): string {
  return randomBytes(48).toString('base64url');
}

/** The secret of this test process: set `JWT_SECRET` to it and sign with {@link signTestToken}. */
export const testSecret = createTestSecret();

export const nowInSeconds = (): number => Math.floor(Date.now() / 1000);

export interface TestTokenOptions {
  /** HS* secret; default {@link testSecret}. */
  secret?: string;
  alg?: 'HS256' | 'HS384' | 'HS512';
  /** Seconds from now until `exp`; default 3600. Negative gives an expired token. */
  expiresInSeconds?: number;
  /** The array permissions claim (named `permissions` unless `permissionsClaim` says otherwise). */
  permissions?: string[];
  permissionsClaim?: string;
  /** Space-separated `scope` claim. */
  scope?: string;
  issuer?: string;
  audience?: string | string[];
  /** More claims, applied last (they may override the ones above). */
  claims?: Record<string, unknown>;
}

function claimsFor(userId: string, options: TestTokenOptions): JWTPayload {
  const now = nowInSeconds();
  const claims: JWTPayload = { sub: userId, iat: now, exp: now + (options.expiresInSeconds ?? 3600) };
  if (options.permissions) claims[options.permissionsClaim ?? 'permissions'] = options.permissions;
  if (options.scope !== undefined) claims.scope = options.scope;
  if (options.issuer !== undefined) claims.iss = options.issuer;
  if (options.audience !== undefined) claims.aud = options.audience;
  return { ...claims, ...options.claims };
}

/**
 * Signs an HS* token for `userId`, valid for an hour by default.
 *
 * @example
 * const token = await signTestToken('user123', { permissions: ['ws:broadcast'] });
 * // process.env.JWT_SECRET = testSecret on the verifying side
 */
export async function signTestToken(userId: string, options: TestTokenOptions = {}): Promise<string> {
  const secret = new TextEncoder().encode(options.secret ?? testSecret);
  return new SignJWT(claimsFor(userId, options))
    .setProtectedHeader({ alg: options.alg ?? 'HS256', typ: 'JWT' })
    .sign(secret);
}

const base64urlJson = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Builds a compact token from any header and payload, with any signature: for the cases jose refuses to sign
 * (`alg: none`, `sub` of the wrong type, no `exp`).
 *
 * @example
 * craftToken({ alg: 'none', typ: 'JWT' }, { sub: 'user123', exp: nowInSeconds() + 60 }); // 'eyJ...eyJ....'
 */
export function craftToken(header: Record<string, unknown>, payload: unknown, signature = ''): string {
  return `${base64urlJson(header)}.${base64urlJson(payload)}.${signature}`;
}

/**
 * Signs any header and payload with HMAC, bypassing jose's checks: a `sub` that is a number, a missing `exp`, or
 * a public key PEM used as the HMAC secret (the algorithm-confusion attack).
 *
 * @example
 * signHmacRaw({ alg: 'HS256' }, { sub: 42, exp: nowInSeconds() + 60 }, testSecret);
 */
export function signHmacRaw(
  header: Record<string, unknown>,
  payload: unknown,
  secret: string | Uint8Array,
  hash: 'sha256' | 'sha384' | 'sha512' = 'sha256',
): string {
  const signingInput = `${base64urlJson(header)}.${base64urlJson(payload)}`;
  const signature = createHmac(hash, secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

/** A standard claim set for {@link signHmacRaw} and {@link craftToken}: `sub`, `iat`, `exp` in an hour. */
export function validClaims(userId = 'user123'): Record<string, unknown> {
  const now = nowInSeconds();
  return { sub: userId, iat: now, exp: now + 3600 };
}

export interface TestSigningKey {
  alg: 'RS256' | 'ES256';
  kid: string;
  privateKey: CryptoKey;
  /** Public JWK with `kid`, `alg` and `use`, as a JWKS endpoint publishes it. */
  publicJwk: JWK;
  /** The public key as PEM (SPKI), for the "public key used as HMAC secret" case. */
  publicPem: string;
}

/**
 * Generates an RS256 or ES256 key pair for a JWKS-mode test.
 *
 * @example
 * const key = await createSigningKey('RS256');
 * const jwks = await startJwksServer([key]);
 */
export async function createSigningKey(alg: 'RS256' | 'ES256', kid = `${alg}-${randomBytes(4).toString('hex')}`) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  const signingKey: TestSigningKey = { alg, kid, privateKey, publicJwk, publicPem: await exportSPKI(publicKey) };
  return signingKey;
}

/**
 * Signs a token with an asymmetric test key; `header` adds or overrides protected header fields (`jku`, `kid`).
 *
 * @example
 * await signWithKey(key, { issuer: 'https://issuer.test/', audience: 'realtime-gateway' }, 'user123');
 */
export async function signWithKey(
  key: TestSigningKey,
  options: TestTokenOptions = {},
  userId = 'user123',
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claimsFor(userId, options))
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

export interface JwksServer {
  /** The key set's URL (`http://127.0.0.1:{port}/.well-known/jwks.json`). */
  url: string;
  /** Every request the server received, whatever its path. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * Serves `{ keys: [...] }` on a real local HTTP server and records every request it receives.
 *
 * @example
 * const jwks = await startJwksServer([rsaKey, ecKey]);
 * process.env.JWKS_URL = jwks.url;
 * // ...
 * expect(jwks.requests).toHaveLength(1);
 * await jwks.close();
 */
export async function startJwksServer(keys: TestSigningKey[]): Promise<JwksServer> {
  const requests: string[] = [];
  const body = JSON.stringify({ keys: keys.map((key) => key.publicJwk) });
  const server: Server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    if (request.url !== '/.well-known/jwks.json') {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The JWT-shaped placeholder the authorizer event fixtures carry wherever a real token goes. */
export const FIXTURE_TOKEN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyMTIzIn0.fixture-not-a-real-signature';

/**
 * Loads an event fixture from `test/fixtures/events/`, with every {@link FIXTURE_TOKEN} replaced by `token`
 * (when given), so each test gets a real-shaped event carrying a live token.
 *
 * @example
 * const event = loadEventFixture<WebSocketAuthorizerEvent>('ws-authorizer-subprotocol.json', await signTestToken('u1'));
 */
export function loadEventFixture<TEvent>(name: string, token?: string): TEvent {
  const raw = readFileSync(join(__dirname, '..', 'fixtures', 'events', name), 'utf8');
  return JSON.parse(token === undefined ? raw : raw.split(FIXTURE_TOKEN).join(token)) as TEvent;
}
