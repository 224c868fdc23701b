import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { createDocumentClient } from '../../lambdas/core/clients';
import type { Envelope } from '../../lambdas/core/envelope';
import { type ConnectionRegistry, createConnectionRegistry } from '../../lambdas/core/registry';
import {
  announceDepartures,
  joinRoom,
  joinSelected,
  leaveRoom,
  listRoomMembers,
  type PresenceEvent,
  RoomFullError,
  type RoomMembershipDependencies,
  readPresenceConfig,
} from '../../lambdas/core/room-membership';
import { createRoomRegistry } from '../../lambdas/core/room-registry';
import type { RoomMember } from '../../lambdas/core/rooms';
import { createConnectionTable, createRoomTable } from '../../local/local-dynamo';

// Presence over the real room index (dynalite): who is told what when, the bound on presence rooms, and the paged
// listing. The delivery is the one fake: it records what would be posted to whom.

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
let server: Server;
let client: DynamoDBDocumentClient;
let registry: ConnectionRegistry;
let deps: RoomMembershipDependencies;
let posted: Array<{ to: string[]; event: PresenceEvent }>;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await createConnectionTable(endpoint, 'membership-connections');
  await createRoomTable(endpoint, 'membership-rooms');
  client = createDocumentClient({ endpoint, region: 'us-east-1', credentials });
  registry = createConnectionRegistry({ client, tableName: 'membership-connections', ttlSeconds: 3 * 3600 });
});

beforeEach(() => {
  posted = [];
  deps = {
    rooms: createRoomRegistry({
      client,
      tableName: 'membership-rooms',
      connectionTableName: 'membership-connections',
      maxRoomsPerConnection: 100,
    }),
    registry,
    presence: { roomPrefix: 'presence-', maxMembers: 3 },
    deliver: async (connections: readonly RoomMember[], envelope: Envelope) => {
      posted.push({
        to: connections.map((member) => member.connectionId).sort(),
        event: envelope.data as PresenceEvent,
      });
    },
  };
});

afterAll(async () => {
  client?.destroy();
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
});

async function connection(userId: string, connectionId: string) {
  await registry.register({ userId, connectionId });
  return { userId, connectionId };
}

describe('readPresenceConfig', () => {
  it('defaults to presence-* rooms of at most 100 connections, and turns presence off with none', () => {
    expect(readPresenceConfig({})).toEqual({ roomPrefix: 'presence-', maxMembers: 100 });
    expect(readPresenceConfig({ PRESENCE_ROOM_PREFIX: 'none' }).roomPrefix).toBeUndefined();
    expect(readPresenceConfig({ PRESENCE_ROOM_PREFIX: '' }).roomPrefix).toBeUndefined();
    expect(() => readPresenceConfig({ PRESENCE_MAX_MEMBERS: '1001' })).toThrow(
      /PRESENCE_MAX_MEMBERS must be at most 1000/,
    );
  });
});

describe('presence events', () => {
  it("tells the other members of a user's first join and last leave only", async () => {
    const ann = await connection('ann', 'ann-1=');
    const [bob1, bob2] = [await connection('bob', 'bob-1='), await connection('bob', 'bob-2=')];

    await joinRoom(deps, ann, 'presence-a');
    await joinRoom(deps, bob1, 'presence-a');
    await joinRoom(deps, bob2, 'presence-a');
    await joinRoom(deps, bob2, 'presence-a'); // again: no event
    await leaveRoom(deps, bob1, 'presence-a');
    await leaveRoom(deps, bob1, 'presence-a'); // not in it any more: no event
    await leaveRoom(deps, bob2, 'presence-a');

    // Ann joined an empty room: nobody to tell.
    expect(posted).toEqual([
      { to: ['ann-1='], event: { room: 'presence-a', userId: 'bob', event: 'joined' } },
      { to: ['ann-1='], event: { room: 'presence-a', userId: 'bob', event: 'left' } },
    ]);
  });

  it('sends nothing in a room that is not a presence room, and caps no such room', async () => {
    for (let index = 0; index < 5; index++) await joinRoom(deps, await connection(`u${index}`, `c-${index}=`), 'plain');
    expect(posted).toEqual([]);
  });

  it('refuses a join beyond the bound with room_full, and a member may still join again', async () => {
    const members = [
      await connection('m1', 'full-1='),
      await connection('m2', 'full-2='),
      await connection('m3', 'full-3='),
    ];
    for (const member of members) await joinRoom(deps, member, 'presence-full');
    const late = await connection('m4', 'full-4=');

    await expect(joinRoom(deps, late, 'presence-full')).rejects.toThrow(RoomFullError);
    await expect(joinRoom(deps, late, 'presence-full')).rejects.toMatchObject({ statusCode: 409, code: 'room_full' });
    await expect(joinRoom(deps, members[0], 'presence-full')).resolves.toBeUndefined();
  });

  it('announces departures of an ended connection from the presence rooms it was in', async () => {
    const [stay, go] = [await connection('stay', 'stay-1='), await connection('go', 'go-1=')];
    await joinRoom(deps, stay, 'presence-d');
    await joinRoom(deps, go, 'presence-d');
    await joinRoom(deps, go, 'plain-d');
    posted = [];

    const rooms = await registry.remove(go.userId, go.connectionId);
    await deps.rooms.forget(go, rooms);
    await announceDepartures(deps, go, rooms);

    expect(posted).toEqual([{ to: ['stay-1='], event: { room: 'presence-d', userId: 'go', event: 'left' } }]);
  });
});

describe('joins by user and listings', () => {
  it("joins every live connection of a user, one presence event for the user's arrival", async () => {
    await connection('multi', 'multi-1=');
    await connection('multi', 'multi-2=');
    const watcher = await connection('w', 'w-1=');
    await joinRoom(deps, watcher, 'presence-m');
    posted = [];

    const joined = await joinSelected(deps, { userId: 'multi' }, 'presence-m');

    expect(joined.sort()).toEqual(['multi-1=', 'multi-2=']);
    expect(posted).toEqual([{ to: ['w-1='], event: { room: 'presence-m', userId: 'multi', event: 'joined' } }]);
    await expect(joinSelected(deps, { userId: 'nobody' }, 'presence-m')).rejects.toThrow(
      'user nobody has no live connection',
    );
  });

  it('lists users with connection counts page by page, the cursor resuming after the last connection read', async () => {
    for (let index = 0; index < 7; index++) {
      await joinRoom(deps, await connection(`lister-${index % 3}`, `list-${index}=`), 'listed');
    }

    const first = await listRoomMembers(deps, 'listed', { limit: 4 });
    const second = await listRoomMembers(deps, 'listed', { limit: 4, cursor: first.nextCursor });
    const whole = await listRoomMembers(deps, 'listed');

    expect(first.members.reduce((sum, member) => sum + member.connections, 0)).toBe(4);
    expect(first.nextCursor).toEqual(expect.any(String));
    expect(second.members.reduce((sum, member) => sum + member.connections, 0)).toBe(3);
    expect(second.nextCursor).toBeUndefined();
    expect(whole.members).toEqual([
      { userId: 'lister-0', connections: 3 },
      { userId: 'lister-1', connections: 2 },
      { userId: 'lister-2', connections: 2 },
    ]);
    await expect(listRoomMembers(deps, 'listed', { cursor: 'not a cursor' })).rejects.toMatchObject({
      code: 'invalid_cursor',
    });
    await expect(listRoomMembers(deps, 'listed', { limit: 0 })).rejects.toThrow(
      'limit must be an integer from 1 to 1000',
    );
  });
});
