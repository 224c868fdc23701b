import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApiIdentity } from './api-identity';
import { evaluatePolicy } from './authorizer-policy';
import type { LambdaInvoker } from './lambda-runner';
import { type ConnectionFacts, connectEvent, type HandshakeFacts, webSocketAuthorizerEvent } from './websocket-events';

/** The outcome of the authorizer and `$connect` for one upgrade request. */
export type HandshakeOutcome =
  | { accepted: true; authorizer?: Record<string, unknown>; subprotocol?: string }
  | { accepted: false; statusCode: number; body: string };

/** API Gateway's limit on the authorizer's context, serialized. */
const MAX_AUTHORIZER_CONTEXT_BYTES = 8 * 1024;

const refusal = (statusCode: number, message: string): HandshakeOutcome => ({
  accepted: false,
  statusCode,
  body: JSON.stringify({ message }),
});

interface PolicyResult {
  principalId?: unknown;
  policyDocument?: unknown;
  context?: unknown;
}

/**
 * Reads a REQUEST authorizer's answer the way API Gateway does: the policy admits only when an `Allow` statement
 * covers `execute-api:Invoke` on the `methodArn` and no `Deny` statement does (an Allow for another API, stage or
 * action is a 403, like a Deny); the context (flat string, number and boolean values, at most 8 KB, stringified)
 * plus `principalId` and `integrationLatency` becomes `requestContext.authorizer` of every later event. A malformed
 * answer is API Gateway's 500.
 */
function readPolicy(result: unknown, methodArn: string, integrationLatency: number): HandshakeOutcome {
  const policy = (result ?? {}) as PolicyResult;
  const decision = evaluatePolicy(policy.policyDocument, 'execute-api:Invoke', methodArn);
  if (decision === undefined) return refusal(500, 'Internal server error');
  if (decision !== 'allow') return refusal(403, 'Forbidden');
  const context = (policy.context ?? {}) as Record<string, unknown>;
  const flat = Object.values(context).every((value) => ['string', 'number', 'boolean'].includes(typeof value));
  if (typeof context !== 'object' || !flat || JSON.stringify(context).length > MAX_AUTHORIZER_CONTEXT_BYTES) {
    return refusal(500, 'Internal server error');
  }
  // API Gateway hands the context on with every value as a string (`"tokenExpiresAt": "1795690800"`).
  const stringified = Object.fromEntries(Object.entries(context).map(([key, value]) => [key, String(value)]));
  return {
    accepted: true,
    authorizer: { ...stringified, principalId: policy.principalId, integrationLatency },
  };
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const lower = name.toLowerCase();
  const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === lower);
  return typeof entry?.[1] === 'string' ? entry[1] : undefined;
}

/**
 * Runs what API Gateway runs before it answers an upgrade request: the authorizer (a throw of `Unauthorized`
 * is 401, any other throw 500, a Deny 403), then `$connect` with the authorizer's context (a non-2xx answer
 * refuses with that status, a throw is 502). On success, the subprotocol `$connect` chose is to be echoed.
 *
 * @example
 * const outcome = await runHandshake({ api, connection, handshake, authorizer, connectRoute });
 * if (!outcome.accepted) refuseUpgrade(socket, outcome.statusCode, outcome.body);
 */
export async function runHandshake(input: {
  api: ApiIdentity;
  connection: ConnectionFacts;
  handshake: HandshakeFacts;
  authorizer?: LambdaInvoker;
  connectRoute?: LambdaInvoker;
}): Promise<HandshakeOutcome> {
  const { api, connection, handshake } = input;
  if (input.authorizer) {
    const started = Date.now();
    let result: unknown;
    const event = webSocketAuthorizerEvent(api, connection, handshake);
    try {
      result = await input.authorizer.invoke(event);
    } catch (error) {
      // The Lambda authorizer contract: throwing exactly "Unauthorized" means 401; anything else is a failure.
      if (error instanceof Error && error.message === 'Unauthorized') return refusal(401, 'Unauthorized');
      return refusal(500, 'Internal server error');
    }
    const outcome = readPolicy(result, event.methodArn, Date.now() - started);
    if (!outcome.accepted) return outcome;
    connection.authorizer = outcome.authorizer;
  }
  if (!input.connectRoute) return { accepted: true, authorizer: connection.authorizer };

  let response: unknown;
  try {
    response = await input.connectRoute.invoke(connectEvent(api, connection, handshake));
  } catch {
    return refusal(502, 'Internal server error');
  }
  const { statusCode, body, headers } = (response ?? {}) as { statusCode?: unknown; body?: unknown; headers?: unknown };
  // A $connect integration that returns no status accepts, as a proxy integration answering 200 would.
  const status = typeof statusCode === 'number' ? statusCode : 200;
  if (status < 200 || status > 299) {
    return { accepted: false, statusCode: status, body: typeof body === 'string' ? body : '' };
  }
  return {
    accepted: true,
    authorizer: connection.authorizer,
    subprotocol: headerValue(headers, 'Sec-WebSocket-Protocol'),
  };
}

/**
 * Answers an upgrade request with a plain HTTP status instead of `101 Switching Protocols`, then closes the socket.
 *
 * @example
 * refuseUpgrade(socket, 401, '{"message":"Unauthorized"}');
 */
export function refuseUpgrade(socket: Duplex, statusCode: number, body: string): void {
  if (socket.destroyed) return;
  const reason = STATUS_CODES[statusCode] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${statusCode} ${reason}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

/**
 * The upgrade request's host name, which API Gateway reports as `domainName`: without a port, as in every captured
 * event (`gy415nuibc.execute-api.us-east-1.amazonaws.com`); locally `127.0.0.1` or `localhost`. No handler builds
 * anything from it: the management endpoint comes from `CALLBACK_URL`.
 *
 * @example
 * domainNameOf(request); // '127.0.0.1' for `Host: 127.0.0.1:8090`
 */
export function domainNameOf(request: IncomingMessage): string {
  const host = request.headers.host;
  if (!host) return 'localhost';
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return host;
  }
}
