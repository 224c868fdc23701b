/**
 * Builds the `RealtimeGateway` construct (`lib/realtime-gateway.ts`) for the `@realtime-gateway/cdk` package into
 * `dist/cdk/` (or `--out-dir <path>`; `npm pack` in packages/cdk builds into its own dist/):
 * - `index.js`: CommonJS, like aws-cdk-lib itself; `aws-cdk-lib` and `constructs` stay external (the consumer's
 *   copies, peer dependencies: two copies of aws-cdk-lib in one app break `instanceof` across constructs);
 * - `index.d.ts` and `types/`: the declarations;
 * - `lambda-assets/<function>/index.mjs` (+ source map): every handler of the route table, bundled with the esbuild
 *   options of `lib/bundling.ts` (the ones `NodejsFunction` uses in this repository), so a consumer's `cdk synth`
 *   needs neither our TypeScript sources nor esbuild (`lib/prebuilt-lambda-code.ts` picks them up).
 */
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { type FunctionName, functions } from '../lambdas/routes';
import { lambdaBundleOptions } from '../lib/bundling';
import { prebuiltLambdaFolder } from '../lib/prebuilt-lambda-code';
import { emitDeclarations } from './declarations';
import { prepareOutputFolder } from './output-folder';

const root = resolve(__dirname, '..');
const entry = join(root, 'lib', 'realtime-gateway.ts');

/**
 * Bundles one handler of the route table as deployed, into `<outDir>/index.mjs`.
 *
 * @example
 * await bundleHandler('wsFrames', '/tmp/assets/wsFrames'); // writes index.mjs and index.mjs.map
 */
export async function bundleHandler(name: FunctionName, outDir: string): Promise<void> {
  await build({
    entryPoints: [join(root, functions[name].entry)],
    bundle: true,
    platform: 'node',
    ...lambdaBundleOptions,
    mainFields: [...lambdaBundleOptions.mainFields],
    external: [...lambdaBundleOptions.external],
    // The substitutes' paths are relative to the repository root, as in NodejsFunction's local bundling.
    absWorkingDir: root,
    outfile: join(outDir, 'index.mjs'),
    logLevel: 'warning',
  });
}

async function main(): Promise<void> {
  const outDir = prepareOutputFolder(root, process.argv, join(root, 'dist', 'cdk'));
  await build({
    entryPoints: [entry],
    bundle: true,
    // Only aws-cdk-lib and constructs are imported from packages (the packaging test checks the output).
    packages: 'external',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
    outfile: join(outDir, 'index.js'),
  });
  emitDeclarations({ root, entry, outDir, lib: 'ES2022' });
  const names = Object.keys(functions) as FunctionName[];
  // One at a time: ten parallel esbuild runs gain nothing on a shared 2-core machine.
  for (const name of names) await bundleHandler(name, join(outDir, prebuiltLambdaFolder, name));
  const kb = (file: string) => `${(statSync(file).size / 1024).toFixed(1)} KB`;
  console.log(`${join(outDir, 'index.js')}  ${kb(join(outDir, 'index.js'))}`);
  for (const name of readdirSync(join(outDir, prebuiltLambdaFolder))) {
    const bundle = join(outDir, prebuiltLambdaFolder, name, 'index.mjs');
    console.log(`${bundle}  ${kb(bundle)}`);
  }
}

// Run as a script (not when a test imports bundleHandler).
if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
