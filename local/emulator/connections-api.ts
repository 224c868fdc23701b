import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebSocket } from 'ws';
import type { ConnectionPool } from './connection-pool';
import { readBody } from './request-parts';

/** API Gateway's limit for one posted message. */
const MAX_POST_BYTES = 128 * 1024;

/** `…/@connections/{connectionId}`, under any stage prefix the callback URL carries. */
const connectionPath = /^(?:\/[^@]*)?\/@connections\/([^/?]+)$/;

function sendError(response: ServerResponse, statusCode: number, errorType: string, message: string): void {
  // The SDK reads the error's type from this header, so the real client throws GoneException and its peers.
  response.writeHead(statusCode, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': errorType });
  response.end(JSON.stringify({ message }));
}

/**
 * Serves the management API (`@connections`) for the connections in `pool`: POST sends the body as one message,
 * GET describes the connection, DELETE closes it. An unknown or closed id is 410 `GoneException`, so the real
 * `ApiGatewayManagementApiClient` behaves as against AWS. Requests are not signature-checked.
 * Returns false when the path is not a `@connections` path, so the caller can answer it otherwise.
 *
 * @example
 * httpServer.on('request', (request, response) => {
 *   if (!handleConnectionsRequest(pool, request, response)) response.writeHead(404).end();
 * });
 */
export function handleConnectionsRequest(
  pool: ConnectionPool,
  request: IncomingMessage,
  response: ServerResponse,
): boolean {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const match = connectionPath.exec(path);
  if (!match) return false;
  let connectionId: string;
  try {
    connectionId = decodeURIComponent(match[1]);
  } catch {
    sendError(response, 400, 'BadRequestException', 'Malformed connection id');
    return true;
  }
  void serve(pool, connectionId, request, response).catch(() => {
    if (!response.headersSent) sendError(response, 500, 'InternalServerErrorException', 'Internal server error');
  });
  return true;
}

async function serve(
  pool: ConnectionPool,
  connectionId: string,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const body = await readBody(request, MAX_POST_BYTES);
  const connection = pool.get(connectionId);
  const open = connection !== undefined && connection.socket.readyState === WebSocket.OPEN && !connection.closedBy;
  if (request.method === 'POST' && body === undefined) {
    sendError(response, 413, 'PayloadTooLargeException', 'Message too long');
    return;
  }
  if (!['POST', 'GET', 'DELETE'].includes(request.method ?? '')) {
    sendError(response, 403, 'ForbiddenException', 'Forbidden');
    return;
  }
  if (!open) {
    sendError(response, 410, 'GoneException', `Connection ${connectionId} is gone`);
    return;
  }
  switch (request.method) {
    case 'POST':
      connection.socket.send((body ?? Buffer.alloc(0)).toString('utf8'));
      response.writeHead(200).end();
      return;
    case 'GET':
      response.writeHead(200, { 'Content-Type': 'application/json' });
      response.end(
        // The wire names are lower camel case; the SDK maps them to ConnectedAt, Identity and LastActiveAt.
        JSON.stringify({
          connectedAt: new Date(connection.facts.connectedAt).toISOString(),
          identity: { sourceIp: connection.facts.sourceIp, userAgent: connection.facts.userAgent ?? '' },
          lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
        }),
      );
      return;
    default:
      // DeleteConnection closes with 1000 on API Gateway; $disconnect then reports "Connection Closed Normally".
      pool.close(connectionId, 1000, 'Connection Closed Normally');
      response.writeHead(204).end();
  }
}
