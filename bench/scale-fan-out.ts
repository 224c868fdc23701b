/**
 * Scale benchmark of the asynchronous broadcast (figures, and a verdict against issue 10's "Done when": elapsed
 * ≤ 1.2 × N / budget, 0 lost, 0 duplicated, 429s absorbed).
 *
 * Run: `npm run bench -- scale` or `npx tsx bench/scale-fan-out.ts` (options: `--connections N --budget N
 * --throttle N --throttle-burst N --workers N --slices N --delay-ms N --group-size N --gone-every N
 * --invocation-ms N --time-margin-ms N`).
 *
 * What is real: the product's fan-out path. `startBroadcast` records the broadcast and queues one slice per Scan
 * segment; simulated Lambda workers (`--workers`, the event source mapping's maximum concurrency) each take a slice
 * message and run the worker core `runSlice` with what a worker function gets: its own management client
 * (`createManagementClient`, SigV4, the SDK's retries, `reportThrottling`), its own `DynamoPostBudget` (all of them
 * sharing one budget through the fan-out state table), the fan-out state (`createFanOutState`) on the same table.
 * DynamoDB is dynalite, in this process. Each simulated invocation has `--invocation-ms` to live, so a slice longer
 * than that hands on to a continuation message and resumes from its checkpoint, as on AWS.
 *
 * What stands in: the registry is in memory (`bench/memory-registry.ts`, so the figures are posting, not
 * DynamoDB Scan), the queue is an in-process list (delivery, and redelivery of a message whose run threw; the SQS
 * semantics themselves are the local SQS's tests), and `@connections` is `bench/throttled-endpoint.ts` in its own
 * process: 20 ms per post, an account throttle (token bucket) answering 429 beyond it, 410 for some ids, and a count
 * per connection id of what it received.
 *
 * Bounded: the run stops by itself after 3 × the floor + 60 s, and the endpoint process ends with this one.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { runSlice, type SliceMessage, type SliceQueue, startBroadcast } from '../lambdas/core/broadcast-fan-out';
import { createDocumentClient, createManagementClient } from '../lambdas/core/clients';
import { createEnvelope } from '../lambdas/core/envelope';
import { createFanOutState, SliceBusyError } from '../lambdas/core/fan-out-state';
import { DynamoPostBudget, reportThrottling, retryThrottlingThroughBudget } from '../lambdas/core/post-budget';
import { createFanOutTable, localCredentials, localRegion, startLocalDynamo } from '../local/local-dynamo';
import { MemoryRegistry } from './memory-registry';
import type { EndpointConfig, EndpointMessage, EndpointReport } from './throttled-endpoint';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== 'scale'),
  options: {
    connections: { type: 'string', default: '200000' },
    budget: { type: 'string', default: '2000' },
    /** The endpoint's account throttle; default: the budget itself, so only bursts past it meet 429s. */
    throttle: { type: 'string' },
    /** The throttle's bucket; default a tenth of a second's worth. */
    'throttle-burst': { type: 'string' },
    workers: { type: 'string', default: '8' },
    slices: { type: 'string', default: '16' },
    'delay-ms': { type: 'string', default: '20' },
    'group-size': { type: 'string', default: '200' },
    'gone-every': { type: 'string', default: '1000' },
    'invocation-ms': { type: 'string', default: '30000' },
    'time-margin-ms': { type: 'string', default: '3000' },
    /** `budget` (default): a 429 comes back at once and is posted again through the budget; `sdk`: the SDK retries it. */
    'throttle-retries': { type: 'string', default: 'budget' },
  },
});

const connections = Number(values.connections);
const budgetPerSecond = Number(values.budget);
const throttlePerSecond = Number(values.throttle ?? budgetPerSecond);
const throttleBurst = Number(values['throttle-burst'] ?? Math.round(throttlePerSecond / 10));
const workers = Number(values.workers);
const slices = Number(values.slices);
const delayMs = Number(values['delay-ms']);
const groupSize = Number(values['group-size']);
const goneEvery = Number(values['gone-every']);
const invocationMs = Number(values['invocation-ms']);
const timeMarginMs = Number(values['time-margin-ms']);
const throttleRetries = values['throttle-retries'];
if (throttleRetries !== 'budget' && throttleRetries !== 'sdk') {
  throw new Error(`--throttle-retries takes "budget" or "sdk", got "${throttleRetries}"`);
}
const floorMs = (connections / budgetPerSecond) * 1000;
const deadlineMs = 3 * floorMs + 60_000;

// The client signs every request; any credentials do for a local endpoint.
process.env.AWS_REGION ??= 'eu-west-1';
process.env.AWS_ACCESS_KEY_ID ??= 'bench';
process.env.AWS_SECRET_ACCESS_KEY ??= 'bench';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

function progress(line: string): void {
  process.stderr.write(`[scale ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

function startEndpoint(config: EndpointConfig): Promise<{ child: ChildProcess; port: number }> {
  const child = fork('bench/throttled-endpoint.ts', [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  process.on('exit', () => child.kill('SIGKILL'));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the endpoint exited early (${code})`)));
    child.once('message', (message: { kind: string; port: number }) => resolve({ child, port: message.port }));
    child.send({ kind: 'configure', config } satisfies EndpointMessage);
  });
}

function endpointReport(child: ChildProcess): Promise<EndpointReport> {
  return new Promise((resolve) => {
    child.once('message', (message: { report: EndpointReport }) => resolve(message.report));
    child.send({ kind: 'report' } satisfies EndpointMessage);
  });
}

/** The slice queue of this run: a list the simulated workers take messages from. */
class InProcessSliceQueue implements SliceQueue {
  readonly waiting: SliceMessage[] = [];
  sent = 0;

  async send(messages: readonly SliceMessage[]): Promise<void> {
    this.sent += messages.length;
    this.waiting.push(...messages);
  }
}

/** Counts the requests a document client makes, by kind, for the DynamoDB cost of a broadcast. */
function countRequests(client: ReturnType<typeof createDocumentClient>): { writes: number; reads: number } {
  const counts = { writes: 0, reads: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (/^(Get|Query|Scan)/.test(context.commandName ?? '')) counts.reads++;
      else counts.writes++;
      return next(args);
    },
    { step: 'initialize', name: 'countRequests' },
  );
  return counts;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const runDeadline = AbortSignal.timeout(deadlineMs);
  const { child: endpoint, port } = await startEndpoint({
    connections,
    delayMs,
    throttlePerSecond,
    throttleBurst,
    goneEvery,
  });
  const dynamo = await startLocalDynamo();
  const tableName = 'scale-fan-out';
  await createFanOutTable(dynamo.endpoint, tableName);
  const documentOptions = { endpoint: dynamo.endpoint, region: localRegion, credentials: localCredentials };
  const stateClient = createDocumentClient(documentOptions);
  const stateRequests = countRequests(stateClient);
  const state = createFanOutState({ client: stateClient, tableName, ttlSeconds: 3600 });
  const registry = new MemoryRegistry({ pageSize: 1000 });
  for (let index = 0; index < connections; index++) {
    await registry.register({ userId: `user-${index % 50_000}`, connectionId: `conn-${index}` });
  }
  const queue = new InProcessSliceQueue();
  console.log(
    `scale-fan-out: ${connections} connections (every ${goneEvery}th gone), budget ${budgetPerSecond}/s, ` +
      `endpoint ${delayMs} ms/post with an account throttle of ${throttlePerSecond}/s (burst ${throttleBurst}), ` +
      `${workers} workers, ${slices} slices, groups of ${groupSize}, invocations of ${invocationMs} ms, ` +
      `429s retried by the ${throttleRetries === 'budget' ? 'worker through the budget' : 'SDK, then the worker'}; ` +
      `node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0].toFixed(1)}`,
  );

  const budgetClient = createDocumentClient(documentOptions);
  const budgets: DynamoPostBudget[] = [];
  const results = { done: 0, duplicate: 0, continued: 0, busy: 0, errors: 0, invocations: 0 };
  let firstError: string | undefined;

  const startedAt = performance.now();
  const accepted = await startBroadcast(
    { state, queue, segments: slices },
    { envelope: createEnvelope('system', { message: 'Maintenance at 22:00', level: 'info' }) },
  );
  progress(`broadcast ${accepted.broadcastId} queued as ${accepted.slices} slices`);

  const worker = async (index: number): Promise<void> => {
    // One Lambda execution environment: its clients and its share of the budget live across invocations.
    const managementClient = createManagementClient({
      endpoint: new URL(`http://127.0.0.1:${port}/bench`),
      maxSockets: groupSize,
    });
    const budget = new DynamoPostBudget({ client: budgetClient, tableName, ratePerSecond: budgetPerSecond });
    budgets.push(budget);
    reportThrottling(managementClient, budget);
    if (throttleRetries === 'budget') retryThrottlingThroughBudget(managementClient);
    try {
      while (results.done + results.duplicate < slices && !runDeadline.aborted) {
        const message = queue.waiting.shift();
        if (!message) {
          await sleep(20);
          continue;
        }
        results.invocations++;
        const invokedAt = performance.now();
        try {
          const result = await runSlice(
            {
              registry,
              managementClient,
              state,
              queue,
              budget,
              groupSize,
              // Whole milliseconds, as Lambda's getRemainingTimeInMillis gives them.
              remainingTimeMs: () => Math.floor(invocationMs - (performance.now() - invokedAt)),
              timeMarginMs,
              owner: `worker-${index}-invocation-${results.invocations}`,
            },
            message,
          );
          results[result.status]++;
        } catch (error) {
          // As SQS would: the message comes back after its visibility timeout (shortened here).
          if (error instanceof SliceBusyError) results.busy++;
          else {
            results.errors++;
            firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          }
          setTimeout(() => queue.waiting.push(message), 1000);
        }
      }
    } finally {
      managementClient.destroy();
    }
  };

  const ticker = setInterval(async () => {
    const status = await state.readStatus(accepted.broadcastId);
    if (status) {
      const c = status.connections;
      progress(
        `${((performance.now() - startedAt) / 1000).toFixed(0)} s: ${status.state}, delivered ${c.delivered}, ` +
          `stale ${c.stale}, pending ${c.pending}, throttled ${c.throttled}; local rates ` +
          budgets.map((budget) => budget.localRate().toFixed(0)).join('/'),
      );
    }
  }, 10_000);
  await Promise.all(Array.from({ length: workers }, (_, index) => worker(index)));
  const elapsedMs = performance.now() - startedAt;
  clearInterval(ticker);

  const status = await state.readStatus(accepted.broadcastId);
  const seen = await endpointReport(endpoint);
  const c = status?.connections;
  const posts = seen.accepted + seen.gone;
  const budgetWrites = budgets.reduce((sum, budget) => sum + budget.writes, 0);
  const ratio = elapsedMs / floorMs;
  console.log('');
  console.log('| figure | value |');
  console.log('|---|---|');
  console.log(`| elapsed (startBroadcast → last slice done) | ${(elapsedMs / 1000).toFixed(1)} s |`);
  console.log(
    `| floor N / budget | ${(floorMs / 1000).toFixed(1)} s (${connections} / ${budgetPerSecond}/s); elapsed / floor ${ratio.toFixed(3)} |`,
  );
  console.log(
    `| posts/s (accepted 200 + 410 over the elapsed time) | ${((posts / elapsedMs) * 1000).toFixed(0)}; busiest 1 s at the endpoint ${seen.peakPerSecond} |`,
  );
  console.log(
    `| endpoint: 200 / 410 / 429 | ${seen.accepted} / ${seen.gone} / ${seen.throttled} (${((seen.throttled / (posts + seen.throttled)) * 100).toFixed(2)}% of requests) |`,
  );
  console.log(`| lost (live connections that never got it) | ${seen.lost} |`);
  console.log(`| duplicated (connections that got it twice) | ${seen.duplicated} |`);
  console.log(
    `| product's status | ${status?.state}: delivered ${c?.delivered}, stale ${c?.stale}, failed ${c?.failed}, unknown ${c?.unknown}, pending ${c?.pending}, 429s the worker retried ${c?.throttled} |`,
  );
  console.log(
    `| invocations | ${results.invocations} (slices done ${results.done}, continued ${results.continued}, duplicate ${results.duplicate}, busy ${results.busy}, errors ${results.errors}${firstError ? `: ${firstError}` : ''}) |`,
  );
  console.log(
    `| DynamoDB requests | budget leases ${budgetWrites} (${((budgetWrites / connections) * 1e6).toFixed(0)} per million connections); state ${stateRequests.writes} writes, ${stateRequests.reads} reads |`,
  );
  console.log(`| registry removals after 410 | ${registry.removed.length} |`);
  const met = ratio <= 1.2 && seen.lost === 0 && seen.duplicated === 0 && status?.state === 'complete';
  console.log('');
  console.log(
    `Done when (issue 10): elapsed ≤ 1.2 × N/budget: ${ratio <= 1.2 ? 'yes' : 'NO'} (${ratio.toFixed(3)}); ` +
      `0 lost: ${seen.lost === 0 ? 'yes' : 'NO'}; 0 duplicated: ${seen.duplicated === 0 ? 'yes' : 'NO'}; ` +
      `429s absorbed: ${seen.throttled > 0 ? `${seen.throttled} seen, every one retried to completion` : 'none happened'} ` +
      `(state ${status?.state}) → ${met ? 'met' : 'NOT met'}`,
  );
  if (runDeadline.aborted) console.log(`stopped at the run's deadline (${(deadlineMs / 1000).toFixed(0)} s)`);

  stateClient.destroy();
  budgetClient.destroy();
  endpoint.send({ kind: 'stop' } satisfies EndpointMessage);
  await dynamo.stop();
  process.exitCode = met ? 0 : 1;
}

// The last resort of a bounded run: a slice still posting past the deadline is not waited for.
setTimeout(() => {
  progress(`still running ${((deadlineMs + 30_000) / 1000).toFixed(0)} s after the start: stopping`);
  process.exit(1);
}, deadlineMs + 30_000).unref();

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
