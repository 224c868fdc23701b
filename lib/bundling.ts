/**
 * How every Lambda handler is bundled, in one place with no CDK import, so the construct (`NodejsFunction`) and
 * `scripts/size.ts` (esbuild directly) produce the same bundle and the sizes measured are the sizes deployed.
 */

/** The Lambda runtime's Node major; the esbuild target follows it. */
export const lambdaNodeMajor = 24;

/**
 * ESM bundles import CommonJS dependencies (parts of the AWS SDK, powertools) through `require`, which ESM lacks:
 * the banner gives the bundle a `require` of its own.
 */
export const esmRequireBanner =
  "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";

/**
 * Modules replaced in the deployed bundles, by the path (relative to the repository root, which is esbuild's
 * working directory both in `NodejsFunction`'s local bundling and in `scripts/size.ts`) of their substitute.
 *
 * `@aws-sdk/credential-provider-node` becomes an environment-only provider: on Lambda the execution role's
 * credentials are always in the environment, so the default chain's SSO, STS, INI, process, container and
 * instance-metadata providers (and the STS and SSO clients they bundle) are dead weight. Measured with
 * `npm run size`: httpSend 401.9 -> 287.1 KB, wsConnect 379.5 -> 247.9 KB, httpStatus 381.5 -> 249.9 KB (115 to
 * 130 KB off every handler that holds an SDK client). Only the bundles change: the local stack, the tests and the
 * server library run unbundled and keep the full chain. `test/infra/bundling.test.ts` runs a deployed bundle to
 * check that it still signs with the environment's credentials.
 */
export const lambdaModuleSubstitutes: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './lambdas/bundling/env-credential-provider.ts',
};

/**
 * The same substitutes as `esbuild` command-line arguments (`--alias:from=to`), the form `NodejsFunction`'s
 * `bundling.esbuildArgs` takes.
 *
 * @example
 * new NodejsFunction(scope, 'Fn', { bundling: { esbuildArgs: lambdaEsbuildArgs } });
 */
export const lambdaEsbuildArgs: Readonly<Record<string, string[]>> = {
  '--alias': Object.entries(lambdaModuleSubstitutes).map(([from, to]) => `${from}=${to}`),
};

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
  // undici carries its HTTP parser twice, as SIMD and as plain WebAssembly (~72 KB each), and loads the plain one only
  // when the SIMD one fails to compile, which it never does on Lambda's x86_64 and arm64 (Node 24's V8 has Wasm SIMD on
  // both). Leaving the plain one out takes 70 KB off every sender (`npm run size`: wsDefault 642.6 -> 572 KB); on a
  // machine without Wasm SIMD the first HTTP request would fail with "Cannot find module ...llhttp-wasm.js".
  // `test/infra/bundling.test.ts` posts through a deployed bundle, so the SIMD parser is what the tests run.
  external: ['*/llhttp/llhttp-wasm.js'] as string[],
  alias: lambdaModuleSubstitutes,
} as const;
