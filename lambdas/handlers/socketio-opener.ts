import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { getManagementClient } from '../core/clients';
import { errorLabel } from '../core/delivery';
import { logger, observability } from '../core/observability';
import { parseOpeningMessage, postOpening } from '../core/socketio-opening';

/**
 * Behind the openings queue (`queues.socketIoOpenings`): posts each new Socket.IO connection's Engine.IO `open`
 * packet (`socketio-opening.ts`). A record whose post failed otherwise than 410 is reported as a batch item failure
 * and tried once more.
 */

const managementClient = getManagementClient(process.env);

async function open(event: SQSEvent): Promise<SQSBatchResponse> {
  const outcomes = await Promise.allSettled(
    event.Records.map(async (record) => {
      const message = parseOpeningMessage(record.body);
      const outcome = await postOpening({ managementClient }, message);
      logger.info('socket.io connection opened', {
        connectionId: message.connectionId,
        outcome,
        waitedMs: Date.now() - message.queuedAt,
      });
    }),
  );
  return {
    batchItemFailures: event.Records.flatMap((record, index) => {
      const outcome = outcomes[index];
      if (outcome.status === 'fulfilled') return [];
      logger.warn('socket.io open failed', { messageId: record.messageId, error: errorLabel(outcome.reason) });
      return [{ itemIdentifier: record.messageId }];
    }),
  };
}

export const handler = middy<SQSEvent, SQSBatchResponse>().use(observability()).handler(open);
