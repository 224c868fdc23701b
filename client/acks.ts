import type { Envelope } from '../lambdas/core/envelope';
import type { ServerErrorData } from './server-frames';

/**
 * Acknowledgements, as socket.io-client has them: `emit(action, payload, callback)` gets the route's answer as the
 * callback's arguments `(data, envelope)` instead of the answer's event; after `timeout(ms)` the callback gets an
 * error first, `(err, data, envelope)`; `emitWithAck` returns a promise. The frame carries an `ackId` the server
 * echoes in its answer (`lambdas/handlers/middleware/websocket-acks.ts`).
 *
 * API Gateway sends a route's answer only on the connection the frame went out on. So a connection that closes
 * first loses the answer: an acknowledgement with an error callback (`timeout()` or `emitWithAck`) fails with
 * {@link AckError} `disconnected`, and a plain callback is dropped, as socket.io-client does.
 */

/** Why an acknowledgement failed: no answer in time, the connection closed first, the emit was dropped, or the
 * server refused the frame (`error` answer, for `emitWithAck`). */
export type AckErrorReason = 'timeout' | 'disconnected' | 'dropped' | 'server_error';

/**
 * The error an acknowledgement fails with. `code` is the server's error code when the server refused the frame.
 *
 * @example
 * try { await socket.timeout(5000).emitWithAck('send', frame); }
 * catch (error) { if (error instanceof AckError && error.reason === 'timeout') retryLater(); }
 */
export class AckError extends Error {
  readonly reason: AckErrorReason;
  readonly code?: string;

  constructor(reason: AckErrorReason, message: string, code?: string) {
    super(message);
    this.name = 'AckError';
    this.reason = reason;
    if (code !== undefined) this.code = code;
  }
}

/** An acknowledgement callback: `(data, envelope)`, or with `withError` `(err, data, envelope)`. */
export type AckCallback = (...args: unknown[]) => void;

interface PendingAck {
  callback: AckCallback;
  /** Whether the callback takes an error first (`timeout()`, `emitWithAck`). */
  withError: boolean;
  timer?: ReturnType<typeof setTimeout>;
  /** The connection the frame went out on; undefined while it waits in the emit buffer. */
  sentOn?: object;
}

/**
 * The acknowledgements waiting for an answer, by `ackId`.
 *
 * @example
 * const acks = new PendingAcks();
 * const ackId = acks.register((data) => console.log(data), { withError: false });
 * acks.sent(ackId, connection);
 * acks.settle({ type: 'pong', data: {}, id: 'm', timestamp: 't', ackId }); // true: the callback ran
 */
export class PendingAcks {
  private nextId = 0;
  private readonly pending = new Map<number, PendingAck>();

  /** How many acknowledgements wait. */
  get size(): number {
    return this.pending.size;
  }

  /** Registers a callback and gives the `ackId` to put in the frame; `timeoutMs` arms the timeout error. */
  register(callback: AckCallback, options: { withError: boolean; timeoutMs?: number }): number {
    const ackId = this.nextId;
    this.nextId = this.nextId >= Number.MAX_SAFE_INTEGER ? 0 : this.nextId + 1;
    const entry: PendingAck = { callback, withError: options.withError };
    if (options.timeoutMs !== undefined) {
      entry.timer = setTimeout(
        () => this.fail(ackId, new AckError('timeout', `no answer within ${options.timeoutMs} ms`)),
        options.timeoutMs,
      );
    }
    this.pending.set(ackId, entry);
    return ackId;
  }

  /** Records the connection the frame went out on (immediately, or when the buffer was flushed). */
  sent(ackId: number | undefined, connection: object): void {
    const entry = ackId === undefined ? undefined : this.pending.get(ackId);
    if (entry) entry.sentOn = connection;
  }

  /**
   * Runs the callback of the acknowledgement an answer carries; false when the envelope answers none of them (no
   * `ackId`, or one already settled), so it is handled as an ordinary frame.
   */
  settle(envelope: Envelope & { ackId?: unknown }): boolean {
    if (typeof envelope.ackId !== 'number') return false;
    const entry = this.pending.get(envelope.ackId);
    if (!entry) return false;
    this.forget(envelope.ackId, entry);
    if (entry.withError) entry.callback(null, envelope.data, envelope);
    else entry.callback(envelope.data, envelope);
    return true;
  }

  /** The connection closed: its acknowledgements can no longer be answered. */
  connectionClosed(connection: object): void {
    for (const [ackId, entry] of this.pending) {
      if (entry.sentOn !== connection) continue;
      this.fail(ackId, new AckError('disconnected', 'the connection closed before the answer arrived'));
    }
  }

  /** Forgets an acknowledgement whose emit was refused before it was sent; its callback is never called. */
  cancel(ackId: number | undefined): void {
    const entry = ackId === undefined ? undefined : this.pending.get(ackId);
    if (entry && ackId !== undefined) this.forget(ackId, entry);
  }

  /** A buffered emit was dropped (the buffer's bound): it was never sent, so it will never be answered. */
  dropped(ackId: number | undefined): void {
    if (ackId === undefined) return;
    this.fail(ackId, new AckError('dropped', 'the emit was dropped from the offline buffer before it was sent'));
  }

  private fail(ackId: number, error: AckError): void {
    const entry = this.pending.get(ackId);
    if (!entry) return;
    this.forget(ackId, entry);
    if (entry.withError) entry.callback(error);
  }

  private forget(ackId: number, entry: PendingAck): void {
    clearTimeout(entry.timer);
    this.pending.delete(ackId);
  }
}

/**
 * The callback `emitWithAck` registers: resolves with the answer's data, rejects with the failure, or with an
 * {@link AckError} `server_error` carrying the server's code when the answer is an `error` frame.
 *
 * @example
 * const data = await new Promise((resolve, reject) => acks.register(promiseCallback(resolve, reject), { withError: true }));
 */
export function promiseCallback(resolve: (data: unknown) => void, reject: (error: Error) => void): AckCallback {
  return (error, data, envelope) => {
    if (error) reject(error as Error);
    else if ((envelope as Envelope | undefined)?.type === 'error') {
      const refusal = data as Partial<ServerErrorData>;
      reject(new AckError('server_error', String(refusal?.message ?? 'the server refused the frame'), refusal?.code));
    } else resolve(data);
  };
}
