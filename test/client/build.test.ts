import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FakeGateway } from './fake-gateway';

/** `npm run build:client` output: what browsers and Node load, checked as built. */
describe('client build', () => {
  const root = resolve(__dirname, '..', '..');
  let outDir: string;

  beforeAll(() => {
    // Inside the repository (dist/ is git-ignored), so the build's import('ws') resolves as in an installed package.
    mkdirSync(join(root, 'dist'), { recursive: true });
    outDir = mkdtempSync(join(root, 'dist', 'client-build-test-'));
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build-client.ts', '--out-dir', outDir], {
      cwd: root,
      stdio: 'pipe',
    });
  }, 60_000);
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('gives browsers an ESM file with no require, no Node built-in and only a dynamic import of ws', () => {
    const esm = readFileSync(join(outDir, 'index.js'), 'utf8');

    expect(esm).toMatch(/export \{[^}]*\bio\b/);
    expect(esm).not.toMatch(/\brequire\(/);
    expect(esm).not.toMatch(/from ["']node:/);
    expect(esm).not.toMatch(/^import .* from ["']ws["']/m);
    expect(esm).toContain('import("ws")');
  });

  it('ships declarations for io and its options', () => {
    const declarations = readFileSync(join(outDir, 'types', 'client', 'index.d.ts'), 'utf8');
    expect(readFileSync(join(outDir, 'index.d.ts'), 'utf8')).toContain("from './types/client/index.js'");
    expect(declarations).toContain('export declare function io(url: string, options?: RealtimeSocketOptions)');
  });

  it('gives Node a CommonJS file that loads ws by itself and connects', async () => {
    const gateway = await new FakeGateway().start();
    // A separate, plain Node process: jest's module sandbox cannot run the build's dynamic import('ws').
    const script = `
      const { io } = require(${JSON.stringify(join(outDir, 'index.cjs'))});
      const socket = io(${JSON.stringify(gateway.url)}, { auth: { token: 'user.user123' }, reconnection: false });
      socket.on('connect', () => { console.log('connected as ' + socket.userId); socket.disconnect(); });
      socket.on('connect_error', (error) => { console.log('connect_error ' + error.message); process.exitCode = 1; });
    `;
    try {
      const output = await new Promise<string>((resolveRun, reject) =>
        execFile(process.execPath, ['-e', script], { cwd: root, timeout: 20_000 }, (error, stdout) =>
          error ? reject(new Error(`${error.message}\n${stdout}`)) : resolveRun(stdout),
        ),
      );
      expect(output.trim()).toBe('connected as user123');
      expect(gateway.handshakes[0]).toMatchObject({ carrier: 'header', token: 'user.user123' });
    } finally {
      await gateway.stop();
    }
  });
});
