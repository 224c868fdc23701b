import type { BuildOptions } from 'esbuild';

/**
 * The client adapter's esbuild options, declared once: `npm run build:client` (`scripts/build-client.ts`) writes
 * its builds to `dist/client/` with them, and the local stack bundles the ESM build in memory with the same ones,
 * so the page it serves loads the same adapter a browser gets from `dist/client/index.js`, without a prior build.
 */

/**
 * The options every build of the adapter shares.
 *
 * @example
 * await build({ ...clientBuildOptions('/repo/client/index.ts'), format: 'cjs', platform: 'node', outfile });
 */
export function clientBuildOptions(entry: string): BuildOptions {
  return {
    entryPoints: [entry],
    bundle: true,
    // `ws` is only imported in Node when no WebSocket is given; browsers never reach that branch.
    external: ['ws'],
    target: 'es2022',
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
  };
}

/**
 * The ESM build: no runtime dependency, loaded directly by browsers and imported by Node ESM code.
 *
 * @example
 * await build({ ...clientEsmBuildOptions('/repo/client/index.ts'), outfile: 'dist/client/index.js' });
 */
export function clientEsmBuildOptions(entry: string): BuildOptions {
  return { ...clientBuildOptions(entry), format: 'esm', platform: 'neutral' };
}
