import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { createManagementClient } from '../../lambdas/core/clients';
import { reportThrottling, retryThrottlingThroughBudget } from '../../lambdas/core/post-budget';

// The budget hears of every 429 the management client meets, also those the SDK's own retries absorb, through the
// real client against a real local server. The 429's shape is the modelled error of PostToConnection
// (`LimitExceededException`, HTTP 429, error type in `x-amzn-ErrorType`), as listed in the API reference:
// https://docs.aws.amazon.com/apigatewaymanagementapi/latest/APIReference/API_PostToConnection.html

let server: Server;
let endpoint: URL;
/** Answers still to give 429 before the server accepts posts. */
let throttleNext = 0;
/** Answers still to give 503 (a transient server error) before the server accepts posts. */
let failNext = 0;
let requests = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    requests++;
    request.resume();
    request.on('end', () => {
      if (throttleNext > 0) {
        throttleNext--;
        response
          .writeHead(429, { 'content-type': 'application/json', 'x-amzn-ErrorType': 'LimitExceededException' })
          .end(JSON.stringify({ message: 'Limit Exceeded' }));
        return;
      }
      if (failNext > 0) {
        failNext--;
        response.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'unavailable' }));
        return;
      }
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/test`);
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  process.env.AWS_REGION ??= 'eu-west-1';
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
});

beforeEach(() => {
  requests = 0;
});

it('reports each throttled attempt, while the SDK still retries it and the post succeeds', async () => {
  // Prepare: two 429s, then the post goes through on the SDK's third attempt
  const client = createManagementClient({ endpoint, maxSockets: 4 });
  const budget = { throttled: jest.fn() };
  reportThrottling(client, budget);
  throttleNext = 2;
  // Act
  await client.send(new PostToConnectionCommand({ ConnectionId: 'abc=', Data: Buffer.from('{}') }));
  // Assess
  expect(requests).toBe(3);
  expect(budget.throttled).toHaveBeenCalledTimes(2);
  client.destroy();
});

it('passes the 429 on to the caller when the retries run out, and reports nothing else', async () => {
  const client = createManagementClient({ endpoint, maxSockets: 4 });
  const budget = { throttled: jest.fn() };
  reportThrottling(client, budget);
  throttleNext = 3;
  await expect(
    client.send(new PostToConnectionCommand({ ConnectionId: 'abc=', Data: Buffer.from('{}') })),
  ).rejects.toMatchObject({ name: 'LimitExceededException', $metadata: { httpStatusCode: 429 } });
  expect(budget.throttled).toHaveBeenCalledTimes(3);
  await client.send(new PostToConnectionCommand({ ConnectionId: 'abc=', Data: Buffer.from('{}') }));
  expect(budget.throttled).toHaveBeenCalledTimes(3);
  client.destroy();
});

it('with retryThrottlingThroughBudget, hands a 429 back after one attempt and still retries a 503', async () => {
  // Prepare
  const client = createManagementClient({ endpoint, maxSockets: 4 });
  const budget = { throttled: jest.fn() };
  reportThrottling(client, budget);
  retryThrottlingThroughBudget(client);
  throttleNext = 1;
  // Act / Assess: the 429 comes back at once, for the caller to post again through the budget
  await expect(
    client.send(new PostToConnectionCommand({ ConnectionId: 'abc=', Data: Buffer.from('{}') })),
  ).rejects.toMatchObject({ name: 'LimitExceededException', $metadata: { attempts: 1 } });
  expect(requests).toBe(1);
  expect(budget.throttled).toHaveBeenCalledTimes(1);
  // A transient error is still the SDK's to retry
  failNext = 1;
  requests = 0;
  await client.send(new PostToConnectionCommand({ ConnectionId: 'abc=', Data: Buffer.from('{}') }));
  expect(requests).toBe(2);
  client.destroy();
});
