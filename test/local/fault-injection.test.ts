// The local stack's injected faults (local/README.md, "Fault injection"), each checked against the real SDK clients:
// what API Gateway and DynamoDB answer when these things happen, and that the emulator keeps API Gateway's contract
// while it injects them. Sources: "$disconnect is best effort" and 410 GoneException for a connection that is gone
// (API Gateway developer guide, "Use @connections commands in your backend service" and "Manage connected users and
// client apps: $connect and $disconnect routes"); 429 LimitExceededException (the ApiGatewayManagementApi model);
// ProvisionedThroughputExceededException (400) and InternalServerError (500) with `__type` (DynamoDB developer guide,
// "Error handling with DynamoDB"); `amz-sdk-request: attempt=N; max=M` (the SDK's standard retry strategy).
import {
  ApiGatewayManagementApiClient,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { parseStartArguments } from '../../local/cli-arguments';
import { type DynamoFaultProxy, startDynamoFaultProxy } from '../../local/dynamo-fault-proxy';
import { FaultInjector } from '../../local/emulator/faults';
import type { WebSocketRouteTarget } from '../../local/emulator/websocket-api';
import { type LocalDynamo, localCredentials, startLocalDynamo } from '../../local/local-dynamo';
import {
  closed,
  nextFrame,
  openClient,
  type RunningWebSocketApi,
  recording,
  startWebSocketApi,
  testCredentials,
} from './harness';

describe('FaultInjector', () => {
  it('draws the same decisions from the same seed, and none once switched off', () => {
    const draw = (faults: FaultInjector) =>
      Array.from({ length: 200 }, (_, index) => faults.dropsDisconnect(`c${index}`));
    const first = new FaultInjector({ seed: 7, dropDisconnect: 0.2 });
    const again = new FaultInjector({ seed: 7, dropDisconnect: 0.2 });
    const off = new FaultInjector({ seed: 7, dropDisconnect: 0.2 });
    off.enabled = false;

    const decisions = draw(first);

    expect(draw(again)).toEqual(decisions);
    expect(decisions.filter(Boolean).length).toBe(first.counts.droppedDisconnects);
    expect(first.counts.droppedDisconnects).toBeGreaterThan(0);
    expect(draw(off).some(Boolean)).toBe(false);
    expect(first.describe()).toBe('faults: seed=7 dropDisconnect=0.2');
  });

  it('refuses a share outside 0 to 1 and a rate that is not positive, naming the fault', () => {
    expect(() => new FaultInjector({ gonePosts: 1.5 })).toThrow('fault gonePosts must be a share from 0 to 1, got 1.5');
    expect(() => new FaultInjector({ postsPerSecond: 0 })).toThrow('fault postsPerSecond must be a positive number');
  });
});

describe('faults in the WebSocket emulator and @connections', () => {
  let api: RunningWebSocketApi | undefined;
  const disconnect = recording('disconnect', () => ({ statusCode: 200 }));

  async function start(faults: FaultInjector): Promise<RunningWebSocketApi> {
    disconnect.events.length = 0;
    const connect = recording('connect', () => ({ statusCode: 200 }));
    const hello = recording('hello', (event) => ({
      statusCode: 200,
      body: JSON.stringify({
        connectionId: (event as { requestContext: { connectionId: string } }).requestContext.connectionId,
      }),
    }));
    api = await startWebSocketApi({
      faults,
      routes: new Map<string, WebSocketRouteTarget>([
        ['$connect', { invoker: connect.invoker, returnResponse: false }],
        ['$disconnect', { invoker: disconnect.invoker, returnResponse: false }],
        ['$default', { invoker: hello.invoker, returnResponse: true }],
      ]),
    });
    return api;
  }

  async function connectionIdOf(socket: import('ws').WebSocket): Promise<string> {
    socket.send('{}');
    return String((await nextFrame(socket)).connectionId);
  }

  const management = (endpoint: string) =>
    new ApiGatewayManagementApiClient({ endpoint, region: 'us-east-1', credentials: testCredentials, maxAttempts: 1 });

  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it('drops $disconnect and still closes the socket', async () => {
    const faults = new FaultInjector({ seed: 1, dropDisconnect: 1 });
    const running = await start(faults);
    const socket = await openClient(running.url);
    const connectionId = await connectionIdOf(socket);

    socket.close(1000);
    expect(await closed(socket)).toBe(1000);
    await running.emulator.settle();

    expect(disconnect.events).toEqual([]);
    expect(faults.disconnectsDropped).toEqual(new Set([connectionId]));
    expect(running.emulator.pool.size).toBe(0);
  });

  it('answers 410 for a live connection it makes vanish: socket killed without a close frame, no $disconnect, 410 after', async () => {
    const faults = new FaultInjector({ seed: 1, gonePosts: 1 });
    const running = await start(faults);
    const socket = await openClient(running.url);
    const connectionId = await connectionIdOf(socket);
    const client = management(running.callbackUrl);

    await expect(
      client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{}' })),
    ).rejects.toBeInstanceOf(GoneException);
    // No close frame reached the client: a network loss (1006).
    expect(await closed(socket)).toBe(1006);
    faults.enabled = false;
    await expect(
      client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{}' })),
    ).rejects.toBeInstanceOf(GoneException);
    await running.emulator.settle();

    expect(disconnect.events).toEqual([]);
    expect(faults.vanished).toEqual(new Set([connectionId]));
  });

  it('answers 429 LimitExceededException above the account rate, and posts again once a token is back', async () => {
    const faults = new FaultInjector({ seed: 1, postsPerSecond: 2 });
    const running = await start(faults);
    const socket = await openClient(running.url);
    const connectionId = await connectionIdOf(socket);
    const client = management(running.callbackUrl);
    const post = () => client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: '{"n":1}' }));

    await post();
    await post();
    await expect(post()).rejects.toBeInstanceOf(LimitExceededException);
    await new Promise((resolve) => setTimeout(resolve, 600));
    await post();

    expect(faults.counts.throttledPosts).toBe(1);
  });
});

describe('the DynamoDB fault proxy with the real SDK', () => {
  let dynamo: LocalDynamo;
  let proxy: DynamoFaultProxy | undefined;

  beforeAll(async () => {
    dynamo = await startLocalDynamo();
  });

  afterEach(async () => {
    await proxy?.stop();
    proxy = undefined;
  });

  afterAll(async () => {
    await dynamo.stop();
  });

  /** As the handlers' client retries (lambdas/core/clients.ts: standard mode, 3 attempts), without its backoff wait. */
  const clientOf = (endpoint: string) =>
    new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: localCredentials,
      retryMode: 'standard',
      maxAttempts: 3,
    });

  it.each([
    ['dynamoThrottle', 'ProvisionedThroughputExceededException', 'throttledDynamo'],
    ['dynamoFail', 'InternalServerError', 'failedDynamo'],
  ] as const)(
    '%s: the SDK retries each call 3 times and then throws %s',
    async (fault, errorName, counter) => {
      const faults = new FaultInjector({ seed: 1, [fault]: 1 });
      proxy = await startDynamoFaultProxy(dynamo.endpoint, faults);

      const error = await clientOf(proxy.endpoint)
        .send(new ListTablesCommand({}))
        .catch((caught: unknown) => caught as Error & { $metadata: { attempts?: number } });

      expect(error).toMatchObject({ name: errorName, $metadata: { attempts: 3 } });
      expect(faults.counts[counter]).toBe(3);
      expect(faults.counts.exhaustedDynamoCalls).toBe(1);
    },
    20_000,
  );

  it('forwards every call to dynalite when no fault strikes', async () => {
    const faults = new FaultInjector({ seed: 1, dynamoThrottle: 1 });
    faults.enabled = false;
    proxy = await startDynamoFaultProxy(dynamo.endpoint, faults);

    const answer = await clientOf(proxy.endpoint).send(new ListTablesCommand({}));

    expect(answer.TableNames).toEqual([]);
    expect(faults.counts).toMatchObject({ throttledDynamo: 0, exhaustedDynamoCalls: 0 });
  });
});

describe('npm start fault flags', () => {
  it('reads every fault flag into the stack options, and none means no faults', () => {
    const argv = ['--fault-seed', '42', '--drop-disconnect', '0.2', '--gone-posts', '0.05', '--posts-per-second', '40'];
    argv.push('--dynamo-throttle', '0.05', '--dynamo-fail', '0.01', '--fan-out-faults', '[]');

    expect(parseStartArguments(argv)).toMatchObject({
      faults: {
        seed: 42,
        dropDisconnect: 0.2,
        gonePosts: 0.05,
        postsPerSecond: 40,
        dynamoThrottle: 0.05,
        dynamoFail: 0.01,
      },
      fanOutFaults: '[]',
    });
    expect(parseStartArguments([])).not.toHaveProperty('faults');
  });

  it.each([
    [['--drop-disconnect', '20%'], /--drop-disconnect must be a share from 0 to 1, got "20%"/],
    [['--gone-posts', '1.5'], /--gone-posts must be a share from 0 to 1/],
    [['--posts-per-second', '0'], /--posts-per-second must be a positive number/],
    [['--fault-seed', '1.5'], /--fault-seed must be a non-negative integer/],
  ])('refuses %p naming the flag', (argv, message) => {
    expect(() => parseStartArguments(argv)).toThrow(message);
  });
});
