import { readAckId, withAckId } from '../../lambdas/handlers/middleware/websocket-acks';
import type { WebSocketEvent } from '../../lambdas/handlers/middleware/websocket-event';
import pingFixture from '../fixtures/events/ws-message-ping.json';
import { setHandlerEnvironment } from '../helpers/handler-environment';
import { lambdaContextFor } from '../helpers/lambda-context';

type FramesModule = typeof import('../../lambdas/handlers/ws-frames');

const lambdaContext = lambdaContextFor('ws-frames');
let frames: FramesModule;

/** The ping fixture (a real-shaped `ping` route event) with another body. */
const pingWithBody = (body: string): WebSocketEvent => ({ ...(structuredClone(pingFixture) as WebSocketEvent), body });

beforeAll(async () => {
  setHandlerEnvironment({ TABLE_NAME: undefined, CALLBACK_URL: undefined });
  frames = await import('../../lambdas/handlers/ws-frames');
});

describe('readAckId', () => {
  it('reads a non-negative integer ackId from a JSON frame', () => {
    expect(readAckId('{"action":"ping","ackId":7}')).toBe(7);
    expect(readAckId(' {"action":"ping","ackId":0}')).toBe(0);
  });

  it('gives undefined when there is none, or the body is not a JSON object (a Socket.IO packet, a bad frame)', () => {
    expect(readAckId('{"action":"ping"}')).toBeUndefined();
    expect(readAckId('42["ping"]')).toBeUndefined();
    expect(readAckId('{not json')).toBeUndefined();
    expect(readAckId(undefined)).toBeUndefined();
  });

  it.each([['"7"'], ['-1'], ['1.5'], ['null'], ['9007199254740992']])('refuses ackId %s with a clear error', (raw) => {
    expect(() => readAckId(`{"action":"ping","ackId":${raw}}`)).toThrow(/ackId must be a non-negative integer/);
  });
});

describe('withAckId', () => {
  it('adds the ackId to a JSON envelope answer and leaves other answers alone', () => {
    expect(JSON.parse(withAckId({ statusCode: 200, body: '{"type":"pong","data":{}}' }, 3).body ?? '')).toEqual({
      type: 'pong',
      data: {},
      ackId: 3,
    });
    expect(withAckId({ statusCode: 200, body: '40{"sid":"a"}' }, 3)).toEqual({
      statusCode: 200,
      body: '40{"sid":"a"}',
    });
    expect(withAckId({ statusCode: 200 }, 3)).toEqual({ statusCode: 200 });
  });
});

describe('a route with acknowledgements (ws-frames)', () => {
  it('answers a ping carrying an ackId with a pong carrying the same ackId', async () => {
    const result = await frames.handler(pingWithBody('{"action":"ping","ackId":41}'), lambdaContext);
    expect(JSON.parse(result.body ?? '')).toMatchObject({ type: 'pong', ackId: 41 });
  });

  it('echoes the ackId on an error answer too (the route refused the frame)', async () => {
    const event = { ...pingWithBody('{"action":"dance","ackId":5}') };
    event.requestContext = { ...event.requestContext, routeKey: '$default' };
    const result = await frames.handler(event, lambdaContext);
    expect(JSON.parse(result.body ?? '')).toMatchObject({ type: 'error', data: { code: 'unknown_action' }, ackId: 5 });
  });

  it('refuses an unusable ackId with an error frame naming it, before the route answers', async () => {
    const result = await frames.handler(pingWithBody('{"action":"ping","ackId":"x"}'), lambdaContext);
    const frame = JSON.parse(result.body ?? '');
    expect(frame).toMatchObject({ type: 'error', data: { code: 'invalid_ack_id' } });
    expect(frame.data.message).toMatch(/ackId must be a non-negative integer/);
    expect(frame).not.toHaveProperty('ackId');
  });

  it('answers a frame without an ackId exactly as before', async () => {
    const result = await frames.handler(pingWithBody('{"action":"ping"}'), lambdaContext);
    expect(JSON.parse(result.body ?? '')).not.toHaveProperty('ackId');
  });
});
