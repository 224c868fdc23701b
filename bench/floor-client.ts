/**
 * The raw floor of a post, for `bench/broadcast-core.ts` only: a SigV4-signed keep-alive POST on an undici pool and
 * nothing else (no SDK: no middleware, no retries, no clock-skew correction, no modelled errors beyond the 410 the
 * delivery core needs). The signer is the one the tuned SDK client uses (`lambdas/core/sigv4.ts`: signing key cached
 * per day, payload hash per body array), so the gap between the tuned client and this floor is what the SDK's
 * pipeline costs.
 *
 * It answers `send(new PostToConnectionCommand(...))` like the SDK client, so the same delivery core runs on it.
 */
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { Pool } from 'undici';
import { MANAGEMENT_SOCKETS_PER_POST } from '../lambdas/core/clients';
import { type SigV4Credentials, SigV4Signer } from '../lambdas/core/sigv4';

export interface FloorClientOptions {
  endpoint: URL;
  /** Posts in flight; the pool may open as many sockets per post as the tuned client's (same undici resting rules). */
  connections: number;
  region: string;
  credentials: SigV4Credentials;
}

/** A post's outcome as the delivery core reads SDK errors: `name` and `$metadata.httpStatusCode`. */
function errorFor(statusCode: number, errorType: string | undefined): Error {
  return Object.assign(new Error(`@connections answered ${statusCode}`), {
    name: errorType?.split(':')[0] ?? `Http${statusCode}`,
    $metadata: { httpStatusCode: statusCode },
  });
}

/**
 * Builds the floor client.
 *
 * @example
 * const client = createFloorClient({ endpoint, connections: 200, region: 'eu-west-1', credentials });
 * await broadcast({ registry, managementClient: client, concurrency: 200, timeMarginMs: 3000 }, { envelope });
 */
export function createFloorClient(options: FloorClientOptions): ApiGatewayManagementApiClient & {
  destroy(): void;
} {
  const pool = new Pool(options.endpoint.origin, {
    connections: options.connections * MANAGEMENT_SOCKETS_PER_POST,
    pipelining: 1,
  });
  const signer = new SigV4Signer();
  const basePath = options.endpoint.pathname.replace(/\/$/, '');
  const post = (connectionId: string, body: Uint8Array | string): Promise<void> => {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    const path = `${basePath}/@connections/${encodeURIComponent(connectionId)}`;
    signer.sign(
      {
        method: 'POST',
        path,
        headers,
        body,
        hostname: options.endpoint.hostname,
        port: Number(options.endpoint.port) || undefined,
      },
      { credentials: options.credentials, region: options.region, service: 'execute-api', date: new Date() },
    );
    return new Promise((resolve, reject) => {
      let statusCode = 0;
      let errorType: string | undefined;
      pool.dispatch(
        { method: 'POST', path, headers, body },
        {
          // undici takes a handler with onRequestStart for its current handler interface (else the legacy one).
          onRequestStart() {},
          onResponseStart(_controller, status, responseHeaders) {
            statusCode = status;
            errorType = responseHeaders['x-amzn-errortype'] as string | undefined;
          },
          onResponseData() {},
          onResponseEnd() {
            if (statusCode < 300) resolve();
            else reject(errorFor(statusCode, errorType));
          },
          onResponseError(_controller, error) {
            reject(error);
          },
        },
      );
    });
  };
  const client = {
    send(command: { input: { ConnectionId?: string; Data?: Uint8Array | string } }): Promise<object> {
      const { ConnectionId, Data } = command.input;
      if (command.constructor.name !== 'PostToConnectionCommand' || ConnectionId === undefined || Data === undefined) {
        return Promise.reject(new Error('The floor client only posts to connections'));
      }
      return post(ConnectionId, Data).then(() => ({ $metadata: { httpStatusCode: 200 } }));
    },
    destroy(): void {
      pool.destroy().catch(() => undefined);
    },
  };
  return client as unknown as ApiGatewayManagementApiClient & { destroy(): void };
}
