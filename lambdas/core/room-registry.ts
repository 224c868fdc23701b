import { setTimeout as delay } from 'node:timers/promises';
import {
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { type Environment, optionalInteger, requireString, Setting } from './config';
import { ConnectionProtocol, readConnectionProtocol } from './connection-protocol';
import { ClientError, NotFoundError } from './errors';
import { roomsIn } from './registry';
import { RoomSetting } from './room-settings';
import type { MembershipTarget, RoomMember, RoomMembersOptions, RoomRegistry } from './rooms';
import type { RoomMemberItem } from './table-schema';

/**
 * The DynamoDB {@link RoomRegistry}: the room index (`roomTableSchema`, one item per room and connection) and the
 * `rooms` string set of each connection's registry item (`connectionTableSchema`). Core code: the document client
 * is a parameter.
 *
 * Writes per operation (each item under 1 KB unless a connection is in many rooms):
 *
 * | operation  | registry table                                   | room table                          |
 * |------------|--------------------------------------------------|-------------------------------------|
 * | `join`     | 1 UpdateItem (`ADD rooms`, conditional, ALL_NEW) | 1 PutItem                           |
 * | `leave`    | 1 UpdateItem (`DELETE rooms`, conditional, ALL_NEW) | 1 DeleteItem                     |
 * | `finishReplay` | -                                            | 1 UpdateItem per room (Socket.IO recovery only) |
 * | `roomsOf`  | 1 Query (both keys, strongly consistent)         | -                                   |
 * | `forget`   | -                                                | 1 BatchWriteItem per 25 rooms       |
 * | `membersOf`| -                                                | 1 Query per page (strongly consistent) |
 *
 * A refused join costs one more Query of the registry, to tell "not connected" (404) from "too many rooms" (409).
 */

/** Rooms one connection may be in when `MAX_ROOMS_PER_CONNECTION` is unset. */
export const DEFAULT_MAX_ROOMS_PER_CONNECTION = 100;
/**
 * The highest `MAX_ROOMS_PER_CONNECTION`: 1,000 names of at most 128 characters keep the registry item near 130 KB,
 * well under DynamoDB's 400 KB item limit, and `$disconnect`'s cleanup at 40 BatchWriteItem calls.
 */
export const MAX_MAX_ROOMS_PER_CONNECTION = 1000;
/** DynamoDB's limit of requests in one BatchWriteItem. */
export const BATCH_WRITE_LIMIT = 25;
/** Attempts of one BatchWriteItem chunk while DynamoDB hands back unprocessed items (throttling). */
const BATCH_WRITE_ATTEMPTS = 5;

/** The room index's settings. */
export interface RoomRegistryConfig {
  /** The room table (`ROOM_TABLE_NAME`). */
  tableName: string;
  /** The registry table (`TABLE_NAME`), whose items carry each connection's `rooms`. */
  connectionTableName: string;
  /** Rooms one connection may be in at once (`MAX_ROOMS_PER_CONNECTION`). */
  maxRoomsPerConnection: number;
}

/**
 * Reads `ROOM_TABLE_NAME` and `TABLE_NAME` (both required) and `MAX_ROOMS_PER_CONNECTION` (default
 * {@link DEFAULT_MAX_ROOMS_PER_CONNECTION}, 1 to {@link MAX_MAX_ROOMS_PER_CONNECTION}).
 *
 * @example
 * readRoomRegistryConfig({ ROOM_TABLE_NAME: 'Rooms', TABLE_NAME: 'Connections' });
 * // { tableName: 'Rooms', connectionTableName: 'Connections', maxRoomsPerConnection: 100 }
 */
export function readRoomRegistryConfig(env: Environment): RoomRegistryConfig {
  return {
    tableName: requireString(env, RoomSetting.roomTableName),
    connectionTableName: requireString(env, Setting.tableName),
    maxRoomsPerConnection: optionalInteger(env, RoomSetting.maxRoomsPerConnection, DEFAULT_MAX_ROOMS_PER_CONNECTION, {
      min: 1,
      max: MAX_MAX_ROOMS_PER_CONNECTION,
    }),
  };
}

export interface RoomRegistryOptions extends RoomRegistryConfig {
  client: DynamoDBDocumentClient;
  /** The clock; tests pass a fixed one. */
  now?: () => Date;
  /** Waits between BatchWriteItem retries; tests pass a fast one. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * 409: the connection is already in as many rooms as `MAX_ROOMS_PER_CONNECTION` allows.
 *
 * @example
 * await rooms.join(target, 'chat:101'); // rejects with TooManyRoomsError when the connection is in 100 rooms
 */
export class TooManyRoomsError extends ClientError {
  constructor(limit: number) {
    super(409, 'too_many_rooms', `a connection may be in at most ${limit} rooms; leave one before joining another`);
    this.name = 'TooManyRoomsError';
  }
}

function isConditionFailed(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';
}

/**
 * The DynamoDB implementation of {@link RoomRegistry}.
 *
 * @example
 * const rooms = createRoomRegistry({ client: getDocumentClient(), ...readRoomRegistryConfig(process.env) });
 * await rooms.join({ userId: 'user123', connectionId: 'abc=' }, 'chat:42');
 * for await (const page of rooms.membersOf('chat:42')) console.log(page); // [{ userId: 'user123', ... }]
 */
export function createRoomRegistry(options: RoomRegistryOptions): RoomRegistry {
  const { client, tableName, connectionTableName, maxRoomsPerConnection } = options;
  const now = options.now ?? (() => new Date());
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const nowInEpochSeconds = (): number => Math.floor(now().getTime() / 1000);

  /** The live registry item of one connection (rooms only), or undefined. */
  async function liveConnection(target: MembershipTarget): Promise<{ rooms: string[] } | undefined> {
    const answer = await client.send(
      new QueryCommand({
        TableName: connectionTableName,
        KeyConditionExpression: 'userId = :userId AND connectionId = :connectionId',
        FilterExpression: 'expiresAt > :now',
        ProjectionExpression: '#rooms',
        ExpressionAttributeNames: { '#rooms': 'rooms' },
        ExpressionAttributeValues: {
          ':userId': target.userId,
          ':connectionId': target.connectionId,
          ':now': nowInEpochSeconds(),
        },
        ConsistentRead: true,
      }),
    );
    const item = answer.Items?.[0];
    return item ? { rooms: roomsIn(item.rooms) } : undefined;
  }

  async function deleteChunk(target: MembershipTarget, rooms: readonly string[]): Promise<void> {
    let requests: NonNullable<ConstructorParameters<typeof BatchWriteCommand>[0]['RequestItems']>[string] = rooms.map(
      (room) => ({ DeleteRequest: { Key: { room, connectionId: target.connectionId } } }),
    );
    for (let attempt = 1; ; attempt++) {
      const answer = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
      const left = answer.UnprocessedItems?.[tableName] ?? [];
      if (left.length === 0) return;
      if (attempt >= BATCH_WRITE_ATTEMPTS) {
        throw new Error(`${left.length} room memberships of ${target.connectionId} were left unprocessed`);
      }
      requests = left;
      // DynamoDB's advice for unprocessed items: back off exponentially before retrying them.
      await sleep(50 * 2 ** (attempt - 1));
    }
  }

  return {
    async join(target, room) {
      let answer: UpdateCommandOutput;
      try {
        answer = await client.send(
          new UpdateCommand({
            TableName: connectionTableName,
            Key: { userId: target.userId, connectionId: target.connectionId },
            UpdateExpression: 'ADD #rooms :room',
            // The item must exist (an UpdateItem would otherwise create a bare one) and be live; the cap counts the
            // rooms already joined, and a room already in the set may always be joined again.
            ConditionExpression:
              'attribute_exists(connectionId) AND expiresAt > :now AND ' +
              '(attribute_not_exists(#rooms) OR contains(#rooms, :name) OR size(#rooms) < :max)',
            ExpressionAttributeNames: { '#rooms': 'rooms' },
            ExpressionAttributeValues: {
              ':room': new Set([room]),
              ':name': room,
              ':now': nowInEpochSeconds(),
              ':max': maxRoomsPerConnection,
            },
            // The connection's expiresAt and protocol come back with the update: no read before the member's write.
            ReturnValues: 'ALL_NEW',
          }),
        );
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
        // Which part of the condition failed: one read, on the refusal path only.
        const connection = await liveConnection(target);
        if (connection === undefined) {
          throw new NotFoundError(`connection ${target.connectionId} of user ${target.userId} is not connected`);
        }
        throw new TooManyRoomsError(maxRoomsPerConnection);
      }
      const connection = answer.Attributes ?? {};
      const member: RoomMemberItem = {
        room,
        connectionId: target.connectionId,
        userId: target.userId,
        joinedAt: now().toISOString(),
        // The membership dies with its connection: the TTL and every read's filter drop both together.
        expiresAt: Number(connection.expiresAt),
      };
      if (readConnectionProtocol(connection.protocol) === ConnectionProtocol.socketIo) member.protocol = 'socket.io';
      if (connection.replaying === true) {
        // Joined during its replay (a recovered CONNECT restoring its rooms): room senders wait for its hand-off.
        member.replaying = true;
        member.connectedAt = String(connection.connectedAt);
      }
      await client.send(new PutCommand({ TableName: tableName, Item: member }));
      return typeof connection.session === 'string' ? { session: connection.session } : {};
    },

    async leave(target, room) {
      let change = {};
      try {
        const answer = await client.send(
          new UpdateCommand({
            TableName: connectionTableName,
            Key: { userId: target.userId, connectionId: target.connectionId },
            UpdateExpression: 'DELETE #rooms :room',
            // Never create a bare item for a connection that is gone.
            ConditionExpression: 'attribute_exists(connectionId)',
            ExpressionAttributeNames: { '#rooms': 'rooms' },
            ExpressionAttributeValues: { ':room': new Set([room]) },
            // The connection's Socket.IO session comes back with the update, for the user's room records.
            ReturnValues: 'ALL_NEW',
          }),
        );
        if (typeof answer.Attributes?.session === 'string') change = { session: answer.Attributes.session };
      } catch (error) {
        if (!isConditionFailed(error)) throw error;
      }
      await client.send(new DeleteCommand({ TableName: tableName, Key: { room, connectionId: target.connectionId } }));
      return change;
    },

    async finishReplay(target, rooms, handoff) {
      await Promise.all(
        rooms.map(async (room) => {
          try {
            await client.send(
              new UpdateCommand({
                TableName: tableName,
                Key: { room, connectionId: target.connectionId },
                UpdateExpression: 'REMOVE replaying SET liveAfter = :liveAfter, replayReadAt = :replayReadAt',
                ConditionExpression: 'attribute_exists(connectionId)',
                ExpressionAttributeValues: { ':liveAfter': handoff.liveAfter, ':replayReadAt': handoff.replayReadAt },
              }),
            );
          } catch (error) {
            if (!isConditionFailed(error)) throw error;
          }
        }),
      );
    },

    async roomsOf(target) {
      return (await liveConnection(target))?.rooms ?? [];
    },

    async forget(target, rooms) {
      const unique = [...new Set(rooms)];
      for (let start = 0; start < unique.length; start += BATCH_WRITE_LIMIT) {
        await deleteChunk(target, unique.slice(start, start + BATCH_WRITE_LIMIT));
      }
    },

    async *membersOf(room, walk: RoomMembersOptions = {}) {
      let exclusiveStartKey: Record<string, unknown> | undefined = walk.startAfter && {
        room,
        connectionId: walk.startAfter.connectionId,
      };
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: '#room = :room',
            FilterExpression: 'expiresAt > :now',
            ExpressionAttributeNames: { '#room': 'room' },
            ExpressionAttributeValues: { ':room': room, ':now': nowInEpochSeconds() },
            // A send right after a join must reach the new member.
            ConsistentRead: true,
            Limit: walk.pageSize,
            ExclusiveStartKey: exclusiveStartKey,
          }),
        );
        const members = (page.Items ?? []).map(toRoomMember);
        if (members.length > 0) yield members;
        exclusiveStartKey = page.LastEvaluatedKey;
      } while (exclusiveStartKey);
    },
  };
}

function toRoomMember(item: Record<string, unknown>): RoomMember {
  const member: RoomMember = { userId: String(item.userId), connectionId: String(item.connectionId) };
  if (readConnectionProtocol(item.protocol) === ConnectionProtocol.socketIo) member.protocol = 'socket.io';
  if (item.replaying === true) {
    member.replaying = true;
    member.connectedAt = String(item.connectedAt);
  }
  if (typeof item.liveAfter === 'string') member.liveAfter = item.liveAfter;
  if (typeof item.replayReadAt === 'number') member.replayReadAt = item.replayReadAt;
  return member;
}
