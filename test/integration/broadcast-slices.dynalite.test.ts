import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { BatchWriteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import {
  runSlice,
  type SliceMessage,
  type SliceQueue,
  type SliceWorkerDependencies,
  startBroadcast,
} from '../../lambdas/core/broadcast-fan-out';
import { createDocumentClient, createManagementClient } from '../../lambdas/core/clients';
import { createEnvelope } from '../../lambdas/core/envelope';
import { createFanOutState, type FanOutState, LeaseLostError, SliceBusyError } from '../../lambdas/core/fan-out-state';
import type { PostBudget } from '../../lambdas/core/post-budget';
import { type ConnectionRegistry, createConnectionRegistry } from '../../lambdas/core/registry';
import { createRoomRegistry } from '../../lambdas/core/room-registry';
import { startPingSweep } from '../../lambdas/core/socketio-pings';
import type { RoomMemberItem } from '../../lambdas/core/table-schema';
import { createConnectionTable, createFanOutTable, createRoomTable } from '../../local/local-dynamo';

// The worker core against real DynamoDB semantics (dynalite: conditional writes, segmented Scans resumed from a
// key) and a real HTTP `@connections` endpoint reached through the product's management client. The endpoint
// answers like API Gateway: 200, 410 (GoneException) for a gone connection, 429 (LimitExceededException) while
// throttled. The queue is an array: what the worker sends to SQS is what these tests read.

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const registryTable = 'connections-slices';
const fanOutTable = 'fan-out-slices';
const roomTable = 'rooms-slices';

let dynamo: Server;
let endpoint: Server;
let documents: DynamoDBDocumentClient;
let registry: ConnectionRegistry;
let managementClient: ApiGatewayManagementApiClient;
/** connectionId → posts received. */
const received = new Map<string, number>();
/** connectionId → the body of its last post. */
const bodies = new Map<string, string>();
/** connectionId → 429 answers still to give. */
const throttle = new Map<string, number>();
const gone = new Set<string>();

beforeAll(async () => {
  dynamo = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => dynamo.listen(0, '127.0.0.1', resolve));
  const dynamoEndpoint = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  await createConnectionTable(dynamoEndpoint, registryTable);
  await createFanOutTable(dynamoEndpoint, fanOutTable);
  await createRoomTable(dynamoEndpoint, roomTable);
  documents = createDocumentClient({ endpoint: dynamoEndpoint, region: 'us-east-1', credentials });
  registry = createConnectionRegistry({ client: documents, tableName: registryTable, ttlSeconds: 3 * 3600 });

  endpoint = createServer((request, response) => {
    const connectionId = decodeURIComponent(request.url!.split('/@connections/')[1] ?? '');
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.set(connectionId, Buffer.concat(chunks).toString('utf8'));
      const throttles = throttle.get(connectionId) ?? 0;
      if (throttles > 0) {
        throttle.set(connectionId, throttles - 1);
        response.writeHead(429, { 'content-type': 'application/json', 'x-amzn-errortype': 'LimitExceededException' });
        return response.end('{"message":"Limit Exceeded"}');
      }
      if (gone.has(connectionId)) {
        response.writeHead(410, { 'content-type': 'application/json', 'x-amzn-errortype': 'GoneException' });
        return response.end('{}');
      }
      received.set(connectionId, (received.get(connectionId) ?? 0) + 1);
      response.writeHead(200);
      response.end();
    });
  });
  await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  process.env.AWS_REGION = 'us-east-1';
  managementClient = createManagementClient({
    endpoint: new URL(`http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`),
    maxSockets: 50,
  });

  await Promise.all(
    Array.from({ length: 240 }, (_, index) =>
      registry.register({ userId: `user-${index % 80}`, connectionId: `conn-${index}=` }),
    ),
  );
});

afterAll(async () => {
  managementClient.destroy();
  documents.destroy();
  await new Promise((resolve) => endpoint.close(resolve));
  await new Promise((resolve) => dynamo.close(resolve));
});

beforeEach(() => {
  received.clear();
  throttle.clear();
  gone.clear();
});

class RecordingQueue implements SliceQueue {
  readonly sent: SliceMessage[] = [];
  async send(messages: readonly SliceMessage[]): Promise<void> {
    this.sent.push(...messages);
  }
}

/** Grants every post at once and counts what it is told. */
function countingBudget(): PostBudget & { taken: number; throttles: number } {
  return {
    taken: 0,
    throttles: 0,
    async take(count) {
      this.taken += count;
      return count;
    },
    throttled() {
      this.throttles++;
    },
  };
}

let clock = Date.now();
let broadcastCount = 0;

async function newBroadcast(segments: number): Promise<{ state: FanOutState; queue: RecordingQueue; id: string }> {
  const state = createFanOutState({ client: documents, tableName: fanOutTable, ttlSeconds: 3600, now: () => clock });
  const queue = new RecordingQueue();
  const id = `b-${++broadcastCount}`;
  await startBroadcast(
    { state, queue, segments, newBroadcastId: () => id },
    { envelope: createEnvelope('system', { n: broadcastCount }) },
  );
  return { state, queue, id };
}

function worker(state: FanOutState, queue: SliceQueue, extra: Partial<SliceWorkerDependencies> = {}) {
  return {
    registry,
    managementClient,
    state,
    queue,
    budget: countingBudget(),
    groupSize: 25,
    remainingTimeMs: () => 60_000,
    timeMarginMs: 1_000,
    owner: `run-${Math.random()}`,
    scanPageSize: 40,
    now: () => clock,
    sleep: async () => undefined,
    ...extra,
  } satisfies SliceWorkerDependencies;
}

const total = () => [...received.values()].reduce((sum, posts) => sum + posts, 0);

describe('a broadcast drained slice by slice', () => {
  it('reaches every connection exactly once over its segments, and a repeated message posts nothing', async () => {
    const { state, queue, id } = await newBroadcast(3);
    expect(queue.sent.map((message) => message.segment)).toEqual([0, 1, 2]);
    expect((await state.readStatus(id))?.state).toBe('queued');

    for (const message of queue.sent) {
      expect((await runSlice(worker(state, queue), message)).status).toBe('done');
    }
    const again = await runSlice(worker(state, queue), queue.sent[1]);

    expect(again.status).toBe('duplicate');
    expect(received.size).toBe(240);
    expect(Math.max(...received.values())).toBe(1);
    const status = await state.readStatus(id);
    expect(status).toMatchObject({
      state: 'complete',
      complete: true,
      finishedAt: expect.any(String),
      slices: { total: 3, done: 3, queued: 0, running: 0, deadLettered: 0 },
      connections: { delivered: 240, failed: 0, stale: 0, unknown: 0, pending: 0, throttled: 0 },
    });
  });

  it('after a crash between a post and its checkpoint, resumes past the claimed group: no connection twice', async () => {
    const { state, queue, id } = await newBroadcast(1);
    const [message] = queue.sent;
    const crash = new Error('crash');
    const first = worker(state, queue, {
      afterPost: (_message, posts) => {
        if (posts === 60) throw crash;
      },
    });

    await expect(runSlice(first, message)).rejects.toBe(crash);
    // Another copy while the crashed run's lease still holds: left for redelivery.
    await expect(runSlice(worker(state, queue), message)).rejects.toBeInstanceOf(SliceBusyError);
    clock += 61_000; // the redelivery comes after the visibility timeout, when the lease has expired
    const second = await runSlice(worker(state, queue), message);

    expect(second.status).toBe('done');
    expect(Math.max(...received.values())).toBe(1);
    const status = await state.readStatus(id);
    // Groups of 25: the third group (posts 51-75) was claimed and never recorded; its outcome is unknown.
    expect(status?.connections.unknown).toBe(25);
    expect(status?.connections.delivered).toBe(240 - 25);
    // Its connections got the message at most once: those posted before the crash, maybe a few in flight.
    expect(total()).toBeGreaterThanOrEqual(240 - 25 + 10);
    expect(status?.state).toBe('complete');
  });

  it('backs off and posts again what API Gateway throttled (429), and counts it; 410 removes the connection', async () => {
    throttle.set('conn-7=', 3); // the SDK retries 429 twice more itself: three 429s make one throttled post
    throttle.set('conn-8=', 6);
    gone.add('conn-9=');
    const { state, queue, id } = await newBroadcast(1);
    const budget = countingBudget();

    const result = await runSlice(worker(state, queue, { budget }), queue.sent[0]);

    expect(result.status).toBe('done');
    expect(received.get('conn-7=')).toBe(1);
    expect(received.get('conn-8=')).toBe(1);
    expect(received.has('conn-9=')).toBe(false);
    expect(budget.throttles).toBe(3);
    expect(await state.readStatus(id)).toMatchObject({
      connections: { delivered: 239, stale: 1, throttled: 3, unknown: 0, pending: 0 },
    });
    expect((await registry.connectionsOf('user-9')).map((item) => item.connectionId)).not.toContain('conn-9=');
    await registry.register({ userId: 'user-9', connectionId: 'conn-9=' });
  });

  it("forgets the rooms of a connection a 410 removes, through the send paths' one cleanup", async () => {
    // A connection in two rooms (the registry item's `rooms`, as a join leaves it) that API Gateway no longer knows.
    await documents.send(
      new PutCommand({
        TableName: registryTable,
        Item: {
          userId: 'user-rooms',
          connectionId: 'rooms-1=',
          connectedAt: new Date().toISOString(),
          expiresAt: Math.floor(Date.now() / 1000) + 3600,
          rooms: new Set(['chat:1', 'chat:2']),
        },
      }),
    );
    gone.add('rooms-1=');
    const forgotten: Array<{ connectionId: string; rooms: readonly string[] }> = [];
    const rooms = {
      // A Scan slice never reads a room's members.
      membersOf: () => {
        throw new Error('a broadcast slice reads no room');
      },
      forget: async (target: { connectionId: string }, names: readonly string[]) => {
        forgotten.push({ connectionId: target.connectionId, rooms: [...names].sort() });
      },
    };
    const { state, queue } = await newBroadcast(1);

    const result = await runSlice(worker(state, queue, { rooms }), queue.sent[0]);

    expect(result.counts.stale).toBe(1);
    expect(forgotten).toEqual([{ connectionId: 'rooms-1=', rooms: ['chat:1', 'chat:2'] }]);
    expect(await registry.connectionsOf('user-rooms')).toEqual([]);
  });

  it('posts each connection the encoding of its protocol, a throttled Socket.IO connection too when posted again', async () => {
    await registry.register({ userId: 'user-sio', connectionId: 'sio-1=', protocol: 'socket.io' });
    throttle.set('sio-1=', 3); // one throttled post: it goes on the retry list and is posted again
    const { state, queue, id } = await newBroadcast(1);

    const result = await runSlice(worker(state, queue), queue.sent[0]);

    expect(result.status).toBe('done');
    expect(received.get('sio-1=')).toBe(1);
    const { envelope } = queue.sent[0];
    const { data, id: messageId, timestamp } = JSON.parse(envelope);
    expect(bodies.get('sio-1=')).toBe(`42${JSON.stringify(['system', data, { id: messageId, timestamp }])}`);
    expect(bodies.get('conn-0=')).toBe(envelope);
    expect(await state.readStatus(id)).toMatchObject({ connections: { delivered: 241, throttled: 1 } });
    await registry.remove('user-sio', 'sio-1=');
  });

  it("posts a ping sweep's Engine.IO ping to the Socket.IO connections only, as is", async () => {
    await registry.register({ userId: 'user-sio', connectionId: 'sio-2=', protocol: 'socket.io' });
    await registry.register({ userId: 'user-3', connectionId: 'sio-3=', protocol: 'socket.io' });
    const state = createFanOutState({ client: documents, tableName: fanOutTable, ttlSeconds: 3600, now: () => clock });
    const queue = new RecordingQueue();
    const { broadcastId } = await startPingSweep({ state, queue, segments: 2 });

    for (const message of queue.sent) await runSlice(worker(state, queue), message);

    expect([...received.keys()].sort()).toEqual(['sio-2=', 'sio-3=']);
    expect([bodies.get('sio-2='), bodies.get('sio-3=')]).toEqual(['2', '2']);
    expect(await state.readStatus(broadcastId)).toMatchObject({ state: 'complete', connections: { delivered: 2 } });
    await registry.remove('user-sio', 'sio-2=');
    await registry.remove('user-3', 'sio-3=');
  });

  it('keeps the protocol of a throttled connection in the retry list a later run resumes from', async () => {
    const { state, id } = await newBroadcast(1);
    const key = { broadcastId: id, segment: 0 };
    const retry = [
      { userId: 'user-sio', connectionId: 'sio-1=', protocol: 'socket.io' as const },
      { userId: 'user-1', connectionId: 'conn-1=' },
    ];
    await state.acquireSlice(key, 'first', clock + 60_000);
    await state.claimGroup(key, 'first', { inFlight: 0, retry });
    await state.releaseSlice(key, 'first');

    const resumed = await state.acquireSlice(key, 'second', clock + 60_000);

    expect(resumed?.retry).toEqual(retry);
  });

  it('stops a run that outlived its lease at its next write, even before another run takes over', async () => {
    const { state, id } = await newBroadcast(1);
    const key = { broadcastId: id, segment: 0 };
    await state.acquireSlice(key, 'zombie', clock + 1_000);

    clock += 2_000; // the invocation's deadline has passed, but nobody has taken the slice yet

    await expect(state.claimGroup(key, 'zombie', { inFlight: 25, retry: [] })).rejects.toBeInstanceOf(LeaseLostError);
  });

  it('hands the rest of a segment on in a continuation when time runs short', async () => {
    const { state, queue, id } = await newBroadcast(1);
    let remaining = 60_000;
    const short = worker(state, queue, {
      remainingTimeMs: () => remaining,
      afterPost: (_message, posts) => {
        if (posts === 100) remaining = 500; // under the 1 s margin: no new group is claimed
      },
    });

    const first = await runSlice(short, queue.sent[0]);
    const continuation = queue.sent.at(-1)!;
    const second = await runSlice(worker(state, queue), continuation);

    expect(first).toMatchObject({ status: 'continued', counts: { delivered: 100 } });
    expect(continuation).toMatchObject({ segment: 0, continuation: 1 });
    expect(second.status).toBe('done');
    expect(received.size).toBe(240);
    expect(Math.max(...received.values())).toBe(1);
    expect((await state.readStatus(id))?.connections.delivered).toBe(240);
  });

  it('says failed once a slice is dead-lettered, complete after its redrive, and an unknown id has no status', async () => {
    const { state, queue, id } = await newBroadcast(2);
    await runSlice(worker(state, queue), queue.sent[0]);

    await state.markDeadLettered({ broadcastId: id, segment: 1 }, new Date(clock).toISOString());

    expect(await state.readStatus(id)).toMatchObject({
      state: 'failed',
      complete: false,
      finishedAt: expect.any(String),
      slices: { total: 2, done: 1, deadLettered: 1 },
    });
    // An operator redrives the DLQ once the cause is fixed: the slice resumes from its checkpoint and completes.
    expect((await runSlice(worker(state, queue), queue.sent[1])).status).toBe('done');
    expect((await state.readStatus(id))?.state).toBe('complete');
    expect(await state.readStatus('no-such-broadcast')).toBeUndefined();
  });
});

/**
 * Writes member items as the room index stores them (`roomTableSchema`, `RoomMemberItem`): the test's own writer, so
 * the worker's room walk is checked against the schema rather than against the code that joins rooms.
 */
async function putMembers(
  room: string,
  members: Array<Omit<RoomMemberItem, 'room' | 'joinedAt' | 'expiresAt'> & { expiresAt?: number }>,
) {
  const expiresAt = Math.floor(Date.now() / 1000) + 3600;
  for (let start = 0; start < members.length; start += 25) {
    await documents.send(
      new BatchWriteCommand({
        RequestItems: {
          [roomTable]: members.slice(start, start + 25).map((member) => ({
            PutRequest: { Item: { room, joinedAt: new Date().toISOString(), expiresAt, ...member } },
          })),
        },
      }),
    );
  }
}

describe('a room fan-out drained by the same worker code, walking the room instead of a Scan segment', () => {
  /** Every other registered connection (120 of 240) is a member of the room. */
  const memberIds = Array.from({ length: 120 }, (_, index) => `conn-${index * 2}=`);
  let roomCount = 0;

  async function newRoomFanOut(): Promise<{ state: FanOutState; queue: RecordingQueue; id: string; room: string }> {
    const room = `room-${++roomCount}`;
    await putMembers(
      room,
      memberIds.map((connectionId) => ({ userId: `user-${Number(connectionId.slice(5, -1)) % 80}`, connectionId })),
    );
    const state = createFanOutState({ client: documents, tableName: fanOutTable, ttlSeconds: 3600, now: () => clock });
    const queue = new RecordingQueue();
    const id = `r-${roomCount}`;
    await startBroadcast(
      { state, queue, segments: 4, newBroadcastId: () => id },
      { envelope: createEnvelope('room-news', { n: roomCount }), room },
    );
    return { state, queue, id, room };
  }

  const rooms = () =>
    createRoomRegistry({
      client: documents,
      tableName: roomTable,
      connectionTableName: registryTable,
      maxRoomsPerConnection: 100,
    });
  const roomWorker = (state: FanOutState, queue: SliceQueue, extra: Partial<SliceWorkerDependencies> = {}) =>
    worker(state, queue, { rooms: rooms(), ...extra });

  it('reaches every member exactly once and no other connection; the status names the room', async () => {
    const { state, queue, id, room } = await newRoomFanOut();
    expect(queue.sent).toEqual([expect.objectContaining({ room, segment: 0, totalSegments: 1 })]);

    const result = await runSlice(roomWorker(state, queue), queue.sent[0]);
    const again = await runSlice(roomWorker(state, queue), queue.sent[0]);

    expect(result.status).toBe('done');
    expect(again.status).toBe('duplicate');
    expect([...received.keys()].sort()).toEqual([...memberIds].sort());
    expect(Math.max(...received.values())).toBe(1);
    expect(await state.readStatus(id)).toMatchObject({
      room,
      state: 'complete',
      slices: { total: 1, done: 1 },
      connections: { delivered: 120, unknown: 0, pending: 0 },
    });
  });

  it('after a crash between a post and its checkpoint, resumes past the claimed group: no member twice', async () => {
    const { state, queue, id } = await newRoomFanOut();
    const [message] = queue.sent;
    const crash = new Error('crash');
    const first = roomWorker(state, queue, {
      afterPost: (_message, posts) => {
        if (posts === 40) throw crash;
      },
    });

    await expect(runSlice(first, message)).rejects.toBe(crash);
    await expect(runSlice(roomWorker(state, queue), message)).rejects.toBeInstanceOf(SliceBusyError);
    clock += 61_000; // redelivered after the visibility timeout: the crashed run's lease has expired
    const second = await runSlice(roomWorker(state, queue), message);

    expect(second.status).toBe('done');
    expect(Math.max(...received.values())).toBe(1);
    const status = await state.readStatus(id);
    // Groups of 25: the second group (posts 26-50) was claimed and never recorded; its outcome is unknown.
    expect(status?.connections.unknown).toBe(25);
    expect(status?.connections.delivered).toBe(120 - 25);
    expect(total()).toBeGreaterThanOrEqual(120 - 25 + 15);
    expect([...received.keys()].every((connectionId) => memberIds.includes(connectionId))).toBe(true);
  });

  it('hands the rest of the room on in a continuation when time runs short', async () => {
    const { state, queue, id } = await newRoomFanOut();
    let remaining = 60_000;
    const short = roomWorker(state, queue, {
      remainingTimeMs: () => remaining,
      afterPost: (_message, posts) => {
        if (posts === 50) remaining = 500;
      },
    });

    const first = await runSlice(short, queue.sent[0]);
    const continuation = queue.sent.at(-1)!;
    const second = await runSlice(roomWorker(state, queue), continuation);

    expect(first).toMatchObject({ status: 'continued', counts: { delivered: 50 } });
    expect(continuation).toMatchObject({ room: queue.sent[0].room, continuation: 1 });
    expect(second.status).toBe('done');
    expect(received.size).toBe(120);
    expect(Math.max(...received.values())).toBe(1);
    expect((await state.readStatus(id))?.connections.delivered).toBe(120);
  });

  it('posts a throttled member again, removes a gone one from the registry, skips an expired membership', async () => {
    throttle.set('conn-4=', 3);
    gone.add('conn-6=');
    const { state, queue, id, room } = await newRoomFanOut();
    await putMembers(room, [
      { userId: 'user-1', connectionId: 'conn-1=', expiresAt: Math.floor(Date.now() / 1000) - 60 },
    ]);

    const result = await runSlice(roomWorker(state, queue), queue.sent[0]);

    expect(result.status).toBe('done');
    expect(received.get('conn-4=')).toBe(1);
    expect(received.has('conn-6=')).toBe(false);
    expect(received.has('conn-1=')).toBe(false);
    expect(await state.readStatus(id)).toMatchObject({ connections: { delivered: 119, stale: 1, throttled: 1 } });
    expect((await registry.connectionsOf('user-6')).map((item) => item.connectionId)).not.toContain('conn-6=');
    await registry.register({ userId: 'user-6', connectionId: 'conn-6=' });
  });

  it('refuses a room slice before taking its lease when the worker has no room index', async () => {
    const { state, queue, id } = await newRoomFanOut();

    await expect(runSlice(worker(state, queue), queue.sent[0])).rejects.toThrow(/room index/);
    expect((await state.readStatus(id))?.state).toBe('queued');
  });
});
