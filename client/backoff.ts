/** Settings of the reconnection delay, named as socket.io-client names them. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  reconnectionDelay: number;
  /** Upper bound of any delay, in ms. */
  reconnectionDelayMax: number;
  /** 0 to 1: each delay is spread uniformly over ± this fraction of itself, so clients do not retry in step. */
  randomizationFactor: number;
  /** A source of numbers in [0, 1). Injectable so tests can pin the jitter. */
  random: () => number;
}

/**
 * Exponential backoff with jitter: the n-th delay (n from 0) is `reconnectionDelay * 2^n`, spread by
 * `± randomizationFactor`, and never more than `reconnectionDelayMax`. After an outage every client of a stage
 * retries at once; the jitter spreads them so the new-connection quota (500/s per account) is not hit in one burst.
 *
 * @example
 * const backoff = new ReconnectBackoff({ reconnectionDelay: 1000, reconnectionDelayMax: 5000,
 *   randomizationFactor: 0.5, random: Math.random });
 * backoff.nextDelay(); // 500..1500
 * backoff.nextDelay(); // 1000..3000
 * backoff.reset();     // after a successful connect
 */
export class ReconnectBackoff {
  private attempts = 0;

  constructor(private readonly options: BackoffOptions) {}

  /** How many delays were handed out since the last reset. */
  get attemptCount(): number {
    return this.attempts;
  }

  /**
   * The delay before the next attempt, in ms; each call counts one attempt.
   *
   * @example
   * setTimeout(reconnect, backoff.nextDelay());
   */
  nextDelay(): number {
    const { reconnectionDelay, reconnectionDelayMax, randomizationFactor, random } = this.options;
    // Cap the exponent: 2^31 * delay overflows into Infinity long before anyone waits that long.
    const base = Math.min(reconnectionDelayMax, reconnectionDelay * 2 ** Math.min(this.attempts, 31));
    this.attempts += 1;
    const spread = base * randomizationFactor * (2 * random() - 1);
    return Math.round(Math.max(0, Math.min(reconnectionDelayMax, base + spread)));
  }

  /**
   * Starts again from the first delay.
   *
   * @example
   * socket.on('connect', () => backoff.reset());
   */
  reset(): void {
    this.attempts = 0;
  }
}
