import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { MetricName, metricsNamespace, serviceName } from '../../lambdas/core/metric-names';
import { type FunctionName, functions, queues } from '../../lambdas/routes';
import { addRealtimeGateway } from '../../lib/gateway-app';
import { defaultAlarmSettings } from '../../lib/operations';
import { RealtimeGateway } from '../../lib/realtime-gateway';
import { testAppContext } from './app-context';
import { type SynthesizedGateway, synthesizeGateway } from './gateway-template';

const functionNames = Object.keys(functions) as FunctionName[];

interface DashboardWidget {
  type: string;
  properties: { title?: string; metrics?: unknown[][] };
}

/**
 * The dashboard body as the console reads it: CloudFormation joins it from strings and references, so each
 * reference becomes `<ref:LogicalId>` here and the result parses as JSON.
 */
function dashboardWidgets(template: Template): DashboardWidget[] {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0].Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] } | string;
  const text =
    typeof body === 'string'
      ? body
      : body['Fn::Join'][1]
          .map((part) => {
            if (typeof part === 'string') return part;
            const reference = part as { Ref?: string; 'Fn::GetAtt'?: string[] };
            return `<ref:${reference.Ref ?? reference['Fn::GetAtt']?.join('.')}>`;
          })
          .join('');
  return JSON.parse(text).widgets;
}

/** Each metric line of every graph as `namespace metricName dimension=value ...`, or the expression it draws. */
function graphedMetrics(widgets: DashboardWidget[]): string[] {
  return widgets.flatMap((widget) =>
    (widget.properties.metrics ?? []).map((line) => {
      const options = line.at(-1) as { expression?: string };
      if (options && typeof options === 'object' && options.expression) return options.expression;
      const fields = line.filter((field) => typeof field === 'string') as string[];
      const [namespace, metricName, ...dimensions] = fields;
      const pairs: string[] = [];
      for (let index = 0; index + 1 < dimensions.length; index += 2) {
        pairs.push(`${dimensions[index]}=${dimensions[index + 1]}`);
      }
      return [namespace, metricName, ...pairs].join(' ');
    }),
  );
}

function alarmsOf(template: Template): Record<string, { Properties: Record<string, unknown> }> {
  // findResources types each resource loosely; alarms always carry Properties.
  return template.findResources('AWS::CloudWatch::Alarm') as Record<string, { Properties: Record<string, unknown> }>;
}
describe('GatewayOperations with the defaults', () => {
  let synthesized: SynthesizedGateway;
  let template: Template;
  let topicRef: { Ref: string };
  beforeAll(() => {
    synthesized = synthesizeGateway();
    template = synthesized.template;
    const topic = synthesized.gateway.operations.alarmTopic;
    if (!topic) throw new Error('no alarm topic by default');
    topicRef = { Ref: synthesized.logicalId(topic) };
  });

  it("graphs every product metric of lambdas/core/metric-names.ts with Powertools' service dimension", () => {
    const metrics = graphedMetrics(dashboardWidgets(template));
    for (const name of Object.values(MetricName).filter((name) => name !== MetricName.AuthRefused)) {
      expect(metrics).toContain(`${metricsNamespace} ${name} service=${serviceName}`);
    }
  });

  it('graphs authorizer refusals by reason with a SEARCH over the authorizers’ dimensions', () => {
    expect(graphedMetrics(dashboardWidgets(template))).toContain(
      `SEARCH('{${metricsNamespace},authorizer,reason,service} MetricName="${MetricName.AuthRefused}" service="${serviceName}"', 'Sum', 300)`,
    );
  });

  it('graphs errors and throttles of every route-table function', () => {
    const metrics = graphedMetrics(dashboardWidgets(template));
    for (const name of functionNames) {
      const fn = `FunctionName=<ref:${synthesized.functionId(name)}>`;
      expect(metrics).toEqual(expect.arrayContaining([`AWS/Lambda Errors ${fn}`, `AWS/Lambda Throttles ${fn}`]));
    }
  });

  it('graphs the WebSocket and HTTP API metrics of their stages', () => {
    const metrics = graphedMetrics(dashboardWidgets(template));
    const webSocket = `ApiId=<ref:${synthesized.logicalId(synthesized.gateway.webSocketApi)}> Stage=${synthesized.gateway.webSocketStage.stageName}`;
    const http = `ApiId=<ref:${synthesized.logicalId(synthesized.gateway.httpApi)}> Stage=$default`;
    for (const name of ['ConnectCount', 'MessageCount', 'IntegrationError', 'ClientError', 'ExecutionError']) {
      expect(metrics).toContain(`AWS/ApiGateway ${name} ${webSocket}`);
    }
    for (const name of ['Count', '4xx', '5xx']) expect(metrics).toContain(`AWS/ApiGateway ${name} ${http}`);
  });

  it.each(Object.keys(queues))(
    "shows the fan-out queue %s's progress and DLQ depth, and its DLQ alarm notifies the topic",
    (name) => {
      const built = synthesized.gateway.fanOut.queues[name as keyof typeof queues];
      const widgets = dashboardWidgets(template);
      expect(widgets.map((widget) => widget.properties.title)).toEqual(
        expect.arrayContaining([`Queue ${name}: progress (per minute)`, `Queue ${name}: dead letters (per minute)`]),
      );
      const queueName = (queue: typeof built.queue) => `QueueName=<ref:${synthesized.logicalId(queue)}.QueueName>`;
      expect(graphedMetrics(widgets)).toEqual(
        expect.arrayContaining([
          `AWS/SQS ApproximateNumberOfMessagesVisible ${queueName(built.queue)}`,
          `AWS/SQS ApproximateNumberOfMessagesNotVisible ${queueName(built.queue)}`,
          `AWS/SQS NumberOfMessagesDeleted ${queueName(built.queue)}`,
          `AWS/SQS ApproximateAgeOfOldestMessage ${queueName(built.queue)}`,
          `AWS/SQS ApproximateNumberOfMessagesVisible ${queueName(built.deadLetterQueue)}`,
        ]),
      );
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Dimensions: [
          { Name: 'QueueName', Value: { 'Fn::GetAtt': [synthesized.logicalId(built.deadLetterQueue), 'QueueName'] } },
        ],
        AlarmActions: [topicRef],
        OKActions: [topicRef],
      });
    },
  );

  it.each(functionNames)('alarms on errors and throttles of %s, notifying the topic', (name) => {
    const dimensions = [{ Name: 'FunctionName', Value: { Ref: synthesized.functionId(name) } }];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: dimensions,
      Statistic: 'Sum',
      Period: 300,
      Threshold: defaultAlarmSettings.functionErrors.threshold,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [topicRef],
      OKActions: [topicRef],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Throttles',
      Dimensions: dimensions,
      Threshold: 1,
      AlarmActions: [topicRef],
    });
  });

  it('alarms on failed posts, WebSocket integration errors and HTTP 5xx with their default thresholds', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: metricsNamespace,
      MetricName: MetricName.PostsFailed,
      Dimensions: [{ Name: 'service', Value: serviceName }],
      Statistic: 'Sum',
      Threshold: 10,
      EvaluationPeriods: 1,
      AlarmActions: [topicRef],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: 'IntegrationError',
      Threshold: 5,
      AlarmActions: [topicRef],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5xx',
      Dimensions: Match.arrayWith([{ Name: 'Stage', Value: '$default' }]),
      Threshold: 5,
      AlarmActions: [topicRef],
    });
  });

  it('folds the direct-send failure alarm into the same topic', () => {
    const queueId = synthesized.logicalId(synthesized.gateway.directSendFailures.queue);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      Threshold: 0,
      AlarmActions: [topicRef],
      OKActions: [topicRef],
    });
  });

  it('gives every alarm an action on the topic and a description that points at the runbook', () => {
    const alarms = Object.entries(alarmsOf(template));
    // 2 per function, failed posts, WebSocket integration errors, HTTP 5xx, direct-send failures, each queue's DLQ.
    expect(alarms).toHaveLength(functionNames.length * 2 + 4 + Object.keys(queues).length);
    for (const [id, alarm] of alarms) {
      expect([id, alarm.Properties.AlarmActions]).toEqual([id, [topicRef]]);
      expect([id, alarm.Properties.AlarmDescription]).toEqual([id, expect.stringMatching(/README|replay|redrive/)]);
    }
  });

  it('encrypts the topic with a rotated key CloudWatch of this account may use, and refuses plain HTTP', () => {
    const keys = template.findResources('AWS::KMS::Key');
    const [keyId] = Object.keys(keys);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('GatewayOperations configured', () => {
  it('applies changed thresholds and periods, and leaves out an alarm turned off', () => {
    const { template } = synthesizeGateway({
      alarms: {
        postsFailed: { threshold: 50, evaluationPeriods: 3, datapointsToAlarm: 2, period: Duration.minutes(1) },
        functionThrottles: { enabled: false },
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: MetricName.PostsFailed,
      Threshold: 50,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Period: 60,
    });
    const throttles = Object.values(alarmsOf(template)).filter((alarm) => alarm.Properties.MetricName === 'Throttles');
    expect(throttles).toEqual([]);
  });

  it('creates no alarm, no topic and no key when alarms are turned off (the direct-send alarm included)', () => {
    const { template, gateway } = synthesizeGateway({ alarms: { enabled: false } });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    expect(gateway.directSendFailures.alarm).toBeUndefined();
    // The dashboard stays.
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('creates no dashboard when turned off', () => {
    synthesizeGateway({ dashboard: false }).template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });

  it("notifies a topic the app passes and creates none of its own; subscribes the on-call's email", () => {
    const app = new App({ context: testAppContext() });
    const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'eu-west-1' } });
    const topicArn = 'arn:aws:sns:eu-west-1:123456789012:ops-alarms';
    const topic = sns.Topic.fromTopicArn(stack, 'Ops', topicArn);
    new RealtimeGateway(stack, 'Gateway', { alarms: { topic, email: 'oncall@example.com' } });
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: MetricName.PostsFailed,
      AlarmActions: [topicArn],
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: topicArn,
    });
  });

  it('watches a queue: its progress and dead letters on the dashboard, an alarm on the dead letters', () => {
    let dlqId = '';
    const { template } = synthesizeGateway({}, (stack, gateway) => {
      const deadLetterQueue = new sqs.Queue(stack, 'SlicesDlq');
      const queue = new sqs.Queue(stack, 'Slices', { deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 5 } });
      gateway.operations.watchQueue({ name: 'broadcastSlices', queue, deadLetterQueue });
      dlqId = stack.getLogicalId(deadLetterQueue.node.defaultChild as never);
    });
    const widgets = dashboardWidgets(template);
    expect(widgets.map((widget) => widget.properties.title)).toEqual(
      expect.arrayContaining([
        'Queue broadcastSlices: progress (per minute)',
        'Queue broadcastSlices: dead letters (per minute)',
      ]),
    );
    expect(graphedMetrics(widgets)).toContain(
      `AWS/SQS ApproximateNumberOfMessagesVisible QueueName=<ref:${dlqId}.QueueName>`,
    );
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: Match.anyValue(),
    });
  });
  it("folds a watched queue's own dead-letter alarm into the topic instead of making a second one", () => {
    let ownAlarmId = '';
    const { template, gateway, logicalId } = synthesizeGateway({}, (stack, built) => {
      const deadLetterQueue = new sqs.Queue(stack, 'SlicesDlq');
      const queue = new sqs.Queue(stack, 'Slices', { deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: 5 } });
      const deadLetterAlarm = new cloudwatch.Alarm(stack, 'OwnDlqAlarm', {
        metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible(),
        threshold: 0,
        evaluationPeriods: 1,
      });
      built.operations.watchQueue({ name: 'broadcastSlices', queue, deadLetterQueue, deadLetterAlarm });
      ownAlarmId = stack.getLogicalId(deadLetterAlarm.node.defaultChild as never);
    });
    const topicRef = { Ref: logicalId(gateway.operations.alarmTopic as never) };
    const alarms = alarmsOf(template);
    expect(alarms[ownAlarmId].Properties.AlarmActions).toEqual([topicRef]);
    expect(Object.keys(alarms).filter((id) => id.includes('BroadcastSlicesDeadLetters'))).toEqual([]);
  });
});

describe('alarms and dashboard from CDK context', () => {
  const synth = (context: Record<string, unknown>) => {
    const app = new App({ context: testAppContext(context) });
    return Template.fromStack(addRealtimeGateway(app));
  };

  it('alarms=false creates no alarm; the stack then outputs no alarm names', () => {
    const template = synth({ alarms: 'false' });
    template.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    expect(Object.keys(template.findOutputs('*'))).not.toEqual(
      expect.arrayContaining(['AlarmTopicArn', 'DirectSendFailureAlarmName']),
    );
  });

  it('alarmEmail subscribes the address to the created topic, which the stack outputs', () => {
    const template = synth({ alarmEmail: 'oncall@example.com' });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
    template.hasOutput('AlarmTopicArn', { Value: { Ref: Match.anyValue() } });
    template.hasOutput('DashboardName', { Value: { Ref: Match.anyValue() } });
  });

  it('dashboard=false creates no dashboard', () => {
    synth({ dashboard: 'false' }).resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });

  it.each([
    [{ alarmEmail: 'not-an-address' }, 'CDK context "alarmEmail" must be an email address, got "not-an-address"'],
    [
      { alarms: 'false', alarmEmail: 'oncall@example.com' },
      'CDK context "alarmEmail" has nothing to subscribe to when alarms is false',
    ],
    [{ alarms: 'off' }, 'CDK context "alarms" must be true or false, got "off"'],
  ])('refuses %j', (context, message) => {
    expect(() => synth(context)).toThrow(message);
  });
});
