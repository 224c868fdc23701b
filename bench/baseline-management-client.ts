/**
 * The management API client as `lambdas/core/clients.ts` built it before issue 10's tuning (Node's http agent as
 * the request handler, the SDK's own serializer, endpoint resolution, signer and middleware, with the earlier
 * tuning: cached middleware, one signer per client, static user agent, payload hash once per array). Kept only so
 * that `bench/broadcast-core.ts` measures today's client and the tuned one side by side in one run.
 */
import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { HttpRequest } from '@smithy/core/protocols';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import {
  MANAGEMENT_CONNECT_TIMEOUT_MS,
  MANAGEMENT_REQUEST_TIMEOUT_MS,
  type ManagementClientConfig,
} from '../lambdas/core/clients';
import { useStaticUserAgent } from '../lambdas/core/management-pipeline';

const retryOptions = { retryMode: 'standard', maxAttempts: 3 } as const;

/**
 * Builds a management API client for `@connections` (post, get, delete) with a keep-alive socket pool sized
 * for the posts in flight. Both agents are set because the local emulator answers on plain HTTP.
 *
 * A broadcast posts thousands of times through this one client and is CPU-bound in the SDK's per-request pipeline
 * (bench/broadcast-core.ts: 10,000 posts, 20 ms endpoint, 200 in flight), so the client is tuned for that while
 * keeping everything the SDK does for correctness: SigV4 signing, standard retries (throttling retried, 3
 * attempts), clock-skew correction, modelled errors (`GoneException`, `$metadata.httpStatusCode`). Figures are
 * client CPU per post, each change against the same client without it, alternated run by run in one process;
 * the signer and user-agent changes together: 263 -> 229 µs (13% less). Measured and not kept (within noise):
 * a pre-parsed endpoint object, `scheduling: 'lifo'` sockets, no handler timeouts.
 *
 * A `Data` given as a `Uint8Array` must not be changed after it is first sent through the client: its SHA-256 is
 * computed once per array (see {@link hashEachPayloadOnce}). The delivery core encodes each envelope once and never
 * changes it.
 *
 * @example
 * const client = createManagementClient({ endpoint: new URL('http://127.0.0.1:3001/local'), maxSockets: 200 });
 * await client.send(new PostToConnectionCommand({ ConnectionId: id, Data: JSON.stringify(envelope) }));
 */
export function createBaselineManagementClient(config: ManagementClientConfig): ApiGatewayManagementApiClient {
  const agentOptions = { keepAlive: true, maxSockets: config.maxSockets };
  const client = new ApiGatewayManagementApiClient({
    ...retryOptions,
    endpoint: config.endpoint.toString(),
    // Resolves the middleware stack once per command class instead of once per send: about 20% less CPU per post.
    cacheMiddleware: true,
    requestHandler: new NodeHttpHandler({
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
      // A post that hangs would hold one of the bounded slots until the invocation times out; time it out
      // instead (a TimeoutError, which the SDK retries like any transient error). Without
      // throwOnRequestTimeout this SDK version only logs a warning when requestTimeout passes.
      connectionTimeout: MANAGEMENT_CONNECT_TIMEOUT_MS,
      requestTimeout: config.requestTimeoutMs ?? MANAGEMENT_REQUEST_TIMEOUT_MS,
      throwOnRequestTimeout: true,
    }),
  });
  reuseSigner(client);
  useStaticUserAgent(client);
  hashEachPayloadOnce(client);
  return client;
}

/**
 * The SDK's default SigV4 signer provider builds a new `SignatureV4` for every request, copying the whole client
 * configuration into it; with a fixed endpoint (no endpoint auth scheme) every one of those signers is the same.
 * Build it once and reuse it: signing itself (date, region, service, credentials read per request from the
 * client's memoized provider, clock-skew offset) is unchanged. Measured: 7% less client CPU per post (254 -> 236 µs).
 */
function reuseSigner(client: ApiGatewayManagementApiClient): void {
  const sdkSigner = client.config.signer;
  let shared: ReturnType<typeof sdkSigner> | undefined;
  client.config.signer = (authScheme) => {
    if (authScheme !== undefined) return sdkSigner(authScheme);
    if (shared === undefined) {
      shared = sdkSigner();
      // A failure (no region, say) is not kept: the next request asks the SDK again.
      shared.catch(() => {
        shared = undefined;
      });
    }
    return shared;
  };
}

/**
 * SigV4 signs the payload's SHA-256, and a broadcast posts the same encoded envelope (one `Uint8Array`) to every
 * connection: the signer would hash it again for each post, which for a large envelope costs more than the rest
 * of the signing. The signer takes the hash from the `x-amz-content-sha256` header when it is there (the header
 * it would set itself), so this sets it from a per-array cache. Measured with 120 KB envelopes: 297 -> 236 µs client
 * CPU per post (21% less); with small ones (228 -> 224 µs) no difference beyond noise. Keyed on the array itself, so
 * a new array (the next message) is hashed afresh; other bodies (strings) are left to the signer.
 */
function hashEachPayloadOnce(client: ApiGatewayManagementApiClient): void {
  const payloadHashes = new WeakMap<Uint8Array, string>();
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request;
      if (HttpRequest.isInstance(request) && request.body instanceof Uint8Array) {
        let hash = payloadHashes.get(request.body);
        if (hash === undefined) {
          hash = createHash('sha256').update(request.body).digest('hex');
          payloadHashes.set(request.body, hash);
        }
        request.headers['x-amz-content-sha256'] = hash;
      }
      return next(args);
    },
    { step: 'build', name: 'sharedPayloadHashMiddleware' },
  );
}
