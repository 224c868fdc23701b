// End-to-end, local mode only: an unmodified socket.io-client recovers what it missed through Socket.IO's own
// connection-state recovery (CONNECT auth `pid` and `offset`, `socket.recovered`), over the message log (issue 12).
import { io, type Socket } from 'socket.io-client';
import { createLogIdGenerator } from '../../lambdas/core/log-id';
import { signDevToken } from '../../local/dev-tokens';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { waitFor } from '../client/fake-gateway';
import { callApi } from './support/http';
import { HOUR_MS, maintenanceBroadcasts, recordDatedBack, underlyingWebSocket } from './support/message-log';
import { socketIoAddress } from './support/socket-io';
import { isRemote } from './support/target';

const localOnly = isRemote ? describe.skip : describe;

localOnly('message log: socket.io-client connection-state recovery', () => {
  let stack: LocalStack;
  const sockets: Socket[] = [];
  let senderToken: string;

  beforeAll(async () => {
    stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: process.env.E2E_LOGS === undefined });
    senderToken = await signDevToken(stack.jwtSecret, 'sender');
  }, 60_000);
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const open = async (userId: string, auth?: Record<string, unknown>): Promise<Socket> => {
    const token = await signDevToken(stack.jwtSecret, userId);
    const { url, options } = socketIoAddress(stack.wsUrl);
    const socket = io(url, {
      ...options,
      reconnection: true,
      reconnectionDelay: 20,
      reconnectionDelayMax: 50,
      extraHeaders: { Authorization: `Bearer ${token}` },
      ...(auth ? { auth } : {}),
    });
    sockets.push(socket);
    return socket;
  };
  const sendTo = (userId: string, data: unknown) =>
    callApi(stack.httpUrl, 'POST', '/websocket/message/user', senderToken, { userId, type: 'chat', data });

  it('a stream of 1,000 messages with the socket killed in the middle: 0 lost, 0 duplicated, in order', async () => {
    // Prepare
    const reader = await open('sio-stream');
    const received: number[] = [];
    reader.on('chat', (data: { n: number }) => received.push(data.n));
    const recoveries: boolean[] = [];
    reader.on('connect', () => recoveries.push(reader.recovered));
    await waitFor(() => reader.connected, 'connect');
    // Act
    let killed = false;
    for (let n = 0; n < 1000; n++) {
      expect((await sendTo('sio-stream', { n })).status).toBe(200);
      if (!killed && received.length >= 300) {
        underlyingWebSocket(reader).terminate();
        killed = true;
      }
    }
    // Assess
    await waitFor(() => received.length >= 1000, '1,000 messages', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(killed).toBe(true);
    expect(recoveries.length).toBeGreaterThan(1);
    // The first connect recovers nothing (there was nothing to recover); every later one recovers.
    expect(recoveries.slice(1).every(Boolean)).toBe(true);
    expect(received).toEqual(Array.from({ length: 1000 }, (_, n) => n));
  }, 120_000);

  it('a broadcast sent while the socket is away is received once, after the ones before it', async () => {
    // Prepare
    const adminToken = await signDevToken(stack.jwtSecret, 'operator', { scope: 'ws:broadcast' });
    const broadcasts = maintenanceBroadcasts(stack, adminToken);
    const broadcast = broadcasts.send;
    const listener = await open('sio-broadcast');
    const seen: unknown[] = [];
    listener.on('maintenance', (data) => seen.push(data));
    await waitFor(() => listener.connected, 'connect');
    await broadcast('21:00');
    await waitFor(() => seen.length === 1, 'the first broadcast, live');
    // Act: the client's own reconnection is held off until the broadcast sent while away is complete.
    listener.io.reconnection(false);
    underlyingWebSocket(listener).terminate();
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

  it('an offset older than the retention: recovered false, and the gap told in a recovery_gap event', async () => {
    // Prepare: the session a client would carry from 25 hours ago (past the default 24 h retention).
    const dayAgo = () => Date.now() - 25 * 3_600_000;
    const oldSession = createLogIdGenerator(dayAgo).next();
    const gaps: unknown[] = [];
    // Act
    const reader = await open('sio-late', { pid: oldSession, offset: oldSession });
    reader.on('recovery_gap', (reported: unknown[]) => gaps.push(...reported));
    await waitFor(() => reader.connected, 'connect');
    // Assess
    expect(reader.recovered).toBeFalsy();
    expect(gaps).toEqual(expect.arrayContaining([expect.objectContaining({ reason: 'retention' })]));
  });

  it('offline for an hour: a first connect gets the notifications sent meanwhile, before connect fires', async () => {
    // Prepare: an hour ago, a chat and a notification to a user with no connection; a notification just now.
    await recordDatedBack(stack, HOUR_MS, 'sio-offline', [
      { type: 'chat', data: { text: 'not pending: a chat' } },
      { type: 'notification', data: { title: 'an hour ago', body: 'b' } },
    ]);
    const notified = await callApi(stack.httpUrl, 'POST', '/websocket/notification', senderToken, {
      userId: 'sio-offline',
      title: 'just now',
      body: 'b',
    });
    expect(notified.status).toBe(200);
    const events: string[] = [];
    // Act: no pid, as a first connect
    const device = await open('sio-offline');
    device.onAny((name: string, data: { title?: string }) => events.push(`${name}:${data?.title ?? ''}`));
    device.on('connect', () => events.push('connect'));
    await waitFor(() => device.connected && events.length >= 3, 'the notifications and connect');
    // Assess: socket.io-client fires what arrived before its CONNECT answer first, then connect.
    expect(events).toEqual(['notification:an hour ago', 'notification:just now', 'connect']);
    expect(device.recovered).toBeFalsy();
  });
});
