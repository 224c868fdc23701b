/**
 * Faults the local stack injects on purpose, so that the product can be watched doing what production makes it do:
 * API Gateway drops `$disconnect` now and then (it is best effort), answers 410 for connections that vanished and
 * 429 when the account's budget is spent; DynamoDB throttles and fails. Off by default; every decision is drawn from
 * one seeded generator, so a run names its seed and the same sequence of decisions can be drawn again. (The order in
 * which concurrent requests draw is the event loop's, so a replay repeats the decisions, not always their targets.)
 *
 * The worker crash is not here: it is the `FAN_OUT_FAULTS` setting of the broadcast worker
 * (`lambdas/core/fault-injection.ts`), one mechanism for it.
 */
export interface FaultOptions {
  /** Seed of the generator every decision is drawn from. @default - drawn at random, and reported */
  seed?: number;
  /**
   * Share (0 to 1) of `$disconnect` events never delivered. The socket still closes: API Gateway's contract is a
   * closed connection whose event may be lost ("$disconnect is best effort").
   */
  dropDisconnect?: number;
  /**
   * Share (0 to 1) of `@connections` POSTs to an open connection that find it vanished: the emulator kills the socket
   * without a close frame and without `$disconnect` (a network loss) and answers 410 `GoneException`, as API Gateway
   * answers for a connection that is gone. Later calls for it are 410 too.
   */
  gonePosts?: number;
  /**
   * `@connections` POSTs per second the account allows (a token bucket holding one second's worth); a POST with the
   * bucket empty is 429 `LimitExceededException`, which the SDK retries.
   * @default - no limit
   */
  postsPerSecond?: number;
  /** Share (0 to 1) of DynamoDB requests answered 400 `ProvisionedThroughputExceededException` (the SDK retries it). */
  dynamoThrottle?: number;
  /** Share (0 to 1) of DynamoDB requests answered 500 `InternalServerError` (the SDK retries it). */
  dynamoFail?: number;
}

/** How often each fault struck in this run. */
export interface FaultCounts {
  droppedDisconnects: number;
  gonePosts: number;
  throttledPosts: number;
  throttledDynamo: number;
  failedDynamo: number;
  /** DynamoDB calls whose last attempt the SDK allowed (`amz-sdk-request: attempt=N; max=N`) was faulted. */
  exhaustedDynamoCalls: number;
}

/** Seeded generator (mulberry32): small, fast, and good enough to decide faults. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function checkShare(name: keyof FaultOptions, value: number | undefined): void {
  if (value !== undefined && !(Number.isFinite(value) && value >= 0 && value <= 1)) {
    throw new RangeError(`fault ${name} must be a share from 0 to 1, got ${value}`);
  }
}

/**
 * Decides each injected fault and counts what it injected. `enabled` switches every fault off (and on again) during
 * a run, so that a test can check that the stack serves once the faults stop.
 *
 * @example
 * const faults = new FaultInjector({ seed: 42, dropDisconnect: 0.2, gonePosts: 0.05 });
 * if (faults.dropsDisconnect()) return; // the event is lost, the socket is closed anyway
 */
export class FaultInjector {
  readonly seed: number;
  readonly options: Readonly<FaultOptions>;
  enabled = true;
  readonly counts: FaultCounts = {
    droppedDisconnects: 0,
    gonePosts: 0,
    throttledPosts: 0,
    throttledDynamo: 0,
    failedDynamo: 0,
    exhaustedDynamoCalls: 0,
  };
  /** Connections the `gonePosts` fault killed: no `$disconnect` ran for them. */
  readonly vanished = new Set<string>();
  /** Connections whose `$disconnect` was dropped. */
  readonly disconnectsDropped = new Set<string>();
  readonly #random: () => number;
  #tokens: number;
  #refilledAt = Date.now();

  constructor(options: FaultOptions) {
    for (const name of ['dropDisconnect', 'gonePosts', 'dynamoThrottle', 'dynamoFail'] as const) {
      checkShare(name, options[name]);
    }
    const rate = options.postsPerSecond;
    if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) {
      throw new RangeError(`fault postsPerSecond must be a positive number, got ${rate}`);
    }
    this.options = { ...options };
    this.seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    this.#random = generator(this.seed);
    this.#tokens = rate ?? 0;
  }

  /** Whether any fault is configured. */
  get configured(): boolean {
    const { dropDisconnect, gonePosts, postsPerSecond, dynamoThrottle, dynamoFail } = this.options;
    return Boolean(dropDisconnect || gonePosts || postsPerSecond || dynamoThrottle || dynamoFail);
  }

  /** One line naming the seed and every fault, for a run's log (replay it with the same seed). */
  describe(): string {
    const { seed: _seed, ...faults } = this.options;
    const parts = Object.entries(faults)
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => `${name}=${value}`);
    return `faults: seed=${this.seed} ${parts.join(' ')}`;
  }

  #strikes(share: number | undefined): boolean {
    if (!this.enabled || !share) return false;
    return this.#random() < share;
  }

  /** Whether the `$disconnect` event of this closed connection is lost. */
  dropsDisconnect(connectionId: string): boolean {
    const dropped = this.#strikes(this.options.dropDisconnect);
    if (dropped) {
      this.counts.droppedDisconnects++;
      this.disconnectsDropped.add(connectionId);
    }
    return dropped;
  }

  /** Whether this POST exceeds the account's rate (429). Takes a token from the bucket when it does not. */
  throttlesPost(now = Date.now()): boolean {
    const rate = this.options.postsPerSecond;
    if (!this.enabled || rate === undefined) return false;
    this.#tokens = Math.min(rate, this.#tokens + ((now - this.#refilledAt) / 1000) * rate);
    this.#refilledAt = now;
    if (this.#tokens >= 1) {
      this.#tokens--;
      return false;
    }
    this.counts.throttledPosts++;
    return true;
  }

  /** Whether the open connection this POST is for vanishes now (the caller kills it and answers 410). */
  vanishesOnPost(connectionId: string): boolean {
    const gone = this.#strikes(this.options.gonePosts);
    if (gone) {
      this.counts.gonePosts++;
      this.vanished.add(connectionId);
    }
    return gone;
  }

  /**
   * The fault for one DynamoDB request, if any. `lastAttempt` tells whether the SDK will retry it: a fault on the
   * last attempt reaches the caller.
   */
  dynamoFault(lastAttempt: boolean): 'throttle' | 'fail' | undefined {
    if (!this.enabled) return undefined;
    const fault = this.#strikes(this.options.dynamoThrottle)
      ? 'throttle'
      : this.#strikes(this.options.dynamoFail)
        ? 'fail'
        : undefined;
    if (fault === 'throttle') this.counts.throttledDynamo++;
    if (fault === 'fail') this.counts.failedDynamo++;
    if (fault && lastAttempt) this.counts.exhaustedDynamoCalls++;
    return fault;
  }
}
