import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { endpointMiddlewareOptions } from '@smithy/core/endpoints';
import { collectBody, extendedEncodeURIComponent, HttpRequest, HttpResponse } from '@smithy/core/protocols';
import { deserializerMiddlewareOption, getSchemaSerdePlugin, serializerMiddlewareOption } from '@smithy/core/schema';
import type {
  AwsCredentialIdentity,
  DeserializeMiddleware,
  EndpointV2,
  HttpSigner,
  MetadataBearer,
  MiddlewareStack,
  SerializeMiddleware,
} from '@smithy/types';
import { SigV4Signer } from './sigv4';

/**
 * The changes to the management API client's request pipeline that make a post cheap (issue 10; the profile and
 * the figures are in `createManagementClient`'s comment). Each one replaces a step of the SDK's pipeline with one
 * that does the same work once per client instead of once per request, or drops a step a post does not need; the
 * steps that decide what reaches AWS and what the caller sees (SigV4, retries, modelled errors, clock-skew
 * correction) stay the SDK's.
 */

type Client = ApiGatewayManagementApiClient;
type Stack = MiddlewareStack<object, MetadataBearer>;

/** The client's resolved configuration, as far as these steps read it. */
interface ResolvedConfig {
  region: () => Promise<string>;
  endpointProvider: (params: Record<string, unknown>, context?: { logger?: unknown }) => EndpointV2;
  useFipsEndpoint: () => Promise<boolean>;
  useDualstackEndpoint: () => Promise<boolean>;
  systemClockOffset: number;
}

/**
 * Resolves the endpoint once, with the SDK's own rules (`endpointProvider`, the same parameters its endpoint
 * middleware passes), and hands every request that result. The SDK's middleware resolves it per request: it copies
 * the whole client configuration, awaits four configuration providers and parses the endpoint URL again (4% of
 * the client's CPU per post in the profile, self time). The endpoint middleware is added per command when the
 * command's handler is built, so it is replaced in the stack that build concatenates (once per command class, the
 * client caching its handlers).
 *
 * @example
 * resolveEndpointOnce(client, readManagementClientConfig(process.env).endpoint);
 */
export function resolveEndpointOnce(client: Client, endpoint: URL): void {
  const config = client.config as unknown as ResolvedConfig;
  let resolved: Promise<EndpointV2> | undefined;
  const resolve = async (): Promise<EndpointV2> =>
    config.endpointProvider({
      Endpoint: endpoint.toString(),
      Region: await config.region(),
      UseFIPS: await config.useFipsEndpoint(),
      UseDualStack: await config.useDualstackEndpoint(),
    });
  const constantEndpointMiddleware: SerializeMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
    if (resolved === undefined) {
      resolved = resolve();
      // A failure (no region, say) is not kept: the next request resolves again and fails with the same error.
      resolved.catch(() => {
        resolved = undefined;
      });
    }
    context.endpointV2 = await resolved;
    return next(args);
  };
  const stack = client.middlewareStack as unknown as Stack;
  const concat = stack.concat.bind(stack);
  stack.concat = ((from: Stack) => {
    const merged = concat(from);
    merged.addRelativeTo(constantEndpointMiddleware, { ...endpointMiddlewareOptions, override: true });
    return merged;
  }) as Stack['concat'];
}

/** The command name the SDK puts in the handler context of a PostToConnection. */
const POST_TO_CONNECTION = 'PostToConnectionCommand';

interface PostToConnectionInput {
  ConnectionId?: string;
  Data?: Uint8Array | string;
}

/**
 * Serializes PostToConnection directly: one `HttpRequest` with the connection id as the path's last segment and
 * the message as the body, where the SDK's schema serializer walks the operation's schema and copies the client
 * configuration into a context for every request (with the deserializer, 14% of the client's CPU per post). The
 * SDK's (de)serializer still handles GetConnection and DeleteConnection, and every error answer of a post: a 410
 * is a `GoneException` with `$metadata.httpStatusCode` 410, a 429 a `LimitExceededException`, from the SDK's own
 * error deserializer.
 *
 * @example
 * serializePostsDirectly(client); // then client.send(new PostToConnectionCommand(...)) skips the schema walk
 */
export function serializePostsDirectly(client: Client): void {
  const config = client.config;
  const sdkSerde: {
    serializer?: SerializeMiddleware<object, MetadataBearer>;
    deserializer?: DeserializeMiddleware<object, MetadataBearer>;
  } = {};
  // The SDK's own serde middleware, taken from its plugin (it exports the plugin, not the middleware).
  getSchemaSerdePlugin(config as never).applyToStack({
    add: (middleware: unknown, options: { name?: string }) => {
      if (options.name === serializerMiddlewareOption.name) sdkSerde.serializer = middleware as never;
      if (options.name === deserializerMiddlewareOption.name) sdkSerde.deserializer = middleware as never;
    },
  } as never);
  const { serializer, deserializer } = sdkSerde;
  if (serializer === undefined || deserializer === undefined) {
    throw new Error('The SDK schema serde plugin no longer adds serializerMiddleware and deserializerMiddleware');
  }

  let target: { url: URL; protocol: string; hostname: string; port?: number; basePath: string } | undefined;
  const targetOf = (endpoint: EndpointV2) => {
    if (target?.url !== endpoint.url) {
      const url = endpoint.url;
      target = {
        url,
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port === '' ? undefined : Number(url.port),
        basePath: url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname,
      };
    }
    return target;
  };

  const directSerializer: SerializeMiddleware<object, MetadataBearer> = (next, context) => {
    const sdk = serializer(next, context);
    if (context.commandName !== POST_TO_CONNECTION) return sdk;
    return async (args) => {
      const input = args.input as PostToConnectionInput;
      const connectionId = input.ConnectionId;
      if (connectionId === undefined || connectionId === null) {
        throw new Error('No value provided for input HTTP label: ConnectionId.');
      }
      if (connectionId.length === 0) throw new Error('Empty value provided for input HTTP label: ConnectionId.');
      if (context.endpointV2 === undefined) throw new Error('No endpoint resolved for PostToConnection');
      const { protocol, hostname, port, basePath } = targetOf(context.endpointV2);
      const request = new HttpRequest({
        protocol,
        hostname,
        port,
        method: 'POST',
        path: `${basePath}/@connections/${extendedEncodeURIComponent(connectionId)}`,
        query: {},
        headers: { 'content-type': 'application/octet-stream' },
        body: input.Data,
      });
      return next({ ...args, request });
    };
  };

  const directDeserializer: DeserializeMiddleware<object, MetadataBearer> = (next, context) => {
    const sdk = deserializer(next, context);
    if (context.commandName !== POST_TO_CONNECTION) return sdk;
    return async (args) => {
      const { response } = await next(args);
      if (HttpResponse.isInstance(response) && response.statusCode < 300) {
        // A handler that streams bodies (the SDK's NodeHttpHandler) frees the socket only once the body is read:
        // read it as the SDK's deserializer does. UndiciHttpHandler hands over a Uint8Array, which needs nothing.
        if (response.body != null && !(response.body instanceof Uint8Array)) await collectBody(response.body, config);
        const headers = response.headers;
        const output: MetadataBearer = {
          $metadata: {
            httpStatusCode: response.statusCode,
            requestId: headers['x-amzn-requestid'] ?? headers['x-amzn-request-id'] ?? headers['x-amz-request-id'],
            extendedRequestId: headers['x-amz-id-2'],
            cfId: headers['x-amz-cf-id'],
          },
        };
        return { response, output };
      }
      // An error answer (or anything unexpected) goes through the SDK's deserializer, given the answer received.
      return deserializer(async () => ({ response, output: undefined as never }), context)(args);
    };
  };

  client.middlewareStack.add(directSerializer as never, {
    ...serializerMiddlewareOption,
    step: 'serialize',
    override: true,
  });
  client.middlewareStack.add(directDeserializer as never, {
    ...deserializerMiddlewareOption,
    step: 'deserialize',
    override: true,
  });
}

/** The signing properties the SDK's auth scheme middleware hands a SigV4 signer. */
interface SigningProperties {
  config: ResolvedConfig;
  name?: string;
  region?: string;
  signingName?: string;
  signingRegion?: string;
  _preRequestSystemClockOffset?: number;
  _requestSentAt?: number;
  _skipClockSkewSampling?: boolean;
  _disableClockSkewCorrection?: boolean;
}

/**
 * Signs with {@link SigV4Signer} (signing key cached per day, payload hash per body, only `host`, `x-amz-date` and
 * the session token signed) in place of a fresh `SignatureV4` per request. The SDK's signer object stays for what
 * follows the answer: its `successHandler` and `errorHandler` keep the clock-skew correction (`systemClockOffset`
 * from the answer's `Date`), which the signing time here includes exactly as the SDK's does.
 *
 * @example
 * signWithCachedKey(client); // every command of the client is signed by one SigV4Signer
 */
export function signWithCachedKey(client: Client): void {
  const signer = new SigV4Signer();
  const config = client.config as unknown as { httpAuthSchemes: Array<{ schemeId: string; signer: HttpSigner }> };
  config.httpAuthSchemes = config.httpAuthSchemes.map((scheme) => {
    if (scheme.schemeId !== 'aws.auth#sigv4') return scheme;
    const sdkSigner = scheme.signer;
    const cachedKeySigner: HttpSigner = {
      async sign(request, identity, properties) {
        const signing = properties as unknown as SigningProperties;
        const { config: clientConfig } = signing;
        const region = signing.signingRegion ?? signing.region;
        const service = signing.signingName ?? signing.name;
        if (!HttpRequest.isInstance(request) || region === undefined || service === undefined) {
          return sdkSigner.sign(request, identity, properties);
        }
        // What AwsSdkSigV4Signer records for its successHandler / errorHandler to correct the clock with.
        signing._disableClockSkewCorrection = false;
        signing._skipClockSkewSampling = false;
        signing._preRequestSystemClockOffset = clientConfig.systemClockOffset;
        signing._requestSentAt = Date.now();
        signer.sign(request, {
          credentials: identity as AwsCredentialIdentity,
          region,
          service,
          date: new Date(signing._requestSentAt + clientConfig.systemClockOffset),
        });
        return request;
      },
      errorHandler: sdkSigner.errorHandler?.bind(sdkSigner),
      successHandler: sdkSigner.successHandler?.bind(sdkSigner),
    };
    return { ...scheme, signer: cachedKeySigner };
  });
}

/**
 * Drops the steps a post does not need: the logger step (the client's logger is the SDK's no-op one), the
 * recursion-detection step (it forwards Lambda's X-Ray trace id to stop Lambda-to-Lambda loops; a post to a
 * WebSocket cannot start one), and the host and content-length steps (the signer sets `host`, undici the length).
 *
 * @example
 * removeStepsPostsDoNotNeed(client);
 */
export function removeStepsPostsDoNotNeed(client: Client): void {
  for (const name of [
    'loggerMiddleware',
    'recursionDetectionMiddleware',
    'hostHeaderMiddleware',
    'contentLengthMiddleware',
  ]) {
    client.middlewareStack.remove(name);
  }
}

/** The SDK's user-agent escaping: a character outside these sets becomes `-` (versions may also hold `#`). */
const USER_AGENT_NAME_UNSAFE = /[^!$%&'*+\-.^_`|~\w]/g;
const USER_AGENT_VERSION_UNSAFE = /[^!$%&'*+\-.^_`|~\w#]/g;

/**
 * Formats one user-agent section as the SDK does: `aws-sdk-js/3.x`, `os/linux#6.1`, `api/apigatewaymanagementapi#3.x`.
 *
 * @example
 * formatUserAgentSection(['api/ApiGatewayManagementApi', '3.1168.0']); // 'api/apigatewaymanagementapi#3.1168.0'
 */
export function formatUserAgentSection([name, version]: readonly [string, string?]): string {
  const [prefix, ...rest] = name.split('/').map((part) => part.replace(USER_AGENT_NAME_UNSAFE, '-'));
  const escapedName =
    rest.length === 0 ? prefix : `${prefix}/${prefix === 'api' ? rest.join('/').toLowerCase() : rest.join('/')}`;
  if (!version) return escapedName;
  return `${escapedName}${rest.length === 0 ? '/' : '#'}${version.replace(USER_AGENT_VERSION_UNSAFE, '-')}`;
}

/**
 * The SDK's user-agent middleware rebuilds the same header on every request (escaping each section, collecting
 * feature flags): 10% of the client CPU per post in the broadcast (254 -> 229 µs). This one builds it once, from
 * the client's own `defaultUserAgentProvider` (SDK, OS, Node and API versions), and sets the same two headers
 * (`user-agent`, `x-amz-user-agent`); only the per-request feature list (`m/...`) is left out.
 *
 * @example
 * useStaticUserAgent(client); // user-agent and x-amz-user-agent built on the first request, then reused
 */
export function useStaticUserAgent(client: ApiGatewayManagementApiClient): void {
  let headers: { userAgent: string; amzUserAgent: string } | undefined;
  const buildHeaders = async (): Promise<{ userAgent: string; amzUserAgent: string }> => {
    const sections = (await client.config.defaultUserAgentProvider()).map(formatUserAgentSection);
    return {
      userAgent: sections.join(' '),
      amzUserAgent: sections.filter((section) => section.startsWith('aws-sdk-')).join(' '),
    };
  };
  client.middlewareStack.remove('getUserAgentMiddleware');
  client.middlewareStack.add(
    (next) => async (args) => {
      if (HttpRequest.isInstance(args.request)) {
        headers ??= await buildHeaders();
        args.request.headers['user-agent'] = headers.userAgent;
        args.request.headers['x-amz-user-agent'] = headers.amzUserAgent;
      }
      return next(args);
    },
    { step: 'build', priority: 'low', name: 'staticUserAgentMiddleware', tags: ['SET_USER_AGENT', 'USER_AGENT'] },
  );
}
