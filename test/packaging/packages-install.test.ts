import { execFile } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { Browser } from 'playwright-core';
import { type FunctionName, functions } from '../../lambdas/routes';
import { signDevToken } from '../../local/dev-tokens';
import { type LocalStack, serverLibraryEnvironment, startLocalStack } from '../../local/stack';
import { launchChromium } from '../helpers/chromium';

/**
 * The three packages as their users get them: `npm pack` (which builds each on prepack), then `npm install` of the
 * tarballs into a fresh project in the temp folder, outside this repository (no links, no workspace paths, the
 * dependencies from the registry). Everything below runs against that project's node_modules: a Node backend and
 * frontend (a, b), a browser bundle made by the consumer's esbuild (c), and a CDK app (d).
 */

const root = resolve(__dirname, '..', '..');
const packageFolders = ['client', 'server', 'cdk'] as const;
type PackageFolder = (typeof packageFolders)[number];
const packageNames: Record<PackageFolder, string> = {
  client: '@realtime-gateway/client',
  server: '@realtime-gateway/server',
  cdk: '@realtime-gateway/cdk',
};

interface PackResult {
  name: string;
  filename: string;
  files: { path: string }[];
}

/** Runs a command; resolves with its stdout, or rejects with a message holding the command, stdout and stderr. */
function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number },
): Promise<string> {
  return new Promise((resolveRun, reject) =>
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeout ?? 120_000, maxBuffer: 64 << 20 },
      (error, stdout, stderr) =>
        error
          ? reject(
              new Error(
                `${command} ${args.join(' ')} failed in ${options.cwd}: ${error.message}\n${stdout}\n${stderr}`,
              ),
            )
          : resolveRun(stdout),
    ),
  );
}

/** The version of a package installed in this repository, so the consumer gets the same (and the npm cache has it). */
function repositoryVersion(name: string): string {
  return (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
    .version;
}

/**
 * Bare module specifiers a built file imports or requires (`node:` built-ins and relative paths left out): import
 * and export statements at the start of a line, `require()` and `import()` calls. Doc comments and string
 * constants that merely show an import line do not count.
 */
function bareImports(code: string): string[] {
  const specifiers = [
    ...code.matchAll(/^\s*(?:import|export)\s[^'"]*?\bfrom\s*["']([^"']+)["']/gm),
    ...code.matchAll(/^\s*import\s*["']([^"']+)["']/gm),
    ...code.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g),
    ...code.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  ].map((match) => match[1]);
  return specifiers.filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('node:'));
}

/** `@scope/name/sub/path` → `@scope/name`; `name/sub` → `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

describe('packages installed from their tarballs into a fresh project', () => {
  let work: string;
  let consumer: string;
  let packed: Record<PackageFolder, PackResult>;
  let stack: LocalStack;
  let pageServer: Server;
  let pageOrigin: string;
  let browser: Browser | undefined;

  /** The consumer's settings for the server library, pointed at the local stack as on AWS (two settings). */
  const backendEnvironment = (): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    // The local @connections verifies SigV4 against the stack's own key pair, as API Gateway checks IAM.
    ...serverLibraryEnvironment(stack),
  });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'realtime-gateway-packaging-'));
    const tarballs = join(work, 'tarballs');
    consumer = join(work, 'consumer');
    mkdirSync(tarballs);
    mkdirSync(join(consumer, 'public'), { recursive: true });

    // npm pack runs each package's prepack (its build); the build scripts print sizes before npm's JSON.
    const packOutput = await run(
      'npm',
      ['pack', ...packageFolders.map((folder) => `./packages/${folder}`), '--pack-destination', tarballs, '--json'],
      { cwd: root, env: { ...process.env, npm_config_update_notifier: 'false' }, timeout: 180_000 },
    );
    const jsonStart = packOutput.search(/^\[$/m);
    if (jsonStart < 0) throw new Error(`npm pack printed no JSON report:\n${packOutput}`);
    const results = JSON.parse(packOutput.slice(jsonStart)) as PackResult[];
    packed = Object.fromEntries(
      packageFolders.map((folder) => {
        const result = results.find((candidate) => candidate.name === packageNames[folder]);
        if (!result) throw new Error(`npm pack made no tarball for ${packageNames[folder]}`);
        return [folder, result];
      }),
    ) as Record<PackageFolder, PackResult>;

    writeFileSync(join(consumer, 'package.json'), `${JSON.stringify({ name: 'consumer', private: true })}\n`);
    // aws-cdk-lib and constructs: the construct's peers; esbuild: the frontend's bundler. The repository's versions.
    await run(
      'npm',
      [
        'install',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        ...packageFolders.map((folder) => join(tarballs, packed[folder].filename)),
        `aws-cdk-lib@${repositoryVersion('aws-cdk-lib')}`,
        `constructs@${repositoryVersion('constructs')}`,
        `esbuild@${repositoryVersion('esbuild')}`,
      ],
      { cwd: consumer, env: { ...process.env, npm_config_update_notifier: 'false' }, timeout: 240_000 },
    );

    // The page of check (c) is served from an origin of its own, which the stack must admit.
    pageServer = createServer((request, response) => {
      const file = request.url?.startsWith('/bundle.js') ? 'bundle.js' : 'index.html';
      response.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html' });
      response.end(readFileSync(join(consumer, 'public', file)));
    });
    await new Promise<void>((done) => pageServer.listen(0, '127.0.0.1', done));
    pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
    stack = await startLocalStack({
      wsPort: 0,
      httpPort: 0,
      quiet: true,
      environment: { ALLOWED_ORIGINS: pageOrigin },
    });
  }, 420_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    pageServer?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  describe('the tarballs', () => {
    it.each(packageFolders)('%s holds only package.json, README.md and built code, maps and types', (folder) => {
      const paths = packed[folder].files.map((file) => file.path);
      const unexpected = paths.filter(
        (path) =>
          path !== 'package.json' &&
          path !== 'README.md' &&
          !/^dist\/.+\.(js|cjs|mjs|map|d\.ts)$/.test(path) &&
          path !== 'dist/package.json',
      );
      expect(unexpected).toEqual([]);
      const required = {
        client: ['dist/index.js', 'dist/index.cjs', 'dist/index.global.js', 'dist/index.d.ts'],
        server: ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts'],
        cdk: [
          'dist/index.js',
          'dist/index.d.ts',
          ...Object.keys(functions).map((name) => `dist/lambda-assets/${name}/index.mjs`),
        ],
      }[folder];
      expect(required.filter((path) => !paths.includes(path))).toEqual([]);
    });

    it.each(packageFolders)(
      '%s declares every package its built code and types import, at the range the repository tests',
      (folder) => {
        const installed = join(consumer, 'node_modules', packageNames[folder]);
        const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
          dependencies?: Record<string, string>;
          peerDependencies?: Record<string, string>;
        };
        const declared = { ...manifest.dependencies, ...manifest.peerDependencies };
        // The pre-bundled handlers are self-contained (checked by test/infra/bundling.test.ts); the rest is scanned.
        const files = packed[folder].files
          .map((file) => file.path)
          .filter((path) => /\.(js|cjs|d\.ts)$/.test(path) && !path.startsWith('dist/lambda-assets/'));
        const imported = new Set(
          files.flatMap((path) => bareImports(readFileSync(join(installed, path), 'utf8')).map(packageOf)),
        );
        expect([...imported].filter((name) => !(name in declared)).sort()).toEqual([]);

        const repository = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
          dependencies: Record<string, string>;
          devDependencies: Record<string, string>;
        };
        const tested = { ...repository.devDependencies, ...repository.dependencies };
        const drift = Object.entries(declared).filter(([name, range]) => tested[name] !== range);
        expect(drift).toEqual([]);
      },
    );

    it('installs real folders, not links into the repository', () => {
      for (const folder of packageFolders) {
        const installed = join(consumer, 'node_modules', packageNames[folder]);
        expect(lstatSync(installed).isSymbolicLink()).toBe(false);
        expect(readdirSync(installed).sort()).toEqual(['README.md', 'dist', 'package.json']);
      }
    });
  });

  it('(a, b) a Node frontend connects with the client and receives what a backend sends with the server library', async () => {
    const token = await signDevToken(stack.jwtSecret, 'packaged-user');
    writeFileSync(
      join(consumer, 'roundtrip.mjs'),
      `
      import { createRequire } from 'node:module';
      import { io } from '@realtime-gateway/client';
      import { WebSocketService } from '@realtime-gateway/server';

      const wsFrom = createRequire(import.meta.url).resolve('ws');
      const socket = io(process.env.WS_URL, { auth: { token: process.env.TOKEN }, reconnection: false });
      socket.on('connect_error', (error) => { console.error('connect_error: ' + error.message); process.exit(1); });
      // Listening before sending: the message may arrive before sendToUser's report does.
      // An event named after the message type gets (data, envelope), as client/README.md documents.
      const received = new Promise((done) => socket.on('chat', (data, envelope) => done({ data, envelope })));
      socket.on('connect', async () => {
        const report = await WebSocketService.fromEnvironment()
          .sendToUser('packaged-user', 'chat', { message: 'from the packaged server library' });
        const { data, envelope } = await received;
        console.log(JSON.stringify({ wsFrom, userId: socket.userId, report, data, envelope }));
        socket.disconnect();
      });
      `,
    );

    const output = await run(process.execPath, ['roundtrip.mjs'], {
      cwd: consumer,
      env: { ...backendEnvironment(), WS_URL: stack.wsUrl, TOKEN: token },
      timeout: 30_000,
    });

    const result = JSON.parse(output.trim());
    expect(result.wsFrom).toBe(join(consumer, 'node_modules', 'ws', 'index.js'));
    expect(result.userId).toBe('packaged-user');
    expect(result.report.recipients['packaged-user'].delivered).toHaveLength(1);
    expect(result.data).toEqual({ message: 'from the packaged server library' });
    expect(result.envelope).toMatchObject({
      type: 'chat',
      data: { message: 'from the packaged server library' },
      id: result.report.messageId,
    });
  }, 60_000);

  it('(a, b, d) CommonJS require() of each package gives the public names', async () => {
    writeFileSync(
      join(consumer, 'require.cjs'),
      `
      const { io } = require('@realtime-gateway/client');
      const { WebSocketService, ValidationError } = require('@realtime-gateway/server');
      const { RealtimeGateway } = require('@realtime-gateway/cdk');
      console.log(JSON.stringify([typeof io, typeof WebSocketService.fromEnvironment, typeof ValidationError,
        typeof RealtimeGateway.prototype.grantSend]));
      `,
    );
    const output = await run(process.execPath, ['require.cjs'], { cwd: consumer, env: backendEnvironment() });
    expect(JSON.parse(output)).toEqual(['function', 'function', 'function', 'function']);
  });

  it('(c) the consumer esbuild bundles the client for the browser without ws, and the page connects and receives', async () => {
    writeFileSync(
      join(consumer, 'browser-entry.js'),
      `
      import { io } from '@realtime-gateway/client';
      const settings = new URLSearchParams(location.hash.slice(1));
      const socket = io(settings.get('ws'), { auth: { token: settings.get('token') }, reconnection: false });
      socket.on('connect', () => { document.body.dataset.state = 'connected'; });
      socket.on('connect_error', (error) => { document.body.dataset.state = 'connect_error: ' + error.message; });
      socket.on('chat', (data) => { document.body.dataset.received = JSON.stringify(data); });
      `,
    );
    writeFileSync(
      join(consumer, 'public', 'index.html'),
      '<!doctype html><html><body data-state="loading"><script type="module" src="/bundle.js"></script></body></html>',
    );
    await run(
      join(consumer, 'node_modules', '.bin', 'esbuild'),
      [
        'browser-entry.js',
        '--bundle',
        '--format=esm',
        '--platform=browser',
        '--outfile=public/bundle.js',
        '--metafile=meta.json',
        '--log-level=warning',
      ],
      { cwd: consumer },
    );
    const inputs = Object.keys(
      (JSON.parse(readFileSync(join(consumer, 'meta.json'), 'utf8')) as { inputs: object }).inputs,
    );
    expect(inputs).toContain('node_modules/@realtime-gateway/client/dist/index.js');
    // The package's browser field maps ws to nothing (esbuild lists it as disabled): neither ws's Node code nor the
    // stub its own browser field points at is bundled.
    expect(inputs.filter((input) => input.includes('node_modules/ws/') && !input.startsWith('(disabled):'))).toEqual(
      [],
    );

    const token = await signDevToken(stack.jwtSecret, 'browser-user');
    browser = await launchChromium();
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${pageOrigin}/#${new URLSearchParams({ ws: stack.wsUrl, token })}`);
    await page.waitForFunction(() => document.body.dataset.state !== 'loading', undefined, { timeout: 15_000 });
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('connected');

    await run(
      process.execPath,
      [
        '--input-type=module',
        '--eval',
        `import { WebSocketService } from '@realtime-gateway/server';
         await WebSocketService.fromEnvironment().sendToUser('browser-user', 'chat', { message: 'to the bundle' });`,
      ],
      { cwd: consumer, env: backendEnvironment(), timeout: 30_000 },
    );
    await page.waitForFunction(() => document.body.dataset.received !== undefined, undefined, { timeout: 15_000 });
    expect(JSON.parse((await page.evaluate(() => document.body.dataset.received)) ?? 'null')).toEqual({
      message: 'to the bundle',
    });
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('(d) a CDK app embeds the construct, grants its own function the send, and synthesizes with the packaged code', async () => {
    writeFileSync(
      join(consumer, 'cdk-app.mjs'),
      `
      import { App, Stack } from 'aws-cdk-lib';
      import * as lambda from 'aws-cdk-lib/aws-lambda';
      import { RealtimeGateway } from '@realtime-gateway/cdk';

      const app = new App({ outdir: 'cdk.out' });
      const stack = new Stack(app, 'ConsumerStack');
      const gateway = new RealtimeGateway(stack, 'Gateway', { stageName: 'dev' });
      const orders = new lambda.Function(stack, 'OrderService', {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: 'index.handler',
        code: lambda.Code.fromInline('exports.handler = async () => {};'),
      });
      gateway.grantSend(orders);
      app.synth();
      `,
    );
    await run(process.execPath, ['cdk-app.mjs'], {
      cwd: consumer,
      env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
      timeout: 120_000,
    });

    const cdkOut = join(consumer, 'cdk.out');
    const template = Template.fromJSON(JSON.parse(readFileSync(join(cdkOut, 'ConsumerStack.template.json'), 'utf8')));
    const lambdas = template.findResources('AWS::Lambda::Function');
    const logicalIdOf = (name: FunctionName) => {
      const found = Object.entries(lambdas).filter(
        ([, resource]) => resource.Properties.Description === functions[name].description,
      );
      if (found.length !== 1) throw new Error(`expected one function described as ${name}, found ${found.length}`);
      return found[0][0];
    };
    const orderService = Object.keys(lambdas).find((id) => id.startsWith('OrderService'));
    if (!orderService) throw new Error('the consumer function OrderService is not in the template');
    const orderRole = lambdas[orderService].Properties.Role['Fn::GetAtt'][0];

    // grantSend: the consumer's role may invoke the direct-send function.
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: orderRole }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'lambda:InvokeFunction',
            Effect: 'Allow',
            Resource: Match.arrayWith([{ 'Fn::GetAtt': [logicalIdOf('directSend'), 'Arn'] }]),
          }),
        ]),
      },
    });

    // Each gateway function runs the package's pre-bundled file, byte for byte (nothing was bundled at synth).
    const assets = join(consumer, 'node_modules', '@realtime-gateway', 'cdk', 'dist', 'lambda-assets');
    for (const name of Object.keys(functions) as FunctionName[]) {
      const properties = lambdas[logicalIdOf(name)].Properties;
      expect({ name, handler: properties.Handler }).toEqual({ name, handler: 'index.handler' });
      const assetDir = join(cdkOut, `asset.${String(properties.Code.S3Key).replace(/\.zip$/, '')}`);
      const synthesized = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
      expect(synthesized === readFileSync(join(assets, name, 'index.mjs'), 'utf8')).toBe(true);
    }
  }, 120_000);

  it('(types) the declarations resolve for a TypeScript consumer (nodenext) and reject a wrong prop', async () => {
    writeFileSync(
      join(consumer, 'types-check.mts'),
      `
      import { io, type RealtimeSocket } from '@realtime-gateway/client';
      import { WebSocketService, ValidationError } from '@realtime-gateway/server';
      import { RealtimeGateway, type RealtimeGatewayProps } from '@realtime-gateway/cdk';

      export const socket: RealtimeSocket = io('ws://localhost:8090', { auth: { token: 'jwt' } });
      export const service: WebSocketService = WebSocketService.fromEnvironment();
      export const error: Error = new ValidationError('x');
      export const props: RealtimeGatewayProps = { stageName: 'dev' };
      export const grant: RealtimeGateway['grantSend'] | undefined = undefined;
      // @ts-expect-error stageName is a string
      export const wrong: RealtimeGatewayProps = { stageName: 1 };
      `,
    );
    writeFileSync(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib: ['es2022', 'dom'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['types-check.mts'],
      }),
    );
    // The repository's compiler; everything it resolves comes from the consumer's node_modules.
    await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
      cwd: consumer,
    });
  }, 60_000);
});
