import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { BroadcastAcceptance } from '../core/broadcast-fan-out';
import type { DeliveryReport } from '../core/delivery';
import { NotFoundError } from '../core/errors';
import type { BroadcastStatus } from '../core/fan-out-state';
import { logger, metrics, observability } from '../core/observability';
import type { RoomSendOutcome } from '../core/room-delivery';
import { readMessageRules, validateDirectSendEvent } from '../core/validation';
import { WebSocketService } from '../core/websocket-service';

/**
 * The send function for other AWS services: Lambda Invoke, an EventBridge target, a Step Functions task. There
 * is no authorizer: permission to invoke this function (IAM `lambda:InvokeFunction`, granted by the construct's
 * `grantSend`) is the authorization, and envelopes carry no `from` (the protocol's "sent by the system").
 *
 * The event (see `validateDirectSendEvent` for the full rules):
 *
 * ```json
 * { "userId": "user123", "type": "chat", "data": { "message": "Hello!" } }
 * { "userIds": ["user123", "user456"], "type": "announcement", "data": {} }
 * { "broadcast": true, "type": "system", "data": { "message": "Maintenance at 22:00" } }
 * { "room": "chat:42", "type": "chat", "data": { "message": "Hi all" } }
 * { "notification": { "userId": "user123", "title": "New order", "body": "Order #42 shipped" } }
 * ```
 *
 * An EventBridge event is unwrapped (its `detail` is the event above). The result is the delivery report (or the
 * broadcast report), with connection ids: unlike the HTTP and socket routes' callers, whoever may invoke this
 * function is a trusted backend (the grant is IAM, given by the stack's owner), in the same position as a server
 * library user who reads the registry table anyway; the ids are what such a backend needs to act on a failure. Bad input throws `ValidationError` (or `PayloadTooLargeError` for an envelope over 128 KB)
 * with a message saying what is wrong: Lambda reports the name as the error type, so a Step Functions `Catch`
 * on `["ValidationError"]` handles it.
 */

const rules = readMessageRules(process.env);
const service = WebSocketService.fromEnvironment(process.env, { logger, metrics, broadcasts: true, rooms: true });

type DirectSendResult = DeliveryReport | BroadcastAcceptance | BroadcastStatus | RoomSendOutcome;

async function directSend(event: unknown, context: Context): Promise<DirectSendResult> {
  const request = validateDirectSendEvent(event, rules);
  const options = { remainingTimeMs: () => context.getRemainingTimeInMillis() };
  switch (request.kind) {
    case 'users':
      return service.sendToUsers(request.userIds, request.type, request.data, { ...options, persist: request.persist });
    case 'broadcast':
      return service.broadcast(request.type, request.data, { ...options, persist: request.persist });
    case 'room':
      // A room's counts (synchronous) or its fan-out's broadcast id (asynchronous): `delivery` tells which.
      return service.sendToRoom(request.room, request.type, request.data, {
        ...options,
        async: request.async,
        persist: request.persist,
      });
    case 'broadcastStatus': {
      const status = await service.getBroadcastStatus(request.broadcastId);
      if (!status) throw new NotFoundError(`no broadcast ${request.broadcastId}`);
      return status;
    }
    case 'notification':
      return service.sendNotification(request.userId, request.title, request.body, request.data, options);
  }
}

export const handler = middy<unknown, DirectSendResult, Error, Context>().use(observability()).handler(directSend);
