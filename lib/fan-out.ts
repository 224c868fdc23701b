import { ArnFormat, Duration, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { broadcastTableSchema } from '../lambdas/core/table-schema';
import {
  type FunctionAccess,
  type FunctionName,
  type QueueDeclaration,
  type QueueName,
  queues,
  visibilityTimeoutSeconds,
} from '../lambdas/routes';
import { messagesWaitingAlarm } from './queue-alarm';
import { grantTableActions, tableFromSchema } from './schema-table';

export interface FanOutProps {
  /**
   * What happens to the fan-out state table when the stack is deleted: it holds broadcasts' progress, worth nothing
   * once the APIs are gone.
   * @default RemovalPolicy.DESTROY
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * Creates each DLQ's alarm (the gateway turns it off with the rest of its alarms, `alarms=false`).
   * @default true
   */
  readonly alarms?: boolean;
  /**
   * The event bus (name or ARN) that gets one `Broadcast Completed` event per fan-out; the functions whose access
   * says `sendsCompletionEvents` may `events:PutEvents` on it alone. Undefined: no completion events, no grant.
   * @default - no completion events
   */
  readonly completionEventBus?: string;
}

/** One queue of the route table's `queues`, as built. */
export interface BuiltQueue {
  readonly declaration: QueueDeclaration;
  /** SQS-managed encryption, TLS only, redrive to {@link deadLetterQueue} after `maxReceiveCount` receives. */
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /**
   * In alarm while the DLQ holds a message (a poisoned slice); the gateway's operations add their topic's actions.
   * Undefined when alarms are turned off.
   */
  readonly deadLetterAlarm?: cloudwatch.Alarm;
}

/**
 * The asynchronous fan-out's infrastructure, built from the route table's `queues` and the fan-out state table's
 * schema: the state table (TTL), each queue with its DLQ and the DLQ's alarm, and, once the functions exist, each
 * queue's event source mapping to its consumer (batch item failures, maximum concurrency) and the grants of the
 * route table's `fanOutTable` and `sendsTo` access.
 *
 * @example
 * const fanOut = new FanOut(this, 'FanOut');
 * // ... build the functions with fanOut.table.tableName and fanOut.queueUrls() in their environment ...
 * fanOut.grantAccess(fn, functions.broadcastWorker.access);
 * fanOut.connectConsumers(builtFunctions);
 */
export class FanOut extends Construct {
  /** The fan-out state table (`broadcastTableSchema`). */
  readonly table: dynamodb.Table;
  readonly queues: Readonly<Record<QueueName, BuiltQueue>>;
  /** The completion event bus as the functions get it (`COMPLETION_EVENT_BUS`); undefined when the events are off. */
  readonly completionEventBus?: string;
  /** Its ARN, the only resource of the `events:PutEvents` grant. */
  readonly completionEventBusArn?: string;

  constructor(scope: Construct, id: string, props: FanOutProps = {}) {
    super(scope, id);
    this.completionEventBus = props.completionEventBus;
    this.completionEventBusArn =
      props.completionEventBus === undefined
        ? undefined
        : props.completionEventBus.startsWith('arn:')
          ? props.completionEventBus
          : Stack.of(this).formatArn({
              service: 'events',
              resource: 'event-bus',
              resourceName: props.completionEventBus,
              arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
            });
    this.table = tableFromSchema(this, 'StateTable', broadcastTableSchema, props.tableRemovalPolicy);

    const built: Partial<Record<QueueName, BuiltQueue>> = {};
    for (const [name, declaration] of Object.entries(queues) as [QueueName, QueueDeclaration][]) {
      const id = name.charAt(0).toUpperCase() + name.slice(1);
      const deadLetterQueue = new sqs.Queue(this, `${id}DeadLetterQueue`, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(declaration.deadLetterRetentionDays),
      });
      Validations.of(deadLetterQueue).acknowledge({
        id: 'AwsSolutions-SQS3',
        reason: `This is the dead-letter queue of the ${name} queue; a DLQ behind a DLQ would only move poison once more.`,
      });
      const queue = new sqs.Queue(this, `${id}Queue`, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        visibilityTimeout: Duration.seconds(visibilityTimeoutSeconds(declaration)),
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: declaration.maxReceiveCount },
      });
      const deadLetterAlarm =
        (props.alarms ?? true)
          ? messagesWaitingAlarm(
              this,
              `${id}DeadLetterAlarm`,
              deadLetterQueue,
              `Messages of the ${name} queue failed ${declaration.maxReceiveCount} times and wait in its dead-letter queue: ` +
                'for a broadcast slice, its status says failed and the rest of its segment was not reached; read the ' +
                "worker's logs for the slice, fix the cause, then redrive the DLQ (the slice resumes from its checkpoint).",
            )
          : undefined;
      built[name] = { declaration, queue, deadLetterQueue, deadLetterAlarm };
    }
    this.queues = built as Record<QueueName, BuiltQueue>;
  }

  /** Each queue's URL, for the functions' environment. */
  queueUrls(): Record<QueueName, string> {
    return Object.fromEntries(
      Object.entries(this.queues).map(([name, built]) => [name, built.queue.queueUrl]),
    ) as Record<QueueName, string>;
  }

  /**
   * The grants of one function's `fanOutTable`, `sendsTo` and `sendsCompletionEvents` access: exactly those table
   * actions on the state table, `sqs:SendMessage` alone on each queue it sends to (`grantSendMessages` would add
   * GetQueueAttributes and GetQueueUrl, which a sender with the URL never calls), and `events:PutEvents` on the
   * completion event bus alone when completion events are on.
   */
  grantAccess(fn: lambda.IFunction, access: FunctionAccess): void {
    grantTableActions(fn, access.fanOutTable, this.table);
    if (access.sendsTo.length > 0) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['sqs:SendMessage'],
          resources: access.sendsTo.map((name) => this.queues[name].queue.queueArn),
        }),
      );
    }
    if (access.sendsCompletionEvents && this.completionEventBusArn !== undefined) {
      // Settling reads the broadcast's status (one Query) before the event: needed only while the events are on.
      const actions = access.fanOutTable.includes('Query') ? [] : ['dynamodb:Query'];
      if (actions.length > 0) {
        fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [this.table.tableArn] }));
      }
      fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [this.completionEventBusArn] }),
      );
    }
  }

  /**
   * Connects each queue to its consumer: an SQS event source with the declared batch size and maximum concurrency,
   * reporting batch item failures (only the failed slice is redelivered).
   */
  connectConsumers(functions: Readonly<Record<FunctionName, lambda.IFunction>>): void {
    for (const built of Object.values(this.queues)) {
      const { consumer } = built.declaration;
      functions[consumer.function].addEventSource(
        new SqsEventSource(built.queue, {
          batchSize: consumer.batchSize,
          maxConcurrency: consumer.maxConcurrency,
          reportBatchItemFailures: true,
        }),
      );
    }
  }
}

/**
 * The timeout a queue consumer gets from its queue's declaration, or undefined for a function no queue feeds.
 *
 * @example
 * consumerTimeoutSeconds('broadcastWorker'); // 300
 */
export function consumerTimeoutSeconds(name: FunctionName): number | undefined {
  return Object.values(queues as Record<QueueName, QueueDeclaration>).find((queue) => queue.consumer.function === name)
    ?.consumer.timeoutSeconds;
}
