// End-to-end: sending to a room from the HTTP route and the socket's send (JSON protocol and an unmodified
// socket.io-client), with the members written into the local room index per `roomTableSchema` (support/room-probe.ts).
// Local mode only: planting members and signing room-scoped tokens need the local stack's table and key.
import { callApi } from './support/http';
import { type OpenClient, useE2eSession } from './support/session';
import { connectSocketIo, type SocketIoTestClient } from './support/socket-io';
import { eventually } from './support/sockets';
import { type DemoUser, itWithRegistry } from './support/target';

const users: DemoUser[] = ['user123', 'user456', 'user789', 'admin'];
const socketIoClients: SocketIoTestClient[] = [];
// Declared before the session's own afterEach, which runs after this one and waits for every $disconnect.
afterEach(() => {
  for (const client of socketIoClients.splice(0)) client.close();
});
const session = useE2eSession(users);
let roomCount = 0;

/** A fresh room name per test, so no test sees another's members. */
const newRoom = () => `chat:e2e-${++roomCount}`;

/** A token of `userId` carrying `scope` (e.g. `room:chat:*`), signed with the local stack's key. */
async function tokenWith(userId: string, scope: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return session.target.signClaims!({ sub: userId, iat: now, exp: now + 3600, scope });
}

async function openSocketIo(user: DemoUser, token = session.target.tokens[user]): Promise<SocketIoTestClient> {
  const client = await connectSocketIo(session.target.wsUrl, { extraHeaders: { Authorization: `Bearer ${token}` } });
  socketIoClients.push(client);
  return client;
}

/** Makes each client a member of `room`, as the room index stores members. */
async function plant(room: string, members: Array<{ user: DemoUser; client: OpenClient | SocketIoTestClient }>) {
  await session.target.rooms!.plant(
    room,
    members.map(({ user, client }) =>
      'connectionId' in client
        ? { userId: user, connectionId: client.connectionId }
        : { userId: user, connectionId: client.socket.id!, protocol: 'socket.io' as const },
    ),
  );
}

/** Waits a moment and fails if a Socket.IO client got any event named `name` besides those already taken. */
async function expectNoMoreEvents(client: SocketIoTestClient, name: string, ms = 300): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  expect(client.pending().filter((event) => event.name === name)).toEqual([]);
}

describe('POST /websocket/message/room', () => {
  itWithRegistry(
    'reaches a JSON member and a socket.io-client member once each, and no connection outside the room',
    async () => {
      // Prepare: user456 has two sockets, only one of them in the room; user789 is in another room
      const room = newRoom();
      const jsonMember = await session.open('user456');
      const outsider = await session.open('user456');
      const socketIoMember = await openSocketIo('user789');
      const elsewhere = await session.open('admin');
      await plant(room, [
        { user: 'user456', client: jsonMember },
        { user: 'user789', client: socketIoMember },
      ]);
      await plant(newRoom(), [{ user: 'admin', client: elsewhere }]);
      const token = await tokenWith('user123', 'room:chat:*');
      // Act
      const { status, body } = await callApi(session.target.httpUrl, 'POST', '/websocket/message/room', token, {
        room,
        type: 'chat',
        data: { message: 'Hi room' },
        from: 'mallory',
      });
      // Assess
      expect(status).toBe(200);
      expect(body).toEqual({
        delivery: 'synchronous',
        room,
        messageId: expect.any(String),
        timestamp: expect.any(String),
        connections: { delivered: 2, failed: 0, stale: 0 },
      });
      const { messageId } = body as { messageId: string };
      const jsonCopy = await jsonMember.next('chat');
      expect(jsonCopy).toMatchObject({
        data: { message: 'Hi room' },
        from: 'user123',
        id: messageId,
        logId: expect.any(String),
      });
      // A room message is recorded once in the message log: every member's copy carries the same log id, the last
      // argument on Socket.IO (socket.io-client keeps it as its recovery offset).
      expect(await socketIoMember.next('chat')).toEqual([
        { message: 'Hi room' },
        expect.objectContaining({ id: messageId, from: 'user123' }),
        (jsonCopy as { logId: string }).logId,
      ]);
      await Promise.all([
        jsonMember.expectNothing(),
        outsider.expectNothing(),
        elsewhere.expectNothing(),
        expectNoMoreEvents(socketIoMember, 'chat'),
      ]);
    },
  );

  itWithRegistry('with async: true answers 202 and a status URL its sender may follow to complete', async () => {
    const room = newRoom();
    const member = await session.open('user456');
    await plant(room, [{ user: 'user456', client: member }]);
    const token = await tokenWith('user123', `room:${room}`);

    const { status, body } = await callApi(session.target.httpUrl, 'POST', '/websocket/message/room', token, {
      room,
      type: 'news',
      data: { n: 1 },
      async: true,
    });

    expect(status).toBe(202);
    expect(body).toMatchObject({ delivery: 'asynchronous', room, state: 'queued', slices: 1 });
    const { statusUrl } = body as { statusUrl: string };
    expect(await member.next('news', 15_000)).toMatchObject({ data: { n: 1 }, from: 'user123' });
    let final: Record<string, unknown> = {};
    await eventually(async () => {
      final = (await callApi(session.target.httpUrl, 'GET', statusUrl, token)).body as Record<string, unknown>;
      return final.state === 'complete';
    }, 15_000);
    expect(final).toMatchObject({ room, connections: { delivered: 1, unknown: 0 } });
    await member.expectNothing();
  });

  itWithRegistry(
    'refuses a caller the room is not granted to with 403 in the error shape, posting nothing',
    async () => {
      const room = newRoom();
      const member = await session.open('user456');
      await plant(room, [{ user: 'user456', client: member }]);

      const plain = await callApi(
        session.target.httpUrl,
        'POST',
        '/websocket/message/room',
        session.target.tokens.user123,
        {
          room,
          type: 'chat',
          data: {},
        },
      );
      const other = await callApi(
        session.target.httpUrl,
        'POST',
        '/websocket/message/room',
        await tokenWith('user123', 'room:news:*'),
        { room, type: 'chat', data: {} },
      );

      for (const refused of [plain, other]) {
        expect(refused).toMatchObject({
          status: 403,
          body: { error: { code: 'forbidden', message: expect.stringContaining(`room "${room}"`) } },
        });
      }
      await member.expectNothing();
    },
  );
});

describe("the socket's send to a room", () => {
  itWithRegistry('from a JSON socket: the members get it from the socket owner, the sender the counts', async () => {
    const room = newRoom();
    const sender = await session.connect(session.target.wsUrl, await tokenWith('user123', 'room:chat:*'));
    const member = await session.open('user456');
    const socketIoMember = await openSocketIo('user789');
    await plant(room, [
      { user: 'user456', client: member },
      { user: 'user789', client: socketIoMember },
    ]);

    sender.send({ action: 'send', room, type: 'chat', data: { message: 'from the socket' } });

    expect(await sender.next('delivery')).toMatchObject({
      data: { delivery: 'synchronous', room, connections: { delivered: 2, failed: 0, stale: 0 } },
    });
    expect(await member.next('chat')).toMatchObject({ data: { message: 'from the socket' }, from: 'user123' });
    expect((await socketIoMember.next('chat'))[1]).toMatchObject({ from: 'user123' });
  });

  itWithRegistry('from a socket.io-client emit with an ack: the ack carries the counts', async () => {
    const room = newRoom();
    const sender = await openSocketIo('user123', await tokenWith('user123', `room:${room}`));
    const member = await session.open('user456');
    await plant(room, [{ user: 'user456', client: member }]);

    const ack = await sender.socket.emitWithAck('send', { room, type: 'chat', data: { message: 'emitted' } });

    expect(ack).toMatchObject({ delivery: 'synchronous', room, connections: { delivered: 1 } });
    expect(await member.next('chat')).toMatchObject({ data: { message: 'emitted' }, from: 'user123' });
  });

  itWithRegistry('refuses a socket without the room permission with an error, posting nothing', async () => {
    const room = newRoom();
    const sender = await session.open('user123');
    const socketIoSender = await openSocketIo('user789');
    const member = await session.open('user456');
    await plant(room, [{ user: 'user456', client: member }]);

    sender.send({ action: 'send', room, type: 'chat', data: {} });
    const refusal = await socketIoSender.socket.emitWithAck('send', { room, type: 'chat', data: {} });

    expect(await sender.next('error')).toMatchObject({ data: { code: 'forbidden' } });
    expect(refusal).toMatchObject({ code: 'forbidden' });
    await member.expectNothing();
  });
});
