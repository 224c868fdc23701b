// End-to-end: every HTTP API endpoint with the bodies of the HTTP API issue, and its error cases.
// Local mode by default; parity mode against a deployed stage: see support/session.target.ts.
import { LOG_ID_PATTERN } from '../../lambdas/core/log-id';
import { callApi } from './support/http';
import { useE2eSession } from './support/session';
import { eventually } from './support/sockets';
import { type DemoUser, itWithExpiredToken } from './support/target';

const session = useE2eSession(['user123', 'user456', 'user789', 'admin']);
const { open } = session;
const api = (method: 'GET' | 'POST' | 'DELETE', path: string, as: DemoUser | undefined, body?: unknown) =>
  callApi(session.target.httpUrl, method, path, as === undefined ? undefined : session.target.tokens[as], body);

describe('POST /websocket/message/user', () => {
  it('delivers to every connection of the user, stamps the sender from the token, and reports it', async () => {
    // Prepare
    const [first, second] = [await open('user456'), await open('user456')];
    const bystander = await open('user789');
    // Act
    const { status, body } = await api('POST', '/websocket/message/user', 'user123', {
      userId: 'user456',
      type: 'chat',
      data: { message: 'Hello!', sender: 'system' },
      from: 'mallory',
    });
    // Assess
    expect(status).toBe(200);
    const frames = [await first.next('chat'), await second.next('chat')];
    for (const frame of frames) {
      expect(frame).toEqual({
        type: 'chat',
        data: { message: 'Hello!', sender: 'system' },
        timestamp: expect.any(String),
        id: expect.any(String),
        from: 'user123',
        // Recorded in the message log before it was posted (issue 12); both connections get the same id.
        logId: frames[0].logId,
      });
    }
    expect(frames[0].logId).toMatch(LOG_ID_PATTERN);
    // A caller without ws:admin learns the outcome and the counts, not the recipient's connection ids.
    expect(body).toEqual({
      messageId: frames[0].id,
      timestamp: frames[0].timestamp,
      recipients: { user456: 'delivered' },
      notConnected: [],
      connections: { delivered: 2, failed: 0, stale: 0 },
    });
    await bystander.expectNothing();
  });

  it('tells a caller with ws:admin the connection ids it delivered to (issue 9, defect 5)', async () => {
    const recipient = await open('user456');
    recipient.send({ action: 'hello' });
    const { connectionId } = (await recipient.next('authenticated')).data as { connectionId: string };

    const { status, body } = await api('POST', '/websocket/message/user', 'admin', {
      userId: 'user456',
      type: 'chat',
      data: { message: 'Hello!' },
    });

    expect(status).toBe(200);
    expect(body).toMatchObject({ recipients: { user456: { delivered: [connectionId], failed: [], stale: [] } } });
  });

  it('reports a user with no live connection as not connected', async () => {
    const { status, body } = await api('POST', '/websocket/message/user', 'user123', {
      userId: 'user789',
      type: 'chat',
      data: { message: 'anyone?' },
    });

    expect(status).toBe(200);
    expect(body).toMatchObject({ recipients: {}, notConnected: ['user789'] });
  });
});

describe('POST /websocket/message/users', () => {
  it('delivers to each listed user and nobody else', async () => {
    const [u456, u789, u123] = [await open('user456'), await open('user789'), await open('user123')];

    const { status, body } = await api('POST', '/websocket/message/users', 'admin', {
      userIds: ['user456', 'user789'],
      type: 'announcement',
      data: { message: 'Maintenance at noon' },
    });

    expect(status).toBe(200);
    expect(await u456.next('announcement')).toMatchObject({ data: { message: 'Maintenance at noon' }, from: 'admin' });
    expect(await u789.next('announcement')).toMatchObject({ from: 'admin' });
    expect(Object.keys((body as { recipients: object }).recipients).sort()).toEqual(['user456', 'user789']);
    await u123.expectNothing();
  });
});

describe('POST /websocket/message/broadcast', () => {
  it('needs ws:broadcast: a plain user gets 403 and nothing is sent', async () => {
    const listener = await open('user456');

    const { status, body } = await api('POST', '/websocket/message/broadcast', 'user123', {
      type: 'system',
      data: { message: 'hi all', level: 'info' },
    });

    expect(status).toBe(403);
    expect(body).toMatchObject({ error: { code: 'forbidden', message: expect.any(String) } });
    await listener.expectNothing();
  });

  it('is accepted with 202 and its id, reaches every connected user, and its status says complete', async () => {
    const listeners = [await open('user123'), await open('user456'), await open('user789')];

    const { status, body } = await api('POST', '/websocket/message/broadcast', 'admin', {
      type: 'system',
      data: { message: 'Deploy finished', level: 'info' },
    });

    expect(status).toBe(202);
    const accepted = body as { broadcastId: string; messageId: string; statusUrl: string };
    expect(accepted).toMatchObject({ broadcastId: expect.any(String), state: 'queued' });
    expect(accepted.statusUrl).toBe(`/websocket/broadcasts/${accepted.broadcastId}`);
    for (const listener of listeners) {
      expect(await listener.next('system')).toMatchObject({
        id: accepted.messageId,
        data: { message: 'Deploy finished', level: 'info' },
      });
    }
    let report: { state: string; connections: { delivered: number; failed: number } } | undefined;
    await eventually(async () => {
      report = (await api('GET', accepted.statusUrl, 'admin')).body as typeof report;
      return report?.state === 'complete';
    }, 30_000);
    expect(report?.connections.failed).toBe(0);
    if (session.target.registry) expect(report?.connections.delivered).toBe(3);
    else expect(report?.connections.delivered).toBeGreaterThanOrEqual(3);
  });

  it('GET /websocket/broadcasts/{id}: 404 in the error shape for an unknown id, 403 without ws:broadcast', async () => {
    const unknown = await api('GET', '/websocket/broadcasts/00000000-0000-0000-0000-000000000000', 'admin');
    const forbidden = await api('GET', '/websocket/broadcasts/00000000-0000-0000-0000-000000000000', 'user123');

    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'not_found', message: expect.any(String) } } });
    expect(forbidden).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
  });
});

describe('POST /websocket/notification', () => {
  it('delivers a notification frame with data { title, body, ...data }', async () => {
    const listener = await open('user456');

    const { status } = await api('POST', '/websocket/notification', 'user123', {
      userId: 'user456',
      title: 'New order',
      body: 'Order #42 shipped',
      data: { orderId: 42 },
    });

    expect(status).toBe(200);
    expect(await listener.next('notification')).toMatchObject({
      type: 'notification',
      data: { title: 'New order', body: 'Order #42 shipped', orderId: 42 },
      from: 'user123',
    });
  });
});

describe('status and connected users', () => {
  it('GET /websocket/me/status tells a user their own connections', async () => {
    const client = await open('user123');
    client.send({ action: 'hello' });
    const hello = await client.next('authenticated');

    const { status, body } = await api('GET', '/websocket/me/status', 'user123');

    expect(status).toBe(200);
    expect(body).toEqual({
      userId: 'user123',
      connected: true,
      connectionCount: 1,
      connections: [
        { connectionId: (hello.data as { connectionId: string }).connectionId, connectedAt: expect.any(String) },
      ],
    });
  });

  it('GET /websocket/users/{userId}/status: own status for anyone, another user needs ws:admin', async () => {
    await open('user456');
    await open('user456');

    const own = await api('GET', '/websocket/users/user456/status', 'user456');
    const other = await api('GET', '/websocket/users/user456/status', 'user123');
    const asAdmin = await api('GET', '/websocket/users/user456/status', 'admin');
    const absent = await api('GET', '/websocket/users/user789/status', 'admin');

    expect(own).toMatchObject({ status: 200, body: { userId: 'user456', connected: true, connectionCount: 2 } });
    expect(other).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(asAdmin).toMatchObject({ status: 200, body: { connectionCount: 2 } });
    expect(absent).toMatchObject({ status: 200, body: { userId: 'user789', connected: false, connectionCount: 0 } });
  });

  it('GET /websocket/users/connected needs ws:admin and pages through the users', async () => {
    await open('user123');
    await open('user456');
    await open('user789');

    const refused = await api('GET', '/websocket/users/connected', 'user123');
    const users: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const query = `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await api('GET', `/websocket/users/connected${query}`, 'admin');
      expect(page.status).toBe(200);
      const { users: pageUsers, nextCursor } = page.body as { users: string[]; nextCursor?: string };
      expect(pageUsers.length).toBeLessThanOrEqual(2);
      users.push(...pageUsers);
      cursor = nextCursor;
      pages += 1;
    } while (cursor && pages < 50);

    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(users).toEqual(expect.arrayContaining(['user123', 'user456', 'user789']));
    expect(new Set(users).size).toBe(users.length);
    if (session.target.registry) expect(users.sort()).toEqual(['user123', 'user456', 'user789']);
  });
});

describe('DELETE /websocket/users/{userId}/disconnect', () => {
  it('lets a user disconnect themselves: every socket closes and the rows go', async () => {
    const [first, second] = [await open('user123'), await open('user123')];

    const { status, body } = await api('DELETE', '/websocket/users/user123/disconnect', 'user123');

    expect(status).toBe(200);
    expect(body).toEqual({ userId: 'user123', disconnected: 2 });
    await Promise.all([first.closed, second.closed]);
    if (session.target.registry) expect(await session.target.registry.rowsOf('user123')).toEqual([]);
  });

  it('needs ws:admin to disconnect someone else', async () => {
    const victim = await open('user456');

    const refused = await api('DELETE', '/websocket/users/user456/disconnect', 'user123');
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(victim.socket.readyState).toBe(victim.socket.OPEN);

    const done = await api('DELETE', '/websocket/users/user456/disconnect', 'admin');
    expect(done).toMatchObject({ status: 200, body: { userId: 'user456', disconnected: 1 } });
    await victim.closed;
  });
});

describe('errors', () => {
  const send = (body: unknown) => api('POST', '/websocket/message/user', 'user123', body);
  const validationCases: Array<[string, unknown]> = [
    ['malformed JSON', '{"userId": "user456",'],
    ['a body that is not an object', '[1,2]'],
    ['a missing userId', { type: 'chat', data: {} }],
    ['an empty userId', { userId: '', type: 'chat', data: {} }],
    ['a userId that is not a string', { userId: 42, type: 'chat', data: {} }],
    ['a missing type', { userId: 'user456', data: {} }],
    ['a type of 65 characters', { userId: 'user456', type: 'x'.repeat(65), data: {} }],
    ['a type with a space', { userId: 'user456', type: 'chat message', data: {} }],
    ['missing data', { userId: 'user456', type: 'chat' }],
  ];
  it.each(validationCases)('answers 400 with the one error shape for %s', async (_case, body) => {
    const { status, body: answer } = await send(body);

    expect(status).toBe(400);
    expect(answer).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
    expect(JSON.stringify(answer)).not.toMatch(/at .*\.ts:\d+|stack/i);
  });

  it.each([
    ['an empty list', []],
    ['repeated ids', ['user456', 'user456']],
    ['a list that is not an array', 'user456'],
    ['more ids than allowed', Array.from({ length: 1001 }, (_, index) => `user${index}`)],
  ])('answers 400 for userIds as %s', async (_case, userIds) => {
    const { status, body } = await api('POST', '/websocket/message/users', 'user123', {
      userIds,
      type: 'chat',
      data: {},
    });

    expect(status).toBe(400);
    expect(body).toMatchObject({ error: { code: expect.any(String), message: expect.stringMatching(/userIds/) } });
  });

  it('answers 413 for an envelope over 128 KB', async () => {
    const { status, body } = await send({ userId: 'user456', type: 'chat', data: { blob: 'x'.repeat(130 * 1024) } });

    expect(status).toBe(413);
    expect(body).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('answers 401 without a token and with a bad one', async () => {
    const missing = await api('POST', '/websocket/message/user', undefined, {
      userId: 'user456',
      type: 'chat',
      data: {},
    });
    const bad = await callApi(session.target.httpUrl, 'GET', '/websocket/me/status', 'not-a-jwt');

    expect(missing.status).toBe(401);
    expect(bad.status).toBe(401);
  });

  itWithExpiredToken('answers 401 for an expired token', async () => {
    const expired = await callApi(session.target.httpUrl, 'GET', '/websocket/me/status', session.target.expiredToken!);

    expect(expired.status).toBe(401);
  });

  it('answers an unknown route or method 404 in the API error shape, naming the routes there are', async () => {
    const unknownPath = await api('GET', '/websocket/nothing-here', 'user123');
    const wrongMethod = await api('GET', '/websocket/message/user', 'user123');
    const root = await api('POST', '/', 'user123', { type: 'chat' });

    expect(unknownPath.status).toBe(404);
    expect(unknownPath.body).toEqual({
      error: {
        code: 'not_found',
        message: expect.stringMatching(
          /^No route GET \/websocket\/nothing-here\. Routes: POST \/websocket\/message\/user, .*DELETE \/websocket\/rooms\/\{room\}\/members$/,
        ),
      },
    });
    expect(wrongMethod.status).toBe(404);
    expect(wrongMethod.body).toMatchObject({
      error: { code: 'not_found', message: expect.stringContaining('No route GET /websocket/message/user.') },
    });
    expect(root.status).toBe(404);
    expect(root.body).toMatchObject({ error: { code: 'not_found' } });
  });

  it('answers an unknown route 401 without a valid token: the catch-all sits behind the authorizer', async () => {
    const missing = await api('GET', '/websocket/nothing-here', undefined);
    const bad = await callApi(session.target.httpUrl, 'GET', '/websocket/nothing-here', 'not-a-jwt');

    expect(missing.status).toBe(401);
    expect(bad.status).toBe(401);
    expect(JSON.stringify(missing.body)).not.toContain('Routes:');
  });
});
