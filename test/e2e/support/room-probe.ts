import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ConnectionItem, RoomMemberItem } from '../../../lambdas/core/table-schema';

/** A connection to make a member of a room: its key, its protocol, and its registry item's `expiresAt`. */
export type PlantedMember = Pick<RoomMemberItem, 'userId' | 'connectionId' | 'protocol'> & { expiresAt?: number };

/**
 * Reads and writes the local room index (and a registry row with its `rooms`) directly in dynalite, so the end-to-end
 * tests assert what the handlers stored, independently of the code under test, and can plant what a connection that
 * vanished without `$disconnect` leaves behind, or a large room's members without as many joins (the send paths are
tested against the schema, independently of the code that joins).
 *
 * @example
 * const members = await rooms.membersOf('chat:42'); // [{ room, connectionId, userId, joinedAt, expiresAt }]
 * await rooms.plant('chat:42', [{ userId: 'user456', connectionId: client.connectionId }]);
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

  /** Writes one member item per connection (BatchWriteItem, 25 at a time); `expiresAt` defaults to an hour from now. */
  async plant(room: string, members: readonly PlantedMember[]): Promise<void> {
    const joinedAt = new Date().toISOString();
    const hourFromNow = Math.floor(Date.now() / 1000) + 3600;
    for (let start = 0; start < members.length; start += 25) {
      const items: RoomMemberItem[] = members.slice(start, start + 25).map((member) => ({
        room,
        connectionId: member.connectionId,
        userId: member.userId,
        joinedAt,
        expiresAt: member.expiresAt ?? hourFromNow,
        ...(member.protocol === 'socket.io' ? { protocol: 'socket.io' as const } : {}),
      }));
      let unprocessed: Record<string, unknown>[] | undefined = items.map((Item) => ({ PutRequest: { Item } }));
      while (unprocessed && unprocessed.length > 0) {
        const answer = await this.#client.send(
          new BatchWriteCommand({ RequestItems: { [this.#tableName]: unprocessed as never } }),
        );
        unprocessed = answer.UnprocessedItems?.[this.#tableName] as Record<string, unknown>[] | undefined;
      }
    }
  }

  close(): void {
    this.#client.destroy();
  }
}
