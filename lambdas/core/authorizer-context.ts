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
