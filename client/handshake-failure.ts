import { type ConnectErrorReason, refusalMessage } from './connect-error';
import { isFresher, type RenewalReason } from './renewal-schedule';
import type { TransportClose } from './transport';

/** What a failed connect attempt reports: the `connect_error` reason and message, and whether it is worth a retry. */
export interface HandshakeFailure {
  reason: ConnectErrorReason;
  message: string;
  /** The refused handshake's HTTP status, when the implementation reveals it. */
  status?: number;
  /** True for transient failures; a refusal (401/403) is never retried, only a new token helps. */
  retry?: boolean;
}

/** What the reader needs to know of the attempt that failed. */
export interface FailedAttempt {
  /** Whether the attempt was closed by the socket's `timeout`. */
  timedOut?: boolean;
  /** Whether the implementation reveals a refused handshake's HTTP status (`ws` does, browsers do not). */
  knowsHandshakeStatus: boolean;
}

/**
 * Tells why a connect attempt failed before it was authenticated. With `ws` the refused handshake's status says it;
 * a browser hides it (a 401 looks like a network failure: close 1006 before open), so the reader counts attempts in
 * a row that never opened while the browser says it is online, and calls the `refusedAfterFailures`-th a refusal.
 *
 * @example
 * const failures = new HandshakeFailureReader(20_000, 3);
 * failures.read({ code: 1006, reason: '', wasOpen: false, handshakeStatus: 401 }, { knowsHandshakeStatus: true });
 * // { reason: 'unauthorized', message: 'The server refused the connection (401): …', status: 401 }
 */
export class HandshakeFailureReader {
  /** Attempts in a row whose handshake never opened, for browsers that hide a refusal's status. */
  private unopenedInARow = 0;

  constructor(
    private readonly timeoutMs: number,
    private readonly refusedAfterFailures: number,
  ) {}

  /** A handshake opened, or a new `connect()` began: the count of unopened attempts starts again. */
  reset(): void {
    this.unopenedInARow = 0;
  }

  /** Describes a failed attempt (and counts it when it never opened in a browser). */
  read(close: TransportClose, attempt: FailedAttempt): HandshakeFailure {
    const status = close.handshakeStatus;
    if (status === 401 || status === 403) {
      return { reason: status === 401 ? 'unauthorized' : 'forbidden', message: refusalMessage(status), status };
    }
    if (status !== undefined) {
      return {
        reason: 'handshake_rejected',
        message: `The server refused the connection (${status})`,
        status,
        retry: true,
      };
    }
    if (attempt.timedOut) {
      return { reason: 'timeout', message: `No authenticated reply within ${this.timeoutMs} ms`, retry: true };
    }
    if (!close.wasOpen && !attempt.knowsHandshakeStatus) {
      const offline = (globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine === false;
      if (!offline) this.unopenedInARow += 1;
      if (this.unopenedInARow >= this.refusedAfterFailures) {
        return {
          reason: 'unauthorized_or_refused',
          message:
            `The connection was refused ${this.unopenedInARow} times in a row before opening: the token is probably ` +
            'invalid or expired, or the origin is not allowed (a browser cannot see the HTTP status)',
        };
      }
    }
    const message = close.errorMessage
      ? `The connection failed: ${close.errorMessage}`
      : `The connection closed before it was authenticated (code ${close.code})`;
    return { reason: 'transport_error', message, retry: true };
  }
}

/** What `readRenewalRefusal` needs of the renewal that failed. */
export interface FailedRenewal extends FailedAttempt {
  renewalReason?: RenewalReason;
  token?: string;
  tokenExpiresAtMs?: number;
}

/**
 * Whether a renewal that failed before it was authenticated was refused, which ends the session: the connection's
 * token no longer opens one, so the session must not outlive it. Undefined for any other failure (a network
 * failure leaves the old connection serving).
 *
 * @example
 * readRenewalRefusal({ code: 1006, reason: '', wasOpen: false, handshakeStatus: 401 }, renewal, current);
 * // { reason: 'unauthorized', message: 'The server refused the connection (401): …', status: 401 }
 */
export function readRenewalRefusal(
  close: TransportClose,
  renewal: FailedRenewal,
  current: { token?: string; tokenExpiresAtMs?: number } | undefined,
): HandshakeFailure | undefined {
  const status = close.handshakeStatus;
  if (status === 401 || status === 403) {
    return { reason: status === 401 ? 'unauthorized' : 'forbidden', message: refusalMessage(status), status };
  }
  // A browser hides the status; after `token_expired`, a renewal whose token is no fresher than the expired one
  // and that never opened can only have been refused.
  const refusedInBrowser =
    status === undefined &&
    !renewal.knowsHandshakeStatus &&
    !close.wasOpen &&
    !renewal.timedOut &&
    renewal.renewalReason === 'token_expired' &&
    current !== undefined &&
    !isFresher(renewal.token, renewal.tokenExpiresAtMs, current);
  if (!refusedInBrowser) return undefined;
  return {
    reason: 'unauthorized_or_refused',
    message:
      'The server refused the renewed connection after the token expired, and the token source gave no fresher ' +
      'token (a browser cannot see the HTTP status)',
  };
}
