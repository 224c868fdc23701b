import { BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { WebSocketEvent } from '../../lambdas/handlers/middleware/websocket-event';
import disconnectFixture from '../fixtures/events/ws-disconnect.json';
import { setHandlerEnvironment, unitCallbackUrl } from '../helpers/handler-environment';
import { lambdaContextFor } from '../helpers/lambda-context';

type DisconnectModule = typeof import('../../lambdas/handlers/ws-disconnect');
type ObservabilityModule = typeof import('../../lambdas/core/observability');

const documentMock = mockClient(DynamoDBDocumentClient);
const lambdaContext = lambdaContextFor('ws-disconnect');

let disconnect: DisconnectModule;
let observability: ObservabilityModule;

function disconnectEvent(): WebSocketEvent {
  return structuredClone(disconnectFixture) as WebSocketEvent;
}

beforeAll(async () => {
  setHandlerEnvironment({
    TABLE_NAME: 'connections-unit',
    ROOM_TABLE_NAME: 'rooms-unit',
    CALLBACK_URL: unitCallbackUrl,
  });
  disconnect = await import('../../lambdas/handlers/ws-disconnect');
  observability = await import('../../lambdas/core/observability');
});

beforeEach(() => {
  documentMock.reset();
  jest.restoreAllMocks();
});

describe('ws-disconnect handler', () => {
  it('deletes the connection under the userId of the authorizer context', async () => {
    // Prepare
    documentMock.on(DeleteCommand).resolves({});
    const addMetric = jest.spyOn(observability.metrics, 'addMetric');
    // Act
    const result = await disconnect.handler(disconnectEvent(), lambdaContext);
    // Assess
    expect(result).toEqual({ statusCode: 200 });
    expect(documentMock).toHaveReceivedCommandTimes(DeleteCommand, 1);
    expect(documentMock).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: 'connections-unit',
      Key: { userId: 'user123', connectionId: 'Tq7vKdKRjoECJ1Q=' },
      ReturnValues: 'ALL_OLD',
    });
    expect(documentMock).not.toHaveReceivedCommand(BatchWriteCommand);
    expect(addMetric).toHaveBeenCalledWith('ConnectionsClosed', 'Count', 1);
  });

  it('deletes the memberships of the rooms the deleted item listed, in the room index', async () => {
    documentMock.on(DeleteCommand).resolves({ Attributes: { rooms: new Set(['chat:1', 'chat:2']) } });
    documentMock.on(BatchWriteCommand).resolves({});

    await expect(disconnect.handler(disconnectEvent(), lambdaContext)).resolves.toEqual({ statusCode: 200 });

    expect(documentMock).toHaveReceivedCommandWith(BatchWriteCommand, {
      RequestItems: {
        'rooms-unit': [
          { DeleteRequest: { Key: { room: 'chat:1', connectionId: 'Tq7vKdKRjoECJ1Q=' } } },
          { DeleteRequest: { Key: { room: 'chat:2', connectionId: 'Tq7vKdKRjoECJ1Q=' } } },
        ],
      },
    });
  });

  it('leaves the item to its TTL when the event has no authorizer context', async () => {
    const event = disconnectEvent();
    delete event.requestContext.authorizer;
    const warn = jest.spyOn(observability.logger, 'warn');
    await expect(disconnect.handler(event, lambdaContext)).resolves.toEqual({ statusCode: 200 });
    expect(documentMock).not.toHaveReceivedAnyCommand();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('will expire'), { connectionId: 'Tq7vKdKRjoECJ1Q=' });
  });

  it('logs and rethrows a DynamoDB failure', async () => {
    documentMock.on(DeleteCommand).rejects(new Error('InternalServerError'));
    const logError = jest.spyOn(observability.logger, 'error');
    await expect(disconnect.handler(disconnectEvent(), lambdaContext)).rejects.toThrow('InternalServerError');
    expect(logError).toHaveBeenCalledWith(
      'unexpected error on a WebSocket route',
      expect.objectContaining({ routeKey: '$disconnect', connectionId: 'Tq7vKdKRjoECJ1Q=' }),
    );
  });
});
