import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { SignatureV4 } from '@smithy/signature-v4';
import type WebSocket from 'ws';
import { NodeSha256, signatureMessages } from '../../local/emulator/sigv4-verifier';
import type { WebSocketRouteTarget } from '../../local/emulator/websocket-api';
import {
  closed,
  eventually,
  nextFrame,
  openClient,
  type RunningWebSocketApi,
  recording,
  startWebSocketApi,
  testCredentials,
} from './harness';

/** The real management client, as the handlers build it, pointed at the emulator and signing with `credentials`. */
const managementClient = (endpoint: string, credentials = testCredentials) =>
  new ApiGatewayManagementApiClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });

/** A well-formed id (11 bytes in base64, with `+` and `/`) that names no connection. */
const unknownId = 'bm90K2Evc2Vlbj8=';

/**
 * Signs a request to `url` with `@smithy/signature-v4` (the SDK's own signer) as `signingDate`, for the cases the
 * SDK client cannot produce (an old date, a body swapped after signing); returns what `fetch` takes.
 */
async function signedRequest(
  url: string,
  init: { method: string; body?: string; signingDate?: Date; credentials?: typeof testCredentials },
): Promise<RequestInit> {
  const target = new URL(url);
  const signer = new SignatureV4({
    credentials: init.credentials ?? testCredentials,
    region: 'us-east-1',
    service: 'execute-api',
    sha256: NodeSha256,
  });
  const signed = await signer.sign(
    {
      method: init.method,
      protocol: target.protocol,
      hostname: target.hostname,
      port: Number(target.port),
      path: target.pathname,
      query: {},
      headers: { host: target.host },
      body: init.body,
    },
    { signingDate: init.signingDate ?? new Date() },
  );
  const { host: _host, ...headers } = signed.headers;
  return { method: init.method, headers, body: init.body };
}

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
    ['POST', () => new PostToConnectionCommand({ ConnectionId: unknownId, Data: '{}' })],
    ['GET', () => new GetConnectionCommand({ ConnectionId: unknownId })],
    ['DELETE', () => new DeleteConnectionCommand({ ConnectionId: unknownId })],
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
    const url = `${api.callbackUrl}/@connections/${encodeURIComponent(unknownId)}`;
    const response = await fetch(url, await signedRequest(url, { method: 'POST', body: '{}' }));

    expect(response.status).toBe(410);
    expect(response.headers.get('x-amzn-errortype')).toBe('GoneException');
    expect(await response.json()).toEqual({ message: expect.any(String) });
  });

  // A connection id is 11 bytes in base64 (`R1kmxc2VNjMCFIA=`, `TWegAcC4EowCHnA=`: aws/aws-lambda-go
  // events/testdata/apigw-websocket-request-disconnect.json and apigw-websocket-request.json). Anything else cannot
  // name a connection, and AWS answers it 400 BadRequestException ("Invalid connectionId"), not 410.
  it.each(['user123', 'bm90LWEtY29ubg=', 'a+b/c=', `${'A'.repeat(15)}==`])(
    'answers 400 BadRequestException for the malformed id %s, not 410',
    async (malformed) => {
      const client = managementClient(api.callbackUrl);

      const failure = client.send(new PostToConnectionCommand({ ConnectionId: malformed, Data: '{}' }));

      await expect(failure).rejects.toMatchObject({
        name: 'BadRequestException',
        $metadata: { httpStatusCode: 400 },
        message: `Invalid connectionId: ${malformed}`,
      });
    },
  );

  describe('SigV4 (execute-api), as IAM authorization checks it on AWS', () => {
    const connectionUrl = () => `${api.callbackUrl}/@connections/${encodeURIComponent(connectionId)}`;

    /** The request was refused with AWS's 403 and nothing reached the socket: the next frame is a signed probe. */
    async function expectRefused(response: Response, message: string | RegExp): Promise<void> {
      expect(response.status).toBe(403);
      expect(response.headers.get('x-amzn-errortype')).toBe('ForbiddenException');
      expect(await response.json()).toEqual({
        message: typeof message === 'string' ? message : expect.stringMatching(message),
      });
      const frame = nextFrame(socket);
      await managementClient(api.callbackUrl).send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{"probe":true}' }),
      );
      expect(await frame).toEqual({ probe: true });
    }

    it('refuses an unsigned POST with 403 ForbiddenException "Missing Authentication Token"', async () => {
      const response = await fetch(connectionUrl(), { method: 'POST', body: '{"from":"forged"}' });

      await expectRefused(response, signatureMessages.missing);
    });

    it('refuses an unsigned DELETE, and the connection stays open', async () => {
      const response = await fetch(connectionUrl(), { method: 'DELETE' });

      await expectRefused(response, signatureMessages.missing);
      expect(api.emulator.pool.size).toBe(1);
    });

    it('refuses a garbage Authorization header', async () => {
      const response = await fetch(connectionUrl(), {
        method: 'POST',
        headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x, SignedHeaders=host, Signature=abc' },
        body: '{"from":"forged"}',
      });

      await expectRefused(response, /Authorization header requires/);
    });

    it('refuses a well-formed signature with a garbage value', async () => {
      const init = await signedRequest(connectionUrl(), { method: 'POST', body: '{"from":"forged"}' });
      const headers = init.headers as Record<string, string>;
      headers.authorization = headers.authorization.replace(/Signature=[0-9a-f]{64}/, `Signature=${'0'.repeat(64)}`);

      await expectRefused(await fetch(connectionUrl(), init), signatureMessages.mismatch);
    });

    it('refuses the real client signing with the right key id and a wrong secret', async () => {
      const client = managementClient(api.callbackUrl, { ...testCredentials, secretAccessKey: 'guessed' });

      const failure = client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{"from":"x"}' }));

      await expect(failure).rejects.toMatchObject({
        name: 'ForbiddenException',
        $metadata: { httpStatusCode: 403 },
        message: signatureMessages.mismatch,
      });
    });

    it('refuses the real client signing with another key id', async () => {
      const client = managementClient(api.callbackUrl, { accessKeyId: 'AKIAOTHERKEY00000000', secretAccessKey: 'x' });

      const failure = client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));

      await expect(failure).rejects.toMatchObject({
        name: 'ForbiddenException',
        message: signatureMessages.unknownKey,
      });
      expect(api.emulator.pool.size).toBe(1);
    });

    it('refuses a body other than the one signed', async () => {
      const init = await signedRequest(connectionUrl(), { method: 'POST', body: '{"from":"signed"}' });

      await expectRefused(
        await fetch(connectionUrl(), { ...init, body: '{"from":"forged"}' }),
        signatureMessages.mismatch,
      );
    });

    it('refuses a signature dated more than 5 minutes ago, and accepts one 4 minutes old', async () => {
      const stale = await signedRequest(connectionUrl(), {
        method: 'POST',
        body: '{"n":1}',
        signingDate: new Date(Date.now() - 6 * 60_000),
      });
      await expectRefused(await fetch(connectionUrl(), stale), /^Signature expired: \d{8}T\d{6}Z is now earlier than/);

      const recent = await signedRequest(connectionUrl(), {
        method: 'POST',
        body: '{"n":2}',
        signingDate: new Date(Date.now() - 4 * 60_000),
      });
      const frame = nextFrame(socket);
      expect((await fetch(connectionUrl(), recent)).status).toBe(200);
      expect(await frame).toEqual({ n: 2 });
    });

    it('refuses a signature dated more than 5 minutes ahead', async () => {
      const future = await signedRequest(connectionUrl(), {
        method: 'POST',
        body: '{"n":1}',
        signingDate: new Date(Date.now() + 6 * 60_000),
      });

      await expectRefused(await fetch(connectionUrl(), future), /^Signature not yet current/);
    });

    it('accepts a correctly signed request made without the SDK client (the signer alone, over fetch)', async () => {
      const frame = nextFrame(socket);

      const response = await fetch(
        connectionUrl(),
        await signedRequest(connectionUrl(), { method: 'POST', body: '{"ok":1}' }),
      );

      expect(response.status).toBe(200);
      expect(await frame).toEqual({ ok: 1 });
    });
  });
});
