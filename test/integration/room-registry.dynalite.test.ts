import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { createDocumentClient } from '../../lambdas/core/clients';
import { NotFoundError } from '../../lambdas/core/errors';
import { type ConnectionRegistry, createConnectionRegistry } from '../../lambdas/core/registry';
import { createRoomRegistry, readRoomRegistryConfig, TooManyRoomsError } from '../../lambdas/core/room-registry';
import type { RoomMember, RoomRegistry } from '../../lambdas/core/rooms';
import { createConnectionTable, createRoomTable } from '../../local/local-dynamo';

// The room index against a real DynamoDB-compatible server (dynalite, in process): real conditional updates on the
// registry item, real string sets, real Query pagination and filters. Both tables are built from their schema
// declarations, as the local stack builds them.

const connectionTableName = 'connections-rooms-it';
const tableName = 'rooms-it';
const ttlSeconds = 3 * 3600;
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const readTime = new Date('2026-11-26T10:00:00.000Z');
const staleTime = new Date(readTime.getTime() - (ttlSeconds + 60) * 1000);

let server: Server;
let client: DynamoDBDocumentClient;
let registry: ConnectionRegistry;

function roomsAt(now: Date, maxRoomsPerConnection = 5, send?: DynamoDBDocumentClient['send']): RoomRegistry {
  const used = send ? ({ send } as unknown as DynamoDBDocumentClient) : client;
  return createRoomRegistry({
    client: used,
    tableName,
    connectionTableName,
    maxRoomsPerConnection,
    now: () => now,
    sleep: async () => {},
  });
}

async function members(rooms: RoomRegistry, room: string, pageSize?: number): Promise<RoomMember[]> {
  const all: RoomMember[] = [];
  for await (const page of rooms.membersOf(room, { pageSize })) all.push(...page);
  return all;
}

async function memberItems(room: string): Promise<Record<string, unknown>[]> {
  const answer = await client.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: '#room = :room',
      ExpressionAttributeNames: { '#room': 'room' },
      ExpressionAttributeValues: { ':room': room },
    }),
  );
  return answer.Items ?? [];
}

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await createConnectionTable(endpoint, connectionTableName);
  await createRoomTable(endpoint, tableName);
  client = createDocumentClient({ endpoint, region: 'us-east-1', credentials });
  registry = createConnectionRegistry({ client, tableName: connectionTableName, ttlSeconds, now: () => readTime });
});

afterAll(async () => {
  client?.destroy();
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
});

describe('readRoomRegistryConfig', () => {
  it('reads both table names and defaults the cap to 100', () => {
    expect(readRoomRegistryConfig({ ROOM_TABLE_NAME: 'R', TABLE_NAME: 'C' })).toEqual({
      tableName: 'R',
      connectionTableName: 'C',
      maxRoomsPerConnection: 100,
    });
  });

  it('names ROOM_TABLE_NAME when it is missing, and refuses a cap above 1000', () => {
    expect(() => readRoomRegistryConfig({ TABLE_NAME: 'C' })).toThrow(/ROOM_TABLE_NAME is required/);
    expect(() =>
      readRoomRegistryConfig({ ROOM_TABLE_NAME: 'R', TABLE_NAME: 'C', MAX_ROOMS_PER_CONNECTION: '1001' }),
    ).toThrow(/MAX_ROOMS_PER_CONNECTION must be at most 1000/);
  });
});

describe('join and leave', () => {
  it('records the room in the registry item and writes a member item with the connection expiry and protocol', async () => {
    // Prepare
    const connection = await registry.register({ userId: 'ann', connectionId: 'ann-1=', protocol: 'socket.io' });
    const rooms = roomsAt(readTime);
    // Act
    await rooms.join({ userId: 'ann', connectionId: 'ann-1=' }, 'chat:42');
    await rooms.join({ userId: 'ann', connectionId: 'ann-1=' }, 'chat:42'); // twice is fine
    // Assess
    expect(await rooms.roomsOf({ userId: 'ann', connectionId: 'ann-1=' })).toEqual(['chat:42']);
    expect(await memberItems('chat:42')).toEqual([
      {
        room: 'chat:42',
        connectionId: 'ann-1=',
        userId: 'ann',
        joinedAt: readTime.toISOString(),
        expiresAt: connection.expiresAt,
        protocol: 'socket.io',
      },
    ]);
    expect(await members(rooms, 'chat:42')).toEqual([{ userId: 'ann', connectionId: 'ann-1=', protocol: 'socket.io' }]);
  });

  it('refuses with a 404 naming the connection when it is not registered, and creates no item', async () => {
    const rooms = roomsAt(readTime);
    const join = rooms.join({ userId: 'nobody', connectionId: 'nope=' }, 'chat:42');
    await expect(join).rejects.toThrow(new NotFoundError('connection nope= of user nobody is not connected'));
    const scan = await client.send(new ScanCommand({ TableName: connectionTableName }));
    expect(scan.Items?.some((item) => item.userId === 'nobody')).toBe(false);
    expect((await memberItems('chat:42')).some((item) => item.connectionId === 'nope=')).toBe(false);
  });

  it('refuses a connection whose item has expired (TTL not yet applied) with a 404', async () => {
    await createConnectionRegistry({
      client,
      tableName: connectionTableName,
      ttlSeconds,
      now: () => staleTime,
    }).register({ userId: 'old', connectionId: 'old-1=' });
    await expect(roomsAt(readTime).join({ userId: 'old', connectionId: 'old-1=' }, 'chat:42')).rejects.toThrow(
      NotFoundError,
    );
  });

  it('caps the rooms per connection with a 409, while a room already joined may be joined again', async () => {
    await registry.register({ userId: 'bob', connectionId: 'bob-1=' });
    const rooms = roomsAt(readTime, 3);
    const target = { userId: 'bob', connectionId: 'bob-1=' };
    for (const room of ['a', 'b', 'c']) await rooms.join(target, room);

    await expect(rooms.join(target, 'd')).rejects.toThrow(TooManyRoomsError);
    await expect(rooms.join(target, 'd')).rejects.toMatchObject({ statusCode: 409, code: 'too_many_rooms' });
    await expect(rooms.join(target, 'b')).resolves.toEqual({});
    await rooms.leave(target, 'a');
    await expect(rooms.join(target, 'd')).resolves.toEqual({});
    expect((await rooms.roomsOf(target)).sort()).toEqual(['b', 'c', 'd']);
  });

  it('leaves: both writes, and leaving a room one is not in, or as a gone connection, is not an error', async () => {
    await registry.register({ userId: 'cat', connectionId: 'cat-1=' });
    const rooms = roomsAt(readTime);
    const target = { userId: 'cat', connectionId: 'cat-1=' };
    await rooms.join(target, 'leave-me');
    await rooms.join(target, 'stay');

    await rooms.leave(target, 'leave-me');
    await rooms.leave(target, 'never-joined');
    await rooms.leave({ userId: 'ghost', connectionId: 'ghost=' }, 'leave-me');

    expect(await rooms.roomsOf(target)).toEqual(['stay']);
    expect(await memberItems('leave-me')).toEqual([]);
    const scan = await client.send(new ScanCommand({ TableName: connectionTableName }));
    expect(scan.Items?.some((item) => item.userId === 'ghost')).toBe(false);
  });
});

describe('cleanup', () => {
  it("answers a removed connection's rooms from the registry's delete, and forget deletes its member items", async () => {
    await registry.register({ userId: 'dan', connectionId: 'dan-1=' });
    const rooms = roomsAt(readTime, 100);
    const target = { userId: 'dan', connectionId: 'dan-1=' };
    // 60 rooms: three BatchWriteItem chunks of at most 25.
    const names = Array.from({ length: 60 }, (_, index) => `many-${index}`);
    for (const room of names) await rooms.join(target, room);

    const removed = await registry.remove('dan', 'dan-1=');
    await rooms.forget(target, removed);

    expect(removed.sort()).toEqual([...names].sort());
    for (const room of names) expect(await memberItems(room)).toEqual([]);
    expect(await registry.remove('dan', 'dan-1=')).toEqual([]);
  });

  it('retries unprocessed items until DynamoDB takes them all', async () => {
    await registry.register({ userId: 'eve', connectionId: 'eve-1=' });
    const target = { userId: 'eve', connectionId: 'eve-1=' };
    await roomsAt(readTime).join(target, 'retry-1');
    await roomsAt(readTime).join(target, 'retry-2');
    // The first BatchWriteItem gets the second request back unprocessed, as a throttled DynamoDB answers.
    let calls = 0;
    const send = (async (command: unknown) => {
      if (command instanceof BatchWriteCommand && calls++ === 0) {
        const requests = command.input.RequestItems?.[tableName] ?? [];
        await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests.slice(0, 1) } }));
        return { UnprocessedItems: { [tableName]: requests.slice(1) } };
      }
      return client.send(command as never);
    }) as DynamoDBDocumentClient['send'];

    await roomsAt(readTime, 5, send).forget(target, ['retry-1', 'retry-2']);

    expect(calls).toBe(2);
    expect(await memberItems('retry-1')).toEqual([]);
    expect(await memberItems('retry-2')).toEqual([]);
  });
});

describe('membersOf', () => {
  it('walks a room page by page, drops expired members and resumes after a given member', async () => {
    const rooms = roomsAt(readTime);
    const joined: string[] = [];
    for (let index = 0; index < 23; index++) {
      const connectionId = `walk-${String(index).padStart(2, '0')}=`;
      await registry.register({ userId: `walker-${index % 4}`, connectionId });
      await rooms.join({ userId: `walker-${index % 4}`, connectionId }, 'walk');
      joined.push(connectionId);
    }
    // An expired connection's membership, as a missed $disconnect leaves it until the TTL deletes it.
    const stale = createConnectionRegistry({
      client,
      tableName: connectionTableName,
      ttlSeconds,
      now: () => staleTime,
    });
    await stale.register({ userId: 'walker-x', connectionId: 'walk-zz=' });
    await roomsAt(staleTime).join({ userId: 'walker-x', connectionId: 'walk-zz=' }, 'walk');

    const pages: number[] = [];
    for await (const page of rooms.membersOf('walk', { pageSize: 5 })) pages.push(page.length);
    const all = await members(rooms, 'walk', 5);
    const rest = [];
    for await (const page of rooms.membersOf('walk', { pageSize: 5, startAfter: all[9] })) rest.push(...page);

    expect(all.map((member) => member.connectionId)).toEqual(joined);
    expect(pages.reduce((sum, size) => sum + size, 0)).toBe(23);
    expect(pages.length).toBeGreaterThan(1);
    expect(rest).toEqual(all.slice(10));
    expect(await members(rooms, 'empty-room')).toEqual([]);
  });
});
