import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * An alarm that fires as soon as one message waits in a queue where messages only land when something failed
 * (a dead-letter queue, the direct-send failure queue), checked every minute. SQS publishes nothing for an idle
 * queue, so missing data means nothing failed.
 *
 * @example
 * const alarm = messagesWaitingAlarm(this, 'Alarm', failureQueue, 'Direct-send events failed: replay or delete them.');
 */
export function messagesWaitingAlarm(
  scope: Construct,
  id: string,
  queue: IQueue,
  alarmDescription: string,
): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, id, {
    alarmDescription,
    metric: queue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(1),
      statistic: cloudwatch.Stats.MAXIMUM,
    }),
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}
