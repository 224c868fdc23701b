import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { io, type RealtimeSocket } from '../../client';
import { createEnvelope } from '../../lambdas/core/envelope';
import { bearerSubprotocolPrefix, webSocketSubprotocol } from '../../lambdas/routes';

/** One handshake the fake gateway saw. */
export interface HandshakeSeen {
  at: number;
  token: string | undefined;
  carrier: 'header' | 'subprotocol' | 'query' | 'none';
  /** The HTTP status it answered: 101 when accepted. */
  status: number;
}

/** A server-side connection of the fake gateway. */
export interface GatewayConnection {
  connectionId: string;
  userId: string;
  socket: WebSocket;
  /** Every frame the client sent, parsed. */
  frames: Array<Record<string, unknown>>;
  /** The `exp` (epoch ms) of the token it connected with, for a {@link fakeJwt}. */
  tokenExpiresAtMs?: number;
}

/**
 * An unsigned JWT-shaped token for the fake gateway: what the adapter reads (`sub`, `exp`) without a signature
 * (the fake verifies nothing; the real authorizer's checks are tested elsewhere). `nonce` makes two tokens with
 * the same `exp` differ, as two real tokens would.
 *
 * @example
 * fakeJwt('user123', Date.now() + 60_000); // 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyMTIzIiwiZXhwIjox….fake'
 */
export function fakeJwt(userId: string, expiresAtMs: number, nonce = 0): string {
  const segment = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${segment({ alg: 'none' })}.${segment({ sub: userId, exp: Math.floor(expiresAtMs / 1000), nonce })}.fake`;
}

/** The `sub` and `exp` (epoch ms) of a {@link fakeJwt}; undefined for anything else. */
function readFakeJwt(token: string | undefined): { userId: string; expiresAtMs: number } | undefined {
  const segments = token?.split('.');
  if (segments?.length !== 3) return undefined;
  try {
    const { sub, exp } = JSON.parse(Buffer.from(segments[1], 'base64url').toString('utf8'));
    return typeof sub === 'string' && typeof exp === 'number' ? { userId: sub, expiresAtMs: exp * 1000 } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A small stand-in for API Gateway's WebSocket side, enough to test the adapter's behaviour: the token carriers,
 * 401/403 refusals, `hello` → `authenticated`, `resume` → an empty `replay`, `ping` → `pong`, and closes the way API
 * Gateway closes.
 * Tokens are `user.<userId>` or a {@link fakeJwt} (401 once its `exp` has passed, and a `send` on a connection
 * whose token has expired is answered `token_expired`, as the server does); `forbidden` gets 403; anything else 401.
 */
export class FakeGateway {
  readonly handshakes: HandshakeSeen[] = [];
  readonly connections: GatewayConnection[] = [];
  /** When set, handshakes get this status instead of being checked (e.g. 503 while "down"). */
  refuseWith: number | undefined;
  /** Delay before answering `hello`, to hold a connection between open and authenticated. */
  helloDelayMs = 0;
  /** When false, `ping` frames go unanswered (a dead peer). */
  answerPings = true;
  /** Rooms whose `join` is refused with a `forbidden` error frame. */
  readonly refusedRooms = new Set<string>();
  private server!: WebSocketServer;
  private nextId = 1;
  port = 0;

  /** Starts listening on a free port (or the given one, to come back after `stop`). */
  async start(port = 0): Promise<this> {
    this.server = new WebSocketServer({
      port,
      host: '127.0.0.1',
      verifyClient: (info: { req: IncomingMessage }, done: (ok: boolean, status?: number) => void) => {
        const seen = this.readToken(info.req);
        const status = this.refuseWith ?? this.statusFor(seen.token);
        this.handshakes.push({ at: Date.now(), ...seen, status });
        if (status === 101) done(true);
        else done(false, status);
      },
      handleProtocols: (protocols: Set<string>) => (protocols.has(webSocketSubprotocol) ? webSocketSubprotocol : false),
    });
    this.server.on('connection', (socket, request) => this.accept(socket, request));
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Stops listening and drops every connection abruptly (the client sees 1006). */
  async stop(): Promise<void> {
    for (const connection of this.connections) connection.socket.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Pushes an envelope to a connection, as the management API's PostToConnection does. */
  push(connection: GatewayConnection, type: string, data: unknown, id?: string): void {
    connection.socket.send(JSON.stringify(createEnvelope(type, data, { id })));
  }

  /** The open connections. */
  get open(): GatewayConnection[] {
    return this.connections.filter((connection) => connection.socket.readyState === WebSocket.OPEN);
  }

  private readToken(request: IncomingMessage): Omit<HandshakeSeen, 'at' | 'status'> {
    const authorization = request.headers.authorization;
    if (authorization?.startsWith('Bearer ')) return { token: authorization.slice(7), carrier: 'header' };
    const protocols = String(request.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((protocol) => protocol.trim());
    const bearer = protocols.find((protocol) => protocol.startsWith(bearerSubprotocolPrefix));
    if (bearer) return { token: bearer.slice(bearerSubprotocolPrefix.length), carrier: 'subprotocol' };
    const query = new URL(request.url ?? '/', 'http://localhost').searchParams.get('token');
    if (query) return { token: query, carrier: 'query' };
    return { token: undefined, carrier: 'none' };
  }

  private statusFor(token: string | undefined): number {
    if (token === 'forbidden') return 403;
    const jwt = readFakeJwt(token);
    if (jwt) return jwt.expiresAtMs > Date.now() ? 101 : 401;
    return token?.startsWith('user.') ? 101 : 401;
  }

  private accept(socket: WebSocket, request: IncomingMessage): void {
    const { token } = this.readToken(request);
    const jwt = readFakeJwt(token);
    const connection: GatewayConnection = {
      connectionId: `conn-${this.nextId++}`,
      userId: jwt?.userId ?? token!.slice('user.'.length),
      socket,
      frames: [],
      tokenExpiresAtMs: jwt?.expiresAtMs,
    };
    this.connections.push(connection);
    socket.on('message', (raw) => {
      const frame = JSON.parse(String(raw)) as Record<string, unknown>;
      connection.frames.push(frame);
      if (frame.action === 'hello') {
        const answer = () =>
          this.push(connection, 'authenticated', { userId: connection.userId, connectionId: connection.connectionId });
        if (this.helloDelayMs > 0) setTimeout(answer, this.helloDelayMs);
        else answer();
      } else if (frame.action === 'resume') {
        // The resume route's answer when nothing was missed (lambdas/core/resume.ts): one empty, final page.
        this.push(connection, 'replay', { messages: [], recovered: frame.after !== undefined, gaps: [], windowMs: 0 });
      } else if (frame.action === 'join' && typeof frame.room === 'string') {
        // The join route's answer (lambdas/handlers/ws-rooms.ts), matched to its request by ackId; a refused room gets
        // the route's error frame.
        const joined = this.refusedRooms.has(frame.room)
          ? createEnvelope('error', { code: 'forbidden', message: `room ${frame.room} is not granted` })
          : createEnvelope('joined', { room: frame.room });
        connection.socket.send(
          JSON.stringify({ ...joined, ...(frame.ackId === undefined ? {} : { ackId: frame.ackId }) }),
        );
      } else if (frame.action === 'ping' && this.answerPings) {
        this.push(connection, 'pong', { serverTime: new Date().toISOString() });
      } else if (frame.action === 'send' && connection.tokenExpiresAtMs !== undefined) {
        if (connection.tokenExpiresAtMs < Date.now()) {
          this.push(connection, 'error', { code: 'token_expired', message: 'the token of this connection expired' });
        } else {
          this.push(connection, 'delivery', { messageId: 'm-1', recipients: {}, notConnected: [] });
        }
      }
    });
  }
}

/** Resolves when `predicate` holds, polling every 5 ms; rejects with `what` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A browser-like WebSocket over `ws`: no headers, no `terminate`, and a refused handshake shows only as an error
 * without a status followed by close 1006, exactly what a page sees.
 */
export class BrowserLikeWebSocket {
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: { message?: string }) => void) | null = null;
  private readonly inner: WebSocket;

  constructor(url: string, protocols?: string | string[]) {
    this.inner = new WebSocket(url, protocols);
    this.inner.on('open', () => this.onopen?.({}));
    this.inner.on('message', (data) => this.onmessage?.({ data: String(data) }));
    this.inner.on('error', () => this.onerror?.({}));
    this.inner.on('close', (code, reason) => this.onclose?.({ code, reason: String(reason) }));
  }

  get readyState(): number {
    return this.inner.readyState;
  }

  send(data: string): void {
    this.inner.send(data);
  }

  close(code?: number, reason?: string): void {
    this.inner.close(code, reason);
  }
}

/**
 * Per-test fake gateway and socket bookkeeping for a `describe` block: a fresh gateway before each test, and
 * every socket opened through `open` disconnected (then the gateway stopped) after it.
 *
 * @example
 * const harness = useFakeGateway();
 * it('connects', async () => {
 *   const socket = harness.open({ auth: { token: 'user.user123' } });
 *   await waitFor(() => harness.gateway.handshakes.length === 1, 'a handshake');
 * });
 */
export function useFakeGateway(): {
  readonly gateway: FakeGateway;
  open(options: Parameters<typeof io>[1], url?: string): RealtimeSocket;
  /** Starts a new gateway on `port` (after the test stopped the old one), to model a server coming back. */
  restart(port: number): Promise<FakeGateway>;
} {
  let current: FakeGateway | undefined;
  const sockets: RealtimeSocket[] = [];
  beforeEach(async () => {
    current = await new FakeGateway().start();
  });
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.disconnect();
    await current?.stop();
  });
  const gateway = (): FakeGateway => {
    if (!current) throw new Error('the fake gateway runs only inside a test');
    return current;
  };
  return {
    get gateway(): FakeGateway {
      return gateway();
    },
    async restart(port) {
      current = await new FakeGateway().start(port);
      return current;
    },
    open(options, url) {
      const socket = io(url ?? gateway().url, options);
      sockets.push(socket);
      return socket;
    },
  };
}
