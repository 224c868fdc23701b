import type { IncomingHttpHeaders } from 'node:http';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';

/** A request as a test server received it. */
export interface ReceivedRequest {
  method: string;
  /** The request target as on the wire: path and query string, URI-encoded. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface ReferenceCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/;

/** `20261127T130500Z` -> Date. */
function parseAmzDate(value: string): Date {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) throw new Error(`x-amz-date is not in the basic ISO 8601 form: ${value}`);
  const [, year, month, day, hour, minute, second] = match;
  return new Date(`${year}-${month}-${day}T${hour}:${minute}:${second}Z`);
}

/**
 * The `authorization` header `@smithy/signature-v4` (the AWS SDK's own signer, an independent implementation)
 * computes for a received request, as a SigV4 verifier does: the canonical request is built from the method, the
 * path and query as received, the headers the request names in `SignedHeaders` (and only those), the body's
 * SHA-256, at the time of its `x-amz-date`, with the server's copy of the credentials. A request is authentic when
 * its own `authorization` header equals this one.
 *
 * @example
 * expect(received.headers.authorization).toBe(await referenceAuthorization(received, { accessKeyId, secretAccessKey }));
 */
export async function referenceAuthorization(
  request: ReceivedRequest,
  credentials: ReferenceCredentials,
): Promise<string> {
  const authorization = String(request.headers.authorization);
  const match = AUTHORIZATION.exec(authorization);
  if (!match) throw new Error(`Not a SigV4 authorization header: ${authorization}`);
  const [, accessKeyId, , region, service, signedHeaders] = match;
  if (accessKeyId !== credentials.accessKeyId) throw new Error(`Signed with an unknown access key id: ${accessKeyId}`);
  const headers: Record<string, string> = {};
  for (const name of signedHeaders.split(';')) {
    const value = request.headers[name];
    if (value === undefined) throw new Error(`Signed header ${name} was not received`);
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const [path, search = ''] = request.url.split('?');
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(search)) {
    const previous = query[key];
    query[key] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  const reference = new SignatureV4({ credentials, region, service, sha256: Sha256, applyChecksum: false });
  const signed = await reference.sign(
    new HttpRequest({
      method: request.method,
      protocol: 'http:',
      hostname: headers.host ?? 'unknown',
      path,
      query,
      headers,
      body: request.body.byteLength > 0 ? request.body : undefined,
    }),
    { signingDate: parseAmzDate(String(request.headers['x-amz-date'])) },
  );
  return String(signed.headers.authorization);
}

/** A request about to be sent, as `signRequest` (lambdas/core/sigv4.ts) takes it. */
export interface OutgoingRequest {
  method: string;
  url: URL;
  /** Headers to sign, `host` included. */
  headers: Record<string, string>;
  body: string;
}

/**
 * The `authorization` header `@smithy/signature-v4` computes for a request about to be sent, signing every header
 * given: the independent reference `signRequest` is checked against.
 *
 * @example
 * expect(signRequest(request, options).authorization).toBe(await referenceAuthorizationFor(request, options));
 */
export async function referenceAuthorizationFor(
  request: OutgoingRequest,
  options: { credentials: ReferenceCredentials; region: string; service: string; date: Date },
): Promise<string> {
  // The SDK adds x-amz-content-sha256 by default; AWS JSON services need no such header, and ours sends none.
  const signer = new SignatureV4({ ...options, sha256: Sha256, applyChecksum: false });
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of request.url.searchParams) {
    const existing = query[name];
    query[name] = existing === undefined ? value : [existing].flat().concat(value);
  }
  const signed = await signer.sign(
    new HttpRequest({
      method: request.method,
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      port: request.url.port ? Number(request.url.port) : undefined,
      path: request.url.pathname,
      query,
      headers: { ...request.headers },
      body: request.body,
    }),
    { signingDate: options.date },
  );
  return String(signed.headers.authorization);
}
