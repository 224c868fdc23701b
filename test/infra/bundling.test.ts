import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { esmRequireBanner } from '../../lib/bundling';
import { RealtimeGateway } from '../../lib/realtime-gateway';

describe('deployed bundles', () => {
  // GIVEN a gateway synthesized WITH esbuild bundling (the other infra tests skip it)
  let assetDirectory: (functionName: 'wsConnect' | 'wsFrames') => string;
  beforeAll(() => {
    const app = new App();
    const stack = new Stack(app, 'BundledStack');
    const gateway = new RealtimeGateway(stack, 'Gateway');
    const template = Template.fromStack(stack);
    const outdir = app.synth().directory;
    assetDirectory = (functionName) => {
      const logicalId = stack.getLogicalId(gateway.functions[functionName].node.defaultChild as never);
      // The code's S3 key is `<asset hash>.zip`; the cloud assembly holds the bundle in `asset.<asset hash>`.
      const s3Key: string = template.findResources('AWS::Lambda::Function')[logicalId].Properties.Code.S3Key;
      return join(outdir, `asset.${s3Key.replace(/\.zip$/, '')}`);
    };
  }, 120_000);

  // Assertions compare small derived values, so a failure does not print a 400 KB bundle.
  it.each(['wsConnect', 'wsFrames'] as const)(
    '%s is one minified ESM file with the createRequire banner and a source map',
    (functionName) => {
      const directory = assetDirectory(functionName);
      const code = readFileSync(join(directory, 'index.mjs'), 'utf8');
      expect(code.slice(0, esmRequireBanner.length)).toBe(esmRequireBanner);
      expect(code.trimEnd().split('\n').at(-1)).toBe('//# sourceMappingURL=index.mjs.map');
      expect(existsSync(join(directory, 'index.mjs.map'))).toBe(true);
      // Minified: a few very long lines (source would average well under 100 characters a line).
      expect(code.length / code.split('\n').length).toBeGreaterThan(500);
      expect(/export\s*\{[^}]*as handler\s*[,}]/.test(code)).toBe(true);
    },
  );

  it('bundles the AWS SDK instead of importing it from the runtime', () => {
    const code = readFileSync(join(assetDirectory('wsConnect'), 'index.mjs'), 'utf8');
    expect(code.includes('DynamoDBClient')).toBe(true);
    expect(code.match(/from\s*["']@aws-sdk\/[^"']*["']/g)).toBeNull();
    // The only SDK packages left to `require` are the optional SigV4a signers (CRT or JS), which the SDK loads
    // inside a try only for multi-region endpoints; none of our calls use them.
    const required = new Set([...code.matchAll(/require\(["'](@aws-sdk\/[^"']+)["']\)/g)].map((match) => match[1]));
    expect([...required].filter((name) => !/^@aws-sdk\/signature-v4(a|-crt)$/.test(name))).toEqual([]);
  });
});
