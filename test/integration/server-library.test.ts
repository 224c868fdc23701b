import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { signDevToken } from '../../local/dev-tokens';
import { type LocalStack, serverLibraryEnvironment, startLocalStack } from '../../local/stack';
import { connect, type TestClient } from '../e2e/support/sockets';

/**
 * The server library as a Node backend uses it: the built package (`dist/server/`), in a plain Node process with
 * the normal credential chain, pointed at the local stack through the same two settings it needs on AWS
 * (`TABLE_NAME`, `CALLBACK_URL`), sending to a real socket.
 */
describe('server library build (realtime-gateway package entry)', () => {
  const root = resolve(__dirname, '..', '..');
  let outDir: string;
  let stack: LocalStack;
  let client: TestClient;
  let connectionId: string;

  beforeAll(async () => {
    // Inside the repository (dist/ is git-ignored) so the build's external imports resolve from node_modules.
    mkdirSync(join(root, 'dist'), { recursive: true });
    outDir = mkdtempSync(join(root, 'dist', 'server-build-test-'));
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build-server-library.ts', '--out-dir', outDir], {
      cwd: root,
      stdio: 'pipe',
    });
    stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: true });
    client = await connect(stack.wsUrl, await signDevToken(stack.jwtSecret, 'user123'));
    client.send({ action: 'hello' });
    connectionId = ((await client.next('authenticated')).data as { connectionId: string }).connectionId;
  }, 60_000);

  afterAll(async () => {
    await client?.close();
    await stack?.stop();
    rmSync(outDir, { recursive: true, force: true });
  });

  /** Runs `script` in a fresh Node process with the backend's settings; resolves with its stdout. */
  function runBackend(
    script: string,
    args: string[] = ['-e', script],
    overrides: Record<string, string> = {},
  ): Promise<string> {
    const env = {
      PATH: process.env.PATH,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // The stack's own key pair among them: its @connections accepts no other signature.
      ...serverLibraryEnvironment(stack),
      ...overrides,
    };
    return new Promise((resolveRun, reject) =>
      execFile(process.execPath, args, { cwd: root, env, timeout: 20_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolveRun(stdout),
      ),
    );
  }

  it('sends to a connected user from CommonJS and reports the delivery', async () => {
    const output = await runBackend(`
      const { WebSocketService } = require(${JSON.stringify(join(outDir, 'index.cjs'))});
      WebSocketService.fromEnvironment()
        .sendToUser('user123', 'chat', { message: 'from a backend' })
        .then((report) => console.log(JSON.stringify(report)));
    `);

    const report = JSON.parse(output);
    expect(report.recipients.user123.delivered).toEqual([connectionId]);
    const frame = await client.next('chat');
    expect(frame).toMatchObject({ type: 'chat', data: { message: 'from a backend' }, id: report.messageId });
    expect(frame).not.toHaveProperty('from');
  });

  it('is refused with 403 ForbiddenException when the backend signs with another secret', async () => {
    const output = await runBackend(
      `
      const { ApiGatewayManagementApiClient, PostToConnectionCommand } = require('@aws-sdk/client-apigatewaymanagementapi');
      new ApiGatewayManagementApiClient({ endpoint: process.env.CALLBACK_URL, maxAttempts: 1 })
        .send(new PostToConnectionCommand({ ConnectionId: ${JSON.stringify(connectionId)}, Data: '{"from":"forged"}' }))
        .then(() => console.log('sent'), (error) => console.log(error.name, error.$metadata.httpStatusCode));
      `,
      undefined,
      { AWS_SECRET_ACCESS_KEY: 'guessed' },
    );

    expect(output.trim()).toBe('ForbiddenException 403');
  });

  it('answers presence from ESM, and refuses bad input with a named error', async () => {
    const output = await runBackend('', [
      '--input-type=module',
      '-e',
      `
      import { WebSocketService, ValidationError } from ${JSON.stringify(join(outDir, 'index.js'))};
      const service = WebSocketService.fromEnvironment();
      console.log(JSON.stringify(await service.getUserStatus('user123')));
      try { await service.sendToUser('user123', '', {}); } catch (error) {
        console.log(error instanceof ValidationError, error.name, error.message);
      }
      `,
    ]);

    const [status, refusal] = output.trim().split('\n');
    expect(JSON.parse(status)).toMatchObject({ userId: 'user123', connected: true, connectionCount: 1 });
    expect(refusal).toMatch(/^true ValidationError type/);
  });

  it('ships declarations for WebSocketService', () => {
    expect(readFileSync(join(outDir, 'index.d.ts'), 'utf8')).toContain("'./types/lambdas/server-library.js'");
    const declarations = readFileSync(join(outDir, 'types', 'lambdas', 'core', 'websocket-service.d.ts'), 'utf8');
    expect(declarations).toContain('sendNotification(');
  });
});
