// End-to-end, local mode only: the message log and resume with our adapter (issue 12). Real dynalite, real
// sockets, the real handlers behind the emulator; a socket is killed without a close frame (as a network loss is)
// through the WebSocket implementation the adapter is given.
import { type Envelope, io, type RealtimeSocket } from '../../client';
import { logIdFloor } from '../../lambdas/core/log-id';
import { signDevToken } from '../../local/dev-tokens';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { waitFor } from '../client/fake-gateway';
import { callApi } from './support/http';
import { HOUR_MS, killableWebSocket, maintenanceBroadcasts, recordDatedBack } from './support/message-log';
import { isRemote } from './support/target';

const localOnly = isRemote ? describe.skip : describe;

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
  const notify = (userId: string, title: string) =>
    callApi(stack.httpUrl, 'POST', '/websocket/notification', senderToken, { userId, title, body: 'b' });

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

  it('a broadcast sent while the socket is reconnecting is received once, and one received before the cut is not repeated', async () => {
    // Prepare
    const adminToken = await signDevToken(stack.jwtSecret, 'operator', { scope: 'ws:broadcast' });
    const broadcasts = maintenanceBroadcasts(stack, adminToken);
    const broadcast = broadcasts.send;
    const network = killableWebSocket();
    // Reconnection is driven by the test, so the second broadcast is surely posted while no connection is open.
    const listener = await open('broadcast-reader', { WebSocket: network.WebSocket, reconnection: false });
    const seen: unknown[] = [];
    listener.on('maintenance', (data) => seen.push(data));
    await waitFor(() => listener.connected, 'connect');
    await broadcast('21:00');
    await waitFor(() => seen.length === 1, 'the first broadcast, live');
    // Act: cut the socket; broadcast while it is away, to completion; come back (the replay reaches back over both).
    network.opened[0].terminate();
    await waitFor(() => !listener.connected, 'the cut');
    const whileAway = await broadcast('22:00');
    await broadcasts.untilComplete(whileAway);
    listener.connect();
    await waitFor(() => listener.connected && seen.length >= 2, 'the broadcast sent while away', 20_000);
    await broadcast('23:00');
    await waitFor(() => seen.length >= 3, 'a live broadcast after the reconnect', 20_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Assess
    expect(seen).toEqual([{ at: '21:00' }, { at: '22:00' }, { at: '23:00' }]);
    expect(listener.recovered).toBe(true);
  }, 60_000);

  it('a cursor older than the retention: recovered false, the gap reported, what is left replayed', async () => {
    // Prepare: one message 25 hours ago (past the 24 h retention), one an hour ago; the cursor is 26 hours old.
    await recordDatedBack(stack, 25 * HOUR_MS, 'late-reader', [{ type: 'chat', data: { n: 'expired' } }]);
    await recordDatedBack(stack, HOUR_MS, 'late-reader', [{ type: 'chat', data: { n: 'kept' } }]);
    const received: unknown[] = [];
    const gaps: unknown[] = [];
    // Act
    const reader = await open('late-reader', { resumeFrom: logIdFloor(Date.now() - 26 * HOUR_MS) });
    reader.on('chat', (data) => received.push(data));
    reader.on('recovery_gap', (reported) => gaps.push(...reported));
    await waitFor(() => reader.connected && received.length === 1, 'the message within retention');
    // Assess
    expect(reader.recovered).toBe(false);
    expect(gaps).toEqual([
      expect.objectContaining({ reason: 'retention', stream: 'user#late-reader' }),
      expect.objectContaining({ reason: 'retention', stream: 'broadcast' }),
    ]);
    expect(received).toEqual([{ n: 'kept' }]);
  });

  it('offline for an hour: a first connect gets the notifications sent meanwhile (OFFLINE_DELIVERY default)', async () => {
    // Prepare: an hour ago, a chat and a notification to a user with no connection; a notification just now.
    await recordDatedBack(stack, HOUR_MS, 'offline-user', [
      { type: 'chat', data: { text: 'not pending: a chat' } },
      { type: 'notification', data: { title: 'an hour ago', body: 'b' } },
    ]);
    expect((await notify('offline-user', 'just now')).status).toBe(200);
    const notifications: Array<{ title: string }> = [];
    const chats: unknown[] = [];
    // Act: no cursor, as a new device or a reloaded page.
    const device = await open('offline-user');
    device.on('notification', (data: { title: string }) => notifications.push(data));
    device.on('chat', (data) => chats.push(data));
    await waitFor(() => notifications.length === 2, 'the two notifications');
    // Assess
    expect(notifications.map((n) => n.title)).toEqual(['an hour ago', 'just now']);
    expect(chats).toEqual([]);
    expect(device.recovered).toBe(false);
  });
});
