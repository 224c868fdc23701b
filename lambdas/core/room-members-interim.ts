import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { getDocumentClient } from './clients';
import { type Environment, RoomSetting, requireString } from './config';
import { ConnectionProtocol, readConnectionProtocol } from './connection-protocol';
import type { RoomMember, RoomRegistry } from './rooms';

/**
 * INTERIM, to be replaced at the merge with the rooms branch: the read half of the room index (`membersOf` only),
 * written against the contract (`roomTableSchema`, `RoomRegistry.membersOf`) so the send paths could be built before
 * the DynamoDB `RoomRegistry` (`room-registry.ts`: join, leave, forget, membersOf) exists. Every caller depends on
 * `Pick<RoomRegistry, 'membersOf'>` and gets it from {@link readRoomMembers}, so the replacement is that one function
 * returning the real registry; this file is then deleted.
 */

/** The reader's options: the document client is a parameter, like the registry's. */
export interface InterimRoomMembersOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** The clock; tests pass a fixed one. */
  now?: () => Date;
}

/**
 * `membersOf` over the room table: one Query on the room's partition, strongly consistent (a send right after a join
 * must see it), `expiresAt > now` filtered (DynamoDB's TTL deletes late), resumed after `startAfter`.
 *
 * @example
 * const rooms = createInterimRoomMembers({ client: getDocumentClient(), tableName: 'rooms' });
 * for await (const page of rooms.membersOf('chat:42', { pageSize: 500 })) console.log(page.length);
 */
export function createInterimRoomMembers(options: InterimRoomMembersOptions): Pick<RoomRegistry, 'membersOf'> {
  const { client, tableName } = options;
  const now = options.now ?? (() => new Date());
  return {
    async *membersOf(room, walk = {}) {
      let exclusiveStartKey: Record<string, unknown> | undefined = walk.startAfter && {
        room,
        connectionId: walk.startAfter.connectionId,
      };
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'room = :room',
            FilterExpression: 'expiresAt > :now',
            ExpressionAttributeValues: { ':room': room, ':now': Math.floor(now().getTime() / 1000) },
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
  return member;
}

/**
 * The room members reader of the functions that send to rooms, from `ROOM_TABLE_NAME` (required), over the process's
 * shared document client. At the merge with the rooms branch this returns its `RoomRegistry` instead.
 *
 * @example
 * const rooms = readRoomMembers(process.env);
 */
export function readRoomMembers(env: Environment): Pick<RoomRegistry, 'membersOf'> {
  return createInterimRoomMembers({
    client: getDocumentClient(),
    tableName: requireString(env, RoomSetting.roomTableName),
  });
}
