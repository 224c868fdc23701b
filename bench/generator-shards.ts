import { randomUUID } from 'node:crypto';
import { type LoadGenerator, startLoadGenerator } from './child-processes';
import type {
  BroadcastResult,
  BroadcastRun,
  ConfigureCommand,
  ConnectResult,
  CpuWindow,
  LatencyCommand,
  LatencyResult,
} from './protocol';
import { median, sumCpuWindows } from './stats';

/**
 * The load generator as several processes ("shards"), each holding a share of the clients. One process cannot
 * decode a socket.io broadcast to 5,000 clients as fast as one socket.io server sends it: on 2 cores it saturates,
 * and the figure measures the generator. Shards spread that work; each is still measured on its own, and the
 * busiest one's CPU is what decides whether a figure is a result. Client `i` lives in shard `i % shards`.
 */
export interface GeneratorShards {
  configure(command: Omit<ConfigureCommand, 'command'>): Promise<void>;
  /** Opens one client per index, `parallelism` attempts in flight across all shards. */
  connect(options: { userIndexes: number[]; parallelism: number; timeoutMs: number }): Promise<ConnectResult>;
  /** Runs the latency scenario in the shard holding the target client. */
  latency(command: Omit<LatencyCommand, 'command'>, timeoutMs: number): Promise<LatencyResult>;
  /** Timed broadcasts to every open client of every shard. */
  broadcast(options: { warmupRuns: number; repeats: number; completionTimeoutMs: number }): Promise<BroadcastResult>;
  stop(timeoutMs: number): Promise<void>;
}

const commandTimeoutMs = 10_000;
/** Lets the system finish its own bookkeeping before the next broadcast run is timed. */
const pauseBetweenBroadcastsMs = 250;

function busiest(windows: readonly CpuWindow[]): CpuWindow {
  return windows.reduce((most, window) => (window.percentOfOneCore > most.percentOfOneCore ? window : most));
}

/**
 * Starts `count` load generator processes, logging to `${logPrefix}-{shard}.log`.
 *
 * @example
 * const shards = startGeneratorShards(2, 'bench/results/local-generator');
 * await shards.configure({ system: 'local', endpoints, jwtSecret });
 * const connect = await shards.connect({ userIndexes: [0, 1, 2], parallelism: 50, timeoutMs: 60_000 });
 */
export function startGeneratorShards(count: number, logPrefix: string): GeneratorShards {
  const generators: LoadGenerator[] = Array.from({ length: count }, (_, shard) =>
    startLoadGenerator(`${logPrefix}-${shard}.log`),
  );
  const shardOf = (userIndex: number) => generators[userIndex % generators.length];

  return {
    async configure(command) {
      await Promise.all(
        generators.map((generator) => generator.request({ command: 'configure', ...command }, commandTimeoutMs)),
      );
    },

    async connect({ userIndexes, parallelism, timeoutMs }) {
      const perShard = Math.max(1, Math.floor(parallelism / generators.length));
      const results = await Promise.all(
        generators.map((generator, shard) =>
          generator.request(
            {
              command: 'connect',
              userIndexes: userIndexes.filter((index) => index % generators.length === shard),
              parallelism: perShard,
            },
            timeoutMs,
          ),
        ),
      );
      const connected = results.reduce((sum, result) => sum + result.connected, 0);
      // The shards ran at the same time: the batch took as long as the slowest.
      const elapsedMs = Math.max(...results.map((result) => result.elapsedMs));
      return {
        attempted: results.reduce((sum, result) => sum + result.attempted, 0),
        connected,
        failed: results.reduce((sum, result) => sum + result.failed, 0),
        firstError: results.find((result) => result.firstError !== undefined)?.firstError,
        elapsedMs,
        clientsPerSecond: connected / (elapsedMs / 1000),
        openClients: results.reduce((sum, result) => sum + result.openClients, 0),
        cpu: busiest(results.map((result) => result.cpu)),
      };
    },

    latency(command, timeoutMs) {
      return shardOf(command.targetUserIndex).request({ command: 'latency', ...command }, timeoutMs);
    },

    async broadcast({ warmupRuns, repeats, completionTimeoutMs }) {
      const runs: BroadcastRun[] = [];
      const cpuPerShard: CpuWindow[][] = generators.map(() => []);
      const answerTimeoutMs = completionTimeoutMs + commandTimeoutMs;
      for (let repeat = 0; repeat < warmupRuns + repeats; repeat++) {
        const run = randomUUID();
        // Every shard listens before the request leaves, so no receipt can be missed.
        const armed = await Promise.all(
          generators.map((generator) =>
            generator.request({ command: 'armBroadcast', run, completionTimeoutMs }, commandTimeoutMs),
          ),
        );
        const send = await generators[0].request(
          { command: 'sendBroadcast', run, timeoutMs: completionTimeoutMs },
          answerTimeoutMs,
        );
        const answers = await Promise.all(
          generators.map((generator) =>
            generator.request({ command: 'awaitBroadcast', run, sent: send.httpStatus === 200 }, answerTimeoutMs),
          ),
        );
        await new Promise((resolve) => setTimeout(resolve, pauseBetweenBroadcastsMs));
        if (repeat < warmupRuns) continue;
        const expected = armed.reduce((sum, shard) => sum + shard.expected, 0);
        const received = answers.reduce((sum, answer) => sum + answer.received, 0);
        const receipts = answers.flatMap((answer) =>
          answer.lastReceiptEpochMs === undefined ? [] : [answer.lastReceiptEpochMs],
        );
        const complete = answers.every((answer) => answer.received >= answer.expected) && receipts.length > 0;
        runs.push({
          expected,
          received,
          lastReceiptMs: complete ? Math.max(...receipts) - send.sentAtEpochMs : undefined,
          httpAnswerMs: send.httpAnswerMs,
          httpStatus: send.httpStatus,
          httpError: send.httpError,
        });
        for (const [shard, answer] of answers.entries()) cpuPerShard[shard].push(answer.cpu);
      }
      const completeTimes = runs.flatMap((run) => (run.lastReceiptMs === undefined ? [] : [run.lastReceiptMs]));
      const shardTotals = cpuPerShard.flatMap((windows) => {
        const total = sumCpuWindows(windows);
        return total ? [total] : [];
      });
      return {
        runs,
        medianLastReceiptMs: completeTimes.length > 0 ? median(completeTimes) : undefined,
        medianHttpAnswerMs: median(runs.map((run) => run.httpAnswerMs)),
        cpu: shardTotals.length > 0 ? busiest(shardTotals) : { cpuMs: 0, wallMs: 0, percentOfOneCore: 0 },
      };
    },

    async stop(timeoutMs) {
      await Promise.all(generators.map((generator) => generator.stop(timeoutMs)));
    },
  };
}
