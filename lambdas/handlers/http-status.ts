import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { getDocumentClient } from '../core/clients';
import { NotFoundError } from '../core/errors';
import { logger, observability } from '../core/observability';
import { authorize, authorizeForUser, authorizeRoomSend, permits, readPolicy } from '../core/policy';
import { createConnectionRegistry, readRegistryConfig } from '../core/registry';
import { checkBroadcastId } from '../core/validation';
import { ConnectionPresence, readFanOutState } from '../core/websocket-service';
import { httpErrors } from './middleware/http-errors';
import {
  callerOf,
  type HttpEvent,
  httpRouter,
  integerQueryOf,
  pathUserIdOf,
  unmatchedRoute,
} from './middleware/http-request';
import { type HttpResponse, jsonResponse } from './middleware/http-response';

/**
 * HTTP API status routes, read-only (a broadcast's status among them), and the `$default` catch-all that answers 404 for any other request.
 * Everyone may see their own status; another user's status and the list of connected users need the admin
 * permission. This function uses the library's read-only half: it has no management client (and no IAM right to
 * one), which also keeps that client out of its bundle.
 */

const policy = readPolicy(process.env);
const presence = new ConnectionPresence({
  registry: createConnectionRegistry({ client: getDocumentClient(), ...readRegistryConfig(process.env) }),
  broadcasts: readFanOutState(process.env),
});

/** `?limit=` bounds for the connected users page. */
export const CONNECTED_USERS_PAGE = { fallback: 50, min: 1, max: 100 } as const;

const route = httpRouter('httpStatus', {
  'GET /websocket/users/connected': async (event) => {
    authorize(policy, callerOf(event), 'listConnectedUsers');
    const limit = integerQueryOf(event, 'limit', CONNECTED_USERS_PAGE);
    const cursor = event.queryStringParameters?.cursor || undefined;
    return jsonResponse(200, await presence.getConnectedUsers({ limit, cursor }));
  },
  'GET /websocket/users/{userId}/status': async (event) => {
    const caller = callerOf(event);
    const userId = pathUserIdOf(event);
    authorizeForUser(policy, caller, 'status', userId);
    return jsonResponse(200, await presence.getUserStatus(userId));
  },
  'GET /websocket/me/status': async (event) => {
    return jsonResponse(200, await presence.getUserStatus(callerOf(event).userId));
  },
  // Whoever may broadcast may follow broadcasts: the counts say nothing about who is connected. A room fan-out is
  // also for whoever may send to its room (the sender of a large room got its id); to anyone else an unknown id and
  // another room's fan-out look the same, 403, so ids cannot be probed.
  'GET /websocket/broadcasts/{broadcastId}': async (event) => {
    const caller = callerOf(event);
    const mayBroadcast = permits(policy, caller, 'broadcast');
    const broadcastId = checkBroadcastId(event.pathParameters?.broadcastId, 'broadcastId');
    const status = await presence.getBroadcastStatus(broadcastId);
    if (!mayBroadcast) {
      if (status?.room === undefined) authorize(policy, caller, 'broadcast');
      else authorizeRoomSend(policy, caller, status.room);
    }
    if (!status) throw new NotFoundError(`No broadcast ${broadcastId} (unknown, or its state has expired)`);
    return jsonResponse(200, status);
  },
  // The catch-all: this read-only function has the least access of the HTTP functions.
  $default: unmatchedRoute,
});

export const handler = middy<HttpEvent, HttpResponse, Error, Context>()
  .use(observability())
  .use(httpErrors(logger))
  .handler(route);
