import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { signDevToken } from '../../local/dev-tokens';
import { type LocalStack, startLocalStack } from '../../local/stack';

/**
 * Runs `testing-websocket.http` with httpyac against the local stack, as a tester would, and requires exit code 0
 * (httpyac exits 20 when an assertion fails and 10 when a request errors).
 */

const root = resolve(__dirname, '..', '..');
const httpFile = resolve(root, 'testing-websocket.http');

interface HttpyacRun {
  exitCode: number;
  output: string;
}

function runHttpyac(args: string[]): Promise<HttpyacRun> {
  return new Promise((resolveRun) => {
    execFile(
      process.execPath,
      [resolve(root, 'node_modules', 'httpyac', 'bin', 'httpyac.js'), 'send', httpFile, ...args],
      { cwd: root, timeout: 90_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const exitCode = error ? ((error as { code?: unknown }).code as number) : 0;
        resolveRun({ exitCode: typeof exitCode === 'number' ? exitCode : 1, output: `${stdout}\n${stderr}` });
      },
    );
  });
}

describe('testing-websocket.http run by httpyac against the local stack', () => {
  let stack: LocalStack;
  let tokens: { userToken: string; otherToken: string; adminToken: string };
  const varsFor = (values: Record<string, string>) =>
    Object.entries({ httpUrl: stack.httpUrl, ...values }).flatMap(([name, value]) => ['--var', `${name}=${value}`]);

  beforeAll(async () => {
    stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: true });
    const [userToken, otherToken, adminToken] = await Promise.all([
      signDevToken(stack.jwtSecret, 'user123'),
      signDevToken(stack.jwtSecret, 'user456'),
      signDevToken(stack.jwtSecret, 'admin', { scope: 'ws:admin ws:broadcast' }),
    ]);
    tokens = { userToken, otherToken, adminToken };
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('has an assertion on every request', () => {
    const requests = readFileSync(httpFile, 'utf8').split(/^###/m).slice(1);
    const withoutAssertion = requests.filter((request) => !/^\?\? status == \d{3}$/m.test(request));
    expect(requests.length).toBeGreaterThanOrEqual(20);
    expect(withoutAssertion).toEqual([]);
  });

  it('passes every request and assertion (exit code 0)', async () => {
    const run = await runHttpyac(['--all', '-e', 'local', '-o', 'short', ...varsFor(tokens)]);
    if (run.exitCode !== 0) console.error(run.output);
    expect(run.exitCode).toBe(0);
    expect(run.output).toMatch(/requests processed \(\d+ succeeded\)/);
  }, 120_000);

  it('fails when an answer is wrong, so the run above proves something', async () => {
    // The admin token in place of the plain user's: the 403 cases now answer 200 and must fail.
    const swapped = { ...tokens, userToken: tokens.adminToken };
    const run = await runHttpyac(['--all', '-e', 'local', '-o', 'none', ...varsFor(swapped)]);
    expect(run.exitCode).toBe(20);
  }, 120_000);
});
