import { SignJWT } from 'jose';

/** Options of {@link signDevToken}. */
export interface DevTokenOptions {
  /** Space-separated permissions, e.g. `ws:admin ws:broadcast`. */
  scope?: string;
  /** Lifetime: seconds as a number, or a string such as `90s`, `15m`, `1h`, `7d`. Default 1 h. */
  ttl?: string | number;
}

const DEFAULT_TTL_SECONDS = 3600;
const unitSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Reads a token lifetime: a number of seconds, or digits followed by `s`, `m`, `h` or `d`.
 *
 * @example
 * parseTtlSeconds('15m'); // 900
 * parseTtlSeconds(60); // 60
 */
export function parseTtlSeconds(ttl: string | number): number {
  if (typeof ttl === 'number') {
    if (!Number.isInteger(ttl) || ttl <= 0)
      throw new Error(`ttl must be a positive whole number of seconds, got ${ttl}`);
    return ttl;
  }
  const match = /^(\d+)\s*([smhd]?)$/.exec(ttl.trim());
  if (!match || Number(match[1]) <= 0) {
    throw new Error(`ttl must look like 3600, 90s, 15m, 1h or 7d, got "${ttl}"`);
  }
  return Number(match[1]) * unitSeconds[match[2] || 's'];
}

/**
 * Signs a development token (HS256 with `sub`, `iat`, `exp` and an optional `scope`) that the local stack's
 * authorizers accept. For local use and tests only: on AWS the secret lives in Secrets Manager.
 *
 * @example
 * const token = await signDevToken(stack.jwtSecret, 'user123', { scope: 'ws:admin', ttl: '1h' });
 * new WebSocket(stack.wsUrl, { headers: { Authorization: `Bearer ${token}` } });
 */
export async function signDevToken(secret: string, userId: string, options: DevTokenOptions = {}): Promise<string> {
  if (!secret) throw new Error('a signing secret is required');
  if (!userId) throw new Error('a userId is required');
  const now = Math.floor(Date.now() / 1000);
  const lifetime = parseTtlSeconds(options.ttl ?? DEFAULT_TTL_SECONDS);
  const claims = options.scope ? { scope: options.scope } : {};
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt(now)
    .setExpirationTime(now + lifetime)
    .sign(new TextEncoder().encode(secret));
}

/** The users the old server's testers used; `admin` is added with {@link demoAdminScope}. */
export const demoUsers = ['user123', 'user456', 'user789'] as const;
/** The admin demo token's permissions: may broadcast, list users, see and disconnect anyone. */
export const demoAdminScope = 'ws:admin ws:broadcast';
/** How long the demo tokens live: a working day of testing without restarting. */
export const demoTokenTtl = '12h';

/** The ready-to-use tokens `npm start` prints and the local stack's `/local-config.json` hands to the test page. */
export type DemoTokens = Record<(typeof demoUsers)[number] | 'admin', string>;

/**
 * Signs the demo tokens: `user123`, `user456`, `user789` (no permission) and `admin` ({@link demoAdminScope}),
 * each valid {@link demoTokenTtl}.
 *
 * @example
 * const tokens = await signDemoTokens(stack.jwtSecret);
 * new WebSocket(stack.wsUrl, { headers: { Authorization: `Bearer ${tokens.user123}` } });
 */
export async function signDemoTokens(secret: string): Promise<DemoTokens> {
  const [user123, user456, user789, admin] = await Promise.all([
    ...demoUsers.map((userId) => signDevToken(secret, userId, { ttl: demoTokenTtl })),
    signDevToken(secret, 'admin', { scope: demoAdminScope, ttl: demoTokenTtl }),
  ]);
  return { user123, user456, user789, admin };
}
