import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import type { SoakResult } from './soak';

/**
 * Charts beside the benchmark reports, drawn by Vega-Lite (compiled to Vega and rendered to SVG in Node, no canvas
 * and no browser): the comparison table of `bench/results/latest.md` and the soak's curves from `soak.json`.
 * `npm run bench:charts` redraws them from the committed figures; `npm run bench` and `npm run bench:soak` draw
 * theirs after each run.
 */

type Spec = TopLevelSpec;

const resultsFolder = 'bench/results';
const chartsHeading = '## Charts';
const font = 'Helvetica, Arial, sans-serif';
const config = {
  font,
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'bottom' as const, labelLimit: 0 },
  title: { fontSize: 14, anchor: 'start' as const },
  background: 'white',
};

/**
 * Renders a Vega-Lite spec to an SVG document.
 *
 * @example
 * const svg = await renderSvg({ data: { values: [{ x: 1, y: 2 }] }, mark: 'line', encoding: {} });
 */
export async function renderSvg(spec: Spec): Promise<string> {
  // ESM only (vega-canvas awaits at top level), so loaded with import() from this CommonJS project.
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vegaLite.compile({ ...spec, config: { ...config, ...(spec.config ?? {}) } }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** One row of the comparison table: scenario, the two systems' figures and their unit. */
export interface ComparisonRow {
  scenario: string;
  unit: string;
  local?: number;
  reference?: number;
}

function figureOf(cell: string): { value?: number; unit: string } {
  // "1,102 clients/s", "2.0 ms", or a struck-out / missing figure.
  const match = /^([\d,]+(?:\.\d+)?)\s+(.+)$/.exec(cell.trim());
  if (!match) return { unit: '' };
  return { value: Number(match[1].replace(/,/g, '')), unit: match[2].trim() };
}

/**
 * The first table of a `npm run bench` report: one row per scenario, both systems' figures.
 *
 * @example
 * comparisonRows(readFileSync('bench/results/latest.md', 'utf8')); // [{ scenario: 'connect rate, ...', unit: 'clients/s', local: 574, reference: 1292 }, ...]
 */
export function comparisonRows(markdown: string): ComparisonRow[] {
  const lines = markdown.split('\n');
  const header = lines.findIndex((line) => line.startsWith('| scenario'));
  if (header === -1) return [];
  const rows: ComparisonRow[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1);
    const local = figureOf(cells[1] ?? '');
    const reference = figureOf(cells[2] ?? '');
    rows.push({
      scenario: (cells[0] ?? '').trim(),
      unit: local.unit || reference.unit,
      local: local.value,
      reference: reference.value,
    });
  }
  return rows;
}

function comparisonSpec(rows: ComparisonRow[], unit: string, title: string, logScale: boolean): Spec {
  const values = rows
    .filter((row) => row.unit === unit)
    .flatMap((row) => [
      { scenario: row.scenario, system: 'local stack', value: row.local },
      { scenario: row.scenario, system: 'reference (Express + socket.io)', value: row.reference },
    ])
    .filter((value) => value.value !== undefined);
  // Bars for a linear scale; a log scale has no zero for a bar to start from, so dots there. Each carries its figure.
  const encoding = {
    y: { field: 'scenario', type: 'nominal', sort: null, title: null, axis: { labelLimit: 0 } },
    yOffset: { field: 'system', type: 'nominal' },
    x: {
      field: 'value',
      type: 'quantitative',
      title: unit + (logScale ? ' (log scale)' : ''),
      scale: logScale ? { type: 'log' } : { zero: true },
    },
    color: {
      field: 'system',
      type: 'nominal',
      title: null,
      scale: { range: ['#4c78a8', '#f58518'] },
      legend: { labelLimit: 0 },
    },
  };
  return {
    title,
    width: 380,
    data: { values },
    encoding,
    layer: [
      logScale ? { mark: { type: 'point', filled: true, size: 90 } } : { mark: { type: 'bar' } },
      {
        mark: { type: 'text', align: 'left', dx: 7, fontSize: 10 },
        encoding: { text: { field: 'value', type: 'quantitative', format: ',' } },
      },
    ],
  } as Spec;
}

const comparisonCharts = [
  { file: 'bench-rates.svg', unit: 'clients/s', title: 'Connect rate (higher is better)', log: false },
  { file: 'bench-times.svg', unit: 'ms', title: 'Latency and broadcast time (lower is better)', log: true },
] as const;

/**
 * Draws the comparison charts of a bench report into its folder and links them from the report (once, under a
 * "Charts" heading placed after the first table).
 *
 * @example
 * await renderComparisonCharts('bench/results/latest.md');
 */
export async function renderComparisonCharts(reportFile: string): Promise<string[]> {
  const markdown = readFileSync(reportFile, 'utf8');
  const rows = comparisonRows(markdown);
  if (rows.length === 0) return [];
  const folder = join(reportFile, '..');
  const written: string[] = [];
  for (const chart of comparisonCharts) {
    if (!rows.some((row) => row.unit === chart.unit)) continue;
    writeFileSync(join(folder, chart.file), await renderSvg(comparisonSpec(rows, chart.unit, chart.title, chart.log)));
    written.push(chart.file);
  }
  if (!markdown.includes(chartsHeading)) {
    const links = comparisonCharts
      .filter((chart) => written.includes(chart.file))
      .map((chart) => `![${chart.title}](${chart.file})`)
      .join(' ');
    const section = `${chartsHeading}\n\n${links}\n\nDrawn from the table above by \`bench/charts.ts\` (Vega-Lite); the soak's curves are in [soak.md](soak.md).\n\n`;
    // After the first table's paragraph of explanations, before the CPU table.
    const cpuHeading = markdown.indexOf('\n## ');
    const updated =
      cpuHeading === -1
        ? `${markdown.trimEnd()}\n\n${section}`
        : `${markdown.slice(0, cpuHeading + 1)}${section}${markdown.slice(cpuHeading + 1)}`;
    writeFileSync(reportFile, updated);
  }
  return written;
}

function lineSpec(
  title: string,
  values: Array<Record<string, number | string>>,
  yTitle: string,
  options: { logScale?: boolean; zero?: boolean } = {},
): Spec {
  return {
    title,
    width: 520,
    height: 220,
    data: { values },
    // Straight segments between samples: a smoothed curve would draw values that were never measured.
    mark: { type: 'line', point: { size: 18 } },
    encoding: {
      x: { field: 'minute', type: 'quantitative', title: 'minutes of load' },
      y: {
        field: 'value',
        type: 'quantitative',
        title: yTitle,
        scale: options.logScale ? { type: 'log' } : { zero: options.zero ?? true },
      },
      color: { field: 'series', type: 'nominal', title: null },
    },
  } as Spec;
}

/**
 * Draws the soak's curves (memory, latency, registry against sockets) into `folder`.
 *
 * @example
 * await renderSoakCharts(JSON.parse(readFileSync('bench/results/soak.json', 'utf8')), 'bench/results');
 */
export async function renderSoakCharts(result: SoakResult, folder: string): Promise<string[]> {
  const memory = result.points.flatMap((point) => [
    { minute: round(point.minute), series: 'RSS (MB)', value: round(point.rssMb) },
    { minute: round(point.minute), series: 'heap after GC (MB)', value: round(point.heapMb) },
  ]);
  const latency = result.rows.flatMap((row) =>
    [
      { minute: row.minute, series: 'p50', value: row.p50Ms },
      { minute: row.minute, series: 'p99', value: row.p99Ms },
      { minute: row.minute, series: 'p99 of sends no broadcast overlapped', value: row.p99AwayFromBroadcastsMs },
    ].filter((value) => Number.isFinite(value.value)),
  );
  // Differences, so that a stale row or a lost socket shows as a step away from 0 rather than a hair on a line at 2,500.
  const registry = result.points.flatMap((point) => [
    {
      minute: round(point.minute),
      series: 'registry rows − open sockets',
      value: point.registryRows - point.openConnections,
    },
    {
      minute: round(point.minute),
      series: 'clients open − open sockets',
      value: point.clientsOpen - point.openConnections,
    },
  ]);
  const sockets = result.points.map((point) => point.openConnections);
  const charts: Array<[string, Spec]> = [
    ['soak-memory.svg', lineSpec("Memory of the local stack's process", memory, 'MB')],
    ['soak-latency.svg', lineSpec('HTTP send → receive, per minute', latency, 'ms (log scale)', { logScale: true })],
    [
      'soak-registry.svg',
      lineSpec(
        `Registry rows and clients against the emulator's open sockets (${Math.min(...sockets)} to ${Math.max(...sockets)})`,
        registry,
        'difference (0: equal)',
        { zero: false },
      ),
    ],
  ];
  for (const [file, spec] of charts) writeFileSync(join(folder, file), await renderSvg(spec));
  return charts.map(([file]) => file);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

async function main(): Promise<void> {
  const written: string[] = [];
  const report = join(resultsFolder, 'latest.md');
  if (existsSync(report)) written.push(...(await renderComparisonCharts(report)));
  const soak = join(resultsFolder, 'soak.json');
  if (existsSync(soak)) {
    written.push(...(await renderSoakCharts(JSON.parse(readFileSync(soak, 'utf8')) as SoakResult, resultsFolder)));
  }
  process.stdout.write(`${written.map((file) => join(resultsFolder, file)).join('\n')}\n`);
}

// Run as a script (`npm run bench:charts`), not when imported by the runners.
if (process.argv[1]?.endsWith('charts.ts')) {
  main().catch((error: unknown) => {
    process.stderr.write(`charts failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
