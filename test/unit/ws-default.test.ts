import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBDocumentClient, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { WebSocketEvent } from '../../lambdas/handlers/middleware/websocket-event';
import defaultFixture from '../fixtures/events/ws-default.json';
import { setHandlerEnvironment, unitCallbackUrl } from '../helpers/handler-environment';
import { lambdaContextFor } from '../helpers/lambda-context';

type DefaultModule = typeof import('../../lambdas/handlers/ws-default');

const dynamo = mockClient(DynamoDBDocumentClient);
const management = mockClient(ApiGatewayManagementApiClient);
const lambdaContext = lambdaContextFor('ws-default');

let defaultRoute: DefaultModule;

/**
 * A `$default` event (the real-shaped fixture) carrying `body`; `socketIo` marks the connection as one the authorizer
 * saw ask for Engine.IO (`protocol` in its context), with a token that expires in an hour.
 */
function frameEvent(body: string, socketIo = true, permissions?: string): WebSocketEvent {
  const event = structuredClone(defaultFixture) as WebSocketEvent;
  event.body = body;
  const authorizer = {
    ...event.requestContext.authorizer,
    ...(permissions === undefined ? {} : { permissions }),
    tokenExpiresAt: String(Math.floor(Date.now() / 1000) + 3600),
  };
  event.requestContext.authorizer = socketIo ? { ...authorizer, protocol: 'socket.io' } : authorizer;
  return event;
}

async function answer(body: string, socketIo = true, permissions?: string): Promise<string | undefined> {
  const result = await defaultRoute.handler(frameEvent(body, socketIo, permissions), lambdaContext);
  expect(result.statusCode).toBe(200);
  return result.body;
}

/** The Socket.IO EVENT or ACK packet of an answer, parsed: its type digits and its JSON array. */
function packetOf(frame: string | undefined): { head: string; args: unknown[] } {
  const match = /^(4[23]\d*)(\[.*\])$/s.exec(frame ?? '');
  if (!match) throw new Error(`not an EVENT or ACK packet: ${frame}`);
  return { head: match[1], args: JSON.parse(match[2]) };
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
    ROOMS_PERMISSION: undefined,
  });
  defaultRoute = await import('../../lambdas/handlers/ws-default');
});

beforeEach(() => {
  dynamo.reset();
  management.reset();
  management.on(PostToConnectionCommand).resolves({});
});

describe('ws-default on a Socket.IO connection', () => {
  const connectionId = defaultFixture.requestContext.connectionId;
  const userId = defaultFixture.requestContext.authorizer.userId;

  it('answers the namespace CONNECT with the connection id as the socket id', async () => {
    expect(await answer('40')).toBe(`40${JSON.stringify({ sid: connectionId })}`);
    // The token was checked at $connect; CONNECT's auth payload changes nothing.
    expect(await answer('40{"token":"anything"}')).toBe(`40${JSON.stringify({ sid: connectionId })}`);
  });

  it('refuses another namespace with CONNECT_ERROR', async () => {
    expect(await answer('40/admin,')).toBe('44/admin,{"message":"Invalid namespace"}');
  });

  it('answers an Engine.IO ping with a pong, and sends nothing back for a pong or a DISCONNECT', async () => {
    expect(await answer('2')).toBe('3');
    expect(await answer('3')).toBeUndefined();
    expect(await answer('41')).toBeUndefined();
  });

  it('answers the ping and hello events like the JSON routes, as events or as the ack of an emit with a callback', async () => {
    const pong = packetOf(await answer('42["ping"]'));
    const hello = packetOf(await answer('427["hello"]'));

    expect(pong).toEqual({
      head: '42',
      args: ['pong', { serverTime: expect.any(String) }, { id: expect.any(String), timestamp: expect.any(String) }],
    });
    expect(hello).toEqual({
      head: '437',
      args: [{ userId, connectionId }, expect.objectContaining({ id: expect.any(String) })],
    });
  });

  it('delivers a send event like the send route, the sender from the token, and answers the delivery', async () => {
    dynamo.on(QueryCommand).resolves({
      Items: [{ userId: 'user456', connectionId: 'r1', connectedAt: 't', expiresAt: 9999999999 }],
    });

    const delivery = packetOf(
      await answer('42["send",{"userId":"user456","type":"chat","data":{"message":"Hi"},"from":"x"}]'),
    );

    expect(delivery.args[0]).toBe('delivery');
    expect(delivery.args[1]).toMatchObject({ recipients: { user456: 'delivered' } });
    const posted = JSON.parse(
      new TextDecoder().decode(management.commandCalls(PostToConnectionCommand)[0].args[0].input.Data as Uint8Array),
    );
    expect(posted).toMatchObject({ type: 'chat', data: { message: 'Hi' }, from: userId });
  });

  it("sends to a room with a send event naming it, answered with the room's counts (an ACK for an emit with a callback)", async () => {
    dynamo.on(QueryCommand, { TableName: 'Rooms' }).resolves({
      Items: [{ room: 'chat:42', userId: 'user456', connectionId: 'm1', protocol: 'socket.io', expiresAt: 9999999999 }],
    });
    const event = frameEvent('421["send",{"room":"chat:42","type":"chat","data":{"message":"Hi room"}}]');
    event.requestContext.authorizer = { ...event.requestContext.authorizer, permissions: 'room:chat:*' };

    const result = await defaultRoute.handler(event, lambdaContext);
    const ack = packetOf(result.body);

    expect(ack.head).toBe('431');
    expect(ack.args[0]).toMatchObject({ delivery: 'synchronous', room: 'chat:42', connections: { delivered: 1 } });
    const posted = Buffer.from(
      management.commandCalls(PostToConnectionCommand)[0].args[0].input.Data as Uint8Array,
    ).toString();
    expect(posted).toMatch(new RegExp(`^42\\["chat",\\{"message":"Hi room"\\},\\{.*"from":"${userId}"`));
  });

  it('refuses a send to a room the token does not grant with an error event, reading nothing', async () => {
    const refused = packetOf(await answer('42["send",{"room":"chat:42","type":"chat","data":{}}]'));

    expect(refused.args.slice(0, 2)).toEqual([
      'error',
      { code: 'forbidden', message: expect.stringContaining('room "chat:42"') },
    ]);
    expect(dynamo.calls()).toHaveLength(0);
    expect(management).not.toHaveReceivedCommand(PostToConnectionCommand);
  });

  it("joins a room the token grants with emit('join', room, ack): the registry item's rooms, then the member item", async () => {
    dynamo.on(UpdateCommand).resolves({ Attributes: { expiresAt: 1795700000, protocol: 'socket.io' } });
    dynamo.on(PutCommand).resolves({});

    const joined = packetOf(await answer('421["join","chat:42"]', true, 'room:chat:*'));

    expect(joined.args[0]).toEqual({ room: 'chat:42' });
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'Connections',
      Key: { userId, connectionId },
      UpdateExpression: 'ADD #rooms :room',
    });
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'Rooms',
      Item: expect.objectContaining({
        room: 'chat:42',
        connectionId,
        userId,
        expiresAt: 1795700000,
        protocol: 'socket.io',
      }),
    });
  });

  it('refuses a room the token does not grant with an error naming the grant it needs, touching nothing', async () => {
    const refused = packetOf(await answer('421["join","news"]', true, 'room:chat:*'));
    const badName = packetOf(await answer('422["join","chat 42"]', true, 'room:*'));

    expect(refused.args[0]).toEqual({
      code: 'forbidden',
      message:
        'room "news" is not granted to this caller: the token needs a permission "room:<pattern>" matching "news" (e.g. "room:news") or the permission "ws:rooms"',
    });
    expect(badName.args[0]).toEqual({
      code: 'invalid_room',
      message: expect.stringContaining('room may contain only'),
    });
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('answers a refused send, an unknown event and an unreadable packet with an error event, never a JSON frame', async () => {
    const refused = packetOf(await answer('42["send",{"type":"chat","data":{}}]'));
    const unknown = packetOf(await answer('42["dance"]'));
    const unreadable = packetOf(await answer('{"action":"ping"}'));

    expect(refused.args.slice(0, 2)).toEqual(['error', { code: 'validation_error', message: expect.any(String) }]);
    expect(unknown.args.slice(0, 2)).toEqual([
      'error',
      { code: 'unknown_action', message: expect.stringContaining('dance') },
    ]);
    expect(unreadable.args.slice(0, 2)).toEqual(['error', { code: 'invalid_frame', message: expect.any(String) }]);
    expect(management).not.toHaveReceivedCommand(PostToConnectionCommand);
  });
});

describe('ws-default on a JSON connection', () => {
  it('answers what reached $default with the JSON error frame, as before', async () => {
    const frame = JSON.parse((await answer('42["ping"]', false)) ?? '');
    expect(frame).toMatchObject({ type: 'error', data: { code: 'not_json' } });
  });
});
