// End-to-end: an unmodified socket.io-client v4 (the real package) against the stack, beside the JSON protocol on
// the same WebSocket API. Local mode by default; parity mode against a deployed stage: see support/target.ts.
import { LOG_ID_PATTERN } from '../../lambdas/core/log-id';
import { callApi } from './support/http';
import { useE2eSession } from './support/session';
import { connectSocketIo, type SocketIoTestClient, socketIoAddress } from './support/socket-io';
import { eventually } from './support/sockets';
import { type DemoUser, itWithRegistry } from './support/target';

const users: DemoUser[] = ['user123', 'user456', 'user789', 'admin'];
const clients: SocketIoTestClient[] = [];
// Declared before the session's own afterEach, which runs after this one and waits for every $disconnect.
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
const session = useE2eSession(users);

/** An unmodified socket.io-client with the token in `extraHeaders` (how a Node client sends it). */
async function openSocketIo(user: DemoUser): Promise<SocketIoTestClient> {
  const client = await connectSocketIo(session.target.wsUrl, {
    extraHeaders: { Authorization: `Bearer ${session.target.tokens[user]}` },
  });
  clients.push(client);
  return client;
}

describe('an unmodified socket.io-client', () => {
  itWithRegistry('connects with the token in extraHeaders and gets an id, recorded with its protocol', async () => {
    const client = await openSocketIo('user123');

    expect(client.socket.id).toEqual(expect.any(String));
    const rows = await session.target.registry!.rowsOf('user123');
    expect(rows).toEqual([expect.objectContaining({ connectionId: client.socket.id, protocol: 'socket.io' })]);
  });

  it('connects with the token in the query, the browser carrier (a browser cannot set headers)', async () => {
    const client = await connectSocketIo(session.target.wsUrl, { query: { token: session.target.tokens.user456 } });
    clients.push(client);

    client.socket.emit('hello');

    expect(await client.next('authenticated')).toEqual([
      { userId: 'user456', connectionId: client.socket.id },
      expect.objectContaining({ id: expect.any(String) }),
    ]);
  });

  it('connects with the token in the subprotocol, the other browser carrier', async () => {
    const client = await connectSocketIo(session.target.wsUrl, {
      protocols: ['realtime-gateway.v1', `bearer.${session.target.tokens.user789}`],
    });
    clients.push(client);

    expect(await client.socket.emitWithAck('hello')).toEqual({ userId: 'user789', connectionId: client.socket.id });
  });

  it('gets connect_error and no connection without a token: every connection is authenticated at $connect', async () => {
    // A token only in CONNECT's `auth` arrives after $connect, where API Gateway no longer authorizes anything.
    await expect(
      connectSocketIo(session.target.wsUrl, { auth: { token: session.target.tokens.user123 } }),
    ).rejects.toThrow();
  });

  it('emits ping and gets pong, as an event or as the callback of emitWithAck', async () => {
    const client = await openSocketIo('user123');

    client.socket.emit('ping');
    const [pong, meta] = await client.next('pong');
    const acknowledged = await client.socket.timeout(5000).emitWithAck('ping');

    expect(pong).toEqual({ serverTime: expect.any(String) });
    expect(meta).toEqual({ id: expect.any(String), timestamp: expect.any(String) });
    expect(acknowledged).toEqual({ serverTime: expect.any(String) });
  });

  it('receives a message sent to its user through the HTTP API as the event of its type, with the sender', async () => {
    const client = await openSocketIo('user456');

    const sent = await callApi(
      session.target.httpUrl,
      'POST',
      '/websocket/message/user',
      session.target.tokens.user123,
      {
        userId: 'user456',
        type: 'message',
        data: { text: 'Hello!' },
      },
    );
    const notified = await callApi(
      session.target.httpUrl,
      'POST',
      '/websocket/notification',
      session.target.tokens.user123,
      {
        userId: 'user456',
        title: 'New order',
        body: 'Order #42 shipped',
      },
    );

    expect([sent.status, notified.status]).toEqual([200, 200]);
    expect(await client.next('message')).toEqual([
      { text: 'Hello!' },
      { id: expect.any(String), timestamp: expect.any(String), from: 'user123' },
      // The message log id, last: socket.io-client keeps it as its recovery offset (issue 12).
      expect.stringMatching(LOG_ID_PATTERN),
    ]);
    expect((await client.next('notification'))[0]).toEqual({ title: 'New order', body: 'Order #42 shipped' });
  });

  it('emits send: a JSON socket and a Socket.IO socket of the recipient get it, the sender gets the delivery', async () => {
    const sender = await openSocketIo('user123');
    const jsonRecipient = await session.open('user456');
    const socketIoRecipient = await openSocketIo('user456');

    sender.socket.emit('send', { userId: 'user456', type: 'chat', data: { message: 'Hi' } });

    expect(await jsonRecipient.next('chat')).toMatchObject({ data: { message: 'Hi' }, from: 'user123' });
    expect(await socketIoRecipient.next('chat')).toEqual([
      { message: 'Hi' },
      expect.objectContaining({ from: 'user123' }),
      expect.stringMatching(LOG_ID_PATTERN),
    ]);
    expect((await sender.next('delivery'))[0]).toMatchObject({ connections: { delivered: 2, failed: 0, stale: 0 } });
  });

  it('gets an error event for a send the HTTP API would refuse, and for an unknown event', async () => {
    const client = await openSocketIo('user123');

    client.socket.emit('send', { type: 'chat', data: {} });
    const [refusal] = await client.next('error');
    client.socket.emit('dance');
    const [unknown] = await client.next('error');

    expect(refusal).toEqual({ code: 'validation_error', message: expect.stringContaining('userId') });
    expect(unknown).toEqual({ code: 'unknown_action', message: expect.stringContaining('dance') });
  });

  it('gets one copy of a broadcast, like the JSON socket beside it (the asynchronous fan-out encodes per connection)', async () => {
    const json = await session.open('user123');
    const socketIo = await openSocketIo('user456');

    const accepted = await callApi(
      session.target.httpUrl,
      'POST',
      '/websocket/message/broadcast',
      session.target.tokens.admin,
      {
        type: 'system',
        data: { message: 'Maintenance at 22:00' },
      },
    );
    expect(accepted.status).toBe(202);
    const { statusUrl } = accepted.body as { statusUrl: string };
    await eventually(async () => {
      const status = await callApi(session.target.httpUrl, 'GET', statusUrl, session.target.tokens.admin);
      return (status.body as { finishedAt?: string }).finishedAt !== undefined;
    }, 15_000);

    expect(await json.next('system')).toMatchObject({ data: { message: 'Maintenance at 22:00' } });
    expect((await socketIo.next('system'))[0]).toEqual({ message: 'Maintenance at 22:00' });
    await json.expectNothing();
    expect(socketIo.pending().filter((event) => event.name === 'system')).toEqual([]);
  });

  it('sees "io server disconnect" when the HTTP disconnect route closes it, and stays disconnected', async () => {
    const client = await openSocketIo('user789');

    const closed = await callApi(
      session.target.httpUrl,
      'DELETE',
      '/websocket/users/user789/disconnect',
      session.target.tokens.admin,
    );

    expect(closed.status).toBe(200);
    expect(await client.disconnected).toBe('io server disconnect');
  });

  it('sees "transport close" when the gateway closes the connection (a message over its 128 KB limit)', async () => {
    const client = await openSocketIo('user123');

    client.socket.emit('send', { userId: 'user456', type: 'chat', data: { text: 'x'.repeat(130 * 1024) } });

    expect(await client.disconnected).toBe('transport close');
  });
});

describe("the README's example client (the old Socket.IO server's)", () => {
  it('runs with socket.io-client, only the URL, the path and the token carrier changed', async () => {
    // Before: io('https://realtime.example.com', { auth: { token: jwt } }) against the Express + Socket.IO server.
    const { options } = socketIoAddress(session.target.wsUrl);
    const seen: string[] = [];
    const client = await connectSocketIo(session.target.wsUrl, {
      path: options.path,
      transports: ['websocket'],
      extraHeaders: { Authorization: `Bearer ${session.target.tokens.user123}` },
    });
    clients.push(client);
    const { socket } = client;
    seen.push(`connected ${socket.id}`);
    socket.on('notification', (data: { title: string }) => seen.push(`toast ${data.title}`));
    socket.emit('ping');

    await client.next('pong');
    await callApi(session.target.httpUrl, 'POST', '/websocket/notification', session.target.tokens.admin, {
      userId: 'user123',
      title: 'New order',
      body: 'Order #42 shipped',
    });
    await client.next('notification');

    expect(seen).toEqual([`connected ${socket.id}`, 'toast New order']);
  });
});

describe('the Socket.IO address', () => {
  it('is the stage origin with the stage as path: socket.io-client adds the trailing slash the gateway accepts', () => {
    expect(socketIoAddress('wss://abc123.execute-api.eu-west-1.amazonaws.com/prod')).toMatchObject({
      url: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
      options: { path: '/prod', transports: ['websocket'] },
    });
  });
});
