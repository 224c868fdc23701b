import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/**
 * The HTTP API's answers: JSON bodies, and one error shape for every failure,
 * `{ "error": { "code": "validation_error", "message": "userId is required" } }`.
 */

export type HttpResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; body: string };

/** The error body; `requestId` only on a 500, so the caller can quote it to the operators. */
export interface ErrorBody {
  error: { code: string; message: string; requestId?: string };
}

/**
 * A JSON answer.
 *
 * @example
 * jsonResponse(200, { userId: 'user123', disconnected: 2 });
 */
export function jsonResponse(statusCode: number, body: unknown): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}

/**
 * An answer in the one error shape.
 *
 * @example
 * errorResponse(403, 'forbidden', 'The permission "ws:admin" is required to list connected users');
 */
export function errorResponse(statusCode: number, code: string, message: string, requestId?: string): HttpResponse {
  const body: ErrorBody = { error: { code, message } };
  if (requestId !== undefined) body.error.requestId = requestId;
  return jsonResponse(statusCode, body);
}
