import middy from '@middy/core';
import { type AuthorizerContext, tokenHasExpired } from '../core/authorizer-context';
import { createEnvelope, type Envelope, ServerFrameType } from '../core/envelope';
import { ClientError, UnauthorizedError, ValidationError } from '../core/errors';
import { FrameErrorCode, tokenExpiredMessage } from '../core/frames';
import { logger, metrics, observability } from '../core/observability';
import { authorizeRoom, callerFromContext, readPolicy } from '../core/policy';
import { ROOM_MEMBERS_PAGE } from '../core/room-membership';
import { assertRoomName } from '../core/rooms';
import { parseJson } from '../core/validation';
import { WebSocketService } from '../core/websocket-service';
import { acknowledgements } from './middleware/websocket-acks';
import { webSocketErrors } from './middleware/websocket-errors';
import { readAuthorizerContext, type WebSocketEvent, type WebSocketResult } from './middleware/websocket-event';

/**
 * The socket's room requests: `{"action":"join","room":"chat:42"}`, `{"action":"leave","room":"chat:42"}` and
 * `{"action":"members","room":"presence-lobby","limit":100,"cursor":"…"}` on the JSON protocol (their own routes), and
 * `socket.emit('join', 'chat:42', ack)` (also `leave`, `members`) on Socket.IO (through `$default`). The caller's own
 * connection joins or leaves; the room must be granted by the token (`room:<pattern>` in its scope or permissions
 * claim, see `rooms.ts`) or the caller hold the rooms permission (`ROOMS_PERMISSION`, default `ws:rooms`).
 *
 * Answers, one frame on the caller's socket: `joined` `{ room }`, `left` `{ room }`, `members` (a page of users with
 * connection counts), or an `error` frame `{ code, message }`: `forbidden` (room not granted), `token_expired`,
 * `invalid_room`, `not_found` (the connection is gone), `too_many_rooms`, `room_full`.
 */

const policy = readPolicy(process.env);
const service = WebSocketService.fromEnvironment(process.env, { logger, metrics, rooms: true });

/**
 * The largest `members` page on a socket: an answer is one WebSocket message of at most 128 KB, and 500 users with the
 * longest ids (128 characters, ~160 bytes an entry) stay near 80 KB. The HTTP route serves up to 1,000.
 */
export const SOCKET_MEMBERS_PAGE_MAX = 500;

/** The room requests a client can make. */
export const roomActions = ['join', 'leave', 'members'] as const;
export type RoomAction = (typeof roomActions)[number];

/**
 * Whether an action or Socket.IO event name is a room request.
 *
 * @example
 * isRoomAction('join'); // true
 */
export function isRoomAction(name: string): name is RoomAction {
  return (roomActions as readonly string[]).includes(name);
}

/**
 * A room request's work, whichever protocol carried it: the caller from the connection's authorizer context, the
 * token's expiry, the room's grant, then the join, leave or listing, and the envelope to answer with. A refusal throws
 * a {@link ClientError}.
 *
 * @example
 * await roomRequestFromSocket(context, 'abc=', 'join', { room: 'chat:42' });
 * // { type: 'joined', data: { room: 'chat:42' }, ... }
 */
export async function roomRequestFromSocket(
  authorizerContext: AuthorizerContext | undefined,
  connectionId: string,
  action: RoomAction,
  request: unknown,
): Promise<Envelope> {
  if (!authorizerContext) throw new UnauthorizedError('This connection carries no authorizer context');
  if (tokenHasExpired(authorizerContext.tokenExpiresAt)) {
    throw new ClientError(401, FrameErrorCode.tokenExpired, tokenExpiredMessage(authorizerContext.tokenExpiresAt));
  }
  const fields = (typeof request === 'object' && request !== null ? request : {}) as Record<string, unknown>;
  assertRoomName(fields.room);
  const room = fields.room;
  const caller = callerFromContext(authorizerContext);
  authorizeRoom(policy, caller, room, caller.userId);
  switch (action) {
    case 'join':
      await service.socketsJoin(room, { userId: caller.userId, connectionId });
      return createEnvelope(ServerFrameType.joined, { room });
    case 'leave':
      await service.socketsLeave(room, { userId: caller.userId, connectionId });
      return createEnvelope(ServerFrameType.left, { room });
    case 'members': {
      const { limit, cursor } = fields;
      if (
        limit !== undefined &&
        (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > SOCKET_MEMBERS_PAGE_MAX)
      ) {
        throw new ValidationError(
          `limit must be an integer from ${ROOM_MEMBERS_PAGE.min} to ${SOCKET_MEMBERS_PAGE_MAX}`,
        );
      }
      if (cursor !== undefined && typeof cursor !== 'string') throw new ValidationError('cursor must be a string');
      return createEnvelope(ServerFrameType.members, await service.fetchRoomMembers(room, { limit, cursor }));
    }
  }
}

async function answer(event: WebSocketEvent): Promise<WebSocketResult> {
  const action = event.requestContext.routeKey;
  // Only the route table's join, leave and members routes reach this function.
  if (!isRoomAction(action)) throw new Error(`ws-rooms reached by route ${action}`);
  const envelope = await roomRequestFromSocket(
    readAuthorizerContext(event.requestContext),
    event.requestContext.connectionId,
    action,
    parseJson(event.body ?? '', 'Frame'),
  );
  return { statusCode: 200, body: JSON.stringify(envelope) };
}

export const handler = middy<WebSocketEvent, WebSocketResult>()
  .use(observability())
  .use(acknowledgements())
  .use(webSocketErrors())
  .handler(answer);
