import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { ApiIdentity } from './api-identity';
import { ConnectionPool, type PooledConnection } from './connection-pool';
import type { FaultInjector } from './faults';
import { FrameSizeGuard, MAX_FRAME_BYTES } from './frame-size-guard';
import { newConnectionId, newTraceId } from './ids';
import { IntegrationTimeoutError, type LambdaInvoker } from './lambda-runner';
import { caseKeptHeaders, queryParameters, sourceIpOf } from './request-parts';
import { compileRouteSelection } from './route-selection';
import { type ConnectionFacts, disconnectEvent, messageEvent } from './websocket-events';
import { domainNameOf, refuseUpgrade, runHandshake } from './websocket-handshake';

/** One WebSocket route's integration. */
export interface WebSocketRouteTarget {
  invoker: LambdaInvoker;
  /** Whether the integration's `body` goes back to the caller (a route response). */
  returnResponse: boolean;
}

export interface WebSocketEmulatorOptions {
  api: ApiIdentity;
  /** The `$connect` REQUEST authorizer; none means every upgrade reaches `$connect`. */
  authorizer?: LambdaInvoker;
  /** Routes by key: `$connect`, `$disconnect`, `$default` and custom keys, all optional. */
  routes: ReadonlyMap<string, WebSocketRouteTarget>;
  routeSelectionExpression: string;
  /** Closes a connection (1001) after this long without a frame from the client. API Gateway: 10 min. */
  idleTimeoutMs: number;
  /** Closes a connection (1001) after this long whatever happens. API Gateway: 2 h. */
  maxConnectionMs: number;
  /** A larger message closes the connection with 1009. API Gateway: 128 KB. */
  maxMessageBytes?: number;
  /** A larger single frame closes the connection with 1009. API Gateway: 32 KB. */
  maxFrameBytes?: number;
  /** Injected faults: a share of `$disconnect` events is never delivered (the socket closes all the same). */
  faults?: FaultInjector;
  /** Where emulator-level problems (a failing `$disconnect`, ...) are reported. */
  log?: (message: string) => void;
}

const MAX_MESSAGE_BYTES = 128 * 1024;

/**
 * Reasons in `$disconnect` events for the codes the emulator produces itself (a client's own close frame keeps its
 * own reason, even an empty one). No captured event shows a reason for 1002, 1003 or 1007: they stay empty.
 */
const closeReasons: Record<number, string> = {
  1000: 'Connection Closed Normally',
  1001: 'Going away',
  1002: '',
  1003: '',
  1005: 'Client-side close frame status not set',
  1006: 'Connection closed abnormally',
  1007: '',
  1009: 'Message too big',
};

/**
 * The close code `ws` sends when it ends a connection over a client's malformed frame (it reports 1006 in `close`
 * because no close frame came back), by its error code: invalid UTF-8 in a text frame is 1007, an oversized
 * message 1009, any other protocol violation 1002.
 */
const protocolErrorCodes: Record<string, number> = {
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
};

/**
 * The WebSocket side of API Gateway: accepts upgrades after the authorizer and `$connect`, routes each frame
 * by the route selection expression, sends route responses back, enforces the message limit and the idle and
 * lifetime timeouts, and runs `$disconnect` whenever a connection ends, whoever ends it.
 *
 * @example
 * const emulator = new WebSocketEmulator({ api: localWebSocketApi, routes, routeSelectionExpression: '$request.body.action',
 *   idleTimeoutMs: 600_000, maxConnectionMs: 7_200_000 });
 * httpServer.on('upgrade', (request, socket, head) => emulator.handleUpgrade(request, socket, head));
 */
export class WebSocketEmulator {
  readonly pool = new ConnectionPool();
  readonly #options: WebSocketEmulatorOptions;
  readonly #server: WebSocketServer;
  readonly #selectRoute: (body: string) => string | undefined;
  /** Subprotocol chosen by `$connect`, per upgrade request, for ws's `handleProtocols`. */
  readonly #chosenSubprotocols = new WeakMap<IncomingMessage, string>();
  /** Invocations in flight, so shutdown can wait for every `$disconnect`. */
  readonly #inFlight = new Set<Promise<unknown>>();
  /** Set by `closeAll`: an upgrade still in its handshake then is refused instead of opening after shutdown. */
  #closing = false;

  constructor(options: WebSocketEmulatorOptions) {
    this.#options = options;
    this.#selectRoute = compileRouteSelection(options.routeSelectionExpression, new Set(options.routes.keys()));
    this.#server = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxMessageBytes ?? MAX_MESSAGE_BYTES,
      handleProtocols: (_offered, request) => this.#chosenSubprotocols.get(request) ?? false,
    });
  }

  /**
   * Handles one HTTP upgrade request: 403 unless its path is `/{stage}` (or `/{stage}/`), then the authorizer, `$connect`, and 101
   * or a refusal with a status.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const url = new URL(request.url ?? '/', 'http://localhost');
    // A WebSocket API answers on `/{stage}` only: any other path (`/`, socket.io-client's `/socket.io/`) is refused
    // with 403 Forbidden before any handler runs, as execute-api refuses a path no stage or route matches. The stage
    // with a trailing slash is the stage: socket.io-client appends one to its `path` (engine.io-client, since 2012;
    // socketio/socket.io-client issue #1550), and API Gateway upgrades `/{stage}/?EIO=…&transport=websocket` and runs
    // `$connect` (richardeschloss/nuxt-socket-io issue #156: `path: "/development"`, websocket transport, 101 and the
    // $connect Lambda invoked; socketio/socket.io issue #5103 reports the same 101).
    const stagePath = `/${this.#options.api.stage}`;
    if (url.pathname !== stagePath && url.pathname !== `${stagePath}/`) {
      refuseUpgrade(socket, 403, JSON.stringify({ message: 'Forbidden' }));
      return;
    }
    // A malformed handshake is refused before any handler runs, as the gateway does; otherwise $connect could
    // record a connection that ws then refuses to open.
    if (!isWellFormedHandshake(request)) {
      refuseUpgrade(socket, 400, JSON.stringify({ message: 'Bad Request' }));
      return;
    }
    const facts: ConnectionFacts = {
      connectionId: newConnectionId(),
      connectedAt: Date.now(),
      domainName: domainNameOf(request),
      sourceIp: sourceIpOf(request),
      userAgent: request.headers['user-agent'],
    };
    // One trace id per upgrade request: the authorizer's and $connect's events are the same request's.
    const { headers, multiValueHeaders } = caseKeptHeaders(request);
    const traceId = newTraceId(facts.connectedAt);
    const handshake = {
      headers: { ...headers, 'X-Amzn-Trace-Id': traceId },
      multiValueHeaders: { ...multiValueHeaders, 'X-Amzn-Trace-Id': [traceId] },
      ...queryParameters(url),
    };
    const work = runHandshake({
      api: this.#options.api,
      connection: facts,
      handshake,
      authorizer: this.#options.authorizer,
      connectRoute: this.#options.routes.get('$connect')?.invoker,
    }).then((outcome) => {
      if (!outcome.accepted) {
        refuseUpgrade(socket, outcome.statusCode, outcome.body);
        return;
      }
      if (socket.destroyed || this.#closing) {
        // The client left, or shutdown began, while $connect ran: $connect has already recorded the connection,
        // so $disconnect must follow. A socket accepted now would outlive the shutdown that never saw it.
        refuseUpgrade(socket, 503, JSON.stringify({ message: 'Service Unavailable' }));
        this.#runDisconnect(facts, 1006, closeReasons[1006]);
        return;
      }
      if (outcome.subprotocol) this.#chosenSubprotocols.set(request, outcome.subprotocol);
      this.#server.handleUpgrade(request, socket, head, (webSocket) => this.#accept(webSocket, socket, facts));
    });
    // The handshake code catches handler failures itself; this only guards the emulator's own faults.
    this.#track(
      work.catch((error: unknown) => {
        this.#options.log?.(`upgrade failed: ${String(error)}`);
        refuseUpgrade(socket, 500, JSON.stringify({ message: 'Internal server error' }));
      }),
    );
  }

  #accept(socket: WebSocket, rawSocket: Duplex, facts: ConnectionFacts): void {
    const connection: PooledConnection = { facts, socket, lastActiveAt: Date.now() };
    this.pool.add(connection);
    // ws calls back synchronously after it attached its own reader, so no byte can pass before this one is in;
    // prepended, it sees each chunk before ws turns it into a message.
    const guard = new FrameSizeGuard(this.#options.maxFrameBytes ?? MAX_FRAME_BYTES, () =>
      this.pool.close(facts.connectionId, 1009, closeReasons[1009]),
    );
    rawSocket.prependListener('data', (chunk: Buffer) => guard.inspect(chunk));
    const { idleTimeoutMs, maxConnectionMs } = this.#options;
    const expire = () => this.pool.close(facts.connectionId, 1001, closeReasons[1001]);
    connection.idleTimer = setTimeout(expire, idleTimeoutMs);
    connection.lifetimeTimer = setTimeout(expire, maxConnectionMs);

    socket.on('message', (data, isBinary) => {
      // A message still parsed after the emulator began closing (an oversized frame) is not delivered.
      if (connection.closedBy) return;
      if (isBinary) {
        // API Gateway WebSocket APIs take no binary frames from clients: "API Gateway rejects it and disconnects the
        // client with code 1003" (developer guide, "Binary media types for WebSocket APIs in API Gateway").
        this.pool.close(facts.connectionId, 1003, closeReasons[1003]);
        return;
      }
      connection.lastActiveAt = Date.now();
      // Only client frames count as activity on API Gateway; server posts do not keep a connection alive.
      connection.idleTimer?.refresh();
      this.#track(this.#dispatch(connection, messageText(data)));
    });
    socket.on('error', (error: Error & { code?: string }) => {
      if (!error.code?.startsWith('WS_ERR_')) return;
      // ws has already sent the close frame with this code; $disconnect must report it, not the 1006 of `close`.
      const code = protocolErrorCodes[error.code ?? ''] ?? 1002;
      connection.closedBy ??= { code, reason: closeReasons[code] };
    });
    socket.on('close', (code, reason) => {
      clearTimeout(connection.idleTimer);
      clearTimeout(connection.lifetimeTimer);
      this.pool.remove(facts.connectionId);
      // A client's close frame reaches $disconnect with its own reason, an empty one included (aws/aws-lambda-go
      // events/testdata/apigw-websocket-request-disconnect.json: 1001 with ""); 1005 and 1006, which no close frame
      // carries, get API Gateway's texts.
      const clientReason = code === 1005 || code === 1006 ? closeReasons[code] : reason.toString();
      const closedBy = connection.closedBy ?? { code, reason: clientReason };
      // A vanished connection (network loss) gets no $disconnect; nor does one whose event the faults drop.
      if (connection.vanished) return;
      if (this.#options.faults?.dropsDisconnect(facts.connectionId)) {
        this.#options.log?.(`$disconnect of ${facts.connectionId} dropped (injected fault)`);
        return;
      }
      this.#runDisconnect(facts, closedBy.code, closedBy.reason);
    });
  }

  async #dispatch(connection: PooledConnection, body: string): Promise<void> {
    const { facts, socket } = connection;
    const routeKey = this.#selectRoute(body);
    const target = routeKey === undefined ? undefined : this.#options.routes.get(routeKey);
    const event = messageEvent(this.#options.api, facts, routeKey ?? '$default', body);
    const { requestId } = event.requestContext;
    const reply = (text: string) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(text);
    };
    if (!target) {
      reply(JSON.stringify({ message: 'Forbidden', connectionId: facts.connectionId, requestId }));
      return;
    }
    let result: unknown;
    try {
      result = await target.invoker.invoke(event);
    } catch (error) {
      const message = error instanceof IntegrationTimeoutError ? 'Endpoint request timed out' : 'Internal server error';
      reply(JSON.stringify({ message, connectionId: facts.connectionId, requestId }));
      return;
    }
    if (!target.returnResponse) return;
    const responseBody = (result as { body?: unknown } | undefined)?.body;
    if (typeof responseBody === 'string') reply(responseBody);
  }

  #runDisconnect(facts: ConnectionFacts, statusCode: number, reason: string): void {
    const target = this.#options.routes.get('$disconnect');
    if (!target) return;
    const work = target.invoker
      .invoke(disconnectEvent(this.#options.api, facts, statusCode, reason))
      .catch((error: unknown) => this.#options.log?.(`$disconnect of ${facts.connectionId} failed: ${String(error)}`));
    this.#track(work);
  }

  #track(work: Promise<unknown>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  /** Waits until no invocation (handshake, route, `$disconnect`) is running. */
  async settle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /**
   * Closes every connection with `code` (1001 "Going away" on shutdown) and waits for each `$disconnect`.
   * A client that does not answer the close handshake within `graceMs` is cut off.
   */
  async closeAll(code = 1001, graceMs = 2000): Promise<void> {
    this.#closing = true;
    const connections = this.pool.all();
    const closed = connections.map(
      ({ socket }) =>
        new Promise<void>((resolve) => {
          if (socket.readyState === WebSocket.CLOSED) return resolve();
          socket.once('close', () => resolve());
        }),
    );
    for (const { facts } of connections) this.pool.close(facts.connectionId, code, closeReasons[code] ?? '');
    const cutOff = setTimeout(() => {
      for (const { socket } of connections) socket.terminate();
    }, graceMs);
    await Promise.all(closed);
    clearTimeout(cutOff);
    await this.settle();
    this.#server.close();
  }
}

function isWellFormedHandshake(request: IncomingMessage): boolean {
  const key = request.headers['sec-websocket-key'];
  return (
    request.method === 'GET' &&
    request.headers.upgrade?.toLowerCase() === 'websocket' &&
    request.headers['sec-websocket-version'] === '13' &&
    typeof key === 'string' &&
    /^[+/0-9A-Za-z]{22}==$/.test(key)
  );
}

function messageText(data: RawData): string {
  const buffer = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  return buffer.toString('utf8');
}
