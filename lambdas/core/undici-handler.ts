/// <reference path="./undici-pool.d.ts" />
import { type HttpHandler, type HttpRequest, HttpResponse } from '@smithy/core/protocols';
import type { HttpHandlerOptions } from '@smithy/types';
import type { Dispatcher, Pool } from 'undici';

let poolClass: Promise<typeof Pool> | undefined;

/**
 * undici's pool, loaded by the first request rather than on import, for the Lambda bundles: the pool module alone,
 * not `undici`'s index (which adds fetch, WebSocket, caches and mocks: 520 KB minified against 280 KB, most of the
 * 280 the HTTP parser's WebAssembly in its SIMD and plain builds); and a dynamic `import()` inside a function, which
 * esbuild drops with the function from the bundles of handlers that never build a management client (a static
 * `import` of a CommonJS module it keeps for its side effects, +276 KB each). Dynamic, not `require`: the server
 * library's ESM build keeps its dependencies external and has no `require`.
 */
function loadPool(): Promise<typeof Pool> {
  poolClass ??= import('undici/lib/dispatcher/pool.js').then((module) => module.default);
  return poolClass;
}

export interface UndiciHandlerOptions {
  /** Sockets kept open to the endpoint (undici `connections`); one request at a time on each (no pipelining). */
  connections: number;
  /** Milliseconds to open a socket (TCP and TLS) before the attempt fails with a TimeoutError. */
  connectTimeoutMs: number;
  /** Milliseconds to wait for the answer's headers, then between body chunks, before a TimeoutError. */
  requestTimeoutMs: number;
  /** Certificate authorities to trust instead of Node's bundled ones (a test server's own); default: Node's. */
  ca?: string | Buffer;
}

/** undici's timeout error codes: the SDK retries an error named `TimeoutError`, as NodeHttpHandler raises it. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/**
 * Gives undici's errors the names and codes the SDK's retry strategy classifies (`isTransientError`), so a
 * transport failure is retried exactly as it is with the SDK's own NodeHttpHandler: a timeout becomes a
 * `TimeoutError`, a socket closed under a request (undici's `UND_ERR_SOCKET`, Node's "socket hang up") an
 * `ECONNRESET`. undici's error stays as the `cause`.
 */
function asSdkTransportError(error: Error & { code?: string }): Error {
  if (error.code !== undefined && TIMEOUT_CODES.has(error.code)) {
    return Object.assign(new Error(error.message, { cause: error }), { name: 'TimeoutError' });
  }
  if (error.code === 'UND_ERR_SOCKET' || error.code === 'UND_ERR_CLOSED') {
    return Object.assign(new Error(error.message, { cause: error }), { code: 'ECONNRESET' });
  }
  return error;
}

/** Whether a query has any parameter, without building an array of its keys (the posts have none). */
function hasEntries(query: object | undefined): boolean {
  for (const _ in query) return true;
  return false;
}

/**
 * One request's undici handler: the answer collected into an `HttpResponse` with its body in one `Uint8Array`.
 * A class rather than an object literal of closures: its methods are shared, so a post allocates one object here
 * (a broadcast's thousands of posts each paid for six functions before). The headers object undici parsed for this
 * answer is handed on as is (a repeated header's values joined, as the SDK's handler does), not copied.
 */
class ResponseCollector implements Dispatcher.DispatchHandler {
  private readonly chunks: Buffer[] = [];
  private statusCode = 0;
  private headers: Record<string, string> = {};
  private onAbort: (() => void) | undefined;

  constructor(
    private readonly resolve: (value: { response: HttpResponse }) => void,
    private readonly reject: (error: Error) => void,
    private readonly abortSignal: AbortSignal | undefined,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    const abortSignal = this.abortSignal;
    if (typeof abortSignal?.addEventListener !== 'function') return;
    this.onAbort = () => controller.abort(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
    abortSignal.addEventListener('abort', this.onAbort, { once: true });
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    this.statusCode = statusCode;
    for (const name in headers) {
      const value = headers[name];
      if (Array.isArray(value)) headers[name] = value.join(', ');
      else if (value === undefined) delete headers[name];
    }
    this.headers = headers as Record<string, string>;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.settle();
    const chunks = this.chunks;
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    this.resolve({ response: new HttpResponse({ statusCode: this.statusCode, headers: this.headers, body }) });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.settle();
    this.reject(asSdkTransportError(error));
  }

  private settle(): void {
    if (this.onAbort !== undefined) this.abortSignal?.removeEventListener('abort', this.onAbort);
  }
}

/**
 * The SDK's `requestHandler` on an undici keep-alive pool to one origin (the management endpoint). Per request it
 * does no more than undici needs: no `http.ClientRequest`, no agent bookkeeping, no stream for a response of a few
 * bytes (the body is collected into one `Uint8Array`, which the SDK's deserializers read as is).
 *
 * TLS is undici's: an `https:` origin is connected with Node's `tls` (certificate and host name verified against
 * Node's CA bundle), `http:` (the local emulator) in the clear.
 *
 * @example
 * const requestHandler = new UndiciHttpHandler(new URL('https://abc.execute-api.eu-west-1.amazonaws.com'), {
 *   connections: 200, connectTimeoutMs: 3000, requestTimeoutMs: 10000 });
 * new ApiGatewayManagementApiClient({ endpoint, requestHandler });
 */
export class UndiciHttpHandler implements HttpHandler<{ requestTimeout?: number }> {
  /** Set once the pool module is loaded (the first request waits for it). */
  private pool?: Dispatcher;
  private poolLoading?: Promise<Dispatcher>;
  private destroyed = false;
  private readonly hostname: string;
  private requestTimeoutMs: number;

  constructor(
    private readonly origin: URL,
    private readonly options: UndiciHandlerOptions,
  ) {
    this.hostname = origin.hostname;
    this.requestTimeoutMs = options.requestTimeoutMs;
  }

  private openPool(): Promise<Dispatcher> {
    this.poolLoading ??= loadPool().then((PoolClass) => {
      const pool = new PoolClass(this.origin.origin, {
        connections: this.options.connections,
        pipelining: 1,
        connectTimeout: this.options.connectTimeoutMs,
        ...(this.options.ca === undefined ? {} : { connect: { ca: this.options.ca } }),
      });
      // A destroy() that came while the module loaded closes the pool at once.
      if (this.destroyed) pool.destroy().catch(() => undefined);
      this.pool = pool;
      return pool;
    });
    return this.poolLoading;
  }

  handle(request: HttpRequest, options: HttpHandlerOptions = {}): Promise<{ response: HttpResponse }> {
    const pool = this.pool;
    if (pool === undefined) return this.openPool().then(() => this.handle(request, options));
    if (request.hostname !== this.hostname) {
      return Promise.reject(
        new Error(`UndiciHttpHandler is bound to ${this.hostname} and cannot send to ${request.hostname}`),
      );
    }
    // The SDK types its abortSignal loosely (a browser-style signal or its own); both have `aborted`, and any
    // signal of Node's has addEventListener.
    const abortSignal = options.abortSignal as AbortSignal | undefined;
    if (abortSignal?.aborted) {
      return Promise.reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
    }
    return new Promise((resolve, reject) => {
      pool.dispatch(
        {
          method: request.method as Dispatcher.HttpMethod,
          path: request.path,
          query: hasEntries(request.query) ? request.query : undefined,
          headers: request.headers,
          body: request.body as string | Uint8Array | undefined,
          headersTimeout: this.requestTimeoutMs,
          bodyTimeout: this.requestTimeoutMs,
        },
        new ResponseCollector(resolve, reject, abortSignal),
      );
    });
  }

  updateHttpClientConfig(key: 'requestTimeout', value: number | undefined): void {
    if (key === 'requestTimeout' && value !== undefined) this.requestTimeoutMs = value;
  }

  httpHandlerConfigs(): { requestTimeout?: number } {
    return { requestTimeout: this.requestTimeoutMs };
  }

  /** Closes the pool's sockets (the SDK client's `destroy()` calls this). */
  destroy(): void {
    this.destroyed = true;
    this.pool?.destroy().catch(() => undefined);
  }
}
