// End-to-end, local mode only: API Gateway's 2-hour connection limit, shortened in the emulator, cuts the adapter's
// connections while a stream goes on; and offline delivery with OFFLINE_DELIVERY=all (issue 12).
import { type Socket, io as socketIo } from 'socket.io-client';
import { io, type RealtimeSocket } from '../../client';
import { signDevToken } from '../../local/dev-tokens';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { waitFor } from '../client/fake-gateway';
import { callApi } from './support/http';
import { socketIoAddress } from './support/socket-io';
import { isRemote } from './support/target';

const localOnly = isRemote ? describe.skip : describe;
// The emulator closes every connection this long after it opened (1001), as API Gateway does at 2 hours.
const MAX_CONNECTION_MS = 1500;

localOnly('message log: the connection-lifetime cut and offline delivery of everything', () => {
  let stack: LocalStack;
  const sockets: Array<RealtimeSocket | Socket> = [];
  let senderToken: string;

  beforeAll(async () => {
    stack = await startLocalStack({
      wsPort: 0,
      httpPort: 0,
      quiet: process.env.E2E_LOGS === undefined,
      maxConnectionMs: MAX_CONNECTION_MS,
      environment: { OFFLINE_DELIVERY: 'all' },
    });
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
  const openSocketIo = async (userId: string): Promise<Socket> => {
    const token = await signDevToken(stack.jwtSecret, userId);
    const { url, options } = socketIoAddress(stack.wsUrl);
    const socket = socketIo(url, {
      ...options,
      reconnection: true,
      reconnectionDelay: 20,
      reconnectionDelayMax: 50,
      extraHeaders: { Authorization: `Bearer ${token}` },
    });
    sockets.push(socket);
    return socket;
  };
  const sendTo = (userId: string, data: unknown) =>
    callApi(stack.httpUrl, 'POST', '/websocket/message/user', senderToken, { userId, type: 'chat', data });

  it('the lifetime cut is seamless: a stream across several cuts arrives whole, once, in order', async () => {
    // Prepare: no make-before-break renewal, so every cut is a real disconnect and reconnect.
    const reader = await open('cut-reader', { renewConnectionAfter: 0 });
    const received: number[] = [];
    reader.on('chat', (data: { n: number }) => received.push(data.n));
    const disconnects: string[] = [];
    reader.on('disconnect', (reason) => disconnects.push(reason));
    await waitFor(() => reader.connected, 'connect');
    // Act: send until the gateway has cut the reader's connection at least twice.
    let n = 0;
    while (disconnects.length < 2) {
      expect((await sendTo('cut-reader', { n })).status).toBe(200);
      n += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    for (const last = n + 20; n < last; n += 1) await sendTo('cut-reader', { n });
    // Assess
    await waitFor(() => received.length >= n, `${n} messages`, 20_000);
    expect(disconnects).toEqual(expect.arrayContaining(['transport close']));
    expect(received).toEqual(Array.from({ length: n }, (_, index) => index));
    expect(reader.recovered).toBe(true);
  }, 60_000);

  it('OFFLINE_DELIVERY=all: a first connect gets every message sent while the user had no connection', async () => {
    // Prepare
    for (let n = 0; n < 5; n++) expect((await sendTo('away-all', { n })).status).toBe(200);
    const received: number[] = [];
    // Act
    const device = await open('away-all');
    device.on('chat', (data: { n: number }) => received.push(data.n));
    await waitFor(() => received.length === 5, 'the five messages');
    // Assess
    expect(received).toEqual([0, 1, 2, 3, 4]);
  });

  it('socket.io-client: the lifetime cut is seamless, every reconnect recovered', async () => {
    // Prepare
    const reader = await openSocketIo('sio-cut-reader');
    const received: number[] = [];
    reader.on('chat', (data: { n: number }) => received.push(data.n));
    const connects: boolean[] = [];
    reader.on('connect', () => connects.push(reader.recovered));
    const disconnects: string[] = [];
    reader.on('disconnect', (reason) => disconnects.push(reason));
    await waitFor(() => reader.connected, 'connect');
    // Act: send until the gateway has cut the connection at least twice.
    let n = 0;
    while (disconnects.length < 2) {
      expect((await sendTo('sio-cut-reader', { n })).status).toBe(200);
      n += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    for (const last = n + 20; n < last; n += 1) await sendTo('sio-cut-reader', { n });
    // Assess
    await waitFor(() => received.length >= n && reader.connected, `${n} messages`, 20_000);
    expect(disconnects).toEqual(expect.arrayContaining(['transport close']));
    expect(received).toEqual(Array.from({ length: n }, (_, index) => index));
    expect(connects.length).toBeGreaterThan(2);
    expect(connects.slice(1).every(Boolean)).toBe(true);
  }, 60_000);

  it('socket.io-client, OFFLINE_DELIVERY=all: a first connect gets every message sent while the user had none', async () => {
    for (let n = 0; n < 5; n++) expect((await sendTo('sio-away-all', { n })).status).toBe(200);
    const received: number[] = [];
    const device = await openSocketIo('sio-away-all');
    device.on('chat', (data: { n: number }) => received.push(data.n));
    await waitFor(() => received.length === 5, 'the five messages');
    expect(received).toEqual([0, 1, 2, 3, 4]);
  });
});
