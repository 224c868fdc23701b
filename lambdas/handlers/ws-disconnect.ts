import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { getDocumentClient } from '../core/clients';
import { logger, MetricName, metrics, observability } from '../core/observability';
import { type ConnectionRegistry, createConnectionRegistry, readRegistryConfig } from '../core/registry';
import { webSocketErrors } from './middleware/websocket-errors';
import { readAuthorizerContext, type WebSocketEvent, type WebSocketResult } from './middleware/websocket-event';

/**
 * WebSocket `$disconnect`: removes the connection. API Gateway passes the `$connect` authorizer's context here
 * too, which gives the item's partition key (userId). It is best effort on API Gateway's side: it may never
 * fire, which is why items also expire and every send removes connections answered with 410.
 */

export interface DisconnectDependencies {
  registry: ConnectionRegistry;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Removes a closed connection from the registry.
 *
 * @example
 * await removeConnection(event, { registry, logger, metrics }); // { statusCode: 200 }
 */
export async function removeConnection(event: WebSocketEvent, deps: DisconnectDependencies): Promise<WebSocketResult> {
  const { connectionId, disconnectStatusCode, disconnectReason } = event.requestContext;
  const context = readAuthorizerContext(event.requestContext);
  if (!context) {
    // Without the userId the item's key is unknown; its TTL removes it.
    deps.logger.warn('disconnect without authorizer context; the item will expire', { connectionId });
    return { statusCode: 200 };
  }
  await deps.registry.remove(context.userId, connectionId);
  deps.metrics.addMetric(MetricName.ConnectionsClosed, MetricUnit.Count, 1);
  deps.logger.info('connection removed', { disconnectStatusCode, disconnectReason });
  return { statusCode: 200 };
}

const registry = createConnectionRegistry({ client: getDocumentClient(), ...readRegistryConfig(process.env) });

export const handler = middy<WebSocketEvent, WebSocketResult>()
  .use(observability())
  .use(webSocketErrors())
  .handler((event) => removeConnection(event, { registry, logger, metrics }));
