import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, metrics, observability } from '../core/observability';
import { authorizeForUser, readPolicy } from '../core/policy';
import { WebSocketService } from '../core/websocket-service';
import { httpErrors } from './middleware/http-errors';
import { callerOf, type HttpEvent, httpRouter, pathUserIdOf } from './middleware/http-request';
import { type HttpResponse, jsonResponse } from './middleware/http-response';

/**
 * `DELETE /websocket/users/{userId}/disconnect`: closes every connection of the user and answers
 * `{ userId, disconnected }` (plus `failed`, when a close failed other than with 410). Anyone may disconnect
 * themselves; another user needs the admin permission.
 */

const policy = readPolicy(process.env);
const service = WebSocketService.fromEnvironment(process.env, { logger, metrics });

const route = httpRouter('httpDisconnect', {
  'DELETE /websocket/users/{userId}/disconnect': async (event) => {
    const caller = callerOf(event);
    const userId = pathUserIdOf(event);
    authorizeForUser(policy, caller, 'disconnect', userId);
    const { disconnected, failed } = await service.closeConnectionsOf(userId);
    return jsonResponse(200, failed.length > 0 ? { userId, disconnected, failed } : { userId, disconnected });
  },
});

export const handler = middy<HttpEvent, HttpResponse, Error, Context>()
  .use(observability())
  .use(httpErrors(logger))
  .handler(route);
