import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { SQSBatchResponse } from 'aws-lambda';
import {
  type FunctionName,
  httpRoutes,
  isHttpDefaultRoute,
  type QueueName,
  queues,
  routeSelectionExpression,
  schedules,
  VISIBILITY_TIMEOUT_PER_CONSUMER_TIMEOUT,
  webSocketRoutes,
} from '../lambdas/routes';
import { type LocalCredentials, readOrCreateDevCredentials } from './dev-credentials';
import { readOrCreateDevSecret } from './dev-secret';
import { type DemoTokens, demoTokenTtl, parseTtlSeconds, signDemoTokens } from './dev-tokens';
import { type DynamoFaultProxy, startDynamoFaultProxy } from './dynamo-fault-proxy';
import { localHttpApi, localWebSocketApi } from './emulator/api-identity';
import { handleConnectionsRequest } from './emulator/connections-api';
import { type LocalEventBridge, startLocalEventBridge } from './emulator/eventbridge/event-bus-server';
import { FaultInjector, type FaultOptions } from './emulator/faults';
import { HttpApiEmulator } from './emulator/http-api';
import type { LambdaInvoker } from './emulator/lambda-runner';
import { createSigV4Verifier } from './emulator/sigv4-verifier';
import { type EventSourceMapping, startEventSourceMapping } from './emulator/sqs/event-source-mapping';
import type { QueueDeclaration as LocalQueueDeclaration } from './emulator/sqs/local-queue';
import { type LocalSqs, startLocalSqs } from './emulator/sqs/sqs-server';
import { WebSocketEmulator, type WebSocketRouteTarget } from './emulator/websocket-api';
import { localFunctionEnvironment, runtimeEnvironment } from './lambda-environment';
import {
  createConnectionTable,
  createFanOutTable,
  createMessageLogTable,
  createRoomTable,
  localRegion,
  startLocalDynamo,
} from './local-dynamo';
import { createLocalPages, isLoopbackHost } from './local-pages';
import { devCredentialsFile, devSecretFile, rootDir } from './local-paths';
import { loadRouteFunctions } from './route-functions';

export interface LocalStackOptions {
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** WebSocket API and `@connections`; 0 picks a free port. @default 8090 */
  wsPort?: number;
  /**
   * HTTP API routes, and beside them `websocket-client.html` at `/`, the client adapter at `/client/index.js`
   * and (on a loopback host only) `/local-config.json`; 0 picks a free port. @default 8091
   */
  httpPort?: number;
  /** Persist dynalite in this folder. @default - in memory */
  dataDir?: string;
  /** HS256 signing secret. @default - generated on first start and kept in the git-ignored `.local/dev-secret` */
  jwtSecret?: string;
  /**
   * The access key pair the functions get (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`) and the only one whose
   * SigV4 signature `@connections` accepts.
   * @default - generated on first start and kept in the git-ignored `.local/dev-credentials.json`
   */
  credentials?: LocalCredentials;
  /** Extra Lambda settings (e.g. `ALLOWED_ORIGINS`), same names as on AWS, given to every function. */
  environment?: Record<string, string>;
  /** @default 600000 (API Gateway's 10 minutes) */
  idleTimeoutMs?: number;
  /** @default 7200000 (API Gateway's 2 hours) */
  maxConnectionMs?: number;
  /** Handlers log errors only. @default false */
  quiet?: boolean;
  /**
   * The timeout of each queue's consumer (the broadcast worker), in ms; the queue's visibility timeout is six times
   * it, as on AWS. Tests shorten it so that a crashed slice comes back within seconds, not half an hour.
   * @default - the route table's declared timeout (300 s)
   */
  queueConsumerTimeoutMs?: number;
  /**
   * Faults injected on purpose (dropped `$disconnect`, vanished connections and throttling on `@connections`,
   * throttled and failing DynamoDB calls), drawn from one seeded generator; see local/README.md. A worker crash is the
   * `FAN_OUT_FAULTS` setting, in `environment`.
   * @default - none
   */
  faults?: FaultOptions;
  /**
   * Milliseconds between two runs of each scheduled function (the route table's `schedules`: the Engine.IO ping
   * sweep). Tests shorten it to watch a sweep; 0 runs none.
   * @default - the schedule's declared rate (5 minutes)
   */
  scheduleIntervalMs?: number;
  /**
   * Completion events (`Broadcast Completed`, docs/fan-out.md), put on the default bus of the local EventBridge
   * stand-in (`LocalStack.eventBridge`), as the construct does on AWS; `false` leaves `COMPLETION_EVENT_BUS` unset.
   * @default true
   */
  completionEvents?: boolean;
}

export interface LocalStack {
  /** The stage URL, e.g. `ws://127.0.0.1:8090/local`: like API Gateway, the WebSocket API answers on `/{stage}` only. */
  wsUrl: string;
  /** e.g. `http://127.0.0.1:8091` */
  httpUrl: string;
  /** e.g. `http://127.0.0.1:8090/@connections` */
  connectionsUrl: string;
  jwtSecret: string;
  /**
   * The key pair `@connections` accepts signatures of, with `region`: what a backend or a script needs besides the
   * callback URL (the handlers already get it, as `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`).
   */
  credentials: LocalCredentials;
  /** The region to sign `@connections` calls for (`execute-api` in this region). */
  region: string;
  tableName: string;
  dynamoEndpoint: string;
  /** The fan-out state table (broadcast status, slice checkpoints, post budget windows). */
  fanOutTableName: string;
  /** The room index (`roomTableSchema`). */
  roomTableName: string;
  /** The message log table (resume, offline delivery). */
  messageLogTableName: string;
  /** The local SQS: its endpoint (`AWS_ENDPOINT_URL_SQS` of the functions), queues and their counts. */
  sqs: LocalSqs;
  /**
   * The local EventBridge (`AWS_ENDPOINT_URL_EVENTBRIDGE` of the functions): the completion events the worker put,
   * as a rule's target would receive them.
   */
  eventBridge: LocalEventBridge;
  /** Each declared queue's local name, and its dead-letter queue's. */
  queueNames: Record<QueueName, { queue: string; deadLetterQueue: string }>;
  /**
   * The demo tokens (`user123`, `user456`, `user789`, `admin`) that `npm start` prints and `/local-config.json`
   * serves: signed once, and again once half their lifetime has passed.
   */
  demoTokens(): Promise<DemoTokens>;
  /**
   * The injected faults (their seed, counts, and the switch that turns them off), when `faults` was given. The
   * functions reach dynalite through a fault proxy then; `dynamoEndpoint` stays dynalite's own, without faults.
   */
  faults?: FaultInjector;
  /** The WebSocket connections open right now (what `@connections` can reach), for a soak to compare with the registry. */
  openConnectionCount(): number;
  /** Closes sockets with 1001, runs `$disconnect` for each, stops the servers and dynalite. */
  stop(): Promise<void>;
}

export const localTableName = 'realtime-gateway-connections';
export const localFanOutTableName = 'realtime-gateway-fan-out';
export const localRoomTableName = 'realtime-gateway-rooms';
export const localMessageLogTableName = 'realtime-gateway-message-log';

/** The local queues of the route table's `queues`: each with its DLQ, named after the declaration. */
function localQueueNames(): Record<QueueName, { queue: string; deadLetterQueue: string }> {
  return Object.fromEntries(
    Object.keys(queues).map((name) => [name, { queue: name, deadLetterQueue: `${name}-dlq` }]),
  ) as Record<QueueName, { queue: string; deadLetterQueue: string }>;
}
/**
 * The page the HTTP port serves, under both loopback names. A page opened from a file (`Origin: null`) is not in
 * the default: the authorizer's origin check admits the opaque origin only under `ALLOWED_ORIGINS=*`, because
 * any sandboxed frame can send it.
 */
export const defaultAllowedOrigins = (httpPort: number) => [
  `http://localhost:${httpPort}`,
  `http://127.0.0.1:${httpPort}`,
];
/** The construct's default `authorizerCacheTtl` (lib/realtime-gateway.ts), so caching behaves as deployed. */
const HTTP_AUTHORIZER_CACHE_TTL_MS = 300_000;

/**
 * Handler modules are loaded once per process (their clients and settings, such as the dynalite endpoint and the
 * callback URL, are fixed at module load, as in a Lambda container), so a process can start the local stack once.
 * A second start would run handlers still pointed at the first stack's ports; it is refused instead.
 * (Each jest test file has its own module registry, so each test file may start one.)
 */
let started = false;

/**
 * Starts the whole product on this machine: dynalite with the registry table, every handler of the route table
 * behind a WebSocket API emulator (with `@connections` on the same port) and an HTTP API emulator.
 *
 * @example
 * const stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: true });
 * const token = await signDevToken(stack.jwtSecret, 'user123');
 * const socket = new WebSocket(stack.wsUrl, { headers: { Authorization: `Bearer ${token}` } });
 * // ...
 * await stack.stop();
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  if (started) {
    throw new Error(
      'a local stack was already started in this process: handler modules load once per process, with the first ' +
        "stack's endpoints; start another process (or jest test file) for another stack",
    );
  }
  started = true;
  const host = options.host ?? '127.0.0.1';
  const jwtSecret = options.jwtSecret ?? (await readOrCreateDevSecret(devSecretFile));
  // One pair for the whole stack: the functions sign with it and @connections verifies against it.
  const credentials = options.credentials ?? (await readOrCreateDevCredentials(devCredentialsFile));
  const savedEnvironment = { ...process.env };

  const dynamo = await startLocalDynamo({ dataDir: options.dataDir });
  const wsServer = createServer();
  const httpServer = createServer();
  const queueNames = localQueueNames();
  let sqs: LocalSqs | undefined;
  let eventBridge: LocalEventBridge | undefined;
  let dynamoProxy: DynamoFaultProxy | undefined;
  const faults = options.faults && new FaultInjector(options.faults);
  const mappings: EventSourceMapping[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    await createConnectionTable(dynamo.endpoint, localTableName);
    await createFanOutTable(dynamo.endpoint, localFanOutTableName);
    await createRoomTable(dynamo.endpoint, localRoomTableName);
    await createMessageLogTable(dynamo.endpoint, localMessageLogTableName);
    // The queues of the route table, with the settings the construct gives them; the functions sign with the stack's
    // key pair, which the local SQS checks like @connections does.
    sqs = await startLocalSqs({
      // Only the in-process functions use it: loopback, whatever interface the APIs listen on.
      host: '127.0.0.1',
      region: localRegion,
      credentials,
      queues: Object.entries(queues).flatMap(([name, declaration]): LocalQueueDeclaration[] => {
        const names = queueNames[name as QueueName];
        const consumerTimeoutSeconds =
          options.queueConsumerTimeoutMs === undefined
            ? declaration.consumer.timeoutSeconds
            : options.queueConsumerTimeoutMs / 1000;
        const visibilityTimeoutSeconds = consumerTimeoutSeconds * VISIBILITY_TIMEOUT_PER_CONSUMER_TIMEOUT;
        return [
          {
            name: names.queue,
            visibilityTimeoutSeconds,
            redrive: { deadLetterQueueName: names.deadLetterQueue, maxReceiveCount: declaration.maxReceiveCount },
          },
          {
            name: names.deadLetterQueue,
            visibilityTimeoutSeconds,
            messageRetentionSeconds: declaration.deadLetterRetentionDays * 24 * 3600,
          },
        ];
      }),
    });
    const localSqs = sqs;
    // The worker's completion events: signed with the stack's key pair, checked like SQS and @connections.
    eventBridge = await startLocalEventBridge({ host: '127.0.0.1', region: localRegion, credentials });
    const localEventBridge = eventBridge;
    if (!options.quiet) {
      localEventBridge.onEvent((event) =>
        console.error(
          `[events] ${event['detail-type']} (${event.source}) on ${event.eventBusName}: ${JSON.stringify(event.detail)}`,
        ),
      );
    }
    const { dynamoThrottle, dynamoFail } = options.faults ?? {};
    if (faults && (dynamoThrottle || dynamoFail)) dynamoProxy = await startDynamoFaultProxy(dynamo.endpoint, faults);
    const functionsDynamoEndpoint = dynamoProxy?.endpoint ?? dynamo.endpoint;
    const wsPort = await listen(wsServer, host, options.wsPort ?? 8090);
    const httpPort = await listen(httpServer, host, options.httpPort ?? 8091);
    // Handlers and clients reach the servers over loopback even when they listen on every interface.
    const reachableHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
    const urlHost = reachableHost.includes(':') ? `[${reachableHost}]` : reachableHost;
    const callbackUrl = `http://${urlHost}:${wsPort}`;
    const allowedOrigins = (options.environment?.ALLOWED_ORIGINS ?? defaultAllowedOrigins(httpPort).join(','))
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin.length > 0);

    const invokers = await loadRouteFunctions(
      rootDir,
      {
        ...runtimeEnvironment(functionsDynamoEndpoint, credentials),
        AWS_ENDPOINT_URL_SQS: localSqs.endpoint,
        AWS_ENDPOINT_URL_EVENTBRIDGE: localEventBridge.endpoint,
      },
      (name) =>
        localFunctionEnvironment(name, {
          tableName: localTableName,
          fanOutTableName: localFanOutTableName,
          roomTableName: localRoomTableName,
          messageLogTableName: localMessageLogTableName,
          queueUrls: Object.fromEntries(
            Object.entries(queueNames).map(([queue, names]) => [queue, localSqs.queueUrl(names.queue)]),
          ) as Record<QueueName, string>,
          dynamoEndpoint: functionsDynamoEndpoint,
          callbackUrl,
          jwtSecret,
          allowedOrigins,
          logLevel: options.quiet ? 'ERROR' : 'INFO',
          completionEventBus: (options.completionEvents ?? true) ? 'default' : undefined,
          extra: options.environment,
        }),
      { consumerTimeoutMs: options.queueConsumerTimeoutMs },
    );
    const invoker = (name: FunctionName): LambdaInvoker => invokers.get(name)!;
    // Each queue feeds its consumer as the construct's event source mapping does.
    for (const [name, declaration] of Object.entries(queues)) {
      const consumer = invoker(declaration.consumer.function);
      mappings.push(
        startEventSourceMapping({
          sqs: localSqs,
          queueName: queueNames[name as QueueName].queue,
          batchSize: declaration.consumer.batchSize,
          maxConcurrency: declaration.consumer.maxConcurrency,
          reportBatchItemFailures: true,
          invoke: async (event) => (await consumer.invoke(event)) as SQSBatchResponse,
          onInvocationError: options.quiet
            ? undefined
            : (error) => console.error(`[sqs] ${declaration.consumer.function} failed: ${(error as Error).message}`),
        }),
      );
    }

    // Each schedule runs its function as the construct's EventBridge rule does (a `Scheduled Event`).
    for (const [name, schedule] of Object.entries(schedules)) {
      const periodMs = options.scheduleIntervalMs ?? schedule.rateMinutes * 60_000;
      if (periodMs <= 0) continue;
      const scheduled = invoker(schedule.function);
      const timer = setInterval(() => {
        scheduled.invoke(scheduledEvent(name)).catch((error: unknown) => {
          if (!options.quiet) console.error(`[schedule] ${schedule.function} failed: ${(error as Error).message}`);
        });
      }, periodMs);
      timer.unref();
      timers.push(timer);
    }

    const webSocketApi = new WebSocketEmulator({
      api: localWebSocketApi,
      authorizer: invoker('wsAuthorizer'),
      routes: new Map<string, WebSocketRouteTarget>(
        webSocketRoutes.map((route) => [
          route.routeKey,
          { invoker: invoker(route.function), returnResponse: route.returnResponse },
        ]),
      ),
      routeSelectionExpression,
      idleTimeoutMs: options.idleTimeoutMs ?? 10 * 60_000,
      maxConnectionMs: options.maxConnectionMs ?? 2 * 3_600_000,
      faults,
      log: options.quiet ? undefined : (line) => console.error(`[emulator] ${line}`),
    });
    wsServer.on('upgrade', (request, socket, head) => webSocketApi.handleUpgrade(request, socket, head));
    const verify = createSigV4Verifier({ credentials, region: localRegion, service: 'execute-api' });
    wsServer.on('request', (request, response) => {
      if (handleConnectionsRequest(webSocketApi.pool, request, response, verify, faults)) return;
      response.writeHead(426, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ message: 'Upgrade Required' }));
    });

    const demoTokens = renewingDemoTokens(jwtSecret);
    const wsUrl = `ws://${urlHost}:${wsPort}/${localWebSocketApi.stage}`;
    const httpUrl = `http://${urlHost}:${httpPort}`;
    const defaultRoute = httpRoutes.find(isHttpDefaultRoute);
    const httpApi = new HttpApiEmulator({
      api: localHttpApi,
      routes: httpRoutes.flatMap((route) =>
        isHttpDefaultRoute(route) ? [] : [{ method: route.method, path: route.path, target: invoker(route.function) }],
      ),
      defaultRoute: defaultRoute && invoker(defaultRoute.function),
      authorizer: invoker('httpAuthorizer'),
      authorizerCacheTtlMs: HTTP_AUTHORIZER_CACHE_TTL_MS,
      cors: {
        allowOrigins: allowedOrigins,
        allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
        allowHeaders: ['authorization', 'content-type'],
        maxAgeSeconds: 600,
      },
      localPages: createLocalPages({
        indexFile: resolve(rootDir, 'websocket-client.html'),
        clientEntry: resolve(rootDir, 'client', 'index.ts'),
        // It hands out signed tokens: only to this machine, never on an interface other machines can reach.
        localConfig: isLoopbackHost(host) ? async () => ({ wsUrl, httpUrl, tokens: await demoTokens() }) : undefined,
      }),
    });
    httpServer.on('request', (request, response) => void httpApi.handle(request, response));

    let stopping: Promise<void> | undefined;
    return {
      wsUrl,
      httpUrl,
      connectionsUrl: `${callbackUrl}/@connections`,
      jwtSecret,
      credentials,
      region: localRegion,
      tableName: localTableName,
      dynamoEndpoint: dynamo.endpoint,
      fanOutTableName: localFanOutTableName,
      roomTableName: localRoomTableName,
      messageLogTableName: localMessageLogTableName,
      sqs: localSqs,
      eventBridge: localEventBridge,
      queueNames,
      demoTokens,
      faults,
      openConnectionCount: () => webSocketApi.pool.size,
      stop() {
        stopping ??= (async () => {
          // Shutdown closes every socket with its $disconnect: no fault then.
          if (faults) faults.enabled = false;
          for (const timer of timers) clearInterval(timer);
          await Promise.all(mappings.map((mapping) => mapping.stop()));
          await localSqs.stop();
          await localEventBridge.stop();
          await webSocketApi.closeAll(1001);
          await Promise.all([close(wsServer), close(httpServer)]);
          await dynamoProxy?.stop();
          await dynamo.stop();
          restoreEnvironment(savedEnvironment);
        })();
        return stopping;
      },
    };
  } catch (error) {
    for (const timer of timers) clearInterval(timer);
    await Promise.allSettled([
      ...mappings.map((mapping) => mapping.stop()),
      sqs?.stop(),
      eventBridge?.stop(),
      close(wsServer),
      close(httpServer),
      dynamoProxy?.stop(),
      dynamo.stop(),
    ]);
    restoreEnvironment(savedEnvironment);
    throw error;
  }
}

/** The demo tokens, signed on first use and again once half their lifetime has passed. */
function renewingDemoTokens(jwtSecret: string): () => Promise<DemoTokens> {
  const renewAfterMs = (parseTtlSeconds(demoTokenTtl) * 1000) / 2;
  let current: { signedAt: number; tokens: Promise<DemoTokens> } | undefined;
  return () => {
    if (!current || Date.now() - current.signedAt > renewAfterMs) {
      current = { signedAt: Date.now(), tokens: signDemoTokens(jwtSecret) };
    }
    return current.tokens;
  };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new Error(`port ${port} on ${host} is already in use`) : error);
    });
    server.listen(port, host, () => resolvePort((server.address() as AddressInfo).port));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolveClose) => {
    if (!server.listening) return resolveClose();
    server.closeAllConnections();
    server.close(() => resolveClose());
  });
}

function restoreEnvironment(saved: NodeJS.ProcessEnv): void {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
}

/**
 * The settings a Node backend gives the server library (`WebSocketService`) to use this local stack as it would a
 * deployed stage: the stack's own key pair and region (its `@connections` checks SigV4 against them), dynalite as
 * DynamoDB, the registry table, the room index and the callback URL.
 *
 * @example
 * execFile(process.execPath, ['backend.mjs'], { env: { PATH: process.env.PATH, ...serverLibraryEnvironment(stack) } });
 */
export function serverLibraryEnvironment(stack: LocalStack): Record<string, string> {
  return {
    AWS_REGION: stack.region,
    AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: stack.dynamoEndpoint,
    TABLE_NAME: stack.tableName,
    ROOM_TABLE_NAME: stack.roomTableName,
    CALLBACK_URL: stack.connectionsUrl.replace(/\/@connections$/, ''),
  };
}

/** An EventBridge scheduled event, shaped as the rule delivers it (EventBridge user guide, "Scheduled events"). */
function scheduledEvent(ruleName: string): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-east-1',
    resources: [`arn:aws:events:us-east-1:123456789012:rule/${ruleName}`],
    detail: {},
  };
}
