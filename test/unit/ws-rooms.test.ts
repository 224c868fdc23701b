import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { WebSocketEvent } from '../../lambdas/handlers/middleware/websocket-event';
import { setHandlerEnvironment, unitCallbackUrl } from '../helpers/handler-environment';
import { lambdaContextFor } from '../helpers/lambda-context';

type RoomsModule = typeof import('../../lambdas/handlers/ws-rooms');

const dynamo = mockClient(DynamoDBDocumentClient);
const management = mockClient(ApiGatewayManagementApiClient);
const lambdaContext = lambdaContextFor('ws-rooms');
const epochSecondsFromNow = (offsetSeconds: number): string => String(Math.floor(Date.now() / 1000) + offsetSeconds);

/** A room request on the JSON protocol: the real-shaped message fixture with the route key and the frame. */
function roomEvent(
  action: string,
  frame: unknown,
  options: { permissions?: string; expiresIn?: number } = {},
): WebSocketEvent {
  const ping = JSON.parse(readFileSync(join(__dirname, '../fixtures/events/ws-message-ping.json'), 'utf8'));
  const event = { ...ping, body: JSON.stringify(frame) } as WebSocketEvent;
  event.requestContext.routeKey = action;
  event.requestContext.authorizer = {
    ...event.requestContext.authorizer,
    permissions: options.permissions ?? 'room:chat:*',
    tokenExpiresAt: epochSecondsFromNow(options.expiresIn ?? 3600),
  };
  return event;
}

let rooms: RoomsModule;

async function frameOf(event: WebSocketEvent) {
  const result = await rooms.handler(event, lambdaContext);
  expect(result.statusCode).toBe(200);
  return JSON.parse(result.body ?? '');
}

beforeAll(async () => {
  setHandlerEnvironment({
    TABLE_NAME: 'Connections',
    ROOM_TABLE_NAME: 'Rooms',
    CALLBACK_URL: unitCallbackUrl,
    ROOMS_PERMISSION: undefined,
  });
  rooms = await import('../../lambdas/handlers/ws-rooms');
});

beforeEach(() => {
  dynamo.reset();
  management.reset();
});

describe('ws-rooms: the join, leave and members routes', () => {
  const connectionId = 'Tq7vKdKRjoECJ1Q=';

  it("joins the caller's own connection to a granted room and answers joined", async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: { expiresAt: 1795700000 } });
    dynamo.on(PutCommand).resolves({});

    const frame = await frameOf(roomEvent('join', { action: 'join', room: 'chat:42', userId: 'someone-else' }));

    expect(frame).toMatchObject({ type: 'joined', data: { room: 'chat:42' } });
    // The target is the sender's own connection, whatever the frame says.
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, { Key: { userId: 'user123', connectionId } });
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'Rooms',
      Item: expect.objectContaining({ room: 'chat:42', connectionId, userId: 'user123', expiresAt: 1795700000 }),
    });
  });

  it('leaves with both writes and answers left', async () => {
    dynamo.on(UpdateCommand).resolves({});
    dynamo.on(DeleteCommand).resolves({});

    const frame = await frameOf(roomEvent('leave', { action: 'leave', room: 'chat:42' }));

    expect(frame).toMatchObject({ type: 'left', data: { room: 'chat:42' } });
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: 'Rooms',
      Key: { room: 'chat:42', connectionId },
    });
  });

  it('lists a granted room as users with connection counts', async () => {
    dynamo.on(QueryCommand).resolves({
      Items: [
        { room: 'chat:42', connectionId: 'a=', userId: 'user123', expiresAt: 1 },
        { room: 'chat:42', connectionId: 'b=', userId: 'user456', expiresAt: 1 },
        { room: 'chat:42', connectionId: 'c=', userId: 'user123', expiresAt: 1 },
      ],
    });

    const frame = await frameOf(roomEvent('members', { action: 'members', room: 'chat:42' }));

    expect(frame).toMatchObject({
      type: 'members',
      data: {
        room: 'chat:42',
        members: [
          { userId: 'user123', connections: 2 },
          { userId: 'user456', connections: 1 },
        ],
      },
    });
  });

  it.each([
    ['a room the token does not grant', roomEvent('join', { action: 'join', room: 'news' }), 'forbidden'],
    ['a bad room name', roomEvent('join', { action: 'join', room: 'chat 42' }), 'invalid_room'],
    ['no room', roomEvent('leave', { action: 'leave' }), 'invalid_room'],
    ['an expired token', roomEvent('join', { action: 'join', room: 'chat:42' }, { expiresIn: -600 }), 'token_expired'],
    [
      'a limit that is not an integer',
      roomEvent('members', { action: 'members', room: 'chat:1', limit: 'x' }),
      'validation_error',
    ],
    // One answer is one WebSocket message (128 KB): a socket's pages stop at 500 users.
    ['a page beyond 500', roomEvent('members', { action: 'members', room: 'chat:1', limit: 501 }), 'validation_error'],
  ])('refuses %s with an error frame, touching no table', async (_case, event, code) => {
    const frame = await frameOf(event);
    expect(frame).toMatchObject({ type: 'error', data: { code, message: expect.any(String) } });
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('answers a join of a connection that is gone with not_found', async () => {
    dynamo
      .on(UpdateCommand)
      .rejects(Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' }));
    dynamo.on(QueryCommand).resolves({ Items: [] });

    const frame = await frameOf(roomEvent('join', { action: 'join', room: 'chat:42' }));

    expect(frame).toMatchObject({
      type: 'error',
      data: { code: 'not_found', message: `connection ${connectionId} of user user123 is not connected` },
    });
  });
});
