import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { RealtimeGateway, type RealtimeGatewayProps } from './realtime-gateway';

export interface RealtimeGatewayStackProps extends StackProps {
  /** Everything the gateway construct accepts. */
  readonly gateway?: RealtimeGatewayProps;
}

/**
 * The deployable stack: the {@link RealtimeGateway} construct and its outputs. Other apps embed the construct
 * itself; this stack is what `npx cdk deploy` deploys.
 *
 * @example
 * new RealtimeGatewayStack(app, 'RealtimeGateway', { gateway: { stageName: 'dev' } });
 */
export class RealtimeGatewayStack extends Stack {
  readonly gateway: RealtimeGateway;

  constructor(scope: Construct, id: string, props: RealtimeGatewayStackProps = {}) {
    super(scope, id, props);
    this.gateway = new RealtimeGateway(this, 'Gateway', props.gateway);

    new CfnOutput(this, 'WebSocketUrl', {
      description: 'wss:// URL clients connect to',
      value: this.gateway.webSocketUrl,
    });
    new CfnOutput(this, 'CallbackUrl', {
      description: 'Management API (callback) URL of the WebSocket stage',
      value: this.gateway.callbackUrl,
    });
    new CfnOutput(this, 'HttpApiUrl', {
      description: 'Base URL of the HTTP API (/websocket/...)',
      value: this.gateway.httpApiUrl,
    });
    new CfnOutput(this, 'ConnectionTableName', {
      description: 'DynamoDB connection registry table',
      value: this.gateway.table.tableName,
    });
    new CfnOutput(this, 'SendFunctionArn', {
      description: 'Direct-send function for other AWS services (Lambda Invoke, EventBridge, Step Functions)',
      value: this.gateway.sendFunction.functionArn,
    });
    new CfnOutput(this, 'DirectSendFailureQueueUrl', {
      description:
        'SQS queue of direct-send events whose asynchronous invocation failed after every retry (alarm: DirectSendFailureAlarmName)',
      value: this.gateway.directSendFailures.queue.queueUrl,
    });
    if (this.gateway.directSendFailures.alarm) {
      new CfnOutput(this, 'DirectSendFailureAlarmName', {
        description: 'CloudWatch alarm in ALARM while the direct-send failure queue holds a message',
        value: this.gateway.directSendFailures.alarm.alarmName,
      });
    }
    if (this.gateway.operations.alarmTopic) {
      new CfnOutput(this, 'AlarmTopicArn', {
        description: 'SNS topic every alarm of the gateway notifies (subscribe on-call here)',
        value: this.gateway.operations.alarmTopic.topicArn,
      });
    }
    if (this.gateway.operations.dashboard) {
      new CfnOutput(this, 'DashboardName', {
        description: 'CloudWatch dashboard of the gateway',
        value: this.gateway.operations.dashboard.dashboardName,
      });
    }
    new CfnOutput(this, 'RoomTableName', {
      description:
        'DynamoDB room index (room memberships): ROOM_TABLE_NAME for a backend that joins, lists or sends to rooms',
      value: this.gateway.roomIndex.table.tableName,
    });
    new CfnOutput(this, 'FanOutTableName', {
      description: 'DynamoDB fan-out state table (broadcast status and slice checkpoints): FAN_OUT_TABLE_NAME',
      value: this.gateway.fanOut.table.tableName,
    });
    new CfnOutput(this, 'MessageLogTableName', {
      description:
        'DynamoDB message log (resume, offline delivery): MESSAGE_LOG_TABLE_NAME of a backend that sends, so its ' +
        'messages are recorded too',
      value: this.gateway.messageLog.table.tableName,
    });
    const slices = this.gateway.fanOut.queues.broadcastSlices;
    new CfnOutput(this, 'BroadcastSliceQueueUrl', {
      description: 'SQS queue of broadcast slices (SLICE_QUEUE_URL for a backend that broadcasts)',
      value: slices.queue.queueUrl,
    });
    new CfnOutput(this, 'BroadcastDeadLetterQueueUrl', {
      description: 'Broadcast slices that failed every receive (alarm: BroadcastDeadLetterAlarmName)',
      value: slices.deadLetterQueue.queueUrl,
    });
    if (slices.deadLetterAlarm) {
      new CfnOutput(this, 'BroadcastDeadLetterAlarmName', {
        description: 'CloudWatch alarm in ALARM while the broadcast slice DLQ holds a message',
        value: slices.deadLetterAlarm.alarmName,
      });
    }
    if (this.gateway.jwtSecret) {
      new CfnOutput(this, 'JwtSecretArn', {
        description: 'Secrets Manager secret holding the HS* JWT signing secret (token issuers read it)',
        value: this.gateway.jwtSecret.secretArn,
      });
    }
  }
}
