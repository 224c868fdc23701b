import type { Envelope } from './envelope';
import { ClientError } from './errors';
import { authenticatedFrame, errorFrame, FrameErrorCode, knownActions, pongFrame } from './frames';
import {
  decodeClientFrame,
  EngineIoPacket,
  encodeConnect,
  encodeConnectError,
  encodeEnvelopeEvent,
  engineIoPing,
} from './socketio-protocol';

/**
 * What the server answers a Socket.IO client on the frame it sent (the `$default` route's route response): the
 * namespace `CONNECT`, the events of the JSON protocol's actions (`ping` → `pong`, `hello` → `authenticated`,
 * `send` → `delivery`, `join` → `joined`, `leave` → `left`, `members` → `members`) and an `error` event for anything else. An emit with a callback gets its answer as the
 * callback's arguments (an `ACK`) instead of an event. No Lambda types: the handler maps the event onto this.
 */

export interface SocketIoFrameInput {
  body: string;
  userId: string;
  connectionId: string;
  /** The `send` action: delivers and answers the `delivery` envelope, or throws a ClientError. */
  send: (readFrame: () => unknown) => Promise<Envelope>;
  /**
   * The room requests (`join`, `leave`, `members`), given `{ room, ... }`: answers the `joined`, `left` or `members`
   * envelope, or throws a ClientError.
   */
  room?: (action: 'join' | 'leave' | 'members', request: unknown) => Promise<Envelope>;
  /**
   * The namespace CONNECT: replays what the client missed and hands the connection to the live senders
   * (`socketio-recovery.ts`), resolving with the `pid` to answer with. Absent: no recovery (`{ sid }` alone).
   */
  connect?: (auth: Record<string, unknown> | undefined) => Promise<{ pid?: string }>;
  now?: Date;
}

/**
 * The frame to answer with, or undefined when the packet needs no answer (an Engine.IO pong, a `DISCONNECT`, ...).
 *
 * @example
 * await answerSocketIoFrame({ body: '40', userId: 'user123', connectionId: 'abc=', send });
 * // '40{"sid":"abc="}'
 * await answerSocketIoFrame({ body: '42["ping"]', userId: 'user123', connectionId: 'abc=', send });
 * // '42["pong",{"serverTime":"…"},{"id":"…","timestamp":"…"}]'
 */
export async function answerSocketIoFrame(input: SocketIoFrameInput): Promise<string | undefined> {
  const now = input.now ?? new Date();
  const frame = decodeClientFrame(input.body);
  switch (frame.kind) {
    case 'engine':
      // An Engine.IO v4 client only answers pings; a ping from it still gets its pong.
      return frame.packet === 'ping' ? EngineIoPacket.pong : undefined;
    case 'connect':
      // The token was checked at `$connect` (API Gateway authorizes nowhere else): CONNECT's `auth` is read only for
      // the recovery's `pid` and `offset`.
      if (frame.namespace !== '/') return encodeConnectError(frame.namespace, 'Invalid namespace');
      if (!input.connect) return encodeConnect(input.connectionId);
      return encodeConnect(input.connectionId, (await input.connect(frame.auth)).pid);
    case 'disconnect':
    case 'ack':
      return undefined;
    case 'invalid':
      return encodeEnvelopeEvent(errorFrame(FrameErrorCode.invalidFrame, frame.reason, now));
    case 'event': {
      if (frame.namespace !== '/') {
        return encodeEnvelopeEvent(
          errorFrame(FrameErrorCode.invalidFrame, `only the default namespace "/" is served`, now),
          frame.ackId,
        );
      }
      return encodeEnvelopeEvent(await answerEvent(input, frame.name, frame.args, now), frame.ackId);
    }
  }
}

async function answerEvent(input: SocketIoFrameInput, name: string, args: unknown[], now: Date): Promise<Envelope> {
  switch (name) {
    case 'ping':
      return pongFrame(now);
    case 'hello':
      return authenticatedFrame({ userId: input.userId, connectionId: input.connectionId }, now);
    case 'send':
      try {
        return await input.send(() => args[0]);
      } catch (error) {
        if (error instanceof ClientError) return errorFrame(error.code, error.message, now);
        throw error;
      }
    case 'join':
    case 'leave':
    case 'members':
      if (!input.room) break;
      try {
        // `emit('join', 'chat:42', ack)` as in Socket.IO's own room helpers; `{ room, limit, cursor }` also reads.
        return await input.room(name, typeof args[0] === 'string' ? { room: args[0] } : args[0]);
      } catch (error) {
        if (error instanceof ClientError) return errorFrame(error.code, error.message, now);
        throw error;
      }
  }
  return errorFrame(
    FrameErrorCode.unknownAction,
    `unknown event ${JSON.stringify(name.slice(0, 64))}; known events: ${knownActions.join(', ')}`,
    now,
  );
}

/** The Engine.IO ping packet, re-exported for the heartbeat's senders. */
export { engineIoPing };
