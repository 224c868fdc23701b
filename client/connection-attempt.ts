import type { Envelope } from '../lambdas/core/envelope';
import type { Heartbeat } from './heartbeat';
import type { RenewalReason } from './renewal-schedule';
import type { ReplaySession } from './replay';
import type { Transport } from './transport';

/**
 * One connection attempt or live connection, with its timers. The socket holds at most two: the current one and,
 * while it renews make-before-break, its replacement.
 */
export interface ConnectionAttempt {
  transport: Transport;
  /** Set when the `authenticated` reply arrived. */
  connectionId?: string;
  connectTimer?: ReturnType<typeof setTimeout>;
  /** Started when the `authenticated` reply arrived. */
  heartbeat?: Heartbeat;
  renewTimer?: ReturnType<typeof setTimeout>;
  isRenewal: boolean;
  /** Why this attempt was started, when it is a renewal. */
  renewalReason?: RenewalReason;
  /** The token this attempt connected with, and its `exp` (epoch ms) when readable. */
  token?: string;
  tokenExpiresAtMs?: number;
  /** When the `authenticated` reply arrived (epoch ms): the 2-hour renewal counts from it. */
  authenticatedAt?: number;
  /** A renewal promoted to replace a connection lost before the renewal completed: a reconnection. */
  replacesLostConnection?: boolean;
  /** Whether the implementation reveals a refused handshake's HTTP status (`ws` does, browsers do not). */
  knowsHandshakeStatus: boolean;
  timedOut?: boolean;
  /** The replay of what was missed, while it runs: live messages wait in it. */
  replay?: ReplaySession;
  /** Live messages that arrived before `authenticated` on a connection that will replay; moved into `replay`. */
  heldBeforeReplay?: Envelope[];
}

/**
 * Closes the attempt (marked `timedOut`) if it is not authenticated within `timeoutMs`; 0 disables the limit. The
 * `authenticated` reply clears `connectTimer`.
 *
 * @example
 * armConnectTimeout(attempt, 20_000);
 */
export function armConnectTimeout(attempt: ConnectionAttempt, timeoutMs: number): void {
  if (timeoutMs <= 0) return;
  attempt.connectTimer = setTimeout(() => {
    attempt.timedOut = true;
    attempt.transport.close(1000, 'timeout');
  }, timeoutMs);
}

/**
 * Stops every timer of an attempt (connect timeout, heartbeat, renewal): it is closing or has closed, and nothing of
 * it may fire afterwards.
 *
 * @example
 * stopAttemptTimers(previous);
 * previous.transport.close(1000, 'renewed');
 */
export function stopAttemptTimers(attempt: ConnectionAttempt): void {
  clearTimeout(attempt.connectTimer);
  attempt.heartbeat?.stop();
  clearTimeout(attempt.renewTimer);
  clearTimeout(attempt.replay?.timer);
}
