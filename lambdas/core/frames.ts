import { webSocketRoutes } from '../routes';
import { createEnvelope, type Envelope, ServerFrameType } from './envelope';

/**
 * The frames the server answers on the socket itself (`pong`, `authenticated`, `error`), and the parse of what a
 * client sent. Every frame is an {@link Envelope}, like every other message the server sends.
 */

/** The actions a client may send, from the route table: every WebSocket route that is not a `$` route. */
export const knownActions: readonly string[] = webSocketRoutes
  .map((route) => route.routeKey)
  .filter((routeKey) => !routeKey.startsWith('$'));

/** Machine-readable codes of `error` frames; the message says the same for people. */
export const FrameErrorCode = {
  /** The frame is not JSON at all. */
  notJson: 'not_json',
  /** JSON, but not an object, or `action` is not a string. */
  invalidFrame: 'invalid_frame',
  /** A JSON object without `action`. */
  missingAction: 'missing_action',
  /** An `action` that names no route. */
  unknownAction: 'unknown_action',
  /** A known action whose route is not deployed, so API Gateway sent it to `$default`. */
  unavailableAction: 'unavailable_action',
  /**
   * The token the connection was opened with has expired: `send` refuses, and only a new connection with a fresh
   * token can send again (API Gateway checks the token on `$connect` only).
   */
  tokenExpired: 'token_expired',
} as const;

export type FrameErrorCode = (typeof FrameErrorCode)[keyof typeof FrameErrorCode];

export interface PongData {
  /** ISO 8601 time at which the server answered. */
  serverTime: string;
}

export interface AuthenticatedData {
  userId: string;
  connectionId: string;
}

export interface ErrorFrameData {
  code: string;
  message: string;
}

/**
 * The answer to `ping`.
 *
 * @example
 * pongFrame(); // { type: 'pong', data: { serverTime: '2026-11-26T10:00:00.000Z' }, timestamp: '…', id: '…' }
 */
export function pongFrame(now: Date = new Date()): Envelope<PongData> {
  return createEnvelope(ServerFrameType.pong, { serverTime: now.toISOString() }, { now });
}

/**
 * The answer to `hello`: who the server knows this connection to be.
 *
 * @example
 * authenticatedFrame({ userId: 'user123', connectionId: 'abc=' });
 * // { type: 'authenticated', data: { userId: 'user123', connectionId: 'abc=' }, timestamp: '…', id: '…' }
 */
export function authenticatedFrame(identity: AuthenticatedData, now: Date = new Date()): Envelope<AuthenticatedData> {
  return createEnvelope(
    ServerFrameType.authenticated,
    { userId: identity.userId, connectionId: identity.connectionId },
    { now },
  );
}

/**
 * A frame telling the client what was wrong with what it sent.
 *
 * @example
 * errorFrame('unknown_action', 'unknown action "dance"; known actions: ping, hello, send');
 */
export function errorFrame(code: string, message: string, now: Date = new Date()): Envelope<ErrorFrameData> {
  return createEnvelope(ServerFrameType.error, { code, message }, { now });
}

/**
 * The message of a `token_expired` error frame: when the token expired, and what to do about it.
 *
 * @example
 * tokenExpiredMessage(1795690800);
 * // 'the token of this connection expired at 2026-11-26T11:00:00.000Z; reconnect with a fresh token'
 */
export function tokenExpiredMessage(tokenExpiresAt: number): string {
  return `the token of this connection expired at ${new Date(tokenExpiresAt * 1000).toISOString()}; reconnect with a fresh token`;
}

/** A client frame that names a known action; the other fields are the route's to check. */
export interface ClientFrame {
  action: string;
  [field: string]: unknown;
}

export type ParsedClientFrame = { ok: true; frame: ClientFrame } | { ok: false; code: FrameErrorCode; message: string };

const knownActionList = (): string => `known actions: ${knownActions.join(', ')}`;
const example = 'e.g. {"action":"ping"}';

/** Quotes a client-supplied value for a message, cut short so an error frame never echoes a huge payload. */
function quoted(value: string): string {
  const limit = 64;
  return JSON.stringify(value.length > limit ? `${value.slice(0, limit)}…` : value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/**
 * Parses a frame a client sent. A frame the server cannot act on gives the code and message of the `error` frame
 * to answer with: it is never silently dropped.
 *
 * @example
 * parseClientFrame('{"action":"ping"}'); // { ok: true, frame: { action: 'ping' } }
 * parseClientFrame('hello'); // { ok: false, code: 'not_json', message: 'frame is not JSON; send …' }
 * parseClientFrame('{"action":"dance"}');
 * // { ok: false, code: 'unknown_action', message: 'unknown action "dance"; known actions: ping, hello, send' }
 */
export function parseClientFrame(body: string | null | undefined): ParsedClientFrame {
  if (body === null || body === undefined || body.trim() === '') {
    return { ok: false, code: FrameErrorCode.invalidFrame, message: `frame is empty; send a JSON object, ${example}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return {
      ok: false,
      code: FrameErrorCode.notJson,
      message: `frame is not JSON; send a JSON object with an "action", ${example}`,
    };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return {
      ok: false,
      code: FrameErrorCode.invalidFrame,
      message: `frame must be a JSON object with an "action", got ${describe(parsed)}; ${example}`,
    };
  }
  const { action } = parsed as Record<string, unknown>;
  if (action === undefined) {
    return { ok: false, code: FrameErrorCode.missingAction, message: `frame has no "action"; ${knownActionList()}` };
  }
  if (typeof action !== 'string') {
    return {
      ok: false,
      code: FrameErrorCode.invalidFrame,
      message: `"action" must be a string, got ${describe(action)}; ${knownActionList()}`,
    };
  }
  if (!knownActions.includes(action)) {
    return {
      ok: false,
      code: FrameErrorCode.unknownAction,
      message: `unknown action ${quoted(action)}; ${knownActionList()}`,
    };
  }
  return { ok: true, frame: { ...(parsed as Record<string, unknown>), action } };
}

/** What the frames route needs to answer: no Lambda types, the handler maps the event onto it. */
export interface ClientFrameInput {
  /** `ping`, `hello`, or `$default` (anything API Gateway could not route). */
  routeKey: string;
  body: string | null | undefined;
  /** From the authorizer context that `$connect` established. */
  userId: string;
  connectionId: string;
  now?: Date;
}

/**
 * The frame to answer a client frame with: `pong` for `ping`, `authenticated` for `hello`, and an `error` frame
 * saying what is wrong for anything that reached `$default`.
 *
 * @example
 * answerClientFrame({ routeKey: 'ping', body: '{"action":"ping"}', userId: 'user123', connectionId: 'abc=' });
 * // { type: 'pong', data: { serverTime: '…' }, … }
 */
export function answerClientFrame(input: ClientFrameInput): Envelope<PongData | AuthenticatedData | ErrorFrameData> {
  const now = input.now ?? new Date();
  let action = input.routeKey;
  if (action !== 'ping' && action !== 'hello') {
    const parsed = parseClientFrame(input.body);
    if (!parsed.ok) return errorFrame(parsed.code, parsed.message, now);
    action = parsed.frame.action;
  }
  switch (action) {
    case 'ping':
      return pongFrame(now);
    case 'hello':
      return authenticatedFrame({ userId: input.userId, connectionId: input.connectionId }, now);
    default:
      return errorFrame(
        FrameErrorCode.unavailableAction,
        `action ${quoted(action)} is not available on this connection; try again later`,
        now,
      );
  }
}
