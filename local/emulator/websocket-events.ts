import type { ApiIdentity } from './api-identity';
import { formatRequestTime, newMessageId, newRequestId } from './ids';

/** What the emulator knows of one connection when it builds that connection's events. */
export interface ConnectionFacts {
  connectionId: string;
  /** Epoch ms of the upgrade request. */
  connectedAt: number;
  domainName: string;
  sourceIp: string;
  userAgent?: string;
  /** `requestContext.authorizer` of every event after the authorizer ran. */
  authorizer?: Record<string, unknown>;
}

/** The upgrade request's headers and query, as the `$connect` and authorizer events carry them. */
export interface HandshakeFacts {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
}

type EventType = 'CONNECT' | 'MESSAGE' | 'DISCONNECT';

function requestContext(api: ApiIdentity, connection: ConnectionFacts, routeKey: string, eventType: EventType) {
  const now = new Date();
  const requestId = newRequestId();
  const identity: Record<string, string> = { sourceIp: connection.sourceIp };
  if (connection.userAgent !== undefined) identity.userAgent = connection.userAgent;
  return {
    routeKey,
    eventType,
    extendedRequestId: requestId,
    requestTime: formatRequestTime(now),
    messageDirection: 'IN',
    stage: api.stage,
    connectedAt: connection.connectedAt,
    requestTimeEpoch: now.getTime(),
    identity,
    requestId,
    domainName: connection.domainName,
    connectionId: connection.connectionId,
    apiId: api.apiId,
  };
}

/** A copy of the handshake's headers without `names` (any case) and with `added` (name as API Gateway spells it). */
function adjustHeaders(
  handshake: HandshakeFacts,
  names: readonly string[],
  added: Record<string, string>,
): Pick<HandshakeFacts, 'headers' | 'multiValueHeaders'> {
  const drop = new Set(names.map((name) => name.toLowerCase()));
  const keep = ([name]: [string, unknown]) => !drop.has(name.toLowerCase());
  return {
    headers: { ...Object.fromEntries(Object.entries(handshake.headers).filter(keep)), ...added },
    multiValueHeaders: {
      ...Object.fromEntries(Object.entries(handshake.multiValueHeaders).filter(keep)),
      ...Object.fromEntries(Object.entries(added).map(([name, value]) => [name, [value]])),
    },
  };
}

/**
 * The REQUEST authorizer's event on `$connect` (no `authorizer` in its context: it is the one producing it). It
 * keeps the client's `Connection` and `Upgrade` and gets `content-length: 0`, as in the captured authorizer event
 * of aws-powertools/powertools-lambda-typescript `packages/parser/tests/events/apigw-websocket/connectEvent.json`.
 *
 * @example
 * const event = webSocketAuthorizerEvent(localWebSocketApi, connection, handshake);
 * event.methodArn; // 'arn:aws:execute-api:us-east-1:123456789012:localws0001/local/$connect'
 */
export function webSocketAuthorizerEvent(api: ApiIdentity, connection: ConnectionFacts, handshake: HandshakeFacts) {
  const { authorizer: _none, ...withoutAuthorizer } = connection;
  return {
    type: 'REQUEST',
    methodArn: `arn:aws:execute-api:${api.region}:${api.accountId}:${api.apiId}/${api.stage}/$connect`,
    ...handshake,
    ...adjustHeaders(handshake, ['content-length'], { 'content-length': '0' }),
    stageVariables: {},
    requestContext: requestContext(api, withoutAuthorizer, '$connect', 'CONNECT'),
  };
}

function withAuthorizer<T extends object>(context: T, connection: ConnectionFacts) {
  return connection.authorizer ? { ...context, authorizer: connection.authorizer } : context;
}

/**
 * The `$connect` route's event. API Gateway drops the hop-by-hop `Connection` and `Upgrade` headers from it: the
 * captured `$connect` events (aws/aws-lambda-go `events/testdata/apigw-websocket-request.json`, and the e2e run
 * against AWS in dherault/serverless-offline `tests/manual/websocket/main/test/e2e/ws.e2e.js`) carry Host, the
 * Sec-WebSocket-* headers, X-Amzn-Trace-Id and the X-Forwarded-* headers, and neither of those two.
 *
 * @example
 * const event = connectEvent(localWebSocketApi, connection, handshake);
 * event.requestContext.eventType; // 'CONNECT'
 */
export function connectEvent(api: ApiIdentity, connection: ConnectionFacts, handshake: HandshakeFacts) {
  return {
    ...handshake,
    ...adjustHeaders(handshake, ['Connection', 'Upgrade'], {}),
    requestContext: withAuthorizer(requestContext(api, connection, '$connect', 'CONNECT'), connection),
    isBase64Encoded: false,
  };
}

/**
 * A message route's event; `routeKey` is the selected route (`ping`, or `$default` when nothing matched).
 *
 * @example
 * messageEvent(localWebSocketApi, connection, 'ping', '{"action":"ping"}').requestContext.routeKey; // 'ping'
 */
export function messageEvent(api: ApiIdentity, connection: ConnectionFacts, routeKey: string, body: string) {
  const context = { ...requestContext(api, connection, routeKey, 'MESSAGE'), messageId: newMessageId() };
  return { requestContext: withAuthorizer(context, connection), body, isBase64Encoded: false };
}

/**
 * The `$disconnect` route's event, with the close code and reason API Gateway reports.
 *
 * @example
 * disconnectEvent(localWebSocketApi, connection, 1001, 'Going away').requestContext.disconnectStatusCode; // 1001
 */
export function disconnectEvent(api: ApiIdentity, connection: ConnectionFacts, statusCode: number, reason: string) {
  const context = {
    ...requestContext(api, connection, '$disconnect', 'DISCONNECT'),
    disconnectStatusCode: statusCode,
    disconnectReason: reason,
  };
  const headers: Record<string, string> = {
    Host: connection.domainName,
    'x-api-key': '',
    'X-Forwarded-For': '',
    'x-restapi': '',
  };
  const multiValueHeaders = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]]));
  return { headers, multiValueHeaders, requestContext: withAuthorizer(context, connection), isBase64Encoded: false };
}
