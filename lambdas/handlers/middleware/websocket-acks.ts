import type { MiddlewareObj } from '@middy/core';
import { ValidationError } from '../../core/errors';
import type { WebSocketEvent, WebSocketResult } from './websocket-event';

/**
 * Acknowledgements for the JSON protocol, the counterpart of Socket.IO's `emit(..., callback)`. A client frame may
 * carry `"ackId": n` (a non-negative integer the client picks); the route's answer (its route response: `pong`,
 * `authenticated`, `delivery`, an `error`, ...) then carries the same `ackId`, so the client can tell which emit it
 * answers. API Gateway gives a route response no correlation of its own: it only sends the integration's `body`
 * back on the connection that sent the frame (developer guide, "Set up a WebSocket API integration response" /
 * "route responses"), so the id travels in the frames.
 *
 * An answer can only come back on the connection that sent the frame: a client whose connection drops before the
 * answer never gets it, and must treat its pending acknowledgements as failed (the adapter does).
 */

/** Largest `ackId` accepted: a safe integer survives JSON on every client. */
const MAX_ACK_ID = Number.MAX_SAFE_INTEGER;

/**
 * Reads a JSON frame's `ackId`. Absent (or a body that is not a JSON object: Socket.IO packets, malformed frames the
 * route itself refuses) gives undefined; an `ackId` that is not a non-negative integer throws a
 * {@link ValidationError}, before the route acts, so a frame with an unusable id changes nothing.
 *
 * @example
 * readAckId('{"action":"ping","ackId":7}'); // 7
 * readAckId('{"action":"ping"}'); // undefined
 * readAckId('{"action":"ping","ackId":"7"}'); // throws ValidationError('ackId must be a non-negative integer')
 */
export function readAckId(body: string | null | undefined): number | undefined {
  // Only a JSON object frame naming `ackId` can carry one: the cheap checks spare a second parse of every frame the
  // route parses anyway (a `send` up to 32 KB) and of every Socket.IO packet. A key spelled with escapes is not read.
  if (!body?.includes('"ackId"') || !body.trimStart().startsWith('{')) return undefined;
  let frame: unknown;
  try {
    frame = JSON.parse(body);
  } catch {
    return undefined; // the route answers the unreadable frame itself
  }
  if (frame === null || typeof frame !== 'object' || !('ackId' in frame)) return undefined;
  const { ackId } = frame as { ackId: unknown };
  if (typeof ackId !== 'number' || !Number.isInteger(ackId) || ackId < 0 || ackId > MAX_ACK_ID) {
    throw new ValidationError(`ackId must be a non-negative integer (at most ${MAX_ACK_ID})`, 'invalid_ack_id');
  }
  return ackId;
}

/**
 * Adds `ackId` to a route response whose body is a JSON envelope; any other answer is left as it is.
 *
 * @example
 * withAckId({ statusCode: 200, body: '{"type":"pong","data":{}}' }, 7);
 * // { statusCode: 200, body: '{"type":"pong","data":{},"ackId":7}' }
 */
export function withAckId(result: WebSocketResult, ackId: number): WebSocketResult {
  if (typeof result.body !== 'string' || !result.body.startsWith('{')) return result;
  try {
    return { ...result, body: JSON.stringify({ ...(JSON.parse(result.body) as object), ackId }) };
  } catch {
    return result;
  }
}

/**
 * The middleware: reads the frame's `ackId` before the route runs and echoes it in the answer, the error answer
 * included. Use it just before `webSocketErrors()`, so it sees the error frame that middleware makes.
 *
 * @example
 * export const handler = middy<WebSocketEvent, WebSocketResult>()
 *   .use(observability())
 *   .use(acknowledgements())
 *   .use(webSocketErrors())
 *   .handler(answer);
 */
export function acknowledgements(): MiddlewareObj<WebSocketEvent, WebSocketResult> {
  const ackIds = new WeakMap<object, number>();
  const echo = (request: { event: WebSocketEvent; response: WebSocketResult | null | undefined }) => {
    const ackId = ackIds.get(request.event);
    if (ackId !== undefined && request.response) request.response = withAckId(request.response, ackId);
  };
  return {
    before: (request) => {
      const ackId = readAckId(request.event.body);
      if (ackId !== undefined) ackIds.set(request.event, ackId);
    },
    after: echo,
    onError: echo,
  };
}
