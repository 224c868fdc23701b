import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import {
  createManagementClient,
  DEFAULT_SEND_CONCURRENCY,
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
let answers: { status: number; errorType?: string }[] = [];

beforeAll(async () => {
  process.env.AWS_REGION = 'eu-west-1';
  process.env.AWS_ACCESS_KEY_ID = 'unit';
  process.env.AWS_SECRET_ACCESS_KEY = 'unit';
  server = createServer((request: IncomingMessage, response: ServerResponse) => {
    sockets.push(request.socket);
    paths.push(`${request.method} ${request.url}`);
    request.resume();
    request.on('end', () => {
      const answer = answers.shift() ?? { status: 200 };
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
  answers = [];
});

const post = (connectionId: string) =>
  new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{"type":"x"}' });

describe('management client', () => {
  it('posts to the configured endpoint, under its stage path', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    await client.send(post('abc='));
    expect(paths).toEqual(['POST /prod/@connections/abc%3D']);
    client.destroy();
  });

  it('keeps connections alive: sequential posts reuse one socket', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 4 });
    for (const id of ['a=', 'b=', 'c=']) await client.send(post(id));
    expect(sockets).toHaveLength(3);
    expect(new Set(sockets).size).toBe(1);
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
