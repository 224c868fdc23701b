/**
 * The JWT algorithms each verification mode accepts, and the claims that cannot carry permissions, declared once
 * for the authorizers (`jwt.ts`) and the CDK settings (`lib/settings.ts`), with no dependency so the CDK app does
 * not load jose to validate its context.
 */

/** HMAC algorithms accepted in secret mode. */
export const secretAlgorithms = ['HS256', 'HS384', 'HS512'] as const;
/** Asymmetric algorithms accepted in JWKS mode. */
export const jwksAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
] as const;

/** Algorithms for a shared secret. */
export type SecretAlgorithm = (typeof secretAlgorithms)[number];
/** Algorithms for keys published in a JWKS. */
export type PublicKeyAlgorithm = (typeof jwksAlgorithms)[number];

/** Claims with a meaning of their own, which the permissions claim (`PERMISSIONS_CLAIM`) may not name. */
export const reservedClaims: readonly string[] = ['sub', 'exp', 'nbf', 'iat', 'iss', 'aud', 'jti', 'scope'];
