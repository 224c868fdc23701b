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
  type MessageLogConfig,
  readMessageLogConfig,
  streamsToReplay,
} from '../../lambdas/core/message-log';
import { createMessageLogTable } from '../../local/local-dynamo';

// The message log against a real DynamoDB-compatible server (dynalite, in process): real key conditions, filters,
// BatchWriteItem and pagination. Each test writes with its own clock, so ids and retention are dated as it needs.

const tableName = 'message-log-it';
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const start = Date.parse('2026-11-26T10:00:00.000Z');
const HOUR_MS = 3_600_000;

let server: Server;
let client: DynamoDBDocumentClient;

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await createMessageLogTable(endpoint, tableName);
  client = createDocumentClient({ endpoint, region: 'us-east-1', credentials });
});
afterAll(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A log whose clock the test moves; ids come from the same clock. */
function logAt(clock: { now: number }, overrides: Partial<MessageLogConfig> = {}): MessageLog {
  const config = { ...readMessageLogConfig({ MESSAGE_LOG_TABLE_NAME: tableName })!, ...overrides };
  return createMessageLog({
    client,
    config,
    now: () => clock.now,
    ids: createLogIdGenerator(() => clock.now),
  });
}

async function send(log: MessageLog, clock: { now: number }, streams: string[], n: number, type = 'chat') {
  const envelope = createEnvelope(type, { n }, { now: new Date(clock.now) });
  await log.record(envelope, streams);
  clock.now += 1;
  return envelope;
}

async function replayAll(log: MessageLog, userId: string, after?: string): Promise<Envelope[]> {
  const messages: Envelope[] = [];
  let pageAfter: string | undefined;
  do {
    const page = await log.readReplay({ streams: streamsToReplay(userId), after, pageAfter });
    messages.push(...page.messages);
    pageAfter = page.next;
  } while (pageAfter !== undefined);
  return messages;
}

describe('message log (dynalite)', () => {
  it('records a message once per recipient and a broadcast once, and merges both streams in id order', async () => {
    // Prepare
    const clock = { now: start };
    const log = logAt(clock);
    // The reach-back brings the cursor's own message again: the client drops it by id.
    const cursor = (await send(log, clock, [LogStream.user('alice')], 0)).logId!;
    await send(log, clock, [LogStream.user('alice'), LogStream.user('bob')], 1);
    await send(log, clock, [LogStream.broadcast], 2);
    await send(log, clock, [LogStream.user('alice')], 3);
    // Act
    const alice = await replayAll(log, 'alice', cursor);
    const bob = await replayAll(log, 'bob', cursor);
    // Assess
    expect(alice.map((m) => (m.data as { n: number }).n)).toEqual([0, 1, 2, 3]);
    expect(bob.map((m) => (m.data as { n: number }).n)).toEqual([1, 2]);
    expect(alice[1].logId).toBe(bob[0].logId);
  });

  it('pages a long absence: at most 100 messages a page, every message once, in order', async () => {
    const clock = { now: start + HOUR_MS };
    const log = logAt(clock);
    const cursor = (await send(log, clock, [LogStream.user('carol')], -1)).logId!;
    for (let n = 0; n < 250; n++) await send(log, clock, [LogStream.user('carol')], n);

    const first = await log.readReplay({ streams: [LogStream.user('carol')], after: cursor, exact: true });
    const all = await replayAll(log, 'carol', cursor);

    expect(first.messages).toHaveLength(100);
    expect(first.next).toBe(first.messages[99].logId);
    // With the reach-back, the cursor's own message (-1) comes first.
    expect(all.map((m) => (m.data as { n: number }).n)).toEqual(Array.from({ length: 251 }, (_, n) => n - 1));
  });

  it('reaches back the skew before the cursor (the client drops what it has), but exact when asked', async () => {
    const clock = { now: start + 2 * HOUR_MS };
    const log = logAt(clock);
    await send(log, clock, [LogStream.user('dave')], 0);
    const cursor = (await send(log, clock, [LogStream.user('dave')], 1)).logId!;
    await send(log, clock, [LogStream.user('dave')], 2);

    const reaching = await log.readReplay({ streams: [LogStream.user('dave')], after: cursor });
    const exact = await log.readReplay({ streams: [LogStream.user('dave')], after: cursor, exact: true });

    expect(reaching.messages.map((m) => (m.data as { n: number }).n)).toEqual([0, 1, 2]);
    expect(exact.messages.map((m) => (m.data as { n: number }).n)).toEqual([2]);
  });

  it('beyond the per-user cap: the oldest are skipped and the gap is reported', async () => {
    const clock = { now: start + 3 * HOUR_MS };
    const log = logAt(clock, { userCap: 5 });
    const cursor = (await send(log, clock, [LogStream.user('erin')], -1)).logId!;
    clock.now += 60_000;
    for (let n = 0; n < 8; n++) await send(log, clock, [LogStream.user('erin')], n);

    const page = await log.readReplay({ streams: [LogStream.user('erin')], after: cursor });

    expect(page.messages.map((m) => (m.data as { n: number }).n)).toEqual([3, 4, 5, 6, 7]);
    expect(page.gaps).toEqual([{ reason: 'cap', stream: 'user#erin', after: cursor, until: page.messages[0].logId }]);
  });

  it('past the retention: expired records are not replayed and a cursor older than it is a reported gap', async () => {
    const clock = { now: start + 4 * HOUR_MS };
    const log = logAt(clock, { retentionSeconds: 3600 });
    await send(log, clock, [LogStream.user('frank')], 0);
    clock.now += 2 * HOUR_MS;
    await send(log, clock, [LogStream.user('frank')], 1);
    const cursor = logIdFloor(clock.now - 3 * HOUR_MS);

    const page = await log.readReplay({ streams: [LogStream.user('frank')], after: cursor });

    expect(page.messages.map((m) => (m.data as { n: number }).n)).toEqual([1]);
    expect(page.gaps).toEqual([expect.objectContaining({ reason: 'retention', stream: 'user#frank', after: cursor })]);
  });

  it('offline delivery without a cursor: only what was sent while offline, notifications only by default', async () => {
    const clock = { now: start + 8 * HOUR_MS };
    const log = logAt(clock);
    const whileOnline = await send(log, clock, [LogStream.user('gina')], 0, 'notification');
    const offlineChat = await send(log, clock, [LogStream.user('gina')], 1, 'chat');
    const offlineNote = await send(log, clock, [LogStream.user('gina')], 2, 'notification');
    await log.markOffline(offlineChat.logId!, ['gina']);
    await log.markOffline(offlineNote.logId!, ['gina']);

    const notifications = await log.readReplay({ streams: streamsToReplay('gina') });
    const all = await log.readReplay({ streams: streamsToReplay('gina'), offlineDelivery: 'all' });
    const none = await log.readReplay({ streams: streamsToReplay('gina'), offlineDelivery: 'none' });

    expect(notifications.messages.map((m) => m.logId)).toEqual([offlineNote.logId]);
    expect(all.messages.map((m) => m.logId)).toEqual([offlineChat.logId, offlineNote.logId]);
    expect(none.messages).toEqual([]);
    expect(whileOnline.logId).toBeDefined();
  });

  it('writes a message to 60 recipients in BatchWriteItem chunks of 25', async () => {
    const clock = { now: start + 9 * HOUR_MS };
    const log = logAt(clock);
    const users = Array.from({ length: 60 }, (_, u) => `many-${u}`);
    const before = logIdFloor(clock.now - 1);

    const envelope = await send(log, clock, users.map(LogStream.user), 0);

    for (const userId of [users[0], users[29], users[59]]) {
      const read = await log.readRange({ streams: [LogStream.user(userId)], after: before, limit: 10 });
      expect(read.messages.map((m) => m.logId)).toEqual([envelope.logId]);
    }
  });

  it('never creates an offline mark without its message', async () => {
    const clock = { now: start + 10 * HOUR_MS };
    const log = logAt(clock);
    await expect(log.markOffline(logIdFloor(clock.now), ['nobody'])).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
    });
  });

  it('leaves out of a page a message too large to ride in one frame, says so, and goes on after it', async () => {
    // A 127 KB envelope is a valid message (under 128 KB) but a page holding it would pass API Gateway's limit.
    const clock = { now: start + 11 * HOUR_MS };
    const log = logAt(clock);
    const cursor = (await send(log, clock, [LogStream.user('hugo')], 0)).logId!;
    const big = createEnvelope('chat', { blob: 'x'.repeat(127 * 1024) }, { now: new Date(clock.now) });
    await log.record(big, [LogStream.user('hugo')]);
    clock.now += 1;
    const after = await send(log, clock, [LogStream.user('hugo')], 2);

    const page = await log.readReplay({ streams: [LogStream.user('hugo')], after: cursor, exact: true });
    const posted = await log.readReplay({
      streams: [LogStream.user('hugo')],
      after: cursor,
      exact: true,
      maxEnvelopeBytes: Number.POSITIVE_INFINITY,
    });

    expect(page.messages.map((m) => m.logId)).toEqual([after.logId]);
    expect(page.gaps).toEqual([{ reason: 'too_large', stream: 'user#hugo', logId: big.logId }]);
    // Posted one by one (socket.io-client's replay), it is kept: alone on its page, by the page's byte budget.
    expect(posted.messages.map((m) => m.logId)).toEqual([big.logId]);
    expect(posted.next).toBe(big.logId);
  });
});
