import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { readCompletionEventConfig, settleBroadcast } from '../core/broadcast-completion';
import { runSlice, type SliceMessage } from '../core/broadcast-fan-out';
import {
  createManagementClient,
  getDocumentClient,
  readManagementClientConfig,
  readSendConcurrency,
} from '../core/clients';
import { createEventBridgeCompletionEvents } from '../core/completion-event-bus';
import { optionalInteger, requireString, Setting } from '../core/config';
import { errorLabel } from '../core/delivery';
import { createFanOutState, DEFAULT_FAN_OUT_STATE_TTL_SECONDS, SliceBusyError } from '../core/fan-out-state';
import { faultHook, readFaultRules } from '../core/fault-injection';
import { logger, metrics, observability } from '../core/observability';
import {
  DynamoPostBudget,
  readPostBudgetConfig,
  reportThrottling,
  retryThrottlingThroughBudget,
} from '../core/post-budget';
import { createConnectionRegistry, readRegistryConfig } from '../core/registry';
import { createRoomRegistry, readRoomRegistryConfig } from '../core/room-registry';
import { RoomSetting } from '../core/room-settings';
import { createSqsSliceQueue, getSqsClient, parseSliceMessage, readSliceQueueConfig } from '../core/slice-queue';
import { DEFAULT_BROADCAST_TIME_MARGIN_MS } from '../core/websocket-service';
import { queues } from '../routes';

/**
 * The broadcast worker, behind the slice queue's event source mapping (`queues.broadcastSlices`, with
 * `ReportBatchItemFailures`). Each record is one slice run (`runSlice`); a record that fails is reported as a batch
 * item failure, so only it is redelivered (after the visibility timeout) and resumes from its checkpoint. On the
 * record's last receive (`maxReceiveCount`) a failure also marks the slice dead-lettered, so the broadcast's status
 * says so while SQS moves the message to the DLQ, and settles the broadcast: when that was its last unsettled slice,
 * the completion event goes out with the state `failed`.
 */

const env = process.env;
const registry = createConnectionRegistry({ client: getDocumentClient(), ...readRegistryConfig(env) });
// Room fan-outs walk a room's members instead of a Scan segment, and a connection found gone (410) leaves its rooms
// too; without the room index (a deployment older than rooms) room slices fail and memberships are left to their TTL.
const rooms = env[RoomSetting.roomTableName]?.trim()
  ? createRoomRegistry({ client: getDocumentClient(), ...readRoomRegistryConfig(env) })
  : undefined;
const fanOutTableName = requireString(env, Setting.fanOutTableName);
const state = createFanOutState({
  client: getDocumentClient(),
  tableName: fanOutTableName,
  ttlSeconds: DEFAULT_FAN_OUT_STATE_TTL_SECONDS,
});
// One budget for every worker of every invocation, counted in the fan-out state table (post-budget.ts).
const budget = new DynamoPostBudget({
  client: getDocumentClient(),
  tableName: fanOutTableName,
  ...readPostBudgetConfig(env),
});
const queue = createSqsSliceQueue({ client: getSqsClient(), queueUrl: readSliceQueueConfig(env).queueUrl });
// A client of its own (not the process's shared one): its retry strategy is changed below, which the other senders'
// clients must not share when the local stack runs every handler in one process.
const managementClient = createManagementClient(readManagementClientConfig(env));
// The budget hears of every 429 attempt, so its backoff starts at the first one; and a 429 comes back at once instead
// of being retried by the SDK outside the budget: runSlice posts it again from the slice's retry list.
reportThrottling(managementClient, budget);
// (bench/README.md: 59.9 s against 84.4 s with the SDK retrying, at an account throttle 10% below the budget.)
retryThrottlingThroughBudget(managementClient);
const groupSize = readSendConcurrency(env);
const timeMarginMs = optionalInteger(env, Setting.broadcastTimeMarginMs, DEFAULT_BROADCAST_TIME_MARGIN_MS, { min: 0 });
const afterPost = faultHook(readFaultRules(env));
// One `Broadcast Completed` event per fan-out on this bus (COMPLETION_EVENT_BUS); unset, none.
const completionEventConfig = readCompletionEventConfig(env);
const completionEvents =
  completionEventConfig &&
  createEventBridgeCompletionEvents({
    client: new EventBridgeClient({ retryMode: 'standard', maxAttempts: 3 }),
    eventBusName: completionEventConfig.eventBusName,
  });
const { maxReceiveCount } = queues.broadcastSlices;

async function runRecord(record: SQSRecord, context: Context): Promise<void> {
  let message: SliceMessage | undefined;
  try {
    message = parseSliceMessage(record.body);
    const result = await runSlice(
      {
        registry,
        rooms,
        managementClient,
        state,
        queue,
        budget,
        groupSize,
        remainingTimeMs: () => context.getRemainingTimeInMillis(),
        timeMarginMs,
        owner: `${context.awsRequestId}/${record.messageId}`,
        logger,
        metrics,
        afterPost,
        completionEvents,
      },
      message,
    );
    logger.info('broadcast slice run ended', { broadcastId: message.broadcastId, segment: message.segment, ...result });
  } catch (error) {
    const receives = Number(record.attributes.ApproximateReceiveCount);
    const last = receives >= maxReceiveCount && !(error instanceof SliceBusyError);
    logger.warn('broadcast slice run failed', {
      messageId: record.messageId,
      broadcastId: message?.broadcastId,
      segment: message?.segment,
      receives,
      lastReceive: last,
      error: errorLabel(error),
    });
    if (last && message) {
      const dead = message;
      await state
        .markDeadLettered(dead, new Date().toISOString())
        // Its last slice dead-lettered, the broadcast is settled (`failed`): the completion event says so.
        .then(() =>
          completionEvents
            ? settleBroadcast(
                {
                  state,
                  events: completionEvents,
                  owner: `${context.awsRequestId}/${record.messageId}`,
                  leaseUntil: Date.now() + context.getRemainingTimeInMillis(),
                  logger,
                },
                dead.broadcastId,
              )
            : undefined,
        )
        .catch((markError: unknown) => {
          // The message goes to the DLQ anyway; the status route says failed even if the event could not be sent.
          logger.warn('marking a slice dead-lettered (or sending the completion event) failed', {
            messageId: record.messageId,
            error: errorLabel(markError),
          });
        });
    }
    throw error;
  }
}

async function drainSlices(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  const outcomes = await Promise.allSettled(event.Records.map((record) => runRecord(record, context)));
  return {
    batchItemFailures: event.Records.flatMap((record, index) =>
      outcomes[index].status === 'rejected' ? [{ itemIdentifier: record.messageId }] : [],
    ),
  };
}

export const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>().use(observability()).handler(drainSlices);
