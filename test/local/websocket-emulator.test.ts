import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { resolve } from 'node:path';
import { io as ioClient } from 'socket.io-client';
import type WebSocket from 'ws';
import type { LambdaHandler } from '../../local/emulator/lambda-runner';
import type { WebSocketRouteTarget } from '../../local/emulator/websocket-api';
import {
  allow,
  closed,
  eventually,
  keyStructure,
  nextFrame,
  openClient,
  type RecordingFunction,
  type RunningWebSocketApi,
  recording,
  startWebSocketApi,
  webSocketGatewayHeaders,
  withGatewayHeadersOnly,
} from './harness';

const ok = (body?: string) => ({ statusCode: 200, ...(body === undefined ? {} : { body }) });

/** Routes of a small echo API: every route answers with the routeKey it saw. */
function echoRoutes() {
  const connect = recording('connect', () => ok());
  const disconnect = recording('disconnect', () => ok());
  const frames = recording('frames', (event) => {
    const { routeKey } = (event as { requestContext: { routeKey: string } }).requestContext;
    return ok(JSON.stringify({ routeKey }));
  });
  const silent = recording('silent', () => ok('must not be sent'));
  const failing = recording('failing', () => {
    throw new Error('database is on fire');
  });
  const routes = new Map<string, WebSocketRouteTarget>([
    ['$connect', { invoker: connect.invoker, returnResponse: false }],
    ['$disconnect', { invoker: disconnect.invoker, returnResponse: false }],
    ['$default', { invoker: frames.invoker, returnResponse: true }],
    ['ping', { invoker: frames.invoker, returnResponse: true }],
    ['quiet', { invoker: silent.invoker, returnResponse: false }],
    ['explode', { invoker: failing.invoker, returnResponse: true }],
  ]);
  return { routes, connect, disconnect, frames, silent, failing };
}

describe('WebSocket emulator', () => {
  let api: RunningWebSocketApi | undefined;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.terminate();
    await api?.close();
    api = undefined;
  });
  const open = async (...args: Parameters<typeof openClient>) => {
    const socket = await openClient(...args);
    sockets.push(socket);
    return socket;
  };

  describe('route selection', () => {
    it('routes a frame to its action and keeps the custom key without a $ prefix', async () => {
      // Prepare
      const { routes, frames } = echoRoutes();
      api = await startWebSocketApi({ routes });
      const socket = await open(api.url);
      // Act
      socket.send(JSON.stringify({ action: 'ping' }));
      // Assess
      expect(await nextFrame(socket)).toEqual({ routeKey: 'ping' });
      expect(frames.events[0].requestContext).toMatchObject({ routeKey: 'ping', eventType: 'MESSAGE' });
      expect(frames.events[0].body).toBe('{"action":"ping"}');
    });

    it.each([
      ['an unknown action', '{"action":"dance"}'],
      ['a frame that is not JSON', 'hello there'],
      ['JSON without an action', '{"type":"chat"}'],
      ['an action that is not a string', '{"action":42}'],
      ['an action naming a reserved route', '{"action":"$connect"}'],
    ])('sends %s to $default with routeKey $default', async (_case, frame) => {
      const { routes, frames } = echoRoutes();
      api = await startWebSocketApi({ routes });
      const socket = await open(api.url);

      socket.send(frame);

      expect(await nextFrame(socket)).toEqual({ routeKey: '$default' });
      expect(frames.events[0].requestContext.routeKey).toBe('$default');
      expect(frames.events[0].body).toBe(frame);
    });

    it('answers Forbidden when nothing matches and there is no $default route', async () => {
      const { routes } = echoRoutes();
      routes.delete('$default');
      api = await startWebSocketApi({ routes });
      const socket = await open(api.url);

      socket.send('{"action":"dance"}');

      expect(await nextFrame(socket)).toMatchObject({ message: 'Forbidden', connectionId: expect.any(String) });
    });
  });

  describe('responses', () => {
    it('drops the body of a route without a route response', async () => {
      const { routes, silent } = echoRoutes();
      api = await startWebSocketApi({ routes });
      const socket = await open(api.url);

      socket.send('{"action":"quiet"}');
      socket.send('{"action":"ping"}');

      // The ping answer is the first frame: the quiet route's body never came.
      expect(await nextFrame(socket)).toEqual({ routeKey: 'ping' });
      expect(silent.events).toHaveLength(1);
    });

    it('sends the Internal server error frame with connectionId and requestId when a handler throws', async () => {
      const { routes, failing } = echoRoutes();
      api = await startWebSocketApi({ routes });
      const socket = await open(api.url);

      socket.send('{"action":"explode"}');

      const frame = await nextFrame(socket);
      const { connectionId, requestId } = failing.events[0].requestContext;
      expect(frame).toEqual({ message: 'Internal server error', connectionId, requestId });
      expect(JSON.stringify(frame)).not.toContain('fire');
    });

    it('sends "Endpoint request timed out" when a handler outlives the integration timeout', async () => {
      const { routes } = echoRoutes();
      const slow = recording('slow', () => new Promise(() => undefined), 100);
      routes.set('slow', { invoker: slow.invoker, returnResponse: true });
      api = await startWebSocketApi({ routes });
      const socket = await open(api.url);

      socket.send('{"action":"slow"}');

      expect(await nextFrame(socket)).toMatchObject({ message: 'Endpoint request timed out' });
    });
  });

  describe('authorizer and $connect', () => {
    it('passes the authorizer context, stringified, to $connect, every message and $disconnect', async () => {
      const { routes, connect, frames, disconnect } = echoRoutes();
      const authorizer = recording('authorizer', () =>
        allow({ userId: 'user123', permissions: 'ws:admin', tokenExpiresAt: 1795690800 }),
      );
      api = await startWebSocketApi({ routes, authorizer: authorizer.invoker });
      const socket = await open(api.url, { headers: { Authorization: 'Bearer token' } });

      socket.send('{"action":"ping"}');
      await nextFrame(socket);
      socket.close(1000);
      await eventually(() => disconnect.events.length === 1);

      const expected = {
        userId: 'user123',
        permissions: 'ws:admin',
        tokenExpiresAt: '1795690800',
        principalId: 'user123',
        integrationLatency: expect.any(Number),
      };
      expect(authorizer.events[0].requestContext.authorizer).toBeUndefined();
      expect(authorizer.events[0]).toMatchObject({ type: 'REQUEST', headers: { Authorization: 'Bearer token' } });
      expect(connect.events[0].requestContext.authorizer).toEqual(expected);
      expect(frames.events[0].requestContext.authorizer).toEqual(expected);
      expect(disconnect.events[0].requestContext.authorizer).toEqual(expected);
      expect(disconnect.events[0].requestContext).toMatchObject({
        disconnectStatusCode: 1000,
        eventType: 'DISCONNECT',
      });
      const ids = [authorizer, connect, frames, disconnect].map((fn) => fn.events[0].requestContext.connectionId);
      expect(new Set(ids).size).toBe(1);
    });

    it.each<[string, LambdaHandler, number]>([
      [
        'the authorizer throws Unauthorized',
        () => {
          throw new Error('Unauthorized');
        },
        401,
      ],
      [
        'the authorizer fails otherwise',
        () => {
          throw new TypeError('cannot read secret');
        },
        500,
      ],
      [
        'the authorizer denies',
        () => ({
          principalId: 'x',
          policyDocument: {
            Version: '2012-10-17',
            Statement: [{ Action: 'execute-api:Invoke', Effect: 'Deny', Resource: '*' }],
          },
        }),
        403,
      ],
      // API Gateway admits only an Allow covering execute-api:Invoke on the methodArn (developer guide, "Control
      // access to WebSocket APIs with AWS Lambda REQUEST authorizers": the output's policy grants execute-api:Invoke on
      // the methodArn); any other Allow leaves the request implicitly denied.
      ...[
        ['another API', 'arn:aws:execute-api:us-east-1:123456789012:otherapi001/local/$connect'],
        ['another stage', 'arn:aws:execute-api:us-east-1:123456789012:localws0001/prod/$connect'],
        ['a resource in other case', 'arn:aws:execute-api:us-east-1:123456789012:LOCALWS0001/local/$connect'],
      ].map(([what, resource]): [string, LambdaHandler, number] => [
        `the authorizer allows ${what}`,
        () => ({
          principalId: 'x',
          policyDocument: {
            Version: '2012-10-17',
            Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: resource }],
          },
        }),
        403,
      ]),
      [
        'the authorizer allows another action',
        () => ({
          principalId: 'x',
          policyDocument: {
            Version: '2012-10-17',
            Statement: [{ Action: 'execute-api:ManageConnections', Effect: 'Allow', Resource: '*' }],
          },
        }),
        403,
      ],
      [
        'the authorizer allows the methodArn and denies the API with a wildcard',
        () => ({
          principalId: 'x',
          policyDocument: {
            Version: '2012-10-17',
            Statement: [
              {
                Action: 'execute-api:Invoke',
                Effect: 'Allow',
                Resource: 'arn:aws:execute-api:us-east-1:123456789012:localws0001/local/$connect',
              },
              { Action: ['execute-api:*'], Effect: 'Deny', Resource: ['arn:aws:execute-api:*:*:localws0001/*'] },
            ],
          },
        }),
        403,
      ],
      ['the authorizer answers without a policy', () => ({ principalId: 'x' }), 500],
    ])(
      'refuses the handshake with the right status when %s, without calling $connect',
      async (_case, behaviour, status) => {
        const { routes, connect } = echoRoutes();
        const authorizer = recording('authorizer', behaviour);
        api = await startWebSocketApi({ routes, authorizer: authorizer.invoker });

        await expect(openClient(api.url)).rejects.toMatchObject({ statusCode: status });

        expect(authorizer.events).toHaveLength(1);
        expect(connect.events).toHaveLength(0);
        expect(api.emulator.pool.size).toBe(0);
      },
    );

    it.each([
      [
        'the methodArn itself',
        {
          Action: 'execute-api:Invoke',
          Resource: 'arn:aws:execute-api:us-east-1:123456789012:localws0001/local/$connect',
        },
      ],
      ['a wildcard over the API', { Action: 'execute-api:*', Resource: 'arn:aws:execute-api:*:*:localws0001/*' }],
      [
        'a ? wildcard and arrays',
        {
          Action: ['sns:Publish', 'EXECUTE-API:invoke'],
          Resource: ['arn:aws:execute-api:us-east-1:123456789012:localws0001/loca?/$connect'],
        },
      ],
    ])('admits a handshake whose policy allows %s', async (_case, statement) => {
      const { routes, connect } = echoRoutes();
      const authorizer = recording('authorizer', () => ({
        principalId: 'x',
        policyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', ...statement }] },
      }));
      api = await startWebSocketApi({ routes, authorizer: authorizer.invoker });

      await open(api.url);

      expect(authorizer.events[0].methodArn).toBe(
        'arn:aws:execute-api:us-east-1:123456789012:localws0001/local/$connect',
      );
      expect(connect.events).toHaveLength(1);
    });

    it('refuses with the status $connect returns when it is not 2xx, and 502 when $connect throws', async () => {
      const { routes } = echoRoutes();
      let behaviour: () => unknown = () => ({ statusCode: 429, body: 'slow down' });
      const connect = recording('connect', () => behaviour());
      routes.set('$connect', { invoker: connect.invoker, returnResponse: false });
      api = await startWebSocketApi({ routes });

      await expect(openClient(api.url)).rejects.toMatchObject({ statusCode: 429 });
      behaviour = () => {
        throw new Error('boom');
      };
      await expect(openClient(api.url)).rejects.toMatchObject({ statusCode: 502 });
      behaviour = () => ({ statusCode: 204 });
      await expect(open(api.url)).resolves.toBeDefined();
    });

    it('echoes the subprotocol $connect chose, and none when $connect chose none', async () => {
      const { routes } = echoRoutes();
      const connect = recording('connect', (event) => {
        const { headers } = event as { headers: Record<string, string> };
        const offered = headers['Sec-WebSocket-Protocol'];
        return offered ? { statusCode: 200, headers: { 'Sec-WebSocket-Protocol': 'app.v1' } } : { statusCode: 200 };
      });
      routes.set('$connect', { invoker: connect.invoker, returnResponse: false });
      api = await startWebSocketApi({ routes });

      const withProtocol = await open(api.url, {}, ['app.v1', 'bearer.abc']);
      const without = await open(api.url);

      expect(withProtocol.protocol).toBe('app.v1');
      expect(without.protocol).toBe('');
      expect(connect.events[0].headers).toMatchObject({ 'Sec-WebSocket-Protocol': 'app.v1,bearer.abc' });
    });

    it('refuses a malformed handshake with 400 before any handler runs', async () => {
      const { routes, connect } = echoRoutes();
      const authorizer = recording('authorizer', () => allow({ userId: 'user123' }));
      api = await startWebSocketApi({ routes, authorizer: authorizer.invoker });

      // No Sec-WebSocket-Key: not a handshake ws (or API Gateway) would complete.
      const status = await new Promise<number | undefined>((resolve, reject) => {
        const request = httpRequest(api!.url.replace('ws:', 'http:'), {
          headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13' },
        });
        request.once('response', (response) => resolve(response.statusCode));
        request.once('upgrade', () => reject(new Error('upgraded')));
        request.once('error', reject);
        request.end();
      });

      expect(status).toBe(400);
      expect(authorizer.events).toHaveLength(0);
      expect(connect.events).toHaveLength(0);
    });

    // A WebSocket API is reached at wss://{api-id}.execute-api.{region}.amazonaws.com/{stage} (developer guide,
    // "Invoking WebSocket APIs"); another path matches no stage. execute-api answers such a request 403
    // {"message":"Forbidden"}, as it does @connections calls without the stage (aws/aws-sdk-js-v3 issue #1830,
    // "Stage name not included in request path - ForbiddenException").
    it.each([
      ['the root', '/'],
      ["socket.io-client's default path", '/socket.io/?EIO=4&transport=websocket'],
      ['another stage', '/prod'],
      ['a path under the stage', '/local/extra'],
      ['the stage in other case', '/LOCAL'],
    ])('refuses an upgrade on %s with 403 Forbidden before any handler runs', async (_case, path) => {
      const { routes, connect } = echoRoutes();
      const authorizer = recording('authorizer', () => allow({ userId: 'user123' }));
      api = await startWebSocketApi({ routes, authorizer: authorizer.invoker });

      await expect(openClient(`${api.origin}${path}`)).rejects.toMatchObject({ statusCode: 403 });

      expect(authorizer.events).toHaveLength(0);
      expect(connect.events).toHaveLength(0);
      expect(api.emulator.pool.size).toBe(0);
    });

    it('refuses an unmodified socket.io-client (default path /socket.io/), as API Gateway would', async () => {
      const { routes, connect } = echoRoutes();
      api = await startWebSocketApi({ routes });
      const client = ioClient(api.origin.replace('ws:', 'http:'), { transports: ['websocket'], reconnection: false });

      const error = await new Promise<Error>((resolve) => client.once('connect_error', resolve));
      client.close();

      expect(error).toBeInstanceOf(Error);
      expect(connect.events).toHaveLength(0);
      expect(api.emulator.pool.size).toBe(0);
    });

    // socket.io-client asks for `${path}/?EIO=4&transport=websocket` unless `addTrailingSlash: false`; API Gateway
    // upgrades it and runs $connect (richardeschloss/nuxt-socket-io issue #156: `path: "/development"` on a
    // WebSocket API stage, 101 Switching Protocols and the $connect Lambda invoked).
    it('accepts the stage with a trailing slash, the path socket.io-client asks for', async () => {
      const { routes, connect } = echoRoutes();
      api = await startWebSocketApi({ routes });

      await open(`${api.url}/?EIO=4&transport=websocket`);

      expect(connect.events[0].queryStringParameters).toEqual({ EIO: '4', transport: 'websocket' });
    });

    it('accepts the stage path with a query string', async () => {
      const { routes, connect } = echoRoutes();
      api = await startWebSocketApi({ routes });

      await open(`${api.url}?token=abc`);

      expect(api.url).toMatch(/\/local$/);
      expect(connect.events[0].queryStringParameters).toEqual({ token: 'abc' });
    });

    it('works without a $connect route', async () => {
      const { routes } = echoRoutes();
      routes.delete('$connect');
      api = await startWebSocketApi({ routes });

      const socket = await open(api.url);
      socket.send('{"action":"ping"}');

      expect(await nextFrame(socket)).toEqual({ routeKey: 'ping' });
    });
  });

  describe('limits', () => {
    /** Sends `text` as one message split into frames of `frameBytes`. */
    const sendFragmented = (socket: WebSocket, text: string, frameBytes: number) => {
      for (let start = 0; start < text.length; start += frameBytes) {
        socket.send(text.slice(start, start + frameBytes), { fin: start + frameBytes >= text.length });
      }
    };

    it('closes a connection whose message passes 128 KB with 1009, and runs $disconnect', async () => {
      const { routes, frames, disconnect } = echoRoutes();
      api = await startWebSocketApi({ routes });
      const socket = await open(api.url);

      sendFragmented(socket, 'x'.repeat(128 * 1024 + 1), 30 * 1024);

      expect(await closed(socket)).toBe(1009);
      await eventually(() => disconnect.events.length === 1);
      expect(disconnect.events[0].requestContext.disconnectStatusCode).toBe(1009);
      expect(frames.events).toHaveLength(0);
    });

    it('accepts a message of exactly 128 KB sent in frames of 32 KB', async () => {
      const { routes, frames } = echoRoutes();
      api = await startWebSocketApi({ routes });
      const socket = await open(api.url);
      const message = `{"action":"ping","pad":"${'x'.repeat(128 * 1024 - 29)}"}`;

      sendFragmented(socket, message, 32 * 1024);

      expect(await nextFrame(socket)).toEqual({ routeKey: 'ping' });
      expect(frames.events[0].body).toBe(message);
    });

    it('closes with 1009 on a single frame over 32 KB, as a browser (which never fragments) meets on AWS', async () => {
      const { routes, frames, disconnect } = echoRoutes();
      api = await startWebSocketApi({ routes });
      const socket = await open(api.url);

      socket.send(`{"action":"ping","pad":"${'x'.repeat(32 * 1024)}"}`);

      expect(await closed(socket)).toBe(1009);
      await eventually(() => disconnect.events.length === 1);
      expect(frames.events).toHaveLength(0);
    });

    it('accepts a single frame of exactly 32 KB', async () => {
      const { routes } = echoRoutes();
      api = await startWebSocketApi({ routes });
      const socket = await open(api.url);

      socket.send(`{"action":"ping","pad":"${'x'.repeat(32 * 1024 - 29)}"}`);

      expect(await nextFrame(socket)).toEqual({ routeKey: 'ping' });
    });

    it('closes an idle connection with 1001 and keeps an active one open', async () => {
      const { routes, disconnect } = echoRoutes();
      // Ten keep-alive frames per idle period: a loaded machine may delay a few without the active one expiring.
      api = await startWebSocketApi({ routes, idleTimeoutMs: 1000 });
      const idle = await open(api.url);
      const active = await open(api.url);
      const keepAlive = setInterval(() => active.send('{"action":"quiet"}'), 100);

      const code = await closed(idle);
      clearInterval(keepAlive);

      expect(code).toBe(1001);
      expect(active.readyState).toBe(active.OPEN);
      await eventually(() => disconnect.events.length === 1);
      expect(disconnect.events[0].requestContext).toMatchObject({
        disconnectStatusCode: 1001,
        disconnectReason: 'Going away',
      });
    });

    it('closes any connection at the maximum duration with 1001', async () => {
      const { routes } = echoRoutes();
      api = await startWebSocketApi({ routes, maxConnectionMs: 300 });
      const socket = await open(api.url);
      const keepAlive = setInterval(() => socket.send('{"action":"quiet"}'), 50);

      const code = await closed(socket);
      clearInterval(keepAlive);

      expect(code).toBe(1001);
    });
  });

  describe('client frames and closes', () => {
    it('closes with 1003 on a binary frame and passes nothing to $default', async () => {
      // Source: API Gateway developer guide, "Binary media types for WebSocket APIs in API Gateway"
      // (websocket-api-develop-binary-media-types): "If a client app sends a binary frame, API Gateway rejects it and
      // disconnects the client with code 1003."
      const { routes, frames, disconnect } = echoRoutes();
      api = await startWebSocketApi({ routes });
      const socket = await open(api.url);

      socket.send(Buffer.from('{"action":"ping"}'), { binary: true });

      expect(await closed(socket)).toBe(1003);
      await eventually(() => disconnect.events.length === 1);
      expect(disconnect.events[0].requestContext.disconnectStatusCode).toBe(1003);
      expect(frames.events).toHaveLength(0);
    });

    it('keeps the empty reason of a client close 1001 in $disconnect, and a given reason as it is', async () => {
      // Source: aws/aws-lambda-go events/testdata/apigw-websocket-request-disconnect.json, a captured $disconnect:
      // "disconnectStatusCode": 1001, "disconnectReason": "".
      const { routes, disconnect } = echoRoutes();
      api = await startWebSocketApi({ routes });
      const silent = await open(api.url);
      const polite = await open(api.url);

      silent.close(1001);
      await eventually(() => disconnect.events.length === 1);
      polite.close(1000, 'bye');
      await eventually(() => disconnect.events.length === 2);

      expect(disconnect.events.map(({ requestContext }) => requestContext.disconnectReason)).toEqual(['', 'bye']);
      expect(disconnect.events.map(({ requestContext }) => requestContext.disconnectStatusCode)).toEqual([1001, 1000]);
    });

    it('reports 1007 in $disconnect when a text frame is not UTF-8, the code the client is closed with', async () => {
      const { routes, frames, disconnect } = echoRoutes();
      api = await startWebSocketApi({ routes });
      const socket = await open(api.url);

      // A text frame (binary: false) whose bytes are not UTF-8: ws sends them as they are.
      socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });

      expect(await closed(socket)).toBe(1007);
      await eventually(() => disconnect.events.length === 1);
      expect(disconnect.events[0].requestContext.disconnectStatusCode).toBe(1007);
      expect(frames.events).toHaveLength(0);
    });
  });

  describe('shutdown', () => {
    it('closes every socket with 1001 and waits for each $disconnect', async () => {
      const { routes, disconnect } = echoRoutes();
      const slowDisconnect = recording('disconnect', async (event) => {
        await new Promise((resolve) => setTimeout(resolve, 100));
        disconnect.events.push(event as (typeof disconnect.events)[number]);
        return ok();
      });
      routes.set('$disconnect', { invoker: slowDisconnect.invoker, returnResponse: false });
      const running = await startWebSocketApi({ routes });
      const clients = await Promise.all([open(running.url), open(running.url), open(running.url)]);
      const codes = Promise.all(clients.map(closed));

      await running.close();

      expect(await codes).toEqual([1001, 1001, 1001]);
      expect(disconnect.events).toHaveLength(3);
      expect(disconnect.events.map((event) => event.requestContext.disconnectStatusCode)).toEqual([1001, 1001, 1001]);
    });

    it('refuses an upgrade whose $connect finishes during shutdown, and runs its $disconnect', async () => {
      const { routes, disconnect } = echoRoutes();
      let connectStarted: () => void = () => undefined;
      const started = new Promise<void>((resolve) => {
        connectStarted = resolve;
      });
      const slowConnect = recording('connect', async () => {
        connectStarted();
        await new Promise((resolve) => setTimeout(resolve, 100));
        return ok();
      });
      routes.set('$connect', { invoker: slowConnect.invoker, returnResponse: false });
      const running = await startWebSocketApi({ routes });
      const late = openClient(running.url).then(
        () => 'opened',
        (error: { statusCode?: number }) => error.statusCode,
      );
      await started;

      await running.close();

      // Left open, it would outlive the stack (its idle timer keeps the process alive) with its row recorded.
      expect(await late).toBe(503);
      expect(disconnect.events).toHaveLength(1);
      expect(running.emulator.pool.size).toBe(0);
    });
  });

  describe('event shapes', () => {
    const fixture = (name: string) =>
      JSON.parse(readFileSync(resolve(__dirname, '../fixtures/events', name), 'utf8')) as Record<string, unknown>;
    let recorded: Record<string, RecordingFunction>;

    beforeEach(async () => {
      const { routes, connect, frames, disconnect } = echoRoutes();
      const authorizer = recording('authorizer', () =>
        allow({ userId: 'user123', permissions: 'ws:broadcast', tokenExpiresAt: 1795690800 }),
      );
      api = await startWebSocketApi({ routes, authorizer: authorizer.invoker });
      const socket = await open(`${api.url}?token=abc`, { headers: { 'User-Agent': 'jest' } });
      socket.send('{"action":"ping"}');
      await nextFrame(socket);
      socket.send('not json');
      await nextFrame(socket);
      socket.close(1001);
      await eventually(() => disconnect.events.length === 1);
      recorded = { authorizer, connect, frames, disconnect };
    });

    // Each fixture's key structure, and the names (exact case) of the headers the gateway adds, drops or passes
    // on from the handshake, follow real captures: see test/fixtures/events/README.md for each fixture's source.
    // Headers the client chooses (User-Agent, Origin, Accept-*, ...) differ per client and are left out.
    it.each([
      [
        'authorizer',
        0,
        'ws-authorizer-query-token.json',
        'powertools-lambda-typescript packages/parser/tests/events/apigw-websocket/connectEvent.json',
      ],
      [
        'connect',
        0,
        'ws-connect.json',
        'aws-lambda-go events/testdata/apigw-websocket-request.json, serverless-offline tests/manual/websocket/main/test/e2e/ws.e2e.js',
      ],
      ['frames', 0, 'ws-message-ping.json', 'aws-lambda-go events/testdata/apigw-websocket-request-send-message.json'],
      [
        'frames',
        1,
        'ws-default-not-json.json',
        'aws-lambda-go events/testdata/apigw-websocket-request-send-message.json',
      ],
      ['disconnect', 0, 'ws-disconnect.json', 'aws-lambda-go events/testdata/apigw-websocket-request-disconnect.json'],
    ])('the %s event #%d has the key structure and gateway header names of %s (after %s)', (name, index, file) => {
      const actual = recorded[name].events[index];
      const expected = fixture(file);
      const { queryStringParameters: _q, multiValueQueryStringParameters: _m, ...expectedWithoutQuery } = expected;
      const { queryStringParameters: _aq, multiValueQueryStringParameters: _am, ...actualWithoutQuery } = actual;
      expect(keyStructure(withGatewayHeadersOnly(actualWithoutQuery, webSocketGatewayHeaders))).toEqual(
        keyStructure(withGatewayHeadersOnly(expectedWithoutQuery, webSocketGatewayHeaders)),
      );
      if ('queryStringParameters' in expected) {
        expect(actual.queryStringParameters).toEqual({ token: 'abc' });
        expect(actual.multiValueQueryStringParameters).toEqual({ token: ['abc'] });
      }
    });

    it('gives $connect no Connection or Upgrade header and an X-Amzn-Trace-Id, the authorizer content-length: 0', () => {
      // Sources: aws/aws-lambda-go events/testdata/apigw-websocket-request.json ($connect headers: Host,
      // Sec-WebSocket-*, X-Amzn-Trace-Id, X-Forwarded-*); powertools-lambda-typescript
      // packages/parser/tests/events/apigw-websocket/connectEvent.json (authorizer: Connection, content-length, Upgrade).
      const connect = recorded.connect.events[0];
      const authorizer = recorded.authorizer.events[0];
      for (const headers of [connect.headers, connect.multiValueHeaders] as Record<string, unknown>[]) {
        expect(Object.keys(headers).map((name) => name.toLowerCase())).not.toEqual(
          expect.arrayContaining([expect.stringMatching(/^(connection|upgrade)$/)]),
        );
      }
      expect(connect.headers).toMatchObject({
        'X-Amzn-Trace-Id': expect.stringMatching(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/),
      });
      expect(authorizer.headers).toMatchObject({
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'content-length': '0',
        'X-Amzn-Trace-Id': (connect.headers as Record<string, string>)['X-Amzn-Trace-Id'],
      });
      expect(authorizer.multiValueHeaders).toMatchObject({ 'content-length': ['0'] });
    });

    it('reports the domainName without a port, as every captured event does', () => {
      // e.g. "domainName": "dl7ptocha9.execute-api.ap-northeast-1.amazonaws.com" in aws/aws-lambda-go
      // events/testdata/apigw-websocket-request-disconnect.json; serverless-offline's e2e expects url.hostname.
      for (const name of ['authorizer', 'connect', 'frames', 'disconnect']) {
        expect(recorded[name].events[0].requestContext.domainName).toBe('127.0.0.1');
      }
      expect(recorded.disconnect.events[0].headers).toMatchObject({ Host: '127.0.0.1' });
    });

    it('puts the forwarding headers API Gateway adds on the handshake events', () => {
      expect(recorded.connect.events[0].headers).toMatchObject({
        'X-Forwarded-For': '127.0.0.1',
        'X-Forwarded-Proto': 'http',
        'User-Agent': 'jest',
      });
      expect(recorded.connect.events[0].requestContext.identity).toEqual({ sourceIp: '127.0.0.1', userAgent: 'jest' });
    });
  });
});
