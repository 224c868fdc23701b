import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  AdaptiveRate,
  DynamoPostBudget,
  readPostBudgetConfig,
  TokenBucketPostBudget,
} from '../../lambdas/core/post-budget';

// The budget's arithmetic on jest's fake clock (it fakes setTimeout and Date.now together), so no assertion here
// depends on how fast this machine runs. The shared, DynamoDB-backed limit is proven on dynalite in
// test/integration/post-budget.dynalite.test.ts.

const start = new Date('2026-11-27T12:00:00.000Z').getTime();

beforeEach(() => {
  jest.useFakeTimers({ now: start });
});

afterEach(() => {
  jest.useRealTimers();
});

/** Whether a promise has settled yet, without waiting for it. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

describe('AdaptiveRate', () => {
  it('halves on a 429, climbs back linearly, and never passes the ceiling', () => {
    // Prepare
    const rate = new AdaptiveRate({ ceiling: 1000, increasePerSecond: 100 }, 0);
    // Act
    rate.decrease(0);
    // Assess
    expect(rate.current(0)).toBe(500);
    expect(rate.current(2_000)).toBe(700);
    expect(rate.current(60_000)).toBe(1000);
  });

  it('decreases from the rate really used when that is lower than the allowed one', () => {
    const rate = new AdaptiveRate({ ceiling: 2000 }, 0);
    rate.decrease(0, 300);
    expect(rate.current(0)).toBe(150);
  });

  it('answers the 429s of one burst with one decrease, and stops at the floor', () => {
    const rate = new AdaptiveRate({ ceiling: 1000, floor: 200, increasePerSecond: 0, holdMs: 1000 }, 0);
    expect(rate.decrease(0)).toBe(true);
    expect(rate.decrease(500)).toBe(false);
    expect(rate.current(500)).toBe(500);
    expect(rate.decrease(1000)).toBe(true);
    expect(rate.current(1000)).toBe(250);
    rate.decrease(2000);
    expect(rate.current(2000)).toBe(200);
  });
});

describe('TokenBucketPostBudget', () => {
  it('grants its burst at once, then waits for the refill', async () => {
    // Prepare: 1,000/s, a burst of 100
    const budget = new TokenBucketPostBudget({ ratePerSecond: 1000, burst: 100 });
    // Act / Assess
    await expect(budget.take(150)).resolves.toBe(100);
    const next = budget.take(50);
    // 10 ms of tokens are worth waking for (GATHER_MS): nothing before, 10 posts at 10 ms.
    await jest.advanceTimersByTimeAsync(9);
    expect(await settled(next)).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await expect(next).resolves.toBe(10);
  });

  it('never grants more than burst + rate × time, however many takers ask', async () => {
    // Prepare: 2,000/s, burst 200; twelve takers asking for 1 to 60 posts each time, for 3 s of fake time
    const budget = new TokenBucketPostBudget({ ratePerSecond: 2000, burst: 200 });
    const controller = new AbortController();
    let granted = 0;
    const takers = Array.from({ length: 12 }, async (_, index) => {
      for (;;) {
        const got = await budget.take(1 + ((index * 7) % 60), controller.signal).catch(() => 0);
        if (got === 0) return;
        granted += got;
      }
    });
    // Act
    await jest.advanceTimersByTimeAsync(3000);
    controller.abort(new Error('done'));
    await jest.advanceTimersByTimeAsync(0);
    await Promise.all(takers);
    // Assess: the bound holds, and the takers did use what was there (no token left idle for long)
    expect(granted).toBeLessThanOrEqual(200 + 2000 * 3);
    expect(granted).toBeGreaterThanOrEqual(2000 * 3 - 2000 * 0.02);
  });

  it('serves takers first come, first served', async () => {
    const budget = new TokenBucketPostBudget({ ratePerSecond: 100, burst: 10 });
    await budget.take(10);
    const order: string[] = [];
    const large = budget.take(10).then((n) => order.push(`large ${n}`));
    const small = budget.take(1).then((n) => order.push(`small ${n}`));
    await jest.advanceTimersByTimeAsync(200);
    await Promise.all([large, small]);
    expect(order[0]).toMatch(/^large/);
  });

  /** Takes as fast as the budget allows for `ms` of fake time; returns the posts granted. */
  async function takeFor(budget: TokenBucketPostBudget, ms: number): Promise<number> {
    const controller = new AbortController();
    let granted = 0;
    const taker = (async () => {
      for (;;) granted += await budget.take(100, controller.signal);
    })().catch(() => undefined);
    await jest.advanceTimersByTimeAsync(ms);
    controller.abort(new Error('done'));
    await taker;
    return granted;
  }

  it('refills more slowly after a 429, from what was really used', async () => {
    // Prepare: 1,000/s, 1 s of use at the full rate
    const budget = new TokenBucketPostBudget({ ratePerSecond: 1000, burst: 100, adaptive: { increasePerSecond: 0 } });
    expect(await takeFor(budget, 1000)).toBeGreaterThanOrEqual(1000);
    // Act
    budget.throttled();
    // Assess: about 1,000/s was used, so the refill rate is now about half of that, and the takers get no more
    expect(budget.currentRate()).toBeGreaterThanOrEqual(450);
    expect(budget.currentRate()).toBeLessThanOrEqual(550);
    const after = await takeFor(budget, 2000);
    expect(after).toBeLessThanOrEqual(100 + 2 * 550);
    expect(after).toBeGreaterThanOrEqual(2 * 450 - 20);
  });

  it('rejects with the signal reason while waiting, also when queued behind another taker', async () => {
    const budget = new TokenBucketPostBudget({ ratePerSecond: 1, burst: 1 });
    await budget.take(1);
    const controller = new AbortController();
    const reason = new Error('invocation out of time');
    const first = budget.take(1, controller.signal);
    const queued = budget.take(1, controller.signal);
    controller.abort(reason);
    await expect(first).rejects.toBe(reason);
    await expect(queued).rejects.toBe(reason);
    await expect(budget.take(1, controller.signal)).rejects.toBe(reason);
  });

  it('refuses a count that is not a positive integer', async () => {
    const budget = new TokenBucketPostBudget({ ratePerSecond: 10 });
    await expect(budget.take(0)).rejects.toThrow(/positive integer, got 0/);
    await expect(budget.take(1.5)).rejects.toThrow(RangeError);
  });
});

describe('DynamoPostBudget', () => {
  const documentMock = mockClient(DynamoDBDocumentClient);
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));

  beforeEach(() => documentMock.reset());

  function budget(extra: Partial<ConstructorParameters<typeof DynamoPostBudget>[0]> = {}) {
    return new DynamoPostBudget({ client, tableName: 'FanOut', ratePerSecond: 2000, random: () => 0, ...extra });
  }

  it('leases with one atomic ADD on the window item and grants what it asked while the window has room', async () => {
    // Prepare: 200 posts per 100 ms window; 50 already leased
    documentMock.on(UpdateCommand).resolves({ Attributes: { used: 100 } });
    // Act
    const granted = await budget().take(80);
    // Assess: a lease is capped at a quarter of the window (50)
    expect(granted).toBe(50);
    expect(documentMock).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'FanOut',
      Key: { pk: 'budget#posts', sk: '2026-11-27T12:00:00.000Z' },
      UpdateExpression: 'ADD used :n SET expiresAt = if_not_exists(expiresAt, :expiresAt)',
      ExpressionAttributeValues: { ':n': 50, ':expiresAt': start / 1000 + 1 + 3600 },
      ReturnValues: 'UPDATED_NEW',
    });
  });

  it('grants only the part of a lease below the window limit, then waits for the next window without writing', async () => {
    // Prepare: the lease of 50 took the counter from 170 to 220: 30 were left
    documentMock
      .on(UpdateCommand)
      .resolvesOnce({ Attributes: { used: 220 } })
      .resolves({ Attributes: { used: 50 } });
    const shared = budget();
    // Act / Assess
    await expect(shared.take(50)).resolves.toBe(30);
    const next = shared.take(50);
    await jest.advanceTimersByTimeAsync(99);
    expect(await settled(next)).toBe(false);
    expect(documentMock).toHaveReceivedCommandTimes(UpdateCommand, 1);
    await jest.advanceTimersByTimeAsync(1);
    await expect(next).resolves.toBe(50);
    expect(documentMock).toHaveReceivedNthCommandWith(2, UpdateCommand, {
      Key: { pk: 'budget#posts', sk: '2026-11-27T12:00:00.100Z' },
    });
  });

  it('grants nothing from a window another holder spent and tries the next one', async () => {
    documentMock
      .on(UpdateCommand)
      .resolvesOnce({ Attributes: { used: 260 } })
      .resolves({ Attributes: { used: 10 } });
    const shared = budget();
    const taking = shared.take(10);
    await jest.advanceTimersByTimeAsync(100);
    await expect(taking).resolves.toBe(10);
    expect(documentMock).toHaveReceivedCommandTimes(UpdateCommand, 2);
  });

  it('rejects with the signal reason when aborted during the wait for the next window', async () => {
    documentMock.on(UpdateCommand).resolves({ Attributes: { used: 400 } });
    const controller = new AbortController();
    const reason = new Error('invocation out of time');
    const taking = budget().take(10, controller.signal);
    await jest.advanceTimersByTimeAsync(10);
    controller.abort(reason);
    await expect(taking).rejects.toBe(reason);
  });

  it('passes a DynamoDB failure on to the caller', async () => {
    documentMock.on(UpdateCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await expect(budget().take(10)).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  it('paces itself locally after a 429', async () => {
    // Prepare: a window never spent, so only the local pacing limits this holder
    documentMock.on(UpdateCommand).callsFake((input: { ExpressionAttributeValues: { ':n': number } }) => ({
      Attributes: { used: input.ExpressionAttributeValues[':n'] },
    }));
    const shared = budget({ adaptive: { increasePerSecond: 0 } });
    for (let lease = 0; lease < 4; lease++) await shared.take(50);
    expect(shared.localRate()).toBe(2000);
    // Act
    shared.throttled();
    // Assess: 200 posts in the last second, so half of 200/s, whatever the configured rate
    expect(shared.localRate()).toBe(100);
  });

  it('refuses a window too short to admit one post', () => {
    expect(() => budget({ ratePerSecond: 5, windowMs: 100 })).toThrow(/admits no post/);
  });
});

describe('readPostBudgetConfig', () => {
  it('reads POST_BUDGET_PER_SECOND and defaults to 2,000/s', () => {
    expect(readPostBudgetConfig({ POST_BUDGET_PER_SECOND: '500' })).toEqual({ ratePerSecond: 500 });
    expect(readPostBudgetConfig({})).toEqual({ ratePerSecond: 2000 });
  });

  it('names the setting when it is not a usable rate', () => {
    expect(() => readPostBudgetConfig({ POST_BUDGET_PER_SECOND: '0' })).toThrow(/POST_BUDGET_PER_SECOND/);
    expect(() => readPostBudgetConfig({ POST_BUDGET_PER_SECOND: 'fast' })).toThrow(/POST_BUDGET_PER_SECOND/);
  });
});
