import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiIdentity } from './api-identity';
import { AuthorizerResultCache } from './authorizer-cache';
import { type CorsPolicy, corsHeaders, isPreflight, preflightHeaders } from './cors';
import { httpApiEvent, httpAuthorizerEvent, httpRequestFacts } from './http-events';
import { compileHttpRoutes, type HttpRouteBinding, type HttpRouteMatch } from './http-route-matcher';
import { IntegrationTimeoutError, type LambdaInvoker } from './lambda-runner';
import { readBody } from './request-parts';

/** A local page's answer. */
export interface LocalPage {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

/**
 * Local conveniences outside the API (the test page, the adapter), consulted before route matching; `undefined`
 * lets the request through to the API. `host` is the request's `Host` header.
 */
export type LocalPages = (method: string, path: string, host: string | undefined) => Promise<LocalPage | undefined>;

export interface HttpApiEmulatorOptions {
  api: ApiIdentity;
  routes: readonly HttpRouteBinding<LambdaInvoker>[];
  /**
   * The `$default` route: a request no route matches goes here, with `routeKey: '$default'`, behind the same
   * authorizer, as on API Gateway. Without one, API Gateway itself answers 404 `{"message":"Not Found"}`.
   */
  defaultRoute?: LambdaInvoker;
  /** The Lambda authorizer (simple responses) in front of every route; none leaves the routes open. */
  authorizer?: LambdaInvoker;
  /** How long an authorizer result is reused for the same `Authorization` value; 0 disables caching. */
  authorizerCacheTtlMs: number;
  cors: CorsPolicy;
  localPages?: LocalPages;
}

/** The HTTP API's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

interface SimpleAuthorizerResult {
  isAuthorized: boolean;
  /** null when the authorizer returned none: the event then carries `authorizer.lambda: null`. */
  context: Record<string, unknown> | null;
}

type Answer = {
  statusCode: number;
  headers: Record<string, string>;
  body: Buffer | string;
  cookies?: string[];
  /** A local page: same-origin only, so it gets no CORS headers whatever the API's allowed origins are. */
  isLocalPage?: boolean;
};

const message = (statusCode: number, text: string): Answer => ({
  statusCode,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ message: text }),
});

/**
 * The HTTP API side of API Gateway (payload format 2.0): CORS preflights answered by the gateway, routes
 * matched with path parameters, the Lambda authorizer with simple responses and result caching, the
 * integration's answer mapped to HTTP, and API Gateway's own error answers (`{"message": ...}`) where it
 * would give them.
 *
 * @example
 * const httpApi = new HttpApiEmulator({ api: localHttpApi, routes, authorizer, authorizerCacheTtlMs: 300_000, cors });
 * createServer((request, response) => httpApi.handle(request, response)).listen(8091);
 */
export class HttpApiEmulator {
  readonly #options: HttpApiEmulatorOptions;
  readonly #match: ReturnType<typeof compileHttpRoutes<LambdaInvoker>>;
  readonly #cache: AuthorizerResultCache<SimpleAuthorizerResult>;

  constructor(options: HttpApiEmulatorOptions) {
    this.#options = options;
    this.#match = compileHttpRoutes(options.routes);
    this.#cache = new AuthorizerResultCache(options.authorizerCacheTtlMs);
  }

  /** Serves one request; never rejects. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const origin = request.headers.origin;
    let answer: Answer;
    try {
      if (isPreflight(request)) {
        answer = { statusCode: 204, headers: preflightHeaders(this.#options.cors, origin), body: '' };
      } else {
        answer = await this.#answer(request);
      }
    } catch {
      answer = message(500, 'Internal Server Error');
    }
    // `/local-config.json` hands out signed tokens: with `ALLOWED_ORIGINS=*` (needed for the page opened as a file)
    // CORS headers would let any site the developer visits read them. The page at `/` fetches it same-origin.
    const headers = answer.isLocalPage
      ? answer.headers
      : { ...answer.headers, ...corsHeaders(this.#options.cors, origin) };
    if (answer.cookies) response.setHeader('set-cookie', answer.cookies);
    response.writeHead(answer.statusCode, headers);
    response.end(answer.body);
  }

  async #answer(request: IncomingMessage): Promise<Answer> {
    const facts = httpRequestFacts(request);
    const localPage = await this.#options.localPages?.(facts.method, facts.rawPath, facts.headers.host);
    if (localPage) return { ...localPage, isLocalPage: true };

    const route = this.#route(facts.method, facts.rawPath);
    if (!route) return message(404, 'Not Found');
    const body = await readBody(request, MAX_BODY_BYTES);
    if (body === undefined) return message(413, 'Request Entity Too Large');

    let authorizerContext: Record<string, unknown> | null | undefined;
    if (this.#options.authorizer) {
      const identity = facts.headers.authorization;
      // A missing identity source is refused by the gateway itself; the authorizer is not called.
      if (!identity) return message(401, 'Unauthorized');
      let result = this.#cache.get(identity);
      if (!result) {
        try {
          result = readSimpleResponse(
            await this.#options.authorizer.invoke(
              httpAuthorizerEvent(this.#options.api, facts, route.routeKey, route.pathParameters),
            ),
          );
        } catch (error) {
          if (error instanceof Error && error.message === 'Unauthorized') return message(401, 'Unauthorized');
          return message(500, 'Internal Server Error');
        }
        if (!result) return message(500, 'Internal Server Error');
        this.#cache.set(identity, result);
      }
      if (!result.isAuthorized) return message(403, 'Forbidden');
      authorizerContext = result.context;
    }

    const event = httpApiEvent(this.#options.api, facts, route.routeKey, route.pathParameters, authorizerContext, body);
    let result: unknown;
    try {
      result = await route.target.invoke(event);
    } catch (error) {
      if (error instanceof IntegrationTimeoutError) return message(503, 'Service Unavailable');
      return message(500, 'Internal Server Error');
    }
    return integrationAnswer(result);
  }

  /** The matching route, else the `$default` route when there is one (no path parameters, as on API Gateway). */
  #route(method: string, path: string): HttpRouteMatch<LambdaInvoker> | undefined {
    const matched = this.#match(method, path);
    if (matched || !this.#options.defaultRoute) return matched;
    return { routeKey: '$default', pathParameters: {}, target: this.#options.defaultRoute };
  }
}

/** A simple-response authorizer answer, or undefined when it is malformed (API Gateway then answers 500). */
function readSimpleResponse(result: unknown): SimpleAuthorizerResult | undefined {
  if (!result || typeof result !== 'object') return undefined;
  const { isAuthorized, context } = result as { isAuthorized?: unknown; context?: unknown };
  if (typeof isAuthorized !== 'boolean') return undefined;
  return {
    isAuthorized,
    context: context && typeof context === 'object' ? (context as Record<string, unknown>) : null,
  };
}

/**
 * Maps a payload-2.0 integration result to HTTP: a result with `statusCode` is taken as a response; anything
 * else is JSON for a 200, as API Gateway infers.
 */
function integrationAnswer(result: unknown): Answer {
  if (result && typeof result === 'object' && 'statusCode' in result) {
    const { statusCode, headers, body, cookies, isBase64Encoded } = result as {
      statusCode: unknown;
      headers?: Record<string, unknown>;
      body?: unknown;
      cookies?: unknown;
      isBase64Encoded?: unknown;
    };
    if (typeof statusCode !== 'number') return message(500, 'Internal Server Error');
    const flatHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers ?? {})) flatHeaders[name.toLowerCase()] = String(value);
    const text = typeof body === 'string' ? body : '';
    return {
      statusCode,
      headers: flatHeaders,
      body: isBase64Encoded === true ? Buffer.from(text, 'base64') : text,
      cookies: Array.isArray(cookies) ? cookies.map(String) : undefined,
    };
  }
  const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body };
}
