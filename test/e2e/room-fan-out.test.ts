// End-to-end: a room too large for a synchronous send goes through the asynchronous fan-out on the local stack: real
// sockets, the real worker behind the local SQS's event source mapping walking the room's Query, dynalite, and a
// worker crash injected through configuration (FAN_OUT_FAULTS). Also the direct-send function's room form, invoked as
// another AWS service would (it has no route; the handler module is loaded with its own settings). Local only.
import { resolve } from 'node:path';
import type { QueueName } from '../../lambdas/routes';
import { signDevToken } from '../../local/dev-tokens';
import { importHandler, type LambdaHandler } from '../../local/emulator/lambda-runner';
import { localFunctionEnvironment, runtimeEnvironment } from '../../local/lambda-environment';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { lambdaContextFor } from '../helpers/lambda-context';
import { callApi } from './support/http';
import { RoomProbe } from './support/room-probe';
import { connect, eventually, type TestClient } from './support/sockets';

/** Live member sockets: 800 users with 2 connections each; beside them 400 members whose connections vanished. */
const MEMBER_USERS = 800;
const CONNECTIONS_PER_USER = 2;
const LIVE_MEMBERS = MEMBER_USERS * CONNECTIONS_PER_USER;
const VANISHED_MEMBERS = 400;
const MEMBERS = LIVE_MEMBERS + VANISHED_MEMBERS;
/** Sockets outside the room (50 users, 2 each): the fan-out must not reach them. */
const OUTSIDERS = 100;
/** As in broadcast-fan-out.test.ts: a crashed slice comes back after 12 s, not 30 min. */
const WORKER_TIMEOUT_MS = 2_000;
const CRASH_AFTER_POSTS = 30;
const BIG_ROOM = 'stadium:final';

let stack: LocalStack;
let rooms: RoomProbe;
let senderToken: string;
interface Socket {
  client: TestClient;
  connectionId: string;
  userId: string;
  received: Map<string, number>;
}
const members: Socket[] = [];
const outsiders: Socket[] = [];

const countsOf = (sockets: Socket[], type: string) => sockets.map(({ received }) => received.get(type) ?? 0);

/** Opens `count` sockets for `users` (round robin), 50 handshakes at a time, each with its connection id. */
async function openSockets(users: string[], count: number, into: Socket[]): Promise<void> {
  const tokens = await Promise.all(users.map((user) => signDevToken(stack.jwtSecret, user, { ttl: '1h' })));
  const pending = Array.from({ length: count }, (_, index) => index % users.length);
  while (pending.length > 0) {
    const batch = pending.splice(0, 50);
    const opened = await Promise.all(
      batch.map(async (user) => {
        const client = await connect(stack.wsUrl, tokens[user]);
        client.send({ action: 'hello' });
        const hello = await client.next('authenticated', 30_000);
        const received = new Map<string, number>();
        client.socket.on('message', (data) => {
          const { type } = JSON.parse(data.toString()) as { type: string };
          received.set(type, (received.get(type) ?? 0) + 1);
        });
        const { connectionId } = hello.data as { connectionId: string };
        return { client, connectionId, userId: users[user], received };
      }),
    );
    into.push(...opened);
  }
}

async function sendToRoom(room: string, type: string, extra: Record<string, unknown> = {}) {
  return callApi(stack.httpUrl, 'POST', '/websocket/message/room', senderToken, {
    room,
    type,
    data: { message: `to ${room}` },
    ...extra,
  });
}

interface Status {
  room?: string;
  state: string;
  finishedAt?: string;
  slices: Record<string, number>;
  connections: Record<string, number>;
}

async function finished(statusUrl: string, timeoutMs: number): Promise<Status> {
  let last: Status | undefined;
  await eventually(async () => {
    const { status, body } = await callApi(stack.httpUrl, 'GET', statusUrl, senderToken);
    expect(status).toBe(200);
    last = body as Status;
    return last.finishedAt !== undefined;
  }, timeoutMs);
  return last!;
}

beforeAll(async () => {
  stack = await startLocalStack({
    wsPort: 0,
    httpPort: 0,
    quiet: process.env.E2E_LOGS === undefined,
    jwtSecret: `e2e-${Math.random().toString(36).slice(2)}-secret-of-enough-length`,
    queueConsumerTimeoutMs: WORKER_TIMEOUT_MS,
    scheduleIntervalMs: 0,
    environment: {
      BROADCAST_TIME_MARGIN_MS: '1000',
      FAN_OUT_FAULTS: JSON.stringify([{ messageType: 'room-crash', afterPosts: CRASH_AFTER_POSTS, times: 1 }]),
    },
  });
  rooms = new RoomProbe(stack.dynamoEndpoint, {
    roomTableName: stack.roomTableName,
    connectionTableName: stack.tableName,
  });
  senderToken = await signDevToken(stack.jwtSecret, 'editor', { scope: 'room:stadium:*', ttl: '1h' });
  await openSockets(
    Array.from({ length: MEMBER_USERS }, (_, user) => `fan-${user}`),
    LIVE_MEMBERS,
    members,
  );
  await openSockets(
    Array.from({ length: OUTSIDERS / 2 }, (_, user) => `out-${user}`),
    OUTSIDERS,
    outsiders,
  );
  // Connections that ended without $disconnect or any cleanup: well-formed ids (11 bytes in base64, as API Gateway's),
  // so @connections answers 410 as for a gone connection rather than 400 for a malformed id.
  const vanished = Array.from({ length: VANISHED_MEMBERS }, (_, index) => ({
    userId: `gone-${index}`,
    connectionId: Buffer.from(`v${String(index).padStart(10, '0')}`).toString('base64'),
  }));
  await rooms.plant(BIG_ROOM, [...members.map(({ userId, connectionId }) => ({ userId, connectionId })), ...vanished]);
}, 300_000);

afterAll(async () => {
  await Promise.all([...members, ...outsiders].map(({ client }) => client.close()));
  rooms?.close();
  await stack?.stop();
}, 120_000);

describe('a room of thousands of members', () => {
  it('goes through the fan-out by its size: 202 at once, every live member once, no outsider, the gone ones stale', async () => {
    const { status, body } = await sendToRoom(BIG_ROOM, 'room-all');

    expect(status).toBe(202);
    expect(body).toMatchObject({ delivery: 'asynchronous', room: BIG_ROOM, slices: 1, statusUrl: expect.any(String) });
    const final = await finished((body as { statusUrl: string }).statusUrl, 150_000);
    await eventually(async () => countsOf(members, 'room-all').every((count) => count >= 1), 30_000);

    expect(final).toMatchObject({ room: BIG_ROOM, state: 'complete', connections: { failed: 0, pending: 0 } });
    // A run that outlived its 2 s invocation on a loaded machine counts its last group unknown (at most once).
    expect(final.connections.delivered + final.connections.unknown + final.connections.stale).toBe(MEMBERS);
    expect(final.connections.stale).toBeGreaterThanOrEqual(VANISHED_MEMBERS - final.connections.unknown);
    expect(Math.max(...countsOf(members, 'room-all'))).toBe(1);
    expect(Math.max(...countsOf(outsiders, 'room-all'))).toBe(0);
  }, 240_000);

  it('resumes a slice whose worker crashed mid-room past the claimed group: no member twice', async () => {
    const { status, body } = await sendToRoom(BIG_ROOM, 'room-crash');

    expect(status).toBe(202);
    const final = await finished((body as { statusUrl: string }).statusUrl, 200_000);
    const counts = countsOf(members, 'room-crash');

    expect(final.state).toBe('complete');
    expect(final.connections.unknown).toBeGreaterThanOrEqual(CRASH_AFTER_POSTS);
    expect(final.connections.delivered + final.connections.unknown + final.connections.stale).toBe(MEMBERS);
    expect(Math.max(...counts)).toBe(1);
    expect(counts.filter((count) => count === 1).length).toBeGreaterThanOrEqual(final.connections.delivered);
    expect(Math.max(...countsOf(outsiders, 'room-crash'))).toBe(0);
  }, 240_000);

  it('is refused to a token granted other rooms, with 403 in the error shape', async () => {
    const other = await signDevToken(stack.jwtSecret, 'editor', { scope: 'room:news:*', ttl: '1h' });

    const refused = await callApi(stack.httpUrl, 'POST', '/websocket/message/room', other, {
      room: BIG_ROOM,
      type: 'room-refused',
      data: {},
    });

    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
  });
});

describe('the direct-send function to a room', () => {
  let directSend: LambdaHandler;

  beforeAll(async () => {
    const callbackUrl = stack.connectionsUrl.replace(/\/@connections$/, '');
    const queueUrls = Object.fromEntries(
      Object.entries(stack.queueNames).map(([queue, names]) => [queue, stack.sqs.queueUrl(names.queue)]),
    ) as Record<QueueName, string>;
    directSend = await importHandler(resolve(__dirname, '../../lambdas/handlers/direct-send.ts'), {
      ...runtimeEnvironment(stack.dynamoEndpoint, stack.credentials),
      AWS_ENDPOINT_URL_SQS: stack.sqs.endpoint,
      ...localFunctionEnvironment('directSend', {
        tableName: stack.tableName,
        fanOutTableName: stack.fanOutTableName,
        roomTableName: stack.roomTableName,
        messageLogTableName: stack.messageLogTableName,
        queueUrls,
        dynamoEndpoint: stack.dynamoEndpoint,
        callbackUrl,
        jwtSecret: stack.jwtSecret,
        allowedOrigins: [],
        logLevel: 'ERROR',
      }),
    });
  });

  it("posts a small room's members synchronously and answers their counts; the envelope has no from", async () => {
    const ops = outsiders.slice(0, 3);
    await rooms.plant(
      'ops',
      ops.map(({ userId, connectionId }) => ({ userId, connectionId })),
    );

    const outcome = await directSend(
      { room: 'ops', type: 'ops-alert', data: { level: 2 } },
      lambdaContextFor('directSend'),
    );

    expect(outcome).toMatchObject({ delivery: 'synchronous', room: 'ops', connections: { delivered: 3 } });
    const frames = await Promise.all(ops.map(({ client }) => client.next('ops-alert', 10_000)));
    for (const frame of frames) {
      expect(frame).toMatchObject({ type: 'ops-alert', data: { level: 2 } });
      expect(frame).not.toHaveProperty('from');
    }
    expect(Math.max(...countsOf(outsiders.slice(3), 'ops-alert'))).toBe(0);
  });
});
