import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type {
  FinalizeHandler,
  FinalizeHandlerArguments,
  MiddlewareStack,
  RetryErrorInfo,
  RetryStrategy,
  RetryStrategyV2,
  RetryToken,
} from '@smithy/types';
import { type Environment, optionalInteger, Setting } from './config';

/**
 * The global post budget: every fan-out path together (broadcast workers, senders) posts to `@connections` at no
 * more than a configured rate, well below API Gateway's account throttle, which the product shares with everything
 * else in the account. Senders ask the budget before each group of posts and tell it when API Gateway throttled one.
 */
export interface PostBudget {
  /**
   * Waits until posts may start within the budget, and resolves with how many were granted: at least 1 and at most
   * `count`. Rejects with the signal's reason when `signal` aborts first (an invocation running out of time).
   */
  take(count: number, signal?: AbortSignal): Promise<number>;
  /** API Gateway answered 429 (`LimitExceededException`) to a post: the account is busier than the budget assumed. */
  throttled(): void;
}

/**
 * Posts per second all fan-out together may start when no rate is configured. API Gateway's account throttle for
 * `@connections` and every other API in the Region is 10,000 requests/s with a burst bucket (5,000 where the quota
 * page states it), shared with whatever else the account runs: 2,000/s leaves four fifths of it to the rest, one
 * 100 ms budget window (200 posts) is a small burst, and 100,000 connections are reached in 50 s. In the Regions
 * whose default throttle is 2,500/s (Zurich, Milan, Cape Town, Jakarta, ... per the quota page) set
 * `POST_BUDGET_PER_SECOND` lower, e.g. 500. Raise it (with the account quota) for larger audiences: the arithmetic for
 * a million connections is in bench/README.md.
 */
export const DEFAULT_POSTS_PER_SECOND = 2_000;

/** The highest `POST_BUDGET_PER_SECOND` accepted: ten times the default account throttle, for raised quotas. */
export const MAX_POSTS_PER_SECOND = 100_000;

/**
 * Reads `POST_BUDGET_PER_SECOND` (default {@link DEFAULT_POSTS_PER_SECOND}, 1 to {@link MAX_POSTS_PER_SECOND}).
 *
 * @example
 * readPostBudgetConfig({ POST_BUDGET_PER_SECOND: '500' }); // { ratePerSecond: 500 }
 * readPostBudgetConfig({}); // { ratePerSecond: 2000 }
 */
export function readPostBudgetConfig(env: Environment): { ratePerSecond: number } {
  return {
    ratePerSecond: optionalInteger(env, Setting.postBudgetPerSecond, DEFAULT_POSTS_PER_SECOND, {
      min: 1,
      max: MAX_POSTS_PER_SECOND,
    }),
  };
}

/** Length of one global budget window: short enough that a window's posts are a small burst for API Gateway. */
export const DEFAULT_BUDGET_WINDOW_MS = 100;

/** How long a budget window's item outlives its window, for anyone reading the table to see recent usage. */
export const DEFAULT_BUDGET_ITEM_TTL_SECONDS = 3_600;

/**
 * Additive increase, multiplicative decrease of a rate, as TCP does it: a 429 halves the rate (at most once per
 * `holdMs`, since the 429s of one burst arrive together and one halving is the answer to all of them), and the rate
 * climbs back linearly while nothing is throttled. The decrease starts from what was really used when that is less
 * than the allowed rate (a worker allowed 2,000/s that posted 500/s halves to 250/s, not to 1,000/s, which would not
 * slow it at all).
 *
 * @example
 * const rate = new AdaptiveRate({ ceiling: 2000 }, Date.now());
 * rate.decrease(Date.now(), 1500); // a 429: now 750/s, back to 2,000/s in about 12 s without further 429s
 * rate.current(Date.now()); // 750
 */
export class AdaptiveRate {
  private readonly floor: number;
  private readonly increasePerSecond: number;
  private readonly holdMs: number;
  private readonly decreaseFactor: number;
  private base: number;
  private since: number;
  private lastDecrease = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly options: {
      /** The configured rate, never exceeded. */
      ceiling: number;
      /** The lowest rate a decrease reaches; default 1% of the ceiling (at least 1/s). */
      floor?: number;
      /** Rate regained per second without a 429; default 10% of the ceiling. */
      increasePerSecond?: number;
      /** Factor applied on a 429; default 0.5. */
      decreaseFactor?: number;
      /** At most one decrease per this many ms; default 1,000. */
      holdMs?: number;
    },
    now: number,
  ) {
    assertPositive('ceiling', options.ceiling);
    this.floor = Math.min(options.ceiling, options.floor ?? Math.max(1, options.ceiling / 100));
    this.increasePerSecond = options.increasePerSecond ?? options.ceiling / 10;
    this.decreaseFactor = options.decreaseFactor ?? 0.5;
    this.holdMs = options.holdMs ?? 1_000;
    this.base = options.ceiling;
    this.since = now;
  }

  /** The rate allowed at `now`, posts per second. */
  current(now: number): number {
    const elapsedSeconds = Math.max(0, now - this.since) / 1000;
    return Math.min(this.options.ceiling, this.base + this.increasePerSecond * elapsedSeconds);
  }

  /** A 429 at `now`; `usedPerSecond` is the rate really used lately, when known. Returns whether it decreased. */
  decrease(now: number, usedPerSecond?: number): boolean {
    if (now - this.lastDecrease < this.holdMs) return false;
    const allowed = this.current(now);
    const from = usedPerSecond !== undefined && usedPerSecond > 0 ? Math.min(allowed, usedPerSecond) : allowed;
    this.base = Math.max(this.floor, from * this.decreaseFactor);
    this.since = now;
    this.lastDecrease = now;
    return true;
  }
}

export interface TokenBucketPostBudgetOptions {
  /** Posts per second, the bucket's refill rate before any 429. */
  ratePerSecond: number;
  /** Tokens the bucket holds at most (the largest burst); default a tenth of a second's worth (at least 1). */
  burst?: number;
  /** Tuning of the decrease on 429 and the climb back (see {@link AdaptiveRate}); the ceiling is `ratePerSecond`. */
  adaptive?: Omit<ConstructorParameters<typeof AdaptiveRate>[0], 'ceiling'>;
  /** The clock, epoch ms (tests pass a fake one; jest's fake timers fake `Date.now` too). */
  now?: () => number;
}

/**
 * A smallest grant worth waking up for: a waiter sleeps until this many ms of tokens have gathered (or its whole
 * count), rather than waking for every single token (at 2,000/s that would be a timer every half millisecond).
 */
const GATHER_MS = 10;

/**
 * The budget inside one process: a token bucket (the local stack, the server library, the benchmark, and the local
 * pacing of each {@link DynamoPostBudget}). Takers are served first come, first served, so a taker asking for many
 * posts cannot starve one asking for a few. A 429 lowers the refill rate (see {@link AdaptiveRate}).
 *
 * @example
 * const budget = new TokenBucketPostBudget({ ratePerSecond: 2000 });
 * const granted = await budget.take(200, AbortSignal.timeout(context.getRemainingTimeInMillis() - 2000));
 * // start `granted` posts now; on a 429: budget.throttled(), and post that one again later
 */
export class TokenBucketPostBudget implements PostBudget {
  private readonly now: () => number;
  private readonly burst: number;
  private readonly rate: AdaptiveRate;
  private tokens: number;
  private refilledAt: number;
  /** The taker being served; the next one waits for it (FIFO). */
  private queue: Promise<unknown> = Promise.resolve();
  /** Tokens granted in each of the last ten 100 ms slots, for the rate really used when a 429 comes. */
  private readonly recent = new RecentCount(10, 100);

  constructor(options: TokenBucketPostBudgetOptions) {
    assertPositive('ratePerSecond', options.ratePerSecond);
    this.now = options.now ?? Date.now;
    this.burst = options.burst ?? Math.max(1, Math.floor(options.ratePerSecond / 10));
    assertPositive('burst', this.burst);
    this.rate = new AdaptiveRate({ ...options.adaptive, ceiling: options.ratePerSecond }, this.now());
    this.tokens = this.burst;
    this.refilledAt = this.now();
  }

  take(count: number, signal?: AbortSignal): Promise<number> {
    try {
      assertCount(count);
    } catch (error) {
      return Promise.reject(error);
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const turn = this.queue.then(() => this.serve(count, signal));
    this.queue = turn.catch(() => undefined);
    return signal ? rejectOnAbort(turn, signal) : turn;
  }

  throttled(): void {
    const now = this.now();
    this.refill(now);
    this.rate.decrease(now, this.recent.perSecond(now));
  }

  /** The refill rate now, posts per second (lower than configured for a while after a 429). */
  currentRate(): number {
    return this.rate.current(this.now());
  }

  /** Gives back tokens taken but not used (a {@link DynamoPostBudget} whose global window had fewer left). */
  refund(count: number): void {
    this.tokens = Math.min(this.burst, this.tokens + count);
    this.recent.add(this.now(), -count);
  }

  private refill(now: number): void {
    const elapsedMs = Math.max(0, now - this.refilledAt);
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.rate.current(now)) / 1000);
    this.refilledAt = now;
  }

  private async serve(count: number, signal: AbortSignal | undefined): Promise<number> {
    for (;;) {
      signal?.throwIfAborted();
      const now = this.now();
      this.refill(now);
      const rate = this.rate.current(now);
      const worthWaking = Math.max(1, Math.min(count, this.burst, Math.floor((rate * GATHER_MS) / 1000)));
      if (this.tokens >= worthWaking) {
        const granted = Math.min(count, Math.floor(this.tokens));
        this.tokens -= granted;
        this.recent.add(now, granted);
        return granted;
      }
      await sleep(Math.ceil(((worthWaking - this.tokens) * 1000) / rate), signal);
    }
  }
}

export interface DynamoPostBudgetOptions {
  /** A document client on the fan-out state table's region (`createDocumentClient`). */
  client: DynamoDBDocumentClient;
  /** The fan-out state table (`broadcastTableSchema`: `pk`, `sk`, `expiresAt`). */
  tableName: string;
  /** Budgets with different names are counted apart (`pk = budget#<name>`); default `posts`. */
  name?: string;
  /** Posts per second all holders of this budget together may start; default {@link DEFAULT_POSTS_PER_SECOND}. */
  ratePerSecond?: number;
  /** Window length, ms; default {@link DEFAULT_BUDGET_WINDOW_MS}. Each window admits `rate × windowMs / 1000` posts. */
  windowMs?: number;
  /** Most posts one write may lease; default a quarter of a window's limit (at least 1). */
  leaseSize?: number;
  /** Seconds a window item outlives its window; default {@link DEFAULT_BUDGET_ITEM_TTL_SECONDS}. */
  itemTtlSeconds?: number;
  /** Tuning of the local backoff on 429 (see {@link AdaptiveRate}). */
  adaptive?: TokenBucketPostBudgetOptions['adaptive'];
  /** The clock, epoch ms: wall time, since windows are shared between machines. */
  now?: () => number;
  /** For the wake-up jitter; default `Math.random`. */
  random?: () => number;
}

/**
 * The budget shared by every worker of every invocation, counted in the fan-out state table.
 *
 * Time is cut into windows (default 100 ms); window `w` admits `limit = rate × windowMs / 1000` posts (200 at the
 * default 2,000/s). Its item is `pk = budget#<name>`, `sk = <window start, ISO 8601>`, `used = <posts leased>`,
 * `expiresAt` (TTL). A taker leases `n = min(count, leaseSize)` posts with ONE atomic, unconditional write,
 * `ADD used :n` returning the new value; the lease's posts are the part of `[used - n, used)` below `limit`, so
 * the grant is `min(n, max(0, limit - (used - n)))`. ADD serializes the writers, so the intervals of all leases in
 * a window are disjoint and the grants of a window sum to at most `limit`, whatever the number of takers. The
 * counter may pass `limit` (the last lease straddles it, later ones get 0), which only ever happens once the window
 * is spent, so no post is lost to over-counting and a partial grant needs no second write. (A conditional
 * `used <= :limitMinusN` would cost the same write when it fails, since DynamoDB bills failed conditional writes,
 * and would strand a window's last `n - 1` posts.) A taker who got 0 sleeps until the next window, plus a random
 * jitter of up to a tenth of a window so that the takers' first writes of a window arrive in a different order
 * each time: a fair share on average, with no coordinator.
 *
 * Cost: one write (1 WRU, items are tiny) per lease: at most `rate / leaseSize` successful writes per second (40/s at
 * the defaults) plus at most one 0-grant write per taker per window. Every write goes to one partition key, far
 * below a partition's 1,000 WRU/s at these rates.
 *
 * Clock skew: each Lambda computes the window from its own clock. Two clocks `d` ms apart can spend overlapping
 * windows, so any stretch of time `T` admits at most `rate × (T + d) / 1000 + limit` posts. Lambda's execution
 * environments keep their clocks with NTP (Lambda developer guide, the `TZ` entry of the runtime environment
 * variables), so `d` is milliseconds: even at 10 ms the excess is 20 posts at 2,000/s. A lease answered late is spent
 * late (at most one lease per holder). Both are bursts of a few hundred posts at worst, against an account throttle
 * that is itself a token bucket with a burst allowance.
 *
 * 429s: each holder also paces itself with a local {@link TokenBucketPostBudget} that runs at the full rate until
 * `throttled()` is called, then halves from what this holder really used and climbs back linearly (AIMD). Every
 * holder sees the account's 429s at about the same time, so together they back off. The post that got the 429 is
 * the caller's to retry (through `take` again), never to drop. Wire the holder's management client with
 * {@link reportThrottling} (every 429 heard at once) and {@link retryThrottlingThroughBudget} (a 429 retried through
 * the budget, not by the SDK outside it): `npm run bench -- scale` measures both.
 *
 * @example
 * const budget = new DynamoPostBudget({ client: createDocumentClient(), tableName: process.env.BROADCAST_TABLE_NAME,
 *   ratePerSecond: 2000 });
 * const granted = await budget.take(free, AbortSignal.timeout(context.getRemainingTimeInMillis() - 5000));
 */
export class DynamoPostBudget implements PostBudget {
  readonly ratePerSecond: number;
  readonly windowMs: number;
  /** Posts one window admits, all takers together. */
  readonly windowLimit: number;
  readonly leaseSize: number;
  private readonly pk: string;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly local: TokenBucketPostBudget;
  /** The last window this holder saw spent: no write is wasted on it again. */
  private spentWindow = Number.NEGATIVE_INFINITY;
  /** Writes made, for the benchmark's cost figure. */
  writes = 0;

  constructor(private readonly options: DynamoPostBudgetOptions) {
    this.ratePerSecond = options.ratePerSecond ?? DEFAULT_POSTS_PER_SECOND;
    this.windowMs = options.windowMs ?? DEFAULT_BUDGET_WINDOW_MS;
    assertPositive('ratePerSecond', this.ratePerSecond);
    assertPositive('windowMs', this.windowMs);
    this.windowLimit = Math.floor((this.ratePerSecond * this.windowMs) / 1000);
    if (this.windowLimit < 1) {
      throw new RangeError(
        `a window of ${this.windowMs} ms at ${this.ratePerSecond} posts/s admits no post: lengthen the window`,
      );
    }
    this.leaseSize = options.leaseSize ?? Math.max(1, Math.floor(this.windowLimit / 4));
    assertCount(this.leaseSize);
    this.pk = `budget#${options.name ?? 'posts'}`;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.local = new TokenBucketPostBudget({
      ratePerSecond: this.ratePerSecond,
      burst: this.windowLimit,
      adaptive: options.adaptive,
      now: this.now,
    });
  }

  async take(count: number, signal?: AbortSignal): Promise<number> {
    assertCount(count);
    for (;;) {
      signal?.throwIfAborted();
      const wanted = await this.local.take(Math.min(count, this.leaseSize), signal);
      let granted: number;
      try {
        granted = await this.lease(wanted, signal);
      } catch (error) {
        this.local.refund(wanted);
        throw error;
      }
      if (granted < wanted) this.local.refund(wanted - granted);
      if (granted > 0) return granted;
      const nextWindowAt = (Math.floor(this.now() / this.windowMs) + 1) * this.windowMs;
      const jitterMs = this.random() * (this.windowMs / 10);
      await sleep(Math.max(0, nextWindowAt - this.now()) + jitterMs, signal);
    }
  }

  throttled(): void {
    this.local.throttled();
  }

  /** This holder's own rate limit now (the configured rate until a 429). */
  localRate(): number {
    return this.local.currentRate();
  }

  /** Leases up to `n` posts from the current window; 0 when it is spent. */
  private async lease(n: number, signal: AbortSignal | undefined): Promise<number> {
    const window = Math.floor(this.now() / this.windowMs);
    if (window <= this.spentWindow) return 0;
    const windowStart = window * this.windowMs;
    const itemTtlSeconds = this.options.itemTtlSeconds ?? DEFAULT_BUDGET_ITEM_TTL_SECONDS;
    this.writes++;
    let used: number;
    try {
      const { Attributes } = await this.options.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { pk: this.pk, sk: new Date(windowStart).toISOString() },
          UpdateExpression: 'ADD used :n SET expiresAt = if_not_exists(expiresAt, :expiresAt)',
          ExpressionAttributeValues: {
            ':n': n,
            ':expiresAt': Math.ceil((windowStart + this.windowMs) / 1000) + itemTtlSeconds,
          },
          ReturnValues: 'UPDATED_NEW',
        }),
        { abortSignal: signal },
      );
      used = Number(Attributes?.used);
    } catch (error) {
      // The SDK rejects an aborted call with its own AbortError; the contract is the signal's reason.
      if (signal?.aborted) throw signal.reason;
      throw error;
    }
    if (!Number.isFinite(used)) throw new Error(`budget window ${this.pk} answered no numeric "used"`);
    const before = used - n;
    if (used >= this.windowLimit) this.spentWindow = window;
    return Math.max(0, Math.min(n, this.windowLimit - before));
  }
}

/**
 * Tells `budget` about every 429 (`LimitExceededException`) the client meets, each attempt's: the SDK retries
 * throttling itself (standard mode, 3 attempts), so a caller only sees the 429s that outlasted the retries, and a
 * budget told only of those would back off late. Sits just inside the SDK's retry step, so it sees each attempt;
 * the error still goes on to the retry step and the caller unchanged.
 *
 * @example
 * const managementClient = createManagementClient(config);
 * reportThrottling(managementClient, budget);
 */
export function reportThrottling(
  // biome-ignore lint/suspicious/noExplicitAny: any SDK client's stack; the middleware reads no input or output
  client: { middlewareStack: MiddlewareStack<any, any> },
  budget: Pick<PostBudget, 'throttled'>,
): void {
  client.middlewareStack.addRelativeTo(
    // biome-ignore lint/suspicious/noExplicitAny: see the client parameter
    (next: FinalizeHandler<any, any>) => async (args: FinalizeHandlerArguments<any>) => {
      try {
        return await next(args);
      } catch (error) {
        if (isThrottlingAnswer(error)) budget.throttled();
        throw error;
      }
    },
    { relation: 'after', toMiddleware: 'retryMiddleware', name: 'postBudgetThrottleFeedback' },
  );
}

/**
 * Leaves throttling to the caller and its budget: the client's SDK retry strategy keeps retrying transient errors
 * (timeouts, resets, 5xx) but hands a 429 back at once. Without this the SDK retries a 429 up to twice after its
 * throttling backoff (from about half a second), outside the budget, while a broadcast worker's whole group waits
 * for that one post; with it the worker puts the post on its slice's retry list and posts it again through the
 * budget, which has slowed down meanwhile (see {@link reportThrottling}). A client whose strategy is not the SDK's
 * current (token-based) kind is left as it is.
 *
 * @example
 * const managementClient = createManagementClient(config);
 * reportThrottling(managementClient, budget);
 * retryThrottlingThroughBudget(managementClient);
 */
export function retryThrottlingThroughBudget(client: {
  config: { retryStrategy: () => Promise<RetryStrategy | RetryStrategyV2> };
}): void {
  const sdkStrategy = client.config.retryStrategy;
  let wrapped: Promise<RetryStrategy | RetryStrategyV2> | undefined;
  client.config.retryStrategy = () => {
    wrapped ??= sdkStrategy().then((strategy) => {
      if (!('refreshRetryTokenForRetry' in strategy)) return strategy;
      const noThrottlingRetry: RetryStrategyV2 = {
        acquireInitialRetryToken: (scope: string) => strategy.acquireInitialRetryToken(scope),
        refreshRetryTokenForRetry: (token: RetryToken, errorInfo: RetryErrorInfo) => {
          // Any rejection here makes the SDK throw the request's own error (the 429) to the caller.
          if (errorInfo.errorType === 'THROTTLING') return Promise.reject(errorInfo.error);
          return strategy.refreshRetryTokenForRetry(token, errorInfo);
        },
        recordSuccess: (token: RetryToken) => strategy.recordSuccess(token),
      };
      return Object.assign(noThrottlingRetry, { mode: (strategy as { mode?: string }).mode });
    });
    return wrapped;
  };
}

/** API Gateway throttled the request: the modelled error's name, or the status code. */
function isThrottlingAnswer(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  return candidate.name === 'LimitExceededException' || candidate.$metadata?.httpStatusCode === 429;
}

/** Counts over a sliding set of time slots (the rate a holder really used lately). */
class RecentCount {
  private readonly counts: number[];
  private readonly slotOf: number[];

  constructor(
    private readonly slots: number,
    private readonly slotMs: number,
  ) {
    this.counts = new Array(slots).fill(0);
    this.slotOf = new Array(slots).fill(-1);
  }

  add(now: number, count: number): void {
    const slot = Math.floor(now / this.slotMs);
    const index = slot % this.slots;
    if (this.slotOf[index] !== slot) {
      this.slotOf[index] = slot;
      this.counts[index] = 0;
    }
    this.counts[index] += count;
  }

  perSecond(now: number): number {
    const slot = Math.floor(now / this.slotMs);
    let total = 0;
    for (let index = 0; index < this.slots; index++) {
      if (slot - this.slotOf[index] < this.slots) total += this.counts[index];
    }
    return Math.max(0, (total * 1000) / (this.slots * this.slotMs));
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** `promise`, or the signal's reason as soon as it aborts (a taker still queued behind others stops waiting). */
function rejectOnAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function assertCount(count: number): void {
  if (!Number.isInteger(count) || count < 1)
    throw new RangeError(`a budget take needs a positive integer, got ${count}`);
}

function assertPositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number, got ${value}`);
}
