/**
 * The WebSocket subprotocol names, apart from the route table so that the code which needs only them (the token
 * carriers in the 40 KB authorizers, the client) does not bundle the table: esbuild keeps `functions` whole
 * because its entries spread `none`, which it cannot prove free of side effects (1.9 KB of the authorizer).
 * `lambdas/routes.ts` re-exports both.
 */

/** Subprotocol that browsers offer and `$connect` echoes; the token rides in a second `bearer.<jwt>` entry. */
export const webSocketSubprotocol = 'realtime-gateway.v1';
export const bearerSubprotocolPrefix = 'bearer.';
