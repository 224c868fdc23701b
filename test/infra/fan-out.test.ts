import { App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { broadcastTableSchema } from '../../lambdas/core/table-schema';
import { type FunctionName, functions, queues, visibilityTimeoutSeconds } from '../../lambdas/routes';
import { RealtimeGatewayStack } from '../../lib/realtime-gateway-stack';
import { testAppContext } from './app-context';
import { type SynthesizedGateway, statementsOfRole, synthesizeGateway } from './gateway-template';

const functionNames = Object.keys(functions) as FunctionName[];
const slices = queues.broadcastSlices;

describe('the asynchronous fan-out (lib/fan-out.ts)', () => {
  let synthesized: SynthesizedGateway;
  let template: Template;
  let tableId: string;
  let queueId: string;
  let deadLetterQueueId: string;
  beforeAll(() => {
    synthesized = synthesizeGateway({});
    template = synthesized.template;
    tableId = synthesized.logicalId(synthesized.gateway.fanOut.table);
    queueId = synthesized.logicalId(synthesized.gateway.fanOut.queues.broadcastSlices.queue);
    deadLetterQueueId = synthesized.logicalId(synthesized.gateway.fanOut.queues.broadcastSlices.deadLetterQueue);
  });

  it('builds the fan-out state table from its schema, with TTL', () => {
    // GIVEN the schema declared once / THEN the table has its keys, billing and TTL attribute
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: broadcastTableSchema.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: broadcastTableSchema.sortKey.name, KeyType: 'RANGE' },
      ],
      BillingMode: broadcastTableSchema.billingMode,
      TimeToLiveSpecification: { AttributeName: broadcastTableSchema.timeToLiveAttribute, Enabled: true },
    });
  });

  it('gives the slice queue six times the worker timeout as visibility, a redrive to its DLQ, encryption and TLS', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: visibilityTimeoutSeconds(slices),
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterQueueId, 'Arn'] },
        maxReceiveCount: slices.maxReceiveCount,
      },
    });
    expect(visibilityTimeoutSeconds(slices)).toBeGreaterThanOrEqual(6 * slices.consumer.timeoutSeconds);
    for (const id of [queueId, deadLetterQueueId]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: slices.deadLetterRetentionDays * 24 * 3600,
    });
  });

  it('raises an alarm as soon as a slice waits in the DLQ', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetterQueueId, 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('feeds the worker from the slice queue with batch item failures and the declared maximum concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: synthesized.functionId('broadcastWorker') },
      BatchSize: slices.consumer.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: slices.consumer.maxConcurrency },
    });
  });

  describe('least privilege', () => {
    // Written out rather than derived from the route table, so a broadened grant fails here.
    const expectedFanOutActions: Partial<Record<FunctionName, string[]>> = {
      httpSend: ['dynamodb:PutItem'],
      httpStatus: ['dynamodb:Query'],
      directSend: ['dynamodb:PutItem', 'dynamodb:Query'],
      // Query: settling a broadcast reads its status for the completion event (on by default).
      broadcastWorker: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      socketIoPinger: ['dynamodb:PutItem'],
      // The socket's send (both protocols) hands a room beyond the synchronous bound to the fan-out.
      wsSend: ['dynamodb:PutItem'],
      wsDefault: ['dynamodb:PutItem'],
    };
    const senders: FunctionName[] = [
      'httpSend',
      'directSend',
      'broadcastWorker',
      'socketIoPinger',
      'wsSend',
      'wsDefault',
    ];

    it.each(functionNames)('%s has only the fan-out table actions its code uses, on that table only', (name) => {
      const statements = statementsOfRole(template, synthesized.roleId(name)).filter(
        (statement) => JSON.stringify(statement.Resource) === JSON.stringify({ 'Fn::GetAtt': [tableId, 'Arn'] }),
      );
      expect(statements.flatMap((statement) => statement.Action).sort()).toEqual(expectedFanOutActions[name] ?? []);
    });

    /** The actions a role may take on the resource with this logical id (CDK merges statements, so flatten them). */
    const actionsOn = (name: FunctionName, logicalId: string): string[] =>
      statementsOfRole(template, synthesized.roleId(name))
        .filter((statement) =>
          [statement.Resource].flat().some((resource) => JSON.stringify(resource).includes(`"${logicalId}"`)),
        )
        .flatMap((statement) => statement.Action)
        .sort();

    it.each(functionNames)(
      '%s may send to the slice queue only if it publishes slices, and only SendMessage',
      (name) => {
        const actions = actionsOn(name, queueId);
        if (name === 'broadcastWorker') {
          // Its continuations, and what its event source mapping needs to receive and delete.
          expect(actions).toEqual(
            [
              'sqs:ChangeMessageVisibility',
              'sqs:DeleteMessage',
              'sqs:GetQueueAttributes',
              'sqs:GetQueueUrl',
              'sqs:ReceiveMessage',
              'sqs:SendMessage',
            ].sort(),
          );
        } else expect(actions).toEqual(senders.includes(name) ? ['sqs:SendMessage'] : []);
      },
    );

    it.each(functionNames)('%s has no access to the DLQ (an operator redrives it)', (name) => {
      expect(actionsOn(name, deadLetterQueueId)).toEqual([]);
    });

    it('lets only the queue consumers receive (their event source mappings), and nobody touch the DLQ', () => {
      const consumers = Object.values(queues).map((queue) => queue.consumer.function as FunctionName);
      expect(consumers).toContain('broadcastWorker');
      for (const name of functionNames) {
        const receives = statementsOfRole(template, synthesized.roleId(name)).filter((statement) =>
          statement.Action.includes('sqs:ReceiveMessage'),
        );
        expect([name, receives.length > 0]).toEqual([name, consumers.includes(name)]);
        const deadLetter = statementsOfRole(template, synthesized.roleId(name)).filter((statement) =>
          JSON.stringify(statement.Resource).includes(deadLetterQueueId),
        );
        expect([name, deadLetter]).toEqual([name, []]);
      }
    });

    it('lets the worker Scan and DeleteItem the registry and post to connections, not write it otherwise', () => {
      const registryArn = { 'Fn::GetAtt': [synthesized.logicalId(synthesized.gateway.table), 'Arn'] };
      const registryActions = statementsOfRole(template, synthesized.roleId('broadcastWorker'))
        .filter((statement) => JSON.stringify(statement.Resource) === JSON.stringify(registryArn))
        .flatMap((statement) => statement.Action);
      const actions = statementsOfRole(template, synthesized.roleId('broadcastWorker')).flatMap(
        (statement) => statement.Action,
      );
      // GetItem: waiting for a Socket.IO connection's replay hand-off (issue 12).
      expect(registryActions.sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Scan']);
      expect(actions).toContain('execute-api:ManageConnections');
      expect(actions.filter((action) => action.includes('*'))).toEqual([]);
    });
  });

  it('outputs the state table, the slice queue, its DLQ and the DLQ alarm (the deployable stack)', () => {
    const stack = new RealtimeGatewayStack(new App({ context: testAppContext() }), 'OutputsStack', {
      env: { account: '123456789012', region: 'eu-west-1' },
    });
    const outputs = Template.fromStack(stack);
    const ref = (construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
    const fanOut = stack.gateway.fanOut;
    outputs.hasOutput('FanOutTableName', { Value: { Ref: ref(fanOut.table) } });
    // The room index, for a backend whose server library sends to rooms (a large room through this fan-out).
    outputs.hasOutput('RoomTableName', { Value: { Ref: ref(stack.gateway.roomIndex.table) } });
    outputs.hasOutput('BroadcastSliceQueueUrl', { Value: { Ref: ref(fanOut.queues.broadcastSlices.queue) } });
    outputs.hasOutput('BroadcastDeadLetterQueueUrl', {
      Value: { Ref: ref(fanOut.queues.broadcastSlices.deadLetterQueue) },
    });
    outputs.hasOutput('BroadcastDeadLetterAlarmName', {
      Value: { Ref: ref(fanOut.queues.broadcastSlices.deadLetterAlarm!) },
    });
  });
});
