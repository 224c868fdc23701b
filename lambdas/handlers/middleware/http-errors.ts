import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { ClientError } from '../../core/errors';
import { errorResponse, type HttpResponse } from './http-response';

/** The subset of a Powertools Logger this middleware uses. */
export interface ErrorLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  error(message: string, error: Error): void;
}

/**
 * Maps every error to the one error shape, in one place. A {@link ClientError} (validation 400, 401, 403,
 * 404, 413) shows its status, code and message; anything else is logged in full and answered with a bare
 * 500 "Internal error" and the request id, never its message or stack.
 *
 * @example
 * export const handler = middy(route).use(observability()).use(httpErrors(logger));
 */
export function httpErrors(logger: ErrorLogger): MiddlewareObj<unknown, HttpResponse, Error, Context> {
  return {
    onError: (request) => {
      const error = request.error;
      if (error instanceof ClientError) {
        logger.info('request refused', { statusCode: error.statusCode, code: error.code, reason: error.message });
        request.response = errorResponse(error.statusCode, error.code, error.message);
        return;
      }
      logger.error('request failed', error instanceof Error ? error : new Error(String(error)));
      request.response = errorResponse(
        500,
        'internal_error',
        'Internal error',
        requestIdOf(request.event, request.context),
      );
    },
  };
}

/** API Gateway's request id (what the caller and the access logs see), else Lambda's. */
function requestIdOf(event: unknown, context: Context | undefined): string | undefined {
  const fromGateway = (event as { requestContext?: { requestId?: unknown } } | undefined)?.requestContext?.requestId;
  return typeof fromGateway === 'string' ? fromGateway : context?.awsRequestId;
}
