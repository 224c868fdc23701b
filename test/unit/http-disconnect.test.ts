import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  ForbiddenException,
  GoneException,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteCommand, DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { HttpEvent } from '../../lambdas/handlers/middleware/http-request';
import { setHandlerEnvironment, unitCallbackUrl } from '../helpers/handler-environment';
import { httpEventFixture } from '../helpers/http-events';
import { lambdaContextFor } from '../helpers/lambda-context';

type DisconnectModule = typeof import('../../lambdas/handlers/http-disconnect');

const dynamo = mockClient(DynamoDBDocumentClient);
const management = mockClient(ApiGatewayManagementApiClient);

const lambdaContext = lambdaContextFor('http-disconnect');

const eventFrom = (patch?: (event: HttpEvent) => void): HttpEvent => httpEventFixture('http-user-disconnect', patch);

const asAdmin = (event: HttpEvent) => {
  event.requestContext.authorizer.lambda = { ...event.requestContext.authorizer.lambda, permissions: 'ws:admin' };
};
const target = (userId: string) => (event: HttpEvent) => {
  event.pathParameters = { userId };
};

let disconnect: DisconnectModule;

async function invoke(event: HttpEvent) {
  const response = await disconnect.handler(event, lambdaContext);
  return { statusCode: response.statusCode, body: JSON.parse(response.body) };
}

beforeAll(async () => {
  setHandlerEnvironment({ TABLE_NAME: 'Connections', CALLBACK_URL: unitCallbackUrl, ADMIN_PERMISSION: undefined });
  disconnect = await import('../../lambdas/handlers/http-disconnect');
});

beforeEach(() => {
  dynamo.reset();
  management.reset();
  dynamo.on(QueryCommand).callsFake((input) => ({
    Items: ['c1', 'c2'].map((connectionId) => ({
      userId: input.ExpressionAttributeValues[':userId'],
      connectionId,
      connectedAt: '2026-11-26T09:00:00.000Z',
      expiresAt: 4e9,
    })),
  }));
  dynamo.on(DeleteCommand).resolves({});
  management.on(DeleteConnectionCommand).resolves({});
});

describe('DELETE /websocket/users/{userId}/disconnect', () => {
  it('is forbidden to a plain user for another user, and closes nothing', async () => {
    expect(await invoke(eventFrom())).toEqual({
      statusCode: 403,
      body: {
        error: { code: 'forbidden', message: 'The permission "ws:admin" is required to disconnect another user' },
      },
    });
    expect(management).toHaveReceivedCommandTimes(DeleteConnectionCommand, 0);
  });

  it('lets anyone disconnect themselves', async () => {
    expect(await invoke(eventFrom(target('user123')))).toEqual({
      statusCode: 200,
      body: { userId: 'user123', disconnected: 2 },
    });
  });

  it('closes every connection through the management API and removes them, for an admin', async () => {
    management
      .on(DeleteConnectionCommand, { ConnectionId: 'c2' })
      .rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));

    expect(await invoke(eventFrom(asAdmin))).toEqual({ statusCode: 200, body: { userId: 'user456', disconnected: 2 } });
    expect(management).toHaveReceivedCommandWith(DeleteConnectionCommand, { ConnectionId: 'c1' });
    expect(management).toHaveReceivedCommandWith(DeleteConnectionCommand, { ConnectionId: 'c2' });
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { Key: { userId: 'user456', connectionId: 'c1' } });
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, { Key: { userId: 'user456', connectionId: 'c2' } });
  });

  it('reports a close that failed (other than 410) and keeps that connection registered', async () => {
    management
      .on(DeleteConnectionCommand, { ConnectionId: 'c1' })
      .rejects(new ForbiddenException({ message: 'no', $metadata: { httpStatusCode: 403 } }));

    expect(await invoke(eventFrom(asAdmin))).toEqual({
      statusCode: 200,
      body: { userId: 'user456', disconnected: 1, failed: [{ connectionId: 'c1', error: 'ForbiddenException' }] },
    });
    expect(dynamo).toHaveReceivedCommandTimes(DeleteCommand, 1);
  });

  it('answers 0 for a user with no connection', async () => {
    dynamo.on(QueryCommand).resolves({ Items: [] });
    expect(await invoke(eventFrom(asAdmin))).toEqual({ statusCode: 200, body: { userId: 'user456', disconnected: 0 } });
  });

  it('answers 401 without an authorizer context and 404 on an unknown route', async () => {
    const anonymous = eventFrom((e) => {
      (e.requestContext as { authorizer?: unknown }).authorizer = undefined;
    });
    expect(await invoke(anonymous)).toMatchObject({ statusCode: 401, body: { error: { code: 'unauthorized' } } });
    const unknown = eventFrom((e) => {
      e.routeKey = 'DELETE /websocket/users/{userId}';
    });
    expect(await invoke(unknown)).toMatchObject({ statusCode: 404 });
  });
});
