import { jwtVerify, SignJWT } from 'jose';

/**
 * HS256 tokens for the benchmark: the same claims as the local stack's dev tokens (`sub`, `iat`, `exp`,
 * optional `scope`), so one secret and one token format serve both systems under test.
 */

/** What a verified token says about its bearer. */
export interface BenchIdentity {
  userId: string;
  /** From the space-separated `scope` claim and the `permissions` array claim. */
  permissions: Set<string>;
}

function keyOf(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/**
 * Signs a token for `userId`, valid for an hour (longer than any benchmark run).
 *
 * @example
 * const token = await signBenchToken(secret, 'bench-user-00001', 'ws:broadcast');
 */
export async function signBenchToken(secret: string, userId: string, scope?: string): Promise<string> {
  const claims = scope === undefined ? {} : { scope };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(keyOf(secret));
}

/**
 * Verifies an HS256 token (algorithm pinned) and returns who it names; throws when it is invalid or expired.
 *
 * @example
 * const { userId, permissions } = await verifyBenchToken(secret, token);
 */
export async function verifyBenchToken(secret: string, token: string): Promise<BenchIdentity> {
  const { payload } = await jwtVerify(token, keyOf(secret), { algorithms: ['HS256'] });
  if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new Error('token has no sub');
  const permissions = new Set<string>();
  if (typeof payload.scope === 'string') {
    for (const permission of payload.scope.split(' ')) if (permission) permissions.add(permission);
  }
  if (Array.isArray(payload.permissions)) {
    for (const permission of payload.permissions) if (typeof permission === 'string') permissions.add(permission);
  }
  return { userId: payload.sub, permissions };
}
