import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger, metrics, observability } from '../core/observability';
import { authorize, readPolicy } from '../core/policy';
import {
  readMessageRules,
  validateBroadcastMessage,
  validateNotification,
  validateUserMessage,
  validateUsersMessage,
} from '../core/validation';
import { WebSocketService } from '../core/websocket-service';
import { httpErrors } from './middleware/http-errors';
import { callerOf, type HttpEvent, httpRouter, jsonBodyOf, remainingTimeOf } from './middleware/http-request';
import { type HttpResponse, jsonResponse } from './middleware/http-response';

/**
 * HTTP API send routes. The sender is the token's `sub` (the authorizer context), stamped into `from`; nothing
 * in the body can change it. Each answers 200 with the delivery report. Permissions are checked before the
 * body is read, so a caller without the permission learns nothing about validation.
 */

// Read once at cold start: a bad setting fails the init and names the setting.
const policy = readPolicy(process.env);
const rules = readMessageRules(process.env);
const service = WebSocketService.fromEnvironment(process.env, { logger, metrics });

const route = httpRouter('httpSend', {
  'POST /websocket/message/user': async (event, context) => {
    const caller = callerOf(event);
    authorize(policy, caller, 'sendToUsers');
    const message = validateUserMessage(jsonBodyOf(event), rules);
    const report = await service.sendToUsers(message.userIds, message.type, message.data, {
      from: caller.userId,
      remainingTimeMs: remainingTimeOf(event, context),
    });
    return jsonResponse(200, report);
  },
  'POST /websocket/message/users': async (event, context) => {
    const caller = callerOf(event);
    authorize(policy, caller, 'sendToUsers');
    const message = validateUsersMessage(jsonBodyOf(event), rules);
    const report = await service.sendToUsers(message.userIds, message.type, message.data, {
      from: caller.userId,
      remainingTimeMs: remainingTimeOf(event, context),
    });
    return jsonResponse(200, report);
  },
  'POST /websocket/message/broadcast': async (event, context) => {
    const caller = callerOf(event);
    authorize(policy, caller, 'broadcast');
    const message = validateBroadcastMessage(jsonBodyOf(event), rules);
    const report = await service.broadcast(message.type, message.data, {
      from: caller.userId,
      remainingTimeMs: remainingTimeOf(event, context),
    });
    return jsonResponse(200, report);
  },
  'POST /websocket/notification': async (event, context) => {
    const caller = callerOf(event);
    authorize(policy, caller, 'notify');
    const notification = validateNotification(jsonBodyOf(event));
    const report = await service.sendNotification(
      notification.userId,
      notification.title,
      notification.body,
      notification.data,
      { from: caller.userId, remainingTimeMs: remainingTimeOf(event, context) },
    );
    return jsonResponse(200, report);
  },
});

export const handler = middy<HttpEvent, HttpResponse, Error, Context>()
  .use(observability())
  .use(httpErrors(logger))
  .handler(route);
