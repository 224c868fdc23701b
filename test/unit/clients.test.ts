import { createHash, createHmac } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import {
  createManagementClient,
  DEFAULT_SEND_CONCURRENCY,
  formatUserAgentSection,
  getDocumentClient,
  getManagementClient,
  readManagementClientConfig,
  readSendConcurrency,
} from '../../lambdas/core/clients';
import { ConfigurationError } from '../../lambdas/core/errors';

// A loopback stand-in for the `@connections` endpoint: records each post's socket and answers with whatever
// the test queued (default 200).
let server: Server;
let endpoint: URL;
const sockets: Socket[] = [];
const paths: string[] = [];
const requests: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: Buffer }> = [];
/** Queued answers; `hang` never answers (the socket stays open until the client gives up). */
let answers: { status: number; errorType?: string; hang?: boolean }[] = [];

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
      response.statusCode = answer.status;
      if (answer.errorType) response.setHeader('x-amzn-ErrorType', answer.errorType);
      response.setHeader('content-type', 'application/json');
      response.end(answer.status === 200 ? '' : JSON.stringify({ message: answer.errorType }));
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

/**
 * Recomputes a request's SigV4 signature from what reached the server (an independent implementation of the
 * algorithm, so a signer reused across requests is checked against the specification, not against itself).
 */
function expectedSignature(request: (typeof requests)[number], secretAccessKey: string): string {
  const authorization = String(request.headers.authorization);
  const [, scope, signedHeaders] =
    /^AWS4-HMAC-SHA256 Credential=[^/]+\/([^,]+), SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/.exec(authorization) ??
    [];
  const [date, region, service] = scope.split('/');
  const canonicalPath = encodeURIComponent(request.url).replace(/%2F/g, '/');
  const canonicalHeaders = signedHeaders
    .split(';')
    .map((name) => `${name}:${String(request.headers[name]).trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const payloadHash = createHash('sha256').update(request.body).digest('hex');
  const canonicalRequest = [request.method, canonicalPath, '', canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    request.headers['x-amz-date'],
    scope,
    createHash('sha256').update(canonicalRequest).digest('hex'),
  ].join('\n');
  const key = [date, region, service, 'aws4_request'].reduce<Buffer | string>(
    (previous, part) => createHmac('sha256', previous).update(part).digest(),
    `AWS4${secretAccessKey}`,
  );
  return createHmac('sha256', key).update(stringToSign).digest('hex');
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

  it('bounds open sockets by maxSockets under concurrent posts', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 2 });
    await Promise.all(['a=', 'b=', 'c=', 'd=', 'e=', 'f='].map((id) => client.send(post(id))));
    expect(sockets).toHaveLength(6);
    expect(new Set(sockets).size).toBe(2);
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
      expect(String(request.headers.authorization).slice(-64)).toBe(expectedSignature(request, 'unit'));
    }
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
    for (const request of requests) {
      // The signature covers the payload's SHA-256: a hash kept from the first array would not verify here.
      expect(String(request.headers.authorization).slice(-64)).toBe(expectedSignature(request, 'unit'));
    }
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
