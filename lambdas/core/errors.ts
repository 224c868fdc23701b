/**
 * Error classes shared by the core and the handlers. Handlers map them to a response in one place; an error that
 * is not one of these becomes a generic 500 whose details are logged and never shown.
 */

/**
 * An error whose status and message may be shown to the client.
 *
 * @example
 * if (error instanceof ClientError) return { statusCode: error.statusCode, body: error.message };
 */
export class ClientError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly expose = true;
  constructor(statusCode: number, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClientError';
    this.statusCode = statusCode;
    this.code = code;
  }
}

/**
 * 400: the request is malformed or a field is missing, empty or of the wrong type.
 *
 * @example
 * throw new ValidationError('userId must be a string');
 */
export class ValidationError extends ClientError {
  constructor(message: string, code = 'validation_error') {
    super(400, code, message);
    this.name = 'ValidationError';
  }
}

/**
 * 413: the envelope would exceed API Gateway's 128 KB message limit.
 *
 * @example
 * await service.sendToUser('user123', 'chat', hugeData); // rejects with a PayloadTooLargeError
 */
export class PayloadTooLargeError extends ClientError {
  constructor(message: string) {
    super(413, 'payload_too_large', message);
    this.name = 'PayloadTooLargeError';
  }
}

/**
 * 415: a JSON route was sent a body that is not declared as JSON (`Content-Type`).
 *
 * @example
 * throw new UnsupportedMediaTypeError('Content-Type must be application/json, got "text/plain"');
 */
export class UnsupportedMediaTypeError extends ClientError {
  constructor(message: string) {
    super(415, 'unsupported_media_type', message);
    this.name = 'UnsupportedMediaTypeError';
  }
}

/**
 * 401: no token, or a token that failed verification.
 *
 * @example
 * throw new UnauthorizedError('The token has expired');
 */
export class UnauthorizedError extends ClientError {
  constructor(message = 'A valid bearer token is required') {
    super(401, 'unauthorized', message);
    this.name = 'UnauthorizedError';
  }
}

/**
 * 403: the token is valid but lacks the permission the operation needs.
 *
 * @example
 * throw new ForbiddenError('The permission "ws:admin" is required to list connected users');
 */
export class ForbiddenError extends ClientError {
  constructor(message: string) {
    super(403, 'forbidden', message);
    this.name = 'ForbiddenError';
  }
}

/**
 * 404: no such route or resource.
 *
 * @example
 * throw new NotFoundError('No route GET /x');
 */
export class NotFoundError extends ClientError {
  constructor(message: string) {
    super(404, 'not_found', message);
    this.name = 'NotFoundError';
  }
}

/**
 * A configuration setting is missing or invalid; thrown at cold start, naming the setting.
 *
 * @example
 * WebSocketService.fromEnvironment({}); // throws 'Configuration setting TABLE_NAME is required but not set'
 */
export class ConfigurationError extends Error {
  readonly setting: string;
  constructor(setting: string, problem: string) {
    super(`Configuration setting ${setting} ${problem}`);
    this.name = 'ConfigurationError';
    this.setting = setting;
  }
}
