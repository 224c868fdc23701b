import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  DeleteConnectionCommand,
  GetConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import {
  createManagementClient,
  DEFAULT_SEND_CONCURRENCY,
  formatUserAgentSection,
  getDocumentClient,
  getManagementClient,
  MANAGEMENT_SOCKETS_PER_POST,
  readManagementClientConfig,
  readSendConcurrency,
} from '../../lambdas/core/clients';
import { ConfigurationError } from '../../lambdas/core/errors';
import { type ReferenceCredentials, referenceAuthorization } from '../helpers/sigv4-reference';

// A loopback stand-in for the `@connections` endpoint: records each post's socket and answers with whatever
// the test queued (default 200).
let server: Server;
let endpoint: URL;
const sockets: Socket[] = [];
const paths: string[] = [];
const requests: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: Buffer }> = [];
/**
 * Queued answers; `hang` never answers (the socket stays open until the client gives up), `destroy` closes the
 * socket without an answer, `body` and `headers` are sent as given.
 */
let answers: {
  status: number;
  errorType?: string;
  hang?: boolean;
  destroy?: boolean;
  body?: string;
  headers?: Record<string, string>;
}[] = [];

beforeAll(async () => {
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'unit';
  process.env.AWS_SECRET_ACCESS_KEY = 'unit';
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    sockets.push(request.socket);
    paths.push(`${request.method} ${request.url}`);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({
        method: request.method ?? '',
        url: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks),
      });
      const answer = answers.shift() ?? { status: 200 };
      if (answer.hang) return;
      if (answer.destroy) {
        request.socket.destroy();
        return;
      }
      response.statusCode = answer.status;
      if (answer.errorType) response.setHeader('x-amzn-ErrorType', answer.errorType);
      response.setHeader('content-type', 'application/json');
      for (const [name, value] of Object.entries(answer.headers ?? {})) response.setHeader(name, value);
      response.end(answer.body ?? (answer.status === 200 ? '' : JSON.stringify({ message: answer.errorType })));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  sockets.length = 0;
  paths.length = 0;
  requests.length = 0;
  answers = [];
});

const post = (connectionId: string) =>
  new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{"type":"x"}' });

const unitCredentials: ReferenceCredentials = { accessKeyId: 'unit', secretAccessKey: 'unit' };

/** Each received request's authorization header against the one @smithy/signature-v4 computes for it. */
async function expectAuthentic(received: typeof requests, credentials = unitCredentials): Promise<void> {
  for (const request of received) {
    expect(request.headers.authorization).toBe(await referenceAuthorization(request, credentials));
  }
}

describe('management client', () => {
  it('posts to the configured endpoint, under its stage path', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    await client.send(post('abc='));
    expect(paths).toEqual(['POST /prod/@connections/abc%3D']);
    client.destroy();
  });

  it("keeps connections alive: sequential posts reuse the pool's sockets", async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    for (const id of ['a=', 'b=', 'c=', 'd=', 'e=', 'f=']) await client.send(post(id));
    expect(sockets).toHaveLength(6);
    // undici lets a socket rest one event-loop turn before reusing it (pipelining 1), so a post sent the moment the
    // previous one is answered may open a second socket; after that the two alternate. Without keep-alive: 6.
    expect(new Set(sockets).size).toBeLessThanOrEqual(2);
    client.destroy();
  });

  it('bounds open sockets at MANAGEMENT_SOCKETS_PER_POST × maxSockets under concurrent posts', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 2 });
    const ids = Array.from({ length: 12 }, (_, index) => `p${index}=`);
    await Promise.all(ids.map((id) => client.send(post(id))));
    expect(sockets).toHaveLength(12);
    expect(new Set(sockets).size).toBe(2 * MANAGEMENT_SOCKETS_PER_POST);
    client.destroy();
  });

  it('sends a post started the moment the previous one is answered on a rested spare socket, not the one just freed', async () => {
    // undici lets the freed socket rest until the check phase and then validates it for one more: with no spare,
    // each such post would wait two event-loop turns in the pool's queue (MANAGEMENT_SOCKETS_PER_POST's comment).
    const client = createManagementClient({ endpoint, maxSockets: 1 });
    for (const id of ['a=', 'b=', 'c=', 'd=']) await client.send(post(id));
    expect(sockets).toHaveLength(4);
    expect(new Set(sockets).size).toBe(2);
    expect(sockets[2]).toBe(sockets[0]);
    client.destroy();
  });

  it('retries throttling itself, up to 3 attempts (standard retry mode)', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    answers = [
      { status: 429, errorType: 'LimitExceededException' },
      { status: 429, errorType: 'LimitExceededException' },
    ];
    await client.send(post('busy='));
    expect(paths).toHaveLength(3);
    answers = [1, 2, 3].map(() => ({ status: 429, errorType: 'LimitExceededException' }));
    await expect(client.send(post('busy='))).rejects.toMatchObject({ name: 'LimitExceededException' });
    client.destroy();
  });

  it('does not retry a gone connection: 410 surfaces at once as GoneException', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    answers = [{ status: 410, errorType: 'GoneException' }];
    await expect(client.send(post('gone='))).rejects.toMatchObject({
      name: 'GoneException',
      $metadata: { httpStatusCode: 410 },
    });
    expect(paths).toHaveLength(1);
    client.destroy();
  });

  it('signs every post with SigV4 for execute-api, afresh per request although the signer is built once', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    await client.send(post('abc='));
    await client.send(post('def='));
    expect(requests).toHaveLength(2);
    for (const request of requests) {
      expect(request.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=unit\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=\S*host;\S*x-amz-date\S*, Signature=/,
      );
    }
    await expectAuthentic(requests);
    expect(requests[0].headers.authorization).not.toBe(requests[1].headers.authorization);
    client.destroy();
  });

  it('signs each post over its own body when posts share one payload array, and a new array over the new body', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    const shared = new TextEncoder().encode(JSON.stringify({ type: 'system', data: 'x'.repeat(64 * 1024) }));
    const next = new TextEncoder().encode(JSON.stringify({ type: 'system', data: 'y'.repeat(64 * 1024) }));
    for (const id of ['a=', 'b=']) await client.send(new PostToConnectionCommand({ ConnectionId: id, Data: shared }));
    await client.send(new PostToConnectionCommand({ ConnectionId: 'c=', Data: next }));
    expect(requests.map(({ body }) => body.byteLength)).toEqual([
      shared.byteLength,
      shared.byteLength,
      next.byteLength,
    ]);
    expect(Buffer.compare(requests[2].body, Buffer.from(next))).toBe(0);
    // The signature covers the payload's SHA-256: a hash kept from the first array would not verify here.
    await expectAuthentic(requests);
    client.destroy();
  });

  it("sends the SDK's user agent (SDK, OS, runtime and API versions), built once, on every post", async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    await client.send(post('abc='));
    await client.send(post('def='));
    for (const { headers } of requests) {
      expect(headers['user-agent']).toMatch(
        /^aws-sdk-js\/3\.\d+\.\d+ ua\/2\.1 os\/\S+ lang\/js md\/nodejs#\d+\.\d+\.\d+ api\/apigatewaymanagementapi#3\.\d+\.\d+/,
      );
      expect(headers['x-amz-user-agent']).toMatch(/^aws-sdk-js\/3\.\d+\.\d+$/);
    }
    client.destroy();
  });

  it('fails an attempt that gets no answer within the request timeout, and retries it (3 attempts)', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4, requestTimeoutMs: 150 });
    answers = [
      { status: 200, hang: true },
      { status: 200, hang: true },
      { status: 200, hang: true },
    ];
    await expect(client.send(post('slow='))).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(paths).toHaveLength(3);
    client.destroy();
  });

  it('signs each retry afresh, every attempt valid, and counts the attempts in $metadata', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    answers = [
      { status: 429, errorType: 'LimitExceededException' },
      { status: 429, errorType: 'LimitExceededException' },
      { status: 200, headers: { 'x-amzn-RequestId': 'req-3' } },
    ];
    const output = await client.send(post('busy='));
    expect(output.$metadata).toMatchObject({ httpStatusCode: 200, requestId: 'req-3', attempts: 3 });
    expect(requests.map(({ headers }) => headers['amz-sdk-request'])).toEqual([
      'attempt=1; max=3',
      'attempt=2; max=3',
      'attempt=3; max=3',
    ]);
    await expectAuthentic(requests);
    client.destroy();
  });

  it('answers a successful post with the $metadata the SDK gives (status, request id, one attempt)', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    answers = [{ status: 200, headers: { 'x-amzn-RequestId': 'req-1', 'x-amz-id-2': 'ext', 'x-amz-cf-id': 'cf' } }];
    const output = await client.send(post('abc='));
    expect(output).toEqual({
      $metadata: {
        httpStatusCode: 200,
        requestId: 'req-1',
        extendedRequestId: 'ext',
        cfId: 'cf',
        attempts: 1,
        totalRetryDelay: 0,
      },
    });
    client.destroy();
  });

  it.each([
    [403, 'ForbiddenException'],
    [413, 'PayloadTooLargeException'],
  ])('surfaces a %i answer as the modelled %s, from the SDK deserializer', async (status, errorType) => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    answers = [{ status, errorType, headers: { 'x-amzn-RequestId': 'req-e' } }];
    await expect(client.send(post('abc='))).rejects.toMatchObject({
      name: errorType,
      $fault: 'client',
      $metadata: { httpStatusCode: status, requestId: 'req-e', attempts: 1 },
    });
    client.destroy();
  });

  it('posts a string Data as its UTF-8 bytes, signed over them', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    await client.send(new PostToConnectionCommand({ ConnectionId: 'abc=', Data: '{"text":"é ✓"}' }));
    expect(requests[0].body.toString('utf8')).toBe('{"text":"é ✓"}');
    expect(requests[0].headers['content-type']).toBe('application/octet-stream');
    await expectAuthentic(requests);
    client.destroy();
  });

  it('encodes a connection id with +, / and = as one path segment, signed as received', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    await client.send(post('a+b/c='));
    expect(paths).toEqual(['POST /prod/@connections/a%2Bb%2Fc%3D']);
    await expectAuthentic(requests);
    client.destroy();
  });

  it('rejects a post without a connection id before sending anything, as the SDK does', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    await expect(client.send(new PostToConnectionCommand({ Data: 'x' } as never))).rejects.toThrow(
      'No value provided for input HTTP label: ConnectionId.',
    );
    expect(paths).toEqual([]);
    client.destroy();
  });

  it('gets and deletes connections through the SDK serializer, signed by the same signer', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    answers = [
      {
        status: 200,
        body: JSON.stringify({
          connectedAt: '2026-11-27T12:00:00.000Z',
          identity: { sourceIp: '192.0.2.1', userAgent: 'test' },
          lastActiveAt: '2026-11-27T12:05:00.000Z',
        }),
      },
      { status: 204 },
    ];
    const connection = await client.send(new GetConnectionCommand({ ConnectionId: 'abc=' }));
    expect(connection).toMatchObject({
      ConnectedAt: new Date('2026-11-27T12:00:00.000Z'),
      Identity: { SourceIp: '192.0.2.1', UserAgent: 'test' },
      $metadata: { httpStatusCode: 200 },
    });
    await client.send(new DeleteConnectionCommand({ ConnectionId: 'abc=' }));
    expect(paths).toEqual(['GET /prod/@connections/abc%3D', 'DELETE /prod/@connections/abc%3D']);
    await expectAuthentic(requests);
    client.destroy();
  });

  it('signs with temporary credentials: the session token is sent and signed', async () => {
    process.env.AWS_SESSION_TOKEN = 'unit-session-token';
    try {
      const client = createManagementClient({ endpoint, maxSockets: 4 });
      await client.send(post('abc='));
      expect(requests[0].headers['x-amz-security-token']).toBe('unit-session-token');
      expect(requests[0].headers.authorization).toContain('SignedHeaders=host;x-amz-date;x-amz-security-token,');
      await expectAuthentic(requests, { ...unitCredentials, sessionToken: 'unit-session-token' });
      client.destroy();
    } finally {
      delete process.env.AWS_SESSION_TOKEN;
    }
  });

  it('retries a post whose socket is closed without an answer (ECONNRESET), as with the SDK handler', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    answers = [{ status: 200, destroy: true }];
    await client.send(post('abc='));
    expect(paths).toHaveLength(2);
    answers = [1, 2, 3].map(() => ({ status: 200, destroy: true }));
    await expect(client.send(post('abc='))).rejects.toMatchObject({ code: 'ECONNRESET', $metadata: { attempts: 3 } });
    client.destroy();
  });

  it('retries a refused connection (ECONNREFUSED), 3 attempts', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const client = createManagementClient({ endpoint: new URL(`http://127.0.0.1:${port}/prod`), maxSockets: 4 });
    const error = (await client.send(post('abc=')).catch((caught: unknown) => caught)) as Error & {
      $metadata?: { attempts?: number };
    };
    // Node's error comes from another realm than jest's modules, so the SDK wraps it (keeping its message); run
    // outside jest it is Node's error itself, with its `code`.
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.$metadata?.attempts).toBe(3);
    client.destroy();
  });
});

describe('user-agent sections', () => {
  it.each([
    [['aws-sdk-js', '3.1168.0'], 'aws-sdk-js/3.1168.0'],
    [['lang/js'], 'lang/js'],
    [['os/linux', '6.1.0-18-amd64'], 'os/linux#6.1.0-18-amd64'],
    [['api/ApiGatewayManagementApi', '3.1168.0'], 'api/apigatewaymanagementapi#3.1168.0'],
    [['exec-env/AWS_Lambda_nodejs22.x'], 'exec-env/AWS_Lambda_nodejs22.x'],
    [['md/some name', 'v 1(2)'], 'md/some-name#v-1-2-'],
  ] as const)('formats %j as the SDK does: %s', (section, expected) => {
    expect(formatUserAgentSection(section)).toBe(expected);
  });
});

describe('client settings', () => {
  it('reads CALLBACK_URL and sizes the socket pool from SEND_CONCURRENCY', () => {
    expect(
      readManagementClientConfig({ CALLBACK_URL: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod' }),
    ).toEqual({
      endpoint: new URL('https://abc.execute-api.eu-west-1.amazonaws.com/prod'),
      maxSockets: DEFAULT_SEND_CONCURRENCY,
    });
    expect(readSendConcurrency({ SEND_CONCURRENCY: '50' })).toBe(50);
  });

  it.each([
    [{}, 'Configuration setting CALLBACK_URL is required but not set'],
    [{ CALLBACK_URL: 'not a url' }, 'Configuration setting CALLBACK_URL must be a URL, got "not a url"'],
    [{ CALLBACK_URL: 'http://x', SEND_CONCURRENCY: '0' }, 'SEND_CONCURRENCY must be at least 1'],
    [{ CALLBACK_URL: 'http://x', SEND_CONCURRENCY: 'many' }, 'SEND_CONCURRENCY must be an integer'],
  ])('names the setting at fault in %j', (env, message) => {
    expect(() => readManagementClientConfig(env)).toThrow(ConfigurationError);
    expect(() => readManagementClientConfig(env)).toThrow(message);
  });

  it('builds each shared client once per process', () => {
    expect(getDocumentClient()).toBe(getDocumentClient());
    const first = getManagementClient({ CALLBACK_URL: endpoint.toString() });
    expect(getManagementClient({ CALLBACK_URL: 'http://elsewhere.example' })).toBe(first);
  });
});
