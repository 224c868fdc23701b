import { setMaxListeners } from 'node:events';
import type { SQSBatchResponse, SQSEvent, SQSMessageAttributes, SQSRecord, SQSRecordAttributes } from 'aws-lambda';
import type { LocalQueue, ReceivedMessage } from './local-queue';
import { isBinary, type MessageAttributeValue } from './message-digest';
import type { LocalSqs } from './sqs-server';

export interface EventSourceMappingOptions {
  /** The local SQS the queue lives in (polled in process: Lambda's pollers are AWS-side, not the function's). */
  sqs: LocalSqs;
  queueName: string;
  /** Messages per invocation at most. @default 10 (Lambda's default for SQS) */
  batchSize?: number;
  /** How long to gather a batch before invoking with fewer than `batchSize`. @default 0 */
  maximumBatchingWindowSeconds?: number;
  /** Invocations in flight at most (`ScalingConfig.MaximumConcurrency`, 2 to 1000 on AWS). @default 5 */
  maxConcurrency?: number;
  /** `FunctionResponseTypes: ['ReportBatchItemFailures']`: honour `batchItemFailures`. @default false */
  reportBatchItemFailures?: boolean;
  /** The function: what the local stack's Lambda runner calls with the event. */
  // biome-ignore lint/suspicious/noConfusingVoidType: a handler typed `Promise<void>` (aws-lambda's SQSHandler) must fit.
  invoke: (event: SQSEvent) => Promise<SQSBatchResponse | undefined | null | void>;
  /** Told of each failed invocation (a throw, or a response Lambda treats as a failure). @default nothing */
  onInvocationError?: (error: unknown, event: SQSEvent) => void;
}

export interface EventSourceMapping {
  /** Stops polling, waits for the invocations in flight to settle; leaves no timer or poll behind. */
  stop(): Promise<void>;
  /**
   * Resolves once no invocation runs and the queue holds no message (visible, in flight or delayed): everything
   * was handled, deleted or moved to the dead-letter queue. A message that keeps failing on a queue without a
   * redrive policy keeps it from resolving, as it keeps coming back on AWS.
   */
  idle(): Promise<void>;
  /** Invocations started so far. */
  readonly invocations: number;
}

/** The long poll Lambda's SQS pollers use. */
const POLL_WAIT_SECONDS = 20;
/** ReceiveMessage returns at most 10 messages; larger batches are gathered over several receives. */
const MAX_RECEIVE = 10;

/**
 * Polls a local queue and invokes `invoke` with SQS events as Lambda's event source mapping does. Each behaviour is
 * from the Lambda developer guide:
 * - "Using Lambda with Amazon SQS": long polling; a batch of up to `batchSize` records, gathered for up to
 *   `maximumBatchingWindowSeconds`; on success Lambda deletes the batch's messages.
 * - "Handling errors for an SQS event source in Lambda": a throw fails the whole batch, whose messages are not
 *   deleted and come back when their visibility timeout ends (their receive count grows; past the queue's
 *   `maxReceiveCount` SQS moves them to the dead-letter queue). With `ReportBatchItemFailures`, only the messages
 *   named in `batchItemFailures` come back; an empty or null list (or response) is success; an item without an
 *   `itemIdentifier`, or one naming a message not in the batch, fails the whole batch.
 * - "Configuring maximum concurrency for Amazon SQS event sources": at most `maxConcurrency` invocations at once;
 *   pollers receive no more messages than they can invoke with (here: one batch per free slot), so messages wait
 *   visible in the queue instead of timing out in a poller.
 * The event is shaped like captured ones (aws/aws-lambda-go `events/testdata/sqs-event.json`,
 * aws-powertools/powertools-lambda-typescript `packages/parser/tests/events/sqs/base.json`).
 *
 * @example
 * const mapping = startEventSourceMapping({
 *   sqs, queueName: 'slices', batchSize: 5, maxConcurrency: 2, reportBatchItemFailures: true,
 *   invoke: (event) => worker(event, context),
 * });
 * await mapping.idle();
 * await mapping.stop();
 */
export function startEventSourceMapping(options: EventSourceMappingOptions): EventSourceMapping {
  const batchSize = options.batchSize ?? 10;
  const maxConcurrency = options.maxConcurrency ?? 5;
  const windowSeconds = options.maximumBatchingWindowSeconds ?? 0;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new Error('batchSize must be an integer from 1 to 10000');
  }
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) {
    throw new Error('maxConcurrency must be a positive integer (2 to 1000 on AWS)');
  }
  if (!(windowSeconds >= 0 && windowSeconds <= 300)) {
    throw new Error('maximumBatchingWindowSeconds must be 0 to 300');
  }
  const { sqs } = options;
  const queue = sqs.queue(options.queueName);
  const stopping = new AbortController();
  // Each of the maxConcurrency slots listens for the stop while it polls or waits: bounded, not a leak (Node warns
  // past 10).
  setMaxListeners(0, stopping.signal);
  /** Slots holding a batch (gathering it or invoking with it). */
  let busy = 0;
  let invocations = 0;
  const idleWaiters = new Set<() => void>();

  const isIdle = () => {
    const counts = queue.counts();
    return busy === 0 && counts.visible + counts.inFlight + counts.delayed === 0;
  };
  const checkIdle = () => {
    if (idleWaiters.size === 0 || !isIdle()) return;
    for (const resolve of idleWaiters) resolve();
    idleWaiters.clear();
  };
  const unsubscribe = queue.onChange(checkIdle);

  async function gatherBatch(): Promise<ReceivedMessage[]> {
    const batch = await queue.receive({
      maxNumberOfMessages: Math.min(MAX_RECEIVE, batchSize),
      waitTimeSeconds: POLL_WAIT_SECONDS,
      signal: stopping.signal,
    });
    if (batch.length === 0) return batch;
    // From the first message on, the slot holds a batch: not idle, even before the function is invoked.
    busy += 1;
    if (windowSeconds === 0) return batch;
    const deadline = Date.now() + windowSeconds * 1000;
    while (batch.length < batchSize && !stopping.signal.aborted) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const more = await queue.receive({
        maxNumberOfMessages: Math.min(MAX_RECEIVE, batchSize - batch.length),
        waitTimeSeconds: remaining / 1000,
        signal: stopping.signal,
      });
      for (const message of more) {
        // Received again within the window (its visibility timeout is shorter than the window): keep one record,
        // with the latest handle, the only one that can still delete it.
        const earlier = batch.findIndex((held) => held.MessageId === message.MessageId);
        if (earlier >= 0) batch.splice(earlier, 1);
        batch.push(message);
      }
    }
    return batch;
  }

  async function runSlot(): Promise<void> {
    while (!stopping.signal.aborted) {
      const batch = await gatherBatch();
      if (batch.length === 0) continue;
      const event: SQSEvent = { Records: batch.map((message) => toRecord(message, queue, sqs.region)) };
      invocations += 1;
      try {
        const toDelete = await outcome(event, options);
        for (const message of batch) {
          if (toDelete.has(message.MessageId)) queue.delete(message.ReceiptHandle);
        }
      } catch (error) {
        // Only a bug can land here (the handles were issued by this queue); report it, keep the slot polling.
        options.onInvocationError?.(error, event);
      } finally {
        busy -= 1;
        checkIdle();
      }
    }
  }

  // One loop per concurrency slot: a slot receives only when it is free to invoke.
  const slots = Array.from({ length: maxConcurrency }, () => runSlot());

  return {
    get invocations() {
      return invocations;
    },
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.add(resolve);
        checkIdle();
      }),
    stop: async () => {
      stopping.abort();
      unsubscribe();
      await Promise.all(slots);
    },
  };
}

/** Which messages of the batch to delete, by Lambda's rules for the function's response. */
async function outcome(event: SQSEvent, options: EventSourceMappingOptions): Promise<Set<string>> {
  const all = new Set(event.Records.map((record) => record.messageId));
  let response: Awaited<ReturnType<EventSourceMappingOptions['invoke']>>;
  try {
    response = await options.invoke(event);
  } catch (error) {
    options.onInvocationError?.(error, event);
    return new Set();
  }
  if (!options.reportBatchItemFailures) return all;
  const failures = response?.batchItemFailures;
  if (failures === undefined || failures === null) return all;
  if (!Array.isArray(failures)) {
    options.onInvocationError?.(new Error('batchItemFailures is not a list: the whole batch failed'), event);
    return new Set();
  }
  for (const failure of failures) {
    const id = failure?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !all.has(id)) {
      options.onInvocationError?.(
        new Error(`batchItemFailures names ${JSON.stringify(id)}, not a message of the batch: the whole batch failed`),
        event,
      );
      return new Set();
    }
    all.delete(id);
  }
  return all;
}

/** A received message as a record of Lambda's SQS event (camel-case keys, attributes as strings). */
export function toRecord(message: ReceivedMessage, queue: LocalQueue, region: string): SQSRecord {
  const record: SQSRecord = {
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    body: message.Body,
    attributes: message.Attributes as unknown as SQSRecordAttributes,
    messageAttributes: toRecordAttributes(message.MessageAttributes),
    md5OfBody: message.MD5OfBody,
    eventSource: 'aws:sqs',
    eventSourceARN: queue.arn,
    awsRegion: region,
  };
  if (message.MD5OfMessageAttributes) {
    (record as SQSRecord & { md5OfMessageAttributes: string }).md5OfMessageAttributes = message.MD5OfMessageAttributes;
  }
  return record;
}

function toRecordAttributes(attributes: Record<string, MessageAttributeValue> | undefined): SQSMessageAttributes {
  const out: SQSMessageAttributes = {};
  for (const [name, attribute] of Object.entries(attributes ?? {})) {
    out[name] = {
      ...(isBinary(attribute.DataType)
        ? { binaryValue: attribute.BinaryValue }
        : { stringValue: attribute.StringValue }),
      stringListValues: [],
      binaryListValues: [],
      dataType: attribute.DataType,
    };
  }
  return out;
}
