import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Emits the `.d.ts` files of one package entry into `<outDir>/types/` (paths kept relative to the repository root)
 * and an `<outDir>/index.d.ts` that re-exports the entry. TypeScript 7 has no JavaScript API, so its CLI does
 * it; the repository's tsconfig is noEmit, so the options are given here and the config is ignored.
 *
 * @example
 * emitDeclarations({ root, entry: join(root, 'client', 'index.ts'), outDir, lib: 'ES2022,DOM', defaultExport: true });
 */
export function emitDeclarations(options: {
  root: string;
  entry: string;
  outDir: string;
  lib: string;
  defaultExport?: boolean;
}): void {
  const { root, entry, outDir } = options;
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--ignoreConfig',
      entry,
      '--declaration',
      '--emitDeclarationOnly',
      '--rootDir',
      root,
      '--outDir',
      join(outDir, 'types'),
      '--target',
      'ES2022',
      '--module',
      'preserve',
      '--moduleResolution',
      'bundler',
      '--strict',
      '--skipLibCheck',
      '--lib',
      options.lib,
      '--types',
      'node',
    ],
    { cwd: root, stdio: 'inherit' },
  );
  const typesModule = `./types/${relative(root, entry).replace(/\.ts$/, '')}`;
  const lines = [`export * from '${typesModule}';`];
  if (options.defaultExport) lines.push(`export { default } from '${typesModule}';`);
  writeFileSync(join(outDir, 'index.d.ts'), `${lines.join('\n')}\n`);
}
