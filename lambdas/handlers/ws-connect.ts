import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import { getDocumentClient } from '../core/clients';
import { logger, MetricName, metrics, observability } from '../core/observability';
import { type ConnectionRegistry, createConnectionRegistry, readRegistryConfig } from '../core/registry';
import { getSqsClient } from '../core/slice-queue';
import { type OpeningMessage, queueOpening, readOpeningQueueUrl } from '../core/socketio-opening';
import { ConnectionProtocol } from '../core/socketio-protocol';
import { chooseSubprotocol } from '../core/token-carriers';
import { webSocketErrors } from './middleware/websocket-errors';
import { readAuthorizerContext, type WebSocketEvent, type WebSocketResult } from './middleware/websocket-event';

/**
 * WebSocket `$connect`: runs after the authorizer allowed the handshake. Records the connection under the
 * token's userId and echoes the subprotocol the client offered; until this returns, nothing can be posted to
 * the connection, and a non-2xx answer rejects the handshake with that status.
 */

export interface ConnectDependencies {
  registry: Pick<ConnectionRegistry, 'register'>;
  logger: Logger;
  metrics: Metrics;
  /** Queues a Socket.IO connection's Engine.IO `open`, to be posted once this `$connect` has returned. */
  queueOpening: (message: OpeningMessage) => Promise<void>;
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
  // The authorizer read the protocol from the query; recorded here, every send path encodes for it.
  const protocol = context.protocol ?? ConnectionProtocol.json;
  // Queued before the registration: a failure to queue throws and API Gateway refuses the handshake (502; the client
  // retries) with nothing registered, instead of a client waiting for an open never sent. The open still cannot
  // reach the client before the registration: nothing is delivered before this `$connect` returns (a post is 410).
  if (protocol === ConnectionProtocol.socketIo) await deps.queueOpening({ connectionId, queuedAt: Date.now() });
  // A Socket.IO connection is registered replaying: live senders wait until its namespace CONNECT has been answered,
  // after the replay of what its client missed (`socketio-recovery.ts`), so nothing arrives twice or out of order.
  await deps.registry.register({
    userId: context.userId,
    connectionId,
    protocol,
    ...(protocol === ConnectionProtocol.socketIo ? { replaying: true } : {}),
  });
  deps.metrics.addMetric(MetricName.ConnectionsOpened, MetricUnit.Count, 1);
  deps.logger.info('connection registered', { protocol });

  // A browser drops a connection whose answer does not echo one of the subprotocols it offered.
  const subprotocol = chooseSubprotocol(event.headers);
  return subprotocol ? { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': subprotocol } } : { statusCode: 200 };
}

const registry = createConnectionRegistry({ client: getDocumentClient(), ...readRegistryConfig(process.env) });
const openings = { client: getSqsClient(), queueUrl: readOpeningQueueUrl(process.env) };
const queue = (message: OpeningMessage) => queueOpening(openings, message);

export const handler = middy<WebSocketEvent, WebSocketResult>()
  .use(observability())
  .use(webSocketErrors())
  .handler((event) => acceptConnection(event, { registry, logger, metrics, queueOpening: queue }));
