import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { HttpRequest } from '@smithy/core/protocols';
import { UndiciHttpHandler } from '../../lambdas/core/undici-handler';
import { selfSignedCertificate } from '../helpers/self-signed-certificate';

// Real sockets: a plain HTTP server (the local emulator's case) and an HTTPS one with a certificate made for this
// run (AWS's case), each echoing what it received.

type Handler = (request: IncomingMessage, body: Buffer, response: ServerResponse) => void;

const echo: Handler = (request, body, response) => {
  response.setHeader('content-type', 'application/json');
  response.setHeader('x-multi', ['one', 'two']);
  // Two writes, so the client collects a body of more than one chunk.
  response.write(JSON.stringify({ method: request.method, url: request.url, host: request.headers.host }).slice(0, 5));
  response.end(
    `${JSON.stringify({ method: request.method, url: request.url, host: request.headers.host, body: body.toString() }).slice(5)}`,
  );
};

let handle: Handler = echo;
const serve = (request: IncomingMessage, response: ServerResponse) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => handle(request, Buffer.concat(chunks), response));
};

let plain: Server;
let secure: Server;
let certificate: string;
const handlers: UndiciHttpHandler[] = [];

function origin(server: Server, protocol: 'http:' | 'https:'): URL {
  return new URL(`${protocol}//localhost:${(server.address() as AddressInfo).port}`);
}

function handlerFor(url: URL, options: { requestTimeoutMs?: number; ca?: string } = {}): UndiciHttpHandler {
  const handler = new UndiciHttpHandler(url, {
    connections: 2,
    connectTimeoutMs: 3000,
    requestTimeoutMs: options.requestTimeoutMs ?? 5000,
    ca: options.ca,
  });
  handlers.push(handler);
  return handler;
}

function requestTo(url: URL, overrides: Partial<ConstructorParameters<typeof HttpRequest>[0]> = {}): HttpRequest {
  return new HttpRequest({
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    method: 'POST',
    path: '/prod/@connections/abc%3D',
    headers: { 'content-type': 'application/octet-stream' },
    body: new TextEncoder().encode('hello'),
    ...overrides,
  });
}

beforeAll(async () => {
  // A throwaway certificate for localhost, made here so no key is kept in the repository.
  const { key, cert } = await selfSignedCertificate();
  certificate = cert;
  secure = createTlsServer({ key, cert }, serve);
  plain = createServer(serve);
  await Promise.all(
    [plain, secure].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))),
  );
});

afterEach(() => {
  handle = echo;
  for (const handler of handlers.splice(0)) handler.destroy();
});

afterAll(async () => {
  for (const server of [plain, secure]) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

describe('UndiciHttpHandler', () => {
  it.each(['http:', 'https:'] as const)(
    'sends the request as given and returns status, headers and the whole body (%s)',
    async (protocol) => {
      const url = origin(protocol === 'http:' ? plain : secure, protocol);
      const handler = handlerFor(url, { ca: certificate });
      const { response } = await handler.handle(
        requestTo(url, { query: { a: 'b c' }, headers: { host: `localhost:${url.port}`, 'x-custom': 'yes' } }),
      );
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('application/json');
      expect(response.headers['x-multi']).toBe('one, two');
      expect(JSON.parse(Buffer.from(response.body as Uint8Array).toString())).toEqual({
        method: 'POST',
        url: '/prod/@connections/abc%3D?a=b%20c',
        host: `localhost:${url.port}`,
        body: 'hello',
      });
    },
  );

  it("verifies the server's certificate: an https endpoint with an untrusted certificate is refused", async () => {
    const url = origin(secure, 'https:');
    await expect(handlerFor(url).handle(requestTo(url))).rejects.toMatchObject({
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
  });

  it('fails an attempt whose answer does not come within the request timeout with a TimeoutError', async () => {
    handle = () => undefined;
    const url = origin(plain, 'http:');
    const error = await handlerFor(url, { requestTimeoutMs: 100 })
      .handle(requestTo(url))
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'TimeoutError', cause: { code: 'UND_ERR_HEADERS_TIMEOUT' } });
  });

  it('aborts a request when its abort signal fires', async () => {
    handle = () => undefined;
    const url = origin(plain, 'http:');
    const controller = new AbortController();
    const pending = handlerFor(url).handle(requestTo(url), { abortSignal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('refuses a request for another host than the one its pool is bound to', async () => {
    const url = origin(plain, 'http:');
    await expect(handlerFor(url).handle(requestTo(url, { hostname: 'elsewhere.example' }))).rejects.toThrow(
      'UndiciHttpHandler is bound to localhost and cannot send to elsewhere.example',
    );
  });

  it('opens no socket for a handler destroyed before its first request (the pool is loaded on first use)', async () => {
    const url = origin(plain, 'http:');
    let connections = 0;
    plain.on('connection', () => connections++);
    const handler = handlerFor(url);
    handler.destroy();
    await expect(handler.handle(requestTo(url))).rejects.toMatchObject({ code: 'UND_ERR_DESTROYED' });
    expect(connections).toBe(0);
  });

  it('takes a new request timeout from the SDK (updateHttpClientConfig)', () => {
    const handler = handlerFor(origin(plain, 'http:'));
    handler.updateHttpClientConfig('requestTimeout', 1234);
    expect(handler.httpHandlerConfigs()).toEqual({ requestTimeout: 1234 });
  });
});
