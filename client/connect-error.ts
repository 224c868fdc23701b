/** Why a connect attempt failed. */
export type ConnectErrorReason =
  | 'unauthorized'
  | 'forbidden'
  | 'unauthorized_or_refused'
  | 'handshake_rejected'
  | 'transport_error'
  | 'timeout'
  | 'token_error'
  | 'invalid_options';

/**
 * The error `connect_error` and `reconnect_error` carry.
 *
 * @example
 * socket.on('connect_error', (error) => {
 *   if (error.willRetry) return; // a network failure: the adapter retries with backoff
 *   showSignIn(`${error.reason}: ${error.message}`); // refused (401/403): only a new token helps
 * });
 */
export class ConnectError extends Error {
  readonly reason: ConnectErrorReason;
  /** The refused handshake's HTTP status, when known (Node). */
  readonly status?: number;
  /** Whether the adapter will try again by itself. */
  readonly willRetry: boolean;
  constructor(reason: ConnectErrorReason, message: string, details: { status?: number; willRetry: boolean }) {
    super(message);
    this.name = 'ConnectError';
    this.reason = reason;
    this.status = details.status;
    this.willRetry = details.willRetry;
  }
}

/**
 * The message of a refused handshake, saying what to fix.
 *
 * @example
 * new ConnectError('unauthorized', refusalMessage(401), { status: 401, willRetry: false });
 */
export function refusalMessage(status: 401 | 403): string {
  return status === 401
    ? 'The server refused the connection (401): the token is missing, invalid or expired'
    : 'The server refused the connection (403): the origin or the token is not allowed';
}
