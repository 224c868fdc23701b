import type { Logger } from '@aws-lambda-powertools/logger';
import type { MiddlewareObj } from '@middy/core';
import { ClientError } from '../../core/errors';
import { errorFrame } from '../../core/frames';
import { logger as processLogger } from '../../core/observability';
import { webSocketRoutes } from '../../routes';
import type { WebSocketEvent, WebSocketResult } from './websocket-event';

/** Whether API Gateway sends the integration's `body` back to the caller on this route. */
function hasRouteResponse(routeKey: string | undefined): boolean {
  return webSocketRoutes.some((route) => route.routeKey === routeKey && route.returnResponse);
}

/**
 * The answer to a client mistake ({@link ClientError}) on a WebSocket route: the refusal status on `$connect`
 * (API Gateway rejects the handshake with it), an `error` frame on routes with a route response, and a plain
 * status elsewhere (`$disconnect`, whose answer nobody reads).
 *
 * @example
 * clientErrorResult('send', new ValidationError('type is required'));
 * // { statusCode: 200, body: '{"type":"error","data":{"code":"validation_error","message":"type is required"},…}' }
 */
export function clientErrorResult(routeKey: string | undefined, error: ClientError): WebSocketResult {
  if (routeKey === '$connect') {
    return {
      statusCode: error.statusCode,
      body: JSON.stringify({ error: { code: error.code, message: error.message } }),
    };
  }
  if (hasRouteResponse(routeKey)) {
    return { statusCode: 200, body: JSON.stringify(errorFrame(error.code, error.message)) };
  }
  return { statusCode: error.statusCode };
}

/**
 * Error handling for WebSocket handlers, used last so its `onError` runs first. A {@link ClientError} is
 * answered (see {@link clientErrorResult}); any other error is logged with the route and connection and
 * rethrown, so API Gateway sends its own `Internal server error` frame and nothing internal reaches the client.
 *
 * @example
 * export const handler = middy<WebSocketEvent, WebSocketResult>()
 *   .use(observability())
 *   .use(webSocketErrors())
 *   .handler(async (event) => answer(event));
 */
export function webSocketErrors(options: { logger?: Logger } = {}): MiddlewareObj<WebSocketEvent, WebSocketResult> {
  const log = options.logger ?? processLogger;
  return {
    onError: (request) => {
      const { error } = request;
      const requestContext = request.event?.requestContext;
      const where = {
        routeKey: requestContext?.routeKey,
        connectionId: requestContext?.connectionId,
        apiRequestId: requestContext?.requestId,
      };
      if (error instanceof ClientError) {
        log.info('client error answered', { ...where, code: error.code, reason: error.message });
        request.response = clientErrorResult(requestContext?.routeKey, error);
        return;
      }
      // Leaving the response unset makes middy rethrow once the other onError middlewares (metrics flush) ran.
      log.error('unexpected error on a WebSocket route', { ...where, error });
    },
  };
}
