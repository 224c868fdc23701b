/**
 * The connection registry's DynamoDB table, declared once. The CDK construct (`lib/`) and the local stack
 * (`local/`) both build the table from this declaration, so a key change cannot drift between them.
 *
 * One item per open WebSocket connection:
 *
 * | attribute      | role                                                      |
 * |----------------|-----------------------------------------------------------|
 * | `userId`       | partition key: all of a user's connections in one Query   |
 * | `connectionId` | sort key: one connection, removed with one DeleteItem     |
 * | `connectedAt`  | ISO 8601 time of `$connect`                               |
 * | `expiresAt`    | epoch seconds; the TTL attribute (reads filter on it too) |
 */
export const connectionTableSchema = {
  partitionKey: { name: 'userId', type: 'S' },
  sortKey: { name: 'connectionId', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
  billingMode: 'PAY_PER_REQUEST',
} as const;

export type ConnectionTableSchema = typeof connectionTableSchema;

/** The item stored for one open connection. */
export interface ConnectionItem {
  userId: string;
  connectionId: string;
  /** ISO 8601 time at which `$connect` accepted the connection. */
  connectedAt: string;
  /** Epoch seconds after which the item is dead even if `$disconnect` never ran. */
  expiresAt: number;
}
