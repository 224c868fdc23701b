import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { renderComparisonCharts } from './charts';
import {
  killAllChildren,
  processGroupCpuMs,
  runTypeScriptScript,
  type ScriptRun,
  type SystemProcess,
  startSystemProcess,
} from './child-processes';
import { type GeneratorShards, startGeneratorShards } from './generator-shards';
import type { BroadcastResult, ConnectResult, CpuWindow, SystemKind } from './protocol';
import {
  alignMarkdownTables,
  type BenchReport,
  type Measurement,
  type RowId,
  renderReport,
  type SystemMeasurements,
} from './report';
import { combineRounds } from './rounds';

/**
 * `npm run bench`: the same workload against the local stack and against the reference server (Express +
 * socket.io, `bench/reference-server.ts`), each system and the load generator in a process of its own; then the
 * core broadcast benchmark (`bench/broadcast-core.ts`) when present, and the scale benchmark of the asynchronous
 * broadcast (`bench/scale-fan-out.ts`; `npm run bench -- scale [options]` runs it alone), and the message log's send
 * path and resume (`bench/message-log.ts`; `npm run bench -- log` runs it alone). Prints a Markdown table and writes it to
 * `bench/results/latest.md`. Figures only: nothing passes or fails. Every step is bounded by a timeout, and every
 * child process is killed on every way out.
 */

const workload = {
  /** Each system runs the whole workload this many times, alternating with the other; figures pool the rounds. */
  rounds: 3,
  connectClients: 1000,
  connectParallelism: 50,
  latencyWarmupSends: 20,
  latencySends: 200,
  latencyReceiveTimeoutMs: 5_000,
  /** The target sits in the middle of the 1,000 users, one connection among many users. */
  latencyTargetUserIndex: 500,
  /** One broadcast, not counted, before the first measured ones: the first run pays for cold code paths. */
  broadcastWarmupRuns: 1,
  broadcastRepeats: 3,
  broadcastCompletionTimeoutMs: 30_000,
  largeBroadcastClients: 5000,
  /** Load generator processes sharing the clients (see generator-shards.ts). */
  generatorShards: 2,
};

const resultsFolder = 'bench/results';
const reportFile = `${resultsFolder}/latest.md`;
const broadcastCoreScript = 'bench/broadcast-core.ts';
const scaleFanOutScript = 'bench/scale-fan-out.ts';
const messageLogScript = 'bench/message-log.ts';
/** About 40 s here (600 sends, 6 resumes of 1,000 messages); the backstop. */
const messageLogTimeoutMs = 5 * 60_000;
/** The scale run stops itself after 3 × its floor (100 s at the defaults) + 60 s; this is the backstop. */
const scaleFanOutTimeoutMs = 7 * 60_000;
/** Far above a normal run (~5 minutes here, the scale benchmark's ~2 included): only reached when something hangs. */
const wholeRunDeadlineMs = 16 * 60_000;

let deadlinePassed = false;

function userIndexRange(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, offset) => first + offset);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function progress(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** Reads the system's CPU (its whole process group) over one scenario. */
function startSystemCpuWindow(system: SystemProcess): () => CpuWindow {
  const cpuAtStart = processGroupCpuMs(system.pid);
  const wallAtStart = performance.now();
  return () => {
    const cpuMs = processGroupCpuMs(system.pid) - cpuAtStart;
    const wallMs = performance.now() - wallAtStart;
    return { cpuMs, wallMs, percentOfOneCore: (cpuMs / wallMs) * 100 };
  };
}

/** A batch with failed connects gives no figure: a rate over the survivors would flatter an overloaded system. */
function connectMeasurement(result: ConnectResult, systemCpu: CpuWindow): Measurement {
  const failed = result.failed > 0;
  return {
    value: failed ? undefined : result.clientsPerSecond,
    generatorCpu: result.cpu,
    systemCpu,
    problem: failed ? `${result.failed} failed: ${result.firstError}` : undefined,
    detail:
      `${result.connected}/${result.attempted} connected in ${result.elapsedMs.toFixed(0)} ms` +
      (failed ? ` (${result.clientsPerSecond.toFixed(0)} clients/s counting only those)` : ''),
  };
}

function broadcastMeasurement(result: BroadcastResult, systemCpu: CpuWindow): Measurement {
  const incomplete = result.runs.filter((run) => run.lastReceiptMs === undefined);
  const problems = incomplete.map((run) =>
    run.httpError
      ? `HTTP ${run.httpStatus}: ${run.httpError}`
      : `${run.received}/${run.expected} received within ${workload.broadcastCompletionTimeoutMs} ms`,
  );
  return {
    value: result.medianLastReceiptMs,
    samples: result.runs.flatMap((run) => (run.lastReceiptMs === undefined ? [] : [run.lastReceiptMs])),
    generatorCpu: result.cpu,
    systemCpu,
    problem:
      problems.length > 0 ? `${problems.length} of ${result.runs.length} runs incomplete: ${problems[0]}` : undefined,
    detail:
      `runs (last receipt ms): ${result.runs.map((run) => run.lastReceiptMs?.toFixed(0) ?? 'incomplete').join(', ')}; ` +
      `HTTP answer median ${result.medianHttpAnswerMs.toFixed(0)} ms; ${result.runs[0]?.expected ?? 0} clients`,
  };
}

/** Runs every scenario against one system; a failed scenario is recorded and the next one still runs. */
async function benchmarkSystem(kind: SystemKind, jwtSecret: string): Promise<SystemMeasurements> {
  const measurements: SystemMeasurements = { rows: {}, notes: [] };
  const startedAt = performance.now();
  let system: SystemProcess | undefined;
  let generator: GeneratorShards | undefined;

  const attempt = async (rows: RowId[], scenario: () => Promise<void>) => {
    if (deadlinePassed) {
      for (const row of rows) measurements.rows[row] = { problem: 'not run: the whole-run deadline passed' };
      return;
    }
    try {
      await scenario();
    } catch (error) {
      progress(`${kind}: ${rows.join(', ')} failed: ${messageOf(error)}`);
      for (const row of rows) measurements.rows[row] = { problem: messageOf(error) };
    }
  };

  if (deadlinePassed) return { ...measurements, failure: 'not run: the whole-run deadline passed' };
  try {
    progress(`${kind}: starting`);
    system = await startSystemProcess(kind, jwtSecret, `${resultsFolder}/${kind}-system.log`, 60_000);
    measurements.notes.push(`started in ${(performance.now() - startedAt).toFixed(0)} ms`);
    const runningSystem = system;
    const load = startGeneratorShards(workload.generatorShards, `${resultsFolder}/${kind}-generator`);
    generator = load;
    await load.configure({ system: kind, endpoints: system.endpoints, jwtSecret });

    await attempt(['connect'], async () => {
      progress(`${kind}: connecting ${workload.connectClients} clients`);
      const endSystemWindow = startSystemCpuWindow(runningSystem);
      const result = await load.connect({
        userIndexes: userIndexRange(0, workload.connectClients),
        parallelism: workload.connectParallelism,
        timeoutMs: 120_000,
      });
      measurements.rows.connect = connectMeasurement(result, endSystemWindow());
    });

    await attempt(['latencyP50', 'latencyP95', 'latencyP99'], async () => {
      progress(`${kind}: ${workload.latencySends} sends to one user`);
      const endSystemWindow = startSystemCpuWindow(runningSystem);
      const result = await load.latency(
        {
          targetUserIndex: workload.latencyTargetUserIndex,
          warmupSends: workload.latencyWarmupSends,
          sends: workload.latencySends,
          receiveTimeoutMs: workload.latencyReceiveTimeoutMs,
        },
        (workload.latencyWarmupSends + workload.latencySends) * (workload.latencyReceiveTimeoutMs + 1_000),
      );
      const systemCpu = endSystemWindow();
      const problem =
        result.lost > 0 ? `${result.lost} of ${workload.latencySends} lost: ${result.firstError}` : undefined;
      const detail =
        `${result.samples} samples with ${result.openClients} connections open; ` +
        `min ${result.minMs.toFixed(1)} ms, max ${result.maxMs.toFixed(1)} ms`;
      const common = { generatorCpu: result.cpu, systemCpu, problem };
      const samples = result.samplesMs;
      measurements.rows.latencyP50 = { ...common, value: result.p50Ms, samples, detail };
      measurements.rows.latencyP95 = { ...common, value: result.p95Ms, samples };
      measurements.rows.latencyP99 = { ...common, value: result.p99Ms, samples };
    });

    await attempt(['broadcast1000'], async () => {
      progress(`${kind}: broadcast to the open clients, ${workload.broadcastRepeats} times`);
      const endSystemWindow = startSystemCpuWindow(runningSystem);
      const result = await load.broadcast({
        warmupRuns: workload.broadcastWarmupRuns,
        repeats: workload.broadcastRepeats,
        completionTimeoutMs: workload.broadcastCompletionTimeoutMs,
      });
      measurements.rows.broadcast1000 = broadcastMeasurement(result, endSystemWindow());
    });

    await attempt(['connectMore'], async () => {
      const more = workload.largeBroadcastClients - workload.connectClients;
      progress(`${kind}: connecting ${more} more clients`);
      const endSystemWindow = startSystemCpuWindow(runningSystem);
      const result = await load.connect({
        userIndexes: userIndexRange(workload.connectClients, more),
        parallelism: workload.connectParallelism,
        timeoutMs: 240_000,
      });
      measurements.rows.connectMore = connectMeasurement(result, endSystemWindow());
    });

    await attempt(['broadcast5000'], async () => {
      progress(`${kind}: broadcast to the open clients, ${workload.broadcastRepeats} times`);
      const endSystemWindow = startSystemCpuWindow(runningSystem);
      const result = await load.broadcast({
        // The paths were warmed by the 1,000 broadcast.
        warmupRuns: 0,
        repeats: workload.broadcastRepeats,
        completionTimeoutMs: workload.broadcastCompletionTimeoutMs,
      });
      measurements.rows.broadcast5000 = broadcastMeasurement(result, endSystemWindow());
    });
  } catch (error) {
    progress(`${kind}: ${messageOf(error)}`);
    measurements.failure = messageOf(error);
  } finally {
    progress(`${kind}: stopping`);
    const stoppedAt = performance.now();
    // The system first: it closes every socket itself (the local stack runs $disconnect for each).
    await system?.stop(60_000);
    await generator?.stop(10_000);
    if (system) measurements.notes.push(`stopped in ${(performance.now() - stoppedAt).toFixed(0)} ms`);
  }
  return measurements;
}

async function runBroadcastCore(): Promise<ScriptRun | undefined> {
  if (!existsSync(broadcastCoreScript)) return undefined;
  if (deadlinePassed)
    return { output: 'not run: the whole-run deadline passed', exitCode: null, timedOut: true, elapsedMs: 0 };
  progress(`running ${broadcastCoreScript}`);
  // The same young-generation size the deployed sending functions get (deployedNodeOptions in lib/function-environment.ts).
  return runTypeScriptScript(broadcastCoreScript, 180_000, ['--max-semi-space-size=32']);
}

async function runScaleFanOut(): Promise<ScriptRun> {
  if (deadlinePassed)
    return { output: 'not run: the whole-run deadline passed', exitCode: null, timedOut: true, elapsedMs: 0 };
  progress(`running ${scaleFanOutScript} (about two minutes)`);
  const run = await runTypeScriptScript(scaleFanOutScript, scaleFanOutTimeoutMs);
  // Its progress lines (stderr, captured with stdout) are for a person watching, not for the report.
  const output = run.output
    .split('\n')
    .filter((line) => !line.startsWith('[scale '))
    .join('\n');
  return { ...run, output };
}

async function runMessageLog(): Promise<ScriptRun> {
  if (deadlinePassed)
    return { output: 'not run: the whole-run deadline passed', exitCode: null, timedOut: true, elapsedMs: 0 };
  progress(`running ${messageLogScript}`);
  const run = await runTypeScriptScript(messageLogScript, messageLogTimeoutMs);
  const output = run.output
    .split('\n')
    .filter((line) => line.startsWith('|') || line.startsWith('Send') || line.startsWith('Resume') || line === '')
    .join('\n');
  return { ...run, output };
}

/** `--generator-shards N` overrides the number of load generator processes (to compare, on another machine). */
function generatorShardsOption(fallback: number): number {
  const position = process.argv.indexOf('--generator-shards');
  if (position === -1) return fallback;
  const value = Number(process.argv[position + 1]);
  if (!Number.isInteger(value) || value < 1 || value > 8) {
    throw new Error(`--generator-shards takes an integer from 1 to 8, got "${process.argv[position + 1] ?? ''}"`);
  }
  return value;
}

/** `--only local|reference` benchmarks one system (for working on the harness); the default is both. */
function onlySystem(): SystemKind | undefined {
  const position = process.argv.indexOf('--only');
  if (position === -1) return undefined;
  const value = process.argv[position + 1];
  if (value !== 'local' && value !== 'reference') {
    throw new Error(`--only takes "local" or "reference", got "${value ?? ''}"`);
  }
  return value;
}

function openFilesLimit(): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'ulimit -n']).toString().trim();
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadAtStart = loadavg()[0];
  mkdirSync(resultsFolder, { recursive: true });
  // One secret for both systems, made for this run only and never written anywhere.
  const jwtSecret = randomBytes(32).toString('base64url');
  const only = onlySystem();
  workload.generatorShards = generatorShardsOption(workload.generatorShards);
  const skipped: SystemMeasurements = { rows: {}, notes: [], failure: 'not run (--only)' };
  const kinds: SystemKind[] = only ? [only] : ['local', 'reference'];
  const rounds: Record<SystemKind, SystemMeasurements[]> = { local: [], reference: [] };
  for (let round = 1; round <= workload.rounds; round++) {
    // Alternate which system goes first, so a drift in the machine's load favours neither.
    const order = round % 2 === 1 ? kinds : [...kinds].reverse();
    for (const kind of order) {
      progress(`round ${round} of ${workload.rounds}`);
      rounds[kind].push(await benchmarkSystem(kind, jwtSecret));
    }
  }
  const systems: Record<SystemKind, SystemMeasurements> = {
    local: only === 'reference' ? skipped : combineRounds(rounds.local),
    reference: only === 'local' ? skipped : combineRounds(rounds.reference),
  };
  const broadcastCore = await runBroadcastCore();
  const scaleFanOut = await runScaleFanOut();
  const messageLog = await runMessageLog();
  const report: BenchReport = {
    startedAt,
    durationMs: Date.now() - startedAt.getTime(),
    machine: {
      // What `nproc` says: the CPUs this process may run on, not every CPU of the host.
      cores: availableParallelism(),
      cpuModel: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      openFilesLimit: openFilesLimit(),
    },
    loadAverage: { atStart: loadAtStart, atEnd: loadavg()[0] },
    workload,
    systems,
    broadcastCore: broadcastCore && { script: broadcastCoreScript, ...broadcastCore },
    scaleFanOut: { script: scaleFanOutScript, ...scaleFanOut },
    messageLog: { script: messageLogScript, ...messageLog },
  };
  const markdown = alignMarkdownTables(renderReport(report));
  // A one-system run is a harness check, not a result: it must not replace the committed report.
  const file = only ? `${resultsFolder}/only-${only}.md.tmp` : reportFile;
  writeFileSync(file, markdown);
  process.stdout.write(`${markdown}\n`);
  progress(`written to ${file}`);
  if (!only) {
    // Charts of the table beside it, linked from it (bench/charts.ts); a drawing failure leaves the report as it is.
    await renderComparisonCharts(file).then(
      (charts) => progress(`charts: ${charts.join(', ')}`),
      (error: unknown) => progress(`charts not drawn: ${messageOf(error)}`),
    );
  }
}

process.on('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}
const deadline = setTimeout(() => {
  deadlinePassed = true;
  progress(`the run passed its ${wholeRunDeadlineMs / 60_000}-minute deadline: stopping every child process`);
  killAllChildren();
}, wholeRunDeadlineMs);
deadline.unref();

/** Runs one benchmark script alone in a child Node, its output live, and exits with its status. */
function runAlone(nodeArguments: string[], timeoutMs: number): never {
  const run = spawnSync(process.execPath, nodeArguments, {
    stdio: 'inherit',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  process.exit(run.status ?? 1);
}

// `npm run bench -- scale [options]`: the scale benchmark alone (it bounds itself).
if (process.argv[2] === 'scale') {
  runAlone(['--import', 'tsx', scaleFanOutScript, ...process.argv.slice(3)], scaleFanOutTimeoutMs);
}
// `npm run bench -- broadcast-core [options]`: the core broadcast benchmark alone, with the young generation the
// deployed senders get (as in the whole run). Ten minutes covers `--runs 20` of the three clients here.
if (process.argv[2] === 'broadcast-core') {
  runAlone(['--max-semi-space-size=32', '--import', 'tsx', broadcastCoreScript, ...process.argv.slice(3)], 600_000);
}
// `npm run bench -- log`: the message log benchmark alone (`bench/message-log.ts`).
if (process.argv[2] === 'log') runAlone(['--import', 'tsx', messageLogScript], messageLogTimeoutMs);

main().then(
  () => {
    // Stray handles (a child's pipe) must not keep the run alive once the report is written.
    process.exit(0);
  },
  (error: unknown) => {
    progress(`failed: ${messageOf(error)}`);
    process.exit(1);
  },
);
