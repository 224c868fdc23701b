// End-to-end: what an independent review sent to break the product (issue 9, defects 1 to 6), over real sockets and
// real HTTP. Local mode by default; parity mode against a deployed stage: see support/target.ts.
import WebSocket from 'ws';
import { callApi } from './support/http';
import { useE2eSession } from './support/session';
import { connect } from './support/sockets';
import { itWithRegistry, itWithTokenSigning } from './support/target';

const session = useE2eSession(['user123', 'user456', 'user789', 'admin']);
const { open } = session;

/** JSON text of `depth` nested arrays (JSON.stringify could not write it: that was the defect). */
const nestedText = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
const tooDeepMessage = 'data nests objects and arrays more than 64 levels deep; at most 64 are accepted';

describe('a data nested thousands of levels deep (defect 1)', () => {
  it.each([
    ['/websocket/message/user', 'user123', `{"userId":"user456","type":"chat","data":${nestedText(5000)}}`],
    ['/websocket/message/users', 'user123', `{"userIds":["user456"],"type":"chat","data":${nestedText(5000)}}`],
    ['/websocket/message/broadcast', 'admin', `{"type":"system","data":${nestedText(5000)}}`],
    [
      '/websocket/notification',
      'user123',
      `{"userId":"user456","title":"t","body":"b","data":{"deep":${nestedText(5000)}}}`,
    ],
  ] as const)('POST %s answers 400 too_deep, not 500, and delivers nothing', async (path, caller, body) => {
    const recipient = await open('user456');

    const { status, body: answer } = await callApi(
      session.target.httpUrl,
      'POST',
      path,
      session.target.tokens[caller],
      body,
    );

    expect({ status, answer }).toEqual({
      status: 400,
      answer: { error: { code: 'too_deep', message: tooDeepMessage } },
    });
    await recipient.expectNothing();
  });

  it('the socket send route answers an error frame too_deep (not "Internal server error") and delivers nothing', async () => {
    const [sender, recipient] = [await open('user123'), await open('user456')];
    // The reviewers' 20 KB frame: 10,000 levels, still under the 32 KB frame limit.
    const frame = `{"action":"send","userId":"user456","type":"chat","data":${nestedText(10_000)}}`;

    sender.send(frame);

    expect(await sender.next()).toMatchObject({ type: 'error', data: { code: 'too_deep', message: tooDeepMessage } });
    await recipient.expectNothing();
    // The connection is still usable.
    sender.send({ action: 'ping' });
    expect(await sender.next()).toMatchObject({ type: 'pong' });
  });

  it('64 levels still arrive', async () => {
    const recipient = await open('user456');
    const body = `{"userId":"user456","type":"chat","data":${nestedText(64)}}`;

    const { status } = await callApi(
      session.target.httpUrl,
      'POST',
      '/websocket/message/user',
      session.target.tokens.user123,
      body,
    );

    expect(status).toBe(200);
    expect(await recipient.next('chat')).toMatchObject({ from: 'user123' });
  });
});

describe('a token issued 10 years in the future (defect 3)', () => {
  const futureToken = () => {
    const now = Math.floor(Date.now() / 1000);
    return session.target.signClaims!({ sub: 'user123', iat: now + 10 * 365 * 86_400, exp: now + 3600 });
  };

  itWithTokenSigning.each(['header', 'subprotocol', 'query'] as const)(
    'is refused at the handshake with 401 on the %s carrier',
    async (carrier) => {
      await expect(connect(session.target.wsUrl, await futureToken(), { carrier })).rejects.toMatchObject({
        statusCode: 401,
      });
    },
  );

  itWithTokenSigning('is refused by the HTTP API with 401', async () => {
    const { status } = await callApi(session.target.httpUrl, 'GET', '/websocket/me/status', await futureToken());
    expect(status).toBe(401);
  });
});

describe('a lone Sec-WebSocket-Protocol: bearer.<jwt> (defect 2)', () => {
  /** The handshake's answer: the refusing status, or 101 and the protocol the server chose. */
  const handshake = (protocols: string[]) =>
    new Promise<{ status: number; protocol?: string }>((resolve) => {
      const socket = new WebSocket(session.target.wsUrl, protocols);
      socket.once('unexpected-response', (_request, response) => {
        response.resume();
        socket.terminate();
        resolve({ status: response.statusCode ?? 0 });
      });
      socket.once('upgrade', (response) => {
        resolve({ status: response.statusCode ?? 0, protocol: response.headers['sec-websocket-protocol'] });
      });
      socket.once('open', () => socket.close(1000));
      // ws fails a 101 that echoes none of the offered protocols with "Server sent no subprotocol".
      socket.once('error', () => {});
      socket.once('close', () => {});
    });

  it('is refused with 401: a browser or ws would abort a 101 that echoes none of its protocols', async () => {
    expect(await handshake([`bearer.${session.target.tokens.user789}`])).toEqual({ status: 401 });
  });

  itWithRegistry('registers nothing, so no connected user appears', async () => {
    await handshake([`bearer.${session.target.tokens.user789}`]);

    expect(await session.target.registry!.rowsOf('user789')).toEqual([]);
    const { body } = await callApi(
      session.target.httpUrl,
      'GET',
      '/websocket/users/connected',
      session.target.tokens.admin,
    );
    expect(body).toMatchObject({ users: [] });
  });

  it('the documented offer still connects and is echoed realtime-gateway.v1 only', async () => {
    const answer = await handshake(['realtime-gateway.v1', `bearer.${session.target.tokens.user789}`]);
    expect(answer).toEqual({ status: 101, protocol: 'realtime-gateway.v1' });
  });
});

describe('bodies that are not declared as JSON (defect 6)', () => {
  const post = (contentType: string | undefined, body: string) =>
    fetch(`${session.target.httpUrl}/websocket/message/user`, {
      method: 'POST',
      // A Blob without a type makes fetch send no Content-Type at all.
      headers: {
        Authorization: `Bearer ${session.target.tokens.user123}`,
        ...(contentType === undefined ? {} : { 'Content-Type': contentType }),
      },
      body: contentType === undefined ? new Blob([body]) : body,
    }).then(async (response) => ({ status: response.status, body: await response.json() }));
  const message = JSON.stringify({ userId: 'user456', type: 'chat', data: { message: 'hi' } });

  it.each(['text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded', undefined])(
    'Content-Type %j answers 415 in the one error shape and delivers nothing',
    async (contentType) => {
      const recipient = await open('user456');

      const answer = await post(contentType, message);

      expect(answer).toEqual({
        status: 415,
        body: { error: { code: 'unsupported_media_type', message: expect.stringContaining('application/json') } },
      });
      await recipient.expectNothing();
    },
  );

  it('application/json with a charset is accepted', async () => {
    const recipient = await open('user456');
    expect((await post('application/json; charset=utf-8', message)).status).toBe(200);
    expect(await recipient.next('chat')).toMatchObject({ data: { message: 'hi' } });
  });
});

describe('userIds a token could never hold (defect 6) and reserved types in another case (defect 4)', () => {
  it.each([
    ['a control character', 'user\u0007456'],
    ['only whitespace', '   '],
  ])('a userId with %s answers 400', async (_, userId) => {
    const { status, body } = await callApi(
      session.target.httpUrl,
      'POST',
      '/websocket/message/user',
      session.target.tokens.user123,
      {
        userId,
        type: 'chat',
        data: {},
      },
    );
    expect({ status, body }).toEqual({
      status: 400,
      body: { error: { code: 'validation_error', message: expect.stringMatching(/^userId must not/) } },
    });
  });

  it('a userId path parameter with a control character answers 400', async () => {
    const path = `/websocket/users/${encodeURIComponent('user\n123')}/status`;
    const { status } = await callApi(session.target.httpUrl, 'GET', path, session.target.tokens.admin);
    expect(status).toBe(400);
  });

  it('a message of type Error is refused on HTTP and on the socket, and never delivered', async () => {
    const [sender, recipient] = [await open('user123'), await open('user456')];

    const { status, body } = await callApi(
      session.target.httpUrl,
      'POST',
      '/websocket/message/user',
      session.target.tokens.user123,
      {
        userId: 'user456',
        type: 'Error',
        data: { code: 'x', message: 'forged' },
      },
    );
    sender.send({ action: 'send', userId: 'user456', type: 'ERROR', data: { code: 'x', message: 'forged' } });

    expect({ status, body }).toEqual({
      status: 400,
      body: { error: { code: 'validation_error', message: 'type "Error" is reserved for server frames' } },
    });
    expect(await sender.next()).toMatchObject({
      type: 'error',
      data: { code: 'validation_error', message: 'type "ERROR" is reserved for server frames' },
    });
    await recipient.expectNothing();
  });
});
