import { PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { AuthorizerContext } from '../core/authorizer-context';
import { getDocumentClient, getManagementClient } from '../core/clients';
import { ClientError } from '../core/errors';
import { createMessageLog, readMessageLogConfig } from '../core/message-log';
import { logger, observability } from '../core/observability';
import { createConnectionRegistry, readRegistryConfig } from '../core/registry';
import { createRoomLog } from '../core/room-log';
import { createRoomRegistry, readRoomRegistryConfig } from '../core/room-registry';
import { answerSocketIoFrame } from '../core/socketio-frames';
import { DEFAULT_SOCKET_IO_REPLAY_LIMIT, recoverSocketIoSession, type SessionRooms } from '../core/socketio-recovery';
import { acknowledgements } from './middleware/websocket-acks';
import { webSocketErrors } from './middleware/websocket-errors';
import { readAuthorizerContext, type WebSocketEvent, type WebSocketResult } from './middleware/websocket-event';
import { answerFrame } from './ws-frames';
import { roomRequestFromSocket } from './ws-rooms';
import { sendFromSocket } from './ws-send';

/**
 * WebSocket `$default`: every frame API Gateway could not route by its JSON `action`. On a Socket.IO connection
 * (the authorizer context says so) that is every frame, `send` included: it is answered in Socket.IO packets. On a
 * JSON connection it is a frame the server cannot act on, answered with an `error` frame as before.
 */

// Read once at cold start. Without a message log (a deployment that has none) CONNECT only hands the connection over.
const logConfig = readMessageLogConfig(process.env);
const log = logConfig && createMessageLog({ client: getDocumentClient(), config: logConfig });
const registry = createConnectionRegistry({ client: getDocumentClient(), ...readRegistryConfig(process.env) });
const managementClient = getManagementClient(process.env);
const roomLog = logConfig && createRoomLog({ client: getDocumentClient(), config: logConfig });
const roomRegistry = createRoomRegistry({ client: getDocumentClient(), ...readRoomRegistryConfig(process.env) });

/**
 * A recovered session's rooms: joined again through the client's own join request (token, grant, limits), so a room
 * no longer granted is not restored; a refused one is left out.
 */
function sessionRooms(authorizerContext: AuthorizerContext, connectionId: string): SessionRooms | undefined {
  if (!roomLog) return undefined;
  const target = { userId: authorizerContext.userId, connectionId };
  return {
    log: roomLog,
    rejoin: async (rooms) => {
      const joined: string[] = [];
      for (const room of rooms) {
        try {
          await roomRequestFromSocket(authorizerContext, connectionId, 'join', { room });
          joined.push(room);
        } catch (error) {
          if (!(error instanceof ClientError)) throw error;
          logger.info('a recovered session room was not joined again', { room, code: error.code });
        }
      }
      return joined;
    },
    finishReplay: (rooms, handoff) => roomRegistry.finishReplay(target, rooms, handoff),
  };
}

/** The namespace CONNECT of one connection: replay, hand-off, and the `pid` to answer with. */
async function connectSocketIo(
  authorizerContext: AuthorizerContext,
  connectionId: string,
  auth: Record<string, unknown> | undefined,
) {
  const { userId } = authorizerContext;
  const post = async (frame: string): Promise<void> => {
    await managementClient.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(frame) }));
  };
  if (!log) {
    // No log, no recovery: no pid, so socket.io-client does not ask for it.
    await registry.finishReplay(userId, connectionId, { liveAfter: '', replayReadAt: Date.now() });
    return {};
  }
  const recovery = await recoverSocketIoSession(
    {
      log,
      registry,
      post,
      maxMessages: DEFAULT_SOCKET_IO_REPLAY_LIMIT,
      rooms: sessionRooms(authorizerContext, connectionId),
    },
    { userId, connectionId, auth },
  );
  logger.info('socket.io session', {
    recovered: recovery.recovered,
    replayed: recovery.posted,
    gaps: recovery.gaps,
    rooms: recovery.rooms.length,
  });
  return recovery;
}

/**
 * Answers one frame that reached `$default`.
 *
 * @example
 * await answerDefault(event, context); // { statusCode: 200, body: '40{"sid":"abc="}' } for a Socket.IO CONNECT
 */
export async function answerDefault(event: WebSocketEvent, context: Context): Promise<WebSocketResult> {
  const authorizerContext = readAuthorizerContext(event.requestContext);
  if (authorizerContext?.protocol !== 'socket.io') return answerFrame(event);
  const answer = await answerSocketIoFrame({
    body: event.body ?? '',
    userId: authorizerContext.userId,
    connectionId: event.requestContext.connectionId,
    send: (readFrame) => sendFromSocket(authorizerContext, readFrame, () => context.getRemainingTimeInMillis()),
    room: (action, request) =>
      roomRequestFromSocket(authorizerContext, event.requestContext.connectionId, action, request),
    connect: (auth) => connectSocketIo(authorizerContext, event.requestContext.connectionId, auth),
  });
  // No body: API Gateway sends nothing back (an Engine.IO pong needs no answer).
  return answer === undefined ? { statusCode: 200 } : { statusCode: 200, body: answer };
}

export const handler = middy<WebSocketEvent, WebSocketResult, Error, Context>()
  .use(observability())
  .use(acknowledgements())
  .use(webSocketErrors())
  .handler(answerDefault);
