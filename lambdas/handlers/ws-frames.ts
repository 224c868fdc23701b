import middy from '@middy/core';
import { answerClientFrame } from '../core/frames';
import { observability } from '../core/observability';
import { acknowledgements } from './middleware/websocket-acks';
import { webSocketErrors } from './middleware/websocket-errors';
import { readAuthorizerContext, type WebSocketEvent, type WebSocketResult } from './middleware/websocket-event';

/**
 * WebSocket `ping`, `hello` and `$default`: answers with a `pong`, an `authenticated` or an `error` frame.
 * These routes have route responses, so the returned `body` is the frame the client receives. It touches
 * neither the registry nor the management API.
 */

/**
 * Answers one client frame.
 *
 * @example
 * answerFrame(pingEvent); // { statusCode: 200, body: '{"type":"pong","data":{"serverTime":"…"},…}' }
 */
export function answerFrame(event: WebSocketEvent): WebSocketResult {
  const context = readAuthorizerContext(event.requestContext);
  // Every connection passed the `$connect` authorizer; a missing context is a deployment fault, not the client's.
  if (!context) throw new Error('WebSocket event carries no authorizer context');
  const frame = answerClientFrame({
    routeKey: event.requestContext.routeKey,
    body: event.body,
    userId: context.userId,
    connectionId: event.requestContext.connectionId,
  });
  return { statusCode: 200, body: JSON.stringify(frame) };
}

export const handler = middy<WebSocketEvent, WebSocketResult>()
  .use(observability())
  .use(acknowledgements())
  .use(webSocketErrors())
  .handler(async (event) => answerFrame(event));
