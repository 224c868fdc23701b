import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SliceMessage, SliceQueue } from './broadcast-fan-out';
import { type Environment, optionalInteger, requireUrl, Setting } from './config';

/**
 * The broadcast slice queue over SQS. The endpoint is the SDK's own business: the queue URL locally names the
 * local stack's SQS server, and `AWS_ENDPOINT_URL_SQS` (read by the SDK) points the client at it; no local branch.
 */

/** SQS takes at most 10 entries per SendMessageBatch. */
const SQS_BATCH_ENTRIES = 10;
/**
 * SQS refuses a batch whose bodies add up to more than 1 MiB (256 KiB before August 2025); an envelope is at most
 * 128 KB, so batches are cut by size as well as by count, at the older, stricter limit.
 */
const SQS_BATCH_BYTES = 256 * 1024;

/** Scan segments per broadcast when `BROADCAST_SEGMENTS` is unset: 4 workers at once from the first second. */
export const DEFAULT_BROADCAST_SEGMENTS = 4;
/** DynamoDB's limit on parallel Scan segments is 1,000,000; far beyond any worker concurrency. */
export const MAX_BROADCAST_SEGMENTS = 1000;

/** A slice could not be queued (SQS refused an entry of the batch). */
export class SliceQueueError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SliceQueueError';
  }
}

/**
 * Reads `SLICE_QUEUE_URL` (required) and `BROADCAST_SEGMENTS` (default {@link DEFAULT_BROADCAST_SEGMENTS}).
 *
 * @example
 * readSliceQueueConfig({ SLICE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123/slices' });
 * // { queueUrl: 'https://sqs…/slices', segments: 4 }
 */
export function readSliceQueueConfig(env: Environment): { queueUrl: string; segments: number } {
  return {
    queueUrl: requireUrl(env, Setting.sliceQueueUrl).href,
    segments: optionalInteger(env, Setting.broadcastSegments, DEFAULT_BROADCAST_SEGMENTS, {
      min: 1,
      max: MAX_BROADCAST_SEGMENTS,
    }),
  };
}

let sharedClient: SQSClient | undefined;

/** The process's SQS client (standard retries, built once). */
export function getSqsClient(): SQSClient {
  sharedClient ??= new SQSClient({ retryMode: 'standard', maxAttempts: 3 });
  return sharedClient;
}

/**
 * A {@link SliceQueue} that sends with SendMessageBatch (IAM action `sqs:SendMessage`), in batches of at most 10
 * entries and 256 KiB; a failed entry throws {@link SliceQueueError} once the others are sent.
 *
 * @example
 * const queue = createSqsSliceQueue({ client: getSqsClient(), queueUrl: process.env.SLICE_QUEUE_URL! });
 * await queue.send([message]);
 */
export function createSqsSliceQueue(options: { client: SQSClient; queueUrl: string }): SliceQueue {
  return {
    async send(messages) {
      const batches: SliceMessage[][] = [];
      let current: SliceMessage[] = [];
      let bytes = 0;
      for (const message of messages) {
        const size = Buffer.byteLength(JSON.stringify(message));
        if (current.length === SQS_BATCH_ENTRIES || (current.length > 0 && bytes + size > SQS_BATCH_BYTES)) {
          batches.push(current);
          current = [];
          bytes = 0;
        }
        current.push(message);
        bytes += size;
      }
      if (current.length > 0) batches.push(current);
      const results = await Promise.all(
        batches.map((batch) =>
          options.client.send(
            new SendMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: batch.map((message, index) => ({ Id: String(index), MessageBody: JSON.stringify(message) })),
            }),
          ),
        ),
      );
      const failed = results.flatMap((result) => result.Failed ?? []);
      if (failed.length > 0) {
        throw new SliceQueueError(`SQS refused ${failed.length} slice message(s): ${failed[0].Code ?? 'unknown'}`);
      }
    },
  };
}

/**
 * Parses a slice message body; anything else throws (a poisoned message: it ends in the DLQ).
 *
 * @example
 * parseSliceMessage(record.body); // { broadcastId: 'b…', segment: 0, totalSegments: 4, ... }
 */
export function parseSliceMessage(body: string): SliceMessage {
  const value = JSON.parse(body) as Partial<SliceMessage>;
  const isIndex = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof value.broadcastId !== 'string' ||
    !isIndex(value.segment) ||
    !isIndex(value.totalSegments) ||
    value.segment >= value.totalSegments ||
    typeof value.envelope !== 'string' ||
    typeof value.type !== 'string' ||
    !isIndex(value.continuation) ||
    (value.audience !== undefined && value.audience !== 'socket.io') ||
    (value.frame !== undefined && typeof value.frame !== 'string') ||
    // A room slice walks one Query: it is segment 0 of 1.
    (value.room !== undefined && (typeof value.room !== 'string' || value.totalSegments !== 1))
  ) {
    throw new TypeError('not a broadcast slice message');
  }
  return value as SliceMessage;
}
