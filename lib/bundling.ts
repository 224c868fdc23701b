/**
 * How every Lambda handler is bundled, in one place with no CDK import, so the construct (`NodejsFunction`) and
 * `scripts/size.ts` (esbuild directly) produce the same bundle and the sizes measured are the sizes deployed.
 */

/** The Lambda runtime's Node major; the esbuild target follows it. */
export const lambdaNodeMajor = 22;

/**
 * ESM bundles import CommonJS dependencies (parts of the AWS SDK, powertools) through `require`, which ESM lacks:
 * the banner gives the bundle a `require` of its own.
 */
export const esmRequireBanner =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/**
 * The esbuild options of a deployed handler. The AWS SDK is bundled (nothing external): the runtime's copy is
 * whatever version AWS ships, and a bundled, tree-shaken client costs less cold start than loading the whole
 * runtime SDK (`npm run size` shows the figures).
 *
 * @example
 * await esbuild.build({ entryPoints: ['lambdas/handlers/ws-frames.ts'], bundle: true, platform: 'node',
 *   ...lambdaBundleOptions, outfile: 'out/index.mjs' });
 */
export const lambdaBundleOptions = {
  format: 'esm',
  target: `node${lambdaNodeMajor}`,
  minify: true,
  sourcemap: true,
  // Prefer ESM entry points of dependencies: they tree-shake better than their CommonJS builds.
  mainFields: ['module', 'main'],
  banner: { js: esmRequireBanner },
  external: [] as string[],
} as const;
