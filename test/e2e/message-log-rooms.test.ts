// End-to-end, local mode only: room messages in the message log (issue 12 over issue 11's rooms). Real dynalite,
// real sockets, the real handlers behind the emulator; a socket is cut without a close frame (as a network loss is)
// through the WebSocket implementation the client is given. Room grants are token permissions, so these tests sign
// their own tokens.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { io as socketIo } from 'socket.io-client';
import WebSocket from 'ws';
import { type Envelope, io, type RealtimeSocket } from '../../client';
import { logIdFloor } from '../../lambdas/core/log-id';
import { LogStream } from '../../lambdas/core/message-log';
import { signDevToken } from '../../local/dev-tokens';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { waitFor } from '../client/fake-gateway';
import { callApi } from './support/http';
import { killableWebSocket, underlyingWebSocket } from './support/message-log';
import { socketIoAddress } from './support/socket-io';
import { isRemote } from './support/target';

const localOnly = isRemote ? describe.skip : describe;

/** A raw JSON-protocol socket, to send a `resume` frame the adapter would not. */
async function rawSocket(url: string, token: string): Promise<{ ws: WebSocket; frames: Envelope[] }> {
  const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
  const frames: Envelope[] = [];
  ws.on('message', (data) => frames.push(JSON.parse(String(data)) as Envelope));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, frames };
}

localOnly('message log: room messages', () => {
  let stack: LocalStack;
  const sockets: RealtimeSocket[] = [];
  const others: Array<{ close(): void }> = [];
  let senderToken: string;

  beforeAll(async () => {
    stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: process.env.E2E_LOGS === undefined });
    senderToken = await signDevToken(stack.jwtSecret, 'room-sender', { scope: 'room:*' });
  }, 60_000);
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.disconnect();
    for (const other of others.splice(0)) other.close();
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

  it('socket.io-client: room messages sent while it is away arrive once, in order, and its rooms are restored', async () => {
    // Prepare: a recovering socket.io-client (no re-join of its own) in one room.
    const token = await signDevToken(stack.jwtSecret, 'sio-room-reader', { scope: 'room:logroom-*' });
    const { url, options } = socketIoAddress(stack.wsUrl);
    const reader = socketIo(url, {
      ...options,
      reconnection: true,
      reconnectionDelay: 20,
      reconnectionDelayMax: 50,
      extraHeaders: { Authorization: `Bearer ${token}` },
    });
    others.push(reader);
    const received: number[] = [];
    reader.on('chat', (data: { n: number }) => received.push(data.n));
    const recoveries: boolean[] = [];
    reader.on('connect', () => recoveries.push(reader.recovered));
    await waitFor(() => reader.connected, 'connect');
    expect(await reader.emitWithAck('join', 'logroom-s')).toMatchObject({ room: 'logroom-s' });
    // Act: a stream of room messages, the socket cut once a third has arrived.
    let killed = false;
    for (let n = 0; n < 300; n++) {
      await sendToRoom('logroom-s', { n });
      if (!killed && received.length >= 100) {
        underlyingWebSocket(reader).terminate();
        killed = true;
      }
    }
    // Assess: every message once and in order, those after the cut too, though the client never joined again.
    await waitFor(() => received.length >= 300, '300 room messages', 30_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(killed).toBe(true);
    expect(recoveries.length).toBeGreaterThan(1);
    expect(recoveries.slice(1).every(Boolean)).toBe(true);
    expect(received).toEqual(Array.from({ length: 300 }, (_, n) => n));
    const { body } = await callApi(
      stack.httpUrl,
      'GET',
      '/websocket/rooms/logroom-s/members',
      await signDevToken(stack.jwtSecret, 'room-admin', { scope: 'ws:rooms' }),
    );
    expect((body as { members: unknown[] }).members).toEqual([{ userId: 'sio-room-reader', connections: 1 }]);
  }, 120_000);

  it('a room the user never joined is never replayed, even when the resume names it', async () => {
    // Prepare: the user is in one room; another room it may join (its token grants it) but never did.
    const reader = await open('room-stranger', { reconnection: false });
    const received: Envelope[] = [];
    reader.on('chat', (_data, envelope: Envelope) => received.push(envelope));
    await waitFor(() => reader.connected, 'connect');
    await reader.join('logroom-mine');
    await sendToRoom('logroom-mine', { n: 'mine before' });
    await waitFor(() => received.length === 1, 'the first message');
    const cursor = reader.lastLogId;
    reader.disconnect();
    await sendToRoom('logroom-other', { n: 'other' });
    await sendToRoom('logroom-mine', { n: 'mine while away' });
    // Act: a raw resume that names both rooms.
    const raw = await rawSocket(
      stack.wsUrl,
      await signDevToken(stack.jwtSecret, 'room-stranger', { scope: 'room:logroom-*' }),
    );
    others.push({ close: () => raw.ws.close() });
    raw.ws.send(JSON.stringify({ action: 'resume', after: cursor, rooms: ['logroom-mine', 'logroom-other'] }));
    await waitFor(() => raw.frames.some((frame) => frame.type === 'replay'), 'the replay page');
    // Assess
    const page = raw.frames.find((frame) => frame.type === 'replay')?.data as { messages: Envelope[] };
    // The room's stream reaches back before the cursor (the adapter drops what it has by id), the other room never.
    expect(page.messages.map((message) => message.data)).toEqual([{ n: 'mine before' }, { n: 'mine while away' }]);
  }, 30_000);

  it('a room message sent with persist: false is posted live without a log id and never replayed', async () => {
    // Prepare: a member with a cursor, then cut off.
    const network = killableWebSocket();
    const reader = await open('room-ephemeral', { WebSocket: network.WebSocket, reconnection: false });
    const received: Envelope[] = [];
    reader.on('chat', (_data, envelope: Envelope) => received.push(envelope));
    await waitFor(() => reader.connected, 'connect');
    await reader.join('logroom-typing');
    await sendToRoom('logroom-typing', { n: 'live, not kept' }, { persist: false });
    await sendToRoom('logroom-typing', { n: 'kept' });
    await waitFor(() => received.length === 2, 'both live');
    network.opened[0].terminate();
    await waitFor(() => !reader.connected, 'the cut');
    // Act: one of each while away.
    await sendToRoom('logroom-typing', { n: 'away, not kept' }, { ephemeral: true });
    await sendToRoom('logroom-typing', { n: 'away, kept' });
    reader.connect();
    await waitFor(() => reader.connected && received.length >= 3, 'the replay');
    await sendToRoom('logroom-typing', { n: 'after' });
    await waitFor(() => received.length >= 4, 'a live one after');
    // Assess
    expect(received.map((envelope) => (envelope.data as { n: string }).n)).toEqual([
      'live, not kept',
      'kept',
      'away, kept',
      'after',
    ]);
    expect(received[0]).not.toHaveProperty('logId');
    expect(received[1].logId).toEqual(expect.any(String));
  }, 30_000);

  it('a room left explicitly is not replayed after the leave', async () => {
    // Prepare: in two rooms; leaves one; then cut off.
    const network = killableWebSocket();
    const reader = await open('room-leaver', { WebSocket: network.WebSocket, reconnection: false });
    const received: unknown[] = [];
    reader.on('chat', (data) => received.push(data));
    await waitFor(() => reader.connected, 'connect');
    await reader.join('logroom-stay');
    await reader.join('logroom-left');
    await sendToRoom('logroom-left', { n: 'left, before the leave' });
    await waitFor(() => received.length === 1, 'the first message');
    await reader.leave('logroom-left');
    network.opened[0].terminate();
    await waitFor(() => !reader.connected, 'the cut');
    // Act: both rooms get a message while the reader is away; a raw resume without rooms asks for every room.
    await sendToRoom('logroom-left', { n: 'left, after the leave' });
    await sendToRoom('logroom-stay', { n: 'stay' });
    reader.connect();
    await waitFor(() => reader.connected && received.length >= 2, 'the replay');
    const raw = await rawSocket(
      stack.wsUrl,
      await signDevToken(stack.jwtSecret, 'room-leaver', { scope: 'room:logroom-*' }),
    );
    others.push({ close: () => raw.ws.close() });
    raw.ws.send(JSON.stringify({ action: 'resume', after: logIdFloor(Date.now() - 60_000) }));
    await waitFor(() => raw.frames.some((frame) => frame.type === 'replay'), 'the raw replay page');
    // Assess
    expect(received).toEqual([{ n: 'left, before the leave' }, { n: 'stay' }]);
    const page = raw.frames.find((frame) => frame.type === 'replay')?.data as { messages: Envelope[] };
    expect(page.messages.map((message) => message.data)).not.toContainEqual({ n: 'left, after the leave' });
    expect(page.messages.map((message) => message.data)).toContainEqual({ n: 'stay' });
  }, 30_000);

  /** The user's offline cursor as the log holds it (the receipt is a frame the server does not answer). */
  const offlineCursor = async (userId: string): Promise<string | undefined> => {
    const client = DynamoDBDocumentClient.from(
      new DynamoDBClient({
        endpoint: stack.dynamoEndpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'e2e', secretAccessKey: 'e2e' },
      }),
    );
    const answer = await client.send(
      new QueryCommand({
        TableName: stack.messageLogTableName,
        KeyConditionExpression: 'streamId = :stream',
        ExpressionAttributeValues: { ':stream': LogStream.offlineCursor(userId) },
      }),
    );
    client.destroy();
    return answer.Items?.[0]?.delivered as string | undefined;
  };

  it('offline delivery goes to a user once: a second fresh device gets only what was sent after the first took it', async () => {
    // Prepare: two notifications while the user has no connection.
    const notify = (title: string) =>
      callApi(stack.httpUrl, 'POST', '/websocket/notification', senderToken, {
        userId: 'two-devices',
        title,
        body: 'b',
      });
    expect((await notify('first')).status).toBe(200);
    expect((await notify('second')).status).toBe(200);
    // Act: a first device without a cursor takes them (and says so); later, a third notification while no device is
    // connected; then a second fresh device.
    const phone = await open('two-devices', { reconnection: false });
    const onPhone: string[] = [];
    phone.on('notification', (data: { title: string }) => onPhone.push(data.title));
    await waitFor(() => phone.connected && onPhone.length === 2, 'the pending notifications on the first device');
    const lastOnPhone = phone.lastLogId;
    for (let cursor = await offlineCursor('two-devices'); cursor !== lastOnPhone; ) {
      cursor = await offlineCursor('two-devices');
    }
    phone.disconnect();
    expect((await notify('third')).status).toBe(200);
    const laptop = await open('two-devices', { reconnection: false });
    const onLaptop: string[] = [];
    laptop.on('notification', (data: { title: string }) => onLaptop.push(data.title));
    await waitFor(() => laptop.connected && onLaptop.length >= 1, 'the notification sent after the first took its');
    // Assess
    expect(onPhone).toEqual(['first', 'second']);
    expect(onLaptop).toEqual(['third']);
  }, 30_000);

  it('socket.io-client: a second fresh device does not get what the first took', async () => {
    // Prepare
    const notify = (title: string) =>
      callApi(stack.httpUrl, 'POST', '/websocket/notification', senderToken, { userId: 'sio-two', title, body: 'b' });
    expect((await notify('first')).status).toBe(200);
    const token = await signDevToken(stack.jwtSecret, 'sio-two');
    const { url, options } = socketIoAddress(stack.wsUrl);
    const device = () => {
      const socket = socketIo(url, { ...options, extraHeaders: { Authorization: `Bearer ${token}` } });
      others.push(socket);
      const titles: string[] = [];
      socket.on('notification', (data: { title: string }) => titles.push(data.title));
      return { socket, titles };
    };
    // Act: the first device's CONNECT posts the pending one (and confirms it before answering), then a second device.
    const first = device();
    await waitFor(() => first.socket.connected, 'the first device');
    first.socket.close();
    expect((await notify('second')).status).toBe(200);
    const second = device();
    await waitFor(() => second.socket.connected && second.titles.length >= 1, 'the second device');
    // Assess
    expect(first.titles).toEqual(['first']);
    expect(second.titles).toEqual(['second']);
  }, 30_000);
});
