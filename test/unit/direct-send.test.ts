import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { NotFoundError, PayloadTooLargeError, ValidationError } from '../../lambdas/core/errors';
import { setHandlerEnvironment, unitCallbackUrl } from '../helpers/handler-environment';
import { lambdaContextFor } from '../helpers/lambda-context';

type DirectSendModule = typeof import('../../lambdas/handlers/direct-send');

const dynamo = mockClient(DynamoDBDocumentClient);
const management = mockClient(ApiGatewayManagementApiClient);
const sqs = mockClient(SQSClient);

const lambdaContext = lambdaContextFor('direct-send', { getRemainingTimeInMillis: () => 60_000 });

const connection = (userId: string, connectionId: string) => ({
  userId,
  connectionId,
  connectedAt: '2026-11-26T09:00:00.000Z',
  expiresAt: 4e9,
});

let direct: DirectSendModule;

function postedEnvelopes() {
  return management
    .commandCalls(PostToConnectionCommand)
    .map((call) => JSON.parse(new TextDecoder().decode(call.args[0].input.Data as Uint8Array)));
}

beforeAll(async () => {
  setHandlerEnvironment({
    TABLE_NAME: 'Connections',
    CALLBACK_URL: unitCallbackUrl,
    FAN_OUT_TABLE_NAME: 'FanOut',
    SLICE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/slices',
    ROOM_TABLE_NAME: 'Rooms',
  });
  direct = await import('../../lambdas/handlers/direct-send');
});

beforeEach(() => {
  dynamo.reset();
  management.reset();
  sqs.reset();
  sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  dynamo.on(PutCommand).resolves({});
  dynamo.on(QueryCommand).callsFake((input) => ({
    Items: input.ExpressionAttributeValues[':userId'] === 'user123' ? [connection('user123', 'a1')] : [],
  }));
  dynamo.on(ScanCommand).resolves({ Items: [connection('user123', 'a1'), connection('user456', 'b1')] });
  management.on(PostToConnectionCommand).resolves({});
});

describe('direct-send', () => {
  it('sends to one user and returns the report; the envelope has no from', async () => {
    const report = await direct.handler(
      { userId: 'user123', type: 'chat', data: { message: 'Hello!' } },
      lambdaContext,
    );

    expect(report).toMatchObject({ recipients: { user123: { delivered: ['a1'] } }, notConnected: [] });
    expect(postedEnvelopes()[0]).toEqual({
      type: 'chat',
      data: { message: 'Hello!' },
      timestamp: expect.any(String),
      id: expect.any(String),
    });
  });

  it('sends to several users', async () => {
    const report = await direct.handler({ userIds: ['user123', 'user456'], type: 'update', data: 1 }, lambdaContext);
    expect(report).toMatchObject({ notConnected: ['user456'] });
  });

  it('accepts a broadcast at once with its id: queued for the worker, nothing posted here', async () => {
    const accepted = await direct.handler({ broadcast: true, type: 'system', data: { level: 'info' } }, lambdaContext);

    expect(accepted).toMatchObject({ broadcastId: expect.any(String), state: 'queued', slices: 4 });
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
  });

  it("sends to a room's members (no from), and hands a room asked async to the fan-out", async () => {
    dynamo.on(QueryCommand, { TableName: 'Rooms' }).resolves({
      Items: [{ room: 'ops', userId: 'user123', connectionId: 'a1', expiresAt: 4e9 }],
    });

    const sent = await direct.handler({ room: 'ops', type: 'alert', data: { level: 2 } }, lambdaContext);
    const queued = await direct.handler({ room: 'ops', type: 'alert', data: {}, async: true }, lambdaContext);

    expect(sent).toMatchObject({ delivery: 'synchronous', room: 'ops', connections: { delivered: 1 } });
    expect(postedEnvelopes()[0]).toEqual({
      type: 'alert',
      data: { level: 2 },
      timestamp: expect.any(String),
      id: expect.any(String),
    });
    expect(queued).toMatchObject({ delivery: 'asynchronous', room: 'ops', state: 'queued', slices: 1 });
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
  });

  it('answers a broadcast status, and NotFoundError for an unknown id', async () => {
    dynamo.on(QueryCommand, { TableName: 'FanOut' }).resolves({
      Items: [
        {
          pk: 'broadcast#b1',
          sk: 'status',
          broadcastId: 'b1',
          messageId: 'm1',
          type: 'system',
          slices: 1,
          createdAt: '2026-11-27T10:00:00.000Z',
          expiresAt: 4e9,
        },
        {
          pk: 'broadcast#b1',
          sk: 'slice#0000',
          segment: 0,
          done: true,
          runs: 1,
          delivered: 2,
          finishedAt: '2026-11-27T10:00:01.000Z',
        },
      ],
    });

    const status = await direct.handler({ broadcastStatus: 'b1' }, lambdaContext);
    dynamo.on(QueryCommand, { TableName: 'FanOut' }).resolves({ Items: [] });

    expect(status).toMatchObject({
      state: 'complete',
      finishedAt: '2026-11-27T10:00:01.000Z',
      connections: { delivered: 2 },
    });
    await expect(direct.handler({ broadcastStatus: 'nope' }, lambdaContext)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('sends a notification', async () => {
    await direct.handler(
      { notification: { userId: 'user123', title: 'New order', body: 'Order #42 shipped', data: { orderId: 42 } } },
      lambdaContext,
    );
    expect(postedEnvelopes()[0]).toMatchObject({
      type: 'notification',
      data: { title: 'New order', body: 'Order #42 shipped', orderId: 42 },
    });
  });

  it('reads the detail of an EventBridge event', async () => {
    const event = {
      version: '0',
      id: 'e1',
      'detail-type': 'OrderShipped',
      source: 'shop.orders',
      detail: { userId: 'user123', type: 'order.shipped', data: { orderId: 42 } },
    };
    expect(await direct.handler(event, lambdaContext)).toMatchObject({
      recipients: { user123: { delivered: ['a1'] } },
    });
  });

  it('throws a ValidationError (by name, for Step Functions) saying what is wrong', async () => {
    const failure = direct.handler({ userId: 'user123', type: 'chat' }, lambdaContext);
    await expect(failure).rejects.toThrow(ValidationError);
    await expect(failure).rejects.toMatchObject({ name: 'ValidationError', message: 'data is required' });
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
  });

  it('throws a ValidationError with the code too_deep for a data nested 5,000 levels (issue 9, defect 1)', async () => {
    const data = JSON.parse(`${'['.repeat(5000)}${']'.repeat(5000)}`);
    const failure = direct.handler({ userId: 'user123', type: 'chat', data }, lambdaContext);
    await expect(failure).rejects.toThrow(ValidationError);
    await expect(failure).rejects.toMatchObject({
      name: 'ValidationError',
      code: 'too_deep',
      message: 'data nests objects and arrays more than 64 levels deep; at most 64 are accepted',
    });
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
  });

  it('throws a PayloadTooLargeError for an envelope over 128 KB', async () => {
    const failure = direct.handler({ userId: 'user123', type: 'chat', data: 'x'.repeat(140_000) }, lambdaContext);
    await expect(failure).rejects.toThrow(PayloadTooLargeError);
    await expect(failure).rejects.toMatchObject({ name: 'PayloadTooLargeError' });
  });
});
