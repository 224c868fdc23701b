import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { SliceMessage } from '../../lambdas/core/broadcast-fan-out';
import { createSqsSliceQueue, parseSliceMessage, SliceQueueError } from '../../lambdas/core/slice-queue';

const client = new SQSClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const sqs = mockClient(client);
const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/slices';

const slice = (segment: number, envelopeBytes = 10): SliceMessage => ({
  broadcastId: 'b-1',
  segment,
  totalSegments: 30,
  envelope: 'x'.repeat(envelopeBytes),
  type: 'system',
  continuation: 0,
});

beforeEach(() => {
  sqs.reset();
  sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
});

describe('the SQS slice queue', () => {
  it('sends in batches of at most 10 entries (SQS SendMessageBatch limit)', async () => {
    await createSqsSliceQueue({ client, queueUrl }).send(Array.from({ length: 23 }, (_, segment) => slice(segment)));

    const sizes = sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries?.length);
    expect(sizes).toEqual([10, 10, 3]);
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: queueUrl });
  });

  it('cuts a batch before its bodies pass 256 KiB (envelopes may be 128 KB each)', async () => {
    await createSqsSliceQueue({ client, queueUrl }).send([0, 1, 2, 3].map((segment) => slice(segment, 100_000)));

    const sizes = sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries?.length);
    expect(sizes).toEqual([2, 2]);
  });

  it('throws once SQS refuses an entry, so the caller is not told the broadcast was queued', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }],
    });

    await expect(createSqsSliceQueue({ client, queueUrl }).send([slice(0)])).rejects.toBeInstanceOf(SliceQueueError);
  });

  it('parses its own messages and refuses anything else (poison goes to the DLQ)', () => {
    expect(parseSliceMessage(JSON.stringify(slice(3)))).toEqual(slice(3));
    expect(() => parseSliceMessage('{"broadcastId":"b","segment":3,"totalSegments":3}')).toThrow(
      'not a broadcast slice message',
    );
    expect(() => parseSliceMessage('nope')).toThrow();
  });

  it('reads a room slice (segment 0 of 1) and refuses a room slice that claims segments or a room that is not text', () => {
    const room = { ...slice(0), totalSegments: 1, room: 'chat:42' };

    expect(parseSliceMessage(JSON.stringify(room))).toEqual(room);
    expect(() => parseSliceMessage(JSON.stringify({ ...slice(0), room: 'chat:42' }))).toThrow(
      'not a broadcast slice message',
    );
    expect(() => parseSliceMessage(JSON.stringify({ ...room, room: 42 }))).toThrow('not a broadcast slice message');
  });
});
