import { AckError, type ConnectError, type DeliveryReportData, io, type RealtimeSocket } from '../../client';
import { signDevToken } from '../../local/dev-tokens';
import { type LocalStack, startLocalStack } from '../../local/stack';
import { RoomProbe } from '../e2e/support/room-probe';
import { waitFor } from './fake-gateway';

/**
 * The adapter in Node (`ws`, token in the Authorization header) against the local stack: the real authorizer,
 * handlers, registry and emulator. Idle and lifetime limits are shortened so the heartbeat and the renewal
 * before the limit can be seen working.
 */
describe('client adapter in Node against the local stack', () => {
  let stack: LocalStack;
  const sockets: RealtimeSocket[] = [];
  const idleTimeoutMs = 1000;
  // The idle test waits 2.5 idle periods and must end before this limit; the renewal gets 2 s to complete.
  const maxConnectionMs = 5000;

  const connect = async (
    userId: string,
    options: Parameters<typeof io>[1] = {},
    scope?: string,
  ): Promise<RealtimeSocket> => {
    const token = await signDevToken(stack.jwtSecret, userId, { scope });
    const socket = io(stack.wsUrl, { auth: { token }, heartbeatInterval: 150, reconnectionDelay: 50, ...options });
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: true, idleTimeoutMs, maxConnectionMs });
  }, 60_000);
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.disconnect();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('connects with the Authorization header and sends through the socket send route', async () => {
    const sender = await connect('user123');
    const recipient = await connect('user456');
    const chats: Array<{ data: unknown; from?: string }> = [];
    recipient.on('chat', (data, envelope) => chats.push({ data, from: envelope.from }));
    const reports: DeliveryReportData[] = [];
    sender.on('delivery', (report) => reports.push(report));
    await waitFor(() => sender.connected && recipient.connected, 'both connected');
    expect(sender.userId).toBe('user123');

    sender.sendTo('user456', 'chat', { message: 'Hello over the socket' });

    await waitFor(() => chats.length === 1 && reports.length === 1, 'the chat and its delivery report');
    expect(chats[0]).toEqual({ data: { message: 'Hello over the socket' }, from: 'user123' });
    // A sender without ws:admin gets the outcome and counts, not the recipient's connection id (issue 9, defect 5).
    expect(reports[0]).toMatchObject({ recipients: { user456: 'delivered' }, connections: { delivered: 1 } });
    expect(JSON.stringify(reports[0])).not.toContain(recipient.id);
  });

  it('sends an emit of exactly the 32 KB frame limit, and refuses a larger one before it reaches the socket', async () => {
    const sender = await connect('user123');
    const recipient = await connect('user456');
    const chats: unknown[] = [];
    recipient.on('chat', (data) => chats.push(data));
    const reasons: string[] = [];
    sender.on('disconnect', (reason) => reasons.push(reason));
    await waitFor(() => sender.connected && recipient.connected, 'both connected');
    const frame = (blob: string) => ({ userId: 'user456', type: 'chat', data: { blob } });
    const overhead = JSON.stringify({ ...frame(''), action: 'send' }).length;
    const atLimit = 'x'.repeat(32 * 1024 - overhead);

    sender.emit('send', frame(atLimit));

    await waitFor(() => chats.length === 1, 'the message at the limit');
    expect(chats[0]).toEqual({ blob: atLimit });
    // The emulator, like API Gateway, would close the connection (1009) on one byte more.
    expect(() => sender.emit('send', frame(`${atLimit}x`))).toThrow(RangeError);
    expect(reasons).toEqual([]);
    expect(sender.connected).toBe(true);
  });

  it('gets an error event for an action the server does not route', async () => {
    const socket = await connect('user123');
    const errors: Array<{ code: string; message: string }> = [];
    socket.on('error', (error) => errors.push(error));
    await waitFor(() => socket.connected, 'connect');

    socket.emit('no-such-action', { x: 1 });

    await waitFor(() => errors.length === 1, 'an error frame');
    expect(errors[0].message).toContain('no-such-action');
  });

  it('gets acknowledgements: a callback, emitWithAck resolving with the report, and a refusal rejecting', async () => {
    const sender = await connect('user123');
    const recipient = await connect('user456');
    const pongEvents: unknown[] = [];
    sender.on('pong', (data) => pongEvents.push(data));
    await waitFor(() => sender.connected && recipient.connected, 'both connected');

    const pong = await new Promise<unknown>((resolve) => sender.emit('ping', resolve));
    const report = await sender.emitWithAck<DeliveryReportData>('send', {
      userId: 'user456',
      type: 'chat',
      data: { message: 'acknowledged' },
    });
    const refusal = await sender
      .timeout(5000)
      .emitWithAck('send', { type: 'chat', data: {} })
      .catch((e) => e);

    expect(pong).toEqual({ serverTime: expect.any(String) });
    // The answer went to the callback instead of the event.
    expect(pongEvents).toEqual([]);
    expect(report).toMatchObject({ recipients: { user456: 'delivered' } });
    expect(refusal).toBeInstanceOf(AckError);
    expect(refusal).toMatchObject({ reason: 'server_error', code: 'validation_error' });
  });

  it('fails an acknowledgement whose connection closes before the answer, and one that times out', async () => {
    const socket = await connect('user123', { reconnection: false });
    await waitFor(() => socket.connected, 'connect');
    // The answer to a frame can only come back on its own connection: closing it loses the answer.
    const lost = socket.emitWithAck('ping').catch((e) => e);
    socket.disconnect();
    // An emit on a closed socket waits in the buffer for a connection that never comes: only its timeout ends it.
    const late = socket
      .timeout(50)
      .emitWithAck('ping')
      .catch((e) => e);

    expect(await lost).toMatchObject({ reason: 'disconnected' });
    expect(await late).toMatchObject({ reason: 'timeout' });
  });

  it('reports a refused token as unauthorized (401) and does not retry', async () => {
    const socket = io(stack.wsUrl, { auth: { token: 'not.a.token' }, reconnectionDelay: 20 });
    sockets.push(socket);
    const errors: ConnectError[] = [];
    socket.on('connect_error', (error) => errors.push(error));

    await waitFor(() => errors.length === 1, 'connect_error');
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(errors.map((e) => [e.reason, e.status, e.willRetry])).toEqual([['unauthorized', 401, false]]);
    expect(socket.active).toBe(false);
  });

  it('stays connected past the idle timeout thanks to the heartbeat', async () => {
    const socket = await connect('user123');
    const reasons: string[] = [];
    socket.on('disconnect', (reason) => reasons.push(reason));
    await waitFor(() => socket.connected, 'connect');
    const firstId = socket.id;

    await new Promise((resolve) => setTimeout(resolve, idleTimeoutMs * 2.5));

    expect(reasons).toEqual([]);
    expect(socket.id).toBe(firstId);
  });

  it('renews the connection before the maximum duration, with no disconnect seen', async () => {
    const socket = await connect('user123', { renewConnectionAfter: maxConnectionMs - 2000 });
    const reasons: string[] = [];
    const renewals: Array<string | undefined> = [];
    socket.on('disconnect', (reason) => reasons.push(reason));
    socket.on('connection_renewed', ({ id }) => renewals.push(id));
    await waitFor(() => socket.connected, 'connect');
    const firstId = socket.id;

    await new Promise((resolve) => setTimeout(resolve, maxConnectionMs + 500));

    expect(renewals.length).toBeGreaterThanOrEqual(1);
    expect(socket.id).not.toBe(firstId);
    expect(reasons).toEqual([]);
    expect(socket.connected).toBe(true);
  }, 15_000);

  /** The member connections the room index holds for `room`, read directly. */
  const stackMemberIds = async (room: string): Promise<string[]> => {
    const probe = new RoomProbe(stack.dynamoEndpoint, {
      roomTableName: stack.roomTableName,
      connectionTableName: stack.tableName,
    });
    try {
      return (await probe.membersOf(room)).map((member) => member.connectionId);
    } finally {
      probe.close();
    }
  };

  /** The room's members as the HTTP API lists them, for a holder of the rooms permission. */
  const membersOf = async (room: string): Promise<unknown> => {
    const token = await signDevToken(stack.jwtSecret, 'admin', { scope: 'ws:rooms' });
    const response = await fetch(`${stack.httpUrl}/websocket/rooms/${encodeURIComponent(room)}/members`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    return response.json();
  };

  it('joins a granted room with join(), rejects a refused one with the server code, and leaves', async () => {
    const socket = await connect('user789', {}, 'room:chat:*');

    await socket.join('chat:adapter');
    const listed = await membersOf('chat:adapter');
    const refused = await socket.join('news').catch((error: Error & { code?: string }) => error);
    await socket.leave('chat:adapter');

    expect(listed).toEqual({ room: 'chat:adapter', members: [{ userId: 'user789', connections: 1 }] });
    expect(refused).toMatchObject({
      code: 'forbidden',
      message: expect.stringContaining('room "news" is not granted'),
    });
    expect(await membersOf('chat:adapter')).toEqual({ room: 'chat:adapter', members: [] });
  });

  it('joins its rooms again on the new connection of a renewal (a membership ends with its connection)', async () => {
    const socket = await connect('user456', { renewConnectionAfter: maxConnectionMs - 2000 }, 'room:chat:*');
    const renewals: Array<string | undefined> = [];
    // Read the moment the switch happens: the new connection must already be a member (make before break), or a
    // room message sent between the old connection's close and the new one's join would reach neither.
    const membersAtSwitch: Array<Promise<string[]>> = [];
    socket.on('connection_renewed', ({ id }) => {
      renewals.push(id);
      membersAtSwitch.push(stackMemberIds('chat:renewed').then((ids) => ids.filter((member) => member === id)));
    });
    await socket.join('chat:renewed');

    await waitFor(() => renewals.length > 0, 'a renewal', maxConnectionMs + 2000);
    expect(await membersAtSwitch[0]).toEqual([renewals[0]]);
    // The old connection's $disconnect runs after its close: its membership goes then.
    let listed: unknown;
    for (let attempt = 0; attempt < 50; attempt++) {
      listed = await membersOf('chat:renewed');
      if (JSON.stringify(listed).includes('"connections":1')) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    expect(listed).toEqual({ room: 'chat:renewed', members: [{ userId: 'user456', connections: 1 }] });
    expect(await stackMemberIds('chat:renewed')).toEqual([socket.id]);
  }, 15_000);

  it('sees an HTTP disconnect as a server disconnect and does not come back', async () => {
    const socket = await connect('user789');
    const reasons: string[] = [];
    socket.on('disconnect', (reason) => reasons.push(reason));
    await waitFor(() => socket.connected, 'connect');
    const token = await signDevToken(stack.jwtSecret, 'user789');

    const answer = await fetch(`${stack.httpUrl}/websocket/users/user789/disconnect`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });

    expect(answer.status).toBe(200);
    await waitFor(() => reasons.length === 1, 'disconnect');
    expect(reasons).toEqual(['io server disconnect']);
    expect(socket.active).toBe(false);
  });
});
