import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * Emits the `.d.ts` files of one package entry into `<outDir>/types/` (paths kept relative to the repository root)
 * and an `<outDir>/index.d.ts` that re-exports the entry. TypeScript 7 has no JavaScript API, so its CLI does
 * it; the repository's tsconfig is noEmit, so the options are given here and the config is ignored.
 * Relative imports get explicit `.js` extensions afterwards (see {@link addDeclarationExtensions}).
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
  addDeclarationExtensions(join(outDir, 'types'));
  const typesModule = `./types/${relative(root, entry).replace(/\.ts$/, '')}.js`;
  const lines = [`export * from '${typesModule}';`];
  if (options.defaultExport) lines.push(`export { default } from '${typesModule}';`);
  writeFileSync(join(outDir, 'index.d.ts'), `${lines.join('\n')}\n`);
}

/**
 * Rewrites the relative imports of every `.d.ts` under `folder` to name their file (`'./socket'` becomes
 * `'./socket.js'`, a folder `'./core'` becomes `'./core/index.js'`). The sources import without extensions (the
 * repository resolves like a bundler), and tsc copies the specifiers as written; but a consumer compiling with
 * `moduleResolution: node16/nodenext` resolves an ES module's imports as Node does, extension required, so without
 * this every re-export of the client and server packages resolved to nothing there. Bundler resolution accepts
 * both forms.
 *
 * @example
 * addDeclarationExtensions('packages/client/dist/types');
 */
export function addDeclarationExtensions(folder: string): void {
  for (const entry of readdirSync(folder, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.d.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    const source = readFileSync(file, 'utf8');
    const rewritten = source.replace(
      /(\bfrom\s*|\bimport\(\s*)(["'])(\.{1,2}\/[^"']*?)\2/g,
      (whole, prefix: string, quote: string, specifier: string) => {
        if (/\.(c|m)?js$/.test(specifier)) return whole;
        const target = resolve(dirname(file), specifier);
        if (existsSync(`${target}.d.ts`)) return `${prefix}${quote}${specifier}.js${quote}`;
        if (existsSync(join(target, 'index.d.ts'))) return `${prefix}${quote}${specifier}/index.js${quote}`;
        throw new Error(`${file}: cannot find the declarations ${specifier} refers to`);
      },
    );
    if (rewritten !== source) writeFileSync(file, rewritten);
  }
}
