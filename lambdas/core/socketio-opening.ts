import { setTimeout as delay } from 'node:timers/promises';
import { type ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { schedules } from '../routes';
import { type Environment, requireUrl, Setting } from './config';
import { isGoneError } from './delivery';
import { type EngineIoHandshake, encodeOpen } from './socketio-protocol';

/**
 * The Engine.IO `open` packet of a new Socket.IO connection. socket.io-client sends nothing until it has it, and
 * nothing can be posted to a connection before its `$connect` has returned (API Gateway answers such a post 410),
 * so `$connect` queues an opening and returns; the opener function posts the packet from the queue. A post that
 * still meets 410 (the queue was faster than the gateway completing the handshake) is tried again for a short
 * window: after it, 410 means the client left.
 */

/** One queued opening. */
export interface OpeningMessage {
  connectionId: string;
  /** Epoch ms at which `$connect` queued it; the retry window counts from here. */
  queuedAt: number;
}

/**
 * The heartbeat the `open` packet announces. The server pings every Socket.IO connection on a schedule
 * (`schedules.socketIoPings`, through the fan-out: `socketio-pinger.ts`); the client answers each ping with a pong,
 * a client frame, which is what resets API Gateway's 10-minute idle timeout (server posts do not). `pingInterval` is
 * the schedule's period; `pingTimeout` lets a sweep take up to another period, so the client gives up on the server
 * no sooner than the gateway would close an idle connection (10 minutes).
 */
export const socketIoHeartbeat: Omit<EngineIoHandshake, 'sid'> = {
  pingInterval: schedules.socketIoPings.rateMinutes * 60 * 1000,
  pingTimeout: schedules.socketIoPings.rateMinutes * 60 * 1000,
  // API Gateway's message limit: the client's own check (polling only) would never let a larger message reach it.
  maxPayload: 128 * 1024,
};

/** How long an opening keeps trying after it was queued, and the waits between its posts. */
export const OPENING_RETRY = { windowMs: 5000, firstDelayMs: 20, maxDelayMs: 500 } as const;

/**
 * Reads `OPENING_QUEUE_URL` (required).
 *
 * @example
 * readOpeningQueueUrl({ OPENING_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123/openings' });
 */
export function readOpeningQueueUrl(env: Environment): string {
  return requireUrl(env, Setting.openingQueueUrl).href;
}

/**
 * Queues the opening of a new Socket.IO connection (`sqs:SendMessage`).
 *
 * @example
 * await queueOpening({ client: getSqsClient(), queueUrl }, { connectionId: 'abc=', queuedAt: Date.now() });
 */
export async function queueOpening(
  deps: { client: SQSClient; queueUrl: string },
  message: OpeningMessage,
): Promise<void> {
  await deps.client.send(new SendMessageCommand({ QueueUrl: deps.queueUrl, MessageBody: JSON.stringify(message) }));
}

/**
 * Reads a queued opening; anything else throws (the record then fails and reaches the DLQ).
 *
 * @example
 * parseOpeningMessage('{"connectionId":"abc=","queuedAt":1795690800000}');
 */
export function parseOpeningMessage(body: string): OpeningMessage {
  const parsed = JSON.parse(body) as Partial<OpeningMessage>;
  if (typeof parsed.connectionId !== 'string' || parsed.connectionId.length === 0) {
    throw new TypeError('opening message has no connectionId');
  }
  if (typeof parsed.queuedAt !== 'number' || !Number.isFinite(parsed.queuedAt)) {
    throw new TypeError('opening message has no queuedAt');
  }
  return { connectionId: parsed.connectionId, queuedAt: parsed.queuedAt };
}

export interface OpenerDependencies {
  managementClient: ApiGatewayManagementApiClient;
  /** Epoch ms; tests pass a fixed clock. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Posts the `open` packet: `opened`, or `gone` when the connection still answered 410 once the retry window had
 * passed (the client left; its `$disconnect` removes it). Any other failure is thrown.
 *
 * @example
 * await postOpening({ managementClient }, { connectionId: 'abc=', queuedAt }); // 'opened'
 */
export async function postOpening(deps: OpenerDependencies, message: OpeningMessage): Promise<'opened' | 'gone'> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => delay(ms));
  const data = Buffer.from(encodeOpen({ sid: message.connectionId, ...socketIoHeartbeat }), 'utf8');
  let wait: number = OPENING_RETRY.firstDelayMs;
  while (true) {
    try {
      await deps.managementClient.send(new PostToConnectionCommand({ ConnectionId: message.connectionId, Data: data }));
      return 'opened';
    } catch (error) {
      if (!isGoneError(error)) throw error;
      if (now() + wait - message.queuedAt > OPENING_RETRY.windowMs) return 'gone';
      await sleep(wait);
      wait = Math.min(wait * 2, OPENING_RETRY.maxDelayMs);
    }
  }
}
