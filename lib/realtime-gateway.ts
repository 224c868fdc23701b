import * as path from 'node:path';
import { AssetStaging, type CfnElement, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import {
  HttpLambdaAuthorizer,
  HttpLambdaResponseType,
  WebSocketLambdaAuthorizer,
} from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration, WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DEFAULT_CONNECTION_TTL_SECONDS, MIN_CONNECTION_TTL_SECONDS } from '../lambdas/core/config';
import type { PublicKeyAlgorithm, SecretAlgorithm } from '../lambdas/core/jwt-algorithms';
import { connectionTableSchema } from '../lambdas/core/table-schema';
import {
  type FunctionAccess,
  type FunctionName,
  functions,
  httpRoutes,
  isHttpDefaultRoute,
  postsInBulk,
  routeSelectionExpression,
  schedules,
  webSocketRoutes,
} from '../lambdas/routes';
import { esmRequireBanner, lambdaBundleOptions, lambdaEsbuildArgs } from './bundling';
import { DirectSendFailures } from './direct-send-failures';
import { consumerTimeoutSeconds, FanOut } from './fan-out';
import {
  deployedNodeOptions,
  type EnvironmentValues,
  environmentFor,
  type MessageLogSettings,
  type PermissionNames,
  type RoomSettings,
  type TokenVerification,
} from './function-environment';
import { MessageLogTable } from './message-log';
import { type GatewayAlarmsProps, GatewayOperations } from './operations';
import { prebuiltLambdaCode } from './prebuilt-lambda-code';
import { RoomIndex } from './room-index';
import { grantTableActions, tableFromSchema } from './schema-table';

export type { PublicKeyAlgorithm, SecretAlgorithm } from '../lambdas/core/jwt-algorithms';

/**
 * Secret mode: the construct generates the HS* signing secret in Secrets Manager; token issuers read it from there.
 * Rotation is manual (a rotation invalidates every outstanding token, so it is an operator's decision).
 */
export interface SecretTokenVerificationProps {
  readonly mode: 'secret';
  /**
   * Pinned algorithms; any other is refused.
   * @default - the authorizers' default, HS256
   */
  readonly algorithms?: readonly SecretAlgorithm[];
}

/** JWKS mode: tokens signed by an identity provider (Cognito, Auth0, ...) whose public keys are at `jwksUrl`. */
export interface JwksTokenVerificationProps {
  readonly mode: 'jwks';
  /** HTTPS URL of the provider's JSON Web Key Set. */
  readonly jwksUrl: string;
  /** Required `iss` claim. */
  readonly issuer: string;
  /** Required `aud` claim. */
  readonly audience: string;
  /**
   * Pinned algorithms; any other is refused.
   * @default - the authorizers' default, RS256 and ES256
   */
  readonly algorithms?: readonly PublicKeyAlgorithm[];
}

export type TokenVerificationProps = SecretTokenVerificationProps | JwksTokenVerificationProps;

export interface RealtimeGatewayProps {
  /**
   * Name of the WebSocket stage (it appears in the `wss://` and callback URLs).
   * @default 'prod'
   */
  readonly stageName?: string;
  /**
   * How JWTs are verified.
   * @default - secret mode: a generated Secrets Manager secret, HS256
   */
  readonly tokenVerification?: TokenVerificationProps;
  /**
   * Browser origins allowed to open a socket and to call the HTTP API (CORS); `['*']` allows any.
   * @default - none: only clients that send no `Origin` (Node services, mobile apps) are admitted, and the HTTP API
   * answers no CORS preflight
   */
  readonly allowedOrigins?: readonly string[];
  /**
   * How long a connection item lives if `$disconnect` never runs; at least API Gateway's 2 h limit plus 10 min.
   * @default Duration.hours(3)
   */
  readonly connectionTtl?: Duration;
  /**
   * `LOG_LEVEL` of every function.
   * @default 'INFO'
   */
  readonly logLevel?: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'CRITICAL' | 'SILENT';
  /**
   * Retention of the functions' logs and the APIs' access logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * How long the HTTP API caches an authorizer result per `Authorization` header; zero disables the cache.
   * @default Duration.seconds(300)
   */
  readonly authorizerCacheTtl?: Duration;
  /**
   * Default route throttling of the WebSocket stage (messages and connects per second, and burst); a limit left
   * unset keeps its default.
   * @default { rateLimit: 500, burstLimit: 1000 }
   */
  readonly webSocketThrottle?: apigwv2.ThrottleSettings;
  /**
   * Default route throttling of the HTTP API stage (requests per second, and burst); a limit left unset keeps its
   * default.
   * @default { rateLimit: 100, burstLimit: 200 }
   */
  readonly httpThrottle?: apigwv2.ThrottleSettings;
  /**
   * Posts to the management API in flight at once, per invocation (`SEND_CONCURRENCY`).
   * @default - the handlers' default
   */
  readonly sendConcurrency?: number;
  /**
   * Largest `userIds` list one send may address (`MAX_USER_IDS`).
   * @default - the handlers' default
   */
  readonly maxUserIds?: number;
  /**
   * Closed list of message types (`ALLOWED_MESSAGE_TYPES`).
   * @default - any type matching the documented pattern
   */
  readonly allowedMessageTypes?: readonly string[];
  /**
   * Permission names of the send policy; an empty string opens that operation to any authenticated user.
   * @default - the handlers' defaults: anyone sends and notifies, `ws:broadcast` broadcasts, `ws:admin` administers
   */
  readonly permissions?: PermissionNames;
  /**
   * Rooms: the cap per connection and the presence rooms (`MAX_ROOMS_PER_CONNECTION`, `PRESENCE_ROOM_PREFIX`,
   * `PRESENCE_MAX_MEMBERS`).
   * @default - the handlers' defaults: 100 rooms per connection, presence in rooms named `presence-*` of at most 100
   */
  readonly rooms?: RoomSettings;
  /**
   * Array claim that carries permissions besides `scope` (`PERMISSIONS_CLAIM`).
   * @default - the authorizers' default
   */
  readonly permissionsClaim?: string;
  /**
   * A broadcast stops starting new pages when less than this remains of the invocation (`BROADCAST_TIME_MARGIN_MS`);
   * shorter than the API-fronted senders' 29 s timeout.
   * @default - the handlers' default
   */
  readonly broadcastTimeMargin?: Duration;
  /**
   * Clock skew tolerated on `exp` and `nbf` (`JWT_CLOCK_TOLERANCE_SECONDS`).
   * @default - the authorizers' default
   */
  readonly jwtClockTolerance?: Duration;
  /**
   * Tokens longer than this are refused before parsing (`JWT_MAX_TOKEN_BYTES`).
   * @default - the authorizers' default
   */
  readonly jwtMaxTokenBytes?: number;
  /**
   * Sets this account and region's API Gateway CloudWatch Logs role (`AWS::ApiGateway::Account`). WebSocket stages
   * cannot write access logs without it: creating the stage fails with "CloudWatch Logs role ARN must be set in
   * account settings to enable logging". It is one setting per account and region, so enable it in one stack
   * only; the role is retained when the stack is deleted, so the setting never points at a deleted role.
   * @default false - the account's API Gateway CloudWatch Logs role must already be set
   */
  readonly apiGatewayLogRole?: boolean;
  /**
   * Memory of the functions that post to connections (route-table `access.manageConnections`), in MB. Lambda gives
   * CPU in proportion to memory (one full vCPU at 1769 MB), and a broadcast spends its time in the SDK's request
   * pipeline, so this sets how fast a large audience is reached. The other functions keep 512 MB.
   * @default 1769 - one full vCPU
   */
  readonly senderMemorySize?: number;
  /**
   * The message log's settings: retention (the log's TTL), per-user cap, ephemeral types, resume skew, offline
   * delivery. Each one left undefined takes the handlers' default (24 h, 1000, none, 30 s, notifications).
   * @default - the handlers' defaults
   */
  readonly messageLog?: MessageLogSettings;
  /**
   * Timeout of the direct-send function (`functions.directSend`), which no API fronts, so it may run past API
   * Gateway's 29 s to finish a large broadcast before reporting what it did not reach. 30 s to 900 s (Lambda's
   * limit). The API-fronted functions keep 29 s.
   * @default Duration.seconds(300)
   */
  readonly directSendTimeout?: Duration;
  /**
   * Retries of a failed asynchronous invocation of the direct-send function (EventBridge targets, `Event`
   * invokes), 0 to 2; after them the event goes to the failure queue ({@link RealtimeGateway.directSendFailures}).
   * A retry runs the whole send again, so users reached before the failure may get the message twice; 0 trades
   * that for no second chance.
   * @default 2 - Lambda's default
   */
  readonly directSendRetryAttempts?: number;
  /**
   * Slices (parallel Scan segments) one broadcast is split into (`BROADCAST_SEGMENTS`): how many workers drain one
   * broadcast at once, up to the slice queue's maximum concurrency.
   * @default - the handlers' default (4)
   */
  readonly broadcastSegments?: number;
  /**
   * Posts per second all broadcast workers together may start (`POST_BUDGET_PER_SECOND`), counted in the fan-out
   * state table; keep it well below the account's API Gateway throttle (10,000 requests/s by default), which every
   * API in the account and region shares.
   * @default - the worker's default, 2,000
   */
  readonly postBudgetPerSecond?: number;
  /**
   * Most live members a room may have to be sent to synchronously (`ROOM_SYNC_MAX_MEMBERS`, 0 to 10,000); a larger
   * room goes through the asynchronous fan-out (lambdas/core/room-delivery.ts says why 1,000).
   * @default - the senders' default, 1,000
   */
  readonly roomSyncMaxMembers?: number;
  /**
   * What happens to the registry table (and the fan-out state table) when the stack is deleted. Its items are live connections that die with
   * the APIs, so nothing of value is lost by deleting it.
   * @default RemovalPolicy.DESTROY
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * Creates the CloudWatch dashboard ({@link RealtimeGateway.operations}).
   * @default true
   */
  readonly dashboard?: boolean;
  /**
   * The alarms: on or off, their thresholds, and the SNS topic they notify (created here unless one is passed).
   * `{ enabled: false }` creates no alarm at all, the direct-send failure alarm included.
   * @default - every alarm on with `defaultAlarmSettings` (lib/operations.ts), notifying a topic created here
   */
  readonly alarms?: GatewayAlarmsProps;
  /**
   * The `Broadcast Completed` event, sent once per asynchronous broadcast or room fan-out when its last slice settles
   * (docs/fan-out.md). On by default: one event per broadcast costs next to nothing, without a rule it goes nowhere,
   * and a backend can subscribe later without redeploying the gateway. `{ enabled: false }` turns it off (no event,
   * no grant).
   * @default - on, to the account's default event bus
   */
  readonly completionEvents?: CompletionEventsProps;
}

/** Where the completion events go, or that they are off. */
export interface CompletionEventsProps {
  /** @default true */
  readonly enabled?: boolean;
  /**
   * The bus's name or ARN; the broadcast worker may `events:PutEvents` on it alone.
   * @default 'default' - the account's default event bus
   */
  readonly eventBusName?: string;
}

/** The account's default event bus, where completion events go unless told otherwise. */
export const DEFAULT_COMPLETION_EVENT_BUS = 'default';

/** Lambda's memory range in MB; {@link RealtimeGatewayProps.senderMemorySize} must lie within it. */
export const lambdaMemoryRangeMb = { min: 128, max: 10_240 } as const;
/** One full vCPU: below it a broadcast is CPU-bound (about 0.27 ms of CPU per post in the SDK). */
export const DEFAULT_SENDER_MEMORY_MB = 1769;
/** Functions that post to no connection are I/O-bound and small. */
const NON_SENDER_MEMORY_MB = 512;
/**
 * Range of {@link RealtimeGatewayProps.directSendTimeout}: below 30 s it would gain nothing over the API-fronted
 * functions; 900 s is Lambda's maximum.
 */
export const directSendTimeoutRangeSeconds = { min: 30, max: 900 } as const;
export const DEFAULT_DIRECT_SEND_TIMEOUT_SECONDS = 300;
/**
 * API Gateway stops waiting for a Lambda integration after 29 s (WebSocket routes; 30 s on the HTTP API), so a
 * longer timeout on an API-fronted function would only let it work on after its caller has been answered 504.
 */
export const API_INTEGRATION_TIMEOUT_SECONDS = 29;
const API_INTEGRATION_TIMEOUT = Duration.seconds(API_INTEGRATION_TIMEOUT_SECONDS);
/** The function other services invoke directly, the only one no API Gateway integration limits. */
const directSendFunction: FunctionName = 'directSend';

/** The repository root, where the handler entries of the route table are relative to. */
const projectRoot = path.resolve(__dirname, '..');

/**
 * The realtime gateway: a JWT-authenticated WebSocket API, an HTTP API to reach connected users, a direct-send
 * function, and the DynamoDB connection registry, all built from the route table (`lambdas/routes.ts`) and the
 * table schema (`lambdas/core/table-schema.ts`).
 *
 * @example
 * const gateway = new RealtimeGateway(stack, 'Gateway', { allowedOrigins: ['https://app.example.com'] });
 * gateway.grantSend(orderService.role); // lets a backend invoke the direct-send function
 */
export class RealtimeGateway extends Construct {
  readonly table: dynamodb.Table;
  readonly webSocketApi: apigwv2.WebSocketApi;
  readonly webSocketStage: apigwv2.WebSocketStage;
  readonly httpApi: apigwv2.HttpApi;
  readonly httpStage: apigwv2.HttpStage;
  /** Every function of the route table, by name. */
  readonly functions: Readonly<Record<FunctionName, nodejs.NodejsFunction>>;
  /** The function other services invoke to send (`{ userId | userIds | broadcast, type, data }`). */
  readonly sendFunction: lambda.IFunction;
  /** Where failed asynchronous direct-send events go (an SQS queue) and the alarm on it. */
  readonly directSendFailures: DirectSendFailures;
  /** The asynchronous broadcast's state table, slice queue, DLQ and alarm. */
  readonly fanOut: FanOut;
  /** The room index (room memberships). */
  readonly roomIndex: RoomIndex;
  /** The message log (resume, offline delivery): its table and grants. */
  readonly messageLog: MessageLogTable;
  /** The generated HS* signing secret; undefined in JWKS mode. */
  readonly jwtSecret?: secretsmanager.ISecret;
  /** The dashboard, the alarms and their topic; queues of later parts join with `operations.watchQueue`. */
  readonly operations: GatewayOperations;

  constructor(scope: Construct, id: string, props: RealtimeGatewayProps = {}) {
    super(scope, id);
    const connectionTtl = props.connectionTtl ?? Duration.seconds(DEFAULT_CONNECTION_TTL_SECONDS);
    if (connectionTtl.toSeconds() < MIN_CONNECTION_TTL_SECONDS) {
      throw new Error(
        `RealtimeGateway connectionTtl must be at least ${MIN_CONNECTION_TTL_SECONDS} s (API Gateway's 2 h connection limit plus a margin), got ${connectionTtl.toSeconds()} s`,
      );
    }
    const senderMemorySize = props.senderMemorySize ?? DEFAULT_SENDER_MEMORY_MB;
    if (
      !Number.isInteger(senderMemorySize) ||
      senderMemorySize < lambdaMemoryRangeMb.min ||
      senderMemorySize > lambdaMemoryRangeMb.max
    ) {
      throw new Error(
        `RealtimeGateway senderMemorySize must be a whole number of MB from ${lambdaMemoryRangeMb.min} to ${lambdaMemoryRangeMb.max} (Lambda's range), got ${senderMemorySize}`,
      );
    }
    const directSendTimeout = props.directSendTimeout ?? Duration.seconds(DEFAULT_DIRECT_SEND_TIMEOUT_SECONDS);
    const directSendTimeoutSeconds = directSendTimeout.toSeconds({ integral: false });
    if (
      !Number.isInteger(directSendTimeoutSeconds) ||
      directSendTimeoutSeconds < directSendTimeoutRangeSeconds.min ||
      directSendTimeoutSeconds > directSendTimeoutRangeSeconds.max
    ) {
      throw new Error(
        `RealtimeGateway directSendTimeout must be a whole number of seconds from ${directSendTimeoutRangeSeconds.min} to ${directSendTimeoutRangeSeconds.max} (Lambda's limit), got ${directSendTimeoutSeconds} s`,
      );
    }
    // The API-fronted senders broadcast too: a margin as long as their timeout would make them reach nobody.
    const broadcastTimeMarginMs = props.broadcastTimeMargin?.toMilliseconds();
    if (broadcastTimeMarginMs !== undefined && broadcastTimeMarginMs >= API_INTEGRATION_TIMEOUT.toMilliseconds()) {
      throw new Error(
        `RealtimeGateway broadcastTimeMargin must be shorter than the API-fronted senders' ${API_INTEGRATION_TIMEOUT_SECONDS} s timeout, got ${broadcastTimeMarginMs} ms`,
      );
    }
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const allowedOrigins = props.allowedOrigins ?? [];
    const verification = props.tokenVerification ?? { mode: 'secret' };

    this.table = tableFromSchema(this, 'ConnectionTable', connectionTableSchema, props.tableRemovalPolicy);

    let jwtSecret: secretsmanager.Secret | undefined;
    let tokenVerification: TokenVerification;
    if (verification.mode === 'secret') {
      jwtSecret = new secretsmanager.Secret(this, 'JwtSigningSecret', {
        description: 'HS* signing secret of the realtime gateway JWTs; rotate by hand (outstanding tokens die)',
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
      });
      tokenVerification = { mode: 'secret', secretArn: jwtSecret.secretArn };
      Validations.of(jwtSecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Rotating the HS* signing secret invalidates every outstanding token at once (there is no second key to ' +
          'verify with during a changeover), so rotation is an operator decision taken by hand, not a schedule.',
      });
    } else {
      tokenVerification = {
        mode: 'jwks',
        jwksUrl: verification.jwksUrl,
        issuer: verification.issuer,
        audience: verification.audience,
      };
    }
    this.jwtSecret = jwtSecret;

    // API names need not be unique; prefixing the stack name tells two stages apart in the console.
    const stackName = Stack.of(this).stackName;
    this.webSocketApi = new apigwv2.WebSocketApi(this, 'WebSocketApi', {
      apiName: `${stackName}-websocket`,
      routeSelectionExpression,
      description: 'Realtime gateway: authenticated user-addressed WebSocket messaging',
    });
    this.webSocketStage = new apigwv2.WebSocketStage(this, 'WebSocketStage', {
      webSocketApi: this.webSocketApi,
      stageName: props.stageName ?? 'prod',
      autoDeploy: true,
      throttle: {
        rateLimit: props.webSocketThrottle?.rateLimit ?? 500,
        burstLimit: props.webSocketThrottle?.burstLimit ?? 1000,
      },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(
          new logs.LogGroup(this, 'WebSocketAccessLogs', {
            retention: logRetention,
            removalPolicy: RemovalPolicy.DESTROY,
          }),
        ),
        format: jsonAccessLogFormat({
          requestId: '$context.requestId',
          connectionId: '$context.connectionId',
          eventType: '$context.eventType',
          routeKey: '$context.routeKey',
          status: '$context.status',
          sourceIp: '$context.identity.sourceIp',
          userId: '$context.authorizer.userId',
          error: '$context.error.message',
          integrationError: '$context.integrationErrorMessage',
          requestTime: '$context.requestTime',
        }),
      },
    });

    if (props.apiGatewayLogRole) {
      const logRole = new iam.Role(this, 'ApiGatewayCloudWatchRole', {
        assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
        description: 'Lets API Gateway write WebSocket access logs (account-wide API Gateway setting)',
        managedPolicies: [
          iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AmazonAPIGatewayPushToCloudWatchLogs'),
        ],
      });
      logRole.applyRemovalPolicy(RemovalPolicy.RETAIN);
      Validations.of(logRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The API Gateway account role must write to log groups of every API in the region, whose names are not ' +
          'known here; the AWS managed policy is the one API Gateway documents for this role.',
      });
      const account = new apigateway.CfnAccount(this, 'ApiGatewayAccount', { cloudWatchRoleArn: logRole.roleArn });
      this.webSocketStage.node.addDependency(account);
    }

    this.fanOut = new FanOut(this, 'FanOut', {
      tableRemovalPolicy: props.tableRemovalPolicy,
      alarms: props.alarms?.enabled ?? true,
      completionEventBus:
        (props.completionEvents?.enabled ?? true)
          ? (props.completionEvents?.eventBusName ?? DEFAULT_COMPLETION_EVENT_BUS)
          : undefined,
    });
    this.messageLog = new MessageLogTable(this, 'MessageLog', { tableRemovalPolicy: props.tableRemovalPolicy });

    this.roomIndex = new RoomIndex(this, 'RoomIndex', { tableRemovalPolicy: props.tableRemovalPolicy });

    const values: EnvironmentValues = {
      tableName: this.table.tableName,
      fanOutTableName: this.fanOut.table.tableName,
      roomTableName: this.roomIndex.table.tableName,
      roomSyncMaxMembers: props.roomSyncMaxMembers,
      rooms: props.rooms,
      messageLogTableName: this.messageLog.table.tableName,
      messageLog: props.messageLog,
      queueUrls: this.fanOut.queueUrls(),
      broadcastSegments: props.broadcastSegments,
      postBudgetPerSecond: props.postBudgetPerSecond,
      completionEventBus: this.fanOut.completionEventBus,
      callbackUrl: this.webSocketStage.callbackUrl,
      tokenVerification,
      // Unset: the authorizers' own pinned default applies (defaults live in one place, the readers).
      jwtAlgorithms: verification.algorithms,
      jwtClockToleranceSeconds: props.jwtClockTolerance?.toSeconds(),
      jwtMaxTokenBytes: props.jwtMaxTokenBytes,
      permissionsClaim: props.permissionsClaim,
      allowedOrigins,
      connectionTtlSeconds: connectionTtl.toSeconds(),
      permissions: props.permissions,
      maxUserIds: props.maxUserIds,
      allowedMessageTypes: props.allowedMessageTypes,
      sendConcurrency: props.sendConcurrency,
      broadcastTimeMarginMs,
      logLevel: props.logLevel ?? 'INFO',
    };

    // A queue's consumer gets its declared timeout (the queue's visibility timeout derives from it).
    const timeoutOf = (name: FunctionName): Duration => {
      if (name === directSendFunction) return directSendTimeout;
      const consumerTimeout = consumerTimeoutSeconds(name);
      return consumerTimeout === undefined ? API_INTEGRATION_TIMEOUT : Duration.seconds(consumerTimeout);
    };
    const built: Partial<Record<FunctionName, nodejs.NodejsFunction>> = {};
    for (const [name, declaration] of Object.entries(functions) as [FunctionName, (typeof functions)[FunctionName]][]) {
      const id = pascalCase(name);
      const logGroup = new logs.LogGroup(this, `${id}Logs`, {
        retention: logRetention,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      // An own role instead of AWSLambdaBasicExecutionRole: it may write to this function's log group only.
      const role = new iam.Role(this, `${id}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `${declaration.description} (execution role)`,
      });
      logGroup.grantWrite(role);
      const fn = new nodejs.NodejsFunction(this, id, {
        role,
        entry: path.join(projectRoot, declaration.entry),
        handler: 'handler',
        // Installed from the @realtime-gateway/cdk package: the code bundled at pack time (bundling is skipped).
        ...prebuiltLambdaCode(name),
        description: declaration.description,
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize: postsInBulk(declaration) ? senderMemorySize : NON_SENDER_MEMORY_MB,
        timeout: timeoutOf(name),
        projectRoot,
        depsLockFilePath: path.join(projectRoot, 'package-lock.json'),
        logGroup,
        environment: {
          ...environmentFor(declaration.access, values),
          NODE_OPTIONS: deployedNodeOptions(declaration.access),
        },
        bundling: {
          format: nodejs.OutputFormat.ESM,
          target: lambdaBundleOptions.target,
          minify: lambdaBundleOptions.minify,
          sourceMap: lambdaBundleOptions.sourcemap,
          mainFields: [...lambdaBundleOptions.mainFields],
          banner: esmRequireBanner,
          // Warnings and errors only: `cdk synth -q` should not print ten size summaries.
          logLevel: nodejs.LogLevel.WARNING,
          // The SDK is bundled, not taken from the runtime (see lib/bundling.ts).
          bundleAwsSDK: true,
          externalModules: [...lambdaBundleOptions.external],
          // Module substitutes (the environment-only credential provider), as `npm run size` applies them.
          esbuildArgs: { ...lambdaEsbuildArgs },
          // The substitutes' paths are relative to the project root: local bundling runs there; Docker bundling,
          // if esbuild is ever missing, mounts it at the bundling input directory, so it works there too.
          workingDirectory: AssetStaging.BUNDLING_INPUT_DIR,
        },
      });
      this.grantAccess(fn, declaration.access, jwtSecret);
      this.fanOut.grantAccess(fn, declaration.access);
      this.roomIndex.grantAccess(fn, declaration.access);
      this.messageLog.grantAccess(fn, declaration.access);
      built[name] = fn;
    }
    this.functions = built as Record<FunctionName, nodejs.NodejsFunction>;
    this.fanOut.connectConsumers(this.functions);
    // Each schedule of the route table runs its function (the local stack runs the same ones on a timer).
    for (const [name, schedule] of Object.entries(schedules)) {
      new events.Rule(this, `${name.charAt(0).toUpperCase()}${name.slice(1)}Schedule`, {
        description: schedule.description,
        schedule: events.Schedule.rate(Duration.minutes(schedule.rateMinutes)),
        // A missed run is replaced by the next one: no retries that would bunch sweeps together.
        targets: [new eventTargets.LambdaFunction(this.functions[schedule.function], { retryAttempts: 0 })],
      });
    }
    this.sendFunction = this.functions.directSend;
    this.directSendFailures = new DirectSendFailures(this, 'DirectSendFailures', {
      fn: this.sendFunction,
      retryAttempts: props.directSendRetryAttempts,
      alarm: props.alarms?.enabled ?? true,
    });

    // No identity source on purpose: the token may come as an Authorization header, a Sec-WebSocket-Protocol entry
    // or a `token` query parameter, and API Gateway answers 401 without calling the authorizer as soon as any
    // listed source is missing. CDK turns an empty list into `IdentitySource: []`; the override removes the
    // property so API Gateway calls the authorizer on every connect and the authorizer finds the carrier itself.
    const connectAuthorizer = new WebSocketLambdaAuthorizer('ConnectAuthorizer', this.functions.wsAuthorizer, {
      identitySource: [],
    });
    const webSocketIntegrations = new Map<FunctionName, WebSocketLambdaIntegration>();
    for (const route of webSocketRoutes) {
      let integration = webSocketIntegrations.get(route.function);
      if (!integration) {
        integration = new WebSocketLambdaIntegration(
          `${pascalCase(route.function)}Integration`,
          this.functions[route.function],
        );
        webSocketIntegrations.set(route.function, integration);
      }
      const webSocketRoute = this.webSocketApi.addRoute(route.routeKey, {
        integration,
        returnResponse: route.returnResponse,
        authorizer: route.authorized ? connectAuthorizer : undefined,
      });
      if (!route.authorized) {
        Validations.of(webSocketRoute).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'A WebSocket API authorizes only on $connect (API Gateway accepts no authorizer on other routes); this ' +
            'route runs on a connection the $connect authorizer already admitted and receives its context.',
        });
      }
    }
    for (const child of this.webSocketApi.node.findAll()) {
      if (child instanceof apigwv2.CfnAuthorizer) child.addPropertyDeletionOverride('IdentitySource');
    }

    const httpAuthorizer = new HttpLambdaAuthorizer('HttpAuthorizer', this.functions.httpAuthorizer, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ['$request.header.Authorization'],
      resultsCacheTtl: props.authorizerCacheTtl ?? Duration.seconds(300),
    });
    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      apiName: `${stackName}-http`,
      description: 'Realtime gateway: send to connected users, connection status and management',
      createDefaultStage: false,
      corsPreflight:
        allowedOrigins.length > 0
          ? {
              allowOrigins: [...allowedOrigins],
              allowMethods: [
                apigwv2.CorsHttpMethod.GET,
                apigwv2.CorsHttpMethod.POST,
                apigwv2.CorsHttpMethod.DELETE,
                apigwv2.CorsHttpMethod.OPTIONS,
              ],
              allowHeaders: ['Authorization', 'Content-Type'],
              maxAge: Duration.hours(1),
            }
          : undefined,
    });
    this.httpStage = new apigwv2.HttpStage(this, 'HttpStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: {
        rateLimit: props.httpThrottle?.rateLimit ?? 100,
        burstLimit: props.httpThrottle?.burstLimit ?? 200,
      },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(
          new logs.LogGroup(this, 'HttpAccessLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY }),
        ),
        format: jsonAccessLogFormat({
          requestId: '$context.requestId',
          routeKey: '$context.routeKey',
          status: '$context.status',
          sourceIp: '$context.identity.sourceIp',
          userId: '$context.authorizer.userId',
          authorizerError: '$context.authorizer.error',
          integrationError: '$context.integrationErrorMessage',
          responseLength: '$context.responseLength',
          requestTime: '$context.requestTime',
        }),
      },
    });
    const httpIntegrations = new Map<FunctionName, HttpLambdaIntegration>();
    for (const route of httpRoutes) {
      let integration = httpIntegrations.get(route.function);
      if (!integration) {
        integration = new HttpLambdaIntegration(
          `${pascalCase(route.function)}Integration`,
          this.functions[route.function],
          {
            payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
          },
        );
        httpIntegrations.set(route.function, integration);
      }
      if (isHttpDefaultRoute(route)) {
        // The catch-all: API Gateway sends every request no other route matches here, through the authorizer.
        new apigwv2.HttpRoute(this, 'HttpDefaultRoute', {
          httpApi: this.httpApi,
          routeKey: apigwv2.HttpRouteKey.DEFAULT,
          integration,
          authorizer: httpAuthorizer,
        });
        continue;
      }
      this.httpApi.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration,
        authorizer: httpAuthorizer,
      });
    }

    this.operations = new GatewayOperations(this, 'Operations', {
      functions: this.functions,
      webSocketApi: this.webSocketApi,
      webSocketStage: this.webSocketStage,
      httpApi: this.httpApi,
      httpStage: this.httpStage,
      dashboard: props.dashboard,
      alarms: props.alarms,
    });
    if (this.directSendFailures.alarm) this.operations.addAlarm(this.directSendFailures.alarm);
    // The fan-out's queues on the dashboard (progress and DLQ depth); their DLQ alarms join the topic.
    for (const [name, built] of Object.entries(this.fanOut.queues)) {
      this.operations.watchQueue({
        name,
        queue: built.queue,
        deadLetterQueue: built.deadLetterQueue,
        deadLetterAlarm: built.deadLetterAlarm,
      });
    }
  }

  /** The `wss://` URL clients connect to. */
  get webSocketUrl(): string {
    return this.webSocketStage.url;
  }

  /** The stage's management (callback) URL, `https://{api}.execute-api.{region}.amazonaws.com/{stage}`. */
  get callbackUrl(): string {
    return this.webSocketStage.callbackUrl;
  }

  /** The HTTP API's base URL. */
  get httpApiUrl(): string {
    return this.httpStage.url;
  }

  /**
   * Lets `grantee` invoke the direct-send function (`lambda:InvokeFunction` on it, nothing else).
   *
   * @example
   * gateway.grantSend(new iam.ServicePrincipal('events.amazonaws.com'));
   */
  grantSend(grantee: iam.IGrantable): iam.Grant {
    return this.sendFunction.grantInvoke(grantee);
  }

  /** One least-privilege grant per access flag of the route table. */
  private grantAccess(
    fn: nodejs.NodejsFunction,
    access: FunctionAccess,
    jwtSecret: secretsmanager.ISecret | undefined,
  ) {
    grantTableActions(fn, access.table, this.table);
    if (access.manageConnections) {
      this.webSocketStage.grantManagementApiAccess(fn);
      const stack = Stack.of(this);
      const apiLogicalId = stack.getLogicalId(this.webSocketApi.node.defaultChild as CfnElement);
      // cdk-nag names the resource as synthesized: pseudo parameters in a region-agnostic stack, literal values in
      // a stack pinned to an account and region.
      const literal = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<${pseudo}>` : value);
      const arnPrefix = `arn:${literal(stack.partition, 'AWS::Partition')}:execute-api:${literal(stack.region, 'AWS::Region')}:${literal(stack.account, 'AWS::AccountId')}`;
      Validations.of(fn.role!).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${arnPrefix}:<${apiLogicalId}>/${this.webSocketStage.stageName}/*/@connections/*]`,
        reason:
          'Connection ids exist only at run time, so the grant names this API and stage and the @connections path ' +
          'and leaves the method and connection id open; no other API or stage is reachable.',
      });
    }
    // Secret mode: the token verifiers call GetSecretValue themselves (lambdas/core/secret-source.ts), in every
    // region, with no layer. `grantRead` would add DescribeSecret, which they never call.
    if (access.verifiesTokens && jwtSecret) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [jwtSecret.secretArn] }),
      );
    }
  }
}

/** `wsAuthorizer` → `WsAuthorizer`, for construct ids. */
function pascalCase(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** One JSON object per request, so access logs can be queried with Logs Insights. */
function jsonAccessLogFormat(fields: Record<string, string>): apigateway.AccessLogFormat {
  return apigateway.AccessLogFormat.custom(JSON.stringify(fields));
}
