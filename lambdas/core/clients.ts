import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Environment, optionalInteger, requireUrl, Setting } from './config';
import {
  removeStepsPostsDoNotNeed,
  resolveEndpointOnce,
  serializePostsDirectly,
  signWithCachedKey,
  useStaticUserAgent,
} from './management-pipeline';
import { UndiciHttpHandler } from './undici-handler';

export { formatUserAgentSection } from './management-pipeline';

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

/**
 * Sockets the management client's pool may open per post in flight. undici does not write a request on a socket
 * the moment that socket's previous answer has been read: with one request per socket it lets the socket rest until
 * the event loop's check phase (`setImmediate`), and before writing on an idle kept-alive socket it waits one more
 * check phase for any stray bytes the server sent on it (its idle-socket validation, GHSA-35p6-xmwp-9g52, kept).
 * With exactly as many sockets as posts in flight, the post a slot starts when its previous post is answered
 * finds no rested socket, queues in the pool, and goes out two event-loop turns later; with spare sockets it takes
 * one that rested during an earlier turn and goes out one turn later. At 200 posts in flight a turn lasts as long
 * as the client takes to handle the answers that arrived together (about a millisecond here), added to every round
 * trip: `bench/broadcast-core.ts --trace` shows the wait. The pool opens the spares only when a post finds no
 * rested socket.
 */
export const MANAGEMENT_SOCKETS_PER_POST = 2;

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
  /**
   * Posts in flight the client serves without queueing (`SEND_CONCURRENCY`); its pool may open
   * {@link MANAGEMENT_SOCKETS_PER_POST} times as many sockets.
   */
  maxSockets: number;
  /** Milliseconds one attempt may wait for its answer before it fails with a TimeoutError (retried by the SDK). */
  requestTimeoutMs?: number;
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
 * Builds a management API client for `@connections` (post, get, delete) on a keep-alive pool of up to
 * `maxSockets` × {@link MANAGEMENT_SOCKETS_PER_POST} sockets, tuned for a broadcast's thousands of posts (issue 10) while keeping what the SDK does for correctness:
 * SigV4 signing, standard retries (throttling retried, 3 attempts), clock-skew correction, modelled errors
 * (`GoneException`, `$metadata.httpStatusCode`).
 *
 * Where the SDK's time went (`node --cpu-prof` over bench/broadcast-core.ts: 10,000 posts, 20 ms endpoint, 200 in
 * flight, ~220 µs of client CPU per post with the earlier tuning of cached middleware, one signer, static user
 * agent; self time, start-up excluded): Node's `http` client, its agent and the socket writes 42%, the schema
 * serializer and deserializer 14% (each request copies the whole client configuration into a context and walks the
 * operation's schema), SigV4 11% (a `SignatureV4` signing nine headers, checking its key cache through an HMAC of
 * the secret), garbage collection 10%, promise machinery 5%, endpoint resolution 4% (rules, four configuration
 * providers and a URL parse per request), retries 3%, user-agent / host / recursion-detection / logger steps 2%.
 * Hence: undici as the request handler ({@link UndiciHttpHandler}; the pipeline below costs about 130 µs per post
 * on the SDK's NodeHttpHandler, 55 on undici), and `management-pipeline.ts`: the endpoint resolved once, PostToConnection (de)serialized
 * directly (errors still by the SDK), a signer with the day's key cached that signs only the headers SigV4 requires,
 * the steps a post does not need removed. `npx tsx bench/broadcast-core.ts` prints today's client, this one and the
 * raw floor (SigV4 + undici, no SDK) side by side: about 220, 60 and 40 µs per post here. Measured and not kept:
 * a leaner auth-scheme step (about 2 µs less, but it would bypass the SDK's scheme and identity resolution).
 *
 * A `Data` given as a `Uint8Array` must not be changed after it is first sent through the client: its SHA-256 is
 * computed once per array. The delivery core encodes each envelope once and never changes it.
 *
 * @example
 * const client = createManagementClient({ endpoint: new URL('http://127.0.0.1:3001/local'), maxSockets: 200 });
 * await client.send(new PostToConnectionCommand({ ConnectionId: id, Data: JSON.stringify(envelope) }));
 */
export function createManagementClient(config: ManagementClientConfig): ApiGatewayManagementApiClient {
  const client = new ApiGatewayManagementApiClient({
    ...retryOptions,
    endpoint: config.endpoint.toString(),
    // Resolves the middleware stack once per command class instead of once per send: about 20% less CPU per post.
    cacheMiddleware: true,
    // A post that hangs would hold one of the bounded slots until the invocation times out; time it out instead
    // (a TimeoutError, which the SDK retries like any transient error).
    requestHandler: new UndiciHttpHandler(config.endpoint, {
      connections: config.maxSockets * MANAGEMENT_SOCKETS_PER_POST,
      connectTimeoutMs: MANAGEMENT_CONNECT_TIMEOUT_MS,
      requestTimeoutMs: config.requestTimeoutMs ?? MANAGEMENT_REQUEST_TIMEOUT_MS,
    }),
  });
  resolveEndpointOnce(client, config.endpoint);
  serializePostsDirectly(client);
  signWithCachedKey(client);
  removeStepsPostsDoNotNeed(client);
  useStaticUserAgent(client);
  return client;
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
