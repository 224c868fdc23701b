import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  ForbiddenException,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { MemoryRegistry } from '../../bench/memory-registry';
import { BoundedPool, mapBounded } from '../../lambdas/core/bounded';
import { createManagementClient } from '../../lambdas/core/clients';
import {
  broadcast,
  type DeliveryDependencies,
  DeliveryMetric,
  deliverToUsers,
  disconnectConnections,
  isGoneError,
} from '../../lambdas/core/delivery';
import { createEnvelope } from '../../lambdas/core/envelope';
import { PayloadTooLargeError } from '../../lambdas/core/errors';
import { MetricName } from '../../lambdas/core/observability';
import { createConnectionRegistry } from '../../lambdas/core/registry';

const managementClient = new ApiGatewayManagementApiClient({
  region: 'eu-west-1',
  endpoint: 'https://api.example.com/prod',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
// Mock this instance only: the retry tests below use a real client against a local server.
const management = mockClient(managementClient);

const gone = () => new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } });
const envelope = () => createEnvelope('chat', { message: 'Hello!' }, { from: 'sender' });

interface Fakes {
  registry: MemoryRegistry;
  logger: { info: jest.Mock; warn: jest.Mock };
  metrics: { addMetric: jest.Mock };
  deps: DeliveryDependencies;
}

function fakes(extra: Partial<DeliveryDependencies> = {}, registry = new MemoryRegistry()): Fakes {
  const logger = { info: jest.fn(), warn: jest.fn() };
  const metrics = { addMetric: jest.fn() };
  return {
    registry,
    logger,
    metrics,
    deps: { registry, managementClient, logger, metrics, concurrency: 10, timeMarginMs: 2000, ...extra },
  };
}

function metricValues(metrics: { addMetric: jest.Mock }): Record<string, number> {
  return Object.fromEntries(metrics.addMetric.mock.calls.map(([name, , value]) => [name, value]));
}

async function connect(registry: MemoryRegistry, pairs: Array<[string, string]>): Promise<void> {
  for (const [userId, connectionId] of pairs) await registry.register({ userId, connectionId });
}

beforeEach(() => {
  management.reset();
  management.on(PostToConnectionCommand).resolves({});
});

describe('deliverToUsers', () => {
  it('posts the same serialized envelope to every connection of each user, reports and logs it', async () => {
    const { registry, deps, metrics, logger } = fakes();
    await connect(registry, [
      ['alice', 'a1'],
      ['alice', 'a2'],
      ['bob', 'b1'],
    ]);
    const message = envelope();

    const report = await deliverToUsers(deps, { userIds: ['alice', 'bob', 'carol'], envelope: message });

    expect(report).toEqual({
      messageId: message.id,
      timestamp: message.timestamp,
      recipients: {
        alice: { delivered: ['a1', 'a2'], failed: [], stale: [] },
        bob: { delivered: ['b1'], failed: [], stale: [] },
      },
      notConnected: ['carol'],
    });
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 3);
    const posted = management.commandCalls(PostToConnectionCommand).map((call) => call.args[0].input);
    for (const input of posted) {
      expect(JSON.parse(new TextDecoder().decode(input.Data as Uint8Array))).toEqual(message);
    }
    expect(metricValues(metrics)).toEqual({ MessagesDelivered: 3, StaleConnectionsRemoved: 0, PostsFailed: 0 });
    expect(logger.info).toHaveBeenCalledWith('message delivered to users', {
      messageId: message.id,
      type: 'chat',
      from: 'sender',
      users: 3,
      notConnected: 1,
      delivered: 3,
      stale: 0,
      failed: 0,
    });
  });

  it('removes a connection answered 410 (the recipient’s, not the sender’s) and reports it as stale', async () => {
    const { registry, deps, metrics } = fakes();
    await connect(registry, [
      ['sender', 's1'],
      ['bob', 'b-live'],
      ['bob', 'b-gone'],
    ]);
    management.on(PostToConnectionCommand, { ConnectionId: 'b-gone' }).rejects(gone());

    const report = await deliverToUsers(deps, { userIds: ['bob'], envelope: envelope() });

    expect(report.recipients.bob).toEqual({ delivered: ['b-live'], failed: [], stale: ['b-gone'] });
    expect(report.notConnected).toEqual([]);
    expect(registry.removed).toEqual([{ userId: 'bob', connectionId: 'b-gone' }]);
    expect(await registry.connectionsOf('sender')).toHaveLength(1);
    expect(metricValues(metrics)).toMatchObject({ StaleConnectionsRemoved: 1, MessagesDelivered: 1 });
  });

  it('deletes the stale item from DynamoDB with the recipient key (real registry, mocked table)', async () => {
    const documentClient = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));
    const dynamo = mockClient(documentClient);
    dynamo.on(QueryCommand).resolves({
      Items: [{ userId: 'bob', connectionId: 'b-gone', connectedAt: '2026-11-26T09:00:00.000Z', expiresAt: 4e9 }],
    });
    dynamo.on(DeleteCommand).resolves({});
    management.on(PostToConnectionCommand).rejects(gone());
    const registry = createConnectionRegistry({ client: documentClient, tableName: 'Connections', ttlSeconds: 10_800 });

    const report = await deliverToUsers(
      { registry, managementClient, concurrency: 5, timeMarginMs: 0 },
      { userIds: ['bob'], envelope: envelope() },
    );

    expect(report.recipients.bob.stale).toEqual(['b-gone']);
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: 'Connections',
      Key: { userId: 'bob', connectionId: 'b-gone' },
    });
  });

  it('recognises a 410 by $metadata.httpStatusCode alone, and never by a v2-style statusCode', () => {
    expect(isGoneError({ name: 'UnknownError', $metadata: { httpStatusCode: 410 } })).toBe(true);
    expect(isGoneError(gone())).toBe(true);
    expect(isGoneError({ name: 'Error', statusCode: 410 })).toBe(false);
    expect(isGoneError(new Error('boom'))).toBe(false);
  });

  it('reports other failures per connection, logs them, and delivers the rest', async () => {
    const { registry, deps, logger, metrics } = fakes();
    await connect(registry, [
      ['alice', 'a1'],
      ['alice', 'a2'],
      ['bob', 'b1'],
    ]);
    management
      .on(PostToConnectionCommand, { ConnectionId: 'a2' })
      .rejects(new ForbiddenException({ message: 'Forbidden: internal detail', $metadata: { httpStatusCode: 403 } }));
    management
      .on(PostToConnectionCommand, { ConnectionId: 'b1' })
      .rejects(Object.assign(new Error('connect ECONNRESET 10.0.0.1:443'), { code: 'ECONNRESET' }));

    const report = await deliverToUsers(deps, { userIds: ['alice', 'bob'], envelope: envelope() });

    expect(report.recipients).toEqual({
      alice: { delivered: ['a1'], failed: [{ connectionId: 'a2', error: 'ForbiddenException' }], stale: [] },
      bob: { delivered: [], failed: [{ connectionId: 'b1', error: 'ECONNRESET' }], stale: [] },
    });
    // Failed is not "not connected": the connection is there, the post did not make it.
    expect(report.notConnected).toEqual([]);
    expect(registry.removed).toEqual([]);
    expect(logger.warn).toHaveBeenCalledWith(
      'post to connection failed',
      expect.objectContaining({
        userId: 'alice',
        connectionId: 'a2',
        error: 'ForbiddenException',
        httpStatusCode: 403,
      }),
    );
    expect(JSON.stringify(report)).not.toContain('internal detail');
    expect(metricValues(metrics)).toEqual({ MessagesDelivered: 1, StaleConnectionsRemoved: 0, PostsFailed: 2 });
  });

  it('lists a user whose every connection was stale as not connected, and still reports the removals', async () => {
    const { registry, deps } = fakes();
    await connect(registry, [['bob', 'b-gone']]);
    management.on(PostToConnectionCommand).rejects(gone());

    const report = await deliverToUsers(deps, { userIds: ['bob'], envelope: envelope() });

    expect(report.recipients.bob).toEqual({ delivered: [], failed: [], stale: ['b-gone'] });
    expect(report.notConnected).toEqual(['bob']);
  });

  it('keeps delivering when removing a stale connection fails', async () => {
    const { registry, deps, logger } = fakes();
    await connect(registry, [
      ['bob', 'b-gone'],
      ['bob', 'b-live'],
    ]);
    registry.remove = jest.fn().mockRejectedValue(new Error('throttled'));
    management.on(PostToConnectionCommand, { ConnectionId: 'b-gone' }).rejects(gone());

    const report = await deliverToUsers(deps, { userIds: ['bob'], envelope: envelope() });

    expect(report.recipients.bob).toEqual({ delivered: ['b-live'], failed: [], stale: ['b-gone'] });
    expect(logger.warn).toHaveBeenCalledWith('removing a stale connection failed', expect.anything());
  });

  it('refuses an envelope over 128 KB before looking anything up or posting', async () => {
    const { registry, deps } = fakes();
    await connect(registry, [['bob', 'b1']]);
    const lookups = jest.spyOn(registry, 'connectionsOf');
    const huge = createEnvelope('chat', 'x'.repeat(131_072));

    await expect(deliverToUsers(deps, { userIds: ['bob'], envelope: huge })).rejects.toThrow(PayloadTooLargeError);
    expect(lookups).not.toHaveBeenCalled();
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
  });

  it('keeps at most `concurrency` posts in flight', async () => {
    const { registry, deps } = fakes({ concurrency: 4 });
    await connect(
      registry,
      Array.from({ length: 30 }, (_, i): [string, string] => [`user${i % 3}`, `c${i}`]),
    );
    let inFlight = 0;
    let peak = 0;
    management.on(PostToConnectionCommand).callsFake(async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return {};
    });

    const report = await deliverToUsers(deps, { userIds: ['user0', 'user1', 'user2'], envelope: envelope() });

    expect(Object.values(report.recipients).flatMap((r) => r.delivered)).toHaveLength(30);
    expect(peak).toBe(4);
  });
});

describe('per-connection encoding', () => {
  const posted = (): Record<string, string> =>
    Object.fromEntries(
      management
        .commandCalls(PostToConnectionCommand)
        .map((call) => [
          call.args[0].input.ConnectionId,
          new TextDecoder().decode(call.args[0].input.Data as Uint8Array),
        ]),
    );

  it('posts the Socket.IO event to a Socket.IO connection and the envelope to a JSON one, on every send path', async () => {
    const { registry, deps } = fakes();
    await registry.register({ userId: 'alice', connectionId: 'json1' });
    await registry.register({ userId: 'alice', connectionId: 'sio1', protocol: 'socket.io' });
    await registry.register({ userId: 'bob', connectionId: 'sio2', protocol: 'socket.io' });
    const message = envelope();
    const socketIoFrame = `42${JSON.stringify(['chat', message.data, { id: message.id, timestamp: message.timestamp, from: 'sender' }])}`;

    await deliverToUsers(deps, { userIds: ['alice', 'bob'], envelope: message });
    const toUsers = posted();
    management.resetHistory();
    await broadcast(deps, { envelope: message });
    const toEveryone = posted();

    for (const frames of [toUsers, toEveryone]) {
      expect(JSON.parse(frames.json1)).toEqual(message);
      expect(frames.sio1).toBe(socketIoFrame);
      expect(frames.sio2).toBe(socketIoFrame);
    }
  });

  it('sends a Socket.IO connection the DISCONNECT packet before closing it, a JSON one only the close', async () => {
    const { registry, deps } = fakes();
    await registry.register({ userId: 'bob', connectionId: 'json1' });
    await registry.register({ userId: 'bob', connectionId: 'sio1', protocol: 'socket.io' });
    const order: string[] = [];
    management.on(PostToConnectionCommand).callsFake((input) => order.push(`post ${input.ConnectionId}`));
    management.on(DeleteConnectionCommand).callsFake((input) => order.push(`close ${input.ConnectionId}`));

    await expect(disconnectConnections(deps, 'bob')).resolves.toEqual({ disconnected: 2, failed: [] });

    expect(posted()).toEqual({ sio1: '41' });
    expect(order.indexOf('post sio1')).toBeLessThan(order.indexOf('close sio1'));
    expect(order).toContain('close json1');
  });
});

describe('throttling through a real ApiGatewayManagementApiClient', () => {
  let server: Server;
  let endpoint: URL;
  let throttledAnswers = 0;
  const received: string[] = [];

  beforeAll(async () => {
    process.env.AWS_REGION = 'eu-west-1';
    process.env.AWS_ACCESS_KEY_ID = 'test';
    process.env.AWS_SECRET_ACCESS_KEY = 'test';
    server = createServer((request: IncomingMessage, response: ServerResponse) => {
      request.resume();
      request.on('end', () => {
        received.push(`${request.method} ${request.url}`);
        if (throttledAnswers > 0) {
          throttledAnswers--;
          response.writeHead(429, {
            'content-type': 'application/json',
            'x-amzn-errortype': 'LimitExceededException',
          });
          response.end(JSON.stringify({ message: 'Rate exceeded' }));
          return;
        }
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`);
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    received.length = 0;
  });

  it('retries a 429 LimitExceededException and delivers (the clients.ts configuration)', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 10 });
    const { registry, deps, metrics } = fakes({ managementClient: client });
    await connect(registry, [['bob', 'b1']]);
    throttledAnswers = 2;

    const report = await deliverToUsers(deps, { userIds: ['bob'], envelope: envelope() });

    expect(report.recipients.bob).toEqual({ delivered: ['b1'], failed: [], stale: [] });
    expect(received).toEqual(Array(3).fill('POST /prod/@connections/b1'));
    expect(metricValues(metrics)).toMatchObject({ MessagesDelivered: 1, PostsFailed: 0 });
    client.destroy();
  });

  it('reports the post as failed once the SDK gives up (3 attempts)', async () => {
    const client = createManagementClient({ endpoint, maxSockets: 10 });
    const { registry, deps } = fakes({ managementClient: client });
    await connect(registry, [['bob', 'b1']]);
    throttledAnswers = 5;

    const report = await deliverToUsers(deps, { userIds: ['bob'], envelope: envelope() });

    expect(report.recipients.bob.failed).toEqual([{ connectionId: 'b1', error: 'LimitExceededException' }]);
    expect(received).toHaveLength(3);
    throttledAnswers = 0;
    client.destroy();
  });
});

describe('broadcast', () => {
  async function registryWith(count: number, pageSize: number): Promise<MemoryRegistry> {
    const registry = new MemoryRegistry({ pageSize });
    await connect(
      registry,
      Array.from({ length: count }, (_, i): [string, string] => [`user${i % 7}`, `c${String(i).padStart(4, '0')}`]),
    );
    return registry;
  }

  it('posts to every live connection, page by page, and reports counts', async () => {
    const registry = await registryWith(95, 10);
    registry.put({ userId: 'old', connectionId: 'expired', connectedAt: '2026-01-01T00:00:00Z', expiresAt: 1 });
    const { deps, metrics } = fakes({}, registry);
    management.on(PostToConnectionCommand, { ConnectionId: 'c0003' }).rejects(gone());
    management.on(PostToConnectionCommand, { ConnectionId: 'c0004' }).rejects(new Error('boom'));
    const message = envelope();

    const report = await broadcast(deps, { envelope: message });

    expect(report).toEqual({
      messageId: message.id,
      timestamp: message.timestamp,
      complete: true,
      connections: 95,
      delivered: 93,
      failed: 1,
      stale: 1,
    });
    expect(registry.pagesRead).toBe(10);
    expect(registry.removed).toEqual([{ userId: 'user3', connectionId: 'c0003' }]);
    const posted = management.commandCalls(PostToConnectionCommand).map((call) => call.args[0].input.ConnectionId);
    expect(new Set(posted).size).toBe(95);
    expect(posted).not.toContain('expired');
    expect(metricValues(metrics)).toEqual({ MessagesDelivered: 93, StaleConnectionsRemoved: 1, PostsFailed: 1 });
  });

  it('walks parallel segments without posting twice', async () => {
    const registry = await registryWith(50, 4);
    const { deps } = fakes({ scanSegments: 3 }, registry);

    const report = await broadcast(deps, { envelope: envelope() });

    const posted = management.commandCalls(PostToConnectionCommand).map((call) => call.args[0].input.ConnectionId);
    expect(report).toMatchObject({ complete: true, delivered: 50 });
    expect(posted).toHaveLength(50);
    expect(new Set(posted).size).toBe(50);
  });

  it('keeps at most `concurrency` posts in flight across pages', async () => {
    const registry = await registryWith(60, 7);
    const { deps } = fakes({ concurrency: 8, scanSegments: 2 }, registry);
    let inFlight = 0;
    let peak = 0;
    management.on(PostToConnectionCommand).callsFake(async () => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 3));
      inFlight--;
      return {};
    });

    expect((await broadcast(deps, { envelope: envelope() })).delivered).toBe(60);
    expect(peak).toBe(8);
  });

  it('stops when the invocation runs short and reports exactly what was not reached', async () => {
    const registry = await registryWith(100, 10);
    // Plenty of time for the first two pages, then less than the 2000 ms margin (but more than half of it).
    const { deps, logger } = fakes({ remainingTimeMs: () => (registry.pagesRead <= 2 ? 60_000 : 1500) }, registry);

    const report = await broadcast(deps, { envelope: envelope() });

    expect(report).toMatchObject({
      complete: false,
      connections: 20,
      delivered: 20,
      notReached: { connections: 80, pages: 8, countComplete: true },
    });
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 20);
    expect(logger.warn).toHaveBeenCalledWith(
      'broadcast stopped before reaching every connection',
      expect.objectContaining({ notReached: { connections: 80, pages: 8, countComplete: true } }),
    );
  });

  it('says the count is incomplete when even counting must stop', async () => {
    const registry = await registryWith(100, 10);
    const { deps } = fakes({ remainingTimeMs: () => (registry.pagesRead <= 1 ? 60_000 : 500) }, registry);

    const report = await broadcast(deps, { envelope: envelope() });

    expect(report).toMatchObject({
      complete: false,
      delivered: 10,
      notReached: { connections: 10, pages: 1, countComplete: false },
    });
    expect(registry.pagesRead).toBe(2);
  });

  it('stops inside a large page too', async () => {
    const registry = await registryWith(50, 50);
    let posts = 0;
    management.on(PostToConnectionCommand).callsFake(async () => {
      posts++;
      return {};
    });
    const { deps } = fakes({ concurrency: 1, remainingTimeMs: () => (posts < 20 ? 60_000 : 100) }, registry);

    const report = await broadcast(deps, { envelope: envelope() });

    expect(report.complete).toBe(false);
    expect(report.connections + (report.notReached?.connections ?? 0)).toBe(50);
    expect(report.delivered).toBeGreaterThanOrEqual(20);
    expect(report.delivered).toBeLessThanOrEqual(21);
  });

  it('throws a failed registry read only after the posts already started have settled, and starts no more', async () => {
    // GIVEN segment 0 serving pages of live connections, and segment 1 whose first read fails
    const registry = await registryWith(40, 4);
    const scan = registry.scanConnections.bind(registry);
    jest.spyOn(registry, 'scanConnections').mockImplementation((options) => {
      if (options?.segment !== 1) return scan(options);
      return (async function* () {
        await new Promise((resolve) => setTimeout(resolve, 1));
        throw Object.assign(new Error('Throughput exceeds the current capacity'), {
          name: 'ProvisionedThroughputExceededException',
        });
      })();
    });
    let started = 0;
    let settled = 0;
    management.on(PostToConnectionCommand).callsFake(async () => {
      started++;
      await new Promise((resolve) => setTimeout(resolve, 2));
      settled++;
      return {};
    });
    const { deps, logger, metrics } = fakes({ concurrency: 2, scanSegments: 2 }, registry);

    // WHEN the broadcast runs
    await expect(broadcast(deps, { envelope: envelope() })).rejects.toMatchObject({
      name: 'ProvisionedThroughputExceededException',
    });

    // THEN every post it started had settled when it threw, and none starts afterwards
    const startedWhenThrown = started;
    expect(settled).toBe(startedWhenThrown);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(started).toBe(startedWhenThrown);
    expect(metricValues(metrics).MessagesDelivered).toBe(startedWhenThrown);
    expect(logger.warn).toHaveBeenCalledWith(
      'broadcast stopped: reading the registry failed',
      expect.objectContaining({ delivered: startedWhenThrown, error: 'ProvisionedThroughputExceededException' }),
    );
  });

  it('refuses an envelope over 128 KB before scanning', async () => {
    const registry = await registryWith(5, 10);
    const { deps } = fakes({}, registry);

    await expect(broadcast(deps, { envelope: createEnvelope('chat', 'x'.repeat(140_000)) })).rejects.toThrow(
      PayloadTooLargeError,
    );
    expect(registry.pagesRead).toBe(0);
  });
});

describe('disconnectConnections', () => {
  it('closes every connection, treats 410 as closed, and keeps the ones whose close failed', async () => {
    const { registry, deps, logger } = fakes();
    await connect(registry, [
      ['bob', 'b1'],
      ['bob', 'b2'],
      ['bob', 'b3'],
      ['alice', 'a1'],
    ]);
    management.on(DeleteConnectionCommand).resolves({});
    management.on(DeleteConnectionCommand, { ConnectionId: 'b2' }).rejects(gone());
    management
      .on(DeleteConnectionCommand, { ConnectionId: 'b3' })
      .rejects(new ForbiddenException({ message: 'no', $metadata: { httpStatusCode: 403 } }));

    const result = await disconnectConnections(deps, 'bob');

    expect(result).toEqual({ disconnected: 2, failed: [{ connectionId: 'b3', error: 'ForbiddenException' }] });
    expect(management).toHaveReceivedCommandTimes(DeleteConnectionCommand, 3);
    expect(registry.removed).toEqual(
      expect.arrayContaining([
        { userId: 'bob', connectionId: 'b1' },
        { userId: 'bob', connectionId: 'b2' },
      ]),
    );
    expect(registry.removed).toHaveLength(2);
    expect((await registry.connectionsOf('alice')).map((c) => c.connectionId)).toEqual(['a1']);
    expect(logger.warn).toHaveBeenCalledWith(
      'closing a connection failed',
      expect.objectContaining({ connectionId: 'b3' }),
    );
  });

  it('counts a closed connection whose item removal failed as closed, and still closes the others', async () => {
    const { registry, deps, logger } = fakes({ concurrency: 1 });
    await connect(registry, [
      ['bob', 'b1'],
      ['bob', 'b2'],
    ]);
    management.on(DeleteConnectionCommand).resolves({});
    const remove = registry.remove.bind(registry);
    jest.spyOn(registry, 'remove').mockImplementation(async (userId, connectionId) => {
      if (connectionId === 'b1') throw Object.assign(new Error('throttled'), { name: 'ThrottlingException' });
      return remove(userId, connectionId);
    });

    const result = await disconnectConnections(deps, 'bob');

    expect(result).toEqual({ disconnected: 2, failed: [] });
    expect(management).toHaveReceivedCommandWith(DeleteConnectionCommand, { ConnectionId: 'b2' });
    expect(registry.removed).toEqual([{ userId: 'bob', connectionId: 'b2' }]);
    expect(logger.warn).toHaveBeenCalledWith('removing a closed connection failed', {
      userId: 'bob',
      connectionId: 'b1',
      error: 'ThrottlingException',
    });
  });
});

describe('metric names', () => {
  it('are the ones observability declares', () => {
    expect(DeliveryMetric.delivered).toBe(MetricName.MessagesDelivered);
    expect(DeliveryMetric.staleRemoved).toBe(MetricName.StaleConnectionsRemoved);
    expect(DeliveryMetric.postsFailed).toBe(MetricName.PostsFailed);
  });
});

describe('bounded concurrency helpers', () => {
  it('mapBounded keeps order and the bound', async () => {
    let inFlight = 0;
    let peak = 0;
    const results = await mapBounded([5, 1, 4, 2, 3, 0], 2, async (delay, index) => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, delay));
      inFlight--;
      return index * 10;
    });
    expect(results).toEqual([0, 10, 20, 30, 40, 50]);
    expect(peak).toBe(2);
  });

  it('mapBounded rejects with the first failure', async () => {
    await expect(
      mapBounded([1, 2, 3], 2, async (n) => {
        if (n === 2) throw new Error('two');
        return n;
      }),
    ).rejects.toThrow('two');
  });

  it('BoundedPool makes submit wait for a slot, and drain rethrows a task failure', async () => {
    const pool = new BoundedPool(2);
    const release: Array<() => void> = [];
    const task = () => new Promise<void>((resolve) => release.push(resolve));
    await pool.submit(task);
    await pool.submit(task);
    let thirdStarted = false;
    const third = pool.submit(async () => {
      thirdStarted = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(thirdStarted).toBe(false);
    release.shift()?.();
    await third;
    expect(thirdStarted).toBe(true);
    release.shift()?.();
    await pool.submit(async () => {
      throw new Error('task failed');
    });
    await expect(pool.drain()).rejects.toThrow('task failed');
  });

  it('refuses a limit below 1', () => {
    expect(() => new BoundedPool(0)).toThrow('concurrency limit must be a positive integer, got 0');
  });
});
