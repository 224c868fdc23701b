import type { IncomingMessage } from 'node:http';
import type { ApiIdentity } from './api-identity';
import { formatRequestTime, newRequestId, newTraceId } from './ids';
import { forwardingHeaders, sourceIpOf } from './request-parts';

/** The parts of one HTTP request every payload-2.0 event is built from. */
export interface HttpRequestFacts {
  method: string;
  rawPath: string;
  rawQueryString: string;
  /** Lower-cased names; repeated headers joined with commas, as API Gateway does. */
  headers: Record<string, string>;
  cookies?: string[];
  queryStringParameters?: Record<string, string>;
  sourceIp: string;
  userAgent: string;
  protocol: string;
  domainName: string;
}

/** Content types API Gateway passes as text; any other body arrives base64-encoded. */
const textContentType = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+json|[^;]*\+xml)/i;

/**
 * Collects the facts of one request: lower-cased headers (cookies moved to `cookies`), query parameters with
 * repeated values comma-joined, the caller's address. As in the captured events of
 * aws-powertools/powertools-lambda-typescript `packages/parser/tests/events/apigw-http/lambda-authorizer-auth.json`,
 * the gateway adds `x-amzn-trace-id` and the `x-forwarded-*` headers and drops the hop-by-hop `connection`.
 *
 * @example
 * const facts = httpRequestFacts(request); // facts.headers.authorization === 'Bearer …'
 */
export function httpRequestFacts(request: IncomingMessage): HttpRequestFacts {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (let index = 0; index < request.rawHeaders.length; index += 2) {
    const name = request.rawHeaders[index].toLowerCase();
    const value = request.rawHeaders[index + 1];
    if (name === 'connection') continue;
    if (name === 'cookie') {
      cookies = [...(cookies ?? []), ...value.split(';').map((cookie) => cookie.trim())];
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  headers['x-amzn-trace-id'] = newTraceId();
  for (const [name, value] of Object.entries(forwardingHeaders(request))) headers[name.toLowerCase()] = value;
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams)
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  const facts: HttpRequestFacts = {
    method: request.method ?? 'GET',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    sourceIp: sourceIpOf(request),
    userAgent: headers['user-agent'] ?? '',
    protocol: `HTTP/${request.httpVersion}`,
    domainName: (headers.host ?? 'localhost').split(':')[0],
  };
  if (cookies) facts.cookies = cookies;
  if (Object.keys(query).length > 0) facts.queryStringParameters = query;
  return facts;
}

function requestContext(api: ApiIdentity, facts: HttpRequestFacts, routeKey: string) {
  const now = new Date();
  return {
    accountId: api.accountId,
    apiId: api.apiId,
    domainName: facts.domainName,
    domainPrefix: facts.domainName.split('.')[0],
    http: {
      method: facts.method,
      path: facts.rawPath,
      protocol: facts.protocol,
      sourceIp: facts.sourceIp,
      userAgent: facts.userAgent,
    },
    requestId: newRequestId(),
    routeKey,
    stage: api.stage,
    time: formatRequestTime(now),
    timeEpoch: now.getTime(),
  };
}

function commonParts(facts: HttpRequestFacts, routeKey: string, pathParameters: Record<string, string>) {
  return {
    version: '2.0',
    routeKey,
    rawPath: facts.rawPath,
    rawQueryString: facts.rawQueryString,
    ...(facts.cookies ? { cookies: facts.cookies } : {}),
    headers: facts.headers,
    ...(facts.queryStringParameters ? { queryStringParameters: facts.queryStringParameters } : {}),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
  };
}

/**
 * The HTTP API Lambda authorizer's event (payload format 2.0, identity source `$request.header.Authorization`).
 *
 * @example
 * httpAuthorizerEvent(localHttpApi, facts, 'GET /websocket/me/status', {}).identitySource; // ['Bearer …']
 */
export function httpAuthorizerEvent(
  api: ApiIdentity,
  facts: HttpRequestFacts,
  routeKey: string,
  pathParameters: Record<string, string>,
) {
  return {
    ...commonParts(facts, routeKey, pathParameters),
    type: 'REQUEST',
    routeArn: `arn:aws:execute-api:${api.region}:${api.accountId}:${api.apiId}/${api.stage}/${facts.method}${facts.rawPath}`,
    identitySource: [facts.headers.authorization ?? ''],
    requestContext: requestContext(api, facts, routeKey),
  };
}

/**
 * A route's event in payload format 2.0, with the authorizer's context under `requestContext.authorizer.lambda`:
 * `null` when the authorizer returned no context (as in powertools-lambda-typescript
 * `packages/parser/tests/events/apigw-http/lambda-authorizer-auth.json`), and no `authorizer` at all on a route
 * without one (`undefined`).
 *
 * @example
 * const event = httpApiEvent(localHttpApi, facts, 'POST /websocket/message/user', {}, { userId: 'user123' }, body);
 */
export function httpApiEvent(
  api: ApiIdentity,
  facts: HttpRequestFacts,
  routeKey: string,
  pathParameters: Record<string, string>,
  authorizerContext: Record<string, unknown> | null | undefined,
  body: Buffer,
) {
  const isText = textContentType.test(facts.headers['content-type'] ?? 'application/json');
  return {
    ...commonParts(facts, routeKey, pathParameters),
    requestContext: {
      ...requestContext(api, facts, routeKey),
      ...(authorizerContext === undefined ? {} : { authorizer: { lambda: authorizerContext } }),
    },
    ...(body.length > 0 ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !isText,
  };
}
