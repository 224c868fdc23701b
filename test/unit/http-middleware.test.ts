import type { Context } from 'aws-lambda';
import { ForbiddenError } from '../../lambdas/core/errors';
import { httpErrors } from '../../lambdas/handlers/middleware/http-errors';
import {
  callerOf,
  type HttpEvent,
  httpRouter,
  integerQueryOf,
  jsonBodyOf,
  pathUserIdOf,
  remainingTimeOf,
} from '../../lambdas/handlers/middleware/http-request';
import { errorResponse, jsonResponse } from '../../lambdas/handlers/middleware/http-response';

const ok = async () => jsonResponse(200, {});

describe('httpRouter', () => {
  it('refuses at cold start a handler set that does not match the route table', () => {
    expect(() => httpRouter('httpStatus', { 'GET /websocket/me/status': ok })).toThrow(
      'Routes of httpStatus do not match the route table: missing [GET /websocket/users/connected, GET /websocket/users/{userId}/status, GET /websocket/broadcasts/{broadcastId}, $default], extra []',
    );
    expect(() =>
      httpRouter('httpDisconnect', {
        'DELETE /websocket/users/{userId}/disconnect': ok,
        'DELETE /websocket/users/{userId}': ok,
      }),
    ).toThrow('extra [DELETE /websocket/users/{userId}]');
  });

  it('answers 404 for an unknown key, including inherited property names', async () => {
    const route = httpRouter('httpDisconnect', { 'DELETE /websocket/users/{userId}/disconnect': ok });
    const context = {} as Context;
    await expect(route({ routeKey: 'toString' } as HttpEvent, context)).rejects.toMatchObject({ statusCode: 404 });
    await expect(route({ routeKey: 'GET /nope' } as HttpEvent, context)).rejects.toMatchObject({
      statusCode: 404,
      message: 'No route GET /nope',
    });
  });
});

describe('request readers', () => {
  it('integerQueryOf reads, defaults and bounds', () => {
    const bounds = { fallback: 50, min: 1, max: 100 };
    expect(integerQueryOf({ queryStringParameters: { limit: '7' } }, 'limit', bounds)).toBe(7);
    expect(integerQueryOf({}, 'limit', bounds)).toBe(50);
    expect(integerQueryOf({ queryStringParameters: { limit: '' } }, 'limit', bounds)).toBe(50);
    expect(() => integerQueryOf({ queryStringParameters: { limit: '1e2' } }, 'limit', bounds)).toThrow(
      'limit must be an integer from 1 to 100',
    );
  });

  it('jsonBodyOf refuses an empty body and non-JSON', () => {
    const headers = { 'content-type': 'application/json' };
    expect(() => jsonBodyOf({ body: '', isBase64Encoded: false, headers })).toThrow(
      'Request body is required: a JSON object',
    );
    expect(() => jsonBodyOf({ body: 'userId=1', isBase64Encoded: false, headers })).toThrow(
      'Request body is not valid JSON',
    );
    const base64 = Buffer.from('{"a":1}').toString('base64');
    expect(jsonBodyOf({ body: base64, isBase64Encoded: true, headers })).toEqual({ a: 1 });
  });

  // Issue 9, defect 6: the JSON routes accepted text/plain and application/octet-stream bodies.
  it.each([
    ['text/plain', 'got "text/plain"'],
    ['text/plain;charset=UTF-8', 'got "text/plain;charset=UTF-8"'],
    ['application/octet-stream', 'got "application/octet-stream"'],
    ['application/x-www-form-urlencoded', 'got "application/x-www-form-urlencoded"'],
    ['multipart/form-data; boundary=x', 'got "multipart/form-data; boundary=x"'],
    ['application/jsonp', 'got "application/jsonp"'],
    ['text/json', 'got "text/json"'],
    [undefined, 'the request has none'],
    ['', 'the request has none'],
  ])('jsonBodyOf answers 415 unsupported_media_type to Content-Type %j', (contentType, got) => {
    const headers = contentType === undefined ? {} : { 'content-type': contentType };
    let caught: unknown;
    try {
      jsonBodyOf({ body: '{"userId":"user456","type":"chat","data":{}}', isBase64Encoded: false, headers });
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({
      statusCode: 415,
      code: 'unsupported_media_type',
      message: `Content-Type must be application/json (or an application/*+json type), ${got}; send the header "Content-Type: application/json"`,
    });
  });

  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'Application/JSON;charset=UTF-8',
    'application/merge-patch+json',
    'application/vnd.api+json; charset=utf-8',
  ])('jsonBodyOf accepts Content-Type %j', (contentType) => {
    const event = { body: '{"a":1}', isBase64Encoded: false, headers: { 'content-type': contentType } };
    expect(jsonBodyOf(event)).toEqual({ a: 1 });
  });

  it('jsonBodyOf cuts a huge Content-Type in its message', () => {
    const headers = { 'content-type': `text/${'x'.repeat(5000)}` };
    expect(() => jsonBodyOf({ body: '{}', isBase64Encoded: false, headers })).toThrow(/"text\/x{95}…"/);
  });

  it('pathUserIdOf names the path parameter', () => {
    expect(() => pathUserIdOf({})).toThrow('userId path parameter is required');
    expect(pathUserIdOf({ pathParameters: { userId: 'user@example.com' } })).toBe('user@example.com');
  });
});

describe('callerOf', () => {
  const expiresAt = 1_795_690_800;
  const eventWith = (lambda: Record<string, unknown> | undefined) =>
    ({ requestContext: { authorizer: lambda && { lambda } } }) as unknown as HttpEvent;
  const at = (epochSeconds: number) => () => epochSeconds * 1000;

  it('reads the caller while the token is valid, and within the authorizers skew after its exp', () => {
    const event = eventWith({ userId: 'user123', permissions: 'ws:admin', tokenExpiresAt: expiresAt });
    expect(callerOf(event, at(expiresAt - 60))).toEqual({ userId: 'user123', permissions: new Set(['ws:admin']) });
    expect(callerOf(event, at(expiresAt + 5)).userId).toBe('user123');
  });

  it('refuses with 401 a token that expired after the authorizer cached its answer', () => {
    const event = eventWith({ userId: 'user123', permissions: '', tokenExpiresAt: expiresAt });
    expect(() => callerOf(event, at(expiresAt + 6))).toThrow(
      expect.objectContaining({ statusCode: 401, message: 'The token has expired' }),
    );
  });

  it('refuses with 401 a context without a userId or without a readable expiry', () => {
    expect(() => callerOf(eventWith(undefined), at(0))).toThrow(expect.objectContaining({ statusCode: 401 }));
    expect(() => callerOf(eventWith({ userId: 'user123', permissions: '' }), at(0))).toThrow(
      expect.objectContaining({ statusCode: 401 }),
    );
  });

  it('reads an expiry passed as a string', () => {
    const event = eventWith({ userId: 'user123', permissions: '', tokenExpiresAt: String(expiresAt) });
    expect(callerOf(event, at(expiresAt)).userId).toBe('user123');
  });
});

describe('httpErrors', () => {
  const logger = { info: jest.fn(), error: jest.fn() };
  const middleware = httpErrors(logger);
  const context = { awsRequestId: 'lambda-request-id' } as Context;

  function answer(error: unknown, event: unknown = { requestContext: { requestId: 'gateway-id' } }) {
    const request = { event, context, response: null, error, internal: {} } as Parameters<
      NonNullable<typeof middleware.onError>
    >[0];
    middleware.onError?.(request);
    return request.response;
  }

  it('shows a client error as is', () => {
    expect(answer(new ForbiddenError('The permission "ws:admin" is required'))).toEqual(
      errorResponse(403, 'forbidden', 'The permission "ws:admin" is required'),
    );
  });

  it('hides anything else behind a 500 with the gateway request id, and logs it', () => {
    const response = answer(new TypeError("Cannot read properties of undefined (reading 'Items')"));
    expect(response?.statusCode).toBe(500);
    expect(JSON.parse(response?.body ?? '')).toEqual({
      error: { code: 'internal_error', message: 'Internal error', requestId: 'gateway-id' },
    });
    expect(logger.error).toHaveBeenCalledWith('request failed', expect.any(TypeError));
  });

  it("falls back to Lambda's request id, and copes with a thrown non-Error", () => {
    const response = answer('a string', {});
    expect(JSON.parse(response?.body ?? '').error.requestId).toBe('lambda-request-id');
  });
});

describe('remainingTimeOf', () => {
  const context = { getRemainingTimeInMillis: () => 60_000 };
  const receivedAt = 1_795_687_200_000;
  const eventAt = (timeEpoch: number) => ({ requestContext: { timeEpoch } }) as HttpEvent;

  it("is capped by what is left of the HTTP API's 30 s since the request arrived", () => {
    expect(remainingTimeOf(eventAt(receivedAt), context, () => receivedAt + 1000)()).toBe(29_000);
    expect(remainingTimeOf(eventAt(receivedAt), context, () => receivedAt + 28_500)()).toBe(1500);
  });

  it("is the function's own remaining time when that is shorter", () => {
    const short = { getRemainingTimeInMillis: () => 5000 };
    expect(remainingTimeOf(eventAt(receivedAt), short, () => receivedAt + 1000)()).toBe(5000);
  });

  it('ignores a timeEpoch the clocks cannot agree with', () => {
    expect(remainingTimeOf(eventAt(receivedAt), context, () => receivedAt - 5000)()).toBe(60_000);
    expect(remainingTimeOf(eventAt(receivedAt), context, () => receivedAt + 3_600_000)()).toBe(60_000);
  });
});
