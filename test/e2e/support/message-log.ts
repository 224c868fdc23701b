import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Socket } from 'socket.io-client';
import WebSocket from 'ws';
import type { WebSocketConstructor } from '../../../client';
import { createEnvelope } from '../../../lambdas/core/envelope';
import { createLogIdGenerator } from '../../../lambdas/core/log-id';
import { createMessageLog, LogStream, readMessageLogConfig } from '../../../lambdas/core/message-log';
import type { LocalStack } from '../../../local/stack';
import { callApi } from './http';

export const HOUR_MS = 3_600_000;

/**
 * Records messages in the stack's log as a sender did `agoMs` ago, with that clock (ids and TTL dated back), marked
 * offline as a send to a user with no connection is: how a test shows an hour of absence without waiting an hour.
 *
 * @example
 * await recordDatedBack(stack, HOUR_MS, 'user123', [{ type: 'notification', data: { title: 't', body: 'b' } }]);
 */
export async function recordDatedBack(
  stack: LocalStack,
  agoMs: number,
  userId: string,
  messages: Array<{ type: string; data: unknown }>,
): Promise<void> {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.dynamoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'e2e', secretAccessKey: 'e2e' },
    }),
  );
  const past = () => Date.now() - agoMs;
  const log = createMessageLog({
    client,
    config: readMessageLogConfig({ MESSAGE_LOG_TABLE_NAME: stack.messageLogTableName })!,
    now: past,
    ids: createLogIdGenerator(past),
  });
  for (const message of messages) {
    const envelope = createEnvelope(message.type, message.data, { now: new Date(past()) });
    await log.record(envelope, [LogStream.user(userId)]);
    await log.markOffline(envelope.logId!, [userId]);
  }
  client.destroy();
}

/**
 * `ws` that remembers every socket it opened, so a test can cut one as the network would.
 *
 * @example
 * const network = killableWebSocket();
 * const socket = io(url, { WebSocket: network.WebSocket });
 * network.opened[0].terminate();
 */
export function killableWebSocket(): { WebSocket: WebSocketConstructor; opened: WebSocket[] } {
  const opened: WebSocket[] = [];
  class Killable extends WebSocket {
    constructor(url: string, protocols?: string | string[], options?: WebSocket.ClientOptions) {
      super(url, protocols, options);
      opened.push(this);
    }
  }
  return { WebSocket: Killable as unknown as WebSocketConstructor, opened };
}

/** The `ws` socket under a socket.io-client socket's websocket transport, to cut it as the network would. */
export function underlyingWebSocket(socket: Socket): WebSocket {
  return (socket.io.engine as unknown as { transport: { ws: WebSocket } }).transport.ws;
}

/**
 * Sends `maintenance` broadcasts over HTTP as a `ws:broadcast` holder, and waits for one to be complete.
 *
 * @example
 * const broadcasts = maintenanceBroadcasts(stack, adminToken);
 * await broadcasts.untilComplete(await broadcasts.send('22:00'));
 */
export function maintenanceBroadcasts(stack: LocalStack, adminToken: string) {
  return {
    async send(at: string): Promise<string> {
      const accepted = await callApi(stack.httpUrl, 'POST', '/websocket/message/broadcast', adminToken, {
        type: 'maintenance',
        data: { at },
      });
      if (accepted.status !== 202)
        throw new Error(`broadcast refused: ${accepted.status} ${JSON.stringify(accepted.body)}`);
      return (accepted.body as { broadcastId: string }).broadcastId;
    },
    async untilComplete(broadcastId: string): Promise<void> {
      for (;;) {
        const { body } = await callApi(stack.httpUrl, 'GET', `/websocket/broadcasts/${broadcastId}`, adminToken);
        if ((body as { state?: string }).state === 'complete') return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}
