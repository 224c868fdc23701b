import { createHash, createHmac } from 'node:crypto';

/**
 * AWS Signature Version 4 (header signing, `AWS4-HMAC-SHA256`) with node:crypto only, for the few AWS calls made
 * where the SDK does not fit: the token verifiers' 40 KB budget leaves no room for the SDK's signer, middleware
 * stack and protocol code (183 KB for one Secrets Manager call, see lambdas/core/secret-source.ts).
 *
 * It follows the specification in the IAM user guide ("Create a signed AWS API request"): canonical request,
 * string to sign, signing key derived from the secret key, date, region and service. What it leaves out on
 * purpose: presigned URLs, chunked or unsigned payloads, SigV4a, S3's single-encoded paths.
 * `test/unit/sigv4.test.ts` checks every signature against `@smithy/signature-v4`, the SDK's own signer.
 */

/** Credentials as Lambda puts the execution role's in the environment. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Temporary credentials (every Lambda role's) carry one; it is sent and signed as `x-amz-security-token`. */
  readonly sessionToken?: string;
}

export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  /** Headers to send and sign; `host` is taken from the URL. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface SigningOptions {
  readonly credentials: AwsCredentials;
  readonly region: string;
  /** The signing name of the service, e.g. `secretsmanager`, `execute-api`. */
  readonly service: string;
  /** Signing time; defaults to now. */
  readonly date?: Date;
}

/** Headers a proxy or the HTTP client may change on the way: signing them would break the signature. */
const unsignedHeaders = new Set(['authorization', 'user-agent', 'connection', 'expect', 'x-amzn-trace-id']);

// The signing key changes once a day per secret key, region and service; deriving it costs four HMACs.
let cachedKey: { id: string; key: Buffer } | undefined;

function signingKey(secretAccessKey: string, day: string, region: string, service: string): Buffer {
  const id = `${secretAccessKey}/${day}/${region}/${service}`;
  if (cachedKey?.id !== id) {
    let key: Buffer | string = `AWS4${secretAccessKey}`;
    for (const part of [day, region, service, 'aws4_request']) key = hmac(key, part);
    cachedKey = { id, key: key as Buffer };
  }
  return cachedKey.key;
}

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const sha256Hex = (data: string): string => createHash('sha256').update(data).digest('hex');

/** RFC 3986 encoding: `encodeURIComponent` leaves `!'()*` alone, SigV4 wants them encoded. */
const uriEncode = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The path, normalised and encoded once more (every service but S3 signs the already-encoded path re-encoded). */
function canonicalPath(pathname: string): string {
  const segments: string[] = [];
  for (const segment of pathname.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const trailing = segments.length > 0 && pathname.endsWith('/') ? '/' : '';
  return uriEncode(`/${segments.join('/')}${trailing}`).replace(/%2F/g, '/');
}

/** Parameters sorted by encoded name, then by encoded value (sorting `name=value` strings would put `a-b` before `a`). */
function canonicalQuery(url: URL): string {
  return [...url.searchParams]
    .map(([name, value]) => [uriEncode(name), uriEncode(value)])
    .sort(([nameA, valueA], [nameB, valueB]) => (nameA === nameB ? compare(valueA, valueB) : compare(nameA, nameB)))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Signs a request and returns the headers to send with it: the given ones plus `x-amz-date`,
 * `x-amz-security-token` (with temporary credentials) and `authorization`. `host` is signed but not returned
 * (the HTTP client sets it from the URL).
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
  const amzDate = (options.date ?? new Date()).toISOString().replace(/[-:]|\.\d{3}/g, '');
  const day = amzDate.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  headers['x-amz-date'] = amzDate;
  if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;

  const signed: Record<string, string> = { ...headers, host: request.url.host };
  const names = Object.keys(signed)
    .filter((name) => !unsignedHeaders.has(name))
    .sort();
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath(request.url.pathname),
    canonicalQuery(request.url),
    // Values trimmed, inner runs of spaces collapsed, as the specification's Trimall.
    ...names.map(
      (name) =>
        `${name}:${signed[name]
          .replace(/[\r\n]/g, ' ')
          .replace(/[ \t]+/g, ' ')
          .trim()}`,
    ),
    '',
    signedHeaders,
    sha256Hex(request.body),
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const signature = createHmac('sha256', signingKey(credentials.secretAccessKey, day, region, service))
    .update(stringToSign)
    .digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}
