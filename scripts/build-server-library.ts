/**
 * Builds the server library (`lambdas/server-library.ts`: `WebSocketService` and friends) into `dist/server/` for
 * Node backends: `index.js` (ESM), `index.cjs` (CommonJS) and `index.d.ts`. Dependencies (the AWS SDK) stay
 * external: the backend installs them, and its own credential chain applies (unlike the Lambda bundles).
 *
 * Run: `npm run build` (with the client); `--out-dir <path>` builds elsewhere.
 */
import { statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import { emitDeclarations } from './declarations';
import { prepareOutputFolder } from './output-folder';

const root = resolve(import.meta.dirname, '..');
const entry = join(root, 'lambdas', 'server-library.ts');

async function main(): Promise<void> {
  // `--out-dir <path>` builds elsewhere (the build tests do, so they never race over dist/).
  const outDir = prepareOutputFolder(root, process.argv, join(root, 'dist', 'server'));
  const shared: BuildOptions = {
    entryPoints: [entry],
    bundle: true,
    packages: 'external',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  };
  await build({ ...shared, format: 'esm', outfile: join(outDir, 'index.js') });
  await build({ ...shared, format: 'cjs', outfile: join(outDir, 'index.cjs') });
  writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({ type: 'module' })}\n`);
  emitDeclarations({ root, entry, outDir, lib: 'ES2022' });
  for (const file of ['index.js', 'index.cjs', 'index.d.ts']) {
    console.log(`${join(outDir, file)}  ${(statSync(join(outDir, file)).size / 1024).toFixed(1)} KB`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
