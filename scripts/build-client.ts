/**
 * Builds the client adapter into `dist/client/`:
 * - `index.js`: ESM with no runtime dependency, loaded directly by browsers (the local stack bundles the same
 *   build in memory and serves it at `/client/index.js`) and imported by Node ESM code (which then loads `ws` on first connect);
 * - `index.cjs`: CommonJS for `require()` in Node;
 * - `index.global.js`: a classic script defining `window.RealtimeGateway` (`websocket-client.html` opened as a file);
 * - `index.d.ts`: the types, emitted by the TypeScript CLI.
 *
 * Run: `npm run build:client` (about a second); `npm run build:client -- --out-dir /tmp/x` builds elsewhere.
 */
import { statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { clientBuildOptions, clientEsmBuildOptions } from './client-build-options';
import { emitDeclarations } from './declarations';
import { prepareOutputFolder } from './output-folder';

const root = resolve(import.meta.dirname, '..');
const entry = join(root, 'client', 'index.ts');

async function main(): Promise<void> {
  // `--out-dir <path>` builds elsewhere (the build tests do, so they never race over dist/).
  const outDir = prepareOutputFolder(root, process.argv, join(root, 'dist', 'client'));
  // Shared with the local stack, which bundles the ESM build in memory for the page it serves.
  const shared = clientBuildOptions(entry);
  await build({ ...clientEsmBuildOptions(entry), outfile: join(outDir, 'index.js') });
  await build({ ...shared, format: 'cjs', platform: 'node', outfile: join(outDir, 'index.cjs') });
  // A classic script for pages opened from a file: browsers refuse ES module imports from file:// pages.
  await build({
    ...shared,
    format: 'iife',
    globalName: 'RealtimeGateway',
    platform: 'browser',
    outfile: join(outDir, 'index.global.js'),
  });
  // The repository package is CommonJS; this marks index.js as the ES module it is, so Node loads it without
  // re-parsing and a warning (index.cjs keeps its explicit extension).
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);
  emitDeclarations({ root, entry, outDir, lib: 'ES2022,DOM', defaultExport: true });
  for (const file of ['index.js', 'index.cjs', 'index.global.js', 'index.d.ts']) {
    console.log(`${join(outDir, file)}  ${(statSync(join(outDir, file)).size / 1024).toFixed(1)} KB`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
