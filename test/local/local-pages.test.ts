import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLocalPages, isLoopbackHost, type LocalConfig } from '../../local/local-pages';

const root = resolve(__dirname, '..', '..');
const indexFile = resolve(root, 'websocket-client.html');
const clientEntry = resolve(root, 'client', 'index.ts');
const config: LocalConfig = {
  wsUrl: 'ws://127.0.0.1:8090/local',
  httpUrl: 'http://127.0.0.1:8091',
  tokens: { user123: 'a.b.c', user456: 'd.e.f', user789: 'g.h.i', admin: 'j.k.l' },
};

describe('isLoopbackHost', () => {
  it.each(['localhost', 'LOCALHOST', 'app.localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]'])(
    '%s is loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(true);
    },
  );

  it.each(['0.0.0.0', '::', '192.168.1.20', '10.0.0.1', 'example.com', 'localhost.example.com', '', '128.0.0.1'])(
    '%s is not',
    (host) => {
      expect(isLoopbackHost(host)).toBe(false);
    },
  );
});

describe('local pages', () => {
  const pages = createLocalPages({ indexFile, clientEntry, localConfig: async () => config });

  it('serves the test page at /', async () => {
    const page = await pages('GET', '/', 'localhost:8091');

    expect(page?.statusCode).toBe(200);
    expect(page?.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(String(page?.body)).toContain('<title>realtime-gateway test client</title>');
  });

  it('serves the adapter as an ES module bundled from client/index.ts, with its source map, and no dist/ needed', async () => {
    const script = await pages('GET', '/client/index.js', 'localhost:8091');
    const map = await pages('GET', '/client/index.js.map', 'localhost:8091');

    expect(script?.statusCode).toBe(200);
    expect(script?.headers['content-type']).toBe('text/javascript; charset=utf-8');
    const code = String(script?.body);
    expect(code).toMatch(/export\s*\{[^}]*\bio\b/);
    expect(code).toContain('//# sourceMappingURL=index.js.map');
    // `ws` stays an import the browser never reaches, as in the built file.
    expect(code).not.toContain('WebSocketServer');
    expect(map?.statusCode).toBe(200);
    expect(JSON.parse(String(map?.body)).sources).toContain('../../client/index.ts');
  });

  it('hands the URLs and demo tokens to requests that name a loopback host, and no-store', async () => {
    const answer = await pages('GET', '/local-config.json', '127.0.0.1:8091');

    expect(answer?.statusCode).toBe(200);
    expect(answer?.headers).toEqual({ 'content-type': 'application/json', 'cache-control': 'no-store' });
    expect(JSON.parse(String(answer?.body))).toEqual(config);
  });

  it('keeps the tokens from a request naming another host (a rebound DNS name) or without one', async () => {
    expect(await pages('GET', '/local-config.json', 'attacker.example:8091')).toBeUndefined();
    expect(await pages('GET', '/local-config.json', undefined)).toBeUndefined();
  });

  it('serves no configuration when the stack gives none (it listens beyond loopback)', async () => {
    const open = createLocalPages({ indexFile, clientEntry });

    expect(await open('GET', '/local-config.json', 'localhost:8091')).toBeUndefined();
    expect((await open('GET', '/', 'localhost:8091'))?.statusCode).toBe(200);
  });

  it('leaves other methods and paths to the API', async () => {
    expect(await pages('POST', '/', 'localhost:8091')).toBeUndefined();
    expect(await pages('GET', '/client/index.global.js', 'localhost:8091')).toBeUndefined();
    expect(await pages('GET', '/websocket/me/status', 'localhost:8091')).toBeUndefined();
  });

  it('shows a failed build and builds again on the next request', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'local-pages-'));
    const entry = join(folder, 'index.ts');
    writeFileSync(entry, 'export const io = (;\n');
    const editing = createLocalPages({ indexFile, clientEntry: entry });

    const broken = await editing('GET', '/client/index.js', 'localhost:8091');
    writeFileSync(entry, 'export const io = () => 1;\n');
    const fixed = await editing('GET', '/client/index.js', 'localhost:8091');

    expect(broken?.statusCode).toBe(500);
    expect(String(broken?.body)).toContain('index.ts');
    expect(fixed?.statusCode).toBe(200);
    expect(String(fixed?.body)).toContain('io');
  });
});
