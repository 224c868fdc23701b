import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { WebSocketEvent } from '../../lambdas/handlers/middleware/websocket-event';
import { setHandlerEnvironment, unitCallbackUrl } from '../helpers/handler-environment';
import { lambdaContextFor } from '../helpers/lambda-context';

type SendModule = typeof import('../../lambdas/handlers/ws-send');

const dynamo = mockClient(DynamoDBDocumentClient);
const management = mockClient(ApiGatewayManagementApiClient);

const lambdaContext = lambdaContextFor('ws-send');

/** Epoch seconds `offsetSeconds` from now, as API Gateway passes `tokenExpiresAt`: a string. */
const epochSecondsFromNow = (offsetSeconds: number): string => String(Math.floor(Date.now() / 1000) + offsetSeconds);

/**
 * A `send` frame event: the real-shaped `ping` message fixture with the `send` route key and a body. Its token
 * expires in an hour, so the fixture's fixed expiry never makes these tests depend on the day they run.
 */
function sendEvent(frame: unknown, patch: (event: WebSocketEvent) => void = () => {}): WebSocketEvent {
  const ping = JSON.parse(readFileSync(join(__dirname, '../fixtures/events/ws-message-ping.json'), 'utf8'));
  const event = { ...ping, body: typeof frame === 'string' ? frame : JSON.stringify(frame) } as WebSocketEvent;
  event.requestContext.routeKey = 'send';
  event.requestContext.authorizer = { ...event.requestContext.authorizer, tokenExpiresAt: epochSecondsFromNow(3600) };
  patch(event);
  return event;
}

let send: SendModule;

async function frameOf(event: WebSocketEvent) {
  const result = await send.handler(event, lambdaContext);
  expect(result.statusCode).toBe(200);
  return JSON.parse(result.body ?? '');
}

beforeAll(async () => {
  setHandlerEnvironment({
    TABLE_NAME: 'Connections',
    CALLBACK_URL: unitCallbackUrl,
    SEND_PERMISSION: undefined,
    FAN_OUT_TABLE_NAME: 'FanOut',
    SLICE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/slices',
    ROOM_TABLE_NAME: 'Rooms',
    ROOM_SEND_PERMISSION: undefined,
  });
  send = await import('../../lambdas/handlers/ws-send');
});

beforeEach(() => {
  dynamo.reset();
  management.reset();
  dynamo.on(QueryCommand).callsFake((input) => ({
    Items:
      input.ExpressionAttributeValues[':userId'] === 'user456'
        ? [{ userId: 'user456', connectionId: 'b1', connectedAt: '2026-11-26T09:00:00.000Z', expiresAt: 4e9 }]
        : [],
  }));
  management.on(PostToConnectionCommand).resolves({});
});

describe('ws-send', () => {
  it('delivers and answers a delivery frame with the report; from is the socket owner', async () => {
    const frame = await frameOf(
      sendEvent({ action: 'send', userIds: ['user456', 'user789'], type: 'chat', data: { message: 'hi' }, from: 'x' }),
    );

    expect(frame).toEqual({
      type: 'delivery',
      data: {
        messageId: expect.any(String),
        timestamp: expect.any(String),
        recipients: { user456: 'delivered' },
        notConnected: ['user789'],
        connections: { delivered: 1, failed: 0, stale: 0 },
      },
      timestamp: expect.any(String),
      id: expect.any(String),
    });
    const posted = JSON.parse(
      new TextDecoder().decode(management.commandCalls(PostToConnectionCommand)[0].args[0].input.Data as Uint8Array),
    );
    expect(posted).toEqual({
      type: 'chat',
      data: { message: 'hi' },
      timestamp: frame.data.timestamp,
      id: frame.data.messageId,
      from: 'user123',
    });
  });

  // Issue 9, defect 5: the report listed the recipients' connection ids to any sender, while the status route shows
  // them only to admins.
  it('answers a caller without ws:admin with outcomes and counts, and no connection id', async () => {
    const frame = await frameOf(sendEvent({ action: 'send', userId: 'user456', type: 'chat', data: 1 }));

    expect(frame.data).toEqual({
      messageId: expect.any(String),
      timestamp: expect.any(String),
      recipients: { user456: 'delivered' },
      notConnected: [],
      connections: { delivered: 1, failed: 0, stale: 0 },
    });
    expect(JSON.stringify(frame)).not.toContain('"b1"');
  });

  it('answers a caller with ws:admin with the connection ids', async () => {
    const event = sendEvent({ action: 'send', userId: 'user456', type: 'chat', data: 1 }, (e) => {
      e.requestContext.authorizer = { ...e.requestContext.authorizer, permissions: 'ws:admin' };
    });

    const frame = await frameOf(event);

    expect(frame.data).toEqual({
      messageId: expect.any(String),
      timestamp: expect.any(String),
      recipients: { user456: { delivered: ['b1'], failed: [], stale: [] } },
      notConnected: [],
    });
  });

  it("sends a frame naming a room to the room's members and answers their counts", async () => {
    dynamo.on(QueryCommand, { TableName: 'Rooms' }).resolves({
      Items: [
        { room: 'game:7', userId: 'user456', connectionId: 'g1', expiresAt: 4e9 },
        { room: 'game:7', userId: 'user789', connectionId: 'g2', expiresAt: 4e9 },
      ],
    });
    const event = sendEvent({ action: 'send', room: 'game:7', type: 'move', data: { x: 1 } }, (e) => {
      e.requestContext.authorizer = { ...e.requestContext.authorizer, permissions: 'room:game:*' };
    });

    const frame = await frameOf(event);

    expect(frame).toMatchObject({
      type: 'delivery',
      data: { delivery: 'synchronous', room: 'game:7', connections: { delivered: 2, failed: 0, stale: 0 } },
    });
    const posted = management.commandCalls(PostToConnectionCommand).slice(-2);
    expect(posted.map((call) => call.args[0].input.ConnectionId)).toEqual(['g1', 'g2']);
    expect(JSON.parse(Buffer.from(posted[0].args[0].input.Data as Uint8Array).toString())).toMatchObject({
      type: 'move',
      from: 'user123',
    });
  });

  it.each([
    ['no room permission', { action: 'send', room: 'game:7', type: 'move', data: 1 }, 'forbidden', 'room "game:7"'],
    [
      'a room and users at once',
      { action: 'send', room: 'game:7', userId: 'user456', type: 'move', data: 1 },
      'validation_error',
      'Give either room or userId/userIds, not both',
      'ws:rooms',
    ],
    ['a bad room', { action: 'send', room: 'game 7', type: 'move', data: 1 }, 'invalid_room', 'room may contain'],
  ])('answers a room frame with %s with an error frame', async (_case, body, code, message, permissions = '') => {
    const before = management.commandCalls(PostToConnectionCommand).length;
    const event = sendEvent(body, (e) => {
      e.requestContext.authorizer = { ...e.requestContext.authorizer, permissions };
    });

    const frame = await frameOf(event);

    expect(frame).toMatchObject({ type: 'error', data: { code, message: expect.stringContaining(message) } });
    expect(management.commandCalls(PostToConnectionCommand)).toHaveLength(before);
  });

  it.each([
    ['a frame that is not JSON', '{"action":"send",', 'invalid_json', 'Frame is not valid JSON'],
    [
      'a missing address',
      { action: 'send', type: 'chat', data: 1 },
      'validation_error',
      'userId or userIds is required',
    ],
    [
      'a bad type',
      { action: 'send', userId: 'user456', type: '', data: 1 },
      'validation_error',
      'type must not be empty',
    ],
    [
      'a forged server frame type',
      { action: 'send', userId: 'user456', type: 'delivery', data: 1 },
      'validation_error',
      'type "delivery" is reserved for server frames',
    ],
    [
      'a data nested 5,000 levels deep, a 20 KB frame (issue 9, defect 1)',
      `{"action":"send","userId":"user456","type":"chat","data":${'['.repeat(5000)}${']'.repeat(5000)}}`,
      'too_deep',
      'data nests objects and arrays more than 64 levels deep; at most 64 are accepted',
    ],
    [
      'a forged server frame type in another case (issue 9, defect 4)',
      { action: 'send', userId: 'user456', type: 'Error', data: { code: 'x', message: 'forged' } },
      'validation_error',
      'type "Error" is reserved for server frames',
    ],
  ])('answers %s with an error frame saying what is wrong', async (_, frame, code, message) => {
    expect(await frameOf(sendEvent(frame))).toMatchObject({ type: 'error', data: { code, message } });
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
  });

  it('answers an envelope over 128 KB with a payload_too_large error frame', async () => {
    const frame = await frameOf(
      sendEvent({ action: 'send', userId: 'user456', type: 'chat', data: 'x'.repeat(140_000) }),
    );
    expect(frame).toMatchObject({ type: 'error', data: { code: 'payload_too_large' } });
  });

  it('answers an error frame when the connection carries no authorizer context', async () => {
    const event = sendEvent({ action: 'send', userId: 'user456', type: 'chat', data: 1 }, (e) => {
      e.requestContext.authorizer = undefined;
    });
    expect(await frameOf(event)).toMatchObject({ type: 'error', data: { code: 'unauthorized' } });
  });

  it('refuses a token that expired after $connect with a token_expired error frame, and delivers nothing', async () => {
    const expiresAt = epochSecondsFromNow(-6); // past the 5 s skew the authorizers allow
    const event = sendEvent({ action: 'send', userId: 'user456', type: 'chat', data: { message: 'hi' } }, (e) => {
      e.requestContext.authorizer = { ...e.requestContext.authorizer, tokenExpiresAt: expiresAt };
    });

    const frame = await frameOf(event);

    expect(frame).toMatchObject({
      type: 'error',
      data: {
        code: 'token_expired',
        message: `the token of this connection expired at ${new Date(Number(expiresAt) * 1000).toISOString()}; reconnect with a fresh token`,
      },
    });
    expect(dynamo.calls()).toHaveLength(0);
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
  });

  it('still delivers within the clock skew the authorizers allow after exp', async () => {
    const event = sendEvent({ action: 'send', userId: 'user456', type: 'chat', data: 1 }, (e) => {
      e.requestContext.authorizer = { ...e.requestContext.authorizer, tokenExpiresAt: epochSecondsFromNow(-2) };
    });
    expect(await frameOf(event)).toMatchObject({ type: 'delivery' });
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 1);
  });

  it('refuses an expired token before reading the frame: even a malformed one gets token_expired', async () => {
    const event = sendEvent('{"action":"send",', (e) => {
      e.requestContext.authorizer = { ...e.requestContext.authorizer, tokenExpiresAt: epochSecondsFromNow(-60) };
    });
    expect(await frameOf(event)).toMatchObject({ type: 'error', data: { code: 'token_expired' } });
  });
});
