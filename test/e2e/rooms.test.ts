// End-to-end: rooms and presence over the local stack, for both clients (the JSON protocol and an unmodified
// socket.io-client): joins and leaves from a client request, the HTTP API and the server library; refusals; the
// memberships' cleanup on $disconnect and after a 410; presence listings and join/leave events. Room grants are
// token permissions (`room:<pattern>`), so these tests sign their own tokens: local mode only.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { callApi } from './support/http';
import { useE2eSession } from './support/session';
import { connectSocketIo, type SocketIoTestClient } from './support/socket-io';
import { eventually, type TestClient } from './support/sockets';
import { type DemoUser, itWithTokenSigning } from './support/target';

const users: DemoUser[] = ['user123', 'user456', 'user789', 'admin'];
const socketIoClients: SocketIoTestClient[] = [];
// Declared before the session's own afterEach, which runs after this one and waits for every $disconnect.
afterEach(() => {
  for (const client of socketIoClients.splice(0)) client.close();
});
const session = useE2eSession(users);
const root = resolve(__dirname, '..', '..');

/** A token for `userId` with `scope`, signed with the stack's key. */
async function tokenWith(userId: DemoUser, scope: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return session.target.signClaims!({ sub: userId, scope, iat: now, exp: now + 3600 });
}

/** A JSON-protocol socket with `scope`, proved routed by `hello`, and its connection id. */
async function openJson(userId: DemoUser, scope: string): Promise<TestClient & { connectionId: string }> {
  const client = await session.connect(session.target.wsUrl, await tokenWith(userId, scope));
  client.send({ action: 'hello' });
  const hello = await client.next('authenticated');
  return Object.assign(client, { connectionId: (hello.data as { connectionId: string }).connectionId });
}

async function openSocketIo(userId: DemoUser, scope: string): Promise<SocketIoTestClient> {
  const client = await connectSocketIo(session.target.wsUrl, {
    extraHeaders: { Authorization: `Bearer ${await tokenWith(userId, scope)}` },
  });
  socketIoClients.push(client);
  return client;
}

const membersPath = (room: string) => `/websocket/rooms/${encodeURIComponent(room)}/members`;
const memberIds = async (room: string) =>
  (await session.target.rooms!.membersOf(room)).map((member) => member.connectionId).sort();

describe('joining and leaving from a client request', () => {
  itWithTokenSigning('joins a granted room with {"action":"join"}, lists it with members, leaves it', async () => {
    // Prepare
    const client = await openJson('user123', 'room:chat:*');
    // Act
    client.send({ action: 'join', room: 'chat:42' });
    const joined = await client.next();
    const storedAfterJoin = await memberIds('chat:42');
    client.send({ action: 'members', room: 'chat:42' });
    const members = await client.next();
    client.send({ action: 'leave', room: 'chat:42' });
    const left = await client.next();
    // Assess
    expect(joined).toMatchObject({ type: 'joined', data: { room: 'chat:42' } });
    expect(storedAfterJoin).toEqual([client.connectionId]);
    expect(members).toMatchObject({
      type: 'members',
      data: { room: 'chat:42', members: [{ userId: 'user123', connections: 1 }] },
    });
    expect(left).toMatchObject({ type: 'left', data: { room: 'chat:42' } });
    expect(await memberIds('chat:42')).toEqual([]);
  });

  itWithTokenSigning(
    'refuses a room the token does not grant with a forbidden error frame naming the grant',
    async () => {
      const client = await openJson('user456', 'room:chat:*');

      client.send({ action: 'join', room: 'news' });
      const refused = await client.next();
      client.send({ action: 'join', room: 'chat 42' });
      const badName = await client.next();

      expect(refused).toMatchObject({
        type: 'error',
        data: { code: 'forbidden', message: expect.stringContaining('"room:<pattern>" matching "news"') },
      });
      expect(badName).toMatchObject({ type: 'error', data: { code: 'invalid_room' } });
      expect(await memberIds('news')).toEqual([]);
    },
  );

  itWithTokenSigning(
    "joins from socket.io-client with emit('join', room, ack), and refuses with an error ack",
    async () => {
      const client = await openSocketIo('user789', 'room:game-*');

      const joined = await client.socket.emitWithAck('join', 'game-7');
      const members = await client.socket.emitWithAck('members', 'game-7');
      const refused = await client.socket.emitWithAck('join', 'chat:42');
      const left = await client.socket.emitWithAck('leave', 'game-7');

      expect(joined).toEqual({ room: 'game-7' });
      expect(members).toEqual({ room: 'game-7', members: [{ userId: 'user789', connections: 1 }] });
      expect(refused).toEqual({ code: 'forbidden', message: expect.stringContaining('room "chat:42" is not granted') });
      expect(left).toEqual({ room: 'game-7' });
      expect(await memberIds('game-7')).toEqual([]);
    },
  );
});

describe('joining and leaving from the HTTP API', () => {
  itWithTokenSigning('joins every connection of a user for a holder of ws:rooms, lists and leaves them', async () => {
    const [first, second] = [await openJson('user456', ''), await openJson('user456', '')];
    const manager = await tokenWith('admin', 'ws:rooms');
    const { httpUrl } = session.target;

    const join = await callApi(httpUrl, 'POST', membersPath('team/ops'), manager, { userId: 'user456' });
    const listing = await callApi(httpUrl, 'GET', membersPath('team/ops'), manager);
    const stored = await memberIds('team/ops');
    const leave = await callApi(httpUrl, 'DELETE', membersPath('team/ops'), manager, { userId: 'user456' });

    expect(join).toMatchObject({ status: 200, body: { room: 'team/ops', userId: 'user456', connections: 2 } });
    expect(listing).toMatchObject({
      status: 200,
      body: { room: 'team/ops', members: [{ userId: 'user456', connections: 2 }] },
    });
    expect(stored).toEqual([first.connectionId, second.connectionId].sort());
    expect(leave).toMatchObject({ status: 200, body: { connections: 2 } });
    expect(await memberIds('team/ops')).toEqual([]);
  });

  itWithTokenSigning(
    "lets a user join their own connections to a granted room, nobody else's without ws:rooms",
    async () => {
      const own = await openJson('user123', '');
      await openJson('user789', '');
      const granted = await tokenWith('user123', 'room:chat:*');
      const { httpUrl } = session.target;

      const self = await callApi(httpUrl, 'POST', membersPath('chat:1'), granted);
      const other = await callApi(httpUrl, 'POST', membersPath('chat:1'), granted, { userId: 'user789' });
      const notGranted = await callApi(httpUrl, 'POST', membersPath('news'), granted);
      const notConnected = await callApi(httpUrl, 'POST', membersPath('chat:1'), await tokenWith('admin', 'ws:rooms'), {
        userId: 'user456',
      });

      expect(self).toMatchObject({ status: 200, body: { userId: 'user123', connections: 1 } });
      expect(other).toMatchObject({
        status: 403,
        body: { error: { code: 'forbidden', message: expect.stringContaining('"ws:rooms"') } },
      });
      expect(notGranted).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
      expect(notConnected).toMatchObject({
        status: 404,
        body: { error: { code: 'not_found', message: 'user user456 has no live connection' } },
      });
      expect(await memberIds('chat:1')).toEqual([own.connectionId]);
    },
  );
});

describe('joining from the server library', () => {
  itWithTokenSigning('socketsJoin joins every connection of a user; fetchRoomMembers lists them', async () => {
    const client = await openJson('user789', '');
    const script = `
      const { WebSocketService } = require('./lambdas/server-library.ts');
      const service = WebSocketService.fromEnvironment();
      (async () => {
        const joined = await service.socketsJoin('chat:lib', { userId: 'user789' });
        const page = await service.fetchRoomMembers('chat:lib');
        const rooms = await service.roomsOf({ userId: 'user789', connectionId: joined[0] });
        console.log(JSON.stringify({ joined, page, rooms }));
      })().catch((error) => { console.error(error); process.exit(1); });
    `;

    const output = await new Promise<string>((resolveRun, reject) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', '-e', script],
        {
          cwd: root,
          env: {
            PATH: process.env.PATH,
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
            ...session.target.serverLibraryEnvironment,
          },
          timeout: 30_000,
        },
        (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolveRun(stdout)),
      ),
    );

    expect(JSON.parse(output)).toEqual({
      joined: [client.connectionId],
      page: { room: 'chat:lib', members: [{ userId: 'user789', connections: 1 }] },
      rooms: ['chat:lib'],
    });
    expect(await memberIds('chat:lib')).toEqual([client.connectionId]);
  });
});

describe('memberships end with their connection', () => {
  itWithTokenSigning('are deleted by $disconnect', async () => {
    const client = await openJson('user123', 'room:*');
    client.send({ action: 'join', room: 'bye-a' });
    await client.next('joined');
    client.send({ action: 'join', room: 'bye-b' });
    await client.next('joined');

    await client.close();

    await eventually(async () => (await memberIds('bye-a')).length === 0 && (await memberIds('bye-b')).length === 0);
    expect(await session.target.registry!.rowsOf('user123')).toEqual([]);
  });

  itWithTokenSigning('are deleted when a post finds the connection gone (410)', async () => {
    // A row and memberships left by a connection API Gateway no longer knows (no $disconnect ran).
    const vanished = {
      userId: 'user789',
      connectionId: 'Um9vbUdvbmVDb24=',
      connectedAt: new Date().toISOString(),
      expiresAt: Math.floor(Date.now() / 1000) + 3 * 3600,
    };
    await session.target.rooms!.plantMember(vanished, ['gone-1', 'gone-2']);

    const { status, body } = await callApi(
      session.target.httpUrl,
      'POST',
      '/websocket/message/user',
      session.target.tokens.admin,
      {
        userId: 'user789',
        type: 'chat',
        data: { message: 'anyone?' },
      },
    );

    expect(status).toBe(200);
    expect(body).toMatchObject({ recipients: { user789: { stale: [vanished.connectionId] } } });
    expect(await memberIds('gone-1')).toEqual([]);
    expect(await memberIds('gone-2')).toEqual([]);
  });
});

describe('presence', () => {
  itWithTokenSigning('announces a user’s first connection joining and last one leaving, to both clients', async () => {
    const scope = 'room:presence-*';
    const watcher = await openJson('user123', scope);
    watcher.send({ action: 'join', room: 'presence-lobby' });
    await watcher.next('joined');
    const socketIoWatcher = await openSocketIo('admin', scope);
    await socketIoWatcher.socket.emitWithAck('join', 'presence-lobby');
    // The admin's arrival was announced to the first watcher.
    expect(await watcher.next('presence')).toMatchObject({
      data: { room: 'presence-lobby', userId: 'admin', event: 'joined' },
    });

    // Two connections of user456: only the first one's join is announced, only the last one's departure.
    const [first, second] = [await openJson('user456', scope), await openJson('user456', scope)];
    first.send({ action: 'join', room: 'presence-lobby' });
    await first.next('joined');
    second.send({ action: 'join', room: 'presence-lobby' });
    await second.next('joined');
    const arrival = await watcher.next('presence');
    const socketIoArrival = await socketIoWatcher.next('presence');
    const listing = await callApi(
      session.target.httpUrl,
      'GET',
      membersPath('presence-lobby'),
      await tokenWith('user123', scope),
    );
    await first.close();
    await eventually(async () => (await memberIds('presence-lobby')).length === 3);
    await watcher.expectNothing();
    await second.close();
    const departure = await watcher.next('presence');

    expect(arrival).toMatchObject({
      type: 'presence',
      data: { room: 'presence-lobby', userId: 'user456', event: 'joined' },
    });
    expect(socketIoArrival[0]).toEqual({ room: 'presence-lobby', userId: 'user456', event: 'joined' });
    expect(listing.body).toEqual({
      room: 'presence-lobby',
      members: expect.arrayContaining([
        { userId: 'user123', connections: 1 },
        { userId: 'admin', connections: 1 },
        { userId: 'user456', connections: 2 },
      ]),
    });
    expect(departure).toMatchObject({ data: { room: 'presence-lobby', userId: 'user456', event: 'left' } });
    expect((await socketIoWatcher.next('presence'))[0]).toEqual({
      room: 'presence-lobby',
      userId: 'user456',
      event: 'left',
    });
  });

  itWithTokenSigning('announces the departure of a user the HTTP API disconnects', async () => {
    const scope = 'room:presence-*';
    const watcher = await openJson('user123', scope);
    watcher.send({ action: 'join', room: 'presence-kick' });
    await watcher.next('joined');
    const leaving = await openJson('user789', scope);
    leaving.send({ action: 'join', room: 'presence-kick' });
    await leaving.next('joined');
    await watcher.next('presence');

    const { status } = await callApi(
      session.target.httpUrl,
      'DELETE',
      '/websocket/users/user789/disconnect',
      session.target.tokens.admin,
    );

    expect(status).toBe(200);
    expect(await watcher.next('presence')).toMatchObject({
      data: { room: 'presence-kick', userId: 'user789', event: 'left' },
    });
    expect(await memberIds('presence-kick')).toEqual([watcher.connectionId]);
  });
});
