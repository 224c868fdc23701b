import type { WebSocketEvent } from '../../lambdas/handlers/middleware/websocket-event';
import defaultFixture from '../fixtures/events/ws-default.json';
import notJsonFixture from '../fixtures/events/ws-default-not-json.json';
import helloFixture from '../fixtures/events/ws-message-hello.json';
import pingFixture from '../fixtures/events/ws-message-ping.json';
import { setHandlerEnvironment } from '../helpers/handler-environment';
import { lambdaContextFor } from '../helpers/lambda-context';

type FramesModule = typeof import('../../lambdas/handlers/ws-frames');
type ObservabilityModule = typeof import('../../lambdas/core/observability');

const lambdaContext = lambdaContextFor('ws-frames');

let frames: FramesModule;
let observability: ObservabilityModule;

const eventOf = (fixture: object): WebSocketEvent => structuredClone(fixture) as WebSocketEvent;

async function answer(fixture: object | WebSocketEvent) {
  const result = await frames.handler(eventOf(fixture), lambdaContext);
  expect(result.statusCode).toBe(200);
  return JSON.parse(result.body ?? '');
}

beforeAll(async () => {
  // No TABLE_NAME nor CALLBACK_URL: this function has no access to either, and must not need them.
  setHandlerEnvironment({ TABLE_NAME: undefined, CALLBACK_URL: undefined });
  frames = await import('../../lambdas/handlers/ws-frames');
  observability = await import('../../lambdas/core/observability');
});

beforeEach(() => jest.restoreAllMocks());

describe('ws-frames handler', () => {
  it('answers ping with a pong envelope carrying the server time', async () => {
    const before = Date.now();
    const frame = await answer(pingFixture);
    expect(frame).toEqual({
      type: 'pong',
      data: { serverTime: expect.any(String) },
      timestamp: frame.data.serverTime,
      id: expect.any(String),
    });
    expect(Date.parse(frame.data.serverTime)).toBeGreaterThanOrEqual(before - 1);
  });

  it('answers hello with the userId and connectionId of this connection', async () => {
    const frame = await answer(helloFixture);
    expect(frame.type).toBe('authenticated');
    expect(frame.data).toEqual({ userId: 'user123', connectionId: 'Tq7vKdKRjoECJ1Q=' });
  });

  it('answers an unknown action on $default with an error frame naming the known actions', async () => {
    const frame = await answer(defaultFixture);
    expect(frame).toMatchObject({
      type: 'error',
      data: {
        code: 'unknown_action',
        message: 'unknown action "dance"; known actions: ping, hello, send, join, leave, members, resume',
      },
    });
  });

  it('answers a frame that is not JSON with an error frame, not "Internal server error"', async () => {
    const frame = await answer(notJsonFixture);
    expect(frame.type).toBe('error');
    expect(frame.data.code).toBe('not_json');
    expect(frame.data.message).toMatch(/^frame is not JSON/);
  });

  it.each([
    ['an empty frame', '', 'invalid_frame'],
    ['a JSON array', '[{"action":"ping"}]', 'invalid_frame'],
    ['an object without action', '{"type":"chat"}', 'missing_action'],
  ])('answers %s on $default with an error frame', async (_, body, code) => {
    const event = eventOf(defaultFixture);
    event.body = body;
    const frame = await answer(event);
    expect(frame).toMatchObject({ type: 'error', data: { code } });
  });

  it('fails loudly, logged with context, on an event without authorizer context (a wiring fault)', async () => {
    const event = eventOf(pingFixture);
    delete event.requestContext.authorizer;
    const logError = jest.spyOn(observability.logger, 'error');
    await expect(frames.handler(event, lambdaContext)).rejects.toThrow('no authorizer context');
    expect(logError).toHaveBeenCalledWith(
      'unexpected error on a WebSocket route',
      expect.objectContaining({ routeKey: 'ping', connectionId: 'Tq7vKdKRjoECJ1Q=' }),
    );
  });
});
