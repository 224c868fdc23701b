import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { observability } from '../core/observability';
import { answerSocketIoFrame } from '../core/socketio-frames';
import { acknowledgements } from './middleware/websocket-acks';
import { webSocketErrors } from './middleware/websocket-errors';
import { readAuthorizerContext, type WebSocketEvent, type WebSocketResult } from './middleware/websocket-event';
import { answerFrame } from './ws-frames';
import { roomRequestFromSocket } from './ws-rooms';
import { sendFromSocket } from './ws-send';

/**
 * WebSocket `$default`: every frame API Gateway could not route by its JSON `action`. On a Socket.IO connection
 * (the authorizer context says so) that is every frame, `send` included: it is answered in Socket.IO packets. On a
 * JSON connection it is a frame the server cannot act on, answered with an `error` frame as before.
 */

/**
 * Answers one frame that reached `$default`.
 *
 * @example
 * await answerDefault(event, context); // { statusCode: 200, body: '40{"sid":"abc="}' } for a Socket.IO CONNECT
 */
export async function answerDefault(event: WebSocketEvent, context: Context): Promise<WebSocketResult> {
  const authorizerContext = readAuthorizerContext(event.requestContext);
  if (authorizerContext?.protocol !== 'socket.io') return answerFrame(event);
  const answer = await answerSocketIoFrame({
    body: event.body ?? '',
    userId: authorizerContext.userId,
    connectionId: event.requestContext.connectionId,
    send: (readFrame) => sendFromSocket(authorizerContext, readFrame, () => context.getRemainingTimeInMillis()),
    room: (action, request) =>
      roomRequestFromSocket(authorizerContext, event.requestContext.connectionId, action, request),
  });
  // No body: API Gateway sends nothing back (an Engine.IO pong needs no answer).
  return answer === undefined ? { statusCode: 200 } : { statusCode: 200, body: answer };
}

export const handler = middy<WebSocketEvent, WebSocketResult, Error, Context>()
  .use(observability())
  .use(acknowledgements())
  .use(webSocketErrors())
  .handler(answerDefault);
