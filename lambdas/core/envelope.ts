/**
 * Every message the server sends to a socket uses this envelope, whatever its origin (HTTP API, the socket's
 * `send` route, the direct-invoke function, or a frame such as `pong`).
 */
export interface Envelope<TData = unknown> {
  /** Message type, e.g. `chat`, `notification`, `pong`, `authenticated`, `error`. */
  type: string;
  data: TData;
  /** ISO 8601 time at which the server built the envelope. */
  timestamp: string;
  /** Unique id of this message (a UUID); delivery reports quote it. */
  id: string;
  /** The sender's userId, taken from the verified token and never from the request body. */
  from?: string;
  /**
   * The message's id in the message log (`log-id.ts`), present when it was recorded: the client keeps the last one
   * it saw and resumes from it after a reconnect, and drops a message whose log id it already has.
   */
  logId?: string;
}

/** Types of the frames the server itself produces. */
export const ServerFrameType = {
  pong: 'pong',
  authenticated: 'authenticated',
  error: 'error',
  delivery: 'delivery',
  notification: 'notification',
  /** The answer to a client's `join`: `{ room }`. */
  joined: 'joined',
  /** The answer to a client's `leave`: `{ room }`. */
  left: 'left',
  /** The answer to a client's `members`: a room's members page. */
  members: 'members',
  /** A presence room's event to its members: `{ room, userId, event: 'joined' | 'left' }`. */
  presence: 'presence',
  /** A page of the messages a reconnecting client missed (the `resume` route's answer). */
  replay: 'replay',
} as const;

/**
 * Builds an envelope with a fresh id and the current time.
 *
 * @example
 * const envelope = createEnvelope('chat', { message: 'Hello!' }, { from: 'user123' });
 * // { type: 'chat', data: { message: 'Hello!' }, timestamp: '2026-...Z', id: '…', from: 'user123' }
 */
export function createEnvelope<TData>(
  type: string,
  data: TData,
  options: { from?: string; now?: Date; id?: string } = {},
): Envelope<TData> {
  const envelope: Envelope<TData> = {
    type,
    data,
    timestamp: (options.now ?? new Date()).toISOString(),
    id: options.id ?? crypto.randomUUID(),
  };
  if (options.from !== undefined) envelope.from = options.from;
  return envelope;
}
