import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isLogId } from './log-id';
import type { MessageLogConfig } from './message-log';

/**
 * The message log's side of rooms: which rooms a user belonged to, so a resume replays those rooms' streams and no
 * other. A room's messages are recorded once, in the room's stream (`room#<room>`); who may read that stream back is
 * this record's business.
 *
 * One item per user and room, in the log table (`streamId` `rooms#<userId>`, `logId` the room's name; a room name
 * never holds `#`, a log id never a letter, so the families never meet):
 *
 * | attribute   | role                                                                                                   |
 * | ----------- | ------------------------------------------------------------------------------------------------------ |
 * | `since`     | a log id floor taken when the user's first join began: the room's stream is replayed from there, never before |
 * | `sessions`  | the Socket.IO sessions (`pid`s) whose connection was in the room: a recovered CONNECT joins them again |
 * | `expiresAt` | the retention after the last join, plus the longest a connection lives (2 h on API Gateway)            |
 *
 * Why per user and kept through a disconnect: a disconnect is exactly what a resume bridges, and the connection that
 * was in the room is gone by the time its successor resumes (its memberships die with it, `rooms.ts`). The record
 * ends on an explicit leave once no other connection of the user is in the room (`left`: expired and its `since`
 * removed, since nobody deletes from the log but its TTL), and with its TTL: a
 * connection lives at most 2 hours and a resume comes within the retention, so a record refreshed by every join
 * outlives every resume that needs it.
 *
 * A user's two connections in different rooms share the record; a resume names the rooms its client is in (the
 * adapter's `rooms`, a Socket.IO session's `sessions`) and gets the intersection with the record: never a room the
 * user did not belong to, never a room the resuming client is not in.
 */

/** The longest a WebSocket connection lives on API Gateway: a membership's record must outlive it. */
export const CONNECTION_MAX_SECONDS = 2 * 3600;

/** One room the user belongs to. */
export interface RoomRecord {
  room: string;
  /** The room's stream is replayed strictly after this log id (the user's first join). */
  since: string;
  /** Socket.IO sessions (`pid`) whose connection was in the room. */
  sessions: string[];
}

/** The membership records (see the module's comment). */
export interface RoomLog {
  /**
   * Records that the user joined `room`; `since` is a log id floor taken before the join was written. Keeps an
   * earlier `since` (a second connection's join, or a re-join after a reconnect, must not hide what was sent
   * meanwhile) and refreshes the expiry; `session`, a Socket.IO connection's `pid`, is added to `sessions`.
   */
  joined(userId: string, room: string, options: { since: string; session?: string }): Promise<void>;
  /**
   * An explicit leave: the record ends when no other connection of the user is still in the room (`stillIn` false);
   * otherwise only the leaving Socket.IO session is taken off it.
   */
  left(userId: string, room: string, options: { stillIn: boolean; session?: string }): Promise<void>;
  /** The user's live records (one Query, strongly consistent: a resume right after a join sees it). */
  roomsOf(userId: string): Promise<RoomRecord[]>;
}

/** The partition of a user's membership records. */
export const roomRecordStream = (userId: string): string => `rooms#${userId}`;

/**
 * The DynamoDB {@link RoomLog} over the message log's table.
 *
 * @example
 * const roomLog = createRoomLog({ client: getDocumentClient(), config: readMessageLogConfig(process.env)! });
 * await roomLog.joined('user123', 'chat:42', { since: logIdFloor(Date.now()) });
 * await roomLog.roomsOf('user123'); // [{ room: 'chat:42', since: '1764255600000-0000-000000', sessions: [] }]
 */
export function createRoomLog(options: {
  client: DynamoDBDocumentClient;
  config: Pick<MessageLogConfig, 'tableName' | 'retentionSeconds'>;
  now?: () => number;
}): RoomLog {
  const { client, config } = options;
  const now = options.now ?? Date.now;
  const tableName = config.tableName;
  const nowSeconds = (): number => Math.floor(now() / 1000);

  return {
    async joined(userId, room, { since, session }) {
      await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { streamId: roomRecordStream(userId), logId: room },
          UpdateExpression: `SET #since = if_not_exists(#since, :since), expiresAt = :expiresAt${session ? ' ADD #sessions :session' : ''}`,
          ExpressionAttributeNames: { '#since': 'since', ...(session ? { '#sessions': 'sessions' } : {}) },
          ExpressionAttributeValues: {
            ':since': since,
            ':expiresAt': nowSeconds() + config.retentionSeconds + CONNECTION_MAX_SECONDS,
            ...(session ? { ':session': new Set([session]) } : {}),
          },
        }),
      );
    },

    async left(userId, room, { stillIn, session }) {
      if (stillIn && session === undefined) return;
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { streamId: roomRecordStream(userId), logId: room },
            // Ended, not deleted (nobody deletes from the log but its TTL): expired at once, and without `since`, so
            // a later join starts the record afresh (`if_not_exists`) instead of reviving the old start.
            UpdateExpression: stillIn ? 'DELETE #sessions :session' : 'REMOVE #since, #sessions SET expiresAt = :now',
            // Never create a record by ending a missing one.
            ConditionExpression: 'attribute_exists(logId)',
            ExpressionAttributeNames: stillIn
              ? { '#sessions': 'sessions' }
              : { '#since': 'since', '#sessions': 'sessions' },
            ExpressionAttributeValues: stillIn ? { ':session': new Set([session]) } : { ':now': nowSeconds() },
          }),
        );
      } catch (error) {
        if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
      }
    },

    async roomsOf(userId) {
      const records: RoomRecord[] = [];
      let exclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'streamId = :stream',
            FilterExpression: 'expiresAt > :now',
            ExpressionAttributeValues: { ':stream': roomRecordStream(userId), ':now': nowSeconds() },
            ConsistentRead: true,
            ExclusiveStartKey: exclusiveStartKey,
          }),
        );
        for (const item of page.Items ?? []) {
          if (!isLogId(item.since)) continue;
          const sessions = item.sessions instanceof Set ? [...item.sessions].map(String) : [];
          records.push({ room: String(item.logId), since: item.since, sessions });
        }
        exclusiveStartKey = page.LastEvaluatedKey;
      } while (exclusiveStartKey);
      return records;
    },
  };
}

/**
 * The rooms a resume replays: the user's records, narrowed to the rooms the resuming client says it is in (absent:
 * every record), each with the id its stream starts after.
 *
 * @example
 * replayRooms([{ room: 'chat:42', since: '1764255600000-0000-000000', sessions: [] }], ['chat:42', 'news']);
 * // [{ room: 'chat:42', since: '1764255600000-0000-000000', sessions: [] }]
 */
export function replayRooms(records: readonly RoomRecord[], clientRooms?: readonly string[]): RoomRecord[] {
  if (clientRooms === undefined) return [...records];
  const wanted = new Set(clientRooms);
  return records.filter((record) => wanted.has(record.room));
}
