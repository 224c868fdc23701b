import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import { type FunctionName, functions } from '../../lambdas/routes';
import { esmRequireBanner, lambdaBundleOptions, lambdaNodeMajor } from '../../lib/bundling';
import { deployedNodeOptions } from '../../lib/function-environment';
import { RealtimeGateway } from '../../lib/realtime-gateway';
import { bundleHandler } from '../../scripts/build-construct';
import { type SecretsManagerStandIn, secretAnswer, startSecretsManager } from '../helpers/secrets-manager';
import { loadEventFixture, signTestToken, testSecret } from '../helpers/tokens';
import { cdkJsonContext } from './app-context';

/** The token verifiers (the two authorizers), from the route table. */
const verifierNames = (Object.keys(functions) as FunctionName[]).filter(
  (name) => functions[name].access.verifiesTokens,
);

describe('deployed bundles', () => {
  // GIVEN a gateway synthesized WITH esbuild bundling (the other infra tests skip it)
  let assetDirectory: (functionName: FunctionName) => string;
  beforeAll(() => {
    // CDK announces every bundle on stderr ("Bundling asset ...", when the function is constructed): ten lines of
    // noise in the test output. Other writes (esbuild's warnings and errors) still pass through.
    const write = process.stderr.write.bind(process.stderr);
    const quiet = jest
      .spyOn(process.stderr, 'write')
      .mockImplementation((chunk, ...rest) =>
        String(chunk).startsWith('Bundling asset ') ? true : write(chunk, ...(rest as [])),
      );
    const app = new App({ context: { ...cdkJsonContext } });
    const stack = new Stack(app, 'BundledStack');
    let gateway: RealtimeGateway;
    try {
      gateway = new RealtimeGateway(stack, 'Gateway');
    } finally {
      quiet.mockRestore();
    }
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

  // The authorizers run before every handshake and every uncached HTTP call: their budget is 40 KB of minified
  // code (`npm run size` prints it beside the cold import time). A size is not a timing, so it is pinned here: a
  // merge once pulled the whole route table into the WebSocket authorizer through one import and went over.
  it.each(verifierNames)("%s stays within the authorizers' 40 KB budget", (functionName) => {
    expect(statSync(join(assetDirectory(functionName), 'index.mjs')).size).toBeLessThanOrEqual(40 * 1024);
  });

  it('bundles the AWS SDK instead of importing it from the runtime', () => {
    const code = readFileSync(join(assetDirectory('wsConnect'), 'index.mjs'), 'utf8');
    expect(code.includes('DynamoDBClient')).toBe(true);
    expect(code.match(/from\s*["']@aws-sdk\/[^"']*["']/g)).toBeNull();
    // The only SDK packages left to `require` are the optional SigV4a signers (CRT or JS), which the SDK loads
    // inside a try only for multi-region endpoints; none of our calls use them.
    const required = new Set([...code.matchAll(/require\(["'](@aws-sdk\/[^"']+)["']\)/g)].map((match) => match[1]));
    expect([...required].filter((name) => !/^@aws-sdk\/signature-v4(a|-crt)$/.test(name))).toEqual([]);
  });

  // The @realtime-gateway/cdk package ships handlers bundled at pack time (scripts/build-construct.ts) instead of
  // bundling at the consumer's synth; they must be the very bundles NodejsFunction makes here, so a bundling option
  // given to NodejsFunction and not to lib/bundling.ts (which both read) shows up as a difference.
  it.each(['wsConnect', 'wsFrames'] as const)(
    '%s equals the pre-bundled code the construct package ships',
    async (name) => {
      const packaged = mkdtempSync(join(tmpdir(), 'prebuilt-handler-'));
      try {
        await bundleHandler(name, packaged);
        const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
        expect(digest(join(packaged, 'index.mjs'))).toBe(digest(join(assetDirectory(name), 'index.mjs')));
      } finally {
        rmSync(packaged, { recursive: true, force: true });
      }
    },
  );

  describe('credentials: the environment-only provider substituted for the default chain', () => {
    // A DynamoDB endpoint on loopback that records what the bundled handler sends and accepts any PutItem.
    let dynamo: { url: string; requests: IncomingHttpHeaders[]; close: () => void };
    // A HOME whose ~/.aws/credentials holds another key: the default chain would fall back to it, the substitute
    // must not (on Lambda no such file exists, and the bundle no longer carries the code that reads it).
    let home: string;
    beforeAll(async () => {
      const requests: IncomingHttpHeaders[] = [];
      const server = createServer((request, response) => {
        requests.push(request.headers);
        request.resume();
        request.on('end', () => {
          response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
          response.end('{}');
        });
      });
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      dynamo = {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        requests,
        close: () => {
          server.closeAllConnections();
          server.close();
        },
      };
      home = mkdtempSync(join(tmpdir(), 'bundle-home-'));
      mkdirSync(join(home, '.aws'));
      writeFileSync(
        join(home, '.aws', 'credentials'),
        '[default]\naws_access_key_id = AKIDFROMFILE\naws_secret_access_key = from-file\n',
      );
    });
    afterAll(() => {
      dynamo.close();
      rmSync(home, { recursive: true, force: true });
    });
    beforeEach(() => {
      dynamo.requests.length = 0;
    });

    /** Runs the deployed wsConnect bundle on its `$connect` fixture in a fresh Node process; its outcome. */
    function connectWithBundle(credentials: Record<string, string>): Promise<string> {
      return runBundledHandler(
        join(assetDirectory('wsConnect'), 'index.mjs'),
        resolve(__dirname, '..', 'fixtures', 'events', 'ws-connect.json'),
        {
          PATH: process.env.PATH,
          HOME: home,
          AWS_REGION: 'eu-west-1',
          AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          AWS_MAX_ATTEMPTS: '1',
          TABLE_NAME: 'bundle-test-connections',
          // A JSON connection (the fixture's query has no EIO=4) queues no Socket.IO opening: the URL is only read.
          OPENING_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/openings',
          LOG_LEVEL: 'SILENT',
          POWERTOOLS_METRICS_DISABLED: 'true',
          ...credentials,
        },
      );
    }

    it('signs the call with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN', async () => {
      // WHEN
      const outcome = await connectWithBundle({
        AWS_ACCESS_KEY_ID: 'ASIABUNDLETEST',
        AWS_SECRET_ACCESS_KEY: 'bundle-test-secret',
        AWS_SESSION_TOKEN: 'bundle-test-session',
      });

      // THEN the connection was registered with one SigV4-signed PutItem
      expect(JSON.parse(outcome)).toMatchObject({ statusCode: 200 });
      expect(dynamo.requests).toHaveLength(1);
      expect(dynamo.requests[0]?.['x-amz-target']).toBe('DynamoDB_20120810.PutItem');
      expect(dynamo.requests[0]?.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=ASIABUNDLETEST\/\d{8}\/eu-west-1\/dynamodb\/aws4_request, /,
      );
      expect(dynamo.requests[0]?.['x-amz-security-token']).toBe('bundle-test-session');
    }, 30_000);

    it('fails naming the missing variables, never falling back to a credentials file', async () => {
      const outcome = await connectWithBundle({});
      expect(outcome).toBe(
        'threw: No AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set. This bundle reads ' +
          "credentials from the environment only, as Lambda provides the execution role's",
      );
      expect(dynamo.requests).toEqual([]);
    }, 30_000);
  });
  describe('posts: the deployed senders go through undici with one HTTP parser (lib/bundling.ts leaves the other out)', () => {
    it('the deployed socketIoOpener posts the open packet to @connections, signed', async () => {
      // GIVEN an @connections stand-in and a queued opening
      const posts: Array<{ method?: string; url?: string; authorization?: string; body: string }> = [];
      const server = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => {
          body += chunk.toString();
        });
        request.on('end', () => {
          posts.push({ method: request.method, url: request.url, authorization: request.headers.authorization, body });
          response.writeHead(200).end();
        });
      });
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      const home = mkdtempSync(join(tmpdir(), 'bundle-opener-'));
      const eventFile = join(home, 'event.json');
      const record = loadEventFixture<{ Records: Array<Record<string, unknown>> }>('sqs-receive.json').Records[0];
      record.body = JSON.stringify({ connectionId: 'bundle=', queuedAt: Date.now() });
      writeFileSync(eventFile, JSON.stringify({ Records: [record] }));
      try {
        // WHEN the deployed bundle (without the plain-WebAssembly parser) runs on it
        const outcome = await runBundledHandler(join(assetDirectory('socketIoOpener'), 'index.mjs'), eventFile, {
          PATH: process.env.PATH,
          HOME: home,
          AWS_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: 'ASIABUNDLETEST',
          AWS_SECRET_ACCESS_KEY: 'bundle-test-secret',
          CALLBACK_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`,
          LOG_LEVEL: 'SILENT',
          POWERTOOLS_METRICS_DISABLED: 'true',
        });

        // THEN the open packet was posted once, SigV4-signed, and nothing failed
        expect(JSON.parse(outcome)).toEqual({ batchItemFailures: [] });
        expect(posts).toHaveLength(1);
        expect(posts[0]).toMatchObject({ method: 'POST', url: '/prod/@connections/bundle%3D' });
        expect(posts[0].authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIABUNDLETEST\//);
        expect(posts[0].body).toMatch(/^0\{"sid":"bundle="/);
        expect(readFileSync(join(assetDirectory('socketIoOpener'), 'index.mjs'), 'utf8')).toContain('llhttp-wasm.js');
      } finally {
        server.close();
        rmSync(home, { recursive: true, force: true });
      }
    }, 30_000);
  });

  describe('secret mode: the deployed httpAuthorizer reads the secret with its own signed call', () => {
    const secretArn = 'arn:aws:secretsmanager:eu-central-2:123456789012:secret:realtime-gateway-jwt-AbCdEf';
    let secretsManager: SecretsManagerStandIn;
    beforeAll(async () => {
      secretsManager = await startSecretsManager(() => secretAnswer(testSecret, secretArn));
    });
    afterAll(() => secretsManager.close());

    it('authorizes a token after one GetSecretValue, signed as the SDK would sign it', async () => {
      // GIVEN the HTTP authorizer fixture with a valid token, and the bundle's deployed settings
      const eventFile = join(mkdtempSync(join(tmpdir(), 'bundle-event-')), 'event.json');
      writeFileSync(
        eventFile,
        JSON.stringify(loadEventFixture('http-authorizer-bearer.json', await signTestToken('user123'))),
      );
      // WHEN
      const output = await runBundledHandler(join(assetDirectory('httpAuthorizer'), 'index.mjs'), eventFile, {
        PATH: process.env.PATH,
        NODE_OPTIONS: deployedNodeOptions(functions.httpAuthorizer.access),
        AWS_REGION: 'eu-central-2',
        JWT_SECRET_ARN: secretArn,
        LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
        ...secretsManager.environment,
      });
      rmSync(eventFile, { force: true });

      // THEN
      expect(JSON.parse(output)).toMatchObject({ isAuthorized: true, context: { userId: 'user123' } });
      expect(
        secretsManager.requests.map(({ target, secretId, signatureValid }) => ({ target, secretId, signatureValid })),
      ).toEqual([{ target: 'secretsmanager.GetSecretValue', secretId: secretArn, signatureValid: true }]);
    }, 30_000);
  });
});

/**
 * Runs a deployed bundle's handler (`index.mjs` of its asset) on the event in `eventFile`, in a fresh Node process with only `env`, the way
 * Lambda loads it; resolves with what it returned (JSON) or `threw: <message>`.
 */
function runBundledHandler(bundleFile: string, eventFile: string, env: NodeJS.ProcessEnv): Promise<string> {
  const script = [
    `const { handler } = await import(${JSON.stringify(pathToFileURL(bundleFile).href)});`,
    `const event = JSON.parse((await import('node:fs')).readFileSync(${JSON.stringify(eventFile)}, 'utf8'));`,
    `const context = { awsRequestId: 'bundle-test', functionName: 'bundle-test', getRemainingTimeInMillis: () => 29000 };`,
    'try { process.stdout.write(JSON.stringify(await handler(event, context))); }',
    "catch (error) { process.stdout.write('threw: ' + error.message); }",
  ].join('\n');
  const child = spawn(process.execPath, ['--input-type=module', '--eval', script], { env });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return new Promise((done) => child.on('close', () => done(output)));
}

describe(`the node${lambdaNodeMajor} bundles on this machine's Node`, () => {
  // The deployed runtime is newer than the Node the tests run on. esbuild's target only decides which syntax it
  // lowers; while our sources and dependencies use nothing newer than Node 20 supports, a bundle built for the
  // deployed runtime is byte for byte the one built for Node 20, so the suites here run the deployed code. A
  // dependency that starts using newer syntax makes the bundles differ, and this test says so.
  it.each(Object.keys(functions) as FunctionName[])(
    '%s is the same bundle for node20 as for the Lambda runtime',
    async (name) => {
      const bundle = async (target: string) => {
        const result = await build({
          entryPoints: [functions[name].entry],
          bundle: true,
          platform: 'node',
          write: false,
          outfile: 'out/index.mjs',
          logLevel: 'silent',
          ...lambdaBundleOptions,
          mainFields: [...lambdaBundleOptions.mainFields],
          external: [...lambdaBundleOptions.external],
          alias: { ...lambdaBundleOptions.alias },
          target,
        });
        return result.outputFiles.find((file) => file.path.endsWith('.mjs'))?.text ?? '';
      };
      const [deployed, local] = await Promise.all([bundle(lambdaBundleOptions.target), bundle('node20')]);
      // Compared by length and equality, so a failure does not print two 300 KB bundles.
      expect({ length: deployed.length, identical: deployed === local }).toEqual({
        length: local.length,
        identical: true,
      });
    },
  );
});
