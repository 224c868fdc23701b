import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { BroadcastAcceptance } from '../core/broadcast-fan-out';
import { type DeliveryReport, reportForCaller } from '../core/delivery';
import { logger, metrics, observability } from '../core/observability';
import { authorize, authorizeRoomSend, type Operation, permits, readPolicy } from '../core/policy';
import type { RoomSendOutcome } from '../core/room-delivery';
import {
  readMessageRules,
  roomOf,
  validateBroadcastMessage,
  validateNotification,
  validateRoomMessage,
  validateUserMessage,
  validateUsersMessage,
} from '../core/validation';
import { type SendOptions, WebSocketService } from '../core/websocket-service';
import { httpErrors } from './middleware/http-errors';
import {
  callerOf,
  type HttpEvent,
  httpRouter,
  jsonBodyOf,
  type RouteHandler,
  remainingTimeOf,
} from './middleware/http-request';
import { type HttpResponse, jsonResponse } from './middleware/http-response';

/**
 * HTTP API send routes. The sender is the token's `sub` (the authorizer context), stamped into `from`; nothing
 * in the body can change it. A send to users answers 200 with the delivery report: with connection ids for a
 * caller holding the admin permission, else the summary without them (`DeliverySummary`). A broadcast answers 202
 * at once with its id and status URL (`GET /websocket/broadcasts/{broadcastId}`): it is queued in slices and
 * posted by the broadcast worker. Permissions are checked before the body is read, so a caller without the
 * permission learns nothing about validation; a send to a room reads the body's `room` first, since the permission
 * is the room's (`room:<pattern>`, or `ROOM_SEND_PERMISSION` for any room). A room send answers 200 with its counts
 * when the room was posted synchronously, 202 with a broadcast id and status URL when it went through the fan-out
 * (a room beyond `ROOM_SYNC_MAX_MEMBERS` live members, or `async: true`).
 */

// Read once at cold start: a bad setting fails the init and names the setting.
const policy = readPolicy(process.env);
const rules = readMessageRules(process.env);
const service = WebSocketService.fromEnvironment(process.env, { logger, metrics, broadcasts: true, rooms: true });

/**
 * What every send route shares: authorize the caller before the body is read, then send with the caller as
 * `from` and the invocation's deadline, and answer the report.
 */
function sendRoute(
  operation: Operation,
  send: (body: unknown, options: SendOptions) => Promise<DeliveryReport>,
): RouteHandler {
  return async (event, context) => {
    const caller = callerOf(event);
    authorize(policy, caller, operation);
    const options = { from: caller.userId, remainingTimeMs: remainingTimeOf(event, context) };
    const report = await send(jsonBodyOf(event), options);
    // Connection ids only for callers who may see them on the status route too.
    return jsonResponse(200, reportForCaller(report, permits(policy, caller, 'seeConnectionIds')));
  };
}

/** The acceptance of a broadcast with where to follow it: the status route's path (the API's own base URL). */
function withStatusUrl<Accepted extends BroadcastAcceptance>(accepted: Accepted): Accepted & { statusUrl: string } {
  return { ...accepted, statusUrl: `/websocket/broadcasts/${encodeURIComponent(accepted.broadcastId)}` };
}

const route = httpRouter('httpSend', {
  'POST /websocket/message/user': sendRoute('sendToUsers', (body, options) => {
    const message = validateUserMessage(body, rules);
    return service.sendToUsers(message.userIds, message.type, message.data, { ...options, persist: message.persist });
  }),
  'POST /websocket/message/users': sendRoute('sendToUsers', (body, options) => {
    const message = validateUsersMessage(body, rules);
    return service.sendToUsers(message.userIds, message.type, message.data, { ...options, persist: message.persist });
  }),
  'POST /websocket/message/broadcast': async (event) => {
    const caller = callerOf(event);
    authorize(policy, caller, 'broadcast');
    const message = validateBroadcastMessage(jsonBodyOf(event), rules);
    const accepted = await service.broadcast(message.type, message.data, {
      from: caller.userId,
      persist: message.persist,
    });
    return jsonResponse(202, withStatusUrl(accepted));
  },
  'POST /websocket/message/room': async (event, context) => {
    const caller = callerOf(event);
    const body = jsonBodyOf(event);
    authorizeRoomSend(policy, caller, roomOf(body));
    const message = validateRoomMessage(body, rules);
    const outcome: RoomSendOutcome = await service.sendToRoom(message.room, message.type, message.data, {
      from: caller.userId,
      remainingTimeMs: remainingTimeOf(event, context),
      async: message.async,
      persist: message.persist,
    });
    return outcome.delivery === 'synchronous' ? jsonResponse(200, outcome) : jsonResponse(202, withStatusUrl(outcome));
  },
  'POST /websocket/notification': sendRoute('notify', (body, options) => {
    const { userId, title, body: text, data } = validateNotification(body);
    return service.sendNotification(userId, title, text, data, options);
  }),
});

export const handler = middy<HttpEvent, HttpResponse, Error, Context>()
  .use(observability())
  .use(httpErrors(logger))
  .handler(route);
