import { bearerSubprotocolPrefix, webSocketSubprotocol } from '../subprotocol';

/**
 * Where a token may ride on a request, strongest first:
 *
 * 1. `authorization-header`: `Authorization: Bearer <jwt>`. Node clients, as the old Socket.IO server took it.
 * 2. `subprotocol`: `Sec-WebSocket-Protocol: realtime-gateway.v1, bearer.<jwt>`. Browsers, whose `WebSocket`
 *    cannot set headers: `new WebSocket(url, ['realtime-gateway.v1', 'bearer.' + jwt])`. `$connect` echoes
 *    `realtime-gateway.v1` only, never the bearer entry.
 * 3. `query`: `?token=<jwt>`. The weakest: URLs land in access logs, proxies and browser history, so use a
 *    short-lived token.
 */
export type TokenCarrier = 'authorization-header' | 'subprotocol' | 'query';

export interface CarriedToken {
  token: string;
  carrier: TokenCarrier;
}

/** Header and query maps as API Gateway events carry them (either may be null or missing). */
export type HeaderMap = Record<string, string | undefined> | null | undefined;
export type QueryMap = Record<string, string | undefined> | null | undefined;

/**
 * A header's value, whatever the case of its name (API Gateway keeps WebSocket header names as the client sent
 * them; HTTP API v2 lower-cases them).
 *
 * @example
 * headerValue({ 'Sec-WebSocket-Protocol': 'realtime-gateway.v1' }, 'sec-websocket-protocol'); // 'realtime-gateway.v1'
 */
export function headerValue(headers: HeaderMap, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

/**
 * The token of an `Authorization: Bearer <jwt>` header (scheme case-insensitive), or undefined. Another scheme
 * (`Basic ...`) counts as no bearer token.
 *
 * @example
 * bearerTokenOf({ authorization: 'Bearer eyJhbGciOi...' }); // 'eyJhbGciOi...'
 */
export function bearerTokenOf(headers: HeaderMap): string | undefined {
  const authorization = headerValue(headers, 'authorization');
  const match = authorization?.trim().match(/^Bearer\s+(\S+)$/i);
  return match?.[1];
}

/**
 * The entries of a `Sec-WebSocket-Protocol` header, trimmed, blanks dropped.
 *
 * @example
 * offeredSubprotocols({ 'Sec-WebSocket-Protocol': 'realtime-gateway.v1, bearer.eyJ...' });
 * // ['realtime-gateway.v1', 'bearer.eyJ...']
 */
export function offeredSubprotocols(headers: HeaderMap): string[] {
  const header = headerValue(headers, 'sec-websocket-protocol');
  if (!header) return [];
  return header
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}

function subprotocolTokenOf(headers: HeaderMap): string | undefined {
  const entry = offeredSubprotocols(headers).find(
    (candidate) => candidate.startsWith(bearerSubprotocolPrefix) && candidate.length > bearerSubprotocolPrefix.length,
  );
  return entry?.slice(bearerSubprotocolPrefix.length);
}

function queryTokenOf(query: QueryMap): string | undefined {
  const token = query?.token?.trim();
  return token ? token : undefined;
}

/**
 * Finds the request's token in the first carrier that holds one, in the order of {@link TokenCarrier}.
 *
 * @example
 * extractToken({ headers: { 'Sec-WebSocket-Protocol': 'realtime-gateway.v1, bearer.eyJ...' } });
 * // { token: 'eyJ...', carrier: 'subprotocol' }
 * extractToken({ headers: {}, queryStringParameters: { token: 'eyJ...' } });
 * // { token: 'eyJ...', carrier: 'query' }
 */
export function extractToken(request: {
  headers?: HeaderMap;
  queryStringParameters?: QueryMap;
}): CarriedToken | undefined {
  const fromHeader = bearerTokenOf(request.headers);
  if (fromHeader) return { token: fromHeader, carrier: 'authorization-header' };
  const fromSubprotocol = subprotocolTokenOf(request.headers);
  if (fromSubprotocol) return { token: fromSubprotocol, carrier: 'subprotocol' };
  const fromQuery = queryTokenOf(request.queryStringParameters);
  if (fromQuery) return { token: fromQuery, carrier: 'query' };
  return undefined;
}

/**
 * The subprotocol `$connect` must echo in its `Sec-WebSocket-Protocol` response header: `realtime-gateway.v1`
 * when the client offered it, else undefined (echo nothing). The `bearer.<jwt>` entry is never chosen: echoing
 * it would copy the token into a response header.
 *
 * @example
 * chooseSubprotocol({ 'sec-websocket-protocol': 'realtime-gateway.v1, bearer.eyJ...' }); // 'realtime-gateway.v1'
 * chooseSubprotocol({}); // undefined
 */
export function chooseSubprotocol(headers: HeaderMap): string | undefined {
  return offeredSubprotocols(headers).includes(webSocketSubprotocol) ? webSocketSubprotocol : undefined;
}

/**
 * Whether the handshake offers subprotocols but none that `$connect` can echo. Such a client always fails the
 * handshake itself: RFC 6455 §4.1 lets a client fail the connection when the server selects no subprotocol it
 * offered, and the WHATWG WebSocket standard requires it of browsers ("If protocols is not the empty list and
 * ... `Sec-WebSocket-Protocol` ... results in null, failure, or the empty byte sequence, then fail the WebSocket
 * connection"); `ws` does the same ("Server sent no subprotocol"). The server echoes only
 * `realtime-gateway.v1`, never a `bearer.<jwt>` entry (that would copy the token into a response header, and
 * from there into proxies' and browsers' logs), so a lone `bearer.<jwt>`, or any offer without
 * `realtime-gateway.v1`, is refused at `$connect` rather than registered for a client that never gets the socket.
 *
 * @example
 * offersNoEchoableSubprotocol({ 'Sec-WebSocket-Protocol': 'bearer.eyJ...' }); // true: refuse
 * offersNoEchoableSubprotocol({ 'Sec-WebSocket-Protocol': 'realtime-gateway.v1, bearer.eyJ...' }); // false
 * offersNoEchoableSubprotocol({ Authorization: 'Bearer eyJ...' }); // false: nothing offered, nothing to echo
 */
export function offersNoEchoableSubprotocol(headers: HeaderMap): boolean {
  return offeredSubprotocols(headers).length > 0 && chooseSubprotocol(headers) === undefined;
}
