// End-to-end: the socket's send route, and the clean-up of a connection that vanished without $disconnect.
// Local mode by default; parity mode against a deployed stage: see support/target.ts.
import { callApi } from './support/http';
import { useE2eSession } from './support/session';
import { itWithRegistry } from './support/target';

const session = useE2eSession(['user123', 'user456', 'user789', 'admin']);
const { open } = session;

describe('the socket send route', () => {
  it('delivers to the addressed user and answers the sender with a delivery frame', async () => {
    // Prepare
    const sender = await open('user123');
    const [first, second] = [await open('user456'), await open('user456')];
    const bystander = await open('user789');
    // Act
    sender.send({ action: 'send', userId: 'user456', type: 'chat', data: { message: 'Hi' }, from: 'mallory' });
    // Assess
    const report = await sender.next('delivery');
    for (const recipient of [first, second]) {
      expect(await recipient.next('chat')).toMatchObject({ data: { message: 'Hi' }, from: 'user123' });
    }
    // A sender without ws:admin learns outcomes and counts only (issue 9, defect 5).
    expect(report.data).toEqual({
      messageId: expect.any(String),
      timestamp: expect.any(String),
      recipients: { user456: 'delivered' },
      notConnected: [],
      connections: { delivered: 2, failed: 0, stale: 0 },
    });
    expect(JSON.stringify(report)).not.toContain(first.connectionId);
    await bystander.expectNothing();
  });

  it('tells a sender with ws:admin the connection ids (issue 9, defect 5)', async () => {
    const sender = await open('admin');
    const recipient = await open('user456');

    sender.send({ action: 'send', userId: 'user456', type: 'chat', data: { message: 'Hi' } });

    expect((await sender.next('delivery')).data).toMatchObject({
      recipients: { user456: { delivered: [recipient.connectionId], failed: [], stale: [] } },
    });
  });

  it('delivers to several users with userIds', async () => {
    const sender = await open('user123');
    const [u456, u789] = [await open('user456'), await open('user789')];

    sender.send({ action: 'send', userIds: ['user456', 'user789'], type: 'update', data: { version: 2 } });

    expect(await sender.next('delivery')).toMatchObject({ data: { notConnected: [] } });
    expect(await u456.next('update')).toMatchObject({ data: { version: 2 }, from: 'user123' });
    expect(await u789.next('update')).toMatchObject({ data: { version: 2 }, from: 'user123' });
  });

  it.each([
    ['no recipient', { action: 'send', type: 'chat', data: {} }],
    ['a bad type', { action: 'send', userId: 'user456', type: '', data: {} }],
    ['both userId and userIds', { action: 'send', userId: 'a', userIds: ['b'], type: 'chat', data: {} }],
  ])('answers a send with %s with an error frame, never Internal server error', async (_case, frame) => {
    const sender = await open('user123');

    sender.send(frame);
    const answer = await sender.next();

    expect(answer).toMatchObject({ type: 'error', data: { code: expect.any(String), message: expect.any(String) } });
  });
});

describe('a connection dropped without $disconnect', () => {
  // Parity mode cannot plant a row in the stage's table.
  itWithRegistry(
    'is removed by the next send, which reports it as stale (410) and still delivers to the live one',
    async () => {
      const registry = session.target.registry!;
      // Prepare: a live socket, and a row left behind by a connection API Gateway no longer knows. Its id is
      // well-formed (11 bytes in base64, as API Gateway's are): a malformed one is 400, not 410, on AWS and locally.
      const live = await open('user456');
      const vanished = {
        userId: 'user456',
        connectionId: 'R2hvc3RDb25uZWM=',
        connectedAt: new Date().toISOString(),
      };
      await registry.put({ ...vanished, expiresAt: Math.floor(Date.now() / 1000) + 3 * 3600 });
      // Act
      // As the admin: only a caller with ws:admin sees which connections were stale.
      const { status, body } = await callApi(
        session.target.httpUrl,
        'POST',
        '/websocket/message/user',
        session.target.tokens.admin,
        {
          userId: 'user456',
          type: 'chat',
          data: { message: 'still there?' },
        },
      );
      // Assess
      expect(status).toBe(200);
      expect(body).toMatchObject({
        recipients: { user456: { delivered: [live.connectionId], failed: [], stale: [vanished.connectionId] } },
      });
      expect(await live.next('chat')).toMatchObject({ data: { message: 'still there?' } });
      const rows = await registry.rowsOf('user456');
      expect(rows.map((row) => row.connectionId)).toEqual([live.connectionId]);
    },
  );

  itWithRegistry('leaves a user with only stale rows reported stale, and their rows gone', async () => {
    const registry = session.target.registry!;
    await registry.put({
      userId: 'user789',
      connectionId: 'U3RhbGVPbmx5Q28=',
      connectedAt: new Date().toISOString(),
      expiresAt: Math.floor(Date.now() / 1000) + 3 * 3600,
    });

    const { status, body } = await callApi(
      session.target.httpUrl,
      'POST',
      '/websocket/notification',
      session.target.tokens.admin,
      {
        userId: 'user789',
        title: 'Ping',
        body: 'anyone?',
      },
    );

    expect(status).toBe(200);
    expect(body).toMatchObject({
      recipients: { user789: { delivered: [], stale: ['U3RhbGVPbmx5Q28='] } },
      notConnected: ['user789'],
    });
    expect(await registry.rowsOf('user789')).toEqual([]);
  });
});
