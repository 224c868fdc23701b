import { App, Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { connectionTableSchema, roomTableSchema } from '../../lambdas/core/table-schema';
import {
  type FunctionName,
  functions,
  httpRouteKey,
  httpRoutes,
  postsInBulk,
  queues,
  routeSelectionExpression,
  schedules,
  webSocketRoutes,
} from '../../lambdas/routes';
import { lambdaNodeMajor } from '../../lib/bundling';
import { addRealtimeGateway } from '../../lib/gateway-app';
import type { RealtimeGatewayProps } from '../../lib/realtime-gateway';
import { testAppContext } from './app-context';
import {
  actionsOfRole,
  integrationFor,
  type SynthesizedGateway,
  statementsOfRole,
  synthesizeGateway,
  targetOf,
} from './gateway-template';

const functionNames = Object.keys(functions) as FunctionName[];
const manageConnections = 'execute-api:ManageConnections';
const logActions = ['logs:CreateLogStream', 'logs:PutLogEvents'];

describe('RealtimeGateway (secret mode, defaults)', () => {
  let synthesized: SynthesizedGateway;
  let template: Template;
  let webSocketApiId: string;
  let httpApiId: string;
  beforeAll(() => {
    synthesized = synthesizeGateway({ allowedOrigins: ['https://app.example.com'] });
    template = synthesized.template;
    webSocketApiId = synthesized.logicalId(synthesized.gateway.webSocketApi);
    httpApiId = synthesized.logicalId(synthesized.gateway.httpApi);
  });

  describe('WebSocket API', () => {
    it('selects routes with the route table expression', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        ProtocolType: 'WEBSOCKET',
        RouteSelectionExpression: routeSelectionExpression,
      });
    });

    it.each(webSocketRoutes.map((route) => [route.routeKey, route]))(
      'has route %s integrated with its function, authorized only where declared',
      (_key, route) => {
        const integration = integrationFor(template, webSocketApiId, synthesized.functionId(route.function));
        template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
          ApiId: { Ref: webSocketApiId },
          IntegrationType: 'AWS_PROXY',
        });
        template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
          ApiId: { Ref: webSocketApiId },
          RouteKey: route.routeKey,
          Target: targetOf(integration),
          AuthorizationType: route.authorized ? 'CUSTOM' : 'NONE',
          AuthorizerId: route.authorized ? Match.anyValue() : Match.absent(),
        });
      },
    );

    it.each(webSocketRoutes.map((route) => [route.routeKey, route]))(
      'gives route %s a route response exactly when the route table says it returns one',
      (_key, route) => {
        const routes = template.findResources('AWS::ApiGatewayV2::Route', {
          Properties: { ApiId: { Ref: webSocketApiId }, RouteKey: route.routeKey },
        });
        const [routeId] = Object.keys(routes);
        const responses = template.findResources('AWS::ApiGatewayV2::RouteResponse', {
          Properties: { RouteId: { Ref: routeId }, RouteResponseKey: '$default' },
        });
        expect(Object.keys(responses)).toHaveLength(route.returnResponse ? 1 : 0);
      },
    );

    it('authorizes $connect with a REQUEST Lambda authorizer that has no identity source', () => {
      // Any listed identity source that is missing makes API Gateway answer 401 before the authorizer runs, and the
      // token travels by one of three carriers: the template must list none.
      const authorizers = template.findResources('AWS::ApiGatewayV2::Authorizer', {
        Properties: { ApiId: { Ref: webSocketApiId } },
      });
      expect(Object.keys(authorizers)).toHaveLength(1);
      const [[authorizerId, authorizer]] = Object.entries(authorizers);
      expect(authorizer.Properties).toMatchObject({ AuthorizerType: 'REQUEST' });
      expect(authorizer.Properties).not.toHaveProperty('IdentitySource');
      expect(JSON.stringify(authorizer.Properties.AuthorizerUri)).toContain(
        `{"Fn::GetAtt":["${synthesized.functionId('wsAuthorizer')}","Arn"]}`,
      );
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: '$connect',
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: authorizerId },
      });
    });

    it('deploys a stage automatically, with throttling and JSON access logs', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        ApiId: { Ref: webSocketApiId },
        StageName: 'prod',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
        AccessLogSettings: {
          DestinationArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
          Format: Match.serializedJson(
            Match.objectLike({ requestId: '$context.requestId', routeKey: '$context.routeKey' }),
          ),
        },
      });
    });
  });

  describe('HTTP API', () => {
    it.each(httpRoutes.map((route) => [httpRouteKey(route), route]))(
      'has route %s behind the HTTP authorizer, integrated with its function (payload 2.0)',
      (routeKey, route) => {
        const integration = integrationFor(template, httpApiId, synthesized.functionId(route.function));
        const [authorizerId] = Object.keys(
          template.findResources('AWS::ApiGatewayV2::Authorizer', { Properties: { ApiId: { Ref: httpApiId } } }),
        );
        template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
          ApiId: { Ref: httpApiId },
          IntegrationUri: { 'Fn::GetAtt': [synthesized.functionId(route.function), 'Arn'] },
          IntegrationType: 'AWS_PROXY',
          PayloadFormatVersion: '2.0',
        });
        template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
          ApiId: { Ref: httpApiId },
          RouteKey: routeKey,
          Target: targetOf(integration),
          AuthorizationType: 'CUSTOM',
          AuthorizerId: { Ref: authorizerId },
        });
      },
    );

    it('has a $default catch-all behind the authorizer, served by the read-only status function', () => {
      // GIVEN the route table's $default route
      const [authorizerId] = Object.keys(
        template.findResources('AWS::ApiGatewayV2::Authorizer', { Properties: { ApiId: { Ref: httpApiId } } }),
      );
      const integration = integrationFor(template, httpApiId, synthesized.functionId('httpStatus'));
      // THEN unmatched requests reach the status function through the authorizer, never anonymously
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        ApiId: { Ref: httpApiId },
        RouteKey: '$default',
        Target: targetOf(integration),
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: authorizerId },
      });
      // AND that function may only read the tables
      expect([...new Set(actionsOfRole(template, synthesized.roleId('httpStatus')))].sort()).toEqual(
        ['dynamodb:Query', 'dynamodb:Scan', ...logActions].sort(),
      );
    });

    it('has no route outside the route table (and OPTIONS is answered by CORS, not a route)', () => {
      const routes = template.findResources('AWS::ApiGatewayV2::Route', { Properties: { ApiId: { Ref: httpApiId } } });
      const routeKeys = Object.values(routes)
        .map((route) => route.Properties.RouteKey)
        .sort();
      expect(routeKeys).toEqual(httpRoutes.map(httpRouteKey).sort());
    });

    it('uses a simple-response Lambda authorizer keyed and cached on the Authorization header (300 s)', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        ApiId: { Ref: httpApiId },
        AuthorizerType: 'REQUEST',
        EnableSimpleResponses: true,
        AuthorizerPayloadFormatVersion: '2.0',
        IdentitySource: ['$request.header.Authorization'],
        AuthorizerResultTtlInSeconds: 300,
      });
      const [authorizer] = Object.values(
        template.findResources('AWS::ApiGatewayV2::Authorizer', { Properties: { ApiId: { Ref: httpApiId } } }),
      );
      expect(JSON.stringify(authorizer.Properties.AuthorizerUri)).toContain(
        `{"Fn::GetAtt":["${synthesized.functionId('httpAuthorizer')}","Arn"]}`,
      );
    });

    it('answers CORS preflights for the allowed origins only', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        ProtocolType: 'HTTP',
        CorsConfiguration: {
          AllowOrigins: ['https://app.example.com'],
          AllowMethods: Match.arrayWith(['GET', 'POST', 'DELETE', 'OPTIONS']),
          AllowHeaders: Match.arrayWith(['Authorization', 'Content-Type']),
        },
      });
    });

    it('has a $default stage with throttling and access logs', () => {
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        ApiId: { Ref: httpApiId },
        StageName: '$default',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
        AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('\\$context.requestId') },
      });
    });
  });

  describe('functions', () => {
    it.each(functionNames)('%s runs Node 24 on arm64 with source maps and its own log group', (name) => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: functions[name].description,
        // The runtime the bundles target (lib/bundling.ts), so what `npm run size` measures is what runs.
        Runtime: `nodejs${lambdaNodeMajor}.x`,
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Environment: { Variables: Match.objectLike({ NODE_OPTIONS: Match.stringLikeRegexp('^--enable-source-maps') }) },
        LoggingConfig: { LogGroup: { Ref: Match.anyValue() } },
      });
      const fn = template.findResources('AWS::Lambda::Function')[synthesized.functionId(name)];
      const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref;
      expect(template.findResources('AWS::Logs::LogGroup')[logGroupId].Properties.RetentionInDays).toBe(30);
    });

    it('gives only the functions that post to connections a larger young generation, for fan-out', () => {
      for (const name of functionNames) {
        const options =
          template.findResources('AWS::Lambda::Function')[synthesized.functionId(name)].Properties.Environment.Variables
            .NODE_OPTIONS;
        if (functions[name].access.manageConnections) expect(options).toContain('--max-semi-space-size=32');
        else expect(options).toBe('--enable-source-maps');
      }
    });

    it('gives the callback URL of this stage to exactly the functions that manage connections', () => {
      for (const name of functionNames) {
        const variables =
          template.findResources('AWS::Lambda::Function')[synthesized.functionId(name)].Properties.Environment
            .Variables;
        if (functions[name].access.manageConnections) {
          expect(JSON.stringify(variables.CALLBACK_URL)).toMatch(
            new RegExp(
              `^\\{"Fn::Join":\\["",\\["https://",\\{"Ref":"${webSocketApiId}"\\},".execute-api.*"/prod"\\]\\]\\}$`,
            ),
          );
        } else {
          expect(variables).not.toHaveProperty('CALLBACK_URL');
        }
      }
    });

    it('gives the table name to the functions with table access and the secret ARN to the token verifiers', () => {
      const tableId = synthesized.logicalId(synthesized.gateway.table);
      const secretId = synthesized.logicalId(synthesized.gateway.jwtSecret!);
      for (const name of functionNames) {
        const variables =
          template.findResources('AWS::Lambda::Function')[synthesized.functionId(name)].Properties.Environment
            .Variables;
        const { access } = functions[name];
        expect(variables.TABLE_NAME).toEqual(access.table.length === 0 ? undefined : { Ref: tableId });
        expect(variables.JWT_SECRET_ARN).toEqual(access.verifiesTokens ? { Ref: secretId } : undefined);
        expect(variables).not.toHaveProperty('JWT_SECRET');
      }
    });
  });

  describe('sizing for fan-out', () => {
    const senders = functionNames.filter((name) => postsInBulk(functions[name]));
    const others = functionNames.filter((name) => !postsInBulk(functions[name]));

    it('finds senders and non-senders in the route table (the cases below are not empty)', () => {
      expect(senders).toContain('directSend');
      expect(others).toContain('wsConnect');
      // Presence events are at most PRESENCE_MAX_MEMBERS posts: $disconnect and the room functions stay small.
      expect(others).toEqual(expect.arrayContaining(['wsDisconnect', 'wsRooms', 'httpRooms']));
    });

    it.each(senders)('%s posts to connections, so it gets a full vCPU (1769 MB)', (name) => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: functions[name].description,
        MemorySize: 1769,
      });
    });

    it.each(others)('%s posts to no connection, or a bounded few (presence), so it keeps 512 MB', (name) => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: functions[name].description,
        MemorySize: 512,
      });
    });

    it('gives the direct-send function, which no API fronts, 300 s', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: functions.directSend.description,
        Timeout: 300,
      });
    });

    it('gives the broadcast worker the timeout its queue declares (300 s; the visibility timeout is six times it)', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: functions.broadcastWorker.description,
        Timeout: 300,
      });
    });

    const queueConsumers = new Set<FunctionName>(Object.values(queues).map((queue) => queue.consumer.function));

    it.each(functionNames.filter((name) => queueConsumers.has(name)))(
      '%s consumes a queue, so it gets the timeout its queue declares',
      (name) => {
        const queue = Object.values(queues).find((candidate) => candidate.consumer.function === name)!;
        template.hasResourceProperties('AWS::Lambda::Function', {
          Description: functions[name].description,
          Timeout: queue.consumer.timeoutSeconds,
        });
      },
    );

    it.each(functionNames.filter((name) => name !== 'directSend' && !queueConsumers.has(name)))(
      '%s is fronted by API Gateway, so it keeps its 29 s integration limit',
      (name) => {
        template.hasResourceProperties('AWS::Lambda::Function', {
          Description: functions[name].description,
          Timeout: 29,
        });
      },
    );
  });

  it.each(functionNames)('%s has no layer: the verifiers read the secret with a call of their own', (name) => {
    const { Layers, Environment } =
      template.findResources('AWS::Lambda::Function')[synthesized.functionId(name)].Properties;
    expect(Layers).toBeUndefined();
    expect(Object.keys(Environment.Variables).filter((key) => key.startsWith('PARAMETERS_SECRETS_'))).toEqual([]);
  });

  describe('least privilege', () => {
    // Written out per function rather than derived from the route table, so a broadened grant fails here: only
    // $connect writes items, only the broadcasting functions scan, GetItem only to wait for a Socket.IO hand-off.
    const expectedTableActions: Record<FunctionName, string[]> = {
      wsAuthorizer: [],
      wsConnect: ['dynamodb:PutItem'],
      wsDisconnect: ['dynamodb:DeleteItem'],
      wsFrames: [],
      // Issue 12: GetItem for a sender waiting on a Socket.IO connection's replay hand-off; UpdateItem for the
      // hand-off itself, on the Socket.IO CONNECT ($default).
      wsDefault: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      wsRooms: ['dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      socketIoOpener: [],
      socketIoPinger: [],
      wsSend: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Query'],
      wsResume: [],
      httpAuthorizer: [],
      httpSend: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Query'],
      httpStatus: ['dynamodb:Query', 'dynamodb:Scan'],
      httpDisconnect: ['dynamodb:DeleteItem', 'dynamodb:Query'],
      httpRooms: ['dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      directSend: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Query'],
      broadcastWorker: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Scan'],
    };

    // Written out too: joining and presence need the member items; the senders read a room's members; every function
    // that posts or closes deletes the memberships of a connection it finds gone (BatchWriteItem); nothing else
    // touches the room index.
    const memberships = ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:Query'];
    // The senders read a room's members (a room send, a room slice) and clean up after a 410.
    const senders = ['dynamodb:BatchWriteItem', 'dynamodb:Query'];
    const expectedRoomTableActions: Record<FunctionName, string[]> = {
      wsAuthorizer: [],
      wsConnect: [],
      wsDisconnect: ['dynamodb:BatchWriteItem', 'dynamodb:Query'],
      wsFrames: [],
      // A recovered Socket.IO CONNECT hands its restored memberships over after the replay (UpdateItem).
      wsDefault: [...memberships, 'dynamodb:UpdateItem'],
      wsRooms: memberships,
      socketIoOpener: [],
      socketIoPinger: [],
      wsSend: senders,
      wsResume: [],
      httpAuthorizer: [],
      httpSend: senders,
      httpStatus: [],
      httpDisconnect: ['dynamodb:BatchWriteItem', 'dynamodb:Query'],
      httpRooms: memberships,
      directSend: senders,
      broadcastWorker: senders,
    };

    it.each(functionNames)('%s has only the room index actions its code uses, on the room table only', (name) => {
      const roomTableArn = { 'Fn::GetAtt': [synthesized.logicalId(synthesized.gateway.roomIndex.table), 'Arn'] };
      const roomStatements = statementsOfRole(template, synthesized.roleId(name)).filter(
        (statement) => JSON.stringify(statement.Resource) === JSON.stringify(roomTableArn),
      );
      expect(roomStatements.flatMap((statement) => statement.Action).sort()).toEqual(expectedRoomTableActions[name]);
      const environment =
        template.findResources('AWS::Lambda::Function')[synthesized.functionId(name)].Properties.Environment.Variables;
      if (expectedRoomTableActions[name].length > 0) {
        expect(environment.ROOM_TABLE_NAME).toEqual({
          Ref: synthesized.logicalId(synthesized.gateway.roomIndex.table),
        });
      } else expect(environment).not.toHaveProperty('ROOM_TABLE_NAME');
    });

    it.each(functionNames)('%s has only the registry actions its code uses, on the registry only', (name) => {
      const fanOutTableArn = { 'Fn::GetAtt': [synthesized.logicalId(synthesized.gateway.fanOut.table), 'Arn'] };
      const roomTableArn = { 'Fn::GetAtt': [synthesized.logicalId(synthesized.gateway.roomIndex.table), 'Arn'] };
      const logTableArn = { 'Fn::GetAtt': [synthesized.logicalId(synthesized.gateway.messageLog.table), 'Arn'] };
      const tableStatements = statementsOfRole(template, synthesized.roleId(name)).filter(
        (statement) =>
          statement.Action.some((action) => action.startsWith('dynamodb:')) &&
          JSON.stringify(statement.Resource) !== JSON.stringify(fanOutTableArn) &&
          JSON.stringify(statement.Resource) !== JSON.stringify(roomTableArn) &&
          JSON.stringify(statement.Resource) !== JSON.stringify(logTableArn),
      );
      expect(tableStatements.flatMap((statement) => statement.Action).sort()).toEqual(expectedTableActions[name]);
      for (const statement of tableStatements) {
        expect(statement.Resource).toEqual({ 'Fn::GetAtt': [synthesized.logicalId(synthesized.gateway.table), 'Arn'] });
      }
    });

    it('builds the room index from its one declaration: keys, on-demand, TTL, point-in-time recovery', () => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: roomTableSchema.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: roomTableSchema.sortKey.name, KeyType: 'RANGE' },
        ],
        BillingMode: roomTableSchema.billingMode,
        TimeToLiveSpecification: { AttributeName: roomTableSchema.timeToLiveAttribute, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      });
    });

    // Issue 12: the senders record (Put one recipient, BatchWrite several, Update the offline mark), the resume
    // route and the Socket.IO CONNECT ($default, which also sends) read; nobody else touches the log, and nobody
    // may delete from it (only its TTL does).
    const recordsMessages = ['dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
    const expectedLogActions: Record<FunctionName, string[]> = {
      wsAuthorizer: [],
      wsConnect: [],
      wsDisconnect: [],
      wsFrames: [],
      wsDefault: ['dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      socketIoOpener: [],
      socketIoPinger: [],
      // Joins and explicit leaves keep the user's room records (`room-log.ts`); a leave expires one, never deletes.
      wsRooms: ['dynamodb:UpdateItem'],
      wsSend: recordsMessages,
      // The offline cursor's receipt (UpdateItem).
      wsResume: ['dynamodb:Query', 'dynamodb:UpdateItem'],
      httpAuthorizer: [],
      httpSend: recordsMessages,
      httpStatus: [],
      httpDisconnect: [],
      httpRooms: ['dynamodb:UpdateItem'],
      directSend: recordsMessages,
      broadcastWorker: [],
    };

    it.each(functionNames)('%s has only the message log actions its code uses, on the log only', (name) => {
      const logTableArn = { 'Fn::GetAtt': [synthesized.logicalId(synthesized.gateway.messageLog.table), 'Arn'] };
      const logStatements = statementsOfRole(template, synthesized.roleId(name)).filter(
        (statement) => JSON.stringify(statement.Resource) === JSON.stringify(logTableArn),
      );
      expect(logStatements.flatMap((statement) => statement.Action).sort()).toEqual(expectedLogActions[name]);
    });

    it.each(functionNames)(
      '%s may manage connections only if it sends or disconnects, and only on this stage',
      (name) => {
        const posting = statementsOfRole(template, synthesized.roleId(name)).filter((statement) =>
          statement.Action.includes(manageConnections),
        );
        if (!functions[name].access.manageConnections) {
          expect(posting).toEqual([]);
          return;
        }
        expect(posting).toHaveLength(1);
        expect(posting[0].Action).toEqual([manageConnections]);
        expect(JSON.stringify(posting[0].Resource)).toMatch(
          new RegExp(`:execute-api:.*\\{"Ref":"${webSocketApiId}"\\},"/prod/\\*/@connections/\\*"\\]\\]\\}$`),
        );
      },
    );

    it('keeps the connect function from posting to connections', () => {
      expect(actionsOfRole(template, synthesized.roleId('wsConnect'))).not.toContain(manageConnections);
    });

    it('gives the status function read-only table access', () => {
      expect([...new Set(actionsOfRole(template, synthesized.roleId('httpStatus')))].sort()).toEqual(
        ['dynamodb:Query', 'dynamodb:Scan', ...logActions].sort(),
      );
    });

    it.each(['wsAuthorizer', 'httpAuthorizer'] as const)('lets %s read the signing secret and nothing else', (name) => {
      const secretId = synthesized.logicalId(synthesized.gateway.jwtSecret!);
      const statements = statementsOfRole(template, synthesized.roleId(name)).filter(
        (statement) => !statement.Action.every((action) => logActions.includes(action)),
      );
      expect(statements).toEqual([
        {
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue'],
          Resource: { Ref: secretId },
        },
      ]);
    });

    it('lets no function other than the token verifiers read the secret', () => {
      for (const name of functionNames) {
        const readsSecret = actionsOfRole(template, synthesized.roleId(name)).some((action) =>
          action.startsWith('secretsmanager:'),
        );
        expect([name, readsSecret]).toEqual([name, functions[name].access.verifiesTokens]);
      }
    });

    it.each(functionNames)('%s writes logs to its own log group only, with no AWS managed policy', (name) => {
      const role = template.findResources('AWS::IAM::Role')[synthesized.roleId(name)];
      expect(role.Properties).not.toHaveProperty('ManagedPolicyArns');
      const fn = template.findResources('AWS::Lambda::Function')[synthesized.functionId(name)];
      const logStatements = statementsOfRole(template, synthesized.roleId(name)).filter((statement) =>
        statement.Action.some((action) => action.startsWith('logs:')),
      );
      expect(logStatements).toEqual([
        {
          Effect: 'Allow',
          Action: logActions,
          Resource: { 'Fn::GetAtt': [fn.Properties.LoggingConfig.LogGroup.Ref, 'Arn'] },
        },
      ]);
    });

    it('uses no wildcard action anywhere', () => {
      for (const name of functionNames) {
        for (const action of actionsOfRole(template, synthesized.roleId(name))) expect(action).not.toContain('*');
      }
    });
  });

  describe('schedules', () => {
    it.each(Object.entries(schedules))(
      'runs %s on its declared rate, targeting its function without retries',
      (_name, schedule) => {
        // GIVEN the route table's schedule WHEN synthesized THEN an EventBridge rule at that rate invokes the function
        template.hasResourceProperties('AWS::Events::Rule', {
          ScheduleExpression: `rate(${schedule.rateMinutes} minutes)`,
          State: 'ENABLED',
          Targets: [
            {
              Arn: { 'Fn::GetAtt': [synthesized.functionId(schedule.function), 'Arn'] },
              RetryPolicy: { MaximumRetryAttempts: 0 },
            },
          ],
        });
      },
    );
  });

  describe('connection table', () => {
    it('is keyed by the table schema, on demand, with TTL and point-in-time recovery, and a generated name', () => {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: connectionTableSchema.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: connectionTableSchema.sortKey.name, KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          {
            AttributeName: connectionTableSchema.partitionKey.name,
            AttributeType: connectionTableSchema.partitionKey.type,
          },
          { AttributeName: connectionTableSchema.sortKey.name, AttributeType: connectionTableSchema.sortKey.type },
        ]),
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: connectionTableSchema.timeToLiveAttribute, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TableName: Match.absent(),
      });
    });
  });

  describe('direct-send asynchronous invocations', () => {
    let queueId: string;
    beforeAll(() => {
      queueId = synthesized.logicalId(synthesized.gateway.directSendFailures.queue);
    });

    it("retries twice (Lambda's default, now explicit), then sends the event to the failure queue", () => {
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: synthesized.functionId('directSend') },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 2,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } },
      });
    });

    it('keeps failures 14 days in a queue encrypted at rest that refuses plain HTTP', () => {
      template.hasResourceProperties('AWS::SQS::Queue', {
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queueId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: 'sqs:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    });

    it('lets only direct-send write to the queue, with SendMessage and nothing else', () => {
      for (const name of functionNames) {
        // CDK merges statements of the same actions (direct-send also sends broadcast slices): flatten them.
        const actions = statementsOfRole(template, synthesized.roleId(name))
          .filter((statement) =>
            [statement.Resource].flat().some((resource) => JSON.stringify(resource).includes(`"${queueId}"`)),
          )
          .flatMap((statement) => statement.Action);
        expect([name, actions]).toEqual([name, name === 'directSend' ? ['sqs:SendMessage'] : []]);
      }
    });

    it('raises an alarm as soon as a message waits in the queue', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
        Statistic: 'Maximum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    });
  });

  describe('signing secret', () => {
    it('generates the signing secret (rotation is manual)', () => {
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: Match.objectLike({ PasswordLength: 64 }),
        Name: Match.absent(),
      });
      template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    });
  });
});

describe('RealtimeGateway configuration', () => {
  it('takes the direct-send retry setting from CDK context, as cdk synth -c directSendRetryAttempts=0 does', () => {
    const app = new App({ context: testAppContext({ directSendRetryAttempts: '0' }) });
    const stack = addRealtimeGateway(app);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 0 });
    // The stack outputs the queue and its alarm for the operator.
    template.hasOutput('DirectSendFailureQueueUrl', {
      Value: { Ref: stack.getLogicalId(stack.gateway.directSendFailures.queue.node.defaultChild as never) },
    });
    template.hasOutput('DirectSendFailureAlarmName', { Value: Match.anyValue() });
  });

  it.each([3, -1, 1.5])('refuses directSendRetryAttempts %s, naming the prop', (attempts) => {
    expect(() => synthesizeGateway({ directSendRetryAttempts: attempts })).toThrow(
      `RealtimeGateway directSendRetryAttempts must be 0, 1 or 2 (Lambda's range for asynchronous invocations), got ${attempts}`,
    );
  });

  it('grantSend lets a grantee invoke the direct-send function and nothing else', () => {
    // GIVEN a backend role in the same stack, WHEN it is granted send
    let backend: iam.Role | undefined;
    const { template, functionId, logicalId } = synthesizeGateway({}, (stack, gateway) => {
      backend = new iam.Role(stack, 'BackendRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
      gateway.grantSend(backend);
    });
    // THEN its only statement is lambda:InvokeFunction on the direct-send function
    const statements = statementsOfRole(template, logicalId(backend!));
    expect(statements).toHaveLength(1);
    expect(statements[0].Action).toEqual(['lambda:InvokeFunction']);
    const resources = JSON.stringify(statements[0].Resource);
    expect(resources).toContain(JSON.stringify({ 'Fn::GetAtt': [functionId('directSend'), 'Arn'] }));
    for (const name of functionNames.filter((other) => other !== 'directSend')) {
      expect(resources).not.toContain(`"${functionId(name)}"`);
    }
  });

  it('in JWKS mode creates no secret and gives the verifiers the JWKS URL, issuer, audience and algorithms', () => {
    // GIVEN / WHEN
    const { template, functionId, roleId } = synthesizeGateway({
      tokenVerification: {
        mode: 'jwks',
        jwksUrl: 'https://issuer.example.com/.well-known/jwks.json',
        issuer: 'https://issuer.example.com/',
        audience: 'realtime',
        algorithms: ['ES256'],
      },
    });
    // THEN
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    for (const name of ['wsAuthorizer', 'httpAuthorizer'] as const) {
      const variables =
        template.findResources('AWS::Lambda::Function')[functionId(name)].Properties.Environment.Variables;
      expect(variables).toMatchObject({
        JWKS_URL: 'https://issuer.example.com/.well-known/jwks.json',
        JWT_ISSUER: 'https://issuer.example.com/',
        JWT_AUDIENCE: 'realtime',
        JWT_ALGORITHMS: 'ES256',
      });
      expect(variables).not.toHaveProperty('JWT_SECRET_ARN');
      expect(actionsOfRole(template, roleId(name)).some((action) => action.startsWith('secretsmanager:'))).toBe(false);
    }
  });

  it('passes chosen algorithms to the verifiers, and none when unset so their pinned default applies', () => {
    const chosen = synthesizeGateway({ tokenVerification: { mode: 'secret', algorithms: ['HS512'] } });
    const unset = synthesizeGateway();
    const algorithmsOf = ({ template, functionId }: SynthesizedGateway) =>
      template.findResources('AWS::Lambda::Function')[functionId('httpAuthorizer')].Properties.Environment.Variables
        .JWT_ALGORITHMS;
    expect(algorithmsOf(chosen)).toBe('HS512');
    expect(algorithmsOf(unset)).toBeUndefined();
  });

  it('applies stage name, throttling, cache TTL and the connection TTL from props', () => {
    const { template, gateway, logicalId, functionId } = synthesizeGateway({
      stageName: 'dev',
      webSocketThrottle: { rateLimit: 50 },
      httpThrottle: { burstLimit: 20 },
      authorizerCacheTtl: Duration.seconds(0),
      connectionTtl: Duration.hours(4),
      logLevel: 'DEBUG',
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: logicalId(gateway.webSocketApi) },
      StageName: 'dev',
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 1000 },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: logicalId(gateway.httpApi) },
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 20 },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      ApiId: { Ref: logicalId(gateway.httpApi) },
      AuthorizerResultTtlInSeconds: 0,
    });
    const variables =
      template.findResources('AWS::Lambda::Function')[functionId('wsConnect')].Properties.Environment.Variables;
    expect(variables).toMatchObject({ CONNECTION_TTL_SECONDS: '14400', LOG_LEVEL: 'DEBUG' });
  });

  it('leaves the account-wide API Gateway logging role alone unless asked', () => {
    synthesizeGateway().template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });

  it('sets the API Gateway CloudWatch role when asked, before the WebSocket stage, and retains the role', () => {
    const { template, gateway, logicalId } = synthesizeGateway({ apiGatewayLogRole: true });
    const [[accountId, account]] = Object.entries(template.findResources('AWS::ApiGateway::Account'));
    const roleId = account.Properties.CloudWatchRoleArn['Fn::GetAtt'][0];
    template.hasResource('AWS::IAM::Role', {
      Properties: Match.objectLike({
        AssumeRolePolicyDocument: Match.objectLike({
          Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })],
        }),
      }),
      DeletionPolicy: 'Retain',
    });
    expect(template.findResources('AWS::IAM::Role')[roleId]).toBeDefined();
    const stage = template.findResources('AWS::ApiGatewayV2::Stage')[logicalId(gateway.webSocketStage)];
    expect(stage.DependsOn).toContain(accountId);
  });

  it('answers no CORS preflight when no browser origin is allowed', () => {
    const { template, gateway, logicalId } = synthesizeGateway();
    const api = template.findResources('AWS::ApiGatewayV2::Api')[logicalId(gateway.httpApi)];
    expect(api.Properties).not.toHaveProperty('CorsConfiguration');
  });

  it('sizes the senders and the direct-send timeout from props, leaving the others alone', () => {
    const { template } = synthesizeGateway({ senderMemorySize: 3008, directSendTimeout: Duration.minutes(15) });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: functions.httpSend.description,
      MemorySize: 3008,
      Timeout: 29,
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: functions.directSend.description,
      MemorySize: 3008,
      Timeout: 900,
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: functions.httpStatus.description,
      MemorySize: 512,
      Timeout: 29,
    });
  });

  it('sizes the functions from CDK context, as cdk synth -c senderMemoryMb=... does', () => {
    const app = new App({
      context: testAppContext({ senderMemoryMb: '2048', directSendTimeoutSeconds: '600' }),
    });
    const template = Template.fromStack(addRealtimeGateway(app));
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: functions.wsSend.description,
      MemorySize: 2048,
      Timeout: 29,
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: functions.directSend.description,
      MemorySize: 2048,
      Timeout: 600,
    });
  });

  it.each<[string, Partial<RealtimeGatewayProps>, RegExp]>([
    ['under Lambda minimum', { senderMemorySize: 64 }, /senderMemorySize must be .* from 128 to 10240 .*got 64/],
    ['over Lambda maximum', { senderMemorySize: 16_384 }, /senderMemorySize must be .*got 16384/],
    ['not whole', { senderMemorySize: 1769.5 }, /senderMemorySize must be a whole number of MB.*got 1769.5/],
    ['within the API limit', { directSendTimeout: Duration.seconds(20) }, /directSendTimeout must be .*got 20 s/],
    ['over Lambda maximum', { directSendTimeout: Duration.minutes(16) }, /directSendTimeout .* to 900 .*got 960 s/],
    ['not whole', { directSendTimeout: Duration.millis(30_500) }, /directSendTimeout must be a whole .*got 30.5 s/],
  ])('refuses a sizing %s, naming the prop', (_case, props, message) => {
    expect(() => synthesizeGateway(props)).toThrow(message);
  });

  it('refuses a broadcast margin that leaves the API-fronted senders no time, and passes a shorter one on', () => {
    expect(() => synthesizeGateway({ broadcastTimeMargin: Duration.seconds(29) })).toThrow(
      /broadcastTimeMargin must be shorter than the API-fronted senders' 29 s timeout, got 29000 ms/,
    );
    synthesizeGateway({ broadcastTimeMargin: Duration.seconds(5) }).template.hasResourceProperties(
      'AWS::Lambda::Function',
      {
        Description: functions.httpSend.description,
        Environment: { Variables: Match.objectLike({ BROADCAST_TIME_MARGIN_MS: '5000' }) },
      },
    );
  });

  it('refuses a connection TTL shorter than API Gateway keeps a connection open, naming the prop', () => {
    expect(() => synthesizeGateway({ connectionTtl: Duration.hours(2) })).toThrow(
      /connectionTtl must be at least 7800 s/,
    );
  });
});
