import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type AuthorizerContext, tokenHasExpired } from '../core/authorizer-context';
import { reportForCaller } from '../core/delivery';
import { createEnvelope, type Envelope, ServerFrameType } from '../core/envelope';
import { ClientError, UnauthorizedError } from '../core/errors';
import { FrameErrorCode, tokenExpiredMessage } from '../core/frames';
import { logger, metrics, observability } from '../core/observability';
import { authorize, authorizeRoomSend, callerFromContext, permits, readPolicy } from '../core/policy';
import { parseJson, readMessageRules, roomOf, validateRoomSendFrame, validateSendFrame } from '../core/validation';
import { WebSocketService } from '../core/websocket-service';
import { acknowledgements } from './middleware/websocket-acks';
import { webSocketErrors } from './middleware/websocket-errors';
import { readAuthorizerContext, type WebSocketEvent, type WebSocketResult } from './middleware/websocket-event';

/**
 * The socket's `send` route: `{"action":"send","userId"|"userIds","type","data"}`, with the same policy,
 * validation and delivery as `POST /websocket/message/user(s)`, so a chat frontend needs no HTTP; or
 * `{"action":"send","room","type","data","async"?}`, as `POST /websocket/message/room` (the room's permission, the
 * room's counts or, for a room sent through the fan-out, its broadcast id, in the `delivery` envelope). The answer is
 * one frame on the sender's socket (the route has a route response): a `delivery` envelope carrying the report
 * (with connection ids for a caller holding the admin permission, else the summary without them),
 * or, for a validation or authorization failure, an `error` envelope `{ code, message }` (the shared
 * `webSocketErrors` middleware, as on every other route).
 *
 * API Gateway checks the token on `$connect` only, so a socket would otherwise keep sending until the 2-hour
 * connection limit after its token expired: once `tokenExpiresAt` (plus the skew the authorizers allow) has passed,
 * the answer is an `error` frame `token_expired` and nothing is delivered. `ping` and `hello` keep answering: they
 * reveal nothing, and let the client stay connected long enough to read the refusal and renew.
 */

// Read once at cold start: a bad setting fails the init and names the setting.
const policy = readPolicy(process.env);
const rules = readMessageRules(process.env);
// Rooms too large for one invocation go through the fan-out, so this function may queue slices as well.
const service = WebSocketService.fromEnvironment(process.env, { logger, metrics, broadcasts: true, rooms: true });

/**
 * The `send` route's work, whichever protocol carried the frame: the sender from the connection's authorizer
 * context, the same policy, validation and delivery as the HTTP routes, and the `delivery` envelope to answer with.
 * A refusal throws a {@link ClientError}. `readFrame` (the parse) runs after the token check, so an expired token is
 * told so even when its frame is malformed; the permission is checked before the frame's fields (a frame to users:
 * `sendToUsers`; a frame naming a room: that room's, once its `room` alone has been read).
 *
 * @example
 * const answer = await sendFromSocket(readAuthorizerContext(event.requestContext),
 *   () => ({ userId: 'user456', type: 'chat', data: {} }), () => context.getRemainingTimeInMillis());
 */
export async function sendFromSocket(
  authorizerContext: AuthorizerContext | undefined,
  readFrame: () => unknown,
  remainingTimeMs: () => number,
): Promise<Envelope> {
  // Only a socket that passed the `$connect` authorizer reaches this route; no context is a wiring fault.
  if (!authorizerContext) throw new UnauthorizedError('This connection carries no authorizer context');
  if (tokenHasExpired(authorizerContext.tokenExpiresAt)) {
    // 401 like the HTTP routes; on this route the shared middleware answers it as an error frame.
    throw new ClientError(401, FrameErrorCode.tokenExpired, tokenExpiredMessage(authorizerContext.tokenExpiresAt));
  }
  const caller = callerFromContext(authorizerContext);
  const frame = readFrame();
  if (isRoomFrame(frame)) {
    authorizeRoomSend(policy, caller, roomOf(frame, 'Frame'));
    const message = validateRoomSendFrame(frame, rules);
    const outcome = await service.sendToRoom(message.room, message.type, message.data, {
      from: caller.userId,
      remainingTimeMs,
      async: message.async,
      persist: message.persist,
    });
    return createEnvelope(ServerFrameType.delivery, outcome);
  }
  authorize(policy, caller, 'sendToUsers');
  const message = validateSendFrame(frame, rules);
  const report = await service.sendToUsers(message.userIds, message.type, message.data, {
    from: caller.userId,
    remainingTimeMs,
    persist: message.persist,
  });
  // Connection ids only for callers who may see them on the status route too.
  const answer = reportForCaller(report, permits(policy, caller, 'seeConnectionIds'));
  return createEnvelope(ServerFrameType.delivery, answer);
}

/** A frame that names a room (its other fields are checked by the validator). */
function isRoomFrame(frame: unknown): boolean {
  return typeof frame === 'object' && frame !== null && (frame as { room?: unknown }).room !== undefined;
}

async function send(event: WebSocketEvent, context: Context): Promise<WebSocketResult> {
  const answer = await sendFromSocket(
    readAuthorizerContext(event.requestContext),
    () => parseJson(event.body ?? '', 'Frame'),
    () => context.getRemainingTimeInMillis(),
  );
  return { statusCode: 200, body: JSON.stringify(answer) };
}

export const handler = middy<WebSocketEvent, WebSocketResult, Error, Context>()
  .use(observability())
  .use(acknowledgements())
  .use(webSocketErrors())
  .handler(send);
