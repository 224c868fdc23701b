import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApiGatewayManagementApiClient,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { createManagementClient } from '../../lambdas/core/clients';
import {
  removeStepsPostsDoNotNeed,
  resolveEndpointOnce,
  serializePostsDirectly,
  signWithCachedKey,
} from '../../lambdas/core/management-pipeline';

// The pipeline steps of management-pipeline.ts on a real loopback server, beyond what clients.test.ts covers
// through createManagementClient.

let server: Server;
let endpoint: URL;

beforeAll(async () => {
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'unit';
  process.env.AWS_SECRET_ACCESS_KEY = 'unit';
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.resume();
    request.on('end', () => {
      response.setHeader('content-type', 'application/json');
      // A body on a successful post: a client that does not read it never gets its socket back.
      response.end(request.method === 'GET' ? '{"connectedAt":"2026-11-27T12:00:00.000Z"}' : '{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const post = (connectionId: string) => new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x' });

describe('management client pipeline', () => {
  it('reads a successful post body that arrives as a stream, so a streaming handler gets its socket back', async () => {
    // GIVEN the pipeline on the SDK's NodeHttpHandler with a single socket
    const client = new ApiGatewayManagementApiClient({
      endpoint: endpoint.toString(),
      cacheMiddleware: true,
      requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 1 }) }),
    });
    resolveEndpointOnce(client, endpoint);
    serializePostsDirectly(client);
    signWithCachedKey(client);
    // WHEN three posts go one after the other THEN each gets the socket the previous one freed (an unread body
    // would hold it and the second post would never be sent)
    for (const id of ['a=', 'b=', 'c=']) {
      await expect(client.send(post(id))).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
    }
    client.destroy();
  }, 10_000);

  it("resolves the endpoint once per client, with the SDK's own rules, for every command", async () => {
    const client = createManagementClient({ endpoint, maxSockets: 2 });
    const sdkProvider = client.config.endpointProvider;
    const resolutions: unknown[] = [];
    client.config.endpointProvider = (params, context) => {
      resolutions.push(params);
      return sdkProvider(params, context);
    };
    for (const id of ['a=', 'b=', 'c=']) await client.send(post(id));
    await client.send(new GetConnectionCommand({ ConnectionId: 'a=' }));
    expect(resolutions).toEqual([
      { Endpoint: endpoint.toString(), Region: 'eu-west-1', UseFIPS: false, UseDualStack: false },
    ]);
    client.destroy();
  });

  it('keeps the steps a post needs and drops the others', () => {
    const client = new ApiGatewayManagementApiClient({ endpoint: endpoint.toString() });
    removeStepsPostsDoNotNeed(client);
    const steps = client.middlewareStack.identify().join('\n');
    for (const kept of ['serializerMiddleware', 'retryMiddleware', 'httpSigningMiddleware', 'deserializerMiddleware']) {
      expect(steps).toContain(kept);
    }
    for (const dropped of [
      'loggerMiddleware',
      'recursionDetectionMiddleware',
      'hostHeaderMiddleware',
      'contentLengthMiddleware',
    ]) {
      expect(steps).not.toContain(dropped);
    }
    client.destroy();
  });
});
