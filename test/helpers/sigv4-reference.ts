import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { SourceData } from '@smithy/types';

/** The SHA-256 interface `@smithy/signature-v4` takes (what `@aws-crypto/sha256-js` provides in the SDK). */
class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string' || data instanceof Uint8Array) return data;
  return ArrayBuffer.isView(data)
    ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    : new Uint8Array(data);
}

export interface ReferenceRequest {
  method: string;
  url: URL;
  /** Headers to sign, `host` included. */
  headers: Record<string, string>;
  body: string;
}

/**
 * The `Authorization` header the AWS SDK's own signer (`@smithy/signature-v4`) computes for a request: the
 * independent reference our node:crypto signer (lambdas/core/sigv4.ts) is checked against.
 */
export async function referenceAuthorization(
  request: ReferenceRequest,
  options: {
    credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
    region: string;
    service: string;
    date: Date;
  },
): Promise<string> {
  const signer = new SignatureV4({
    credentials: options.credentials,
    region: options.region,
    service: options.service,
    sha256: Sha256,
    // The SDK adds x-amz-content-sha256 by default; AWS JSON services need no such header, and ours sends none.
    applyChecksum: false,
  });
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of request.url.searchParams) {
    const existing = query[name];
    query[name] = existing === undefined ? value : [existing].flat().concat(value);
  }
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      port: request.url.port ? Number(request.url.port) : undefined,
      path: request.url.pathname,
      query,
      headers: { ...request.headers },
      body: request.body,
    },
    { signingDate: options.date },
  );
  return signed.headers.authorization;
}
