import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  DEFAULT_CONNECTION_TTL_SECONDS,
  type Environment,
  MIN_CONNECTION_TTL_SECONDS,
  optionalInteger,
  requireString,
  Setting,
} from './config';
import { ConnectionProtocol, readConnectionProtocol } from './connection-protocol';
import { ValidationError } from './errors';
import type { ConnectionItem } from './table-schema';
import { MAX_USER_ID_LENGTH } from './user-id';

/**
 * The userId → connectionIds registry. Core code: it takes a DynamoDB document client as a parameter and
 * knows nothing of Lambda events. Every read drops items whose `expiresAt` has passed, because DynamoDB's TTL
 * deletion lags by up to two days (and dynalite never deletes).
 */
export interface ConnectionRegistry {
  /**
   * Records a new connection of `userId` (PutItem) with `connectedAt` = now and `expiresAt` = now + TTL, and its
   * wire protocol when it is not the JSON one.
   */
  register(input: {
    userId: string;
    connectionId: string;
    protocol?: ConnectionProtocol;
    /** A Socket.IO connection starts replaying: live senders wait until its CONNECT is answered. */
    replaying?: boolean;
  }): Promise<ConnectionItem>;
  /**
   * Removes one connection (DeleteItem) and answers the rooms it was in (its item's `rooms`, returned by the same
   * DeleteItem), so the caller can forget its memberships; removing an absent one is not an error (no rooms).
   */
  remove(userId: string, connectionId: string): Promise<string[]>;
  /** One connection's item, read strongly consistent (GetItem); undefined once it is gone or expired. */
  connection(userId: string, connectionId: string): Promise<ConnectionItem | undefined>;
  /**
   * Ends a Socket.IO connection's replay (UpdateItem): it is live from now on, except for messages up to
   * `liveAfter` (the replay posted them). False when the connection is gone.
   */
  finishReplay(
    userId: string,
    connectionId: string,
    handoff: { liveAfter: string; replayReadAt: number; session?: string },
  ): Promise<boolean>;
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
  /**
   * Resume just after this connection (DynamoDB `ExclusiveStartKey`): a broadcast slice checkpoints the key of the
   * last connection it claimed, and a retry resumes from there. Any key the same segment returned is a valid start.
   */
  startAfter?: Pick<ConnectionItem, 'userId' | 'connectionId'>;
}

/** The largest page `listConnectedUsers` serves. */
export const MAX_CONNECTED_USERS_PAGE = 1000;

/**
 * A sort key above every real connectionId (API Gateway ids are short base64 strings; DynamoDB compares UTF-8
 * bytes, and U+FFFF encodes as EF BF BF). Resuming a Scan just after `{ userId, connectionId: '\uffff' }` skips
 * the rest of that user's items, so a user straddling a page boundary is listed on one page only.
 */
const AFTER_EVERY_CONNECTION_ID = '\uffff';

/** The registry's settings. */
export interface RegistryConfig {
  tableName: string;
  ttlSeconds: number;
}

/**
 * Reads `TABLE_NAME` (required) and `CONNECTION_TTL_SECONDS` (default {@link DEFAULT_CONNECTION_TTL_SECONDS},
 * at least {@link MIN_CONNECTION_TTL_SECONDS}: API Gateway's 2 h connection limit plus a margin).
 *
 * @example
 * readRegistryConfig({ TABLE_NAME: 'Connections' }); // { tableName: 'Connections', ttlSeconds: 10800 }
 */
export function readRegistryConfig(env: Environment): RegistryConfig {
  return {
    tableName: requireString(env, Setting.tableName),
    ttlSeconds: optionalInteger(env, Setting.connectionTtlSeconds, DEFAULT_CONNECTION_TTL_SECONDS, {
      min: MIN_CONNECTION_TTL_SECONDS,
    }),
  };
}

export interface ConnectionRegistryOptions extends RegistryConfig {
  client: DynamoDBDocumentClient;
  /** The clock; tests pass a fixed one. */
  now?: () => Date;
  /**
   * Items read per Scan request by `listConnectedUsers` (DynamoDB `Limit`).
   * @default twice the requested number of users, at least 100
   */
  listScanPageSize?: number;
}

/**
 * The DynamoDB implementation of {@link ConnectionRegistry}.
 *
 * @example
 * const registry = createConnectionRegistry({ client: getDocumentClient(), ...readRegistryConfig(process.env) });
 * await registry.register({ userId: 'user123', connectionId: 'abc=' });
 * const live = await registry.connectionsOf('user123'); // [{ userId: 'user123', connectionId: 'abc=', ... }]
 */
export function createConnectionRegistry(options: ConnectionRegistryOptions): ConnectionRegistry {
  const { client, tableName, ttlSeconds } = options;
  const now = options.now ?? (() => new Date());
  const nowInEpochSeconds = (): number => Math.floor(now().getTime() / 1000);
  const liveOnly = { FilterExpression: 'expiresAt > :now' };

  return {
    async register({ userId, connectionId, protocol, replaying }) {
      const connectedAt = now();
      const item: ConnectionItem = {
        userId,
        connectionId,
        connectedAt: connectedAt.toISOString(),
        expiresAt: Math.floor(connectedAt.getTime() / 1000) + ttlSeconds,
      };
      // Only the Socket.IO protocol is written: JSON items stay as they were, and old items read the same way.
      if (protocol === ConnectionProtocol.socketIo) item.protocol = protocol;
      if (replaying) item.replaying = true;
      await client.send(new PutCommand({ TableName: tableName, Item: item }));
      return item;
    },

    async remove(userId, connectionId) {
      // ALL_OLD costs no extra capacity and saves a read: the rooms come back with the delete.
      const answer = await client.send(
        new DeleteCommand({ TableName: tableName, Key: { userId, connectionId }, ReturnValues: 'ALL_OLD' }),
      );
      return roomsIn(answer.Attributes?.rooms);
    },

    async connection(userId, connectionId) {
      const answer = await client.send(
        new GetCommand({ TableName: tableName, Key: { userId, connectionId }, ConsistentRead: true }),
      );
      const item = answer.Item;
      return item && Number(item.expiresAt) > nowInEpochSeconds() ? toConnectionItem(item) : undefined;
    },

    async finishReplay(userId, connectionId, handoff) {
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { userId, connectionId },
            UpdateExpression: `REMOVE replaying SET liveAfter = :liveAfter, replayReadAt = :replayReadAt${handoff.session === undefined ? '' : ', #session = :session'}`,
            // A connection gone meanwhile stays gone: no item is created.
            ConditionExpression: 'attribute_exists(connectionId)',
            ...(handoff.session === undefined ? {} : { ExpressionAttributeNames: { '#session': 'session' } }),
            ExpressionAttributeValues: {
              ':liveAfter': handoff.liveAfter,
              ':replayReadAt': handoff.replayReadAt,
              ...(handoff.session === undefined ? {} : { ':session': handoff.session }),
            },
          }),
        );
        return true;
      } catch (error) {
        if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
        throw error;
      }
    },

    async connectionsOf(userId) {
      const connections: ConnectionItem[] = [];
      let exclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'userId = :userId',
            ...liveOnly,
            ExpressionAttributeValues: { ':userId': userId, ':now': nowInEpochSeconds() },
            // A send right after `$connect` must find the new connection: a strongly consistent read.
            ConsistentRead: true,
            ExclusiveStartKey: exclusiveStartKey,
          }),
        );
        connections.push(...(page.Items ?? []).map(toConnectionItem));
        exclusiveStartKey = page.LastEvaluatedKey;
      } while (exclusiveStartKey);
      return connections;
    },

    async listConnectedUsers({ limit, cursor }) {
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CONNECTED_USERS_PAGE) {
        throw new ValidationError(`limit must be an integer from 1 to ${MAX_CONNECTED_USERS_PAGE}`);
      }
      const users: string[] = [];
      let exclusiveStartKey: Record<string, unknown> | undefined =
        cursor === undefined ? undefined : { userId: decodeCursor(cursor), connectionId: AFTER_EVERY_CONNECTION_ID };
      const scanPageSize = options.listScanPageSize ?? Math.max(limit * 2, 100);
      do {
        const page = await client.send(
          new ScanCommand({
            TableName: tableName,
            ...liveOnly,
            ProjectionExpression: 'userId',
            ExpressionAttributeValues: { ':now': nowInEpochSeconds() },
            Limit: scanPageSize,
            ExclusiveStartKey: exclusiveStartKey,
          }),
        );
        // A user's items are contiguous in a Scan (one partition), so a new userId means a new user.
        for (const item of page.Items ?? []) {
          const userId = String(item.userId);
          if (users.at(-1) === userId) continue;
          if (users.length === limit) return { users, nextCursor: encodeCursor(users.at(-1)!) };
          users.push(userId);
        }
        exclusiveStartKey = page.LastEvaluatedKey;
      } while (exclusiveStartKey);
      return { users };
    },

    async *scanConnections(scan: ScanOptions = {}) {
      const segmentation = segmentationOf(scan);
      let exclusiveStartKey: Record<string, unknown> | undefined = scan.startAfter && {
        userId: scan.startAfter.userId,
        connectionId: scan.startAfter.connectionId,
      };
      do {
        const page = await client.send(
          new ScanCommand({
            TableName: tableName,
            ...liveOnly,
            ...segmentation,
            ExpressionAttributeValues: { ':now': nowInEpochSeconds() },
            Limit: scan.pageSize,
            ExclusiveStartKey: exclusiveStartKey,
          }),
        );
        const connections = (page.Items ?? []).map(toConnectionItem);
        if (connections.length > 0) yield connections;
        exclusiveStartKey = page.LastEvaluatedKey;
      } while (exclusiveStartKey);
    },
  };
}

/**
 * A registry item's `rooms` attribute (a string set, which the document client reads as a `Set`) as an array.
 *
 * @example
 * roomsIn(new Set(['chat:42'])); // ['chat:42']
 * roomsIn(undefined); // []
 */
export function roomsIn(attribute: unknown): string[] {
  if (attribute instanceof Set) return [...attribute].map(String);
  return Array.isArray(attribute) ? attribute.map(String) : [];
}

function toConnectionItem(item: Record<string, unknown>): ConnectionItem {
  const connection: ConnectionItem = {
    userId: String(item.userId),
    connectionId: String(item.connectionId),
    connectedAt: String(item.connectedAt),
    expiresAt: Number(item.expiresAt),
  };
  if (readConnectionProtocol(item.protocol) === ConnectionProtocol.socketIo) connection.protocol = 'socket.io';
  if (item.replaying === true) connection.replaying = true;
  if (typeof item.liveAfter === 'string') connection.liveAfter = item.liveAfter;
  if (typeof item.replayReadAt === 'number') connection.replayReadAt = item.replayReadAt;
  const rooms = roomsIn(item.rooms);
  if (rooms.length > 0) connection.rooms = rooms;
  if (typeof item.session === 'string') connection.session = item.session;
  return connection;
}

function segmentationOf(scan: ScanOptions): { Segment?: number; TotalSegments?: number } {
  if (scan.segment === undefined && scan.totalSegments === undefined) return {};
  const { segment = 0, totalSegments = 1 } = scan;
  if (!Number.isInteger(totalSegments) || totalSegments < 1) {
    throw new RangeError(`totalSegments must be a positive integer, got ${totalSegments}`);
  }
  if (!Number.isInteger(segment) || segment < 0 || segment >= totalSegments) {
    throw new RangeError(`segment must be an integer from 0 to ${totalSegments - 1}, got ${segment}`);
  }
  return { Segment: segment, TotalSegments: totalSegments };
}

/** The cursor is the last listed userId, base64url-encoded so it is opaque and URL-safe. */
function encodeCursor(lastUserId: string): string {
  return Buffer.from(lastUserId, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  const lastUserId = /^[A-Za-z0-9_-]+$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  // Re-encoding must give the cursor back: rejects truncated input and bytes that are not UTF-8. No listed user
  // is longer than a userId may be; a longer key would reach DynamoDB, which refuses it and the caller gets a 500.
  if (lastUserId.length === 0 || lastUserId.length > MAX_USER_ID_LENGTH || encodeCursor(lastUserId) !== cursor) {
    throw new ValidationError('cursor is not valid', 'invalid_cursor');
  }
  return lastUserId;
}
