import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { createDocumentClient } from '../../lambdas/core/clients';
import { createEnvelope, type Envelope } from '../../lambdas/core/envelope';
import { createLogIdGenerator, logIdFloor } from '../../lambdas/core/log-id';
import {
  createMessageLog,
  LogStream,
  type MessageLog,
  readMessageLogConfig,
  streamsToReplay,
} from '../../lambdas/core/message-log';
import { createConnectionRegistry } from '../../lambdas/core/registry';
import { replayPage } from '../../lambdas/core/resume';
import { CONNECTION_MAX_SECONDS, createRoomLog, type RoomLog } from '../../lambdas/core/room-log';
import { joinRoom, leaveRoom, type RoomMembershipDependencies } from '../../lambdas/core/room-membership';
import { createRoomRegistry } from '../../lambdas/core/room-registry';
import { createConnectionTable, createMessageLogTable, createRoomTable } from '../../local/local-dynamo';

// Rooms in the message log against a real DynamoDB-compatible server (dynalite, in process): the user's room records
// (if_not_exists, ADD/DELETE on a string set, the expiry), room streams read from where the user joined, and the
// offline cursor. Each test has its own users and rooms and its own clock.

const tableName = 'room-log-it';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const start = Date.parse('2026-11-27T10:00:00.000Z');
const MINUTE_MS = 60_000;

let server: Server;
let client: DynamoDBDocumentClient;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await createMessageLogTable(endpoint, tableName);
  await createConnectionTable(endpoint, 'room-log-connections');
  await createRoomTable(endpoint, 'room-log-rooms');
  client = createDocumentClient({ endpoint, region: 'us-east-1', credentials });
});
afterAll(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const config = () => readMessageLogConfig({ MESSAGE_LOG_TABLE_NAME: tableName })!;

function logsAt(clock: { now: number }): { log: MessageLog; rooms: RoomLog } {
  return {
    log: createMessageLog({
      client,
      config: config(),
      now: () => clock.now,
      ids: createLogIdGenerator(() => clock.now),
    }),
    rooms: createRoomLog({ client, config: config(), now: () => clock.now }),
  };
}

async function send(log: MessageLog, clock: { now: number }, streams: string[], n: string, type = 'chat') {
  const envelope = createEnvelope(type, { n }, { now: new Date(clock.now) });
  await log.record(envelope, streams);
  clock.now += 1;
  return envelope;
}

const texts = (messages: Envelope[]) => messages.map((message) => (message.data as { n: string }).n);

describe('the room records', () => {
  it('keeps the first join, adds and takes off sessions, and ends on a leave so a later join starts afresh', async () => {
    // Prepare
    const clock = { now: start };
    const { rooms } = logsAt(clock);
    const first = logIdFloor(clock.now);
    // Act
    await rooms.joined('rita', 'chat:1', { since: first, session: 'pid-a' });
    clock.now += MINUTE_MS;
    await rooms.joined('rita', 'chat:1', { since: logIdFloor(clock.now), session: 'pid-b' });
    const twoSessions = await rooms.roomsOf('rita');
    await rooms.left('rita', 'chat:1', { stillIn: true, session: 'pid-a' });
    const oneSession = await rooms.roomsOf('rita');
    await rooms.left('rita', 'chat:1', { stillIn: false, session: 'pid-b' });
    const afterLeave = await rooms.roomsOf('rita');
    clock.now += MINUTE_MS;
    const rejoined = logIdFloor(clock.now);
    await rooms.joined('rita', 'chat:1', { since: rejoined });
    // Assess
    expect(twoSessions).toEqual([{ room: 'chat:1', since: first, sessions: ['pid-a', 'pid-b'] }]);
    expect(oneSession).toEqual([{ room: 'chat:1', since: first, sessions: ['pid-b'] }]);
    expect(afterLeave).toEqual([]);
    expect(await rooms.roomsOf('rita')).toEqual([{ room: 'chat:1', since: rejoined, sessions: [] }]);
  });

  it('expires with the retention plus the longest connection after the last join, and a leave never creates one', async () => {
    // Prepare
    const clock = { now: start };
    const { rooms } = logsAt(clock);
    await rooms.joined('sam', 'news', { since: logIdFloor(clock.now) });
    await rooms.left('sam', 'never-joined', { stillIn: false });
    await rooms.left('sam', 'never-joined-either', { stillIn: true, session: 'pid' });
    // Act
    clock.now += (config().retentionSeconds + CONNECTION_MAX_SECONDS - 1) * 1000;
    const justBefore = await rooms.roomsOf('sam');
    clock.now += 2000;
    // Assess
    expect(justBefore.map((record) => record.room)).toEqual(['news']);
    expect(await rooms.roomsOf('sam')).toEqual([]);
  });
});

describe('room streams in a resume', () => {
  it('replays the rooms the user belongs to from where they joined, never another room, each message once', async () => {
    // Prepare: a message to the room before the join, the join, then messages while the user is away.
    const clock = { now: start };
    const { log, rooms } = logsAt(clock);
    await send(log, clock, [LogStream.room('lobby')], 'before the join');
    clock.now += 10;
    await rooms.joined('tara', 'lobby', { since: logIdFloor(clock.now) });
    const seen = await send(log, clock, [LogStream.room('lobby')], 'seen live');
    await send(log, clock, [LogStream.room('lobby')], 'missed in the room');
    await send(log, clock, [LogStream.room('secret')], 'another room');
    await send(log, clock, [LogStream.user('tara'), LogStream.room('lobby')], 'in two of her streams');
    // Act: the resume names the room it never joined too.
    const page = await replayPage(log, 'tara', { after: seen.logId, rooms: ['lobby', 'secret'] }, rooms);
    const unnamed = await replayPage(log, 'tara', { after: seen.logId }, rooms);
    const offline = await replayPage(log, 'tara', {}, rooms);
    // Assess: the room reaches back (the adapter drops what it has by id), but never before the join.
    expect(texts(page.data.messages)).toEqual(['seen live', 'missed in the room', 'in two of her streams']);
    expect(texts(unnamed.data.messages)).toEqual(texts(page.data.messages));
    expect(page.data.recovered).toBe(true);
    expect(texts(offline.data.messages)).toEqual([]);
  });

  it('caps a room stream like a user stream, with a cap gap naming the room', async () => {
    // Prepare
    const clock = { now: start + 2 * MINUTE_MS };
    const { rooms } = logsAt(clock);
    const log = createMessageLog({
      client,
      config: { ...config(), userCap: 3 },
      now: () => clock.now,
      ids: createLogIdGenerator(() => clock.now),
    });
    await rooms.joined('ugo', 'busy', { since: logIdFloor(clock.now - 1) });
    const cursor = logIdFloor(clock.now);
    for (let n = 0; n < 5; n++) await send(log, clock, [LogStream.room('busy')], `m${n}`);
    // Act
    const page = await log.readReplay({
      streams: streamsToReplay('ugo', ['busy']),
      since: new Map([[LogStream.room('busy'), logIdFloor(clock.now - 10 * MINUTE_MS)]]),
      after: cursor,
      exact: true,
    });
    // Assess
    expect(texts(page.messages)).toEqual(['m2', 'm3', 'm4']);
    expect(page.gaps).toEqual([expect.objectContaining({ reason: 'cap', stream: 'room#busy' })]);
  });
});

describe('the offline cursor', () => {
  it('gives pending messages once per user: after a confirmation only later ones, never going back', async () => {
    // Prepare: two pending notifications.
    const clock = { now: start + 5 * MINUTE_MS };
    const { log } = logsAt(clock);
    const pending = async (title: string) => {
      const envelope = await send(log, clock, [LogStream.user('vera')], title, 'notification');
      await log.markOffline(envelope.logId!, ['vera']);
      return envelope;
    };
    await pending('one');
    const two = await pending('two');
    const firstDevice = await log.readReplay({ streams: streamsToReplay('vera') });
    // Act: the first device confirms; one more is sent; a late receipt for an older id comes in.
    await log.confirmOffline('vera', two.logId!);
    await pending('three');
    await log.confirmOffline('vera', firstDevice.messages[0].logId!);
    const secondDevice = await log.readReplay({ streams: streamsToReplay('vera') });
    // Assess
    expect(texts(firstDevice.messages)).toEqual(['one', 'two']);
    expect(texts(secondDevice.messages)).toEqual(['three']);
  });
});

describe('joins and leaves keep the records', () => {
  /** The membership machinery over real tables, with the log's records; the clock is the real one (TTL filters). */
  function membership(): RoomMembershipDependencies & { roomLog: RoomLog } {
    return {
      rooms: createRoomRegistry({
        client,
        tableName: 'room-log-rooms',
        connectionTableName: 'room-log-connections',
        maxRoomsPerConnection: 100,
      }),
      registry: createConnectionRegistry({ client, tableName: 'room-log-connections', ttlSeconds: 3 * 3600 }),
      presence: { roomPrefix: undefined, maxMembers: 100 },
      roomLog: createRoomLog({ client, config: config() }),
    };
  }

  it('a leave ends the record only when no other connection of the user is still in the room', async () => {
    // Prepare: two tabs of one user in one room.
    const deps = membership();
    const registry = createConnectionRegistry({ client, tableName: 'room-log-connections', ttlSeconds: 3 * 3600 });
    await registry.register({ userId: 'wes', connectionId: 'tab-1' });
    await registry.register({ userId: 'wes', connectionId: 'tab-2' });
    await joinRoom(deps, { userId: 'wes', connectionId: 'tab-1' }, 'chat:9');
    await joinRoom(deps, { userId: 'wes', connectionId: 'tab-2' }, 'chat:9');
    // Act
    await leaveRoom(deps, { userId: 'wes', connectionId: 'tab-1' }, 'chat:9');
    const afterOneLeft = await deps.roomLog.roomsOf('wes');
    await leaveRoom(deps, { userId: 'wes', connectionId: 'tab-2' }, 'chat:9');
    // Assess
    expect(afterOneLeft.map((record) => record.room)).toEqual(['chat:9']);
    expect(await deps.roomLog.roomsOf('wes')).toEqual([]);
  });

  it("a disconnect keeps the record, and a Socket.IO connection's joins and leaves keep its session on it", async () => {
    // Prepare: a Socket.IO connection whose replay ended with session pid-x.
    const deps = membership();
    const registry = createConnectionRegistry({ client, tableName: 'room-log-connections', ttlSeconds: 3 * 3600 });
    await registry.register({ userId: 'xia', connectionId: 'sio-1', protocol: 'socket.io', replaying: true });
    await registry.finishReplay('xia', 'sio-1', { liveAfter: '', replayReadAt: Date.now(), session: 'pid-x' });
    // Act
    await joinRoom(deps, { userId: 'xia', connectionId: 'sio-1' }, 'game:1');
    await joinRoom(deps, { userId: 'xia', connectionId: 'sio-1' }, 'game:2');
    await leaveRoom(deps, { userId: 'xia', connectionId: 'sio-1' }, 'game:2');
    await registry.remove('xia', 'sio-1');
    // Assess
    expect(await deps.roomLog.roomsOf('xia')).toEqual([
      { room: 'game:1', since: expect.any(String), sessions: ['pid-x'] },
    ]);
  });

  it('a membership joined while its connection replays makes room senders wait, until the hand-off reaches it', async () => {
    // Prepare: a recovered Socket.IO connection, still replaying.
    const deps = membership();
    const registry = createConnectionRegistry({ client, tableName: 'room-log-connections', ttlSeconds: 3 * 3600 });
    await registry.register({ userId: 'yan', connectionId: 'sio-2', protocol: 'socket.io', replaying: true });
    const target = { userId: 'yan', connectionId: 'sio-2' };
    // Act
    await joinRoom(deps, target, 'game:3');
    const during: unknown[] = [];
    for await (const page of deps.rooms.membersOf('game:3')) during.push(...page);
    await deps.rooms.finishReplay(target, ['game:3'], { liveAfter: '1764255600000-0000-000001', replayReadAt: 42 });
    const after: unknown[] = [];
    for await (const page of deps.rooms.membersOf('game:3')) after.push(...page);
    // Assess
    expect(during).toEqual([expect.objectContaining({ replaying: true, connectedAt: expect.any(String) })]);
    expect(after).toEqual([expect.objectContaining({ liveAfter: '1764255600000-0000-000001', replayReadAt: 42 })]);
    expect(after[0]).not.toHaveProperty('replaying');
  });
});
