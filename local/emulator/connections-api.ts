import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebSocket } from 'ws';
import type { ConnectionPool } from './connection-pool';
import type { FaultInjector } from './faults';
import { isWellFormedConnectionId } from './ids';
import { readBody } from './request-parts';
import type { VerificationResult } from './sigv4-verifier';

/** Checks a request's signature (see `createSigV4Verifier`); the body is the one received. */
export type RequestVerifier = (request: IncomingMessage, body: Buffer) => Promise<VerificationResult>;

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
 * GET describes the connection, DELETE closes it. As on AWS (IAM authorization), a request whose SigV4 signature
 * `verify` refuses is 403 `ForbiddenException`; then a malformed connection id is 400 `BadRequestException`, an
 * unknown or closed one 410 `GoneException`, so the real `ApiGatewayManagementApiClient` behaves as against AWS.
 * Returns false when the path is not a `@connections` path, so the caller can answer it otherwise. With `faults`, a
 * POST above the account's rate is 429 `LimitExceededException`, and a share of POSTs to open connections find them
 * vanished: the socket dies without `$disconnect` and the answer is 410 (see `FaultInjector`).
 *
 * @example
 * const verify = createSigV4Verifier({ credentials, region: 'us-east-1', service: 'execute-api' });
 * httpServer.on('request', (request, response) => {
 *   if (!handleConnectionsRequest(pool, request, response, verify)) response.writeHead(404).end();
 * });
 */
export function handleConnectionsRequest(
  pool: ConnectionPool,
  request: IncomingMessage,
  response: ServerResponse,
  verify: RequestVerifier,
  faults?: FaultInjector,
): boolean {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  const match = connectionPath.exec(path);
  if (!match) return false;
  void serve(pool, match[1], request, response, verify, faults).catch(() => {
    if (!response.headersSent) sendError(response, 500, 'InternalServerErrorException', 'Internal server error');
  });
  return true;
}

async function serve(
  pool: ConnectionPool,
  encodedId: string,
  request: IncomingMessage,
  response: ServerResponse,
  verify: RequestVerifier,
  faults: FaultInjector | undefined,
): Promise<void> {
  const body = await readBody(request, MAX_POST_BYTES);
  if (body === undefined) {
    sendError(response, 413, 'PayloadTooLargeException', 'Message too long');
    return;
  }
  const verification = await verify(request, body);
  if (!verification.ok) {
    sendError(response, 403, 'ForbiddenException', verification.message);
    return;
  }
  const connectionId = decodedId(encodedId);
  if (connectionId === undefined || !isWellFormedConnectionId(connectionId)) {
    // AWS answers an id that cannot be one of its ids 400, and 410 only for a well-formed id with no connection.
    sendError(response, 400, 'BadRequestException', `Invalid connectionId: ${connectionId ?? encodedId}`);
    return;
  }
  const connection = pool.get(connectionId);
  const open = connection !== undefined && connection.socket.readyState === WebSocket.OPEN && !connection.closedBy;
  if (!['POST', 'GET', 'DELETE'].includes(request.method ?? '')) {
    sendError(response, 403, 'ForbiddenException', 'Forbidden');
    return;
  }
  // Throttling is the account's, before the connection is looked at: a POST to a gone connection can be 429 too.
  if (request.method === 'POST' && faults?.throttlesPost()) {
    sendError(response, 429, 'LimitExceededException', 'Rate exceeded (injected fault)');
    return;
  }
  if (open && request.method === 'POST' && faults?.vanishesOnPost(connectionId)) {
    pool.vanish(connectionId);
    sendError(response, 410, 'GoneException', `Connection ${connectionId} is gone`);
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

function decodedId(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}
