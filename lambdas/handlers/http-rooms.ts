import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { ValidationError } from '../core/errors';
import { logger, metrics, observability } from '../core/observability';
import { authorizeRoom, type Caller, readPolicy } from '../core/policy';
import { ROOM_MEMBERS_PAGE } from '../core/room-membership';
import { assertRoomName } from '../core/rooms';
import { checkUserId } from '../core/validation';
import { WebSocketService } from '../core/websocket-service';
import { httpErrors } from './middleware/http-errors';
import { callerOf, type HttpEvent, httpRouter, integerQueryOf, jsonBodyOf } from './middleware/http-request';
import { type HttpResponse, jsonResponse } from './middleware/http-response';

/**
 * HTTP API room routes on `/websocket/rooms/{room}/members` (the room URL-encoded, e.g. `chat%3A42`):
 *
 * - `GET` (presence): a page of the room's members, users with connection counts (`?limit=` 1-1000, default 100;
 *   `?cursor=` from the previous page's `nextCursor`);
 * - `POST` `{ "userId": "user123" }` joins every live connection of the user, `{ "userId", "connectionId" }` one of
 *   them; no body (or no `userId`) means the caller's own connections. Answers `{ room, userId, connections }`;
 * - `DELETE`, the same body: leaves.
 *
 * A caller may act on their own connections in a room their token grants (`room:<pattern>`); anything else (another
 * user, a room not granted, listing a room not granted) needs the rooms permission (`ROOMS_PERMISSION`, default
 * `ws:rooms`). Refusals: 403 naming the missing grant, 404 for a user with no live connection or a connection that is
 * gone, 409 `too_many_rooms` / `room_full`, 400 for a bad room name or body.
 */

const policy = readPolicy(process.env);
const service = WebSocketService.fromEnvironment(process.env, { logger, metrics, rooms: true });

/** The `{room}` path parameter, checked like any room name (API Gateway passes it URL-decoded). */
function pathRoomOf(event: HttpEvent): string {
  const room = event.pathParameters?.room;
  assertRoomName(room, 'room path parameter');
  return room;
}

/** Whose connections a join or leave is about: the body's `userId` (and `connectionId`), else the caller's own. */
function selectorOf(event: HttpEvent, caller: Caller): { userId: string; connectionId?: string } {
  const body = event.body === undefined || event.body === '' ? {} : jsonBodyOf(event);
  const userId = body.userId === undefined ? caller.userId : checkUserId(body.userId, 'userId');
  if (body.connectionId === undefined) return { userId };
  if (typeof body.connectionId !== 'string') throw new ValidationError('connectionId must be a string');
  return { userId, connectionId: body.connectionId };
}

function membershipRoute(change: 'socketsJoin' | 'socketsLeave') {
  return async (event: HttpEvent): Promise<HttpResponse> => {
    const caller = callerOf(event);
    const room = pathRoomOf(event);
    const selector = selectorOf(event, caller);
    authorizeRoom(policy, caller, room, selector.userId);
    const connections = await service[change](room, selector);
    // Counts, not connection ids: the status route shows another user's connection ids to admins only.
    return jsonResponse(200, { room, userId: selector.userId, connections: connections.length });
  };
}

const route = httpRouter('httpRooms', {
  'GET /websocket/rooms/{room}/members': async (event) => {
    const caller = callerOf(event);
    const room = pathRoomOf(event);
    authorizeRoom(policy, caller, room);
    const limit = integerQueryOf(event, 'limit', ROOM_MEMBERS_PAGE);
    const cursor = event.queryStringParameters?.cursor || undefined;
    return jsonResponse(200, await service.fetchRoomMembers(room, { limit, cursor }));
  },
  'POST /websocket/rooms/{room}/members': membershipRoute('socketsJoin'),
  'DELETE /websocket/rooms/{room}/members': membershipRoute('socketsLeave'),
});

export const handler = middy<HttpEvent, HttpResponse, Error, Context>()
  .use(observability())
  .use(httpErrors(logger))
  .handler(route);
