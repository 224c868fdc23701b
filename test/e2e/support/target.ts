/**
 * Where the end-to-end suite runs.
 *
 * Local mode (the default, and what `npm test` runs): each test file starts the local stack on free ports
 * (`startLocalStack({ wsPort: 0, httpPort: 0 })`): the real handlers behind the emulator, with dynalite. Tokens
 * are signed with the stack's secret, and the registry's rows are read straight from dynalite.
 *
 * Parity mode: set `WS_URL` and `HTTP_URL` (a deployed stage's `wss://` URL and HTTP API base URL) and the tokens
 * `TOKEN_USER123`, `TOKEN_USER456`, `TOKEN_USER789` (plain users) and `TOKEN_ADMIN` (`ws:admin ws:broadcast`);
 * optionally `TOKEN_EXPIRED` (an expired token signed with the stage's key) and `ALLOWED_ORIGIN` (an origin the
 * stage allows). The same suite then drives the stage; assertions on registry rows, and the cases that need to
 * write to the registry or sign tokens, are left out because the suite has no access to them there.
 * CI never runs parity mode.
 */

import { signDevToken } from '../../../local/dev-tokens';
import { type LocalStack, serverLibraryEnvironment, startLocalStack } from '../../../local/stack';
import { callApi } from './http';
import { RegistryProbe } from './registry-probe';
import { acquireParityLock } from './remote-lock';
import { RoomProbe } from './room-probe';

export type DemoUser = 'user123' | 'user456' | 'user789' | 'admin';

export interface E2eTarget {
  readonly mode: 'local' | 'remote';
  readonly wsUrl: string;
  readonly httpUrl: string;
  /** Tokens of the three plain users and the admin (`ws:admin ws:broadcast`). */
  readonly tokens: Readonly<Record<DemoUser, string>>;
  /** An expired but otherwise valid token, when the target can provide one. */
  readonly expiredToken?: string;
  /** A browser origin the target allows; undefined in parity mode without `ALLOWED_ORIGIN` (no Origin sent). */
  readonly allowedOrigin?: string;
  /** The registry's rows, read directly: local mode only. */
  readonly registry?: RegistryProbe;
  /** The room index's items, read and written directly: local mode only. */
  readonly rooms?: RoomProbe;
  /** What a Node backend sets to use the server library against this target: local mode only. */
  readonly serverLibraryEnvironment?: Record<string, string>;
  /** Signs a valid token for `userId` that lives `ttlSeconds`: local mode only (a stage's key is not ours). */
  readonly signShortLived?: (userId: string, ttlSeconds: number) => Promise<string>;
  /** Signs any claim set with the stack's key (HS256), e.g. a future `iat`: local mode only. */
  readonly signClaims?: (claims: Record<string, unknown>) => Promise<string>;
  stop(): Promise<void>;
}

const remoteVariables = ['WS_URL', 'HTTP_URL', 'TOKEN_USER123', 'TOKEN_USER456', 'TOKEN_USER789', 'TOKEN_ADMIN'];

/** Whether the suite targets a deployed stage (parity mode). */
export const isRemote = process.env.WS_URL !== undefined || process.env.HTTP_URL !== undefined;

/**
 * For tests that read or plant registry rows, which the suite cannot reach on a stage: parity mode reports them as
 * skipped rather than as passed without having checked anything.
 *
 * @example
 * itWithRegistry('removes the row', async () => { expect(await target.registry!.rowsOf('user123')).toEqual([]); });
 */
export const itWithRegistry = isRemote ? it.skip : it;

/**
 * For tests that need an expired token: parity mode has one only with `TOKEN_EXPIRED`, else they show as skipped.
 *
 * @example
 * itWithExpiredToken('refuses it', async () => { await expect(connect(url, target.expiredToken!)).rejects.toThrow(); });
 */
export const itWithExpiredToken = isRemote && process.env.TOKEN_EXPIRED === undefined ? it.skip : it;

/**
 * For tests that sign their own tokens (a short-lived one, to watch it expire): parity mode cannot, and shows
 * them as skipped.
 *
 * @example
 * itWithTokenSigning('refuses it after exp', async () => { const token = await target.signShortLived!('user123', 2); });
 */
export const itWithTokenSigning = isRemote ? it.skip : it;

/**
 * Starts (local) or describes (remote) the system under test.
 *
 * @example
 * let target: E2eTarget;
 * beforeAll(async () => { target = await startTarget(); });
 * afterAll(() => target.stop());
 */
export async function startTarget(options: { idleTimeoutMs?: number } = {}): Promise<E2eTarget> {
  if (isRemote) {
    const missing = remoteVariables.filter((name) => !process.env[name]);
    if (missing.length > 0) throw new Error(`parity mode needs ${missing.join(', ')}`);
    const env = (name: string) => process.env[name]!;
    const release = await acquireParityLock();
    return {
      mode: 'remote',
      wsUrl: env('WS_URL'),
      httpUrl: env('HTTP_URL').replace(/\/$/, ''),
      tokens: {
        user123: env('TOKEN_USER123'),
        user456: env('TOKEN_USER456'),
        user789: env('TOKEN_USER789'),
        admin: env('TOKEN_ADMIN'),
      },
      expiredToken: process.env.TOKEN_EXPIRED,
      allowedOrigin: process.env.ALLOWED_ORIGIN,
      stop: release,
    };
  }
  const stack: LocalStack = await startLocalStack({
    wsPort: 0,
    httpPort: 0,
    // `E2E_LOGS=1 npx jest test/e2e` shows the handlers' logs (INFO), e.g. to look for log noise.
    quiet: process.env.E2E_LOGS === undefined,
    jwtSecret: `e2e-${Math.random().toString(36).slice(2)}-secret-of-enough-length`,
    idleTimeoutMs: options.idleTimeoutMs,
  });
  const sign = (userId: string, scope?: string) => signDevToken(stack.jwtSecret, userId, { scope, ttl: '1h' });
  const expired = await signExpired(stack.jwtSecret, 'user123');
  const registry = new RegistryProbe(stack.dynamoEndpoint, stack.tableName);
  const rooms = new RoomProbe(stack.dynamoEndpoint, {
    roomTableName: stack.roomTableName,
    connectionTableName: stack.tableName,
  });
  return {
    mode: 'local',
    wsUrl: stack.wsUrl,
    httpUrl: stack.httpUrl,
    tokens: {
      user123: await sign('user123'),
      user456: await sign('user456'),
      user789: await sign('user789'),
      admin: await sign('admin', 'ws:admin ws:broadcast'),
    },
    expiredToken: expired,
    allowedOrigin: new URL(stack.httpUrl).origin,
    registry,
    rooms,
    serverLibraryEnvironment: serverLibraryEnvironment(stack),
    signShortLived: (userId, ttlSeconds) => signDevToken(stack.jwtSecret, userId, { ttl: ttlSeconds }),
    signClaims: (claims) => signClaims(stack.jwtSecret, claims),
    stop: async () => {
      registry.close();
      rooms.close();
      await stack.stop();
    },
  };
}

async function signClaims(secret: string, claims: Record<string, unknown>): Promise<string> {
  const { SignJWT } = await import('jose');
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

/** A token whose `exp` passed ten minutes ago (beyond any clock tolerance). */
async function signExpired(secret: string, userId: string): Promise<string> {
  const { SignJWT } = await import('jose');
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt(now - 3600)
    .setExpirationTime(now - 600)
    .sign(new TextEncoder().encode(secret));
}

/**
 * Waits until none of `users` has a connection left: from the registry's rows locally, from the status API (as
 * the admin) on a deployed stage. `$disconnect` runs after the socket has closed, so tests wait for it before
 * the next one counts recipients.
 *
 * @example
 * afterEach(() => waitUntilDisconnected(target, ['user123', 'user456']));
 */
export async function waitUntilDisconnected(
  target: E2eTarget,
  users: readonly string[],
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const user of users) {
    for (;;) {
      const count = target.registry
        ? (await target.registry.rowsOf(user)).length
        : (
            (await callApi(target.httpUrl, 'GET', `/websocket/users/${user}/status`, target.tokens.admin)).body as {
              connectionCount: number;
            }
          ).connectionCount;
      if (count === 0) break;
      if (Date.now() > deadline) throw new Error(`${user} still has ${count} connection(s)`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
