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
