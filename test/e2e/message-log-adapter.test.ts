// End-to-end, local mode only: the message log and resume with our adapter (issue 12). Real dynalite, real
// sockets, the real handlers behind the emulator; a socket is killed without a close frame (as a network loss is)
// through the WebSocket implementation the adapter is given.
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

localOnly('message log: resume with the adapter', () => {
  let stack: LocalStack;
  const sockets: RealtimeSocket[] = [];
  let senderToken: string;

  beforeAll(async () => {
    stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: process.env.E2E_LOGS === undefined });
    senderToken = await signDevToken(stack.jwtSecret, 'sender');
  }, 60_000);
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.disconnect();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const open = async (userId: string, options: Parameters<typeof io>[1] = {}): Promise<RealtimeSocket> => {
    const token = await signDevToken(stack.jwtSecret, userId);
    const socket = io(stack.wsUrl, { auth: { token }, reconnectionDelay: 20, reconnectionDelayMax: 50, ...options });
    sockets.push(socket);
    return socket;
  };
  const sendTo = (userId: string, data: unknown) =>
    callApi(stack.httpUrl, 'POST', '/websocket/message/user', senderToken, { userId, type: 'chat', data });

  it('a stream of 1,000 messages with the socket killed in the middle: 0 lost, 0 duplicated, in order', async () => {
    // Prepare
    const network = killableWebSocket();
    const recipient = await open('stream-reader', { WebSocket: network.WebSocket });
    const received: number[] = [];
    recipient.on('chat', (data: { n: number }) => received.push(data.n));
    const reconnects: number[] = [];
    recipient.on('reconnect', (attempt) => reconnects.push(attempt));
    await waitFor(() => recipient.connected, 'connect');
    // Act: send one after another; cut the socket once a third has arrived, while the stream goes on.
    let killed = false;
    for (let n = 0; n < 1000; n++) {
      const { status } = await sendTo('stream-reader', { n });
      expect(status).toBe(200);
      if (!killed && received.length >= 300) {
        network.opened[0].terminate();
        killed = true;
      }
    }
    // Assess
    await waitFor(() => received.length >= 1000, '1,000 messages', 30_000);
    expect(killed).toBe(true);
    expect(reconnects.length).toBeGreaterThan(0);
    expect(network.opened.length).toBeGreaterThan(1);
    expect(received).toEqual(Array.from({ length: 1000 }, (_, n) => n));
    expect(recipient.recovered).toBe(true);
  }, 120_000);

  it('replays what was sent while the socket was away, in pages, before live messages', async () => {
    // Prepare: connected once, so the adapter has a cursor; then away while 250 messages are sent (3 pages).
    const network = killableWebSocket();
    const recipient = await open('away-reader', { WebSocket: network.WebSocket, reconnection: false });
    const received: Envelope[] = [];
    recipient.on('message', (envelope) => received.push(envelope));
    await waitFor(() => recipient.connected, 'connect');
    await sendTo('away-reader', { n: 0 });
    await waitFor(() => received.length === 1, 'the first message');
    recipient.disconnect();
    for (let n = 1; n <= 250; n++) await sendTo('away-reader', { n });
    // Act
    recipient.connect();
    await waitFor(() => recipient.connected, 'the reconnect');
    await sendTo('away-reader', { n: 251 });
    // Assess
    await waitFor(() => received.length === 252, '252 messages', 20_000);
    expect(received.map((envelope) => (envelope.data as { n: number }).n)).toEqual(
      Array.from({ length: 252 }, (_, n) => n),
    );
    expect(received.every((envelope) => typeof envelope.logId === 'string')).toBe(true);
    expect(recipient.recovered).toBe(true);
  }, 60_000);
});
