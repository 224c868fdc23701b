import { Logger } from '@aws-lambda-powertools/logger';
import middy from '@middy/core';
import { ForbiddenError, ValidationError } from '../../lambdas/core/errors';
import { clientErrorResult, webSocketErrors } from '../../lambdas/handlers/middleware/websocket-errors';
import {
  readAuthorizerContext,
  type WebSocketEvent,
  type WebSocketResult,
} from '../../lambdas/handlers/middleware/websocket-event';
import pingFixture from '../fixtures/events/ws-message-ping.json';
import { lambdaContextFor } from '../helpers/lambda-context';

const lambdaContext = lambdaContextFor('ws-frames');
const silentLogger = new Logger({ logLevel: 'SILENT' });
const logError = jest.spyOn(silentLogger, 'error');

function eventOn(routeKey: string): WebSocketEvent {
  const event = structuredClone(pingFixture) as WebSocketEvent;
  event.requestContext.routeKey = routeKey;
  return event;
}

function failingWith(error: Error) {
  return middy<WebSocketEvent, WebSocketResult>()
    .use(webSocketErrors({ logger: silentLogger }))
    .handler(async () => {
      throw error;
    });
}

beforeEach(() => jest.clearAllMocks());

describe('webSocketErrors', () => {
  it('answers a client mistake on a route with a route response with an error frame', async () => {
    const result = await failingWith(new ValidationError('type must be 1 to 64 characters'))(
      eventOn('send'),
      lambdaContext,
    );
    expect(result.statusCode).toBe(200);
    expect(JSON.parse(result.body ?? '')).toMatchObject({
      type: 'error',
      data: { code: 'validation_error', message: 'type must be 1 to 64 characters' },
    });
  });

  it('refuses the handshake with the error status on $connect', async () => {
    const result = await failingWith(new ForbiddenError('origin not allowed'))(eventOn('$connect'), lambdaContext);
    expect(result).toEqual({
      statusCode: 403,
      body: JSON.stringify({ error: { code: 'forbidden', message: 'origin not allowed' } }),
    });
  });

  it('answers only a status where nobody reads the body ($disconnect)', () => {
    expect(clientErrorResult('$disconnect', new ValidationError('x'))).toEqual({ statusCode: 400 });
  });

  it('logs any other error with route and connection and rethrows it, showing the client nothing', async () => {
    const failure = new Error('socket hang up');
    await expect(failingWith(failure)(eventOn('ping'), lambdaContext)).rejects.toBe(failure);
    expect(logError).toHaveBeenCalledWith('unexpected error on a WebSocket route', {
      routeKey: 'ping',
      connectionId: 'Tq7vKdKRjoECJ1Q=',
      apiRequestId: 'Tq8QfHxqjoEFZkw=',
      error: failure,
    });
  });
});

describe('readAuthorizerContext', () => {
  it('turns the stringified tokenExpiresAt API Gateway passes back into a number', () => {
    expect(readAuthorizerContext(eventOn('ping').requestContext)).toEqual({
      userId: 'user123',
      permissions: 'ws:broadcast',
      tokenExpiresAt: 1795690800,
    });
  });

  it.each([
    ['no authorizer', undefined],
    ['a null authorizer', null],
    ['no userId', { permissions: '', tokenExpiresAt: '1' }],
    ['a numeric userId', { userId: 7, permissions: '', tokenExpiresAt: '1' }],
    ['a tokenExpiresAt that is not a number', { userId: 'u', permissions: '', tokenExpiresAt: 'soon' }],
  ])('gives undefined for %s', (_, authorizer) => {
    expect(readAuthorizerContext({ authorizer })).toBeUndefined();
  });

  it('defaults missing permissions to none', () => {
    expect(readAuthorizerContext({ authorizer: { userId: 'u', tokenExpiresAt: 5 } })).toEqual({
      userId: 'u',
      permissions: '',
      tokenExpiresAt: 5,
    });
  });
});
