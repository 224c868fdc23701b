/**
 * What both Lambda authorizers (WebSocket `$connect` and the HTTP API) put in their context, and what every
 * later route reads from `requestContext.authorizer` (`$disconnect` included). API Gateway allows only
 * string, number and boolean values there, and at most 8 KB in all, so permissions travel as one
 * space-separated string.
 */
export interface AuthorizerContext {
  /** The token's `sub`. */
  userId: string;
  /** Space-separated permissions from the `scope` claim and the permissions claim, de-duplicated. */
  permissions: string;
  /** The token's `exp`, epoch seconds. */
  tokenExpiresAt: number;
  /**
   * WebSocket only: `socket.io` when the connection speaks Engine.IO/Socket.IO (its `$connect` query had `EIO=4`
   * and `transport=websocket`); absent for the JSON protocol.
   */
  protocol?: 'socket.io';
}

/**
 * Splits the context's permission string back into a set.
 *
 * @example
 * permissionsOf({ permissions: 'ws:admin ws:broadcast' }); // Set { 'ws:admin', 'ws:broadcast' }
 */
export function permissionsOf(context: Pick<AuthorizerContext, 'permissions'>): Set<string> {
  return new Set(context.permissions.split(' ').filter((p) => p.length > 0));
}

/**
 * The skew allowed on `exp` once a token is past the authorizer, the authorizers' default
 * (`JWT_CLOCK_TOLERANCE_SECONDS`), so a route never refuses a token its authorizer would still accept.
 */
export const TOKEN_EXPIRY_SKEW_SECONDS = 5;

/**
 * Whether the token behind an authorizer context has expired, skew included. The one expiry check of the routes
 * behind an authorizer: API Gateway checks a token only when it runs the authorizer (an HTTP route's cached answer,
 * a WebSocket's `$connect`), so a later request can carry a token that has expired since. A missing or unreadable
 * expiry counts as expired.
 *
 * @example
 * tokenHasExpired(1795690800, Date.parse('2026-11-26T10:00:00Z')); // false until 1795690805 (skew included)
 */
export function tokenHasExpired(tokenExpiresAt: unknown, nowMs: number = Date.now()): boolean {
  // A number from our authorizer; a string is read too, as API Gateway passes WebSocket context values.
  const expiresAt = Number(tokenExpiresAt);
  return !Number.isFinite(expiresAt) || nowMs / 1000 > expiresAt + TOKEN_EXPIRY_SKEW_SECONDS;
}
