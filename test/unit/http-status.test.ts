import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { HttpEvent } from '../../lambdas/handlers/middleware/http-request';
import { setHandlerEnvironment } from '../helpers/handler-environment';
import { httpEventFixture } from '../helpers/http-events';
import { lambdaContextFor } from '../helpers/lambda-context';

type StatusModule = typeof import('../../lambdas/handlers/http-status');

const dynamo = mockClient(DynamoDBDocumentClient);
const management = mockClient(ApiGatewayManagementApiClient);

const lambdaContext = lambdaContextFor('http-status');

const eventFrom = httpEventFixture;

const asAdmin = (event: HttpEvent) => {
  event.requestContext.authorizer.lambda = { ...event.requestContext.authorizer.lambda, permissions: 'ws:admin' };
};
const query = (parameters: Record<string, string>) => (event: HttpEvent) => {
  event.queryStringParameters = parameters;
};
const adminWithQuery = (parameters: Record<string, string>) => (event: HttpEvent) => {
  asAdmin(event);
  query(parameters)(event);
};

const item = (userId: string, connectionId: string, connectedAt = '2026-11-26T09:00:00.000Z') => ({
  userId,
  connectionId,
  connectedAt,
  expiresAt: 4e9,
});

let status: StatusModule;

async function invoke(event: HttpEvent) {
  const response = await status.handler(event, lambdaContext);
  return { statusCode: response.statusCode, body: JSON.parse(response.body) };
}

beforeAll(async () => {
  // The status function gets the table, read-only, and no callback URL: it must not need one.
  setHandlerEnvironment({
    TABLE_NAME: 'Connections',
    CALLBACK_URL: undefined,
    ADMIN_PERMISSION: undefined,
    BROADCAST_PERMISSION: undefined,
    FAN_OUT_TABLE_NAME: 'FanOut',
  });
  status = await import('../../lambdas/handlers/http-status');
});

beforeEach(() => {
  dynamo.reset();
  management.reset();
  dynamo
    .on(QueryCommand)
    .callsFake((input) =>
      input.ExpressionAttributeValues[':userId'] === 'user123'
        ? { Items: [item('user123', 'me-1', '2026-11-26T08:00:00.000Z')] }
        : input.ExpressionAttributeValues[':userId'] === 'user456'
          ? { Items: [item('user456', 'a'), item('user456', 'b', '2026-11-26T09:30:00.000Z')] }
          : { Items: [] },
    );
});

describe('GET /websocket/me/status', () => {
  it('answers the caller own status, with no permission needed', async () => {
    expect(await invoke(eventFrom('http-me-status'))).toEqual({
      statusCode: 200,
      body: {
        userId: 'user123',
        connected: true,
        connectionCount: 1,
        connections: [{ connectionId: 'me-1', connectedAt: '2026-11-26T08:00:00.000Z' }],
      },
    });
  });
});

describe('GET /websocket/users/{userId}/status', () => {
  it("is forbidden to a plain user for another user's status", async () => {
    expect(await invoke(eventFrom('http-user-status'))).toEqual({
      statusCode: 403,
      body: {
        error: { code: 'forbidden', message: `The permission "ws:admin" is required to see another user's status` },
      },
    });
    expect(dynamo).toHaveReceivedCommandTimes(QueryCommand, 0);
  });

  it('answers a plain user their own status by id', async () => {
    const event = eventFrom('http-user-status', (e) => {
      e.pathParameters = { userId: 'user123' };
    });
    expect(await invoke(event)).toMatchObject({ statusCode: 200, body: { userId: 'user123', connectionCount: 1 } });
  });

  it('answers an admin any user status with each connectedAt', async () => {
    expect(await invoke(eventFrom('http-user-status', asAdmin))).toEqual({
      statusCode: 200,
      body: {
        userId: 'user456',
        connected: true,
        connectionCount: 2,
        connections: [
          { connectionId: 'a', connectedAt: '2026-11-26T09:00:00.000Z' },
          { connectionId: 'b', connectedAt: '2026-11-26T09:30:00.000Z' },
        ],
      },
    });
  });

  it('says not connected for a user with no live connection', async () => {
    const event = eventFrom('http-user-status', (e) => {
      asAdmin(e);
      e.pathParameters = { userId: 'nobody' };
    });
    expect(await invoke(event)).toEqual({
      statusCode: 200,
      body: { userId: 'nobody', connected: false, connectionCount: 0, connections: [] },
    });
  });

  it('refuses a userId over 128 characters with 400', async () => {
    const event = eventFrom('http-user-status', (e) => {
      asAdmin(e);
      e.pathParameters = { userId: 'u'.repeat(129) };
    });
    expect(await invoke(event)).toMatchObject({
      statusCode: 400,
      body: { error: { message: 'userId path parameter must be at most 128 characters' } },
    });
  });
});

describe('GET /websocket/users/connected', () => {
  it('is forbidden to a plain user', async () => {
    expect(await invoke(eventFrom('http-users-connected'))).toMatchObject({
      statusCode: 403,
      body: { error: { message: 'The permission "ws:admin" is required to list connected users' } },
    });
  });

  it('pages connected users with limit and cursor', async () => {
    dynamo.on(ScanCommand).resolves({ Items: [{ userId: 'a' }, { userId: 'b' }, { userId: 'c' }] });

    const first = await invoke(eventFrom('http-users-connected', asAdmin));

    expect(first).toEqual({ statusCode: 200, body: { users: ['a', 'b'], nextCursor: expect.any(String) } });

    dynamo.on(ScanCommand).resolves({ Items: [{ userId: 'c' }] });
    const second = await invoke(
      eventFrom('http-users-connected', (e) => {
        asAdmin(e);
        query({ limit: '2', cursor: first.body.nextCursor })(e);
      }),
    );
    expect(second).toEqual({ statusCode: 200, body: { users: ['c'] } });
    expect(dynamo).toHaveReceivedNthCommandWith(2, ScanCommand, {
      ExclusiveStartKey: { userId: 'b', connectionId: '\uffff' },
    });
  });

  it('defaults the limit to 50', async () => {
    dynamo.on(ScanCommand).resolves({ Items: Array.from({ length: 60 }, (_, i) => ({ userId: `u${i}` })) });
    const page = await invoke(eventFrom('http-users-connected', adminWithQuery({})));
    expect(page.body.users).toHaveLength(50);
  });

  it.each(['0', '101', 'ten', '-1', '1.5'])('refuses limit=%s with 400', async (limit) => {
    const response = await invoke(eventFrom('http-users-connected', adminWithQuery({ limit })));
    expect(response).toEqual({
      statusCode: 400,
      body: { error: { code: 'validation_error', message: 'limit must be an integer from 1 to 100' } },
    });
  });

  it('refuses a cursor that is not one of ours with 400', async () => {
    const response = await invoke(eventFrom('http-users-connected', adminWithQuery({ cursor: 'not a cursor!' })));
    expect(response).toMatchObject({ statusCode: 400, body: { error: { code: 'invalid_cursor' } } });
  });
});

describe('the status function', () => {
  it('never calls the management API', async () => {
    await invoke(eventFrom('http-me-status'));
    expect(management.calls()).toHaveLength(0);
  });

  it('answers the $default route (a request no route matched) with 404 naming the request and the routes', async () => {
    const event = eventFrom('http-me-status', (e) => {
      e.routeKey = '$default';
      e.rawPath = '/websocket/nothing';
      e.requestContext.routeKey = '$default';
      e.requestContext.http.method = 'POST';
    });

    const response = await status.handler(event, lambdaContext);

    expect(response.statusCode).toBe(404);
    expect(response.headers).toMatchObject({ 'content-type': 'application/json; charset=utf-8' });
    expect(JSON.parse(response.body)).toEqual({
      error: {
        code: 'not_found',
        message:
          'No route POST /websocket/nothing. Routes: POST /websocket/message/user, POST /websocket/message/users, ' +
          'POST /websocket/message/broadcast, POST /websocket/message/room, POST /websocket/notification, GET /websocket/users/connected, ' +
          'GET /websocket/users/{userId}/status, GET /websocket/me/status, GET /websocket/broadcasts/{broadcastId}, DELETE /websocket/users/{userId}/disconnect, ' +
          'GET /websocket/rooms/{room}/members, POST /websocket/rooms/{room}/members, DELETE /websocket/rooms/{room}/members',
      },
    });
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('answers the $default route 401 when the authorizer context is missing, and cuts a very long path', async () => {
    const anonymous = eventFrom('http-me-status', (e) => {
      e.routeKey = '$default';
      e.requestContext.authorizer = undefined as unknown as HttpEvent['requestContext']['authorizer'];
    });
    const longPath = eventFrom('http-me-status', (e) => {
      e.routeKey = '$default';
      e.rawPath = `/${'x'.repeat(5000)}`;
    });

    expect(await invoke(anonymous)).toMatchObject({ statusCode: 401, body: { error: { code: 'unauthorized' } } });
    const { body } = await invoke(longPath);
    expect(body.error.message).toMatch(/^No route GET \/x{199}…\. Routes: /);
  });

  it('answers 401 to a token that expired while its authorizer answer was cached', async () => {
    const expired = eventFrom('http-me-status', (e) => {
      e.requestContext.authorizer.lambda = {
        ...e.requestContext.authorizer.lambda,
        tokenExpiresAt: Math.floor(Date.now() / 1000) - 60,
      };
    });

    expect(await invoke(expired)).toEqual({
      statusCode: 401,
      body: { error: { code: 'unauthorized', message: 'The token has expired' } },
    });
    expect(dynamo.calls()).toHaveLength(0);
  });

  it('answers an unknown route with 404', async () => {
    const event = eventFrom('http-me-status', (e) => {
      e.routeKey = 'GET /websocket/me';
    });
    expect(await invoke(event)).toMatchObject({ statusCode: 404, body: { error: { code: 'not_found' } } });
  });
});

describe('GET /websocket/broadcasts/{broadcastId}', () => {
  const broadcastEvent = (broadcastId: string, permissions: string) =>
    eventFrom('http-user-status', (event) => {
      event.routeKey = 'GET /websocket/broadcasts/{broadcastId}';
      event.rawPath = `/websocket/broadcasts/${broadcastId}`;
      event.pathParameters = { broadcastId };
      event.requestContext.authorizer.lambda = { ...event.requestContext.authorizer.lambda, permissions };
    });
  const stateOf = (items: Record<string, unknown>[]) =>
    dynamo.on(QueryCommand, { TableName: 'FanOut', ExpressionAttributeValues: { ':pk': 'broadcast#b-1' } }).resolves({
      Items: items,
    });

  it('answers the counts and when the broadcast finished to a holder of ws:broadcast', async () => {
    stateOf([
      {
        pk: 'broadcast#b-1',
        sk: 'status',
        broadcastId: 'b-1',
        messageId: 'm-1',
        type: 'system',
        slices: 2,
        createdAt: '2026-11-27T10:00:00.000Z',
        expiresAt: 4e9,
      },
      {
        pk: 'broadcast#b-1',
        sk: 'slice#0000',
        segment: 0,
        done: true,
        runs: 2,
        delivered: 10,
        stale: 1,
        unknown: 3,
        finishedAt: '2026-11-27T10:00:02.000Z',
      },
      {
        pk: 'broadcast#b-1',
        sk: 'slice#0001',
        segment: 1,
        done: true,
        runs: 1,
        delivered: 7,
        failed: 1,
        throttled: 4,
        finishedAt: '2026-11-27T10:00:01.000Z',
      },
    ]);

    const response = await invoke(broadcastEvent('b-1', 'ws:broadcast'));

    expect(response).toEqual({
      statusCode: 200,
      body: {
        broadcastId: 'b-1',
        messageId: 'm-1',
        type: 'system',
        createdAt: '2026-11-27T10:00:00.000Z',
        state: 'complete',
        complete: true,
        finishedAt: '2026-11-27T10:00:02.000Z',
        slices: { total: 2, queued: 0, running: 0, done: 2, deadLettered: 0 },
        connections: { delivered: 17, failed: 1, stale: 1, unknown: 3, throttled: 4, pending: 0 },
      },
    });
  });

  it('says running while a slice is unfinished, and failed once the rest are done and one is dead-lettered', async () => {
    const record = {
      pk: 'broadcast#b-1',
      sk: 'status',
      broadcastId: 'b-1',
      messageId: 'm-1',
      type: 'system',
      slices: 2,
      createdAt: '2026-11-27T10:00:00.000Z',
      expiresAt: 4e9,
    };
    const done = {
      pk: 'broadcast#b-1',
      sk: 'slice#0000',
      segment: 0,
      done: true,
      runs: 1,
      delivered: 5,
      finishedAt: '2026-11-27T10:00:01.000Z',
    };
    stateOf([
      record,
      done,
      { pk: 'broadcast#b-1', sk: 'slice#0001', segment: 1, runs: 1, inFlight: 50, delivered: 100 },
    ]);
    const running = await invoke(broadcastEvent('b-1', 'ws:broadcast'));
    stateOf([
      record,
      done,
      {
        pk: 'broadcast#b-1',
        sk: 'slice#0001',
        segment: 1,
        runs: 5,
        deadLettered: true,
        finishedAt: '2026-11-27T10:05:00.000Z',
      },
    ]);
    const failed = await invoke(broadcastEvent('b-1', 'ws:broadcast'));

    expect(running.body).toMatchObject({ state: 'running', complete: false, connections: { pending: 50 } });
    expect(running.body).not.toHaveProperty('finishedAt');
    expect(failed.body).toMatchObject({
      state: 'failed',
      complete: false,
      finishedAt: '2026-11-27T10:05:00.000Z',
      slices: { done: 1, deadLettered: 1 },
    });
  });

  it("answers a room fan-out's status to whoever may send to its room, and 403 to others, as for an unknown id", async () => {
    stateOf([
      {
        pk: 'broadcast#b-1',
        sk: 'status',
        broadcastId: 'b-1',
        messageId: 'm-1',
        type: 'chat',
        room: 'chat:42',
        slices: 1,
        createdAt: '2026-11-27T10:00:00.000Z',
        expiresAt: 4e9,
      },
      { pk: 'broadcast#b-1', sk: 'slice#0000', segment: 0, runs: 1, delivered: 3 },
    ]);

    const byPattern = await invoke(broadcastEvent('b-1', 'room:chat:*'));
    const byAnyRoom = await invoke(broadcastEvent('b-1', 'ws:rooms'));
    const otherRoom = await invoke(broadcastEvent('b-1', 'room:news'));

    expect(byPattern).toMatchObject({
      statusCode: 200,
      body: { broadcastId: 'b-1', room: 'chat:42', state: 'running', connections: { delivered: 3 } },
    });
    expect(byAnyRoom.statusCode).toBe(200);
    expect(otherRoom).toMatchObject({ statusCode: 403, body: { error: { code: 'forbidden' } } });
    stateOf([]);
    expect(await invoke(broadcastEvent('b-1', 'room:chat:*'))).toMatchObject({ statusCode: 403 });
  });

  it('answers 404 in the error shape for an unknown id, 400 for a malformed one, 403 without ws:broadcast', async () => {
    stateOf([]);

    expect(await invoke(broadcastEvent('b-1', 'ws:broadcast'))).toMatchObject({
      statusCode: 404,
      body: { error: { code: 'not_found', message: 'No broadcast b-1 (unknown, or its state has expired)' } },
    });
    expect(await invoke(broadcastEvent('a.b', 'ws:broadcast'))).toMatchObject({
      statusCode: 400,
      body: { error: { code: 'invalid_broadcast_id' } },
    });
    expect(await invoke(broadcastEvent('b-1', ''))).toMatchObject({
      statusCode: 403,
      body: { error: { code: 'forbidden' } },
    });
  });
});
