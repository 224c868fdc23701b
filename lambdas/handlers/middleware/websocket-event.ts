import type { AuthorizerContext } from '../../core/authorizer-context';

/**
 * The Lambda proxy event API Gateway sends for every WebSocket route (`$connect`, `$disconnect`, `$default`,
 * custom routes). `@types/aws-lambda` models only the message events, without `headers` or the authorizer
 * context, so the shape is declared here; `test/fixtures/events/ws-*.json` hold real-shaped examples.
 */
export interface WebSocketEvent {
  /** `$connect` and `$disconnect` only; header names keep the client's case. */
  headers?: Record<string, string | undefined> | null;
  multiValueHeaders?: Record<string, string[] | undefined> | null;
  /** `$connect` only, and only when the URL has a query string. */
  queryStringParameters?: Record<string, string | undefined> | null;
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
  requestContext: WebSocketRequestContext;
  /** Message routes only: the frame exactly as the client sent it. */
  body?: string | null;
  isBase64Encoded?: boolean;
}

export interface WebSocketRequestContext {
  /** `$connect`, `$disconnect`, `$default`, or a custom route key such as `ping` (no `$`). */
  routeKey: string;
  eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT';
  connectionId: string;
  requestId: string;
  extendedRequestId?: string;
  messageId?: string | null;
  messageDirection?: 'IN';
  requestTime?: string;
  requestTimeEpoch?: number;
  /** Epoch milliseconds at which the connection opened. */
  connectedAt?: number;
  domainName?: string;
  stage?: string;
  apiId?: string;
  identity?: { sourceIp?: string; userAgent?: string | null };
  /**
   * The `$connect` authorizer's context, on every route of the connection. API Gateway adds `principalId` and
   * `integrationLatency`, and passes every context value as a string (`tokenExpiresAt: "1795690800"`).
   */
  authorizer?: Record<string, unknown> | null;
  /** `$disconnect` only. */
  disconnectStatusCode?: number;
  disconnectReason?: string;
}

/** What a WebSocket route's integration returns. `$connect` rejects the handshake with any non-2xx status. */
export interface WebSocketResult {
  statusCode: number;
  headers?: Record<string, string>;
  /** Sent back to the client on routes that have a route response. */
  body?: string;
}

/**
 * The authorizer context of a WebSocket event, with `tokenExpiresAt` back as a number (API Gateway passes it as
 * a string). Undefined when the event carries no usable context (a route deployed without the authorizer).
 *
 * @example
 * readAuthorizerContext(event.requestContext);
 * // { userId: 'user123', permissions: 'ws:broadcast', tokenExpiresAt: 1795690800 }
 */
export function readAuthorizerContext(
  requestContext: Pick<WebSocketRequestContext, 'authorizer'> | undefined,
): AuthorizerContext | undefined {
  const authorizer = requestContext?.authorizer;
  if (!authorizer) return undefined;
  const { userId, permissions, tokenExpiresAt, protocol } = authorizer;
  if (typeof userId !== 'string' || userId.length === 0) return undefined;
  const expiresAt = typeof tokenExpiresAt === 'string' ? Number(tokenExpiresAt) : tokenExpiresAt;
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) return undefined;
  const context: AuthorizerContext = {
    userId,
    permissions: typeof permissions === 'string' ? permissions : '',
    tokenExpiresAt: expiresAt,
  };
  if (protocol === 'socket.io') context.protocol = 'socket.io';
  return context;
}
