// End-to-end: the `Broadcast Completed` event on the local stack. Real sockets, the real worker behind the local SQS's
// event source mapping, dynalite, and the worker's PutEvents through the real EventBridge client to the local
// EventBridge stand-in (AWS_ENDPOINT_URL_EVENTBRIDGE), which records the events a rule's target would receive.
// Local only: a deployed stage's events are read with a rule, not from the stand-in.
import { COMPLETION_DETAIL_TYPE, COMPLETION_EVENT_SOURCE } from '../../lambdas/core/broadcast-completion';
import { signDevToken } from '../../local/dev-tokens';
import type { RecordedEvent } from '../../local/emulator/eventbridge/event-bus-server';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { callApi } from './support/http';
import { connect, eventually, type TestClient } from './support/sockets';

/** 100 users with 3 connections each; the first 40 users' sockets (120) join the room. */
const USERS = 100;
const CONNECTIONS_PER_USER = 3;
const SOCKETS = USERS * CONNECTIONS_PER_USER;
const ROOM_USERS = 40;
const ROOM = 'team:blue';

let stack: LocalStack;
let adminToken: string;
const sockets: Array<{ client: TestClient; userIndex: number; received: Map<string, number> }> = [];

const receivedOf = (type: string, of = sockets) => of.map(({ received }) => received.get(type) ?? 0);
const eventsOf = (broadcastId: string): RecordedEvent[] =>
  stack.eventBridge.events().filter((event) => event.detail.broadcastId === broadcastId);

/**
 * Waits until the fan-out's event is out and the slice queue is drained with nothing in flight: from then on no slice
 * run is left that could send a second event, so counting the events is final.
 */
async function settled(broadcastId: string): Promise<RecordedEvent[]> {
  const { queue } = stack.queueNames.broadcastSlices;
  await eventually(async () => {
    const counts = stack.sqs.counts(queue);
    return eventsOf(broadcastId).length > 0 && counts.visible === 0 && counts.inFlight === 0 && counts.delayed === 0;
  }, 120_000);
  return eventsOf(broadcastId);
}

async function statusOf(broadcastId: string): Promise<Record<string, unknown>> {
  const { status, body } = await callApi(stack.httpUrl, 'GET', `/websocket/broadcasts/${broadcastId}`, adminToken);
  expect(status).toBe(200);
  return body as Record<string, unknown>;
}

beforeAll(async () => {
  stack = await startLocalStack({
    wsPort: 0,
    httpPort: 0,
    quiet: process.env.E2E_LOGS === undefined,
    jwtSecret: `e2e-${Math.random().toString(36).slice(2)}-secret-of-enough-length`,
    // No Socket.IO ping sweep: its slices would be fan-outs of their own on the same queue.
    scheduleIntervalMs: 0,
  });
  adminToken = await signDevToken(stack.jwtSecret, 'admin', { scope: 'ws:admin ws:broadcast room:team:*', ttl: '1h' });
  const tokens = await Promise.all(
    Array.from({ length: USERS }, (_, user) =>
      signDevToken(stack.jwtSecret, `done-${user}`, { scope: 'room:team:*', ttl: '1h' }),
    ),
  );
  const pending = Array.from({ length: SOCKETS }, (_, index) => index % USERS);
  while (pending.length > 0) {
    const batch = pending.splice(0, 50);
    const opened = await Promise.all(
      batch.map(async (userIndex) => {
        const client = await connect(stack.wsUrl, tokens[userIndex]);
        if (userIndex < ROOM_USERS) {
          client.send({ action: 'join', room: ROOM });
          await client.next('joined', 30_000);
        }
        const received = new Map<string, number>();
        client.socket.on('message', (data) => {
          const { type } = JSON.parse(data.toString()) as { type: string };
          received.set(type, (received.get(type) ?? 0) + 1);
        });
        return { client, userIndex, received };
      }),
    );
    sockets.push(...opened);
  }
}, 180_000);

afterAll(async () => {
  await Promise.all(sockets.map(({ client }) => client.close()));
  await stack?.stop();
}, 120_000);

describe('the completion event of a fan-out on the local stack', () => {
  it('an asynchronous broadcast puts one Broadcast Completed event whose detail is its final status', async () => {
    // Act
    const { status, body } = await callApi(stack.httpUrl, 'POST', '/websocket/message/broadcast', adminToken, {
      type: 'done-everyone',
      data: { message: 'to all' },
    });
    expect(status).toBe(202);
    const { broadcastId } = body as { broadcastId: string };
    const events = await settled(broadcastId);

    // Assess
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      source: COMPLETION_EVENT_SOURCE,
      'detail-type': COMPLETION_DETAIL_TYPE,
      eventBusName: 'default',
      detail: {
        broadcastId,
        type: 'done-everyone',
        state: 'complete',
        complete: true,
        finishedAt: expect.any(String),
        connections: { delivered: SOCKETS, failed: 0, stale: 0, unknown: 0, throttled: 0, pending: 0 },
      },
    });
    expect(events[0].detail).not.toHaveProperty('room');
    expect(events[0].detail).toEqual(await statusOf(broadcastId));
    await eventually(async () => receivedOf('done-everyone').every((count) => count === 1), 30_000);
  }, 180_000);

  it('an asynchronous room fan-out puts one event naming the room, with the members reached', async () => {
    const members = sockets.filter(({ userIndex }) => userIndex < ROOM_USERS);

    const { status, body } = await callApi(stack.httpUrl, 'POST', '/websocket/message/room', adminToken, {
      room: ROOM,
      type: 'done-room',
      data: { message: 'to the room' },
      async: true,
    });
    expect(status).toBe(202);
    const { broadcastId } = body as { broadcastId: string };
    const events = await settled(broadcastId);

    expect(events).toHaveLength(1);
    expect(events[0].detail).toMatchObject({
      broadcastId,
      room: ROOM,
      type: 'done-room',
      state: 'complete',
      slices: { total: 1, done: 1, deadLettered: 0 },
      connections: { delivered: members.length, failed: 0, stale: 0, unknown: 0, pending: 0 },
    });
    expect(events[0].detail).toEqual(await statusOf(broadcastId));
    await eventually(async () => receivedOf('done-room', members).every((count) => count === 1), 30_000);
    expect(receivedOf('done-room').reduce((sum, count) => sum + count, 0)).toBe(members.length);
  }, 180_000);
});
