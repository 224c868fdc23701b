import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type WebSocket from 'ws';
import type { WebSocketRouteTarget } from '../../local/emulator/websocket-api';
import {
  closed,
  eventually,
  nextFrame,
  openClient,
  type RunningWebSocketApi,
  recording,
  startWebSocketApi,
} from './harness';

/** The real management client, as the handlers build it, pointed at the emulator. */
const managementClient = (endpoint: string) =>
  new ApiGatewayManagementApiClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });

describe('@connections API with the real ApiGatewayManagementApiClient', () => {
  let api: RunningWebSocketApi;
  let socket: WebSocket;
  let connectionId: string;
  const disconnect = recording('disconnect', () => ({ statusCode: 200 }));
  const quiet = recording('quiet', () => ({ statusCode: 200 }));

  beforeEach(async () => {
    disconnect.events.length = 0;
    const connect = recording('connect', () => ({ statusCode: 200 }));
    api = await startWebSocketApi({
      routes: new Map<string, WebSocketRouteTarget>([
        ['$connect', { invoker: connect.invoker, returnResponse: false }],
        ['$disconnect', { invoker: disconnect.invoker, returnResponse: false }],
        ['$default', { invoker: quiet.invoker, returnResponse: false }],
      ]),
    });
    socket = await openClient(api.url, { headers: { 'User-Agent': 'jest-client' } });
    connectionId = connect.events[0].requestContext.connectionId;
  });

  afterEach(async () => {
    socket.terminate();
    await api.close();
  });

  it('POST delivers the body as one frame', async () => {
    const client = managementClient(api.callbackUrl);
    const frame = nextFrame(socket);

    await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{"type":"chat","data":1}' }));

    expect(await frame).toEqual({ type: 'chat', data: 1 });
  });

  it('accepts the stage path prefix the SDK sends when the callback URL has one', async () => {
    const client = managementClient(`${api.callbackUrl}/prod`);
    const frame = nextFrame(socket);

    await client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{"n":2}' }));

    expect(await frame).toEqual({ n: 2 });
  });

  it('GET describes the connection: ConnectedAt, LastActiveAt and Identity', async () => {
    const client = managementClient(api.callbackUrl);
    const before = Date.now();
    socket.send('hello');
    await eventually(() => quiet.events.length > 0);

    const answer = await client.send(new GetConnectionCommand({ ConnectionId: connectionId }));

    expect(answer.ConnectedAt).toBeInstanceOf(Date);
    expect(answer.ConnectedAt!.getTime()).toBeLessThanOrEqual(before);
    expect(answer.LastActiveAt!.getTime()).toBeGreaterThanOrEqual(answer.ConnectedAt!.getTime());
    expect(answer.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: 'jest-client' });
  });

  it('DELETE closes the connection, which runs $disconnect', async () => {
    const client = managementClient(api.callbackUrl);
    const code = closed(socket);

    await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));

    expect(await code).toBe(1000);
    await eventually(() => disconnect.events.length === 1);
    expect(disconnect.events[0].requestContext).toMatchObject({
      connectionId,
      disconnectStatusCode: 1000,
      disconnectReason: 'Connection Closed Normally',
    });
  });

  it.each([
    ['POST', () => new PostToConnectionCommand({ ConnectionId: 'bm90LWEtY29ubg=', Data: '{}' })],
    ['GET', () => new GetConnectionCommand({ ConnectionId: 'bm90LWEtY29ubg=' })],
    ['DELETE', () => new DeleteConnectionCommand({ ConnectionId: 'bm90LWEtY29ubg=' })],
  ])('%s on an unknown id throws GoneException with status 410', async (_method, command) => {
    const client = managementClient(api.callbackUrl);

    const failure = client.send(command() as PostToConnectionCommand);

    await expect(failure).rejects.toBeInstanceOf(GoneException);
    await expect(failure).rejects.toMatchObject({ name: 'GoneException', $metadata: { httpStatusCode: 410 } });
  });

  it('answers 410 for a connection that has closed', async () => {
    const client = managementClient(api.callbackUrl);
    socket.close();
    await eventually(() => api.emulator.pool.size === 0);

    await expect(
      client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{}' })),
    ).rejects.toBeInstanceOf(GoneException);
  });

  it('refuses a message over 128 KB with PayloadTooLargeException', async () => {
    const client = managementClient(api.callbackUrl);

    await expect(
      client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: 'x'.repeat(128 * 1024 + 1) })),
    ).rejects.toBeInstanceOf(PayloadTooLargeException);
  });

  it('sends the raw 410 answer API Gateway sends: the x-amzn-ErrorType header and a JSON body', async () => {
    const response = await fetch(`${api.callbackUrl}/@connections/${encodeURIComponent('a+b/c=')}`, {
      method: 'POST',
      body: '{}',
    });

    expect(response.status).toBe(410);
    expect(response.headers.get('x-amzn-errortype')).toBe('GoneException');
    expect(await response.json()).toEqual({ message: expect.any(String) });
  });
});
