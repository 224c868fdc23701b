import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { localHttpApi, localWebSocketApi } from '../../local/emulator/api-identity';
import { handleConnectionsRequest } from '../../local/emulator/connections-api';
import { HttpApiEmulator, type HttpApiEmulatorOptions } from '../../local/emulator/http-api';
import { createLambdaInvoker, type LambdaHandler, type LambdaInvoker } from '../../local/emulator/lambda-runner';
import { createSigV4Verifier } from '../../local/emulator/sigv4-verifier';
import { WebSocketEmulator, type WebSocketEmulatorOptions } from '../../local/emulator/websocket-api';

/** The parts of an emulator event the tests read directly; the rest is asserted with `toMatchObject`. */
export interface RecordedEvent {
  requestContext: {
    routeKey: string;
    connectionId: string;
    requestId: string;
    authorizer?: Record<string, unknown>;
    [key: string]: unknown;
  };
  body?: string;
  [key: string]: unknown;
}

/** A test handler that records every event it receives. */
export interface RecordingFunction {
  invoker: LambdaInvoker;
  events: RecordedEvent[];
}

/**
 * Wraps `behaviour` as an invoker that records each event; the emulator tests assert on what handlers saw.
 */
export function recording(name: string, behaviour: LambdaHandler, timeoutMs = 2000): RecordingFunction {
  const events: RecordedEvent[] = [];
  const invoker = createLambdaInvoker(
    name,
    (event, context) => {
      events.push(event as RecordedEvent);
      return behaviour(event, context);
    },
    { timeoutMs },
  );
  return { invoker, events };
}

export const allow = (context: Record<string, unknown>) => ({
  principalId: String(context.userId ?? 'someone'),
  policyDocument: {
    Version: '2012-10-17',
    Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: '*' }],
  },
  context,
});

/** The key pair the test emulator's `@connections` accepts signatures of (region us-east-1). */
export const testCredentials = { accessKeyId: 'LOCALTESTKEY00000001', secretAccessKey: 'test-secret-not-a-real-one' };

export interface RunningWebSocketApi {
  emulator: WebSocketEmulator;
  /** The stage URL, `ws://127.0.0.1:<port>/local`. */
  url: string;
  /** The server's root, without the stage: what a client that forgets the stage connects to. */
  origin: string;
  callbackUrl: string;
  close(): Promise<void>;
}

/** Starts a WebSocket emulator (with `@connections`) on a free port. */
export async function startWebSocketApi(
  options: Omit<WebSocketEmulatorOptions, 'api' | 'routeSelectionExpression' | 'idleTimeoutMs' | 'maxConnectionMs'> &
    Partial<WebSocketEmulatorOptions>,
): Promise<RunningWebSocketApi> {
  const emulator = new WebSocketEmulator({
    api: localWebSocketApi,
    routeSelectionExpression: '$request.body.action',
    idleTimeoutMs: 60_000,
    maxConnectionMs: 120_000,
    ...options,
  });
  const verify = createSigV4Verifier({ credentials: testCredentials, region: 'us-east-1', service: 'execute-api' });
  const server = createServer((request, response) => {
    if (!handleConnectionsRequest(emulator.pool, request, response, verify, options.faults)) {
      response.writeHead(404).end();
    }
  });
  server.on('upgrade', (request, socket, head) => emulator.handleUpgrade(request, socket, head));
  const port = await listen(server);
  return {
    emulator,
    url: `ws://127.0.0.1:${port}/${(options.api ?? localWebSocketApi).stage}`,
    origin: `ws://127.0.0.1:${port}`,
    callbackUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      await emulator.closeAll(1001, 500);
      await closeServer(server);
    },
  };
}

/** Starts an HTTP API emulator on a free port. */
export async function startHttpApi(
  options: Omit<HttpApiEmulatorOptions, 'api'>,
): Promise<{ url: string; close(): Promise<void> }> {
  const emulator = new HttpApiEmulator({ api: localHttpApi, ...options });
  const server = createServer((request, response) => void emulator.handle(request, response));
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** Opens a client and resolves once it is open, or rejects with the refusing HTTP status. */
export function openClient(
  url: string,
  options: WebSocket.ClientOptions = {},
  protocols?: string[],
): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, protocols, options);
    socket.once('open', () => resolve(socket));
    socket.once('unexpected-response', (_request, response) => {
      reject(Object.assign(new Error(`refused with ${response.statusCode}`), { statusCode: response.statusCode }));
    });
    socket.once('error', reject);
  });
}

/** The next frame the client receives, parsed. */
export function nextFrame(socket: WebSocket, timeoutMs = 2000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no frame arrived')), timeoutMs);
    socket.once('message', (data) => {
      clearTimeout(timer);
      resolve(JSON.parse(data.toString()));
    });
  });
}

/** Resolves with the close code when the socket closes. */
export function closed(socket: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    if (socket.readyState === WebSocket.CLOSED) return resolve(-1);
    socket.once('close', (code) => resolve(code));
  });
}

/** Polls `probe` until it returns true or the time runs out. */
export async function eventually(probe: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * The key structure of a value: object keys (sorted) recursively, without the values, so an emulator event
 * can be compared with a recorded API Gateway event whose values differ.
 */
export function keyStructure(value: unknown, ignore: ReadonlySet<string> = new Set()): unknown {
  if (Array.isArray(value)) return value.length > 0 ? [keyStructure(value[0], ignore)] : [];
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .filter((key) => !ignore.has(key))
        .sort()
        .map((key) => [key, keyStructure((value as Record<string, unknown>)[key], ignore)]),
    );
  }
  return typeof value;
}

/**
 * Header names (lower case) the gateway itself decides on in WebSocket events: it adds or drops them, or they are
 * the handshake's own. Any other header is the client's choice and passes through as it came.
 */
export const webSocketGatewayHeaders: ReadonlySet<string> = new Set([
  'connection',
  'upgrade',
  'content-length',
  'host',
  'sec-websocket-extensions',
  'sec-websocket-key',
  'sec-websocket-version',
  'x-amzn-trace-id',
  'x-forwarded-for',
  'x-forwarded-port',
  'x-forwarded-proto',
  'x-api-key',
  'x-restapi',
]);

/** The same for HTTP API events (payload 2.0): `content-length` depends on the client there. */
export const httpGatewayHeaders: ReadonlySet<string> = new Set([
  'connection',
  'host',
  'x-amzn-trace-id',
  'x-forwarded-for',
  'x-forwarded-port',
  'x-forwarded-proto',
]);

/**
 * A copy of an event whose `headers` and `multiValueHeaders` keep only the names in `gatewayNames` (compared in
 * lower case, kept in their own case), so `keyStructure` compares exactly the headers the gateway is answerable for.
 */
export function withGatewayHeadersOnly(
  event: Record<string, unknown>,
  gatewayNames: ReadonlySet<string>,
): Record<string, unknown> {
  const copy = { ...event };
  for (const key of ['headers', 'multiValueHeaders']) {
    const headers = copy[key];
    if (!headers || typeof headers !== 'object') continue;
    copy[key] = Object.fromEntries(Object.entries(headers).filter(([name]) => gatewayNames.has(name.toLowerCase())));
  }
  return copy;
}
