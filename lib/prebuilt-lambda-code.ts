import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { FunctionName } from '../lambdas/routes';

/**
 * The folder of pre-bundled handlers, one sub-folder per function of the route table, beside the construct's
 * compiled file in the `@realtime-gateway/cdk` package. `scripts/build-construct.ts` fills it at `npm pack` with
 * the esbuild options of `lib/bundling.ts`, the ones `NodejsFunction` bundles with in this repository.
 */
export const prebuiltLambdaFolder = 'lambda-assets';

/**
 * The packaged code of one function, or undefined in this repository (no such folder beside `lib/`), where
 * `NodejsFunction` bundles the TypeScript entry at synth. With the package, a consumer's `cdk synth` needs neither
 * our sources nor esbuild. The result is spread into `NodejsFunction`'s props: given `code`, it skips bundling.
 *
 * @example
 * new nodejs.NodejsFunction(this, 'WsFrames', { entry, handler: 'handler', ...prebuiltLambdaCode('wsFrames') });
 */
export function prebuiltLambdaCode(
  name: FunctionName,
  compiledDir: string = __dirname,
): { code: lambda.Code; handler: string } | undefined {
  const assets = path.join(compiledDir, prebuiltLambdaFolder);
  if (!existsSync(assets)) return undefined;
  const bundle = path.join(assets, name, 'index.mjs');
  if (!existsSync(bundle)) {
    throw new Error(
      `The packaged RealtimeGateway construct has no pre-bundled code for the ${name} function (${bundle}): the package is incomplete; reinstall it`,
    );
  }
  return { code: lambda.Code.fromAsset(path.dirname(bundle)), handler: 'index.handler' };
}
