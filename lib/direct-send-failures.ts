import { Duration, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { messagesWaitingAlarm } from './queue-alarm';

/** Lambda retries a failed asynchronous invocation 0, 1 or 2 times. */
export const asyncRetryAttemptsRange = { min: 0, max: 2 } as const;
/** Lambda's own default, kept: a send that failed on a passing DynamoDB or network error gets two more tries. */
export const DEFAULT_DIRECT_SEND_RETRY_ATTEMPTS = 2;
/** SQS's maximum: failed sends stay two weeks for an operator to read (and replay) after the alarm. */
export const FAILURE_RETENTION = Duration.days(14);

export interface DirectSendFailuresProps {
  /** The function EventBridge (or any `InvocationType: Event` caller) invokes asynchronously. */
  readonly fn: lambda.IFunction;
  /**
   * Retries of a failed asynchronous invocation before the event goes to the queue (0 to 2).
   * @default 2 - Lambda's default
   */
  readonly retryAttempts?: number;
  /**
   * Creates the alarm on the queue (the gateway turns it off with the rest of its alarms).
   * @default true
   */
  readonly alarm?: boolean;
}

/**
 * What happens to a direct-send event whose asynchronous invocation keeps failing: after the retries it goes to an
 * SQS queue instead of being dropped (Lambda's behaviour without a destination), and an alarm goes off while the
 * queue holds any. Synchronous invocations (`RequestResponse`, Step Functions tasks) get the error back and are
 * not concerned.
 *
 * The queue record is Lambda's invocation record: the original event under `requestPayload`, the error under
 * `responsePayload`, the attempt count and condition under `requestContext`.
 *
 * @example
 * const failures = new DirectSendFailures(this, 'DirectSendFailures', { fn: sendFunction, retryAttempts: 0 });
 * failures.alarm?.addAlarmAction(new SnsAction(opsTopic));
 */
export class DirectSendFailures extends Construct {
  /** Encrypted (SQS-managed keys), TLS only, 14-day retention. */
  readonly queue: sqs.Queue;
  /**
   * In alarm while the queue holds a message; the gateway adds its alarm topic's actions. Undefined when turned off.
   */
  readonly alarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: DirectSendFailuresProps) {
    super(scope, id);
    const retryAttempts = props.retryAttempts ?? DEFAULT_DIRECT_SEND_RETRY_ATTEMPTS;
    if (
      !Number.isInteger(retryAttempts) ||
      retryAttempts < asyncRetryAttemptsRange.min ||
      retryAttempts > asyncRetryAttemptsRange.max
    ) {
      throw new Error(
        `RealtimeGateway directSendRetryAttempts must be 0, 1 or 2 (Lambda's range for asynchronous invocations), got ${retryAttempts}`,
      );
    }

    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: FAILURE_RETENTION,
    });
    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter destination of the direct-send function (its on-failure destination); ' +
        'a dead-letter queue behind it would only move the same failure records once more.',
    });

    // Not `SqsDestination`: its `grantSendMessages` also allows GetQueueAttributes and GetQueueUrl, which Lambda
    // does not need to deliver an invocation record (it sends with the function's execution role).
    const queue = this.queue;
    const sendMessageOnly: lambda.IDestination = {
      bind: (_scope, fn) => {
        fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
        return { destination: queue.queueArn };
      },
    };
    props.fn.configureAsyncInvoke({ retryAttempts, onFailure: sendMessageOnly });

    if (props.alarm === false) return;
    this.alarm = messagesWaitingAlarm(
      this,
      'Alarm',
      this.queue,
      'Direct-send events failed after every retry and wait in the failure queue (DirectSendFailureQueueUrl output): ' +
        'read the error in each record, fix the cause, replay or delete them.',
    );
  }
}
