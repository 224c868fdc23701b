export { ConnectionProtocol, protocolOfHandshake, readConnectionProtocol } from './connection-protocol';

import type { Envelope } from './envelope';

/**
 * The Socket.IO wire protocol as this product speaks it over API Gateway: Engine.IO v4 packets over the websocket
 * transport (one packet per WebSocket text frame), carrying Socket.IO v5 packets in Engine.IO `message` packets.
 * Pure encoding and decoding: no AWS, no Lambda. The shapes follow the protocol specifications
 * (socketio/engine.io-protocol v4, socketio/socket.io-protocol v5) and are checked in
 * `test/unit/socketio-protocol.test.ts` against the reference implementations (engine.io-parser, socket.io-parser).
 *
 * What API Gateway allows shapes what is supported: text frames only (a binary frame closes the connection with
 * 1003), so no binary attachments; the default namespace `/` only; the websocket transport only (no HTTP
 * long-polling: API Gateway's WebSocket API has no HTTP routes).
 */

/** Engine.IO v4 packet types: the first character of each frame. */
export const EngineIoPacket = {
  open: '0',
  close: '1',
  ping: '2',
  pong: '3',
  message: '4',
  upgrade: '5',
  noop: '6',
} as const;

/** Socket.IO v5 packet types: the first character inside an Engine.IO `message`. */
export const SocketIoPacket = {
  connect: '0',
  disconnect: '1',
  event: '2',
  ack: '3',
  connectError: '4',
  binaryEvent: '5',
  binaryAck: '6',
} as const;

/** What the Engine.IO `open` packet announces to the client. */
export interface EngineIoHandshake {
  /** The Engine.IO session id: the API Gateway connection id. */
  sid: string;
  /** Milliseconds between the server's pings. */
  pingInterval: number;
  /** Milliseconds the client waits past `pingInterval` for a ping before it closes ("ping timeout"). */
  pingTimeout: number;
  /** Bytes of the largest message the server accepts: API Gateway's 128 KB. */
  maxPayload: number;
}

/**
 * The Engine.IO `open` packet: the first frame the client must receive, before it sends anything.
 *
 * @example
 * encodeOpen({ sid: 'abc=', pingInterval: 25000, pingTimeout: 20000, maxPayload: 131072 });
 * // '0{"sid":"abc=","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":131072}'
 */
export function encodeOpen(handshake: EngineIoHandshake): string {
  const { sid, pingInterval, pingTimeout, maxPayload } = handshake;
  // No upgrades: the client is already on the websocket transport, the only one API Gateway offers.
  return `${EngineIoPacket.open}${JSON.stringify({ sid, upgrades: [], pingInterval, pingTimeout, maxPayload })}`;
}

/** The Engine.IO `ping` packet the server sends every `pingInterval`; the client answers `3`. */
export const engineIoPing = EngineIoPacket.ping;

const message = (socketIoPacket: string): string => `${EngineIoPacket.message}${socketIoPacket}`;

/**
 * The Socket.IO `CONNECT` answer for the default namespace: the client's `connect` event, with `socket.id` = `sid`.
 *
 * @example
 * encodeConnect('abc='); // '40{"sid":"abc="}'
 */
export function encodeConnect(sid: string, pid?: string): string {
  // `pid` turns on socket.io-client's connection-state recovery: it then keeps the last string argument of every
  // event as its offset and sends `pid` and `offset` in the next CONNECT's auth (socket.io-client's Socket#onconnect,
  // #emitEvent and #_sendConnectPacket).
  return message(`${SocketIoPacket.connect}${JSON.stringify(pid === undefined ? { sid } : { sid, pid })}`);
}

/**
 * A Socket.IO `CONNECT_ERROR`: the client's `connect_error` event with `message` (and `data` when given).
 *
 * @example
 * encodeConnectError('/admin', 'Invalid namespace'); // '44/admin,{"message":"Invalid namespace"}'
 */
export function encodeConnectError(namespace: string, text: string, data?: unknown): string {
  const payload = data === undefined ? { message: text } : { message: text, data };
  return message(`${SocketIoPacket.connectError}${namespacePrefix(namespace)}${JSON.stringify(payload)}`);
}

/**
 * The Socket.IO `DISCONNECT` the server sends before it closes a connection: the client reports
 * `"io server disconnect"` and, unlike after a transport close, does not reconnect by itself.
 *
 * @example
 * encodeServerDisconnect(); // '41'
 */
export function encodeServerDisconnect(): string {
  return message(SocketIoPacket.disconnect);
}

/**
 * A Socket.IO `EVENT` on the default namespace: `socket.on(name, (...args) => …)` on the client.
 *
 * @example
 * encodeEvent('pong', [{ serverTime: '2026-11-26T10:00:00.000Z' }]); // '42["pong",{"serverTime":"…"}]'
 */
export function encodeEvent(name: string, args: readonly unknown[]): string {
  return message(`${SocketIoPacket.event}${JSON.stringify([name, ...args])}`);
}

/**
 * A Socket.IO `ACK` answering the client's `emit(..., callback)` whose packet carried `id`: the callback gets `args`.
 *
 * @example
 * encodeAck(7, [{ ok: true }]); // '437[{"ok":true}]'
 */
export function encodeAck(id: number, args: readonly unknown[]): string {
  return message(`${SocketIoPacket.ack}${id}${JSON.stringify(args)}`);
}

/** What every envelope's event carries after its `data`: the envelope's identity (the adapter's `envelope` argument). */
export interface EnvelopeMeta {
  id: string;
  timestamp: string;
  from?: string;
}

/**
 * An envelope as a Socket.IO client receives it: the event named after its `type`, with `data` and then the
 * envelope's `id`, `timestamp` and `from`, so `socket.on('chat', (data, meta) => …)` reads like the adapter's
 * `(data, envelope)`. The data is not repeated, so the frame is never larger than the envelope's JSON (the
 * 128 KB check on the envelope covers it).
 *
 * @example
 * encodeEnvelopeEvent({ type: 'chat', data: { message: 'Hi' }, timestamp: 't', id: 'm', from: 'user123' });
 * // '42["chat",{"message":"Hi"},{"id":"m","timestamp":"t","from":"user123"}]'
 * encodeEnvelopeEvent({ type: 'chat', data: {}, timestamp: 't', id: 'm', logId: '1764255600000-0000-a3f91c' });
 * // '42["chat",{},{"id":"m","timestamp":"t"},"1764255600000-0000-a3f91c"]'
 */
export function encodeEnvelopeEvent(envelope: Envelope, ackId?: number): string {
  const meta: EnvelopeMeta = { id: envelope.id, timestamp: envelope.timestamp };
  if (envelope.from !== undefined) meta.from = envelope.from;
  // A logged message ends with its log id, a string: socket.io-client keeps the last string argument of an event as
  // its recovery offset, as it does with a Socket.IO server's own offsets.
  const args = envelope.logId === undefined ? [envelope.data, meta] : [envelope.data, meta, envelope.logId];
  return ackId === undefined ? encodeEvent(envelope.type, args) : encodeAck(ackId, args);
}

/** A frame from a Socket.IO client, decoded. */
export type SocketIoClientFrame =
  /** Engine.IO ping (an Engine.IO v3 habit) or pong (the answer to the server's ping), noop, close. */
  | { kind: 'engine'; packet: 'ping' | 'pong' | 'noop' | 'close' }
  /** `CONNECT` to a namespace, with the client's `auth` payload when it sent one. */
  | { kind: 'connect'; namespace: string; auth?: Record<string, unknown> }
  | { kind: 'disconnect'; namespace: string }
  /** `EVENT`: `emit(name, ...args)`, with `ackId` when the client passed a callback. */
  | { kind: 'event'; namespace: string; name: string; args: unknown[]; ackId?: number }
  /** `ACK`: the client's answer to a server `emitWithAck` (not used by this server yet). */
  | { kind: 'ack'; namespace: string; ackId: number; args: unknown[] }
  /** Anything the server cannot read: `reason` says why, for the log and the error event. */
  | { kind: 'invalid'; reason: string };

const invalid = (reason: string): SocketIoClientFrame => ({ kind: 'invalid', reason });

/** Names socket.io reserves for its own events; a client may not emit them (socket.io-parser refuses them too). */
const reservedEventNames = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
]);

/**
 * Decodes one text frame a Socket.IO client sent: an Engine.IO packet, and inside a `message` a Socket.IO packet
 * (`<type>[<namespace>,][<ack id>][<JSON payload>]`). Binary packets (types 5 and 6) are refused: API Gateway takes
 * no binary frames, so their attachments could never arrive.
 *
 * @example
 * decodeClientFrame('42["send",{"userId":"user456"}]');
 * // { kind: 'event', namespace: '/', name: 'send', args: [{ userId: 'user456' }] }
 * decodeClientFrame('3'); // { kind: 'engine', packet: 'pong' }
 */
export function decodeClientFrame(frame: string): SocketIoClientFrame {
  switch (frame[0]) {
    case EngineIoPacket.ping:
      return { kind: 'engine', packet: 'ping' };
    case EngineIoPacket.pong:
      return { kind: 'engine', packet: 'pong' };
    case EngineIoPacket.noop:
      return { kind: 'engine', packet: 'noop' };
    case EngineIoPacket.close:
      return { kind: 'engine', packet: 'close' };
    case EngineIoPacket.message:
      return decodeSocketIoPacket(frame.slice(1));
    default:
      return invalid(`not an Engine.IO packet the client may send (type ${JSON.stringify(frame.slice(0, 1))})`);
  }
}

function decodeSocketIoPacket(packet: string): SocketIoClientFrame {
  const type = packet[0];
  let index = 1;
  let namespace = '/';
  if (packet[index] === '/') {
    const end = packet.indexOf(',', index);
    namespace = end === -1 ? packet.slice(index) : packet.slice(index, end);
    index = end === -1 ? packet.length : end + 1;
  }
  const idStart = index;
  while (index < packet.length && packet[index] >= '0' && packet[index] <= '9') index++;
  const ackId = index > idStart ? Number(packet.slice(idStart, index)) : undefined;
  const rest = packet.slice(index);
  let payload: unknown;
  if (rest.length > 0) {
    try {
      payload = JSON.parse(rest);
    } catch {
      return invalid('the packet payload is not JSON');
    }
  }
  switch (type) {
    case SocketIoPacket.connect:
      if (payload !== undefined && !isPlainObject(payload)) return invalid('CONNECT auth must be an object');
      return payload === undefined ? { kind: 'connect', namespace } : { kind: 'connect', namespace, auth: payload };
    case SocketIoPacket.disconnect:
      return { kind: 'disconnect', namespace };
    case SocketIoPacket.event: {
      if (!Array.isArray(payload) || payload.length === 0) return invalid('EVENT payload must be a non-empty array');
      const [name, ...args] = payload;
      if (typeof name !== 'string' || reservedEventNames.has(name)) {
        return invalid('EVENT name must be a string that socket.io does not reserve');
      }
      return ackId === undefined
        ? { kind: 'event', namespace, name, args }
        : { kind: 'event', namespace, name, args, ackId };
    }
    case SocketIoPacket.ack:
      if (ackId === undefined || !Array.isArray(payload)) return invalid('ACK needs an id and an array payload');
      return { kind: 'ack', namespace, ackId, args: payload };
    case SocketIoPacket.binaryEvent:
    case SocketIoPacket.binaryAck:
      return invalid('binary packets are not supported: API Gateway accepts text frames only');
    default:
      return invalid(`unknown Socket.IO packet type ${JSON.stringify(type ?? '')}`);
  }
}

function namespacePrefix(namespace: string): string {
  return namespace === '/' ? '' : `${namespace},`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
