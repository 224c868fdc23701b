import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { type CompletionEvents, settleBroadcast } from '../../lambdas/core/broadcast-completion';
import {
  runSlice,
  type SliceMessage,
  type SliceQueue,
  type SliceWorkerDependencies,
  startBroadcast,
} from '../../lambdas/core/broadcast-fan-out';
import { createDocumentClient, createManagementClient } from '../../lambdas/core/clients';
import { createEnvelope } from '../../lambdas/core/envelope';
import { type BroadcastStatus, createFanOutState, type FanOutState } from '../../lambdas/core/fan-out-state';
import { type ConnectionRegistry, createConnectionRegistry } from '../../lambdas/core/registry';
import { createRoomRegistry } from '../../lambdas/core/room-registry';
import { createConnectionTable, createFanOutTable, createRoomTable } from '../../local/local-dynamo';

// Exactly one completion event per fan-out, against real DynamoDB semantics (dynalite: conditional writes on the
// status item, strongly consistent Queries) and a real HTTP `@connections` endpoint: slices that end at the same
// time, a slice that ends twice, a run that died before settling, a bus that refused the event, a dead-lettered
// slice. The events go to a recorder (the PutEvents side is tested against the local EventBridge elsewhere).

const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const registryTable = 'connections-completion';
const fanOutTable = 'fan-out-completion';
const roomTable = 'rooms-completion';
const CONNECTIONS = 90;

let dynamo: Server;
let endpoint: Server;
let documents: DynamoDBDocumentClient;
let registry: ConnectionRegistry;
let managementClient: ApiGatewayManagementApiClient;

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
    request.resume();
    request.on('end', () => {
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
    Array.from({ length: CONNECTIONS }, (_, index) =>
      registry.register({ userId: `user-${index % 30}`, connectionId: `conn-${index}=` }),
    ),
  );
});

afterAll(async () => {
  managementClient.destroy();
  documents.destroy();
  await new Promise((resolve) => endpoint.close(resolve));
  await new Promise((resolve) => dynamo.close(resolve));
});

class RecordingQueue implements SliceQueue {
  readonly sent: SliceMessage[] = [];
  async send(messages: readonly SliceMessage[]): Promise<void> {
    this.sent.push(...messages);
  }
}

/** What a bus accepted; `refuse` makes the next publishes throw, as a PutEvents with a failed entry does. */
class RecordingEvents implements CompletionEvents {
  readonly published: BroadcastStatus[] = [];
  refuse = 0;
  /** Holds the first publish until released: lets a test stop it midway, as a slow PutEvents would. */
  gate?: Promise<void>;
  async publish(status: BroadcastStatus): Promise<void> {
    const gate = this.gate;
    this.gate = undefined;
    await gate;
    if (this.refuse > 0) {
      this.refuse--;
      throw new Error('ThrottlingException');
    }
    this.published.push(status);
  }
}

let clock = Date.now();
let count = 0;

async function newBroadcast(
  segments: number,
  room?: string,
): Promise<{ state: FanOutState; queue: RecordingQueue; id: string }> {
  const state = createFanOutState({ client: documents, tableName: fanOutTable, ttlSeconds: 3600, now: () => clock });
  const queue = new RecordingQueue();
  const id = `c-${++count}`;
  await startBroadcast(
    { state, queue, segments, newBroadcastId: () => id },
    { envelope: createEnvelope('system', { n: count }), room },
  );
  return { state, queue, id };
}

function worker(
  state: FanOutState,
  queue: SliceQueue,
  extra: Partial<SliceWorkerDependencies> = {},
): SliceWorkerDependencies {
  return {
    registry,
    managementClient,
    state,
    queue,
    budget: { take: async (wanted) => wanted, throttled: () => undefined },
    groupSize: 20,
    remainingTimeMs: () => 60_000,
    timeMarginMs: 1_000,
    owner: `run-${Math.random()}`,
    scanPageSize: 25,
    now: () => clock,
    sleep: async () => undefined,
    ...extra,
  };
}

describe('the completion event of an asynchronous broadcast', () => {
  it('is sent once, by the run that ends the last slice, when all slices run at the same time', async () => {
    // Prepare
    const { state, queue, id } = await newBroadcast(4);
    const events = new RecordingEvents();

    // Act
    const results = await Promise.all(
      queue.sent.map((message) => runSlice(worker(state, queue, { completionEvents: events }), message)),
    );

    // Assess
    expect(results.map((result) => result.status)).toEqual(['done', 'done', 'done', 'done']);
    expect(results.filter((result) => result.completion === 'sent')).toHaveLength(1);
    expect(events.published).toHaveLength(1);
    expect(events.published[0]).toEqual(await state.readStatus(id));
    expect(events.published[0]).toMatchObject({
      broadcastId: id,
      type: 'system',
      state: 'complete',
      finishedAt: expect.any(String),
      connections: { delivered: CONNECTIONS, failed: 0, stale: 0, unknown: 0, throttled: 0, pending: 0 },
    });
  });

  it('is sent once when the last two slices settle at the same instant (both see the broadcast finished)', async () => {
    // Prepare: every slice done without events, then two settles race for the one event.
    const { state, queue, id } = await newBroadcast(2);
    for (const message of queue.sent) await runSlice(worker(state, queue), message);
    const events = new RecordingEvents();
    let open = (): void => undefined;
    events.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const settle = (owner: string) =>
      settleBroadcast({ state, events, owner, leaseUntil: clock + 60_000, now: () => clock }, id);

    // Act: the first holds its PutEvents open while the second settles.
    const first = settle('run-a');
    const second = await settle('run-b');
    open();

    // Assess
    expect(second).toBe('settled-elsewhere');
    expect(await first).toBe('sent');
    expect(events.published).toHaveLength(1);
  });

  it('is not sent again by a slice that ends twice (a redelivered or duplicate message)', async () => {
    const { state, queue } = await newBroadcast(2);
    const events = new RecordingEvents();
    for (const message of queue.sent) await runSlice(worker(state, queue, { completionEvents: events }), message);

    const again = await Promise.all(
      queue.sent.map((message) => runSlice(worker(state, queue, { completionEvents: events }), message)),
    );

    expect(again.map((result) => [result.status, result.completion])).toEqual([
      ['duplicate', 'settled-elsewhere'],
      ['duplicate', 'settled-elsewhere'],
    ]);
    expect(events.published).toHaveLength(1);
  });

  it('is sent by the redelivery when the run that ended the last slice died before settling', async () => {
    // Prepare: the slices end in runs that never settle (as a run killed right after `finishSlice` would).
    const { state, queue, id } = await newBroadcast(2);
    for (const message of queue.sent) await runSlice(worker(state, queue), message);
    const events = new RecordingEvents();

    // Act: SQS delivers the unacknowledged message again.
    const redelivery = await runSlice(worker(state, queue, { completionEvents: events }), queue.sent[1]);

    // Assess
    expect(redelivery).toMatchObject({ status: 'duplicate', completion: 'sent' });
    expect(events.published.map((status) => status.broadcastId)).toEqual([id]);
  });

  it('is sent by the redelivery after the bus refused it, once: the refusing run gives its lease back', async () => {
    const { state, queue } = await newBroadcast(1);
    const events = new RecordingEvents();
    events.refuse = 1;

    await expect(runSlice(worker(state, queue, { completionEvents: events }), queue.sent[0])).rejects.toThrow(
      'ThrottlingException',
    );
    const redelivery = await runSlice(worker(state, queue, { completionEvents: events }), queue.sent[0]);
    const another = await runSlice(worker(state, queue, { completionEvents: events }), queue.sent[0]);

    expect(redelivery.completion).toBe('sent');
    expect(another.completion).toBe('settled-elsewhere');
    expect(events.published).toHaveLength(1);
  });

  it('waits out the lease of a run that died while sending, then sends once', async () => {
    const { state, queue, id } = await newBroadcast(1);
    await runSlice(worker(state, queue), queue.sent[0]);
    // A run took the right to send and died before PutEvents returned.
    expect(await state.claimCompletion(id, 'dead-run', clock + 30_000)).toBe(true);
    const events = new RecordingEvents();
    const settle = () =>
      settleBroadcast(
        { state, events, owner: `run-${Math.random()}`, leaseUntil: clock + 60_000, now: () => clock },
        id,
      );

    expect(await settle()).toBe('settled-elsewhere');
    clock += 31_000; // the message comes back after the visibility timeout: the dead run's lease has expired
    expect(await settle()).toBe('sent');
    expect(await settle()).toBe('settled-elsewhere');
    expect(events.published).toHaveLength(1);
  });

  it('is not sent while a slice is still unfinished', async () => {
    const { state, queue, id } = await newBroadcast(2);
    const events = new RecordingEvents();

    const first = await runSlice(worker(state, queue, { completionEvents: events }), queue.sent[0]);

    expect(first.completion).toBe('unfinished');
    expect(events.published).toHaveLength(0);
    expect((await state.readStatus(id))?.state).toBe('running');
  });

  it('says failed when the last slice is dead-lettered, and a redrive that completes it sends no second event', async () => {
    const { state, queue, id } = await newBroadcast(2);
    const events = new RecordingEvents();
    await runSlice(worker(state, queue, { completionEvents: events }), queue.sent[0]);

    // The worker's last-receive path: mark the slice dead-lettered, then settle.
    await state.markDeadLettered({ broadcastId: id, segment: 1 }, new Date(clock).toISOString());
    const settled = await settleBroadcast(
      { state, events, owner: 'last-receive', leaseUntil: clock + 60_000, now: () => clock },
      id,
    );
    const redriven = await runSlice(worker(state, queue, { completionEvents: events }), queue.sent[1]);

    expect(settled).toBe('sent');
    expect(events.published).toHaveLength(1);
    expect(events.published[0]).toMatchObject({ state: 'failed', slices: { total: 2, done: 1, deadLettered: 1 } });
    expect(redriven).toMatchObject({ status: 'done', completion: 'settled-elsewhere' });
    expect((await state.readStatus(id))?.state).toBe('complete');
  });

  it('names the room of a room fan-out', async () => {
    const room = 'room-completion';
    await documents.send(
      new BatchWriteCommand({
        RequestItems: {
          [roomTable]: Array.from({ length: 10 }, (_, index) => ({
            PutRequest: {
              Item: {
                room,
                userId: `user-${index % 30}`,
                connectionId: `conn-${index}=`,
                joinedAt: new Date().toISOString(),
                expiresAt: Math.floor(Date.now() / 1000) + 3600,
              },
            },
          })),
        },
      }),
    );
    const { state, queue, id } = await newBroadcast(4, room);
    const events = new RecordingEvents();
    const rooms = createRoomRegistry({
      client: documents,
      tableName: roomTable,
      connectionTableName: registryTable,
      maxRoomsPerConnection: 100,
    });

    const result = await runSlice(worker(state, queue, { rooms, completionEvents: events }), queue.sent[0]);

    expect(result.completion).toBe('sent');
    expect(events.published).toEqual([
      expect.objectContaining({
        broadcastId: id,
        room,
        state: 'complete',
        connections: expect.objectContaining({ delivered: 10 }),
      }),
    ]);
  });
});
