import { type Environment, optionalList, Setting } from './config';
import { ConfigurationError } from './errors';

/**
 * The browser Origin allow-list checked at `$connect`.
 *
 * Why: browsers do not apply the same-origin policy to WebSocket handshakes. Without this check, any web page a
 * signed-in user visits could open a socket to this API with the user's token if that token reaches the socket
 * implicitly (cross-site WebSocket hijacking). Browsers always send `Origin` on a WebSocket handshake and page
 * scripts cannot forge it, so the allow-list stops such pages. Non-browser clients (Node backends, CLIs) send no
 * `Origin` and are not concerned: they pass.
 */
export type OriginPolicy =
  /** `ALLOWED_ORIGINS=*`: any origin. */
  | { kind: 'any' }
  /** Exactly these normalised origins (`scheme://host[:port]`); an empty list allows no browser at all. */
  | { kind: 'list'; origins: ReadonlySet<string> };

/**
 * Reads `ALLOWED_ORIGINS`: a comma-separated list of origins such as `https://app.example.com`, or `*` alone.
 * Unset or empty allows no browser origin. A malformed entry throws a {@link ConfigurationError} naming the
 * setting.
 *
 * @example
 * readOriginPolicy({ ALLOWED_ORIGINS: 'https://app.example.com, http://localhost:5173' });
 * // { kind: 'list', origins: Set { 'https://app.example.com', 'http://localhost:5173' } }
 * readOriginPolicy({ ALLOWED_ORIGINS: '*' }); // { kind: 'any' }
 */
export function readOriginPolicy(env: Environment): OriginPolicy {
  const entries = optionalList(env, Setting.allowedOrigins);
  if (entries.includes('*')) {
    if (entries.length > 1) {
      throw new ConfigurationError(Setting.allowedOrigins, 'must be "*" alone or a list of origins, not both');
    }
    return { kind: 'any' };
  }
  const origins = new Set<string>();
  for (const entry of entries) {
    const origin = normaliseOrigin(entry);
    if (origin === undefined) {
      throw new ConfigurationError(
        Setting.allowedOrigins,
        `lists "${entry}", which is not an origin of the form scheme://host[:port] (http or https, no path)`,
      );
    }
    origins.add(origin);
  }
  return { kind: 'list', origins };
}

/**
 * `scheme://host[:port]` in the URL standard's normal form (lower-case scheme and host, default port dropped), or
 * undefined when the value is not an http(s) origin. A path, query, fragment or credentials make it undefined.
 */
function normaliseOrigin(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password || url.search || url.hash) return undefined;
  if (url.pathname !== '/' && url.pathname !== '') return undefined;
  return url.origin;
}

/**
 * Whether a handshake's `Origin` header is allowed. No header (a non-browser client) passes; the opaque origin
 * `null` (sandboxed frames, `file:` pages) passes only under `*`.
 *
 * @example
 * const policy = readOriginPolicy({ ALLOWED_ORIGINS: 'https://app.example.com' });
 * isOriginAllowed(policy, 'https://APP.example.com:443'); // true
 * isOriginAllowed(policy, 'https://evil.example'); // false
 * isOriginAllowed(policy, undefined); // true (a Node client)
 */
export function isOriginAllowed(policy: OriginPolicy, originHeader: string | undefined): boolean {
  if (originHeader === undefined) return true;
  if (policy.kind === 'any') return true;
  const origin = normaliseOrigin(originHeader);
  return origin !== undefined && policy.origins.has(origin);
}
