import { parseArgs } from 'node:util';
import type { FaultOptions } from './emulator/faults';

/** What `npm start` accepts, as parsed from its arguments. */
export interface StartArguments {
  help: boolean;
  host?: string;
  wsPort?: number;
  httpPort?: number;
  dataDir?: string;
  secret?: string;
  /** Injected faults, when any fault option was given. */
  faults?: FaultOptions;
  /** The broadcast worker's crash rules (`FAN_OUT_FAULTS`), as given. */
  fanOutFaults?: string;
}

export const startUsage = `Usage: npm start -- [options]

Runs realtime-gateway locally: every handler behind an API Gateway emulator, with dynalite as DynamoDB.

Options:
  --host <address>     interface to listen on (default 127.0.0.1)
  --ws-port <port>     WebSocket API and @connections (default 8090; 0 picks a free port)
  --http-port <port>   HTTP API and the test page at / (default 8091; 0 picks a free port)
  --data-dir <folder>  keep the registry in this folder (default: in memory)
  --secret <secret>    HS256 signing secret (default: $JWT_SECRET, else .local/dev-secret, created on first start)
  --help               show this help

Fault injection (off by default; see local/README.md):
  --fault-seed <n>            seed of every fault decision (default: random, printed at start)
  --drop-disconnect <share>   share (0-1) of $disconnect events never delivered (the socket still closes)
  --gone-posts <share>        share (0-1) of @connections POSTs whose connection vanishes: socket killed, no
                              $disconnect, answer 410 GoneException
  --posts-per-second <n>      @connections POST rate; above it 429 LimitExceededException
  --dynamo-throttle <share>   share (0-1) of DynamoDB calls answered ProvisionedThroughputExceededException
  --dynamo-fail <share>       share (0-1) of DynamoDB calls answered 500 InternalServerError
  --fan-out-faults <json>     broadcast worker crash rules (FAN_OUT_FAULTS), e.g.
                              '[{"messageType":"crash-once","afterPosts":40,"times":1}]'

Environment: JWT_SECRET, and the Lambda settings (ALLOWED_ORIGINS, LOG_LEVEL, MAX_USER_IDS, ... see
docs/configuration.md) reach the handlers that get them on AWS.`;

function port(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value > 65535) throw new Error(`--${name} must be a port number (0-65535), got "${raw}"`);
  return value;
}

function share(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new Error(`--${name} must be a share from 0 to 1, got "${raw}"`);
  }
  return value;
}

function positive(name: string, raw: string | undefined, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (
    raw.trim() === '' ||
    !Number.isFinite(value) ||
    value < (integer ? 0 : Number.MIN_VALUE) ||
    (integer && !Number.isInteger(value))
  ) {
    throw new Error(`--${name} must be a ${integer ? 'non-negative integer' : 'positive number'}, got "${raw}"`);
  }
  return value;
}

/**
 * Parses `npm start` arguments; throws an error naming the bad option.
 *
 * @example
 * parseStartArguments(['--ws-port', '9000']); // { help: false, wsPort: 9000 }
 */
export function parseStartArguments(argv: string[]): StartArguments {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string' },
      'ws-port': { type: 'string' },
      'http-port': { type: 'string' },
      'data-dir': { type: 'string' },
      secret: { type: 'string' },
      'fault-seed': { type: 'string' },
      'drop-disconnect': { type: 'string' },
      'gone-posts': { type: 'string' },
      'posts-per-second': { type: 'string' },
      'dynamo-throttle': { type: 'string' },
      'dynamo-fail': { type: 'string' },
      'fan-out-faults': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const faults: FaultOptions = {
    seed: positive('fault-seed', values['fault-seed'], true),
    dropDisconnect: share('drop-disconnect', values['drop-disconnect']),
    gonePosts: share('gone-posts', values['gone-posts']),
    postsPerSecond: positive('posts-per-second', values['posts-per-second'], false),
    dynamoThrottle: share('dynamo-throttle', values['dynamo-throttle']),
    dynamoFail: share('dynamo-fail', values['dynamo-fail']),
  };
  const anyFault = Object.values(faults).some((value) => value !== undefined);
  return {
    help: values.help ?? false,
    host: values.host,
    wsPort: port('ws-port', values['ws-port']),
    httpPort: port('http-port', values['http-port']),
    dataDir: values['data-dir'],
    secret: values.secret,
    ...(anyFault ? { faults } : {}),
    ...(values['fan-out-faults'] === undefined ? {} : { fanOutFaults: values['fan-out-faults'] }),
  };
}

/** What `npm run token` accepts. */
export interface TokenArguments {
  help: boolean;
  userId?: string;
  scope?: string;
  ttl?: string;
  secret?: string;
  /** Sign with a deployed stack's secret, read from Secrets Manager by ARN... */
  secretArn?: string;
  /** ...or through the stack's `JwtSecretArn` output. */
  stack?: string;
  region?: string;
}

export const tokenUsage = `Usage: npm run token -- <userId> [--scope "ws:admin ws:broadcast"] [--ttl 1h] [signing secret]

Prints a token (HS256, with sub, iat, exp and the optional scope).
--scope      space-separated permissions, e.g. "ws:admin ws:broadcast" (default: none)
--ttl        lifetime: seconds, or 90s, 15m, 1h, 7d (default 1h)
--help       this text

Signing secret, one of (default: the local stack's, $JWT_SECRET, else .local/dev-secret):
--secret <secret>        this HS256 secret
--secret-arn <arn>       a deployed stack's secret, read from AWS Secrets Manager (the ARN names the region)
--stack <name>           a deployed stack's secret, found through its JwtSecretArn output (e.g. RealtimeGateway-prod)
--region <region>        the stack's region (default: AWS_REGION or the profile's region)
The AWS options use the SDK's default credentials (AWS_PROFILE, ~/.aws, SSO, environment) and need
cloudformation:DescribeStacks (--stack) and secretsmanager:GetSecretValue on the secret.`;

/**
 * Parses `npm run token` arguments; throws an error naming the bad option.
 *
 * @example
 * parseTokenArguments(['user123', '--scope', 'ws:admin']); // { help: false, userId: 'user123', scope: 'ws:admin' }
 * parseTokenArguments(['user123', '--stack', 'RealtimeGateway-dev', '--region', 'eu-west-1']);
 */
export function parseTokenArguments(argv: string[]): TokenArguments {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      scope: { type: 'string' },
      ttl: { type: 'string' },
      secret: { type: 'string' },
      'secret-arn': { type: 'string' },
      stack: { type: 'string' },
      region: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length > 1)
    throw new Error(`expected one userId, got ${positionals.length}: ${positionals.join(' ')}`);
  const sources = (['secret', 'secret-arn', 'stack'] as const).filter((name) => values[name] !== undefined);
  if (sources.length > 1) {
    throw new Error(`give one signing secret: --${sources.join(' and --')} cannot be used together`);
  }
  if (values.region !== undefined && values.stack === undefined && values['secret-arn'] === undefined) {
    throw new Error('--region goes with --stack or --secret-arn (the local secret has no region)');
  }
  return {
    help: values.help ?? false,
    userId: positionals[0],
    scope: values.scope,
    ttl: values.ttl,
    secret: values.secret,
    secretArn: values['secret-arn'],
    stack: values.stack,
    region: values.region,
  };
}

/** What `npm run post` accepts. */
export interface PostArguments {
  help: boolean;
  method: 'POST' | 'GET' | 'DELETE';
  connectionId?: string;
  data?: string;
  /** The callback URL (the WebSocket port, with or without a stage). */
  url: string;
}

export const postUsage = `Usage: npm run post -- <connectionId> '<json>'      send one frame to a connection
       npm run post -- --get <connectionId>          describe it (ConnectedAt, LastActiveAt, Identity)
       npm run post -- --delete <connectionId>       close it (1000)
Options: --url <callback URL> (default http://127.0.0.1:8090)

Calls the local stack's @connections with the real ApiGatewayManagementApiClient, signed (SigV4, execute-api,
us-east-1) with the stack's key pair in .local/dev-credentials.json, which is the only one @connections accepts.`;

/**
 * Parses `npm run post` arguments; throws an error naming what is missing.
 *
 * @example
 * parsePostArguments(['Jq3x+9bQ2mN/wA4=', '{"type":"chat"}']); // { method: 'POST', connectionId: 'Jq3x…', data: '{"type":"chat"}', … }
 */
export function parsePostArguments(argv: string[]): PostArguments {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      get: { type: 'boolean' },
      delete: { type: 'boolean' },
      url: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.get && values.delete) throw new Error('give --get or --delete, not both');
  const method = values.get ? 'GET' : values.delete ? 'DELETE' : 'POST';
  const expected = method === 'POST' ? 2 : 1;
  if (!values.help && positionals.length !== expected) {
    throw new Error(
      method === 'POST'
        ? `expected a connectionId and the message, got ${positionals.length} argument(s)`
        : `expected one connectionId, got ${positionals.length}`,
    );
  }
  return {
    help: values.help ?? false,
    method,
    connectionId: positionals[0],
    data: method === 'POST' ? positionals[1] : undefined,
    url: values.url ?? 'http://127.0.0.1:8090',
  };
}
