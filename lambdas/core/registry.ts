import type { ConnectionItem } from './table-schema';

/**
 * The userId → connectionIds registry. Core code: it takes a DynamoDB document client as a parameter and
 * knows nothing of Lambda events. Every read drops items whose `expiresAt` has passed, because DynamoDB's TTL
 * deletion lags by up to two days (and dynalite never deletes).
 */
export interface ConnectionRegistry {
  /** Records a new connection of `userId` (PutItem) with `connectedAt` = now and `expiresAt` = now + TTL. */
  register(input: { userId: string; connectionId: string }): Promise<ConnectionItem>;
  /** Removes one connection (DeleteItem); removing an absent one is not an error. */
  remove(userId: string, connectionId: string): Promise<void>;
  /** All live connections of one user (one Query, paginated internally). */
  connectionsOf(userId: string): Promise<ConnectionItem[]>;
  /**
   * One page of connected users, in registry order. `cursor` is the opaque string a previous page returned.
   * A user appears on exactly one page even when their connections straddle a page boundary.
   */
  listConnectedUsers(options: { limit: number; cursor?: string }): Promise<ConnectedUsersPage>;
  /**
   * Walks every live connection page by page (a Scan; `segment`/`totalSegments` split it for parallel walkers).
   * Yields each page as soon as it is read, so a broadcast can post while the next page is fetched.
   */
  scanConnections(options?: ScanOptions): AsyncIterable<ConnectionItem[]>;
}

export interface ConnectedUsersPage {
  users: string[];
  /** Present when more users may follow; pass it back as `cursor`. */
  nextCursor?: string;
}

export interface ScanOptions {
  segment?: number;
  totalSegments?: number;
  /** Items per Scan request (DynamoDB `Limit`). */
  pageSize?: number;
}
