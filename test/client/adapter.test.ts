import { type ConnectError, ReconnectBackoff, type WebSocketConstructor } from '../../client';
import { createEnvelope } from '../../lambdas/core/envelope';
import { BrowserLikeWebSocket, useFakeGateway, waitFor } from './fake-gateway';

const fast = { reconnectionDelay: 20, reconnectionDelayMax: 200, randomizationFactor: 0, timeout: 2000 };

describe('client adapter against a real ws server', () => {
  const harness = useFakeGateway();
  const open = harness.open;

  it('connects with the Authorization header in Node, then reports the connection id and user', async () => {
    const socket = open({ auth: { token: 'user.user123' }, ...fast });
    const authenticated = new Promise((resolve) => socket.on('authenticated', resolve));

    await waitFor(() => socket.connected, 'connect');

    expect(harness.gateway.handshakes).toEqual([expect.objectContaining({ carrier: 'header', token: 'user.user123' })]);
    expect(socket.id).toBe('conn-1');
    expect(socket.userId).toBe('user123');
    await expect(authenticated).resolves.toEqual({ userId: 'user123', connectionId: 'conn-1' });
  });

  it('takes the token from extraHeaders.Authorization as socket.io-client users pass it', async () => {
    const socket = open({ extraHeaders: { Authorization: 'Bearer user.user456' }, ...fast });
    await waitFor(() => socket.connected, 'connect');
    expect(harness.gateway.handshakes[0]).toMatchObject({ carrier: 'header', token: 'user.user456' });
  });

  it('carries the token as a subprotocol with a browser-like WebSocket, and in the query when asked', async () => {
    const browserSocket = open({
      auth: { token: 'user.user123' },
      WebSocket: BrowserLikeWebSocket as unknown as WebSocketConstructor,
      ...fast,
    });
    const querySocket = open({ auth: { token: 'user.user456' }, tokenCarrier: 'query', query: { v: '1' }, ...fast });

    await waitFor(() => browserSocket.connected && querySocket.connected, 'both connects');

    expect(harness.gateway.handshakes.map((h) => h.carrier).sort()).toEqual(['query', 'subprotocol']);
  });

  it('emit("ping") brings pong; a pushed message fires message and an event named after its type', async () => {
    const socket = open({ auth: { token: 'user.user123' }, ...fast });
    const pongs: unknown[] = [];
    const messages: Array<{ type: string }> = [];
    const notifications: unknown[] = [];
    socket.on('pong', (data) => pongs.push(data));
    socket.on('message', (envelope) => messages.push(envelope));
    socket.on('notification', (data) => notifications.push(data));
    await waitFor(() => socket.connected, 'connect');

    socket.emit('ping');
    harness.gateway.push(harness.gateway.connections[0], 'notification', { title: 'Hi', body: 'there' });

    await waitFor(() => pongs.length === 1 && notifications.length === 1, 'pong and notification');
    expect(pongs[0]).toEqual({ serverTime: expect.any(String) });
    expect(notifications[0]).toEqual({ title: 'Hi', body: 'there' });
    // Answers (pong, authenticated) are not pushed messages.
    expect(messages.map((m) => m.type)).toEqual(['notification']);
  });

  it('maps emits to the send route and to custom actions', async () => {
    const socket = open({ auth: { token: 'user.user123' }, ...fast });
    await waitFor(() => socket.connected, 'connect');

    socket.emit('send', { userId: 'user456', type: 'chat', data: { message: 'Hello!' } });
    socket.sendTo(['user456', 'user789'], 'announcement', { text: 'hi' });
    socket.emit('typing', 'user456');

    const frames = harness.gateway.connections[0].frames;
    // hello and resume (issue 12), then the three emits.
    await waitFor(() => frames.length === 5, 'five frames');
    expect(frames.slice(2)).toEqual([
      { action: 'send', userId: 'user456', type: 'chat', data: { message: 'Hello!' } },
      { action: 'send', userIds: ['user456', 'user789'], type: 'announcement', data: { text: 'hi' } },
      { action: 'typing', data: 'user456' },
    ]);
  });

  it('refuses bad emits with a clear error instead of sending them', () => {
    const socket = open({ auth: { token: 'user.user123' }, autoConnect: false });

    expect(() => socket.emit('connect')).toThrow('"connect" is a reserved event name');
    expect(() => socket.emit('send', {}, () => undefined, {})).toThrow('the acknowledgement callback must be the last');
    expect(() => socket.emit('send', { ackId: 1 }, () => undefined)).toThrow('"ackId" is reserved');
    // One frame over 32 KB closes the connection on API Gateway; neither browsers nor ws split a message.
    expect(() => socket.emit('send', { data: 'x'.repeat(32 * 1024) })).toThrow(/accepts at most 32768 in one frame/);
    expect(socket.bufferedEmits).toBe(0);
  });

  it('does not retry a 401 or a 403, and says why', async () => {
    const unauthorized = open({ auth: { token: 'not-a-valid-token' }, ...fast });
    const forbidden = open({ auth: { token: 'forbidden' }, ...fast });
    const errors: ConnectError[] = [];
    unauthorized.on('connect_error', (error) => errors.push(error));
    forbidden.on('connect_error', (error) => errors.push(error));

    await waitFor(() => errors.length === 2, 'two connect errors');
    await new Promise((resolve) => setTimeout(resolve, 150)); // several backoff delays: nothing more may happen

    expect(harness.gateway.handshakes).toHaveLength(2);
    expect(errors.map((e) => [e.reason, e.status, e.willRetry]).sort()).toEqual([
      ['forbidden', 403, false],
      ['unauthorized', 401, false],
    ]);
    expect(unauthorized.active).toBe(false);
    expect(forbidden.active).toBe(false);
  });

  it('in a browser, where a refusal hides its status, gives up after refusedAfterFailures attempts', async () => {
    const socket = open({
      auth: { token: 'user-without-prefix' },
      WebSocket: BrowserLikeWebSocket as unknown as WebSocketConstructor,
      refusedAfterFailures: 3,
      ...fast,
    });
    const errors: ConnectError[] = [];
    socket.on('connect_error', (error) => errors.push(error));

    await waitFor(() => errors.some((e) => !e.willRetry), 'giving up');
    await new Promise((resolve) => setTimeout(resolve, 150));

    expect(errors.map((e) => e.reason)).toEqual(['transport_error', 'transport_error', 'unauthorized_or_refused']);
    expect(harness.gateway.handshakes).toHaveLength(3);
  });

  it('retries a failing handshake with exponential backoff and jitter from the injected random source', async () => {
    harness.gateway.refuseWith = 503;
    const attemptsSeen: number[] = [];
    let jitterDraws = 0;
    const socket = open({
      auth: { token: 'user.user123' },
      reconnectionDelay: 100,
      reconnectionDelayMax: 1000,
      randomizationFactor: 0.5,
      random: () => {
        jitterDraws += 1;
        return 1; // the top of the jitter range: 150, 300, 600 ms
      },
    });
    socket.io.on('reconnect_attempt', (attempt) => attemptsSeen.push(attempt));
    const reconnected = new Promise((resolve) => socket.io.on('reconnect', resolve));

    await waitFor(() => harness.gateway.handshakes.length === 4, 'four handshakes');
    harness.gateway.refuseWith = undefined;

    await expect(reconnected).resolves.toBe(4);
    // Timers never fire early, so each gap is at least its delay; an upper bound would only measure the machine's
    // load (the delays' exact values are ReconnectBackoff's unit test below). One jitter draw per retry.
    const gaps = harness.gateway.handshakes.slice(1, 4).map((h, i) => h.at - harness.gateway.handshakes[i].at);
    [150, 300, 600].forEach((expected, i) => {
      expect(gaps[i]).toBeGreaterThanOrEqual(expected - 5);
    });
    expect(jitterDraws).toBe(4);
    expect(attemptsSeen).toEqual([1, 2, 3, 4]);
    expect(socket.connected).toBe(true);
  });

  it('after a lost connection, reconnects with a fresh token from the token function', async () => {
    const tokens = ['user.user123', 'user.user123-refreshed'];
    const tokenFunction = jest.fn(() => tokens.shift());
    const socket = open({ auth: { token: tokenFunction }, ...fast });
    const reasons: string[] = [];
    socket.on('disconnect', (reason) => reasons.push(reason));
    await waitFor(() => socket.connected, 'connect');

    harness.gateway.connections[0].socket.close(1001, 'Going away'); // API Gateway's idle and 2-hour close

    await waitFor(() => socket.connected && socket.id === 'conn-2', 'reconnect');
    expect(reasons).toEqual(['transport close']);
    expect(tokenFunction).toHaveBeenCalledTimes(2);
    expect(harness.gateway.handshakes.map((h) => h.token)).toEqual(['user.user123', 'user.user123-refreshed']);
  });

  it("calls socket.io's callback-style auth function again on reconnect", async () => {
    let calls = 0;
    const socket = open({
      auth: (callback) => {
        calls += 1;
        callback({ token: `user.call${calls}` });
      },
      ...fast,
    });
    await waitFor(() => socket.connected, 'connect');
    harness.gateway.connections[0].socket.terminate();
    await waitFor(() => socket.id === 'conn-2', 'reconnect');
    expect(harness.gateway.handshakes.map((h) => h.token)).toEqual(['user.call1', 'user.call2']);
  });

  it('does not reconnect after the server deletes the connection (close 1000)', async () => {
    const socket = open({ auth: { token: 'user.user123' }, ...fast });
    const reasons: string[] = [];
    socket.on('disconnect', (reason) => reasons.push(reason));
    await waitFor(() => socket.connected, 'connect');

    harness.gateway.connections[0].socket.close(1000);

    await waitFor(() => reasons.length === 1, 'disconnect');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(reasons).toEqual(['io server disconnect']);
    expect(harness.gateway.handshakes).toHaveLength(1);
    expect(socket.active).toBe(false);
  });

  it('buffers emits while disconnected, bounded, and flushes them in order after hello', async () => {
    const socket = open({ auth: { token: 'user.user123' }, autoConnect: false, maxBufferedEmits: 3, ...fast });
    const dropped: string[] = [];
    socket.on('emit_dropped', ({ action }) => dropped.push(action));

    for (const n of [1, 2, 3, 4, 5]) socket.emit(`note${n}`, { n });
    socket.connect();

    await waitFor(() => harness.gateway.connections[0]?.frames.length === 5, 'hello, resume, three buffered frames');
    expect(dropped).toEqual(['note1', 'note2']);
    // The buffer flushes once the replay's first page has come (`connect` waits for it): after the resume frame.
    expect(harness.gateway.connections[0].frames).toEqual([
      { action: 'hello' },
      { action: 'resume' },
      { action: 'note3', n: 3 },
      { action: 'note4', n: 4 },
      { action: 'note5', n: 5 },
    ]);
  });

  it('buffers emits made during a reconnection and sends them on the new connection', async () => {
    const socket = open({ auth: { token: 'user.user123' }, ...fast, reconnectionDelay: 100 });
    await waitFor(() => socket.connected, 'connect');
    harness.gateway.connections[0].socket.terminate();
    await waitFor(() => !socket.connected, 'disconnect');

    socket.emit('first');
    socket.emit('second');

    await waitFor(() => harness.gateway.connections[1]?.frames.length === 4, 'frames on the new connection');
    expect(harness.gateway.connections[1].frames.map((f) => f.action)).toEqual(['hello', 'resume', 'first', 'second']);
    expect(socket.bufferedEmits).toBe(0);
  });

  it('after a reconnection, joins its rooms again before it resumes, and names those joined in the resume', async () => {
    // Prepare: a socket in two rooms, with a cursor (one message fired).
    const socket = open({ auth: { token: 'user.user123' }, ...fast });
    await waitFor(() => socket.connected, 'connect');
    await socket.join('chat:1');
    await socket.join('chat:2');
    await socket.join('chat:3');
    // The grant of chat:3 is gone by the reconnect: its join is refused, so the resume does not name it.
    harness.gateway.refusedRooms.add('chat:3');
    const message = JSON.parse(
      JSON.stringify({ ...createEnvelope('chat', 'logged'), logId: '1764255600000-0000-a3f91c' }),
    );
    harness.gateway.connections[0].socket.send(JSON.stringify(message));
    await waitFor(() => socket.lastLogId === '1764255600000-0000-a3f91c', 'the cursor');
    // Act
    harness.gateway.connections[0].socket.terminate();
    await waitFor(() => socket.connected && harness.gateway.connections.length === 2, 'the reconnect');
    // Assess: the joins went out (and were answered) before the resume, which names the rooms joined.
    const actions = harness.gateway.connections[1].frames.map((frame) => frame.action);
    expect(actions.slice(0, 5)).toEqual(['hello', 'join', 'join', 'join', 'resume']);
    expect(harness.gateway.connections[1].frames[4]).toEqual({
      action: 'resume',
      after: '1764255600000-0000-a3f91c',
      rooms: ['chat:1', 'chat:2'],
    });
    expect(actions.filter((action) => action === 'join')).toHaveLength(3);
  });

  it('pings on the heartbeat interval, and replaces a connection whose pongs stop', async () => {
    // A generous pong deadline: on a loaded machine a pong can take longer than the interval to come back.
    const socket = open({ auth: { token: 'user.user123' }, heartbeatInterval: 40, heartbeatTimeout: 1000, ...fast });
    const reasons: string[] = [];
    socket.on('disconnect', (reason) => reasons.push(reason));
    await waitFor(() => socket.connected, 'connect');
    await waitFor(
      () => harness.gateway.connections[0].frames.filter((f) => f.action === 'ping').length >= 2,
      'two pings',
    );
    expect(reasons).toEqual([]);

    harness.gateway.answerPings = false;

    await waitFor(() => reasons.length === 1, 'ping timeout');
    expect(reasons).toEqual(['ping timeout']);
    harness.gateway.answerPings = true;
    await waitFor(() => socket.connected && socket.id === 'conn-2', 'reconnect after ping timeout');
  });

  it('renews the connection before the 2-hour limit without a disconnect, and drops the duplicate', async () => {
    // Long enough that the next renewal (of conn-2) cannot start while the test still works with conn-2.
    const socket = open({ auth: { token: 'user.user123' }, renewConnectionAfter: 1000, ...fast });
    const events: string[] = [];
    const chats: unknown[] = [];
    socket.on('disconnect', () => events.push('disconnect'));
    socket.on('connection_renewed', ({ previousId, id }) => events.push(`renewed ${previousId} -> ${id}`));
    socket.on('chat', (data) => chats.push(data));
    await waitFor(() => socket.connected, 'connect');

    await waitFor(() => events.length === 1, 'renewal');
    expect(events).toEqual(['renewed conn-1 -> conn-2']);
    expect(socket.id).toBe('conn-2');
    await waitFor(() => harness.gateway.open.length === 1, 'the old connection closed');
    expect(harness.gateway.open[0].connectionId).toBe('conn-2');

    // A message sent while both connections were live reaches both; the adapter shows it once.
    harness.gateway.push(harness.gateway.connections[1], 'chat', { message: 'once' }, 'envelope-1');
    harness.gateway.push(harness.gateway.connections[1], 'chat', { message: 'once' }, 'envelope-1');
    socket.emit('after-renewal');
    await waitFor(() => harness.gateway.connections[1].frames.length === 2, 'emit on the new connection');
    expect(chats).toEqual([{ message: 'once' }]);
    expect(socket.connected).toBe(true);
  });

  it('when the old connection closes during a renewal, the renewal becomes the reconnection', async () => {
    const socket = open({ auth: { token: 'user.user123' }, renewConnectionAfter: 100, ...fast });
    const events: string[] = [];
    socket.on('disconnect', (reason) => events.push(`disconnect ${reason}`));
    socket.on('connect', () => events.push(`connect ${socket.id} (handshakes: ${harness.gateway.handshakes.length})`));
    socket.io.on('reconnect', (attempts) => events.push(`reconnect ${attempts}`));
    await waitFor(() => socket.connected, 'connect');
    // The renewal stays unauthenticated long enough for the old connection to close first, even under load.
    harness.gateway.helloDelayMs = 1000;

    await waitFor(() => harness.gateway.connections.length === 2, 'the renewal opened');
    harness.gateway.connections[0].socket.close(1001, 'Going away');

    await waitFor(() => events.length === 4, 'disconnect, then connect on the renewal');
    // No third handshake: the renewal in flight was reused instead of starting a reconnection beside it, and
    // `reconnect` still tells listeners (which resubscribe on it) that the connection came back.
    expect(events).toEqual([
      'connect conn-1 (handshakes: 1)',
      'disconnect transport close',
      'connect conn-2 (handshakes: 2)',
      'reconnect 1',
    ]);
  });

  it('turns frames it cannot read into error events', async () => {
    const socket = open({ auth: { token: 'user.user123' }, ...fast });
    const errors: Array<{ code: string; message: string }> = [];
    socket.on('error', (error) => errors.push(error));
    await waitFor(() => socket.connected, 'connect');

    harness.gateway.connections[0].socket.send('not json');
    harness.gateway.connections[0].socket.send(JSON.stringify({ message: 'Internal server error', connectionId: 'x' }));
    harness.gateway.push(harness.gateway.connections[0], 'error', {
      code: 'unknown_action',
      message: 'No route for "nope"',
    });

    await waitFor(() => errors.length === 3, 'three errors');
    expect(errors).toEqual([
      { code: 'invalid_frame', message: 'The server sent a frame that is not JSON' },
      { code: 'server_error', message: 'Internal server error' },
      { code: 'unknown_action', message: 'No route for "nope"' },
    ]);
  });

  it('keeps retrying a network failure until the server is back', async () => {
    const port = harness.gateway.port;
    const socket = open({ auth: { token: 'user.user123' }, ...fast, reconnectionDelay: 30 });
    await waitFor(() => socket.connected, 'connect');
    await harness.gateway.stop();
    const errors: ConnectError[] = [];
    socket.on('connect_error', (error) => errors.push(error));

    await waitFor(() => errors.length >= 3, 'three failed attempts');
    expect(errors.every((e) => e.reason === 'transport_error' && e.willRetry)).toBe(true);
    await harness.restart(port);

    await waitFor(() => socket.connected, 'reconnect once the server is back');
  });

  it('gives up after reconnectionAttempts with reconnect_failed', async () => {
    harness.gateway.refuseWith = 502;
    const socket = open({ auth: { token: 'user.user123' }, ...fast, reconnectionAttempts: 2 });
    const failed = new Promise((resolve) => socket.io.on('reconnect_failed', () => resolve('failed')));
    await expect(failed).resolves.toBe('failed');
    expect(harness.gateway.handshakes).toHaveLength(3);
    expect(socket.active).toBe(false);
  });
});

describe('ReconnectBackoff', () => {
  it('doubles the delay up to the maximum and spreads it by the randomization factor', () => {
    const low = new ReconnectBackoff({
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
      random: () => 0,
    });
    const high = new ReconnectBackoff({
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
      random: () => 0.999999,
    });

    expect([1, 2, 3, 4, 5].map(() => low.nextDelay())).toEqual([500, 1000, 2000, 2500, 2500]);
    expect([1, 2, 3, 4, 5].map(() => high.nextDelay())).toEqual([1500, 3000, 5000, 5000, 5000]);
    low.reset();
    expect(low.nextDelay()).toBe(500);
  });
});
