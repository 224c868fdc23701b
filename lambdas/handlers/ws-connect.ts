import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { getDocumentClient } from '../core/clients';
import { logger, MetricName, metrics, observability } from '../core/observability';
import { type ConnectionRegistry, createConnectionRegistry, readRegistryConfig } from '../core/registry';
import { chooseSubprotocol } from '../core/token-carriers';
import { webSocketErrors } from './middleware/websocket-errors';
import { readAuthorizerContext, type WebSocketEvent, type WebSocketResult } from './middleware/websocket-event';

/**
 * WebSocket `$connect`: runs after the authorizer allowed the handshake. Records the connection under the
 * token's userId and echoes the subprotocol the client offered; until this returns, nothing can be posted to
 * the connection, and a non-2xx answer rejects the handshake with that status.
 */

export interface ConnectDependencies {
  registry: ConnectionRegistry;
  logger: Logger;
  metrics: Metrics;
}

/**
 * Accepts a connection the authorizer allowed.
 *
 * @example
 * await acceptConnection(event, { registry, logger, metrics });
 * // { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'realtime-gateway.v1' } }
 */
export async function acceptConnection(event: WebSocketEvent, deps: ConnectDependencies): Promise<WebSocketResult> {
  const context = readAuthorizerContext(event.requestContext);
  if (!context) {
    // Only a `$connect` route deployed without the authorizer gets here: refuse rather than record an anonymous socket.
    deps.logger.warn('connection refused: no authorizer context', { routeKey: event.requestContext.routeKey });
    deps.metrics.addMetric(MetricName.AuthRefused, MetricUnit.Count, 1);
    return {
      statusCode: 401,
      body: JSON.stringify({ error: { code: 'unauthorized', message: 'A valid bearer token is required' } }),
    };
  }
  const { connectionId } = event.requestContext;
  await deps.registry.register({ userId: context.userId, connectionId });
  deps.metrics.addMetric(MetricName.ConnectionsOpened, MetricUnit.Count, 1);
  deps.logger.info('connection registered');

  // A browser drops a connection whose answer does not echo one of the subprotocols it offered.
  const subprotocol = chooseSubprotocol(event.headers);
  return subprotocol ? { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': subprotocol } } : { statusCode: 200 };
}

const registry = createConnectionRegistry({ client: getDocumentClient(), ...readRegistryConfig(process.env) });

export const handler = middy<WebSocketEvent, WebSocketResult>()
  .use(observability())
  .use(webSocketErrors())
  .handler((event) => acceptConnection(event, { registry, logger, metrics }));
