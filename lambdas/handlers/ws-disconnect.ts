import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { logger, MetricName, metrics, observability } from '../core/observability';
import { WebSocketService } from '../core/websocket-service';
import { webSocketErrors } from './middleware/websocket-errors';
import { readAuthorizerContext, type WebSocketEvent, type WebSocketResult } from './middleware/websocket-event';

/**
 * WebSocket `$disconnect`: removes the connection and its room memberships, and announces the user's departure from
 * presence rooms where this was their last connection. API Gateway passes the `$connect` authorizer's context here
 * too, which gives the item's partition key (userId). It is best effort on API Gateway's side: it may never fire,
 * which is why items (memberships included) also expire and every send removes connections answered with 410.
 */

export interface DisconnectDependencies {
  /** The library's cleanup: registry item, memberships (from the item's `rooms`), presence departures. */
  connections: Pick<WebSocketService, 'removeConnection'>;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Removes a closed connection from the registry and its rooms.
 *
 * @example
 * await removeConnection(event, { connections: service, logger, metrics }); // { statusCode: 200 }
 */
export async function removeConnection(event: WebSocketEvent, deps: DisconnectDependencies): Promise<WebSocketResult> {
  const { connectionId, disconnectStatusCode, disconnectReason } = event.requestContext;
  const context = readAuthorizerContext(event.requestContext);
  if (!context) {
    // Without the userId the item's key is unknown; its TTL removes it.
    deps.logger.warn('disconnect without authorizer context; the item will expire', { connectionId });
    return { statusCode: 200 };
  }
  const rooms = await deps.connections.removeConnection(context.userId, connectionId);
  deps.metrics.addMetric(MetricName.ConnectionsClosed, MetricUnit.Count, 1);
  deps.logger.info('connection removed', { disconnectStatusCode, disconnectReason, rooms: rooms.length });
  return { statusCode: 200 };
}

// The room settings are required: a connection's memberships must go with it.
const service = WebSocketService.fromEnvironment(process.env, { logger, metrics, rooms: true });

export const handler = middy<WebSocketEvent, WebSocketResult>()
  .use(observability())
  .use(webSocketErrors())
  .handler((event) => removeConnection(event, { connections: service, logger, metrics }));
