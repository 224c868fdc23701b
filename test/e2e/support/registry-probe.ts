import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ConnectionItem } from '../../../lambdas/core/table-schema';

/**
 * Reads and writes the local registry table directly (dynalite), so the end-to-end tests can assert what the
 * handlers stored, independently of the code under test.
 *
 * @example
 * const rows = await registry.rowsOf('user123'); // [{ userId, connectionId, connectedAt, expiresAt }]
 */
export class RegistryProbe {
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

  /** Every row of one user, expired or not. */
  async rowsOf(userId: string): Promise<ConnectionItem[]> {
    const answer = await this.#client.send(
      new QueryCommand({
        TableName: this.#tableName,
        KeyConditionExpression: 'userId = :userId',
        ExpressionAttributeValues: { ':userId': userId },
        ConsistentRead: true,
      }),
    );
    return (answer.Items ?? []) as ConnectionItem[];
  }

  /** Writes a row as `$connect` would, e.g. for a connection that vanished without `$disconnect`. */
  async put(item: ConnectionItem): Promise<void> {
    await this.#client.send(new PutCommand({ TableName: this.#tableName, Item: item }));
  }

  async remove(userId: string, connectionId: string): Promise<void> {
    await this.#client.send(new DeleteCommand({ TableName: this.#tableName, Key: { userId, connectionId } }));
  }

  close(): void {
    this.#client.destroy();
  }
}
