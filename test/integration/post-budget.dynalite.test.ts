import { setMaxListeners } from 'node:events';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../lambdas/core/clients';
import { DynamoPostBudget } from '../../lambdas/core/post-budget';
import {
  createFanOutTable,
  type LocalDynamo,
  localCredentials,
  localRegion,
  startLocalDynamo,
} from '../../local/local-dynamo';

// The global post budget against a real DynamoDB-compatible server (dynalite, in process): many holders, each its
// own DynamoPostBudget as each Lambda worker has, racing for one window's posts through real atomic UpdateItem
// calls. The clock is the test's (every holder reads it), so which window a grant belongs to is known exactly and
// nothing here depends on this machine's speed: the test waits for conditions, never for a duration.

const tableName = 'fan-out-it';
const windowMs = 1_000;
const ratePerSecond = 300;
const windowLimit = 300;
const holders = 12;

let dynamo: LocalDynamo;
const client = () =>
  createDocumentClient({ endpoint: dynamo.endpoint, region: localRegion, credentials: localCredentials });

beforeAll(async () => {
  dynamo = await startLocalDynamo();
  // The same table the stack builds, from the one schema declaration.
  await createFanOutTable(dynamo.endpoint, tableName);
});

afterAll(async () => {
  await dynamo?.stop();
});

/** Waits (polling, bounded by the test's timeout) until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

it('lets concurrent holders together take exactly the window limit, never more, window after window', async () => {
  // Prepare: a clock the test moves, set 5 ms before the end of the first window so a holder that finds the window
  // spent wakes up soon and finds it still spent (the clock has not moved), until the test moves it on.
  const firstWindow = new Date('2026-11-27T12:00:00.000Z').getTime();
  let clock = firstWindow + windowMs - 5;
  const documentClient = client();
  // Requests in flight to dynalite, so the test ends only once every lease has come back (an aborted SDK call
  // stops waiting, but dynalite still applies it).
  let inFlight = 0;
  documentClient.middlewareStack.add(
    (next) => async (args) => {
      inFlight++;
      try {
        return await next(args);
      } finally {
        inFlight--;
      }
    },
    { step: 'initialize', name: 'countInFlight' },
  );
  const controller = new AbortController();
  // Twelve holders wait on one signal, as the workers of one invocation would (each SDK call listens too).
  setMaxListeners(100, controller.signal);
  const grants: Array<{ holder: number; window: number; posts: number }> = [];
  const budgets = Array.from(
    { length: holders },
    () =>
      new DynamoPostBudget({
        client: documentClient,
        tableName,
        name: 'limit-it',
        ratePerSecond,
        windowMs,
        leaseSize: 20,
        now: () => clock,
        random: () => 0,
      }),
  );
  expect(budgets[0].windowLimit).toBe(windowLimit);
  // Act: every holder asks for 1 to 37 posts at a time, without end, until aborted
  const takers = budgets.map(async (budget, holder) => {
    for (let round = 0; ; round++) {
      const posts = await budget.take(1 + ((holder * 5 + round * 11) % 37), controller.signal);
      grants.push({ holder, window: Math.floor(clock / windowMs), posts });
    }
  });
  const settledTakers = Promise.allSettled(takers);
  const total = () => grants.reduce((sum, grant) => sum + grant.posts, 0);
  await until(() => total() >= windowLimit);
  clock += windowMs;
  await until(() => total() >= 2 * windowLimit);
  // Every lease sent has come back; with the window spent and the clock still, no holder writes again.
  await until(() => inFlight === 0);
  controller.abort(new Error('test done'));
  const outcomes = await settledTakers;
  // Assess: demand far above the limit, so each window gave exactly its limit, and every holder stopped with the
  // abort's reason
  expect(total()).toBe(2 * windowLimit);
  const perWindow = new Map<number, number>();
  for (const grant of grants) perWindow.set(grant.window, (perWindow.get(grant.window) ?? 0) + grant.posts);
  expect([...perWindow.values()]).toEqual([windowLimit, windowLimit]);
  expect(new Set(grants.map((grant) => grant.holder)).size).toBeGreaterThan(1);
  for (const outcome of outcomes) {
    expect(outcome).toMatchObject({ status: 'rejected', reason: new Error('test done') });
  }
  // The window item counts every post leased (the last lease straddles the limit) and carries its TTL.
  const { Item } = await documentClient.send(
    new GetCommand({ TableName: tableName, Key: { pk: 'budget#limit-it', sk: new Date(firstWindow).toISOString() } }),
  );
  expect(Item?.used).toBeGreaterThanOrEqual(windowLimit);
  expect(Item?.expiresAt).toBe((firstWindow + windowMs) / 1000 + 3600);
  documentClient.destroy();
});

it('keeps budgets of different names apart', async () => {
  const documentClient = client();
  const clock = new Date('2026-11-27T13:00:00.000Z').getTime();
  const budget = (name: string) =>
    new DynamoPostBudget({ client: documentClient, tableName, name, ratePerSecond: 20, windowMs, now: () => clock });
  await expect(budget('a').take(20)).resolves.toBe(5);
  await expect(budget('b').take(20)).resolves.toBe(5);
  documentClient.destroy();
});
