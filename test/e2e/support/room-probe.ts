import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ConnectionItem, RoomMemberItem } from '../../../lambdas/core/table-schema';

/**
 * Reads and writes the local room index (and a registry row with its `rooms`) directly in dynalite, so the end-to-end
 * tests assert what the handlers stored, independently of the code under test, and can plant what a connection that
 * vanished without `$disconnect` leaves behind.
 *
 * @example
 * const members = await rooms.membersOf('chat:42'); // [{ room, connectionId, userId, joinedAt, expiresAt }]
 */
export class RoomProbe {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #connectionTableName: string;

  constructor(endpoint: string, tables: { roomTableName: string; connectionTableName: string }) {
    this.#client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'e2e', secretAccessKey: 'e2e' },
      }),
    );
    this.#tableName = tables.roomTableName;
    this.#connectionTableName = tables.connectionTableName;
  }

  /** Every member item of a room, expired or not. */
  async membersOf(room: string): Promise<RoomMemberItem[]> {
    const answer = await this.#client.send(
      new QueryCommand({
        TableName: this.#tableName,
        KeyConditionExpression: '#room = :room',
        ExpressionAttributeNames: { '#room': 'room' },
        ExpressionAttributeValues: { ':room': room },
        ConsistentRead: true,
      }),
    );
    return (answer.Items ?? []) as RoomMemberItem[];
  }

  /** Writes a registry row listing `rooms` and a member item in each, as a join would have left them. */
  async plantMember(connection: ConnectionItem, rooms: readonly string[]): Promise<void> {
    await this.#client.send(
      new PutCommand({ TableName: this.#connectionTableName, Item: { ...connection, rooms: new Set(rooms) } }),
    );
    for (const room of rooms) {
      const member: RoomMemberItem = {
        room,
        connectionId: connection.connectionId,
        userId: connection.userId,
        joinedAt: new Date().toISOString(),
        expiresAt: connection.expiresAt,
      };
      await this.#client.send(new PutCommand({ TableName: this.#tableName, Item: member }));
    }
  }

  close(): void {
    this.#client.destroy();
  }
}
