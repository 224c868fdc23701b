import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { clientEsmBuildOptions } from '../scripts/client-build-options';
import type { DemoTokens } from './dev-tokens';
import type { LocalPage, LocalPages } from './emulator/http-api';

/**
 * The local stack's conveniences beside the HTTP API, on its port: the test page at `/`, the client adapter at
 * `/client/index.js` (bundled in memory on first request, so a fresh clone needs no `npm run build:client`), and
 * `/local-config.json`, which pre-fills the page with the stack's URLs and demo tokens.
 */

/** What `/local-config.json` tells the page (`websocket-client.html` reads it; `?user=` picks a token). */
export interface LocalConfig {
  wsUrl: string;
  httpUrl: string;
  tokens: DemoTokens;
}

export interface LocalPagesOptions {
  /** Served at `/`, read on each request so edits show without a restart. */
  indexFile: string;
  /** The adapter's entry (`client/index.ts`), bundled as ESM with the options of `npm run build:client`. */
  clientEntry: string;
  /**
   * The page's configuration. Leave it out when the stack listens on an address other machines can reach: it
   * hands out signed tokens, and anyone who can reach the port could then act as any demo user or the admin.
   */
  localConfig?: () => Promise<LocalConfig>;
}

const javascript = 'text/javascript; charset=utf-8';

/**
 * Builds the local pages handler the HTTP API emulator consults before its routes.
 *
 * @example
 * const localPages = createLocalPages({ indexFile: '/repo/websocket-client.html', clientEntry: '/repo/client/index.ts' });
 * new HttpApiEmulator({ ...options, localPages });
 */
export function createLocalPages(options: LocalPagesOptions): LocalPages {
  const adapter = adapterBundle(options.clientEntry);
  return async (method, path, host) => {
    if (method !== 'GET') return undefined;
    switch (path) {
      case '/':
        return page('text/html; charset=utf-8', await readFile(options.indexFile));
      case '/client/index.js':
        return adapterFile(adapter, 'js');
      case '/client/index.js.map':
        return adapterFile(adapter, 'map');
      case '/local-config.json':
        // A page from another site that rebinds its DNS name to 127.0.0.1 would be same-origin with this port
        // under its own name: the tokens go only to requests that name the loopback host themselves.
        if (!options.localConfig || !isLoopbackHost(hostnameOf(host))) return undefined;
        return {
          ...page('application/json', JSON.stringify(await options.localConfig())),
          headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
        };
      default:
        return undefined;
    }
  };
}

/**
 * Whether a host name or address names this machine only (`localhost`, `127.0.0.0/8`, `::1`), so that a server
 * listening there cannot be reached from elsewhere.
 *
 * @example
 * isLoopbackHost('127.0.0.1'); // true
 * isLoopbackHost('0.0.0.0'); // false: every interface
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  return name === '::1' || name === '0:0:0:0:0:0:0:1';
}

/** The host name of a `Host` header value (`localhost:8091`, `[::1]:8091`). */
function hostnameOf(hostHeader: string | undefined): string {
  if (!hostHeader) return '';
  const bracketed = /^\[([^\]]+)\]/.exec(hostHeader);
  if (bracketed) return bracketed[1];
  return hostHeader.replace(/:\d+$/, '');
}

function page(contentType: string, body: string | Buffer): LocalPage {
  return { statusCode: 200, headers: { 'content-type': contentType }, body };
}

interface AdapterBundle {
  js: string;
  map: string;
}

/**
 * The adapter bundled once, on first use; a failed build (a syntax error while editing `client/`) is shown
 * and tried again on the next request.
 */
function adapterBundle(entry: string): () => Promise<AdapterBundle> {
  let pending: Promise<AdapterBundle> | undefined;
  return () => {
    pending ??= bundleAdapter(entry).catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

async function bundleAdapter(entry: string): Promise<AdapterBundle> {
  const result = await build({
    ...clientEsmBuildOptions(entry),
    // Never written: the output path only names the files and the source map's relative paths.
    outfile: join(entry, '..', '..', 'dist', 'client', 'index.js'),
    write: false,
    logLevel: 'silent',
  });
  const text = (extension: string) => result.outputFiles.find((file) => file.path.endsWith(extension))?.text ?? '';
  return { js: text('.js'), map: text('.js.map') };
}

async function adapterFile(adapter: () => Promise<AdapterBundle>, part: keyof AdapterBundle): Promise<LocalPage> {
  try {
    const bundle = await adapter();
    return page(part === 'js' ? javascript : 'application/json', bundle[part]);
  } catch (error) {
    // A local development aid, not the API: the build's own message is what the developer needs to see.
    const reason = error instanceof Error ? error.message : String(error);
    return { statusCode: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: reason };
  }
}
