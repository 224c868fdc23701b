import { execFileSync } from 'node:child_process';
import type { CpuWindow, SystemKind } from './protocol';

/**
 * Turns the benchmark's measurements into the Markdown report: one table of figures for both systems and their
 * ratio, the CPU of the load generator (a run where it saturates is marked, not counted) and of each system,
 * then the details behind each figure.
 */

/** A load generator above this share of one core may itself be the bottleneck: its figure is not a result. */
export const generatorSaturationPercent = 90;

export type RowId =
  | 'connect'
  | 'connectMore'
  | 'latencyP50'
  | 'latencyP95'
  | 'latencyP99'
  | 'broadcast1000'
  | 'broadcast5000';

/** How the figures of several rounds make one: pooling raw samples where there are some, else a median. */
export type RoundCombination = { kind: 'medianOfRounds' } | { kind: 'percentileOfSamples'; percent: number };

export interface RowDefinition {
  id: RowId;
  label: string;
  unit: string;
  digits: number;
  combination: RoundCombination;
}

const medianOfRounds: RoundCombination = { kind: 'medianOfRounds' };

/** The report's rows, in order. */
export const rows: readonly RowDefinition[] = [
  {
    id: 'connect',
    label: 'connect rate, 1,000 clients, 50 in flight',
    unit: 'clients/s',
    digits: 0,
    combination: medianOfRounds,
  },
  {
    id: 'connectMore',
    label: 'connect rate, 4,000 more clients with 1,000 open (warm)',
    unit: 'clients/s',
    digits: 0,
    combination: medianOfRounds,
  },
  {
    id: 'latencyP50',
    label: 'HTTP send → receive, 1 user among 1,000 connections: p50',
    unit: 'ms',
    digits: 1,
    combination: { kind: 'percentileOfSamples', percent: 50 },
  },
  {
    id: 'latencyP95',
    label: 'HTTP send → receive: p95',
    unit: 'ms',
    digits: 1,
    combination: { kind: 'percentileOfSamples', percent: 95 },
  },
  {
    id: 'latencyP99',
    label: 'HTTP send → receive: p99',
    unit: 'ms',
    digits: 1,
    combination: { kind: 'percentileOfSamples', percent: 99 },
  },
  {
    id: 'broadcast1000',
    label: 'broadcast to 1,000 connections, until the last has it (median)',
    unit: 'ms',
    digits: 0,
    combination: { kind: 'percentileOfSamples', percent: 50 },
  },
  {
    id: 'broadcast5000',
    label: 'broadcast to 5,000 connections, until the last has it (median)',
    unit: 'ms',
    digits: 0,
    combination: { kind: 'percentileOfSamples', percent: 50 },
  },
];

/** One figure of one system. */
export interface Measurement {
  value?: number;
  generatorCpu?: CpuWindow;
  systemCpu?: CpuWindow;
  /** What went wrong, if anything (failed connects, lost messages, incomplete runs, an error). */
  problem?: string;
  /** How the figure was obtained, for the details section. */
  detail?: string;
  /** The raw figures behind `value` (ms per send, ms per broadcast run), pooled across rounds. */
  samples?: number[];
}

export interface SystemMeasurements {
  rows: Partial<Record<RowId, Measurement>>;
  notes: string[];
  /** Set when the system could not be benchmarked at all (did not start, ...). */
  failure?: string;
}

export interface BenchReport {
  startedAt: Date;
  durationMs: number;
  machine: { cores: number; cpuModel: string; node: string; platform: string; openFilesLimit?: string };
  /** 1-minute load average at the start and at the end: other work on the machine moves every figure. */
  loadAverage: { atStart: number; atEnd: number };
  workload: Record<string, number>;
  systems: Record<SystemKind, SystemMeasurements>;
  broadcastCore?: ScriptSection;
  /** The scale benchmark of the asynchronous broadcast (`bench/scale-fan-out.ts`). */
  scaleFanOut?: ScriptSection;
  /** The message log's send path and resume (`bench/message-log.ts`, issue 12). */
  messageLog?: ScriptSection;
}

/** A script the runner ran to completion, quoted in the report. */
export interface ScriptSection {
  script: string;
  output: string;
  exitCode: number | null;
  timedOut: boolean;
  elapsedMs: number;
}

const systemLabels: Record<SystemKind, string> = { local: 'local stack', reference: 'reference' };

export function isSaturated(measurement: Measurement | undefined): boolean {
  return (measurement?.generatorCpu?.percentOfOneCore ?? 0) > generatorSaturationPercent;
}

function formatNumber(value: number, digits: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function formatValue(measurement: Measurement | undefined, row: RowDefinition): string {
  if (measurement?.value === undefined || Number.isNaN(measurement.value)) return 'no figure (see details)';
  const figure = `${formatNumber(measurement.value, row.digits)} ${row.unit}`;
  if (isSaturated(measurement)) return `~~${figure}~~ generator saturated (not a result)`;
  return measurement.problem ? `${figure} (incomplete, see details)` : figure;
}

function formatRatio(local: Measurement | undefined, reference: Measurement | undefined): string {
  if (local?.value === undefined || reference?.value === undefined || reference.value === 0) return 'n/a';
  if (isSaturated(local) || isSaturated(reference)) return 'n/a';
  return `${formatNumber(local.value / reference.value, 2)}×`;
}

function formatCpu(window: CpuWindow | undefined): string {
  return window ? `${window.percentOfOneCore.toFixed(0)}%` : 'n/a';
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/**
 * Renders the report as Markdown.
 *
 * @example
 * writeFileSync('bench/results/latest.md', renderReport(report));
 */
export function renderReport(report: BenchReport): string {
  const { local, reference } = report.systems;
  const lines: string[] = [];
  lines.push('# Benchmark: local stack vs reference server (Express + socket.io)', '');
  lines.push(
    `Run ${report.startedAt.toISOString()} (${(report.durationMs / 1000).toFixed(0)} s) on ${report.machine.cpuModel}, nproc ` +
      `${report.machine.cores}, Node ${report.machine.node}, ${report.machine.platform}` +
      (report.machine.openFilesLimit ? `, ulimit -n ${report.machine.openFilesLimit}` : '') +
      `. 1-minute load average ${report.loadAverage.atStart.toFixed(2)} at the start, ` +
      `${report.loadAverage.atEnd.toFixed(2)} at the end. Command: \`npm run bench\`.`,
    '',
  );
  lines.push(
    '| scenario | local stack | reference | ratio (local ÷ reference) | generator CPU (local / reference) |',
    '|---|---|---|---|---|',
  );
  for (const row of rows) {
    const localRow = local.rows[row.id];
    const referenceRow = reference.rows[row.id];
    lines.push(
      `| ${row.label} | ${escapeCell(formatValue(localRow, row))} | ${escapeCell(formatValue(referenceRow, row))} | ` +
        `${formatRatio(localRow, referenceRow)} | ${formatCpu(localRow?.generatorCpu)} / ${formatCpu(referenceRow?.generatorCpu)} |`,
    );
  }
  lines.push(
    '',
    `Each system ran the whole workload ${report.workload.rounds} times, alternating with the other (the machine ` +
      'is shared); latency percentiles and broadcast medians pool the samples of every round, connect rates are ' +
      'the median of the rounds. Per-round figures are under Details. ' +
      'Figures only, no pass or fail. A ratio above 1 means the local stack shows the larger figure: slower for ' +
      'times (ms), faster for rates (clients/s). Generator CPU is the CPU time of the busiest load generator ' +
      `process (there are ${report.workload.generatorShards}, sharing the clients) over the measured window, as a ` +
      `share of one core; above ${generatorSaturationPercent}% the figure is struck out as ` +
      '"generator saturated (not a result)", and a saturated round is left out of a figure that other rounds ' +
      'can give. Close to that limit the generator is on the critical path of a broadcast (it is still decoding ' +
      'messages when the system is done sending), so such a figure is an upper bound of the system’s own time.',
    '',
    'What runs where: each system runs alone in its own Node process (the local stack: API Gateway emulator, the ' +
      'real Lambda handlers and dynalite in one process; the reference: one Express + socket.io process with an ' +
      'in-memory user-to-socket map). The load generator runs in processes of its own, each holding a share of ' +
      'the clients (`ws` with `Authorization: Bearer` for the local stack; socket.io-client on the websocket ' +
      'transport, with the same header, for the reference) and timing on the machine’s clock. These are figures ' +
      'for the local stack on this machine, not for API Gateway and Lambda on AWS.',
    '',
  );

  lines.push('## CPU of each system under test during each scenario (% of one core)', '');
  lines.push('| scenario | local stack | reference |', '|---|---|---|');
  for (const row of rows) {
    lines.push(
      `| ${row.label} | ${formatCpu(local.rows[row.id]?.systemCpu)} | ${formatCpu(reference.rows[row.id]?.systemCpu)} |`,
    );
  }
  lines.push('');

  lines.push('## Details', '');
  lines.push(`Workload: \`${JSON.stringify(report.workload)}\``, '');
  for (const kind of ['local', 'reference'] as const) {
    const system = report.systems[kind];
    lines.push(`### ${systemLabels[kind]}`, '');
    if (system.failure) lines.push(`- **could not be benchmarked**: ${system.failure}`);
    for (const row of rows) {
      const measurement = system.rows[row.id];
      if (!measurement || (!measurement.detail && !measurement.problem)) continue;
      // One line per round (rounds.ts joins them with newlines), each a nested item.
      lines.push(`- ${row.label}:`);
      for (const detail of measurement.detail?.split('\n') ?? []) lines.push(`  - ${detail}`);
      for (const problem of measurement.problem?.split('\n') ?? []) lines.push(`  - **problem**: ${problem}`);
    }
    for (const note of system.notes) lines.push(`- ${note}`);
    lines.push('');
  }

  lines.push('## Core broadcast benchmark (`bench/broadcast-core.ts`)', '');
  const core = report.broadcastCore;
  if (!core) {
    lines.push('Not run: `bench/broadcast-core.ts` is not present.');
  } else {
    const outcome = core.timedOut ? 'timed out' : `exit code ${core.exitCode}`;
    lines.push(`\`npx tsx ${core.script}\` (${outcome}, ${(core.elapsedMs / 1000).toFixed(1)} s):`, '');
    lines.push('```', core.output.trimEnd(), '```');
  }
  lines.push('');
  lines.push('## Scale benchmark of the asynchronous broadcast (`bench/scale-fan-out.ts`)', '');
  const scale = report.scaleFanOut;
  if (!scale) {
    lines.push('Not run.');
  } else {
    const outcome = scale.timedOut ? 'timed out' : `exit code ${scale.exitCode}`;
    lines.push(`\`npx tsx ${scale.script}\` (${outcome}, ${(scale.elapsedMs / 1000).toFixed(1)} s):`, '');
    // Its figures are a Markdown table already; progress lines (stderr) stay out of the report.
    lines.push(scale.output.trimEnd());
  }
  lines.push('');
  lines.push('## Message log: send path and resume (`bench/message-log.ts`)', '');
  const log = report.messageLog;
  if (!log) {
    lines.push('Not run.');
  } else {
    const outcome = log.timedOut ? 'timed out' : `exit code ${log.exitCode}`;
    lines.push(`\`npx tsx ${log.script}\` (${outcome}, ${(log.elapsedMs / 1000).toFixed(1)} s):`, '');
    lines.push(log.output.trimEnd());
  }
  lines.push('');
  return lines.join('\n');
}

/**
 * Lets the repository's formatter align the report's tables, so the committed report reads well as plain text and
 * passes `biome check`. Returned as written if the formatter cannot run.
 *
 * @example
 * writeFileSync('bench/results/soak.md', alignMarkdownTables(markdown));
 */
export function alignMarkdownTables(markdown: string): string {
  try {
    return execFileSync('node_modules/.bin/biome', ['format', '--stdin-file-path=report.md'], {
      input: markdown,
      stdio: ['pipe', 'pipe', 'ignore'],
    }).toString();
  } catch {
    process.stderr.write('could not format the report with biome; left as written\n');
    return markdown;
  }
}
