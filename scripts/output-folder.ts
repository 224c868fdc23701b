import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

/**
 * The folder a build script writes, emptied first: `--out-dir <path>` from the command line, or `defaultDir`.
 * A build replaces the whole folder, so it refuses one that could hold anything else: outside `dist/` and a
 * package's own `packages/<name>/dist/` (where `npm pack` builds it), only a missing or empty folder is accepted
 * (`--out-dir .` must not wipe the repository).
 *
 * @example
 * const outDir = prepareOutputFolder(root, process.argv, join(root, 'dist', 'client'));
 */
export function prepareOutputFolder(root: string, argv: readonly string[], defaultDir: string): string {
  const flag = argv.indexOf('--out-dir');
  const outDir = flag >= 0 ? resolve(argv[flag + 1] ?? '') : defaultDir;
  const insideDist = !relative(join(root, 'dist'), outDir).startsWith('..') && outDir !== join(root, 'dist');
  const packageDist = /^packages\/[^/]+\/dist$/.test(relative(root, outDir).split(sep).join('/'));
  if (!insideDist && !packageDist && existsSync(outDir) && readdirSync(outDir).length > 0) {
    throw new Error(`--out-dir ${outDir} is not empty and not under dist/ or packages/*/dist: refusing to replace it`);
  }
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  return outDir;
}
