import type { AuthOption } from './token-source';
import type { TokenCarrier, WebSocketConstructor } from './transport';

/** Every option `io(url, options)` takes. Times are in milliseconds. */
export interface RealtimeSocketOptions {
  /** The token: `{ token: 'eyJ…' }`, `{ token: () => getFreshToken() }` or socket.io's `(cb) => cb({ token })`. */
  auth?: AuthOption;
  /**
   * Handshake headers, as socket.io-client takes them. In Node (`ws`) they are sent as they are; in a browser,
   * which cannot set headers, `Authorization: Bearer <jwt>` is carried as a subprotocol and the others are dropped.
   */
  extraHeaders?: Record<string, string>;
  /** Query parameters added to the URL. */
  query?: Record<string, string>;
  /**
   * How the token travels: `header` (`Authorization`, Node only), `subprotocol` (`bearer.<jwt>`, browsers) or
   * `query` (`?token=`, the weakest: URLs land in access logs). @default `header` with `ws`, else `subprotocol`
   */
  tokenCarrier?: TokenCarrier;
  /** Reconnect after a lost connection or a failed attempt. @default true */
  reconnection?: boolean;
  /** Attempts before giving up with `reconnect_failed`. @default Infinity */
  reconnectionAttempts?: number;
  /** First reconnection delay; it doubles on every failed attempt. @default 1000 */
  reconnectionDelay?: number;
  /** Largest reconnection delay. @default 5000 */
  reconnectionDelayMax?: number;
  /** Jitter: each delay varies by ± this fraction. @default 0.5 */
  randomizationFactor?: number;
  /** Time allowed from starting an attempt to the `authenticated` reply of `hello`; 0 disables. @default 20000 */
  timeout?: number;
  /** Connect as soon as `io()` returns. @default true */
  autoConnect?: boolean;
  /** A `ping` is sent this often so API Gateway's 10-minute idle timeout never fires; 0 disables. @default 300000 */
  heartbeatInterval?: number;
  /** With no frame this long after a heartbeat `ping`, the connection is taken as dead and replaced. @default 20000 */
  heartbeatTimeout?: number;
  /**
   * A connection is replaced (make before break, no disconnect seen) this long after it opened, ahead of API
   * Gateway's 2-hour limit; 0 disables. @default 6900000 (1 h 55 min)
   */
  renewConnectionAfter?: number;
  /**
   * A connection is also replaced (make before break, with a token obtained again from `auth`) this long before its
   * token's `exp`, read from the JWT without verifying it (the server verifies). A token whose remaining life is
   * less than twice this margin is renewed halfway through it instead, so a very short-lived token cannot make the
   * adapter renew in a loop. No renewal is scheduled for a token without a readable `exp`. @default 60000
   */
  tokenRenewalMargin?: number;
  /**
   * Browsers hide a refused handshake's status (401/403 look like a network failure: close 1006 before open). After
   * this many attempts in a row that never opened, while the browser says it is online, the adapter stops with
   * `connect_error` reason `unauthorized_or_refused`. Unused with `ws`, which knows the status. @default 3
   */
  refusedAfterFailures?: number;
  /** Emits kept while disconnected; beyond it the oldest is dropped and `emit_dropped` fires. @default 100 */
  maxBufferedEmits?: number;
  /** The WebSocket implementation. @default the browser's; in Node, `ws` (imported on first connect) */
  WebSocket?: WebSocketConstructor;
  /** Random source of the jitter, in [0, 1). @default Math.random */
  random?: () => number;
  /**
   * On every connect, ask the server for what was missed (after a reconnect: since the last message seen; on a
   * first connect: what the server's offline delivery keeps for this user) and fire it, in order, before any live
   * message. `false`: no resume frame is sent (a server without the `resume` route). @default true
   */
  resume?: boolean;
  /**
   * The log id to resume from on the first connect: the `socket.lastLogId` an app saved (e.g. in `localStorage`)
   * so a reloaded page picks up where it left off. @default - none: the first connect gets offline delivery
   */
  resumeFrom?: string;
  /** Accepted for socket.io-client compatibility and ignored: the only transport is a plain WebSocket. */
  transports?: string[];
  /** Accepted for socket.io-client compatibility and ignored. */
  forceNew?: boolean;
  /** Accepted for socket.io-client compatibility and ignored. */
  withCredentials?: boolean;
}

/** The options with their defaults applied, as the socket and its parts read them. */
export type ResolvedSocketOptions = Required<
  Omit<RealtimeSocketOptions, 'auth' | 'extraHeaders' | 'query' | 'tokenCarrier' | 'WebSocket' | 'resumeFrom'>
> &
  Pick<RealtimeSocketOptions, 'auth' | 'tokenCarrier' | 'WebSocket' | 'resumeFrom'> & {
    extraHeaders: Record<string, string>;
    query: Record<string, string>;
  };

/**
 * Applies the defaults to `io()`'s options and checks the numbers, once, when the socket is created: a bad value
 * throws there, naming the option, rather than surfacing later as an odd delay.
 *
 * @example
 * resolveSocketOptions({ reconnectionDelay: 500 }).reconnectionDelayMax; // 5000
 * resolveSocketOptions({ timeout: -1 }); // throws RangeError: io(): timeout must be a number of at least 0, got -1
 */
export function resolveSocketOptions(options: RealtimeSocketOptions): ResolvedSocketOptions {
  const resolved: ResolvedSocketOptions = {
    auth: options.auth,
    extraHeaders: options.extraHeaders ?? {},
    query: options.query ?? {},
    tokenCarrier: options.tokenCarrier,
    reconnection: options.reconnection ?? true,
    reconnectionAttempts: options.reconnectionAttempts ?? Number.POSITIVE_INFINITY,
    reconnectionDelay: positive('reconnectionDelay', options.reconnectionDelay, 1000),
    reconnectionDelayMax: positive('reconnectionDelayMax', options.reconnectionDelayMax, 5000),
    randomizationFactor: options.randomizationFactor ?? 0.5,
    timeout: positive('timeout', options.timeout, 20000),
    autoConnect: options.autoConnect ?? true,
    heartbeatInterval: positive('heartbeatInterval', options.heartbeatInterval, 5 * 60_000),
    heartbeatTimeout: positive('heartbeatTimeout', options.heartbeatTimeout, 20_000),
    renewConnectionAfter: positive('renewConnectionAfter', options.renewConnectionAfter, 115 * 60_000),
    tokenRenewalMargin: positive('tokenRenewalMargin', options.tokenRenewalMargin, 60_000),
    refusedAfterFailures: positive('refusedAfterFailures', options.refusedAfterFailures, 3),
    maxBufferedEmits: positive('maxBufferedEmits', options.maxBufferedEmits, 100),
    WebSocket: options.WebSocket,
    random: options.random ?? Math.random,
    transports: options.transports ?? ['websocket'],
    forceNew: options.forceNew ?? false,
    withCredentials: options.withCredentials ?? false,
    resume: options.resume ?? true,
    resumeFrom: options.resumeFrom,
  };
  if (resolved.randomizationFactor < 0 || resolved.randomizationFactor > 1) {
    throw new RangeError('io(): randomizationFactor must be between 0 and 1');
  }
  return resolved;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new RangeError(`io(): ${name} must be a number of at least 0, got ${String(value)}`);
  }
  return value;
}
