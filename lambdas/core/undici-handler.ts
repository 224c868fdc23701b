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
      const chunks: Buffer[] = [];
      let statusCode = 0;
      let headers: Record<string, string> = {};
      let onAbort: (() => void) | undefined;
      const settle = () => {
        if (onAbort !== undefined) abortSignal?.removeEventListener('abort', onAbort);
      };
      pool.dispatch(
        {
          method: request.method as Dispatcher.HttpMethod,
          path: request.path,
          query: request.query !== undefined && Object.keys(request.query).length > 0 ? request.query : undefined,
          headers: request.headers,
          body: request.body as string | Uint8Array | undefined,
          headersTimeout: this.requestTimeoutMs,
          bodyTimeout: this.requestTimeoutMs,
        },
        {
          onRequestStart(controller) {
            if (typeof abortSignal?.addEventListener !== 'function') return;
            onAbort = () => controller.abort(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
            abortSignal.addEventListener('abort', onAbort, { once: true });
          },
          onResponseStart(_controller, status, responseHeaders) {
            statusCode = status;
            headers = {};
            for (const name of Object.keys(responseHeaders)) {
              const value = responseHeaders[name];
              if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
            }
          },
          onResponseData(_controller, chunk) {
            chunks.push(chunk);
          },
          onResponseEnd() {
            settle();
            const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
            resolve({ response: new HttpResponse({ statusCode, headers, body }) });
          },
          onResponseError(_controller, error) {
            settle();
            reject(asSdkTransportError(error));
          },
        },
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
