import {
  BatchEntryIdsNotDistinct,
  BatchRequestTooLong,
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  EmptyBatchRequest,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  InvalidBatchEntryId,
  MessageNotInflight,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiptHandleIsInvalid,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  SQSServiceException,
  TooManyEntriesInBatchRequest,
} from '@aws-sdk/client-sqs';
import { md5OfMessageAttributes } from '../../local/emulator/sqs/message-digest';
import { type LocalSqs, startLocalSqs } from '../../local/emulator/sqs/sqs-server';
import { testCredentials } from './harness';

/**
 * The local SQS against the real `@aws-sdk/client-sqs` (JSON 1.0 protocol, its checksum middleware on): each
 * behaviour cites the SQS developer guide page or API reference it follows.
 */
describe('local SQS with the real SQS client', () => {
  let sqs: LocalSqs;
  let client: SQSClient;

  beforeEach(async () => {
    sqs = await startLocalSqs({
      region: 'us-east-1',
      credentials: testCredentials,
      queues: [
        { name: 'work', visibilityTimeoutSeconds: 30 },
        {
          name: 'poison',
          visibilityTimeoutSeconds: 30,
          redrive: { deadLetterQueueName: 'poison-dlq', maxReceiveCount: 2 },
        },
        { name: 'poison-dlq', visibilityTimeoutSeconds: 30 },
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
    client.destroy();
    await sqs.stop();
  });

  const receive = (queue: string, extra: Partial<ConstructorParameters<typeof ReceiveMessageCommand>[0]> = {}) =>
    client.send(
      new ReceiveMessageCommand({
        QueueUrl: sqs.queueUrl(queue),
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
        ...extra,
      }),
    );

  test('send, receive and delete: the SDK validates MD5OfMessageBody on both ways, and attributes come back', async () => {
    // Prepare
    const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: 'work' }));
    expect(QueueUrl).toBe(sqs.queueUrl('work'));
    const attributes = {
      kind: { DataType: 'String', StringValue: 'slice' },
      segment: { DataType: 'Number', StringValue: '3' },
      cursor: { DataType: 'Binary', BinaryValue: new Uint8Array([0, 1, 2, 255]) },
    };

    // Act
    const sent = await client.send(
      new SendMessageCommand({ QueueUrl, MessageBody: '{"broadcast":"b-1"}', MessageAttributes: attributes }),
    );
    const { Messages } = await receive('work');

    // Assess
    expect(Messages).toHaveLength(1);
    const [message] = Messages ?? [];
    expect(message).toMatchObject({ MessageId: sent.MessageId, Body: '{"broadcast":"b-1"}' });
    expect(message.MD5OfBody).toBe(sent.MD5OfMessageBody);
    expect(message.MessageAttributes?.kind).toEqual({ DataType: 'String', StringValue: 'slice' });
    expect(message.MessageAttributes?.cursor?.BinaryValue).toEqual(new Uint8Array([0, 1, 2, 255]));
    expect(message.MD5OfMessageAttributes).toBe(sent.MD5OfMessageAttributes);
    expect(message.Attributes).toMatchObject({ ApproximateReceiveCount: '1', SenderId: testCredentials.accessKeyId });
    expect(Number(message.Attributes?.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(
      Number(message.Attributes?.SentTimestamp),
    );
    expect(sqs.counts('work')).toEqual({ visible: 0, inFlight: 1, delayed: 0 });

    await client.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
    expect(sqs.counts('work')).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  test('MD5OfMessageAttributes follows "Calculating the MD5 message digest for message attributes"', () => {
    // Vectors from independent implementations: lifion/sqslite `message-attributes-md5-checksum.test.js` and
    // wcharczuk/sqslite `internal/sqslite/md5_test.go`.
    expect(md5OfMessageAttributes({ SellerName: { DataType: 'String', StringValue: 'Example Store' } })).toBe(
      'cd28f3b68aeee4b2eac9c66f2f694b58',
    );
    expect(
      md5OfMessageAttributes({
        ordinal: { DataType: 'Number', StringValue: '1' },
        category: { DataType: 'String', StringValue: 'test' },
      }),
    ).toBe('d21ae90c49061e927f57df5f5d72be1f');
  });

  test('only the message attributes asked for are returned, with no system attributes unless asked', async () => {
    await client.send(
      new SendMessageCommand({
        QueueUrl: sqs.queueUrl('work'),
        MessageBody: 'x',
        MessageAttributes: {
          'trace.id': { DataType: 'String', StringValue: 't' },
          other: { DataType: 'String', StringValue: 'o' },
        },
      }),
    );
    const { Messages } = await client.send(
      new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl('work'), MessageAttributeNames: ['trace.*'] }),
    );
    expect(Object.keys(Messages?.[0].MessageAttributes ?? {})).toEqual(['trace.id']);
    expect(Messages?.[0].Attributes).toBeUndefined();
  });

  test('an unknown queue is QueueDoesNotExist (AWS.SimpleQueueService.NonExistentQueue), as the SDK models it', async () => {
    const byName = client.send(new GetQueueUrlCommand({ QueueName: 'missing' }));
    await expect(byName).rejects.toBeInstanceOf(QueueDoesNotExist);
    await expect(byName).rejects.toMatchObject({ Code: 'AWS.SimpleQueueService.NonExistentQueue' });
    const byUrl = client.send(
      new SendMessageCommand({ QueueUrl: `${sqs.endpoint}/${sqs.accountId}/missing`, MessageBody: 'x' }),
    );
    await expect(byUrl).rejects.toBeInstanceOf(QueueDoesNotExist);
  });

  describe('SendMessageBatch (API reference: at most 10 entries, distinct ids, the whole request within the size limit)', () => {
    const entries = (count: number, body = 'x') =>
      Array.from({ length: count }, (_, index) => ({ Id: `m${index}`, MessageBody: body }));

    test('11 entries is TooManyEntriesInBatchRequest, none is EmptyBatchRequest', async () => {
      const url = sqs.queueUrl('work');
      await expect(
        client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries(11) })),
      ).rejects.toBeInstanceOf(TooManyEntriesInBatchRequest);
      await expect(client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [] }))).rejects.toBeInstanceOf(
        EmptyBatchRequest,
      );
      expect(sqs.counts('work').visible).toBe(0);
    });

    test('repeated or malformed ids are refused before any entry is sent', async () => {
      const url = sqs.queueUrl('work');
      await expect(
        client.send(
          new SendMessageBatchCommand({
            QueueUrl: url,
            Entries: [
              { Id: 'a', MessageBody: '1' },
              { Id: 'a', MessageBody: '2' },
            ],
          }),
        ),
      ).rejects.toBeInstanceOf(BatchEntryIdsNotDistinct);
      await expect(
        client.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'no spaces', MessageBody: '1' }] })),
      ).rejects.toBeInstanceOf(InvalidBatchEntryId);
      expect(sqs.counts('work').visible).toBe(0);
    });

    test('over 256 KiB in total is BatchRequestTooLong, though each entry alone fits', async () => {
      await expect(
        client.send(
          new SendMessageBatchCommand({ QueueUrl: sqs.queueUrl('work'), Entries: entries(2, 'x'.repeat(140_000)) }),
        ),
      ).rejects.toBeInstanceOf(BatchRequestTooLong);
      expect(sqs.counts('work').visible).toBe(0);
    });

    test('a bad entry fails alone in Failed; the others are sent, each with its body MD5 (checked by the SDK)', async () => {
      const result = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: sqs.queueUrl('work'),
          Entries: [
            { Id: 'good-1', MessageBody: 'one' },
            // U+FFFF is outside the characters SQS accepts ("Amazon SQS message quotas").
            { Id: 'bad', MessageBody: 'not \uFFFF allowed' },
            { Id: 'good-2', MessageBody: 'two' },
          ],
        }),
      );
      expect(result.Successful?.map((entry) => entry.Id)).toEqual(['good-1', 'good-2']);
      expect(result.Failed).toEqual([
        expect.objectContaining({ Id: 'bad', Code: 'InvalidMessageContents', SenderFault: true }),
      ]);
      expect(sqs.counts('work').visible).toBe(2);
    });
  });

  test('a single message over 256 KiB (body and attributes counted) is refused with InvalidParameterValue', async () => {
    const tooLong = client.send(
      new SendMessageCommand({
        QueueUrl: sqs.queueUrl('work'),
        MessageBody: 'x'.repeat(262_144 - 4),
        MessageAttributes: { k: { DataType: 'String', StringValue: 'v' } },
      }),
    );
    await expect(tooLong).rejects.toBeInstanceOf(SQSServiceException);
    await expect(tooLong).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    // Exactly the limit is accepted.
    await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl('work'), MessageBody: 'x'.repeat(262_144) }));
    expect(sqs.counts('work').visible).toBe(1);
  });

  test('ReceiveMessage takes 1 to 10 messages ("MaxNumberOfMessages") and returns at most that many', async () => {
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: sqs.queueUrl('work'),
        Entries: Array.from({ length: 10 }, (_, index) => ({ Id: `m${index}`, MessageBody: `${index}` })),
      }),
    );
    await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl('work'), MessageBody: '10' }));
    await expect(receive('work', { MaxNumberOfMessages: 11 })).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    const { Messages } = await receive('work', { MaxNumberOfMessages: 10 });
    expect(Messages?.map((message) => message.Body)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(sqs.counts('work')).toEqual({ visible: 1, inFlight: 10, delayed: 0 });
  });

  test('"Amazon SQS visibility timeout": an undeleted message comes back after it, with a new handle and a higher receive count', async () => {
    await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl('work'), MessageBody: 'again' }));
    const first = (await receive('work', { VisibilityTimeout: 1 })).Messages?.[0];
    expect(first?.Attributes?.ApproximateReceiveCount).toBe('1');
    // Invisible meanwhile: a short poll sees nothing.
    expect((await receive('work')).Messages ?? []).toHaveLength(0);

    // A long poll is answered when the timeout ends (well within its 20 s).
    const second = (await receive('work', { WaitTimeSeconds: 20 })).Messages?.[0];

    expect(second?.MessageId).toBe(first?.MessageId);
    expect(second?.ReceiptHandle).not.toBe(first?.ReceiptHandle);
    expect(second?.Attributes?.ApproximateReceiveCount).toBe('2');
    expect(second?.Attributes?.ApproximateFirstReceiveTimestamp).toBe(
      first?.Attributes?.ApproximateFirstReceiveTimestamp,
    );

    // DeleteMessage reference: an older handle "succeeds, but the message might not be deleted".
    await client.send(
      new DeleteMessageCommand({ QueueUrl: sqs.queueUrl('work'), ReceiptHandle: first?.ReceiptHandle }),
    );
    expect(sqs.counts('work').inFlight).toBe(1);
    await client.send(
      new DeleteMessageCommand({ QueueUrl: sqs.queueUrl('work'), ReceiptHandle: second?.ReceiptHandle }),
    );
    expect(sqs.counts('work').inFlight).toBe(0);
  });

  test('"Amazon SQS short and long polling": a long poll returns as soon as a message arrives', async () => {
    const polling = receive('work', { WaitTimeSeconds: 20 });
    // Let the poll reach the server and wait there before the message is sent.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl('work'), MessageBody: 'arrived' }));
    const { Messages } = await polling;
    expect(Messages?.map((message) => message.Body)).toEqual(['arrived']);
    // A poll that held on for its full 20 s would overrun this test's 10 s limit (a bound far from the expected
    // few milliseconds, so a loaded machine does not trip it).
  }, 10_000);

  test('"Using dead-letter queues in Amazon SQS": past maxReceiveCount receives, the next receive moves the message to the DLQ', async () => {
    await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl('poison'), MessageBody: 'poison' }));
    const counts: string[] = [];
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const message = (await receive('poison', { VisibilityTimeout: 0 })).Messages?.[0];
      counts.push(message?.Attributes?.ApproximateReceiveCount ?? 'none');
    }
    expect(counts).toEqual(['1', '2']);

    // The third receive would exceed maxReceiveCount (2): the message moves instead of being delivered.
    expect((await receive('poison')).Messages ?? []).toHaveLength(0);
    expect(sqs.counts('poison')).toEqual({ visible: 0, inFlight: 0, delayed: 0 });

    const dead = (await receive('poison-dlq')).Messages?.[0];
    expect(dead?.Body).toBe('poison');
    expect(dead?.Attributes?.DeadLetterQueueSourceArn).toBe(sqs.queueArn('poison'));
  });

  test('GetQueueAttributes reports counts, the ARN and the redrive policy as SQS stores it', async () => {
    await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl('poison'), MessageBody: 'a' }));
    await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl('poison'), MessageBody: 'b' }));
    await client.send(
      new SendMessageCommand({ QueueUrl: sqs.queueUrl('poison'), MessageBody: 'c', DelaySeconds: 900 }),
    );
    const held = (await receive('poison')).Messages?.[0].ReceiptHandle;
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: sqs.queueUrl('poison'), AttributeNames: ['All'] }),
    );
    expect(Attributes).toMatchObject({
      QueueArn: 'arn:aws:sqs:us-east-1:000000000000:poison',
      ApproximateNumberOfMessages: '1',
      ApproximateNumberOfMessagesNotVisible: '1',
      ApproximateNumberOfMessagesDelayed: '1',
      VisibilityTimeout: '30',
    });
    expect(JSON.parse(Attributes?.RedrivePolicy ?? '{}')).toEqual({
      deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:poison-dlq',
      maxReceiveCount: 2,
    });
    await client.send(new PurgeQueueCommand({ QueueUrl: sqs.queueUrl('poison') }));
    expect(sqs.counts('poison')).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    // A consumer still holding a purged message can delete it without an error.
    await client.send(new DeleteMessageCommand({ QueueUrl: sqs.queueUrl('poison'), ReceiptHandle: held }));
  });

  test('ChangeMessageVisibility: 0 makes a message receivable at once; a forged handle or one not in flight is refused', async () => {
    const url = sqs.queueUrl('work');
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'v' }));
    const first = (await receive('work')).Messages?.[0];
    await client.send(
      new ChangeMessageVisibilityCommand({ QueueUrl: url, ReceiptHandle: first?.ReceiptHandle, VisibilityTimeout: 0 }),
    );
    const second = (await receive('work')).Messages?.[0];
    expect(second?.Attributes?.ApproximateReceiveCount).toBe('2');

    await expect(
      client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: first?.ReceiptHandle,
          VisibilityTimeout: 5,
        }),
      ),
    ).rejects.toBeInstanceOf(MessageNotInflight);
    await expect(
      client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: 'forged' })),
    ).rejects.toBeInstanceOf(ReceiptHandleIsInvalid);

    const batch = await client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'ok', ReceiptHandle: second?.ReceiptHandle, VisibilityTimeout: 60 },
          { Id: 'forged', ReceiptHandle: 'forged', VisibilityTimeout: 60 },
        ],
      }),
    );
    expect(batch.Successful?.map((entry) => entry.Id)).toEqual(['ok']);
    expect(batch.Failed).toEqual([expect.objectContaining({ Id: 'forged', Code: 'ReceiptHandleIsInvalid' })]);

    const deleted = await client.send(
      new DeleteMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'ok', ReceiptHandle: second?.ReceiptHandle }] }),
    );
    expect(deleted.Successful).toEqual([{ Id: 'ok' }]);
    expect(sqs.counts('work')).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  test('requests are SigV4-verified for sqs in the region: another secret or key id is refused with 403', async () => {
    const forged = new SQSClient({
      endpoint: sqs.endpoint,
      region: 'us-east-1',
      credentials: { ...testCredentials, secretAccessKey: 'not-the-secret' },
      maxAttempts: 1,
    });
    const unknown = new SQSClient({
      endpoint: sqs.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDSOMEONEELSE', secretAccessKey: testCredentials.secretAccessKey },
      maxAttempts: 1,
    });
    const send = (sqsClient: SQSClient) =>
      sqsClient.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl('work'), MessageBody: 'x' }));
    await expect(send(forged)).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(send(unknown)).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
      $metadata: { httpStatusCode: 403 },
    });
    const unsigned = await fetch(sqs.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ListQueues' },
      body: '{}',
    });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('x-amzn-query-error')).toBe('MissingAuthenticationToken;Sender');
    expect(sqs.counts('work').visible).toBe(0);
    forged.destroy();
    unknown.destroy();
  });

  test('stop() answers a pending long poll (empty) instead of leaving it open', async () => {
    const polling = receive('work', { WaitTimeSeconds: 20 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const stopped = sqs.stop();
    const { Messages } = await polling;
    await stopped;
    // Answered empty at once, not left hanging for its 20 s (this test's 10 s limit would end it first).
    expect(Messages ?? []).toEqual([]);
    sqs = await startLocalSqs({ region: 'us-east-1', queues: [] });
  }, 10_000);
});

describe('startLocalSqs declarations', () => {
  test('a redrive naming an undeclared queue fails at start and names it', async () => {
    await expect(
      startLocalSqs({
        region: 'us-east-1',
        queues: [
          { name: 'a', visibilityTimeoutSeconds: 1, redrive: { deadLetterQueueName: 'a-dlq', maxReceiveCount: 3 } },
        ],
      }),
    ).rejects.toThrow('queue a: its redrive names a-dlq, which is not declared');
  });

  test('without credentials, unsigned requests are served (signatures are then not checked)', async () => {
    const sqs = await startLocalSqs({ region: 'eu-west-1', queues: [{ name: 'open', visibilityTimeoutSeconds: 5 }] });
    const response = await fetch(sqs.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.GetQueueUrl' },
      body: JSON.stringify({ QueueName: 'open' }),
    });
    expect(await response.json()).toEqual({ QueueUrl: sqs.queueUrl('open') });
    expect(response.headers.get('content-type')).toBe('application/x-amz-json-1.0');
    await sqs.stop();
  });
});
