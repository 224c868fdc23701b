import { bearerSubprotocolPrefix, webSocketSubprotocol } from '../lambdas/routes';

/** The part of a WebSocket the adapter uses; the browser's `WebSocket` and the `ws` package both provide it. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: { message?: string; error?: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/**
 * A WebSocket constructor: the browser's own, or `ws`'s (whose third argument carries the `Authorization` header).
 * A browser ignores the third argument.
 */
export type WebSocketConstructor = new (
  url: string,
  protocols?: string | string[],
  options?: { headers?: Record<string, string> },
) => WebSocketLike;

/** How the token travels on the handshake. */
export type TokenCarrier = 'header' | 'subprotocol' | 'query';

/** A WebSocket implementation and whether it can send headers and report a refused handshake's HTTP status. */
export interface ResolvedWebSocket {
  WebSocket: WebSocketConstructor;
  /** True for `ws`: headers can be set and a refused handshake's status is known. */
  isNodeWs: boolean;
}

const readyStateOpen = 1;

/**
 * Picks the WebSocket implementation: the one given in the options, else the browser's, else `ws` loaded with a
 * dynamic import (kept out of the browser bundle, where that branch never runs).
 *
 * @example
 * const { WebSocket, isNodeWs } = await resolveWebSocket(undefined); // in Node: ws, true
 */
export async function resolveWebSocket(given: WebSocketConstructor | undefined): Promise<ResolvedWebSocket> {
  const browserWebSocket = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  const runsInBrowser = typeof (globalThis as { document?: unknown }).document !== 'undefined';
  // `ws` has `terminate()`, browsers' WebSocket (and Node 22's global one) do not: only `ws` can send headers and
  // tell a refused handshake's status.
  if (given) return { WebSocket: given, isNodeWs: typeof given.prototype?.terminate === 'function' };
  if (runsInBrowser && browserWebSocket) return { WebSocket: browserWebSocket, isNodeWs: false };
  try {
    const wsModule = (await import('ws')) as unknown as { WebSocket?: WebSocketConstructor; default?: unknown };
    const NodeWebSocket = wsModule.WebSocket ?? (wsModule.default as WebSocketConstructor | undefined);
    if (NodeWebSocket) return { WebSocket: NodeWebSocket, isNodeWs: true };
  } catch {
    // Fall through: a Node without `ws` may still have a global WebSocket (Node 22).
  }
  if (browserWebSocket) return { WebSocket: browserWebSocket, isNodeWs: false };
  throw new Error('No WebSocket implementation: install the "ws" package or pass it as the WebSocket option');
}

/** What a handshake should carry. */
export interface HandshakeRequest {
  /** The stage URL (`wss://…/stage`, `ws://localhost:8090/local`); `http(s)` is accepted and turned into `ws(s)`. */
  url: string;
  token: string | undefined;
  carrier: TokenCarrier;
  query: Record<string, string>;
  /** Extra handshake headers (`ws` only; a browser cannot set any). */
  headers: Record<string, string>;
}

/**
 * Builds the URL, subprotocol list and headers of one handshake.
 *
 * @example
 * buildHandshake({ url: 'ws://localhost:8090/local', token: 'eyJ…', carrier: 'subprotocol', query: {}, headers: {} });
 * // { url: 'ws://localhost:8090/local', protocols: ['realtime-gateway.v1', 'bearer.eyJ…'], headers: {} }
 */
export function buildHandshake(request: HandshakeRequest): {
  url: string;
  protocols: string[] | undefined;
  headers: Record<string, string>;
} {
  const url = new URL(request.url.replace(/^http(s?):/i, 'ws$1:'));
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new TypeError(`The URL must start with ws://, wss://, http:// or https://, got ${request.url}`);
  }
  for (const [name, value] of Object.entries(request.query)) url.searchParams.set(name, value);
  const headers = { ...request.headers };
  let protocols: string[] | undefined;
  if (request.token !== undefined) {
    if (request.carrier === 'header') headers.Authorization = `Bearer ${request.token}`;
    if (request.carrier === 'query') url.searchParams.set('token', request.token);
    if (request.carrier === 'subprotocol') {
      // RFC 6455 subprotocols are HTTP tokens; a JWT (base64url and dots) is one. Anything else would make the
      // WebSocket constructor throw a SyntaxError with a message that does not mention the token.
      if (!/^[A-Za-z0-9._~-]+$/.test(request.token)) {
        throw new TypeError('The token contains characters a subprotocol cannot carry (expected a JWT)');
      }
      protocols = [webSocketSubprotocol, `${bearerSubprotocolPrefix}${request.token}`];
    }
  }
  return { url: url.toString(), protocols, headers };
}

/** How a transport ended. */
export interface TransportClose {
  code: number;
  reason: string;
  /** Whether the handshake had completed. */
  wasOpen: boolean;
  /** The HTTP status of a refused handshake, when the implementation reveals it (`ws` does, browsers do not). */
  handshakeStatus?: number;
  /** A transport error message seen before the close (e.g. `connect ECONNREFUSED`). */
  errorMessage?: string;
}

/** Callbacks of one transport. */
export interface TransportEvents {
  open(): void;
  frame(text: string): void;
  close(details: TransportClose): void;
}

/**
 * One WebSocket connection attempt and its life. The socket above it may hold two at once while it renews a
 * connection before API Gateway's 2-hour limit.
 *
 * @example
 * const transport = new Transport(WebSocket, handshake, { open() {}, frame(text) {}, close(details) {} });
 * transport.send('{"action":"ping"}');
 */
export class Transport {
  private readonly webSocket: WebSocketLike;
  private wasOpen = false;
  private closed = false;
  private handshakeStatus: number | undefined;
  private errorMessage: string | undefined;

  constructor(
    WebSocketImpl: WebSocketConstructor,
    handshake: ReturnType<typeof buildHandshake>,
    private readonly events: TransportEvents,
  ) {
    const hasHeaders = Object.keys(handshake.headers).length > 0;
    this.webSocket = new WebSocketImpl(
      handshake.url,
      handshake.protocols,
      hasHeaders ? { headers: handshake.headers } : undefined,
    );
    this.webSocket.onopen = () => {
      this.wasOpen = true;
      this.events.open();
    };
    this.webSocket.onmessage = (event) => {
      if (typeof event.data === 'string') this.events.frame(event.data);
      // API Gateway sends text frames only; a binary frame cannot be an envelope.
      else this.events.frame('');
    };
    this.webSocket.onerror = (event) => {
      const message = event.message ?? (event.error instanceof Error ? event.error.message : undefined);
      if (message) {
        this.errorMessage = message;
        // ws reports a refused handshake as "Unexpected server response: 401"; browsers never reveal the status.
        const status = /Unexpected server response: (\d{3})/.exec(message);
        if (status) this.handshakeStatus = Number(status[1]);
      }
    };
    this.webSocket.onclose = (event) => this.finish(event.code, event.reason);
  }

  /** Whether frames can be sent now. */
  get isOpen(): boolean {
    return !this.closed && this.webSocket.readyState === readyStateOpen;
  }

  /**
   * Sends one text frame; returns false when the transport is not open.
   *
   * @example
   * if (!transport.send(frame)) buffer.push(frame);
   */
  send(text: string): boolean {
    if (!this.isOpen) return false;
    this.webSocket.send(text);
    return true;
  }

  /**
   * Closes the connection and reports the close at once, without waiting for the closing handshake: a dead peer
   * (the reason for a heartbeat timeout) would never complete it.
   *
   * @example
   * transport.close(1000, 'io client disconnect');
   */
  close(code: number, reason: string): void {
    if (this.closed) return;
    try {
      this.webSocket.close(code, reason);
    } catch {
      // A WebSocket still connecting may refuse some codes; the close below is what matters.
    }
    this.finish(code, reason);
  }

  private finish(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.webSocket.onopen = null;
    this.webSocket.onmessage = null;
    this.events.close({
      code,
      reason,
      wasOpen: this.wasOpen,
      handshakeStatus: this.handshakeStatus,
      errorMessage: this.errorMessage,
    });
  }
}
