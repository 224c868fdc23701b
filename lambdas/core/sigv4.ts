import { createHash, createHmac, createSecretKey, hash, type KeyObject } from 'node:crypto';

/**
 * AWS Signature Version 4 (header signing, `AWS4-HMAC-SHA256`) with node:crypto only, the one signer of the product's
 * own AWS calls. Two users: the management API's posts (through the SDK client, `management-pipeline.ts`) and the
 * token verifiers' one `GetSecretValue` (`secret-source.ts`, {@link signRequest}: their 40 KB budget leaves no room
 * for the SDK's signer, middleware stack and protocol code). It leaves out on purpose: presigned URLs, chunked or
 * unsigned payloads, SigV4a, S3's single-encoded paths.
 *
 * For a broadcast's thousands of posts through one client it is tuned: the signing key is derived once per day, region, service and secret (four HMACs saved per request),
 * the payload hash is computed once per `Uint8Array` (a broadcast posts one encoded envelope to every connection),
 * and only the headers SigV4 requires are signed: `host`, `x-amz-date` and, with temporary credentials,
 * `x-amz-security-token`. Everything else the SDK sends (user agent, invocation id, content type and length) is
 * left unsigned, which SigV4 allows: the receiver checks exactly the headers named in `SignedHeaders`. A verifier
 * that re-signs a received request must therefore canonicalise those headers only, as API Gateway does
 * (`test/helpers/sigv4-reference.ts` does it with `@smithy/signature-v4`).
 *
 * The algorithm is the one of `@smithy/signature-v4` for a non-S3 service (path segments normalised and URI-encoded
 * a second time, query sorted by encoded key); `test/unit/sigv4.test.ts` checks every signature against it.
 */

/** The credentials a request is signed with (the SDK's `AwsCredentialIdentity`). */
export interface SigV4Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** The parts of an HTTP request that SigV4 covers; `headers` is written to (host, date, token, authorization). */
export interface SigV4Request {
  method: string;
  /** The path as sent on the wire (already URI-encoded once, as the SDK's serializers produce it). */
  path: string;
  query?: Record<string, string | Array<string | null> | null>;
  headers: Record<string, string>;
  body?: unknown;
  hostname: string;
  port?: number;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const EMPTY_PAYLOAD_HASH = createHash('sha256').digest('hex');

/**
 * `encodeURIComponent` plus the characters RFC 3986 reserves that it leaves alone, as SigV4 wants.
 *
 * @example
 * escapeUri("it's (x)"); // "it%27s%20%28x%29"
 */
export function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The canonical URI of a non-S3 request: empty and `.` segments dropped, `..` resolved, then every segment
 * URI-encoded again (so `%3D` on the wire is `%253D` here).
 *
 * @example
 * canonicalPath('/prod/@connections/abc%3D'); // '/prod/%40connections/abc%253D'
 */
export function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${
    segments.length > 0 && path.endsWith('/') ? '/' : ''
  }`;
  return escapeUri(normalized).replace(/%2F/g, '/');
}

function canonicalQuery(query: SigV4Request['query']): string {
  if (query === undefined) return '';
  const serialized = new Map<string, string>();
  for (const key of Object.keys(query)) {
    const value = query[key];
    if (key.toLowerCase() === 'x-amz-signature') continue;
    const encodedKey = escapeUri(key);
    if (typeof value === 'string') serialized.set(encodedKey, `${encodedKey}=${escapeUri(value)}`);
    else if (Array.isArray(value)) {
      const pairs = value.map((item) => `${encodedKey}=${escapeUri(String(item))}`);
      serialized.set(encodedKey, pairs.sort().join('&'));
    }
  }
  return [...serialized.keys()]
    .sort()
    .map((key) => serialized.get(key))
    .filter((pair) => pair)
    .join('&');
}

/** What a request is signed for, and when. */
export interface SigV4Scope {
  credentials: SigV4Credentials;
  region: string;
  /** The signing name: `execute-api` for the management API. */
  service: string;
  /** The signing time (the SDK's clock-skew-corrected time). */
  date: Date;
}

/**
 * The signing key of a scope (`date/region/service/aws4_request`): four HMACs, so both signers keep the last one.
 *
 * @example
 * deriveSigningKey('wJalr…', '20261127/eu-west-1/execute-api/aws4_request'); // a 32-byte Buffer
 */
export function deriveSigningKey(secretAccessKey: string, scope: string): Buffer {
  const [dateStamp, ...rest] = scope.split('/');
  let key = createHmac('sha256', `AWS4${secretAccessKey}`).update(dateStamp).digest();
  for (const part of rest) key = createHmac('sha256', key).update(part).digest();
  return key;
}

/** The parts of a signature that differ between the two signers; the rest of the algorithm is here once. */
interface Canonical {
  method: string;
  /** `canonicalPath(...)` and the canonical query string. */
  path: string;
  query: string;
  /** The `name:value\n` lines of the signed headers, sorted, and their names joined by `;`. */
  headerLines: string;
  signedHeaders: string;
  payloadHash: string;
  amzDate: string;
  scope: string;
}

/**
 * The `authorization` header value for a canonical request, signed with the scope's key. The canonical request's
 * hash is one-shot (`crypto.hash`, no Hash object: about half the time of `createHash().update().digest()`); a key
 * given as a `KeyObject` spares `createHmac` importing the raw key on every request.
 */
function authorizationFor(canonical: Canonical, accessKeyId: string, key: Buffer | KeyObject): string {
  const { method, path, query, headerLines, signedHeaders, payloadHash, amzDate, scope } = canonical;
  const canonicalRequest = `${method}\n${path}\n${query}\n${headerLines}\n${signedHeaders}\n${payloadHash}`;
  const stringToSign = `${ALGORITHM}\n${amzDate}\n${scope}\n${hash('sha256', canonicalRequest)}`;
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  return `${ALGORITHM} Credential=${accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

/**
 * Signs requests, keeping what does not change between them: the signing key for the day (per region, service and
 * secret), the payload hash per body array, the `x-amz-date` string per second.
 *
 * A `Uint8Array` body must not be changed after it is first signed: its hash is kept per array.
 *
 * @example
 * const signer = new SigV4Signer();
 * signer.sign(request, { credentials, region: 'eu-west-1', service: 'execute-api', date: new Date() });
 * // request.headers now hold host, x-amz-date and authorization
 */
export class SigV4Signer {
  private readonly payloadHashes = new WeakMap<Uint8Array, string>();
  private signingKey?: { scope: string; secretAccessKey: string; key: KeyObject };
  private amzDate = { second: Number.NaN, value: '' };

  /** Sets `host` (unless present), `x-amz-date`, `x-amz-security-token` (or removes it) and `authorization`. */
  sign(request: SigV4Request, { credentials, region, service, date }: SigV4Scope): void {
    const headers = request.headers;
    const amzDate = this.formatDate(date);
    const host =
      headers.host ?? (request.port === undefined ? request.hostname : `${request.hostname}:${request.port}`);
    headers.host = host;
    headers['x-amz-date'] = amzDate;
    let headerLines = `host:${host.trim()}\nx-amz-date:${amzDate}\n`;
    let signedHeaders = 'host;x-amz-date';
    if (credentials.sessionToken) {
      headers['x-amz-security-token'] = credentials.sessionToken;
      headerLines += `x-amz-security-token:${credentials.sessionToken.trim()}\n`;
      signedHeaders += ';x-amz-security-token';
    } else {
      delete headers['x-amz-security-token'];
    }
    const scope = `${amzDate.slice(0, 8)}/${region}/${service}/aws4_request`;
    headers.authorization = authorizationFor(
      {
        method: request.method,
        path: canonicalPath(request.path),
        query: canonicalQuery(request.query),
        headerLines,
        signedHeaders,
        payloadHash: this.payloadHash(request.body),
        amzDate,
        scope,
      },
      credentials.accessKeyId,
      this.keyFor(scope, credentials.secretAccessKey),
    );
  }

  /** `YYYYMMDDTHHMMSSZ`, formatted once per second (a broadcast signs hundreds of requests in each). */
  private formatDate(date: Date): string {
    const second = Math.floor(date.getTime() / 1000);
    if (second !== this.amzDate.second) this.amzDate = { second, value: amzDateOf(date) };
    return this.amzDate.value;
  }

  /** Derived again only when the day, region, service or secret (credentials rotated) changes. */
  private keyFor(scope: string, secretAccessKey: string): KeyObject {
    const cached = this.signingKey;
    if (cached !== undefined && cached.scope === scope && cached.secretAccessKey === secretAccessKey) return cached.key;
    const key = createSecretKey(deriveSigningKey(secretAccessKey, scope));
    this.signingKey = { scope, secretAccessKey, key };
    return key;
  }

  private payloadHash(body: unknown): string {
    if (body === undefined || body === null) return EMPTY_PAYLOAD_HASH;
    if (body instanceof Uint8Array) {
      let digest = this.payloadHashes.get(body);
      if (digest === undefined) {
        digest = hash('sha256', body);
        this.payloadHashes.set(body, digest);
      }
      return digest;
    }
    if (typeof body === 'string') return body.length === 0 ? EMPTY_PAYLOAD_HASH : hash('sha256', body);
    throw new TypeError('SigV4Signer signs bodies given as a Uint8Array or a string, not streams');
  }
}

/** `YYYYMMDDTHHMMSSZ`, the basic ISO 8601 form of `x-amz-date`. */
function amzDateOf(date: Date): string {
  return date.toISOString().replace(/[-:]|\.\d{3}/g, '');
}

/** A request to sign with {@link signRequest}. */
export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  /** Headers to send and sign; `host` is taken from the URL. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface SigningOptions {
  readonly credentials: SigV4Credentials;
  readonly region: string;
  /** The signing name of the service, e.g. `secretsmanager`, `execute-api`. */
  readonly service: string;
  /** Signing time; defaults to now. */
  readonly date?: Date;
}

/** Headers a proxy or the HTTP client may change on the way: signing them would break the signature. */
const unsignedHeaders = new Set(['authorization', 'user-agent', 'connection', 'expect', 'x-amzn-trace-id']);

// signRequest's last signing key: a verifier asks for its secret every few minutes, with the same scope all day.
let lastKey: { scope: string; secretAccessKey: string; key: Buffer } | undefined;

/**
 * Signs one request for `fetch` and returns the headers to send with it: the given ones, every one signed, plus
 * `x-amz-date`, `x-amz-security-token` (with temporary credentials) and `authorization`. `host` is signed but not
 * returned (the HTTP client sets it from the URL). It does not use {@link SigV4Signer}, so a bundle that only
 * signs this way (the token verifiers: a 40 KB budget) leaves the class out.
 *
 * @example
 * const url = new URL('https://secretsmanager.eu-central-2.amazonaws.com/');
 * const body = JSON.stringify({ SecretId: secretArn });
 * const headers = signRequest(
 *   { method: 'POST', url, body, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' } },
 *   { credentials: { accessKeyId, secretAccessKey, sessionToken }, region: 'eu-central-2', service: 'secretsmanager' },
 * );
 * await fetch(url, { method: 'POST', headers, body });
 */
export function signRequest(request: SignableRequest, options: SigningOptions): Record<string, string> {
  const { credentials, region, service } = options;
  const amzDate = amzDateOf(options.date ?? new Date());
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  headers['x-amz-date'] = amzDate;
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
  const signed: Record<string, string> = { ...headers, host: request.url.host };
  const names = Object.keys(signed)
    .filter((name) => !unsignedHeaders.has(name))
    .sort();
  const query: Record<string, string[]> = {};
  for (const [name, value] of request.url.searchParams) {
    query[name] ??= [];
    query[name].push(value);
  }
  const scope = `${amzDate.slice(0, 8)}/${region}/${service}/aws4_request`;
  if (lastKey?.scope !== scope || lastKey.secretAccessKey !== credentials.secretAccessKey) {
    lastKey = {
      scope,
      secretAccessKey: credentials.secretAccessKey,
      key: deriveSigningKey(credentials.secretAccessKey, scope),
    };
  }
  headers.authorization = authorizationFor(
    {
      method: request.method.toUpperCase(),
      path: canonicalPath(request.url.pathname),
      query: canonicalQuery(query),
      // Values trimmed, inner runs of spaces collapsed: the specification's Trimall.
      headerLines: names
        .map(
          (name) =>
            `${name}:${signed[name]
              .replace(/[\r\n]/g, ' ')
              .replace(/[ \t]+/g, ' ')
              .trim()}\n`,
        )
        .join(''),
      signedHeaders: names.join(';'),
      payloadHash:
        request.body.length === 0 ? EMPTY_PAYLOAD_HASH : createHash('sha256').update(request.body).digest('hex'),
      amzDate,
      scope,
    },
    credentials.accessKeyId,
    lastKey.key,
  );
  return headers;
}
