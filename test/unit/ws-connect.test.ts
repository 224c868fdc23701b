import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { WebSocketEvent } from '../../lambdas/handlers/middleware/websocket-event';
import connectFixture from '../fixtures/events/ws-connect.json';
import { setHandlerEnvironment } from '../helpers/handler-environment';
import { lambdaContextFor } from '../helpers/lambda-context';

type ConnectModule = typeof import('../../lambdas/handlers/ws-connect');
type ObservabilityModule = typeof import('../../lambdas/core/observability');

const documentMock = mockClient(DynamoDBDocumentClient);
const sqsMock = mockClient(SQSClient);
const openingQueueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/openings';
const lambdaContext = lambdaContextFor('ws-connect');

let connect: ConnectModule;
let observability: ObservabilityModule;

function connectEvent(): WebSocketEvent {
  return structuredClone(connectFixture) as WebSocketEvent;
}

beforeAll(async () => {
  setHandlerEnvironment({ TABLE_NAME: 'connections-unit', OPENING_QUEUE_URL: openingQueueUrl });
  connect = await import('../../lambdas/handlers/ws-connect');
  observability = await import('../../lambdas/core/observability');
});

beforeEach(() => {
  documentMock.reset();
  sqsMock.reset();
  jest.restoreAllMocks();
});

describe('ws-connect handler', () => {
  it('registers the authorizer userId with the connectionId and echoes the offered subprotocol', async () => {
    // Prepare
    documentMock.on(PutCommand).resolves({});
    // Act
    const result = await connect.handler(connectEvent(), lambdaContext);
    // Assess
    expect(result).toEqual({ statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'realtime-gateway.v1' } });
    expect(documentMock).toHaveReceivedCommandTimes(PutCommand, 1);
    expect(documentMock).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'connections-unit',
      Item: {
        userId: 'user123',
        connectionId: 'Tq7vKdKRjoECJ1Q=',
        connectedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        expiresAt: expect.any(Number),
      },
    });
  });

  it('records a Socket.IO connection with its protocol and queues its Engine.IO open first', async () => {
    // Prepare: the authorizer saw EIO=4&transport=websocket and put the protocol in the context
    const order: string[] = [];
    documentMock.on(PutCommand).callsFake(() => order.push('put'));
    sqsMock.on(SendMessageCommand).callsFake(() => order.push('queue'));
    const event = connectEvent();
    event.requestContext.authorizer = { ...event.requestContext.authorizer, protocol: 'socket.io' };
    // Act
    const result = await connect.handler(event, lambdaContext);
    // Assess
    expect(result.statusCode).toBe(200);
    expect(documentMock).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ connectionId: 'Tq7vKdKRjoECJ1Q=', protocol: 'socket.io' }),
    });
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: openingQueueUrl });
    const body = JSON.parse(sqsMock.commandCalls(SendMessageCommand)[0].args[0].input.MessageBody ?? '');
    expect(body).toEqual({ connectionId: 'Tq7vKdKRjoECJ1Q=', queuedAt: expect.any(Number) });
    expect(order).toEqual(['queue', 'put']);
  });

  it('refuses the handshake with nothing registered when the opening cannot be queued', async () => {
    documentMock.on(PutCommand).resolves({});
    sqsMock.on(SendMessageCommand).rejects(new Error('ServiceUnavailable'));
    const event = connectEvent();
    event.requestContext.authorizer = { ...event.requestContext.authorizer, protocol: 'socket.io' };

    await expect(connect.handler(event, lambdaContext)).rejects.toThrow('ServiceUnavailable');

    expect(documentMock).not.toHaveReceivedCommand(PutCommand);
  });

  it('queues nothing and writes no protocol for a JSON connection', async () => {
    documentMock.on(PutCommand).resolves({});
    await connect.handler(connectEvent(), lambdaContext);
    expect(sqsMock).not.toHaveReceivedAnyCommand();
    expect(documentMock.commandCalls(PutCommand)[0].args[0].input.Item).not.toHaveProperty('protocol');
  });

  it('echoes no subprotocol to a client that offered none (a Node client with an Authorization header)', async () => {
    documentMock.on(PutCommand).resolves({});
    const event = connectEvent();
    event.headers = { Host: 'k3x9q2w7e1.execute-api.eu-west-1.amazonaws.com', Authorization: 'Bearer eyJ.x.y' };
    await expect(connect.handler(event, lambdaContext)).resolves.toEqual({ statusCode: 200 });
  });

  it('never echoes the bearer entry, even when it is the only subprotocol offered', async () => {
    documentMock.on(PutCommand).resolves({});
    const event = connectEvent();
    event.headers = { 'Sec-WebSocket-Protocol': 'bearer.eyJ.x.y' };
    await expect(connect.handler(event, lambdaContext)).resolves.toEqual({ statusCode: 200 });
  });

  it('refuses with 401, without a registry write, when the event has no authorizer context', async () => {
    const event = connectEvent();
    delete event.requestContext.authorizer;
    const result = await connect.handler(event, lambdaContext);
    expect(result.statusCode).toBe(401);
    expect(JSON.parse(result.body ?? '')).toEqual({
      error: { code: 'unauthorized', message: 'A valid bearer token is required' },
    });
    expect(documentMock).not.toHaveReceivedCommand(PutCommand);
  });

  it('treats a context whose userId is empty as no context', async () => {
    const event = connectEvent();
    event.requestContext.authorizer = { ...event.requestContext.authorizer, userId: '' };
    await expect(connect.handler(event, lambdaContext)).resolves.toMatchObject({ statusCode: 401 });
    expect(documentMock).not.toHaveReceivedAnyCommand();
  });

  it('logs a DynamoDB failure with the route and connection, then rethrows it', async () => {
    // Prepare
    documentMock.on(PutCommand).rejects(new Error('ProvisionedThroughputExceededException'));
    const logError = jest.spyOn(observability.logger, 'error');
    // Act
    const invocation = connect.handler(connectEvent(), lambdaContext);
    // Assess
    await expect(invocation).rejects.toThrow('ProvisionedThroughputExceededException');
    expect(logError).toHaveBeenCalledWith(
      'unexpected error on a WebSocket route',
      expect.objectContaining({ routeKey: '$connect', connectionId: 'Tq7vKdKRjoECJ1Q=' }),
    );
    expect(documentMock).not.toHaveReceivedCommand(DeleteCommand);
  });
});

describe('acceptConnection metrics', () => {
  it('counts an opened connection, and a refused one as AuthRefused', async () => {
    const registry = {
      register: jest.fn(async (input: { userId: string; connectionId: string }) => ({
        ...input,
        connectedAt: '2026-11-26T10:00:00.000Z',
        expiresAt: 1,
      })),
      remove: jest.fn(),
      connectionsOf: jest.fn(),
      listConnectedUsers: jest.fn(),
      scanConnections: jest.fn(),
    };
    const addMetric = jest.spyOn(observability.metrics, 'addMetric');
    const deps = {
      registry,
      logger: observability.logger,
      metrics: observability.metrics,
      queueOpening: jest.fn(),
    };

    await connect.acceptConnection(connectEvent(), deps);
    expect(addMetric).toHaveBeenLastCalledWith('ConnectionsOpened', 'Count', 1);

    const anonymous = connectEvent();
    anonymous.requestContext.authorizer = null;
    await connect.acceptConnection(anonymous, deps);
    expect(addMetric).toHaveBeenLastCalledWith('AuthRefused', 'Count', 1);
    expect(registry.register).toHaveBeenCalledTimes(1);
  });
});

describe('ws-connect configuration', () => {
  it('fails at cold start naming TABLE_NAME when it is missing', () => {
    const saved = process.env.TABLE_NAME;
    delete process.env.TABLE_NAME;
    try {
      jest.isolateModules(() => {
        expect(() => require('../../lambdas/handlers/ws-connect')).toThrow(
          'Configuration setting TABLE_NAME is required but not set',
        );
      });
    } finally {
      process.env.TABLE_NAME = saved;
    }
  });
});
