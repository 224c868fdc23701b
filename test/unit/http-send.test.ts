import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { Envelope } from '../../lambdas/core/envelope';
import type { HttpEvent } from '../../lambdas/handlers/middleware/http-request';
import { setHandlerEnvironment, unitCallbackUrl } from '../helpers/handler-environment';
import { httpEventFixture } from '../helpers/http-events';
import { lambdaContextFor } from '../helpers/lambda-context';

type SendModule = typeof import('../../lambdas/handlers/http-send');

const dynamo = mockClient(DynamoDBDocumentClient);
const management = mockClient(ApiGatewayManagementApiClient);
const sqs = mockClient(SQSClient);
const sliceQueueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/slices';

const lambdaContext = lambdaContextFor('http-send');

const eventFrom = httpEventFixture;

const withBody = (body: unknown) => (event: HttpEvent) => {
  event.body = typeof body === 'string' ? body : JSON.stringify(body);
};
const withPermissions = (permissions: string) => (event: HttpEvent) => {
  event.requestContext.authorizer.lambda = { ...event.requestContext.authorizer.lambda, permissions };
};

/** The registry's connections, served through the mocked DynamoDB Query and Scan. */
function registryHolds(connections: Record<string, string[]>): void {
  const items = Object.entries(connections).flatMap(([userId, ids]) =>
    ids.map((connectionId) => ({ userId, connectionId, connectedAt: '2026-11-26T09:00:00.000Z', expiresAt: 4e9 })),
  );
  dynamo.on(QueryCommand).callsFake((input) => ({
    Items: items.filter((item) => item.userId === input.ExpressionAttributeValues[':userId']),
  }));
  dynamo.on(ScanCommand).resolves({ Items: items });
  dynamo.on(DeleteCommand).resolves({});
}

function postedEnvelopes(): Array<{ connectionId: string; envelope: Envelope }> {
  return management.commandCalls(PostToConnectionCommand).map((call) => ({
    connectionId: call.args[0].input.ConnectionId as string,
    envelope: JSON.parse(new TextDecoder().decode(call.args[0].input.Data as Uint8Array)),
  }));
}

let send: SendModule;

async function invoke(event: HttpEvent) {
  const response = await send.handler(event, lambdaContext);
  return { statusCode: response.statusCode, headers: response.headers, body: JSON.parse(response.body) };
}

beforeAll(async () => {
  setHandlerEnvironment({
    TABLE_NAME: 'Connections',
    CALLBACK_URL: unitCallbackUrl,
    BROADCAST_PERMISSION: undefined,
    FAN_OUT_TABLE_NAME: 'FanOut',
    SLICE_QUEUE_URL: sliceQueueUrl,
    BROADCAST_SEGMENTS: '3',
    ROOM_TABLE_NAME: 'Rooms',
    ROOM_SEND_PERMISSION: undefined,
    ROOM_SYNC_MAX_MEMBERS: '3',
  });
  send = await import('../../lambdas/handlers/http-send');
});

beforeEach(() => {
  dynamo.reset();
  management.reset();
  sqs.reset();
  management.on(PostToConnectionCommand).resolves({});
});

describe('POST /websocket/message/user', () => {
  it('delivers to every connection of the user, from the token sub, and answers the report', async () => {
    registryHolds({ user456: ['c1', 'c2'] });

    const { statusCode, headers, body } = await invoke(eventFrom('http-message-user'));

    expect(statusCode).toBe(200);
    expect(headers?.['content-type']).toMatch(/^application\/json/);
    expect(body).toEqual({
      messageId: expect.any(String),
      timestamp: expect.any(String),
      recipients: { user456: 'delivered' },
      notConnected: [],
      connections: { delivered: 2, failed: 0, stale: 0 },
    });
    const posted = postedEnvelopes();
    expect(posted.map((p) => p.connectionId)).toEqual(['c1', 'c2']);
    expect(posted[0].envelope).toEqual({
      type: 'chat',
      data: { message: 'Hello!', sender: 'system' },
      timestamp: body.timestamp,
      id: body.messageId,
      from: 'user123',
    });
  });

  it('a from or sender in the body does not change the envelope from', async () => {
    registryHolds({ user456: ['c1'] });
    const event = eventFrom(
      'http-message-user',
      withBody({ userId: 'user456', type: 'chat', data: { text: 'hi' }, from: 'admin', sender: 'admin' }),
    );

    expect((await invoke(event)).statusCode).toBe(200);
    expect(postedEnvelopes()[0].envelope.from).toBe('user123');
  });

  it('reports a 410 as stale and removes that connection', async () => {
    registryHolds({ user456: ['live', 'gone'] });
    management
      .on(PostToConnectionCommand, { ConnectionId: 'gone' })
      .rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));

    const { body } = await invoke(eventFrom('http-message-user', withPermissions('ws:admin')));

    expect(body.recipients.user456).toEqual({ delivered: ['live'], failed: [], stale: ['gone'] });
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { Key: { userId: 'user456', connectionId: 'gone' } });
  });

  it('lists a user with no live connection as not connected', async () => {
    registryHolds({});
    const { statusCode, body } = await invoke(eventFrom('http-message-user'));
    expect(statusCode).toBe(200);
    expect(body.notConnected).toEqual(['user456']);
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
  });
});

// Issue 9, defect 5: the report listed the recipients' connection ids (and so their presence, device by device) to
// any caller, while the status route shows another user's connections only to callers with ws:admin.
describe('the report tells connection ids only to callers with the admin permission', () => {
  const failing = () => {
    registryHolds({ user456: ['live', 'gone'], user789: ['broken'], user999: ['vanished'] });
    management
      .on(PostToConnectionCommand, { ConnectionId: 'gone' })
      .rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));
    management
      .on(PostToConnectionCommand, { ConnectionId: 'vanished' })
      .rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));
    management
      .on(PostToConnectionCommand, { ConnectionId: 'broken' })
      .rejects(Object.assign(new Error('boom'), { name: 'InternalServerErrorException' }));
  };
  const toFour = withBody({ userIds: ['user456', 'user789', 'user999', 'user000'], type: 'chat', data: {} });

  it.each(['', 'ws:broadcast'])(
    'a caller with permissions %j gets user outcomes and counts, no connection id',
    async (permissions) => {
      failing();

      const { statusCode, body } = await invoke(
        eventFrom('http-message-users', (e) => {
          toFour(e);
          withPermissions(permissions)(e);
        }),
      );

      expect(statusCode).toBe(200);
      expect(body).toEqual({
        messageId: expect.any(String),
        timestamp: expect.any(String),
        recipients: { user456: 'delivered', user789: 'failed' },
        notConnected: ['user000', 'user999'],
        connections: { delivered: 1, failed: 1, stale: 2 },
      });
      expect(JSON.stringify(body)).not.toMatch(/"(live|gone|broken|vanished)"/);
    },
  );

  it('a caller with ws:admin gets every connection id', async () => {
    failing();

    const { body } = await invoke(
      eventFrom('http-message-users', (e) => {
        toFour(e);
        withPermissions('ws:admin')(e);
      }),
    );

    expect(body).toEqual({
      messageId: expect.any(String),
      timestamp: expect.any(String),
      recipients: {
        user456: { delivered: ['live'], failed: [], stale: ['gone'] },
        user789: {
          delivered: [],
          failed: [{ connectionId: 'broken', error: 'InternalServerErrorException' }],
          stale: [],
        },
        user999: { delivered: [], failed: [], stale: ['vanished'] },
      },
      notConnected: ['user000', 'user999'],
    });
  });

  it('the notification route summarizes the same way', async () => {
    registryHolds({ user456: ['c1'] });
    const { body } = await invoke(eventFrom('http-notification'));
    expect(body).toMatchObject({ recipients: { user456: 'delivered' }, connections: { delivered: 1 } });
    expect(JSON.stringify(body)).not.toContain('"c1"');
  });
});

describe('POST /websocket/message/users', () => {
  it('sends one message to each listed user', async () => {
    registryHolds({ user456: ['a'], user789: ['b'] });

    const { statusCode, body } = await invoke(eventFrom('http-message-users'));

    expect(statusCode).toBe(200);
    expect(Object.keys(body.recipients)).toEqual(['user456', 'user789']);
    const ids = new Set(postedEnvelopes().map((p) => p.envelope.id));
    expect([...ids]).toEqual([body.messageId]);
  });
});

describe('POST /websocket/message/broadcast', () => {
  it('is forbidden to a plain user, naming the permission', async () => {
    registryHolds({ user456: ['a'] });

    const response = await invoke(eventFrom('http-message-broadcast'));

    expect(response).toMatchObject({
      statusCode: 403,
      body: { error: { code: 'forbidden', message: 'The permission "ws:broadcast" is required to broadcast' } },
    });
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
  });

  it('answers 202 with the broadcast id and status URL, records it and queues its slices, posting nothing', async () => {
    registryHolds({ user456: ['a', 'b'], user789: ['c'] });
    dynamo.on(PutCommand).resolves({});
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });

    const { statusCode, body } = await invoke(eventFrom('http-message-broadcast', withPermissions('ws:broadcast')));

    expect(statusCode).toBe(202);
    expect(body).toEqual({
      broadcastId: expect.any(String),
      messageId: expect.any(String),
      timestamp: expect.any(String),
      state: 'queued',
      slices: 3,
      statusUrl: `/websocket/broadcasts/${body.broadcastId}`,
    });
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'FanOut',
      Item: expect.objectContaining({ pk: `broadcast#${body.broadcastId}`, sk: 'status', slices: 3 }),
    });
    const entries = sqs.commandCalls(SendMessageBatchCommand).flatMap((call) => call.args[0].input.Entries ?? []);
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: sliceQueueUrl });
    expect(entries.map((entry) => JSON.parse(entry.MessageBody!).segment)).toEqual([0, 1, 2]);
    expect(JSON.parse(JSON.parse(entries[0].MessageBody!).envelope)).toMatchObject({ type: 'system', from: 'user123' });
    expect(dynamo).toHaveReceivedCommandTimes(ScanCommand, 0);
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
  });

  it('answers 500 in the error shape when a slice cannot be queued', async () => {
    dynamo.on(PutCommand).resolves({});
    sqs.on(SendMessageBatchCommand).resolves({
      Failed: [{ Id: '0', Code: 'InternalError', SenderFault: false }],
      Successful: [],
    });

    const { statusCode, body } = await invoke(eventFrom('http-message-broadcast', withPermissions('ws:broadcast')));

    expect(statusCode).toBe(500);
    expect(body).toMatchObject({ error: { code: expect.any(String) } });
  });
});

/** The room index's members, served through the mocked DynamoDB Query on the room table (honouring `Limit`). */
function roomHolds(
  rooms: Record<string, Array<{ userId: string; connectionId: string; protocol?: 'socket.io' }>>,
): void {
  dynamo.on(QueryCommand, { TableName: 'Rooms' }).callsFake((input) => {
    const room = input.ExpressionAttributeValues[':room'] as string;
    const items = (rooms[room] ?? []).map((member) => ({ room, ...member, joinedAt: 'then', expiresAt: 4e9 }));
    const start = input.ExclusiveStartKey
      ? items.findIndex((item) => item.connectionId === input.ExclusiveStartKey.connectionId) + 1
      : 0;
    const page = items.slice(start, input.Limit === undefined ? undefined : start + input.Limit);
    const more = start + page.length < items.length;
    return { Items: page, LastEvaluatedKey: more ? { room, connectionId: page.at(-1)!.connectionId } : undefined };
  });
}

const toRoom = (room: unknown, extra: Record<string, unknown> = {}) =>
  withBody({ room, type: 'chat', data: { message: 'Hi all' }, ...extra });

/** The room fixture (to `chat:42`) from a caller holding `permissions`, its body changed by `patch`. */
const roomEvent = (permissions: string, patch: (event: HttpEvent) => void = () => {}) =>
  eventFrom('http-message-room', (event) => {
    withPermissions(permissions)(event);
    patch(event);
  });

describe('POST /websocket/message/room', () => {
  it("posts the room's members (only them, each in its protocol) from the token's sub, and answers 200 with counts", async () => {
    // Prepare: the bound is 3 members (ROOM_SYNC_MAX_MEMBERS); a token granted the room by pattern
    registryHolds({});
    roomHolds({
      'chat:42': [
        { userId: 'user456', connectionId: 'r1' },
        { userId: 'user789', connectionId: 'r2', protocol: 'socket.io' },
      ],
      'chat:43': [{ userId: 'user999', connectionId: 'elsewhere' }],
    });
    // Act
    const { statusCode, body } = await invoke(roomEvent('room:chat:*'));
    // Assess
    expect(statusCode).toBe(200);
    expect(body).toEqual({
      delivery: 'synchronous',
      room: 'chat:42',
      messageId: expect.any(String),
      timestamp: expect.any(String),
      connections: { delivered: 2, failed: 0, stale: 0 },
    });
    const calls = management.commandCalls(PostToConnectionCommand).map((call) => call.args[0].input);
    expect(calls.map((input) => input.ConnectionId)).toEqual(['r1', 'r2']);
    expect(JSON.parse(Buffer.from(calls[0].Data as Uint8Array).toString())).toMatchObject({
      type: 'chat',
      data: { message: 'Hi all' },
      from: 'user123',
    });
    expect(Buffer.from(calls[1].Data as Uint8Array).toString()).toMatch(/^42\["chat",\{"message":"Hi all"\}/);
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, {
      TableName: 'Rooms',
      ExpressionAttributeValues: expect.objectContaining({ ':room': 'chat:42' }),
      ConsistentRead: true,
      Limit: 4,
    });
  });

  it.each([
    ['the any-room permission', 'ws:rooms'],
    ['the exact room', 'room:chat:42'],
  ])('lets a caller with %s send', async (_case, permissions) => {
    roomHolds({ 'chat:42': [{ userId: 'user456', connectionId: 'r1' }] });

    const { statusCode } = await invoke(roomEvent(permissions));

    expect(statusCode).toBe(200);
  });

  it.each([
    ['no permission', ''],
    ['another room', 'room:chat:4'],
    ['a pattern for other rooms', 'room:news:*'],
  ])('refuses a caller with %s: 403 naming both permissions, and reads nothing', async (_case, permissions) => {
    roomHolds({ 'chat:42': [{ userId: 'user456', connectionId: 'r1' }] });

    const response = await invoke(roomEvent(permissions));

    expect(response).toMatchObject({
      statusCode: 403,
      body: {
        error: {
          code: 'forbidden',
          message:
            'Sending to room "chat:42" needs the permission "room:chat:42" (or a room: pattern granting it) or "ws:rooms"',
        },
      },
    });
    expect(dynamo.calls()).toHaveLength(0);
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
  });

  it('answers 202 with a broadcast id and status URL for a room beyond the bound, queueing one room slice', async () => {
    roomHolds({ big: ['a', 'b', 'c', 'd'].map((id) => ({ userId: `user-${id}`, connectionId: id })) });
    dynamo.on(PutCommand).resolves({});
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });

    const { statusCode, body } = await invoke(roomEvent('ws:rooms', toRoom('big')));

    expect(statusCode).toBe(202);
    expect(body).toEqual({
      delivery: 'asynchronous',
      room: 'big',
      broadcastId: expect.any(String),
      messageId: expect.any(String),
      timestamp: expect.any(String),
      state: 'queued',
      slices: 1,
      statusUrl: `/websocket/broadcasts/${body.broadcastId}`,
    });
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'FanOut',
      Item: expect.objectContaining({ pk: `broadcast#${body.broadcastId}`, room: 'big', slices: 1 }),
    });
    const entries = sqs.commandCalls(SendMessageBatchCommand).flatMap((call) => call.args[0].input.Entries ?? []);
    expect(entries.map((entry) => JSON.parse(entry.MessageBody!))).toEqual([
      expect.objectContaining({ room: 'big', segment: 0, totalSegments: 1, continuation: 0 }),
    ]);
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
  });

  it('goes through the fan-out for async: true whatever the size', async () => {
    roomHolds({ 'chat:42': [{ userId: 'user456', connectionId: 'r1' }] });
    dynamo.on(PutCommand).resolves({});
    sqs.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });

    const { statusCode } = await invoke(roomEvent('ws:rooms', toRoom('chat:42', { async: true })));

    expect(statusCode).toBe(202);
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
  });

  it.each([
    ['a missing room', toRoom(undefined), 'invalid_room', 'room is required'],
    [
      'a room with a space',
      toRoom('chat 42'),
      'invalid_room',
      'room may contain only letters, digits and _ - . : @ / = +',
    ],
    ['a room that is not a string', toRoom(42), 'invalid_room', 'room must be a non-empty string'],
    [
      'async that is not a boolean',
      toRoom('chat:42', { async: 'yes' }),
      'validation_error',
      'async must be true or false',
    ],
    [
      'a reserved type',
      withBody({ room: 'chat:42', type: 'error', data: {} }),
      'validation_error',
      'type "error" is reserved for server frames',
    ],
  ])('answers %s with 400 in the error shape, posting nothing', async (_case, patch, code, message) => {
    roomHolds({ 'chat:42': [{ userId: 'user456', connectionId: 'r1' }] });

    const response = await invoke(roomEvent('ws:rooms', patch));

    expect(response).toMatchObject({ statusCode: 400, body: { error: { code, message } } });
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
  });
});

describe('POST /websocket/notification', () => {
  it('delivers type notification with data {title, body, ...data}', async () => {
    registryHolds({ user456: ['a'] });

    const { statusCode } = await invoke(eventFrom('http-notification'));

    expect(statusCode).toBe(200);
    expect(postedEnvelopes()[0].envelope).toMatchObject({
      type: 'notification',
      data: { title: 'New order', body: 'Order #42 shipped', orderId: 42 },
      from: 'user123',
    });
  });
});

describe('client mistakes get the one error shape, never a 500', () => {
  it.each([
    ['malformed JSON', '{"userId": "user456", ', 400, 'invalid_json', 'Request body is not valid JSON'],
    ['a body that is not an object', '["user456"]', 400, 'validation_error', 'Request body must be a JSON object'],
    ['a missing field', { userId: 'user456', data: {} }, 400, 'validation_error', 'type is required'],
    ['an empty field', { userId: '', type: 'chat', data: {} }, 400, 'validation_error', 'userId must not be empty'],
    [
      'a wrongly typed field',
      { userId: 7, type: 'chat', data: {} },
      400,
      'validation_error',
      'userId must be a string',
    ],
    [
      'a type outside the character set',
      { userId: 'user456', type: 'chat message', data: {} },
      400,
      'validation_error',
      'type must start with a letter or digit and contain only letters, digits, "_", ".", ":" or "-"',
    ],
  ])('%s', async (_, body, status, code, message) => {
    registryHolds({ user456: ['a'] });
    const response = await invoke(eventFrom('http-message-user', withBody(body)));
    expect(response).toMatchObject({ statusCode: status, body: { error: { code, message } } });
  });

  // Issue 9, defect 6: a JSON route accepted text/plain and application/octet-stream.
  it.each([
    ['http-message-user', 'text/plain'],
    ['http-message-users', 'application/octet-stream'],
    ['http-message-broadcast', 'application/x-www-form-urlencoded'],
    ['http-notification', undefined],
  ])('%s answers 415 unsupported_media_type to Content-Type %j and posts nothing', async (fixture, contentType) => {
    registryHolds({ user456: ['a'] });
    const event = eventFrom(fixture, (e) => {
      delete e.headers['content-type'];
      if (contentType !== undefined) e.headers['content-type'] = contentType;
    });
    withPermissions('ws:broadcast')(event);

    const response = await invoke(event);

    expect(response).toMatchObject({
      statusCode: 415,
      body: { error: { code: 'unsupported_media_type', message: expect.stringContaining('application/json') } },
    });
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
  });

  it('the permission is still checked before the media type (a caller without it learns nothing)', async () => {
    const event = eventFrom('http-message-broadcast', (e) => {
      e.headers['content-type'] = 'text/plain';
    });
    expect(await invoke(event)).toMatchObject({ statusCode: 403, body: { error: { code: 'forbidden' } } });
  });

  it('a missing body', async () => {
    const response = await invoke(eventFrom('http-message-user', (event) => delete event.body));
    expect(response).toMatchObject({ statusCode: 400, body: { error: { code: 'invalid_json' } } });
  });

  it('a base64-encoded body is decoded', async () => {
    registryHolds({ user456: ['a'] });
    const event = eventFrom('http-message-user', (e) => {
      e.body = Buffer.from(e.body ?? '', 'utf8').toString('base64');
      e.isBase64Encoded = true;
    });
    expect((await invoke(event)).statusCode).toBe(200);
  });

  it('duplicate userIds', async () => {
    const response = await invoke(
      eventFrom('http-message-users', withBody({ userIds: ['a', 'a'], type: 'chat', data: {} })),
    );
    expect(response).toMatchObject({
      statusCode: 400,
      body: { error: { message: 'userIds[1] repeats "a"; user ids must be unique' } },
    });
  });

  it('an envelope over 128 KB gets 413', async () => {
    registryHolds({ user456: ['a'] });
    const response = await invoke(
      eventFrom('http-message-user', withBody({ userId: 'user456', type: 'chat', data: 'x'.repeat(131_072) })),
    );
    expect(response).toMatchObject({ statusCode: 413, body: { error: { code: 'payload_too_large' } } });
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
  });

  it('no authorizer context gets 401', async () => {
    const event = eventFrom('http-message-user', (e) => {
      (e.requestContext as { authorizer?: unknown }).authorizer = undefined;
    });
    expect(await invoke(event)).toMatchObject({ statusCode: 401, body: { error: { code: 'unauthorized' } } });
  });

  it('an unknown route gets 404', async () => {
    const event = eventFrom('http-message-user', (e) => {
      e.routeKey = 'POST /websocket/message/everyone';
    });
    expect(await invoke(event)).toMatchObject({
      statusCode: 404,
      body: { error: { code: 'not_found', message: 'No route POST /websocket/message/everyone' } },
    });
  });
});

describe('a data nested 5,000 levels deep (issue 9, defect 1)', () => {
  // The reviewers' 10 KB body: it answered 500 internal_error from a stack overflow in JSON.stringify. Written as
  // text, since JSON.stringify cannot write it either.
  const deep = `${'['.repeat(5000)}${']'.repeat(5000)}`;
  it.each([
    ['http-message-user', `{"userId":"user456","type":"chat","data":${deep}}`],
    ['http-message-users', `{"userIds":["user456"],"type":"chat","data":${deep}}`],
    ['http-message-broadcast', `{"type":"system","data":${deep}}`],
    ['http-notification', `{"userId":"user456","title":"Deep","body":"deep","data":{"deep":${deep}}}`],
  ])('%s answers 400 too_deep in the one error shape and posts nothing', async (fixture, body) => {
    registryHolds({ user456: ['a'] });
    const event = eventFrom(fixture, withBody(body));
    withPermissions('ws:broadcast')(event);

    const response = await invoke(event);

    expect(response).toEqual({
      statusCode: 400,
      headers: expect.any(Object),
      body: {
        error: {
          code: 'too_deep',
          message: 'data nests objects and arrays more than 64 levels deep; at most 64 are accepted',
        },
      },
    });
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
  });
});

describe('a failure of ours', () => {
  it('answers 500 "Internal error" with the request id, and no internal message or stack', async () => {
    dynamo.on(QueryCommand).rejects(new Error('ProvisionedThroughputExceeded on table Connections-abc at 10.0.3.7'));

    const response = await send.handler(eventFrom('http-message-user'), lambdaContext);

    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body)).toEqual({
      error: { code: 'internal_error', message: 'Internal error', requestId: 'Tq8Kpg7WjoEEMxw=' },
    });
    expect(response.body).not.toMatch(/Connections-abc|10\.0\.3\.7|at .*\.ts/);
  });
});
