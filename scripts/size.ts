/**
 * `npm run size`: bundles every function of the route table exactly as deployed (the esbuild options of
 * `lib/bundling.ts`, which the CDK construct uses too) and prints, per handler, its minified size and the median
 * time to import it in a fresh Node process started with the function's deployed `NODE_OPTIONS`
 * (`deployedNodeOptions`: `--enable-source-maps` makes Node read and parse the bundle's source map at import,
 * which is part of the deployed cold start). Figures only: it compares them with the budgets but never fails on
 * them; it exits non-zero only when a handler cannot be bundled or imported at all (then there is no figure).
 *
 *   npm run size                # 5 fresh processes per handler
 *   npm run size -- --runs 9
 *   npm run size -- --packages  # also the five packages that weigh most in each bundle
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { type FunctionName, functions } from '../lambdas/routes';
import { lambdaBundleOptions } from '../lib/bundling';
import { deployedNodeOptions, environmentFor } from '../lib/function-environment';

const projectRoot = resolve(__dirname, '..');
// The authorizers run on every connect and every uncached HTTP call, before anything else: the tighter budgets.
// `senderKb` is for the functions that post to connections (`manageConnections` in the route table): their
// management client runs on undici's keep-alive pool (issue 10: client CPU per post about 220 -> 60 µs), and the
// pool module adds 276 KB to each of them (141 KB of it the HTTP parser's WebAssembly, in its SIMD and plain builds):
// 289 -> 572 KB measured. The import time stays within its budget: the WebAssembly is compiled at the first
// connection, not on import. Issues 10 and 11 then added the SQS client (asynchronous broadcast) and the per-connection
// Socket.IO encoding to every sender: 604-615 KB measured, so 640 KB, with the import still about 60 ms of its 150.
// Left on the table: undici ships its HTTP parser twice (SIMD and plain WebAssembly, 72 KB each); Node 24 on
// Graviton runs the SIMD one, so an alias could drop the other, at the cost of no fallback.
const budgets = { handlerKb: 400, senderKb: 640, handlerImportMs: 150, authorizerKb: 40, authorizerImportMs: 60 };
const authorizers: readonly FunctionName[] = ['wsAuthorizer', 'httpAuthorizer'];

function runsFromArguments(argv: string[]): number {
  const index = argv.indexOf('--runs');
  if (index === -1) return 5;
  const runs = Number(argv[index + 1]);
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) {
    console.error(`--runs must be an integer from 1 to 50, got "${argv[index + 1]}"`);
    process.exit(2);
  }
  return runs;
}

/**
 * The deployed settings of a function, with values that pass every reader's cold-start checks without reaching
 * AWS: a secret ARN (the verifiers read it at the first verification, never at import), a callback URL nobody is
 * called on, dummy credentials, and the deployed NODE_OPTIONS.
 */
function probeEnvironment(name: FunctionName): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_OPTIONS: deployedNodeOptions(functions[name].access),
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'size-probe',
    AWS_SECRET_ACCESS_KEY: 'size-probe',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...environmentFor(functions[name].access, {
      tableName: 'size-probe',
      fanOutTableName: 'size-probe-fan-out',
      roomTableName: 'size-probe-rooms',
      messageLogTableName: 'size-probe-message-log',
      queueUrls: {
        broadcastSlices: 'https://sqs.eu-west-1.amazonaws.com/123456789012/size-probe',
        socketIoOpenings: 'https://sqs.eu-west-1.amazonaws.com/123456789012/size-probe-openings',
      },
      callbackUrl: 'http://127.0.0.1:9/probe',
      tokenVerification: {
        mode: 'secret',
        secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:size-AbCdEf',
      },
      logLevel: 'ERROR',
    }),
  };
}

/** Milliseconds one fresh process spends in `import()` of the bundle (process start-up excluded). */
function importMilliseconds(bundle: string, environment: NodeJS.ProcessEnv): number {
  const probe = [
    'const started = performance.now();',
    `await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
    'process.stdout.write(String(performance.now() - started));',
  ].join('\n');
  const result = spawnSync(process.execPath, ['--input-type=module', '--eval', probe], {
    env: environment,
    encoding: 'utf8',
    timeout: 30_000,
  });
  const milliseconds = Number(result.stdout);
  if (result.status !== 0 || !Number.isFinite(milliseconds)) {
    throw new Error(`import failed (exit ${result.status}): ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  return milliseconds;
}

/** Sums the bytes each input contributes to the output by npm package (`@scope/name` or `name`). */
function packageWeights(inputs: [string, { bytesInOutput: number }][]): [string, number][] {
  const weights = new Map<string, number>();
  for (const [path, { bytesInOutput }] of inputs) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    const name = match ? match[1] : 'project';
    weights.set(name, (weights.get(name) ?? 0) + bytesInOutput);
  }
  return [...weights].sort((a, b) => b[1] - a[1]);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

interface Row {
  name: FunctionName;
  sizeKb?: number;
  /** Output bytes per package (or `project` for our own code), heaviest first. */
  packages?: [string, number][];
  budgetKb: number;
  importMs?: number;
  budgetMs: number;
  nodeOptions: string;
  error?: string;
}

async function measure(name: FunctionName, outdir: string, runs: number): Promise<Row> {
  const authorizer = authorizers.includes(name);
  const budget = {
    budgetKb: authorizer
      ? budgets.authorizerKb
      : functions[name].access.manageConnections
        ? budgets.senderKb
        : budgets.handlerKb,
    budgetMs: authorizer ? budgets.authorizerImportMs : budgets.handlerImportMs,
    nodeOptions: deployedNodeOptions(functions[name].access),
  };
  const bundle = join(outdir, name, 'index.mjs');
  let packages: [string, number][];
  try {
    const { metafile } = await build({
      metafile: true,
      entryPoints: [join(projectRoot, functions[name].entry)],
      bundle: true,
      platform: 'node',
      outfile: bundle,
      logLevel: 'silent',
      format: lambdaBundleOptions.format,
      target: lambdaBundleOptions.target,
      minify: lambdaBundleOptions.minify,
      sourcemap: lambdaBundleOptions.sourcemap,
      mainFields: [...lambdaBundleOptions.mainFields],
      banner: { ...lambdaBundleOptions.banner },
      external: [...lambdaBundleOptions.external],
      alias: { ...lambdaBundleOptions.alias },
      // The substitutes' paths are relative to the repository root, as in NodejsFunction's local bundling.
      absWorkingDir: projectRoot,
    });
    packages = packageWeights(Object.values(metafile.outputs).flatMap((output) => Object.entries(output.inputs)));
  } catch (error) {
    return { name, ...budget, error: `bundling failed: ${(error as Error).message.split('\n')[0]}` };
  }
  const sizeKb = statSync(bundle).size / 1024;
  try {
    const environment = probeEnvironment(name);
    const times = Array.from({ length: runs }, () => importMilliseconds(bundle, environment));
    return { name, sizeKb, ...budget, importMs: median(times), packages };
  } catch (error) {
    return { name, sizeKb, ...budget, packages, error: (error as Error).message };
  }
}

function printTable(rows: Row[], runs: number): void {
  const header = [
    'handler',
    'minified KB',
    'budget KB',
    `import ms (median of ${runs})`,
    'budget ms',
    'NODE_OPTIONS',
    'note',
  ];
  const lines = rows.map((row) => {
    const notes: string[] = [];
    if (row.sizeKb !== undefined && row.sizeKb > row.budgetKb) notes.push('size over budget');
    if (row.importMs !== undefined && row.importMs > row.budgetMs) notes.push('import over budget');
    if (row.error) notes.push(row.error);
    return [
      row.name,
      row.sizeKb === undefined ? '-' : row.sizeKb.toFixed(1),
      String(row.budgetKb),
      row.importMs === undefined ? '-' : row.importMs.toFixed(1),
      String(row.budgetMs),
      row.nodeOptions,
      notes.join('; '),
    ];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column].length)));
  const format = (cells: string[]) =>
    cells.map((cell, column) =>
      column === 0 || column >= 5 ? cell.padEnd(widths[column]) : cell.padStart(widths[column]),
    );
  console.log(format(header).join('  ').trimEnd());
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const line of lines) console.log(format(line).join('  ').trimEnd());
}

async function main(): Promise<void> {
  const runs = runsFromArguments(process.argv.slice(2));
  const outdir = mkdtempSync(join(tmpdir(), 'gateway-size-'));
  try {
    console.log(
      `Bundling ${Object.keys(functions).length} handlers as deployed (${lambdaBundleOptions.format}, ` +
        `${lambdaBundleOptions.target}, minified, AWS SDK bundled); node ${process.version} imports each ${runs} times ` +
        "with the function's deployed NODE_OPTIONS.\n",
    );
    const rows: Row[] = [];
    // One at a time: parallel imports on a shared 2-core machine would measure contention, not the handler.
    for (const name of Object.keys(functions) as FunctionName[]) rows.push(await measure(name, outdir, runs));
    printTable(rows, runs);
    if (process.argv.includes('--packages')) {
      console.log('\nHeaviest packages per bundle (KB of minified output):');
      for (const row of rows) {
        const top = (row.packages ?? []).slice(0, 5).map(([name, bytes]) => `${name} ${(bytes / 1024).toFixed(1)}`);
        console.log(`  ${row.name}: ${top.join(', ')}`);
      }
    }
    if (rows.some((row) => row.error)) process.exitCode = 1;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

void main();
