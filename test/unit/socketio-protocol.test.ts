import { decodePacket, encodePacket, type Packet } from 'engine.io-parser';
import { Decoder, Encoder, PacketType, type Packet as SocketIoParserPacket } from 'socket.io-parser';
import { createEnvelope } from '../../lambdas/core/envelope';
import {
  decodeClientFrame,
  encodeAck,
  encodeConnect,
  encodeConnectError,
  encodeEnvelopeEvent,
  encodeEvent,
  encodeOpen,
  encodeServerDisconnect,
  protocolOfHandshake,
  readConnectionProtocol,
} from '../../lambdas/core/socketio-protocol';

// The references are the parsers socket.io 4 itself runs (engine.io-parser 5, socket.io-parser 4, in node_modules
// through the socket.io devDependency): what they produce is what a real server sends and a real client reads.

/** Engine.IO + Socket.IO as the real server encodes a packet for the websocket transport (one text frame). */
function referenceEncode(packet: SocketIoParserPacket): string {
  const [encoded] = new Encoder().encode(packet);
  return engineEncode({ type: 'message', data: encoded as string });
}

function engineEncode(packet: Packet): string {
  let frame = '';
  encodePacket(packet, false, (encoded) => {
    frame = encoded as string;
  });
  return frame;
}

/** What the real client makes of a frame: the Engine.IO packet, then the Socket.IO packet inside a message. */
function referenceDecode(frame: string): { engine: Packet; socketIo?: SocketIoParserPacket } {
  const engine = decodePacket(frame);
  if (engine.type !== 'message') return { engine };
  const decoder = new Decoder();
  let socketIo: SocketIoParserPacket | undefined;
  decoder.on('decoded', (packet: SocketIoParserPacket) => {
    socketIo = packet;
  });
  decoder.add(engine.data as string);
  return { engine, socketIo };
}

describe('Socket.IO protocol: what the server sends, read by the reference parsers', () => {
  it('open is the Engine.IO handshake the client waits for', () => {
    const frame = encodeOpen({ sid: 'abc=', pingInterval: 25000, pingTimeout: 20000, maxPayload: 131072 });

    const { engine } = referenceDecode(frame);

    expect(engine.type).toBe('open');
    expect(JSON.parse(engine.data as string)).toEqual({
      sid: 'abc=',
      upgrades: [],
      pingInterval: 25000,
      pingTimeout: 20000,
      maxPayload: 131072,
    });
  });

  it('CONNECT carries the sid, byte for byte as socket.io encodes it', () => {
    expect(encodeConnect('abc=')).toBe(referenceEncode({ type: PacketType.CONNECT, nsp: '/', data: { sid: 'abc=' } }));
  });

  it('CONNECT_ERROR names the namespace it refuses', () => {
    expect(encodeConnectError('/admin', 'Invalid namespace')).toBe(
      referenceEncode({ type: PacketType.CONNECT_ERROR, nsp: '/admin', data: { message: 'Invalid namespace' } }),
    );
    expect(encodeConnectError('/', 'no', { code: 'x' })).toBe(
      referenceEncode({ type: PacketType.CONNECT_ERROR, nsp: '/', data: { message: 'no', data: { code: 'x' } } }),
    );
  });

  it('DISCONNECT is the bare packet the client reads as "io server disconnect"', () => {
    expect(encodeServerDisconnect()).toBe(referenceEncode({ type: PacketType.DISCONNECT, nsp: '/' }));
  });

  it('EVENT and ACK match the reference encoding, unicode and nested data included', () => {
    const data = { text: 'héllo ✓ "quoted"', nested: { list: [1, null, true] } };
    expect(encodeEvent('chat', [data, 2])).toBe(
      referenceEncode({ type: PacketType.EVENT, nsp: '/', data: ['chat', data, 2] }),
    );
    expect(encodeAck(12, [data])).toBe(referenceEncode({ type: PacketType.ACK, nsp: '/', id: 12, data: [data] }));
  });

  it('an envelope becomes the event of its type with data, then id, timestamp and from', () => {
    const envelope = createEnvelope('chat', { message: 'Hi' }, { from: 'user123', now: new Date(0), id: 'm1' });

    const { socketIo } = referenceDecode(encodeEnvelopeEvent(envelope));

    expect(socketIo).toMatchObject({
      type: PacketType.EVENT,
      nsp: '/',
      data: ['chat', { message: 'Hi' }, { id: 'm1', timestamp: '1970-01-01T00:00:00.000Z', from: 'user123' }],
    });
    expect(encodeEnvelopeEvent(envelope).length).toBeLessThan(JSON.stringify(envelope).length);
  });

  it('an envelope answering an emit with a callback is an ACK with that id', () => {
    const envelope = createEnvelope('pong', { serverTime: 't' }, { now: new Date(0), id: 'm2' });

    const { socketIo } = referenceDecode(encodeEnvelopeEvent(envelope, 5));

    expect(socketIo).toMatchObject({ type: PacketType.ACK, id: 5, data: [{ serverTime: 't' }, { id: 'm2' }] });
  });
});

describe('Socket.IO protocol: what the client sends, encoded by the reference parsers', () => {
  it.each([
    ['emit without callback', { type: PacketType.EVENT, nsp: '/', data: ['send', { userId: 'user456' }] }],
    ['emit with callback', { type: PacketType.EVENT, nsp: '/', id: 3, data: ['ping'] }],
    ['emit with several arguments', { type: PacketType.EVENT, nsp: '/', data: ['x', 1, 'two', { three: [3] }] }],
  ])('decodes %s', (_case, packet) => {
    const decoded = decodeClientFrame(referenceEncode(packet as SocketIoParserPacket));
    const [name, ...args] = packet.data as unknown[];

    expect(decoded).toEqual({
      kind: 'event',
      namespace: '/',
      name,
      args,
      ...('id' in packet ? { ackId: packet.id } : {}),
    });
  });

  it('decodes CONNECT with and without auth, and to another namespace', () => {
    expect(decodeClientFrame(referenceEncode({ type: PacketType.CONNECT, nsp: '/' }))).toEqual({
      kind: 'connect',
      namespace: '/',
    });
    expect(decodeClientFrame(referenceEncode({ type: PacketType.CONNECT, nsp: '/', data: { token: 'jwt' } }))).toEqual({
      kind: 'connect',
      namespace: '/',
      auth: { token: 'jwt' },
    });
    expect(decodeClientFrame(referenceEncode({ type: PacketType.CONNECT, nsp: '/admin' }))).toEqual({
      kind: 'connect',
      namespace: '/admin',
    });
  });

  it('decodes DISCONNECT, ACK and the Engine.IO packets', () => {
    expect(decodeClientFrame(referenceEncode({ type: PacketType.DISCONNECT, nsp: '/' }))).toEqual({
      kind: 'disconnect',
      namespace: '/',
    });
    expect(decodeClientFrame(referenceEncode({ type: PacketType.ACK, nsp: '/', id: 9, data: ['ok'] }))).toEqual({
      kind: 'ack',
      namespace: '/',
      ackId: 9,
      args: ['ok'],
    });
    expect(decodeClientFrame(engineEncode({ type: 'pong' }))).toEqual({ kind: 'engine', packet: 'pong' });
    expect(decodeClientFrame(engineEncode({ type: 'ping' }))).toEqual({ kind: 'engine', packet: 'ping' });
    expect(decodeClientFrame(engineEncode({ type: 'close' }))).toEqual({ kind: 'engine', packet: 'close' });
  });

  it.each([
    ['a JSON frame of the other protocol', '{"action":"ping"}'],
    ['an empty frame', ''],
    ['an EVENT that is not JSON', '42["x"'],
    ['an EVENT without a name', '42[]'],
    ['an EVENT with a reserved name', '42["connect"]'],
    ['a binary EVENT', '451-["x",{"_placeholder":true,"num":0}]'],
    ['an ACK without an id', '43["x"]'],
    ['a CONNECT whose auth is not an object', '40"token"'],
    ['an unknown Socket.IO type', '49'],
  ])('refuses %s with a reason', (_case, frame) => {
    const decoded = decodeClientFrame(frame);

    expect(decoded).toEqual({ kind: 'invalid', reason: expect.any(String) });
  });
});

describe('the protocol of a connection', () => {
  it('is Socket.IO for the query socket.io-client sends, JSON otherwise', () => {
    expect(protocolOfHandshake({ EIO: '4', transport: 'websocket', token: 't' })).toBe('socket.io');
    expect(protocolOfHandshake({ EIO: '3', transport: 'websocket' })).toBe('json');
    expect(protocolOfHandshake({ EIO: '4', transport: 'polling' })).toBe('json');
    expect(protocolOfHandshake(undefined)).toBe('json');
  });

  it('reads an item without the attribute as the JSON protocol', () => {
    expect(readConnectionProtocol(undefined)).toBe('json');
    expect(readConnectionProtocol('socket.io')).toBe('socket.io');
    expect(readConnectionProtocol('other')).toBe('json');
  });
});
