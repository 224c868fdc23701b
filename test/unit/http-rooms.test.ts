import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { HttpEvent } from '../../lambdas/handlers/middleware/http-request';
import { setHandlerEnvironment, unitCallbackUrl } from '../helpers/handler-environment';
import { httpEventFixture } from '../helpers/http-events';
import { lambdaContextFor } from '../helpers/lambda-context';

type RoomsModule = typeof import('../../lambdas/handlers/http-rooms');

const dynamo = mockClient(DynamoDBDocumentClient);
const management = mockClient(ApiGatewayManagementApiClient);
const lambdaContext = lambdaContextFor('http-rooms');
let rooms: RoomsModule;

/** A room route's event: the real-shaped status fixture with the route, the room (as API Gateway decodes it), a body. */
function roomEvent(
  method: 'GET' | 'POST' | 'DELETE',
  room: string,
  options: { body?: unknown; permissions?: string; query?: Record<string, string> } = {},
): HttpEvent {
  return httpEventFixture('http-user-status', (event) => {
    const routeKey = `${method} /websocket/rooms/{room}/members`;
    event.routeKey = routeKey;
    event.requestContext.routeKey = routeKey;
    event.requestContext.http.method = method;
    event.rawPath = `/websocket/rooms/${encodeURIComponent(room)}/members`;
    event.pathParameters = { room };
    event.queryStringParameters = options.query;
    event.requestContext.authorizer!.lambda!.permissions = options.permissions ?? '';
    if (options.body !== undefined) {
      event.body = JSON.stringify(options.body);
      event.headers['content-type'] = 'application/json';
    }
  });
}

async function invoke(event: HttpEvent) {
  const response = await rooms.handler(event, lambdaContext);
  return { statusCode: response.statusCode, body: JSON.parse(response.body) };
}

beforeAll(async () => {
  setHandlerEnvironment({
    TABLE_NAME: 'Connections',
    ROOM_TABLE_NAME: 'Rooms',
    CALLBACK_URL: unitCallbackUrl,
    ROOMS_PERMISSION: undefined,
  });
  rooms = await import('../../lambdas/handlers/http-rooms');
});

beforeEach(() => {
  dynamo.reset();
  management.reset();
});

describe('POST /websocket/rooms/{room}/members', () => {
  it('joins every live connection of another user for a holder of ws:rooms, and answers the count', async () => {
    dynamo.on(QueryCommand).resolves({
      Items: [
        { userId: 'user456', connectionId: 'a=', connectedAt: 't', expiresAt: 9999999999 },
        { userId: 'user456', connectionId: 'b=', connectedAt: 't', expiresAt: 9999999999 },
      ],
    });
    dynamo.on(UpdateCommand).resolves({ Attributes: { expiresAt: 9999999999 } });
    dynamo.on(PutCommand).resolves({});

    const answer = await invoke(
      roomEvent('POST', 'team/ops', { body: { userId: 'user456' }, permissions: 'ws:rooms' }),
    );

    expect(answer).toEqual({ statusCode: 200, body: { room: 'team/ops', userId: 'user456', connections: 2 } });
    expect(dynamo).toHaveReceivedCommandTimes(PutCommand, 2);
  });

  it("joins the caller's own connections to a granted room without ws:rooms, with no body", async () => {
    dynamo.on(QueryCommand).resolves({
      Items: [{ userId: 'user123', connectionId: 'own=', connectedAt: 't', expiresAt: 9999999999 }],
    });
    dynamo.on(UpdateCommand).resolves({ Attributes: { expiresAt: 9999999999 } });
    dynamo.on(PutCommand).resolves({});

    const answer = await invoke(roomEvent('POST', 'chat:1', { permissions: 'room:chat:*' }));

    expect(answer).toEqual({ statusCode: 200, body: { room: 'chat:1', userId: 'user123', connections: 1 } });
  });

  it.each([
    [
      "another user's connections without ws:rooms",
      { body: { userId: 'user456' }, permissions: 'room:chat:*' },
      'chat:1',
      403,
      'forbidden',
    ],
    ['a room the token does not grant', { permissions: 'room:chat:*' }, 'news', 403, 'forbidden'],
    ['a bad room name', { permissions: 'ws:rooms' }, 'chat 1', 400, 'invalid_room'],
    ['a bad userId', { body: { userId: '' }, permissions: 'ws:rooms' }, 'chat:1', 400, 'validation_error'],
  ])('refuses %s in the API error shape', async (_case, options, room, status, code) => {
    const answer = await invoke(roomEvent('POST', room, options));
    expect(answer).toEqual({ statusCode: status, body: { error: { code, message: expect.any(String) } } });
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('answers 404 for a user with no live connection', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });
    const answer = await invoke(roomEvent('POST', 'chat:1', { body: { userId: 'user789' }, permissions: 'ws:rooms' }));
    expect(answer).toEqual({
      statusCode: 404,
      body: { error: { code: 'not_found', message: 'user user789 has no live connection' } },
    });
  });
});

describe('GET /websocket/rooms/{room}/members', () => {
  it('lists a granted room, and refuses a room not granted', async () => {
    dynamo.on(QueryCommand).resolves({
      Items: [{ room: 'chat:1', connectionId: 'a=', userId: 'user456', expiresAt: 9999999999 }],
    });

    const listed = await invoke(roomEvent('GET', 'chat:1', { permissions: 'room:chat:*', query: { limit: '10' } }));
    const refused = await invoke(roomEvent('GET', 'news', { permissions: 'room:chat:*' }));

    expect(listed).toEqual({
      statusCode: 200,
      body: { room: 'chat:1', members: [{ userId: 'user456', connections: 1 }] },
    });
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, { TableName: 'Rooms', Limit: 10, ConsistentRead: true });
    expect(refused.statusCode).toBe(403);
  });
});
