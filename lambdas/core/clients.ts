import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { type Environment, optionalInteger, requireUrl, Setting } from './config';

/**
 * The AWS clients every function shares. Each is built once per process (on first use, which handlers do at
 * module scope, so a missing setting fails the cold start and names it) and reused by every invocation: building
 * a client per request throws away its keep-alive sockets and credentials cache.
 *
 * There is no "local" branch here. The local stack points the same code at dynalite through
 * `AWS_ENDPOINT_URL_DYNAMODB` (read by the SDK itself) and at the emulator through `CALLBACK_URL`.
 */

/** Posts in flight per invocation when `SEND_CONCURRENCY` is unset: 200 posts of 20 ms give 10,000 in 1 s. */
export const DEFAULT_SEND_CONCURRENCY = 200;
export const MAX_SEND_CONCURRENCY = 1000;

/** Time to open a socket to the management endpoint, and to wait for an answer on it. */
export const MANAGEMENT_CONNECT_TIMEOUT_MS = 3_000;
export const MANAGEMENT_REQUEST_TIMEOUT_MS = 10_000;

/** SDK standard retry mode with 3 attempts: throttling (429, LimitExceededException) is retried by the SDK. */
const retryOptions = { retryMode: 'standard', maxAttempts: 3 } as const;

/**
 * Reads `SEND_CONCURRENCY`, the bound on posts in flight, which also sizes the management client's socket pool.
 *
 * @example
 * readSendConcurrency({ SEND_CONCURRENCY: '50' }); // 50
 * readSendConcurrency({}); // DEFAULT_SEND_CONCURRENCY
 */
export function readSendConcurrency(env: Environment): number {
  return optionalInteger(env, Setting.sendConcurrency, DEFAULT_SEND_CONCURRENCY, {
    min: 1,
    max: MAX_SEND_CONCURRENCY,
  });
}

export interface ManagementClientConfig {
  /** The WebSocket stage's callback URL (AWS) or the emulator's `@connections` base URL (local). */
  endpoint: URL;
  /** Sockets kept open to the endpoint: at least the number of posts in flight, so none waits for a socket. */
  maxSockets: number;
}

/**
 * Reads the management client's settings: `CALLBACK_URL` (required) and `SEND_CONCURRENCY`.
 *
 * @example
 * readManagementClientConfig({ CALLBACK_URL: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod' });
 * // { endpoint: URL(...), maxSockets: 200 }
 */
export function readManagementClientConfig(env: Environment): ManagementClientConfig {
  return { endpoint: requireUrl(env, Setting.callbackUrl), maxSockets: readSendConcurrency(env) };
}

/**
 * Builds a DynamoDB document client. `removeUndefinedValues` lets optional fields be left undefined in items.
 *
 * @example
 * const client = createDocumentClient(); // endpoint from AWS_ENDPOINT_URL_DYNAMODB when set
 * const local = createDocumentClient({ endpoint: 'http://127.0.0.1:4567', region: 'local' });
 */
export function createDocumentClient(
  options: { endpoint?: string; region?: string; credentials?: { accessKeyId: string; secretAccessKey: string } } = {},
): DynamoDBDocumentClient {
  const client = new DynamoDBClient({ ...retryOptions, ...options });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * Builds a management API client for `@connections` (post, get, delete) with a keep-alive socket pool sized
 * for the posts in flight. Both agents are set because the local emulator answers on plain HTTP.
 *
 * @example
 * const client = createManagementClient({ endpoint: new URL('http://127.0.0.1:3001/local'), maxSockets: 200 });
 * await client.send(new PostToConnectionCommand({ ConnectionId: id, Data: JSON.stringify(envelope) }));
 */
export function createManagementClient(config: ManagementClientConfig): ApiGatewayManagementApiClient {
  const agentOptions = { keepAlive: true, maxSockets: config.maxSockets };
  return new ApiGatewayManagementApiClient({
    ...retryOptions,
    endpoint: config.endpoint.toString(),
    // A broadcast posts thousands of times through one client and is CPU-bound in the SDK's request pipeline;
    // caching the resolved middleware stack cut client CPU per post by about 20% in bench/broadcast-core.ts.
    cacheMiddleware: true,
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      // A post that hangs would hold one of the bounded slots until the invocation times out; time it out
      // instead (the SDK retries a timeout like any transient error).
      connectionTimeout: MANAGEMENT_CONNECT_TIMEOUT_MS,
      requestTimeout: MANAGEMENT_REQUEST_TIMEOUT_MS,
    }),
  });
}

let documentClient: DynamoDBDocumentClient | undefined;
let managementClient: ApiGatewayManagementApiClient | undefined;

/**
 * The process's one DynamoDB document client.
 *
 * @example
 * const registry = createConnectionRegistry({ client: getDocumentClient(), ...readRegistryConfig(process.env) });
 */
export function getDocumentClient(): DynamoDBDocumentClient {
  documentClient ??= createDocumentClient();
  return documentClient;
}

/**
 * The process's one management API client, pointed at `CALLBACK_URL` (never rebuilt from an event's
 * `domainName`: the local emulator and custom domains would both break that). Throws a ConfigurationError
 * naming `CALLBACK_URL` when it is missing; call it at module scope so that happens at cold start.
 *
 * @example
 * const managementClient = getManagementClient();
 */
export function getManagementClient(env: Environment = process.env): ApiGatewayManagementApiClient {
  managementClient ??= createManagementClient(readManagementClientConfig(env));
  return managementClient;
}
