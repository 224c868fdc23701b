import middy from '@middy/core';
import { getDocumentClient } from '../core/clients';
import { MessageLogSetting, requireString } from '../core/config';
import { UnauthorizedError } from '../core/errors';
import { createMessageLog, readMessageLogConfig } from '../core/message-log';
import { observability } from '../core/observability';
import { replayPage, validateResumeFrame } from '../core/resume';
import { createRoomLog } from '../core/room-log';
import { parseJson } from '../core/validation';
import { acknowledgements } from './middleware/websocket-acks';
import { webSocketErrors } from './middleware/websocket-errors';
import { readAuthorizerContext, type WebSocketEvent, type WebSocketResult } from './middleware/websocket-event';

/**
 * WebSocket `resume` route: answers with one page of what the caller's user missed (see `core/resume.ts`), the rooms
 * the user belongs to included (their membership records, in the log table). The page is the route response, so this
 * function needs no management API and reads nothing but the log; the user is the connection's (from the `$connect`
 * authorizer), never the frame's, and the frame's `rooms` only narrow the user's records.
 */

// Read once at cold start: a missing table name fails the init and names the setting.
requireString(process.env, MessageLogSetting.messageLogTableName);
const logConfig = readMessageLogConfig(process.env)!;
const log = createMessageLog({ client: getDocumentClient(), config: logConfig });
const roomLog = createRoomLog({ client: getDocumentClient(), config: logConfig });

/**
 * Answers one `resume` frame.
 *
 * @example
 * await answerResume(event); // { statusCode: 200, body: '{"type":"replay","data":{"messages":[…],…},…}' }
 */
export async function answerResume(event: WebSocketEvent): Promise<WebSocketResult> {
  const context = readAuthorizerContext(event.requestContext);
  if (!context) throw new UnauthorizedError('This connection carries no authorizer context');
  const frame = validateResumeFrame(parseJson(event.body ?? '', 'Frame'));
  if (frame.delivered !== undefined) {
    // Offline delivery's receipt: the pending messages up to it go to no other connection of the user.
    await log.confirmOffline(context.userId, frame.delivered);
    return { statusCode: 200 };
  }
  const envelope = await replayPage(log, context.userId, frame, roomLog);
  return { statusCode: 200, body: JSON.stringify(envelope) };
}

export const handler = middy<WebSocketEvent, WebSocketResult>()
  .use(observability())
  .use(acknowledgements())
  .use(webSocketErrors())
  .handler(answerResume);
