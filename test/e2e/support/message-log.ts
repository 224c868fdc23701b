import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createEnvelope } from '../../../lambdas/core/envelope';
import { createLogIdGenerator } from '../../../lambdas/core/log-id';
import { createMessageLog, LogStream, readMessageLogConfig } from '../../../lambdas/core/message-log';
import type { LocalStack } from '../../../local/stack';

export const HOUR_MS = 3_600_000;

/**
 * Records messages in the stack's log as a sender did `agoMs` ago, with that clock (ids and TTL dated back), marked
 * offline as a send to a user with no connection is: how a test shows an hour of absence without waiting an hour.
 *
 * @example
 * await recordDatedBack(stack, HOUR_MS, 'user123', [{ type: 'notification', data: { title: 't', body: 'b' } }]);
 */
export async function recordDatedBack(
  stack: LocalStack,
  agoMs: number,
  userId: string,
  messages: Array<{ type: string; data: unknown }>,
): Promise<void> {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.dynamoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'e2e', secretAccessKey: 'e2e' },
    }),
  );
  const past = () => Date.now() - agoMs;
  const log = createMessageLog({
    client,
    config: readMessageLogConfig({ MESSAGE_LOG_TABLE_NAME: stack.messageLogTableName })!,
    now: past,
    ids: createLogIdGenerator(past),
  });
  for (const message of messages) {
    const envelope = createEnvelope(message.type, message.data, { now: new Date(past()) });
    await log.record(envelope, [LogStream.user(userId)]);
    await log.markOffline(envelope.logId!, [userId]);
  }
  client.destroy();
}
