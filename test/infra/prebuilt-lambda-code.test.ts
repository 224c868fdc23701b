import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { prebuiltLambdaCode, prebuiltLambdaFolder } from '../../lib/prebuilt-lambda-code';

/** How the construct finds the handler code the @realtime-gateway/cdk package ships beside its compiled file. */
describe('prebuiltLambdaCode', () => {
  let compiledDir: string;
  beforeEach(() => {
    compiledDir = mkdtempSync(join(tmpdir(), 'prebuilt-code-'));
  });
  afterEach(() => rmSync(compiledDir, { recursive: true, force: true }));

  it('is undefined in the repository, where NodejsFunction bundles the sources', () => {
    expect(prebuiltLambdaCode('wsFrames')).toBeUndefined();
    expect(prebuiltLambdaCode('wsFrames', compiledDir)).toBeUndefined();
  });

  it('gives NodejsFunction the packaged folder as its code and index.handler, so nothing is bundled', () => {
    // GIVEN a package layout with a pre-bundled wsFrames
    const folder = join(compiledDir, prebuiltLambdaFolder, 'wsFrames');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'index.mjs'), 'export const handler = async () => ({ statusCode: 200 });\n');
    const app = new App();
    const stack = new Stack(app, 'Packaged');

    // WHEN the function is built with it (an entry that does not exist: bundling would fail)
    new nodejs.NodejsFunction(stack, 'Frames', {
      entry: join(compiledDir, 'missing.ts'),
      handler: 'handler',
      // Given, as the construct does: with \`code\`, NodejsFunction's own default is a deprecated runtime.
      runtime: lambda.Runtime.NODEJS_22_X,
      ...prebuiltLambdaCode('wsFrames', compiledDir),
    });

    // THEN the function runs the packaged file
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler' });
  });

  it('names the function whose code a packaged construct lacks', () => {
    mkdirSync(join(compiledDir, prebuiltLambdaFolder, 'wsFrames'), { recursive: true });
    expect(() => prebuiltLambdaCode('wsSend', compiledDir)).toThrow(/no pre-bundled code for the wsSend function/);
  });
});
