import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import WebSocket from 'ws';

const rootDir = resolve(__dirname, '../..');
const tsx = resolve(rootDir, 'node_modules/.bin/tsx');

/** Runs `npm start`'s script directly (no npm wrapper, so the signal reaches the stack's own process). */
function startCli(args: string[]): { child: ChildProcess; output: () => string; ready: Promise<string> } {
  const child = spawn(tsx, ['local/cli.ts', ...args], {
    cwd: rootDir,
    env: { ...process.env, JWT_SECRET: 'cli-test-secret-long-enough-for-hs256' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // tsx runs the script in a child node process: its own process group lets a failed test kill both.
    detached: true,
  });
  let output = '';
  const ready = new Promise<string>((resolveReady, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ctrl-C stops everything')) resolveReady(output);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code} before it was ready:\n${output}`)));
  });
  return { child, output: () => output, ready };
}

describe('npm start', () => {
  it('prints the URLs and four tokens, serves them, and on SIGTERM closes sockets with 1001 and exits 0', async () => {
    // Prepare
    const { child, output, ready } = startCli(['--ws-port', '0', '--http-port', '0']);
    try {
      const banner = await ready;
      const wsUrl = /WebSocket API\s+(ws:\/\/\S+)/.exec(banner)?.[1];
      const httpUrl = /HTTP API\s+(http:\/\/\S+)/.exec(banner)?.[1];
      const tokens = banner.match(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g) ?? [];
      expect(banner).toMatch(/@connections\s+http:\/\/\S+\/@connections/);
      expect(tokens).toHaveLength(4);
      expect(banner).toContain('user123');
      expect(banner).toContain('ws:admin ws:broadcast');
      // Act: a socket with the printed user123 token, then the signal.
      const socket = new WebSocket(wsUrl!.replace('localhost', '127.0.0.1'), {
        headers: { Authorization: `Bearer ${tokens[0]}` },
      });
      await new Promise((resolveOpen, reject) => {
        socket.once('open', resolveOpen);
        socket.once('error', reject);
      });
      const closeCode = new Promise<number>((resolveClose) => socket.once('close', resolveClose));
      const exitCode = new Promise<number | null>((resolveExit) => child.once('exit', resolveExit));
      const status = await fetch(`${httpUrl!.replace('localhost', '127.0.0.1')}/websocket/me/status`, {
        headers: { Authorization: `Bearer ${tokens[0]}` },
      });
      expect(await status.json()).toMatchObject({ userId: 'user123', connectionCount: 1 });
      // The test page's configuration holds the very tokens the banner printed, and the adapter needs no build.
      const localHttpUrl = httpUrl!.replace('localhost', '127.0.0.1');
      const config = await (await fetch(`${localHttpUrl}/local-config.json`)).json();
      expect(config).toEqual({
        wsUrl: wsUrl!.replace('localhost', '127.0.0.1'),
        httpUrl: localHttpUrl,
        tokens: { user123: tokens[0], user456: tokens[1], user789: tokens[2], admin: tokens[3] },
      });
      const adapter = await fetch(`${localHttpUrl}/client/index.js`);
      expect(adapter.status).toBe(200);
      expect(adapter.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      child.kill('SIGTERM');
      // Assess
      expect(await closeCode).toBe(1001);
      expect(await exitCode).toBe(0);
      expect(output()).toContain('SIGTERM: closing connections');
    } finally {
      // SIGKILL cannot be relayed: killing only tsx would leave the stack (ports, dynalite) running.
      if (child.exitCode === null && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }
  }, 30_000);

  it('prints the options with --help and exits', async () => {
    const child = spawn(tsx, ['local/cli.ts', '--help'], { cwd: rootDir });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    const code = await new Promise((resolveExit) => child.once('exit', resolveExit));

    expect(code).toBe(0);
    for (const option of ['--host', '--ws-port', '--http-port', '--data-dir', '--secret', '--help']) {
      expect(text).toContain(option);
    }
  }, 30_000);
});
