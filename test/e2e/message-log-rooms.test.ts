// End-to-end, local mode only: room messages in the message log (issue 12 over issue 11's rooms). Real dynalite,
// real sockets, the real handlers behind the emulator; a socket is cut without a close frame (as a network loss is)
// through the WebSocket implementation the client is given. Room grants are token permissions, so these tests sign
// their own tokens.
import WebSocket from 'ws';
import { type Envelope, io, type RealtimeSocket, type WebSocketConstructor } from '../../client';
import { signDevToken } from '../../local/dev-tokens';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { waitFor } from '../client/fake-gateway';
import { callApi } from './support/http';
import { isRemote } from './support/target';

const localOnly = isRemote ? describe.skip : describe;

/** `ws` that remembers every socket it opened, so a test can cut one as the network would. */
function killableWebSocket(): { WebSocket: WebSocketConstructor; opened: WebSocket[] } {
  const opened: WebSocket[] = [];
  class Killable extends WebSocket {
    constructor(url: string, protocols?: string | string[], options?: WebSocket.ClientOptions) {
      super(url, protocols, options);
      opened.push(this);
    }
  }
  return { WebSocket: Killable as unknown as WebSocketConstructor, opened };
}

localOnly('message log: room messages', () => {
  let stack: LocalStack;
  const sockets: RealtimeSocket[] = [];
  let senderToken: string;

  beforeAll(async () => {
    stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: process.env.E2E_LOGS === undefined });
    senderToken = await signDevToken(stack.jwtSecret, 'room-sender', { scope: 'room:*' });
  }, 60_000);
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.disconnect();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const open = async (userId: string, options: Parameters<typeof io>[1] = {}): Promise<RealtimeSocket> => {
    const token = await signDevToken(stack.jwtSecret, userId, { scope: 'room:logroom-*' });
    const socket = io(stack.wsUrl, { auth: { token }, reconnectionDelay: 20, reconnectionDelayMax: 50, ...options });
    sockets.push(socket);
    return socket;
  };
  const sendToRoom = async (room: string, data: unknown, extra: Record<string, unknown> = {}) => {
    const { status, body } = await callApi(stack.httpUrl, 'POST', '/websocket/message/room', senderToken, {
      room,
      type: 'chat',
      data,
      ...extra,
    });
    expect(status).toBe(200);
    return body as { connections: { delivered: number } };
  };

  it('the adapter: room messages sent while the socket is away arrive once, in order, after the reconnect', async () => {
    // Prepare: a member with a cursor (one room message received live), then cut off.
    const network = killableWebSocket();
    const reader = await open('room-reader', { WebSocket: network.WebSocket, reconnection: false });
    const received: Envelope[] = [];
    reader.on('chat', (_data, envelope: Envelope) => received.push(envelope));
    await waitFor(() => reader.connected, 'connect');
    await reader.join('logroom-a');
    await sendToRoom('logroom-a', { n: 0 });
    await waitFor(() => received.length === 1, 'the first room message, live');
    network.opened[0].terminate();
    await waitFor(() => !reader.connected, 'the cut');
    // Act: 120 room messages while no connection of the reader is in the room (two replay pages), then back.
    for (let n = 1; n <= 120; n++) await sendToRoom('logroom-a', { n });
    reader.connect();
    await waitFor(() => reader.connected, 'the reconnect');
    await sendToRoom('logroom-a', { n: 121 });
    // Assess
    await waitFor(() => received.length >= 122, '122 room messages', 20_000);
    expect(received.map((envelope) => (envelope.data as { n: number }).n)).toEqual(
      Array.from({ length: 122 }, (_, n) => n),
    );
    expect(new Set(received.map((envelope) => envelope.logId)).size).toBe(122);
    expect(reader.recovered).toBe(true);
  }, 60_000);
});
