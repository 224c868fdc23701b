// End-to-end: the asynchronous broadcast on the local stack with thousands of real sockets, the real worker behind
// the local SQS's event source mapping, dynalite, and faults injected through configuration (FAN_OUT_FAULTS): a
// worker crashing mid-slice, and a slice that fails on every receive. Local only: a deployed stage has no fault hook.
import { signDevToken } from '../../local/dev-tokens';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { callApi } from './support/http';
import { connect, eventually, type TestClient } from './support/sockets';

/** Sockets connected for every test: 600 users with 4 connections each (two descriptors per in-process client). */
const USERS = 600;
const CONNECTIONS_PER_USER = 4;
const SOCKETS = USERS * CONNECTIONS_PER_USER;
/**
 * The worker's timeout here: 2 s, so the slice queue's visibility timeout (six times it, as on AWS) brings a crashed
 * slice back in 12 s rather than 30 min. Slices longer than that continue in new messages, as they do on AWS.
 */
const WORKER_TIMEOUT_MS = 2_000;
const CRASH_AFTER_POSTS = 30;

let stack: LocalStack;
let adminToken: string;
const sockets: Array<{ client: TestClient; received: Map<string, number> }> = [];

/** The completion events the worker put on the local EventBridge for one broadcast. */
function completionEventsOf(broadcastId: string) {
  return stack.eventBridge.events().filter((event) => event.detail.broadcastId === broadcastId);
}

/** Every frame of `type` each socket received, by envelope id. */
function receivedOf(type: string): number[] {
  return sockets.map(({ received }) => received.get(type) ?? 0);
}

async function broadcast(type: string): Promise<{ broadcastId: string; statusUrl: string }> {
  const { status, body } = await callApi(stack.httpUrl, 'POST', '/websocket/message/broadcast', adminToken, {
    type,
    data: { message: `fan-out ${type}` },
  });
  expect(status).toBe(202);
  return body as { broadcastId: string; statusUrl: string };
}

interface Status {
  state: string;
  complete: boolean;
  finishedAt?: string;
  slices: Record<string, number>;
  connections: Record<string, number>;
}

async function statusOf(statusUrl: string): Promise<Status> {
  const { status, body } = await callApi(stack.httpUrl, 'GET', statusUrl, adminToken);
  expect(status).toBe(200);
  return body as Status;
}

/** Polls the status route until the broadcast has finished (complete or failed). */
async function finished(statusUrl: string, timeoutMs: number): Promise<Status> {
  let last: Status | undefined;
  await eventually(async () => {
    last = await statusOf(statusUrl);
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
    // No Socket.IO ping sweep: its slices would share the queue whose counts these tests read.
    scheduleIntervalMs: 0,
    environment: {
      // Short invocations need a short margin, or every run would continue at once; half of one leaves a group room
      // to finish on a loaded machine (a group outliving its invocation would count unknown, as on AWS).
      BROADCAST_TIME_MARGIN_MS: '1000',
      FAN_OUT_FAULTS: JSON.stringify([
        { messageType: 'crash-once', afterPosts: CRASH_AFTER_POSTS, times: 1 },
        { messageType: 'poison', afterPosts: 1 },
      ]),
    },
  });
  adminToken = await signDevToken(stack.jwtSecret, 'admin', { scope: 'ws:admin ws:broadcast', ttl: '1h' });
  const tokens = await Promise.all(
    Array.from({ length: USERS }, (_, user) => signDevToken(stack.jwtSecret, `fan-${user}`, { ttl: '1h' })),
  );
  // 50 handshakes at a time: each runs the authorizer and $connect (a dynalite PutItem).
  const pending = Array.from({ length: SOCKETS }, (_, index) => tokens[index % USERS]);
  while (pending.length > 0) {
    const batch = pending.splice(0, 50);
    const clients = await Promise.all(batch.map((token) => connect(stack.wsUrl, token)));
    for (const client of clients) {
      const received = new Map<string, number>();
      client.socket.on('message', (data) => {
        const { type } = JSON.parse(data.toString()) as { type: string };
        received.set(type, (received.get(type) ?? 0) + 1);
      });
      sockets.push({ client, received });
    }
  }
}, 300_000);

afterAll(async () => {
  await Promise.all(sockets.map(({ client }) => client.close()));
  // Every $disconnect has removed its item before dynalite stops (2,400 of them queue up behind each other).
  await eventually(async () => {
    // A loaded machine may refuse a request while 2,400 sockets close: ask again.
    const answer = await callApi(stack.httpUrl, 'GET', '/websocket/users/connected?limit=1', adminToken).catch(
      () => undefined,
    );
    return (answer?.body as { users?: string[] } | undefined)?.users?.length === 0;
  }, 60_000);
  await stack?.stop();
}, 120_000);

describe('an asynchronous broadcast to thousands of sockets', () => {
  it('answers 202 at once, reaches every socket exactly once, and the status route reports it complete', async () => {
    const accepted = await broadcast('everyone');

    const status = await finished(accepted.statusUrl, 120_000);
    await eventually(async () => receivedOf('everyone').every((count) => count >= 1), 30_000);

    expect(status).toMatchObject({
      state: 'complete',
      complete: true,
      slices: { done: status.slices.total, deadLettered: 0 },
      connections: { failed: 0, stale: 0, pending: 0 },
    });
    // Every socket has it exactly once. On a loaded machine a slice run can outlive its 2 s invocation with a group
    // posted but not recorded: those posts count unknown (at most once), never posted again, so the two add up.
    expect(status.connections.delivered + status.connections.unknown).toBe(SOCKETS);
    expect(Math.max(...receivedOf('everyone'))).toBe(1);
  }, 180_000);

  it('redelivers a slice whose worker crashed mid-slice and posts no connection twice', async () => {
    const accepted = await broadcast('crash-once');

    const status = await finished(accepted.statusUrl, 150_000);
    const counts = receivedOf('crash-once');

    // The crashed run claimed one group and recorded nothing of it: those connections' outcome is unknown (each got
    // it at most once); every other connection was reached exactly once, the rest of the slice after redelivery.
    expect(status.state).toBe('complete');
    expect(status.connections.unknown).toBeGreaterThanOrEqual(CRASH_AFTER_POSTS);
    expect(status.connections.delivered + status.connections.unknown).toBe(SOCKETS);
    expect(Math.max(...counts)).toBe(1);
    expect(counts.filter((count) => count === 1).length).toBeGreaterThanOrEqual(status.connections.delivered);
    // The crash and the redelivery sent one completion event between them, with the final counts.
    await eventually(async () => completionEventsOf(accepted.broadcastId).length > 0, 30_000);
    expect(completionEventsOf(accepted.broadcastId).map((event) => event.detail)).toEqual([
      expect.objectContaining({ state: 'complete', connections: status.connections }),
    ]);
  }, 180_000);

  it('moves a slice that fails on every receive to the DLQ, and the status says failed', async () => {
    const accepted = await broadcast('poison');

    const status = await finished(accepted.statusUrl, 240_000);
    // The worker marks the slice on its last receive; SQS moves the message when a receive would exceed
    // maxReceiveCount, i.e. once its visibility timeout has passed once more ("Using dead-letter queues in Amazon SQS").
    const deadLetterQueue = stack.queueNames.broadcastSlices.deadLetterQueue;
    await eventually(async () => stack.sqs.counts(deadLetterQueue).visible === status.slices.total, 120_000);

    expect(status).toMatchObject({ state: 'failed', complete: false });
    expect(status.slices.deadLettered).toBe(status.slices.total);
    expect(stack.sqs.counts(stack.queueNames.broadcastSlices.queue)).toMatchObject({ visible: 0, inFlight: 0 });
    expect(Math.max(...receivedOf('poison'))).toBeLessThanOrEqual(1);
    // The last slice dead-lettered settled the broadcast: one completion event, saying failed.
    expect(completionEventsOf(accepted.broadcastId).map((event) => event.detail)).toEqual([
      expect.objectContaining({
        state: 'failed',
        slices: expect.objectContaining({ deadLettered: status.slices.total }),
      }),
    ]);
  }, 300_000);

  it('answers 404 in the error shape for an unknown broadcast, and 403 to a caller without ws:broadcast', async () => {
    const plain = await signDevToken(stack.jwtSecret, 'fan-0', { ttl: '1h' });

    const unknown = await callApi(stack.httpUrl, 'GET', '/websocket/broadcasts/no-such-id', adminToken);
    const forbidden = await callApi(stack.httpUrl, 'GET', '/websocket/broadcasts/no-such-id', plain);

    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'not_found', message: expect.any(String) } } });
    expect(forbidden).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
  });
});
