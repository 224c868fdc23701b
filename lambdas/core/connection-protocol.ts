/**
 * Which wire protocol a connection speaks, decided once at `$connect` from its query string. A module of its own,
 * apart from the Socket.IO codec, so the WebSocket authorizer (kept under 40 KB) reads the query without bundling
 * the codec.
 */

/** The wire protocols a connection can speak, recorded in the registry (absent: {@link ConnectionProtocol.json}). */
export const ConnectionProtocol = {
  /** The product's own JSON frames (`docs/protocol.md`). */
  json: 'json',
  /** Engine.IO v4 + Socket.IO v5 (socket.io-client v3 and v4, and the other official clients). */
  socketIo: 'socket.io',
} as const;

export type ConnectionProtocol = (typeof ConnectionProtocol)[keyof typeof ConnectionProtocol];

/**
 * The protocol a `$connect` asks for, from its query string: socket.io-client sends `EIO=4&transport=websocket`
 * (engine.io-client builds it in `Socket.createTransport`). Any other query (or none) is the JSON protocol.
 *
 * @example
 * protocolOfHandshake({ EIO: '4', transport: 'websocket' }); // 'socket.io'
 * protocolOfHandshake({ token: 'abc' }); // 'json'
 */
export function protocolOfHandshake(query: HandshakeQuery): ConnectionProtocol {
  return speaksSocketIo(query) ? ConnectionProtocol.socketIo : ConnectionProtocol.json;
}

type HandshakeQuery = Record<string, string | undefined> | null | undefined;

/**
 * Whether a `$connect` query asks for Engine.IO v4 over the websocket transport ({@link protocolOfHandshake} as a
 * boolean, for the authorizer, whose bundle has no room for more).
 *
 * @example
 * speaksSocketIo({ EIO: '4', transport: 'websocket' }); // true
 */
export function speaksSocketIo(query: HandshakeQuery): boolean {
  return query?.EIO === '4' && query.transport === 'websocket';
}

/**
 * Reads a stored protocol back; anything else (an item written before the attribute existed) is the JSON protocol.
 *
 * @example
 * readConnectionProtocol(undefined); // 'json'
 */
export function readConnectionProtocol(value: unknown): ConnectionProtocol {
  return value === ConnectionProtocol.socketIo ? ConnectionProtocol.socketIo : ConnectionProtocol.json;
}
