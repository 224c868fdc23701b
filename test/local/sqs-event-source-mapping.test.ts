import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { type EventSourceMapping, startEventSourceMapping } from '../../local/emulator/sqs/event-source-mapping';
import { type LocalSqs, startLocalSqs } from '../../local/emulator/sqs/sqs-server';
import capturedShape from '../fixtures/events/sqs-receive.json';
import { eventually, keyStructure, testCredentials } from './harness';

/**
 * The event source mapping against the local SQS, fed by the real SQS client. Sources: Lambda developer guide,
 * "Using Lambda with Amazon SQS", "Handling errors for an SQS event source in Lambda" (partial batch responses),
 * "Configuring maximum concurrency for Amazon SQS event sources"; SQS developer guide, "Amazon SQS visibility
 * timeout" and "Using dead-letter queues in Amazon SQS".
 */
describe('event source mapping over the local SQS', () => {
  let sqs: LocalSqs;
  let client: SQSClient;
  const mappings: EventSourceMapping[] = [];

  beforeEach(async () => {
    sqs = await startLocalSqs({
      region: 'us-east-1',
      credentials: testCredentials,
      queues: [
        // A short visibility timeout (a fraction, accepted locally) so that redelivery comes quickly.
        {
          name: 'slices',
          visibilityTimeoutSeconds: 0.2,
          redrive: { deadLetterQueueName: 'slices-dlq', maxReceiveCount: 3 },
        },
        { name: 'slices-dlq', visibilityTimeoutSeconds: 30 },
      ],
    });
    client = new SQSClient({
      endpoint: sqs.endpoint,
      region: 'us-east-1',
      credentials: testCredentials,
      maxAttempts: 1,
    });
  });

  afterEach(async () => {
    await Promise.all(mappings.splice(0).map((mapping) => mapping.stop()));
    client.destroy();
    await sqs.stop();
  });

  const start = (options: Omit<Parameters<typeof startEventSourceMapping>[0], 'sqs' | 'queueName'>) => {
    const mapping = startEventSourceMapping({ sqs, queueName: 'slices', ...options });
    mappings.push(mapping);
    return mapping;
  };

  const sendBodies = async (bodies: string[]) => {
    for (let start = 0; start < bodies.length; start += 10) {
      await client.send(
        new SendMessageBatchCommand({
          QueueUrl: sqs.queueUrl('slices'),
          Entries: bodies
            .slice(start, start + 10)
            .map((body, index) => ({ Id: `m${start + index}`, MessageBody: body })),
        }),
      );
    }
  };

  test('the event has the shape of a captured SQS event (test/fixtures/events/sqs-receive.json names the captures)', async () => {
    // Prepare
    const events: SQSEvent[] = [];
    start({ invoke: async (event) => void events.push(event) });

    // Act
    await client.send(
      new SendMessageCommand({
        QueueUrl: sqs.queueUrl('slices'),
        MessageBody: '{"broadcastId":"b-1","segment":0}',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'slice' } },
      }),
    );
    await eventually(() => events.length === 1);

    // Assess
    expect(keyStructure(events[0])).toEqual(keyStructure(capturedShape));
    const [record] = events[0].Records;
    const captured = capturedShape.Records[0];
    expect(record).toMatchObject({
      body: captured.body,
      md5OfBody: captured.md5OfBody,
      md5OfMessageAttributes: captured.md5OfMessageAttributes,
      messageAttributes: captured.messageAttributes,
      eventSource: 'aws:sqs',
      eventSourceARN: sqs.queueArn('slices'),
      awsRegion: 'us-east-1',
    });
    expect(record.attributes).toMatchObject({ ApproximateReceiveCount: '1', SenderId: testCredentials.accessKeyId });
  });

  test('at most maxConcurrency invocations run at once, and every message is handled', async () => {
    // Prepare: each invocation holds until released, so concurrency can only grow to the mapping's limit.
    let running = 0;
    let highest = 0;
    const handled: string[] = [];
    const releases: Array<() => void> = [];
    start({
      batchSize: 1,
      maxConcurrency: 3,
      invoke: async (event) => {
        running += 1;
        highest = Math.max(highest, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        handled.push(...event.Records.map((record) => record.body));
        running -= 1;
      },
    });
    // A visibility timeout longer than the test, so that no message comes back while invocations are held.
    await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl('slices'), MessageBody: 'warm-up' }));
    await eventually(() => running === 1);
    releases.shift()?.();
    await eventually(() => running === 0);

    // Act
    await sendBodies(Array.from({ length: 12 }, (_, index) => `m${index}`));
    await eventually(() => running === 3);
    // Give the other slots many turns of the event loop to (wrongly) start a fourth invocation.
    for (let turn = 0; turn < 50; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(running).toBe(3);
    expect(sqs.counts('slices').visible).toBeGreaterThan(0);
    const releaseAll = setInterval(() => {
      for (const release of releases.splice(0)) release();
    }, 5);
    await eventually(() => handled.length === 13, 20_000);
    clearInterval(releaseAll);

    // Assess
    expect(highest).toBe(3);
    expect(new Set(handled).size).toBe(13);
  });

  test('batchItemFailures: only the failed message comes back (receive count 2); the others are deleted', async () => {
    // Prepare: per-message record of the receive counts it was delivered with.
    const seen = new Map<string, string[]>();
    const mapping = start({
      batchSize: 3,
      maximumBatchingWindowSeconds: 0.1,
      reportBatchItemFailures: true,
      invoke: async (event): Promise<SQSBatchResponse> => {
        const failures = [];
        for (const record of event.Records) {
          seen.set(record.body, [...(seen.get(record.body) ?? []), record.attributes.ApproximateReceiveCount]);
          if (record.body === 'b' && record.attributes.ApproximateReceiveCount === '1') {
            failures.push({ itemIdentifier: record.messageId });
          }
        }
        return { batchItemFailures: failures };
      },
    });

    // Act
    await sendBodies(['a', 'b', 'c']);
    await mapping.idle();

    // Assess
    expect(Object.fromEntries(seen)).toEqual({ a: ['1'], b: ['1', '2'], c: ['1'] });
    expect(sqs.counts('slices-dlq').visible).toBe(0);
  });

  test('a throw fails the whole batch: every message comes back after its visibility timeout', async () => {
    const seen: string[] = [];
    let calls = 0;
    const mapping = start({
      batchSize: 2,
      maximumBatchingWindowSeconds: 0.1,
      reportBatchItemFailures: true,
      invoke: async (event) => {
        calls += 1;
        seen.push(...event.Records.map((record) => `${record.body}#${record.attributes.ApproximateReceiveCount}`));
        if (calls === 1) throw new Error('worker crashed mid-slice');
      },
    });
    await sendBodies(['a', 'b']);
    await mapping.idle();
    expect(seen.sort()).toEqual(['a#1', 'a#2', 'b#1', 'b#2']);
  });

  test('a batchItemFailures entry naming no message of the batch fails the whole batch', async () => {
    const seen: string[] = [];
    const mapping = start({
      batchSize: 1,
      reportBatchItemFailures: true,
      invoke: async (event) => {
        const [record] = event.Records;
        seen.push(record.attributes.ApproximateReceiveCount);
        return record.attributes.ApproximateReceiveCount === '1'
          ? { batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] }
          : { batchItemFailures: [] };
      },
    });
    await sendBodies(['only']);
    await mapping.idle();
    expect(seen).toEqual(['1', '2']);
  });

  test('without reportBatchItemFailures a returned list is ignored: the batch succeeded', async () => {
    const seen: string[] = [];
    const mapping = start({
      batchSize: 1,
      invoke: async (event) => {
        seen.push(event.Records[0].body);
        return { batchItemFailures: [{ itemIdentifier: event.Records[0].messageId }] };
      },
    });
    await sendBodies(['once']);
    await mapping.idle();
    expect(seen).toEqual(['once']);
  });

  test('a batching window longer than the visibility timeout still puts a message in the batch once', async () => {
    // The message becomes visible again while its batch is still gathering, and is received a second time.
    const batches: string[][] = [];
    const mapping = start({
      batchSize: 5,
      maximumBatchingWindowSeconds: 0.3,
      // One poller, so the second receive is this batch's own (with more, another poller may take it: SQS's way).
      maxConcurrency: 1,
      invoke: async (event) => {
        batches.push(event.Records.map((record) => `${record.body}#${record.attributes.ApproximateReceiveCount}`));
      },
    });
    await sendBodies(['slow']);
    await mapping.idle();
    // The latest receive is kept: its handle is the one that deletes the message.
    expect(batches).toEqual([['slow#2']]);
  });

  test('a message that always fails is delivered maxReceiveCount (3) times, then moved to the DLQ', async () => {
    const counts: string[] = [];
    const errors: unknown[] = [];
    const mapping = start({
      batchSize: 1,
      invoke: async (event) => {
        counts.push(event.Records[0].attributes.ApproximateReceiveCount);
        throw new Error('poisoned slice');
      },
      onInvocationError: (error) => errors.push(error),
    });
    await sendBodies(['poison']);
    await mapping.idle();
    expect(counts).toEqual(['1', '2', '3']);
    expect(errors).toHaveLength(3);
    expect(sqs.queue('slices-dlq').peekBodies()).toEqual(['poison']);
  });

  test('stop() ends polling: nothing is invoked afterwards and no timer is left behind', async () => {
    const timersBefore = process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    let invoked = 0;
    const mapping = startEventSourceMapping({
      sqs,
      queueName: 'slices',
      maxConcurrency: 4,
      invoke: async () => {
        invoked += 1;
      },
    });
    // The slots are now in their 20 s long polls, each with a timer.
    expect(process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length).toBeGreaterThan(timersBefore);

    await mapping.stop();

    expect(process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length).toBe(timersBefore);
    await sendBodies(['after-stop']);
    for (let turn = 0; turn < 20; turn += 1) await new Promise((resolve) => setImmediate(resolve));
    expect(invoked).toBe(0);
    expect(sqs.counts('slices').visible).toBe(1);
  });
});
