import type { APIGatewayProxyEventV2WithLambdaAuthorizer, Context } from 'aws-lambda';
import { type AuthorizerContext, tokenHasExpired } from '../../core/authorizer-context';
import { NotFoundError, UnauthorizedError, UnsupportedMediaTypeError, ValidationError } from '../../core/errors';
import { type Caller, callerFromContext } from '../../core/policy';
import { headerValue } from '../../core/token-carriers';
import { checkUserId, parseJson, requireObject } from '../../core/validation';
import { type FunctionName, httpRouteKey, httpRoutes, isHttpDefaultRoute } from '../../routes';
import type { HttpResponse } from './http-response';

/**
 * Reading an HTTP API (payload 2.0) request: the caller from the Lambda authorizer's context, the JSON body,
 * path and query parameters, and dispatch on `routeKey` against the route table.
 */

/** An HTTP API event behind the Lambda authorizer; the context is optional because nothing guarantees it. */
export type HttpEvent = APIGatewayProxyEventV2WithLambdaAuthorizer<Partial<AuthorizerContext> | undefined>;

export type RouteHandler = (event: HttpEvent, context: Context) => Promise<HttpResponse>;

/**
 * The caller from `requestContext.authorizer.lambda`; 401 when it is absent (a route wired without the
 * authorizer must not become an anonymous one) or when the token has expired since the authorizer saw it.
 *
 * Why the expiry is checked again: API Gateway caches the authorizer's answer per `Authorization` header for the
 * cache TTL (300 s by default) whatever the token's `exp`, so without this an expired token would keep working
 * until its cached answer aged out.
 *
 * @example
 * const caller = callerOf(event); // { userId: 'user123', permissions: Set { 'ws:admin' } }
 */
export function callerOf(event: HttpEvent, now: () => number = Date.now): Caller {
  const context = event.requestContext.authorizer?.lambda;
  if (typeof context?.userId !== 'string' || context.userId.length === 0) throw new UnauthorizedError();
  if (tokenHasExpired(context.tokenExpiresAt, now())) throw new UnauthorizedError('The token has expired');
  return callerFromContext({
    userId: context.userId,
    permissions: typeof context.permissions === 'string' ? context.permissions : '',
  });
}

/** `application/json` and the structured `+json` types (`application/merge-patch+json`), any parameters after `;`. */
const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/i;
/** A Content-Type is quoted in the 415 message; past this length it is cut, so an answer never mirrors a huge header. */
const ECHOED_MEDIA_TYPE_MAX_CHARS = 100;

/**
 * Checks that a request declares a JSON body: `application/json` (with parameters such as `charset`) or an
 * `application/*+json` type; anything else is 415 `unsupported_media_type`, naming what is expected.
 *
 * A missing Content-Type is refused too: RFC 9110 §8.3 lets a recipient treat it as `application/octet-stream`,
 * which is not JSON, and accepting it would leave a hole in a rule that exists so that every accepted body was
 * meant as JSON (a form post or `text/plain` is what a page can send cross-site without a preflight). Every client
 * this project ships sets the header; `curl -d` sends `application/x-www-form-urlencoded`, so the message says
 * which header to add.
 *
 * @example
 * requireJsonContentType({ 'content-type': 'application/json; charset=utf-8' }); // fine
 * requireJsonContentType({ 'content-type': 'text/plain' }); // throws UnsupportedMediaTypeError (415)
 */
export function requireJsonContentType(headers: HttpEvent['headers'] | undefined): void {
  const contentType = headerValue(headers, 'content-type')?.trim();
  const essence = contentType?.split(';')[0]?.trim() ?? '';
  if (JSON_MEDIA_TYPE.test(essence)) return;
  const got =
    contentType === undefined || contentType === ''
      ? 'the request has none'
      : `got ${JSON.stringify(contentType.length > ECHOED_MEDIA_TYPE_MAX_CHARS ? `${contentType.slice(0, ECHOED_MEDIA_TYPE_MAX_CHARS)}…` : contentType)}`;
  throw new UnsupportedMediaTypeError(
    `Content-Type must be application/json (or an application/*+json type), ${got}; send the header "Content-Type: application/json"`,
  );
}

/**
 * The request body as a JSON object (base64 bodies decoded): 400 `invalid_json` when it is missing or does not
 * parse, 415 `unsupported_media_type` when it is not declared as JSON ({@link requireJsonContentType}).
 *
 * @example
 * const body = jsonBodyOf(event); // { userId: 'user123', type: 'chat', data: { ... } }
 */
export function jsonBodyOf(event: Pick<HttpEvent, 'body' | 'isBase64Encoded' | 'headers'>): Record<string, unknown> {
  if (event.body === undefined || event.body.length === 0) {
    throw new ValidationError('Request body is required: a JSON object', 'invalid_json');
  }
  requireJsonContentType(event.headers);
  const text = event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  return requireObject(parseJson(text, 'Request body'), 'Request body');
}

/**
 * The `{userId}` path parameter, checked like any user id.
 *
 * @example
 * pathUserIdOf(event); // 'user123' for /websocket/users/user123/status
 */
export function pathUserIdOf(event: Pick<HttpEvent, 'pathParameters'>): string {
  return checkUserId(event.pathParameters?.userId, 'userId path parameter');
}

/**
 * An optional integer query parameter within [min, max].
 *
 * @example
 * integerQueryOf(event, 'limit', { fallback: 50, min: 1, max: 100 }); // 50 when ?limit is absent
 */
export function integerQueryOf(
  event: Pick<HttpEvent, 'queryStringParameters'>,
  name: string,
  bounds: { fallback: number; min: number; max: number },
): number {
  const raw = event.queryStringParameters?.[name];
  if (raw === undefined || raw === '') return bounds.fallback;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(value) || value < bounds.min || value > bounds.max) {
    throw new ValidationError(`${name} must be an integer from ${bounds.min} to ${bounds.max}`);
  }
  return value;
}

/** API Gateway answers the HTTP client 503 after 30 s, whatever the function's own timeout. */
export const HTTP_API_INTEGRATION_TIMEOUT_MS = 30_000;

/**
 * Milliseconds left to answer: the lesser of the function's remaining time and what is left of the HTTP API's
 * 30 s integration timeout since API Gateway received the request (`requestContext.timeEpoch`). A broadcast that
 * watched only the function's clock could still be posting when the caller has already been told 503. A
 * `timeEpoch` more than 30 s away from the function's clock (skew, or a replayed test event) is ignored.
 *
 * @example
 * await service.broadcast(type, data, { remainingTimeMs: remainingTimeOf(event, context) });
 */
export function remainingTimeOf(
  event: Pick<HttpEvent, 'requestContext'>,
  context: Pick<Context, 'getRemainingTimeInMillis'>,
  now: () => number = Date.now,
): () => number {
  const receivedAt = event.requestContext.timeEpoch;
  return () => {
    const lambdaRemaining = context.getRemainingTimeInMillis();
    const elapsed = now() - receivedAt;
    if (!Number.isFinite(elapsed) || elapsed < 0 || elapsed > HTTP_API_INTEGRATION_TIMEOUT_MS) return lambdaRemaining;
    return Math.min(lambdaRemaining, HTTP_API_INTEGRATION_TIMEOUT_MS - elapsed);
  };
}

/**
 * Dispatches on `event.routeKey` (`POST /websocket/message/user`). `routes` must cover exactly the routes the
 * route table gives `functionName`: a mismatch throws at cold start, so a route added to the table without a
 * handler, or a handler for a route that is not deployed, is found before any request. Unknown keys get 404.
 *
 * @example
 * const route = httpRouter('httpStatus', { 'GET /websocket/me/status': myStatus, ... });
 * export const handler = middy(route).use(httpErrors(logger));
 */
export function httpRouter(
  functionName: FunctionName,
  routes: Record<string, RouteHandler>,
): (event: HttpEvent, context: Context) => Promise<HttpResponse> {
  const declared = httpRoutes.filter((route) => route.function === functionName).map(httpRouteKey);
  const missing = declared.filter((key) => !(key in routes));
  const extra = Object.keys(routes).filter((key) => !declared.includes(key));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(
      `Routes of ${functionName} do not match the route table: missing [${missing.join(', ')}], extra [${extra.join(', ')}]`,
    );
  }
  return async (event, context) => {
    const route = Object.hasOwn(routes, event.routeKey) ? routes[event.routeKey] : undefined;
    if (!route) throw new NotFoundError(`No route ${event.routeKey}`);
    return route(event, context);
  };
}

/** A path is echoed in the 404's message; past this length it is cut, so an answer never mirrors a huge request. */
const ECHOED_PATH_MAX_CHARS = 200;

/** The routes a caller can use, as the 404 lists them. */
const routeListing = httpRoutes
  .filter((route) => !isHttpDefaultRoute(route))
  .map(httpRouteKey)
  .join(', ');

/**
 * The `$default` route's answer: API Gateway sends it every request that matches no route, and it answers 404 in
 * the API's one error shape, naming what was asked and the routes there are. It sits behind the authorizer like
 * every route, so a request without a valid token is 401 before it gets here (and here too when the context is
 * missing).
 *
 * @example
 * const route = httpRouter('httpStatus', { ..., $default: unmatchedRoute });
 * // GET /x -> 404 {"error":{"code":"not_found","message":"No route GET /x. Routes: POST /websocket/message/user, ..."}}
 */
export const unmatchedRoute: RouteHandler = async (event) => {
  callerOf(event);
  const path =
    event.rawPath.length > ECHOED_PATH_MAX_CHARS ? `${event.rawPath.slice(0, ECHOED_PATH_MAX_CHARS)}…` : event.rawPath;
  throw new NotFoundError(`No route ${event.requestContext.http.method} ${path}. Routes: ${routeListing}`);
};
