import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local HTTP service listening on a free loopback port. */
export interface LoopbackService {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  /** Closes its connections (keep-alive ones included) and stops listening. */
  stop(): Promise<void>;
}

/**
 * Listens on a free port of 127.0.0.1 only (the local services are never reachable from the network) and gives the
 * endpoint and a stop that does not wait for idle keep-alive sockets to time out.
 *
 * @example
 * const dynamo = await listenOnLoopback(dynalite({ createTableMs: 0 }));
 * process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
 */
export async function listenOnLoopback(server: Server): Promise<LoopbackService> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
