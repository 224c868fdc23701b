/**
 * Bounded concurrency for the send paths. An unbounded `Promise.all` over thousands of posts opens thousands of
 * sockets at once and trips API Gateway's throttling; a bound keeps the in-flight count at what the keep-alive
 * socket pool holds.
 */

/**
 * Maps `items` through `task` with at most `limit` tasks in flight, keeping the results in input order.
 * A rejected task rejects the whole call (after the tasks already started have settled), so tasks that must
 * not stop the others catch their own errors.
 *
 * @example
 * const items = await mapBounded(['u1', 'u2', 'u3'], 2, (userId) => registry.connectionsOf(userId));
 */
export async function mapBounded<TItem, TResult>(
  items: readonly TItem[],
  limit: number,
  task: (item: TItem, index: number) => Promise<TResult>,
): Promise<TResult[]> {
  assertLimit(limit);
  const results = new Array<TResult>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && failure === undefined) {
      const index = next++;
      try {
        results[index] = await task(items[index], index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}

/**
 * A pool that runs at most `limit` tasks at once, fed incrementally: `submit` waits for a free slot before it
 * starts the task, so a producer reading pages (a broadcast's Scan) slows down to the pace of the posts instead
 * of queueing the whole table in memory, and still reads the next page while the current posts are in flight.
 *
 * @example
 * const pool = new BoundedPool(200);
 * for await (const page of registry.scanConnections()) {
 *   for (const connection of page) await pool.submit(() => post(connection));
 * }
 * await pool.drain();
 */
export class BoundedPool {
  private active = 0;
  private readonly waitingForSlot: Array<() => void> = [];
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;

  constructor(private readonly limit: number) {
    assertLimit(limit);
  }

  /** Resolves once `task` has started (after a slot freed up); the task itself runs on. */
  async submit(task: () => Promise<void>): Promise<void> {
    while (this.active >= this.limit) {
      await new Promise<void>((resolve) => this.waitingForSlot.push(resolve));
    }
    this.active++;
    const running: Promise<void> = task()
      .catch((error: unknown) => {
        this.failure ??= { error };
      })
      .finally(() => {
        this.active--;
        this.running.delete(running);
        this.waitingForSlot.shift()?.();
      });
    this.running.add(running);
  }

  /** Waits until every submitted task has settled; rethrows the first task failure, if any. */
  async drain(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
    if (this.failure) throw this.failure.error;
  }
}

function assertLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`concurrency limit must be a positive integer, got ${limit}`);
}
