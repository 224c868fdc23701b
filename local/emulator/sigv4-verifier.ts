import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';

/** An access key pair the verifier accepts (the local stack hands the same pair to its functions). */
export interface VerifierCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface SigV4VerifierOptions {
  credentials: VerifierCredentials;
  region: string;
  /** `execute-api` for `@connections`. */
  service: string;
  /** How far the request's `X-Amz-Date` may be from the clock. AWS: 5 minutes. */
  maxSkewMs?: number;
  /** The clock, for tests of the skew rule. @default Date.now */
  now?: () => number;
}

/** Why a request is refused: AWS's 403 `ForbiddenException` with its message. */
export type VerificationResult = { ok: true } | { ok: false; message: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS accepts a signature dated at most 5 minutes from its clock, either way. */
export const MAX_SIGNATURE_SKEW_MS = 5 * 60_000;

/** AWS's messages, as execute-api answers them with `x-amzn-ErrorType: ForbiddenException`. */
export const signatureMessages = {
  missing: 'Missing Authentication Token',
  unknownKey: 'The security token included in the request is invalid.',
  mismatch:
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
} as const;

/**
 * SHA-256 (and HMAC-SHA-256 with a secret) over node:crypto, in the shape `SignatureV4` takes as `sha256`.
 *
 * @example
 * new SignatureV4({ credentials, region: 'us-east-1', service: 'execute-api', sha256: NodeSha256 });
 */
export class NodeSha256 implements Checksum {
  readonly #secret?: SourceData;
  #hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;

  constructor(secret?: SourceData) {
    this.#secret = secret;
    this.#hash = this.#fresh();
  }

  #fresh() {
    return this.#secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(this.#secret));
  }

  update(data: Uint8Array | string): void {
    this.#hash.update(toBuffer(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }

  reset(): void {
    this.#hash = this.#fresh();
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1/execute-api/aws4_request, SignedHeaders=a;b, Signature=hex` */
function parseAuthorization(value: string): ParsedAuthorization | undefined {
  if (!value.startsWith(`${ALGORITHM} `)) return undefined;
  const parts = new Map<string, string>();
  for (const part of value.slice(ALGORITHM.length + 1).split(',')) {
    const [name, ...rest] = part.trim().split('=');
    parts.set(name, rest.join('='));
  }
  const credential = parts.get('Credential')?.split('/');
  const signedHeaders = parts.get('SignedHeaders');
  const signature = parts.get('Signature');
  if (credential?.length !== 5 || credential[4] !== 'aws4_request') return undefined;
  if (!signedHeaders || !signature || !/^[0-9a-f]{64}$/.test(signature)) return undefined;
  const [accessKeyId, date, region, service] = credential;
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
}

/** `20261127T120000Z` as a Date, or undefined when it is not one. */
function parseAmzDate(value: string | undefined): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  if (!match) return undefined;
  const [, year, month, day, hours, minutes, seconds] = match.map(Number);
  return new Date(Date.UTC(year, month - 1, day, hours, minutes, seconds));
}

const formatAmzDate = (epochMs: number) =>
  new Date(epochMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');

/**
 * Verifies AWS Signature Version 4 (`Authorization` header form) on a received request the way execute-api does
 * for IAM-authorized calls such as `@connections`: the key id must be the known one, the scope must name this
 * region and service, `X-Amz-Date` must be within 5 minutes of the clock, and the signature recomputed over the
 * request as received (method, raw path, query, the signed headers, the body's SHA-256) with `@smithy/signature-v4`,
 * the SDK's own signer, must equal the one given (compared in constant time).
 *
 * @example
 * const verify = createSigV4Verifier({ credentials, region: 'us-east-1', service: 'execute-api' });
 * const result = await verify(request, body);
 * if (!result.ok) respond(403, 'ForbiddenException', result.message);
 */
export function createSigV4Verifier(
  options: SigV4VerifierOptions,
): (request: IncomingMessage, body: Buffer) => Promise<VerificationResult> {
  const { credentials, region, service } = options;
  const maxSkewMs = options.maxSkewMs ?? MAX_SIGNATURE_SKEW_MS;
  const now = options.now ?? Date.now;
  const signer = new SignatureV4({
    credentials,
    region,
    service,
    sha256: NodeSha256,
    uriEscapePath: true,
    // Only what the client listed in SignedHeaders is signed again: no header of the signer's own is added.
    applyChecksum: false,
  });
  const refuse = (message: string): VerificationResult => ({ ok: false, message });

  return async (request, body) => {
    const authorization = request.headers.authorization;
    if (!authorization) return refuse(signatureMessages.missing);
    const parsed = parseAuthorization(authorization);
    if (!parsed)
      return refuse(
        `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters (${ALGORITHM}).`,
      );
    // A session token means temporary credentials, which this stack never hands out.
    if (parsed.accessKeyId !== credentials.accessKeyId || request.headers['x-amz-security-token'] !== undefined) {
      return refuse(signatureMessages.unknownKey);
    }
    if (parsed.service !== service) return refuse(`Credential should be scoped to correct service: '${service}'.`);
    if (parsed.region !== region)
      return refuse(`Credential should be scoped to a valid region, not '${parsed.region}'.`);
    const amzDate = request.headers['x-amz-date'];
    const signedAt = parseAmzDate(typeof amzDate === 'string' ? amzDate : undefined);
    if (!signedAt || !parsed.signedHeaders.includes('x-amz-date') || !parsed.signedHeaders.includes('host')) {
      return refuse(signatureMessages.mismatch);
    }
    if (formatAmzDate(signedAt.getTime()).slice(0, 8) !== parsed.date) {
      return refuse(
        `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${parsed.date}' != '${formatAmzDate(signedAt.getTime()).slice(0, 8)}'.`,
      );
    }
    const clock = now();
    if (signedAt.getTime() < clock - maxSkewMs) {
      return refuse(
        `Signature expired: ${formatAmzDate(signedAt.getTime())} is now earlier than ${formatAmzDate(clock - maxSkewMs)} (${formatAmzDate(clock)} - 5 min.)`,
      );
    }
    if (signedAt.getTime() > clock + maxSkewMs) {
      return refuse(
        `Signature not yet current: ${formatAmzDate(signedAt.getTime())} is still later than ${formatAmzDate(clock + maxSkewMs)} (${formatAmzDate(clock)} + 5 min.)`,
      );
    }

    // Recompute over the request as it arrived: only the headers the client says it signed, the raw (still
    // percent-encoded) path the client signed, and the hash of the body actually received, so a signed header
    // carrying another body's hash does not match.
    const headers: Record<string, string> = {};
    for (const name of parsed.signedHeaders) {
      const value = request.headers[name];
      if (value === undefined) return refuse(signatureMessages.mismatch);
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    if (headers['x-amz-content-sha256'] !== undefined) {
      headers['x-amz-content-sha256'] = createHash('sha256').update(body).digest('hex');
    }
    const url = new URL(request.url ?? '/', 'http://localhost');
    const query: Record<string, string | string[]> = {};
    for (const [name, value] of url.searchParams) {
      const existing = query[name];
      query[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
    }
    const recomputed = await signer.sign(
      {
        method: request.method ?? 'GET',
        protocol: 'http:',
        hostname: headers.host,
        path: url.pathname,
        query,
        headers,
        body,
      },
      { signingDate: signedAt, signableHeaders: new Set(parsed.signedHeaders) },
    );
    const expected = /Signature=([0-9a-f]{64})/.exec(String(recomputed.headers.authorization))?.[1] ?? '';
    const matches =
      expected.length === parsed.signature.length &&
      timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(parsed.signature, 'hex'));
    return matches ? { ok: true } : refuse(signatureMessages.mismatch);
  };
}
