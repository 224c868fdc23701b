import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RoomMemberItem } from '../../../lambdas/core/table-schema';

/** A connection to make a member of a room: its key, its protocol, and its registry item's `expiresAt`. */
export type PlantedMember = Pick<RoomMemberItem, 'userId' | 'connectionId' | 'protocol'> & { expiresAt?: number };

/**
 * Writes room member items straight into the local room index (dynalite), as `roomTableSchema` stores them, so the
 * send paths are tested against the schema independently of the code that joins rooms (built on another branch; once
 * it is merged, tests of joining go through it and these tests keep checking the sends alone).
 *
 * @example
 * await rooms.plant('chat:42', [{ userId: 'user456', connectionId: client.connectionId }]);
 */
export class RoomProbe {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(endpoint: string, tableName: string) {
    this.#client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'e2e', secretAccessKey: 'e2e' },
      }),
    );
    this.#tableName = tableName;
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
