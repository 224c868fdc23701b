import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CorsPolicy } from '../../local/emulator/cors';
import type { LambdaHandler } from '../../local/emulator/lambda-runner';
import { httpGatewayHeaders, keyStructure, recording, startHttpApi, withGatewayHeadersOnly } from './harness';

const cors: CorsPolicy = {
  allowOrigins: ['http://localhost:8091', 'null'],
  allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
  allowHeaders: ['authorization', 'content-type'],
  maxAgeSeconds: 600,
};

const authorized = (context: Record<string, unknown>) => ({ isAuthorized: true, context });

/** An HTTP API with the routes' shapes, a recording authorizer and a recording integration. */
async function start(
  options: {
    authorizer?: LambdaHandler;
    integration?: LambdaHandler;
    cacheTtlMs?: number;
    defaultRoute?: LambdaHandler;
  } = {},
) {
  const authorizer = recording('authorizer', options.authorizer ?? (() => authorized({ userId: 'user123' })));
  const integration = recording(
    'integration',
    options.integration ??
      (() => ({ statusCode: 200, headers: { 'Content-Type': 'application/json' }, body: '{"ok":true}' })),
  );
  const defaultRoute = options.defaultRoute && recording('default', options.defaultRoute);
  const running = await startHttpApi({
    routes: [
      { method: 'POST', path: '/websocket/message/user', target: integration.invoker },
      { method: 'GET', path: '/websocket/users/connected', target: integration.invoker },
      { method: 'GET', path: '/websocket/users/{userId}/status', target: integration.invoker },
    ],
    defaultRoute: defaultRoute?.invoker,
    authorizer: authorizer.invoker,
    authorizerCacheTtlMs: options.cacheTtlMs ?? 300_000,
    cors,
  });
  return { ...running, authorizer, integration, defaultRoute };
}

describe('HTTP API emulator', () => {
  let api: Awaited<ReturnType<typeof start>> | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  describe('authorizer (simple responses)', () => {
    it('answers 401 without calling the authorizer when the Authorization header is missing', async () => {
      api = await start();

      const response = await fetch(`${api.url}/websocket/users/connected`);

      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ message: 'Unauthorized' });
      expect(api.authorizer.events).toHaveLength(0);
    });

    it('answers 401 when the authorizer throws Unauthorized', async () => {
      api = await start({
        authorizer: () => {
          throw new Error('Unauthorized');
        },
      });

      const response = await fetch(`${api.url}/websocket/users/connected`, { headers: { authorization: 'Bearer x' } });

      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ message: 'Unauthorized' });
      expect(api.integration.events).toHaveLength(0);
    });

    it('answers 403 when the authorizer says isAuthorized: false', async () => {
      api = await start({ authorizer: () => ({ isAuthorized: false }) });

      const response = await fetch(`${api.url}/websocket/users/connected`, { headers: { authorization: 'Bearer x' } });

      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ message: 'Forbidden' });
    });

    it('answers 500 without details when the authorizer fails', async () => {
      api = await start({
        authorizer: () => {
          throw new Error('secret store unreachable');
        },
      });

      const response = await fetch(`${api.url}/websocket/users/connected`, { headers: { authorization: 'Bearer x' } });

      expect(response.status).toBe(500);
      expect(await response.text()).not.toContain('unreachable');
    });

    it('caches the result per Authorization value for the TTL', async () => {
      api = await start();
      const call = (token: string) =>
        fetch(`${api!.url}/websocket/users/connected`, { headers: { authorization: `Bearer ${token}` } });

      await call('a');
      await call('a');
      await call('b');

      expect(api.authorizer.events).toHaveLength(2);
      expect(api.integration.events).toHaveLength(3);
    });

    it('calls the authorizer every time when caching is off', async () => {
      api = await start({ cacheTtlMs: 0 });
      const call = () => fetch(`${api!.url}/websocket/users/connected`, { headers: { authorization: 'Bearer a' } });

      await call();
      await call();

      expect(api.authorizer.events).toHaveLength(2);
    });
  });

  describe('routes and events', () => {
    it('without a $default route, answers 404 {"message":"Not Found"} for an unknown route or method, before authorizing', async () => {
      api = await start();

      const unknownPath = await fetch(`${api.url}/websocket/nothing`, { headers: { authorization: 'Bearer a' } });
      const wrongMethod = await fetch(`${api.url}/websocket/message/user`, { headers: { authorization: 'Bearer a' } });

      expect(unknownPath.status).toBe(404);
      expect(await unknownPath.json()).toEqual({ message: 'Not Found' });
      expect(wrongMethod.status).toBe(404);
      expect(api.authorizer.events).toHaveLength(0);
    });

    it('with a $default route, sends a request no route matches there, behind the authorizer', async () => {
      api = await start({ defaultRoute: () => ({ statusCode: 404, body: '{"error":{"code":"not_found"}}' }) });

      const unknownPath = await fetch(`${api.url}/websocket/nothing?x=1`, { headers: { authorization: 'Bearer a' } });
      const wrongMethod = await fetch(`${api.url}/websocket/message/user`, { headers: { authorization: 'Bearer a' } });
      const anonymous = await fetch(`${api.url}/websocket/nothing`);

      expect(unknownPath.status).toBe(404);
      expect(await unknownPath.json()).toEqual({ error: { code: 'not_found' } });
      expect(wrongMethod.status).toBe(404);
      expect(anonymous.status).toBe(401);
      expect(api.authorizer.events[0]).toMatchObject({ routeKey: '$default', rawPath: '/websocket/nothing' });
      expect(api.defaultRoute!.events).toHaveLength(2);
      const [event, wrongMethodEvent] = api.defaultRoute!.events;
      expect(event).toMatchObject({
        routeKey: '$default',
        rawPath: '/websocket/nothing',
        queryStringParameters: { x: '1' },
        requestContext: { routeKey: '$default', http: { method: 'GET', path: '/websocket/nothing' } },
      });
      expect(event).not.toHaveProperty('pathParameters');
      expect(wrongMethodEvent).toMatchObject({ routeKey: '$default', requestContext: { http: { method: 'GET' } } });
      expect(api.integration.events).toHaveLength(0);
    });

    it('builds a payload 2.0 event with the route key, path parameters and the authorizer context', async () => {
      api = await start({ authorizer: () => authorized({ userId: 'user123', permissions: 'ws:admin' }) });

      const response = await fetch(`${api.url}/websocket/users/user%20456/status?verbose=1&verbose=2`, {
        headers: { Authorization: 'Bearer a', 'X-Custom': 'yes', Cookie: 'a=1; b=2' },
      });

      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true });
      expect(api.integration.events[0]).toMatchObject({
        version: '2.0',
        routeKey: 'GET /websocket/users/{userId}/status',
        rawPath: '/websocket/users/user%20456/status',
        rawQueryString: 'verbose=1&verbose=2',
        cookies: ['a=1', 'b=2'],
        headers: { authorization: 'Bearer a', 'x-custom': 'yes' },
        queryStringParameters: { verbose: '1,2' },
        pathParameters: { userId: 'user 456' },
        isBase64Encoded: false,
        requestContext: {
          routeKey: 'GET /websocket/users/{userId}/status',
          stage: '$default',
          http: { method: 'GET', path: '/websocket/users/user%20456/status', sourceIp: '127.0.0.1' },
          authorizer: { lambda: { userId: 'user123', permissions: 'ws:admin' } },
        },
      });
      expect(api.integration.events[0]).not.toHaveProperty('body');
    });

    it.each([
      ['http-message-user.json', 'POST', '/websocket/message/user'],
      ['http-users-connected.json', 'GET', '/websocket/users/connected?limit=2'],
    ])(
      'gives a route the key structure and gateway header names of %s (after powertools-lambda-typescript apigw-http/lambda-authorizer-auth.json)',
      async (file, method, path) => {
        api = await start({ authorizer: () => authorized({ userId: 'user123', permissions: '', tokenExpiresAt: 1 }) });
        const fixture = JSON.parse(readFileSync(resolve(__dirname, '../fixtures/events', file), 'utf8')) as Record<
          string,
          unknown
        >;

        await fetch(`${api.url}${path}`, {
          method,
          headers: { authorization: 'Bearer a', ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
          ...(method === 'POST' ? { body: '{"userId":"user456","type":"chat","data":{}}' } : {}),
        });

        const event = api.integration.events[0];
        expect(keyStructure(withGatewayHeadersOnly(event, httpGatewayHeaders))).toEqual(
          keyStructure(withGatewayHeadersOnly(fixture, httpGatewayHeaders)),
        );
        expect(event.headers).not.toHaveProperty('connection');
        expect(event.headers).toMatchObject({
          'x-amzn-trace-id': expect.stringMatching(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/),
        });
      },
    );

    it('gives authorizer.lambda null when the authorizer returns no context, as API Gateway does', async () => {
      // Source: powertools-lambda-typescript packages/parser/tests/events/apigw-http/lambda-authorizer-auth.json
      // ("authorizer": { "lambda": null }).
      api = await start({ authorizer: () => ({ isAuthorized: true }) });

      await fetch(`${api.url}/websocket/users/connected`, { headers: { authorization: 'Bearer a' } });

      expect(api.integration.events[0].requestContext.authorizer).toEqual({ lambda: null });
    });

    it('passes a JSON body as text', async () => {
      api = await start();

      await fetch(`${api.url}/websocket/message/user`, {
        method: 'POST',
        headers: { authorization: 'Bearer a', 'content-type': 'application/json' },
        body: '{"userId":"user456"}',
      });

      expect(api.integration.events[0]).toMatchObject({ body: '{"userId":"user456"}', isBase64Encoded: false });
    });

    it('gives the authorizer an event with the key structure of a recorded one', async () => {
      api = await start();
      const fixture = JSON.parse(
        readFileSync(resolve(__dirname, '../fixtures/events/http-authorizer-path-parameter.json'), 'utf8'),
      ) as Record<string, unknown>;

      await fetch(`${api.url}/websocket/users/user456/status`, { headers: { authorization: 'Bearer a' } });

      // Key structure and the names of the headers the gateway adds or drops (x-amzn-trace-id, x-forwarded-*, no
      // connection), as captured in powertools-lambda-typescript packages/parser/tests/events/apigw-http/
      // lambda-authorizer-auth.json (see test/fixtures/events/README.md).
      expect(keyStructure(withGatewayHeadersOnly(api.authorizer.events[0], httpGatewayHeaders))).toEqual(
        keyStructure(withGatewayHeadersOnly(fixture, httpGatewayHeaders)),
      );
      expect(api.authorizer.events[0]).toMatchObject({
        identitySource: ['Bearer a'],
        routeArn: expect.stringMatching(/\/\$default\/GET\/websocket\/users\/user456\/status$/),
      });
    });

    it('answers 500 {"message":"Internal Server Error"} when the integration throws, without details', async () => {
      api = await start({
        integration: () => {
          throw new Error('table missing');
        },
      });

      const response = await fetch(`${api.url}/websocket/users/connected`, { headers: { authorization: 'Bearer a' } });

      expect(response.status).toBe(500);
      expect(await response.json()).toEqual({ message: 'Internal Server Error' });
    });

    it('infers a 200 JSON answer when the integration returns no statusCode', async () => {
      api = await start({ integration: () => ({ users: ['user123'] }) });

      const response = await fetch(`${api.url}/websocket/users/connected`, { headers: { authorization: 'Bearer a' } });

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/json');
      expect(await response.json()).toEqual({ users: ['user123'] });
    });
  });

  describe('CORS', () => {
    it('answers a preflight from an allowed origin without calling the authorizer', async () => {
      api = await start();

      const response = await fetch(`${api.url}/websocket/message/user`, {
        method: 'OPTIONS',
        headers: { origin: 'http://localhost:8091', 'access-control-request-method': 'POST' },
      });

      expect(response.status).toBe(204);
      expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:8091');
      expect(response.headers.get('access-control-allow-headers')).toContain('authorization');
      expect(api.authorizer.events).toHaveLength(0);
    });

    it('gives no CORS headers to an origin that is not allowed', async () => {
      api = await start();

      const preflight = await fetch(`${api.url}/websocket/message/user`, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      });
      const actual = await fetch(`${api.url}/websocket/users/connected`, {
        headers: { origin: 'https://evil.example', authorization: 'Bearer a' },
      });

      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
      expect(actual.headers.get('access-control-allow-origin')).toBeNull();
    });

    it('adds the allow-origin header to answers for an allowed origin, errors included', async () => {
      api = await start();

      const response = await fetch(`${api.url}/websocket/users/connected`, { headers: { origin: 'null' } });

      expect(response.status).toBe(401);
      expect(response.headers.get('access-control-allow-origin')).toBe('null');
    });
  });

  describe('local pages', () => {
    it('answers from the local pages before routes and authorizer, and lets what they decline through', async () => {
      const asked: [string, string, string | undefined][] = [];
      const integration = recording('integration', () => ({ statusCode: 200, body: 'from the route' }));
      const running = await startHttpApi({
        routes: [{ method: 'GET', path: '/websocket/me/status', target: integration.invoker }],
        authorizerCacheTtlMs: 0,
        cors,
        localPages: async (method, path, host) => {
          asked.push([method, path, host]);
          if (path !== '/') return undefined;
          return { statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body: '<h1>client</h1>' };
        },
      });
      try {
        const index = await fetch(`${running.url}/`);
        const route = await fetch(`${running.url}/websocket/me/status`);

        expect(await index.text()).toBe('<h1>client</h1>');
        expect(index.headers.get('content-type')).toContain('text/html');
        expect(await route.text()).toBe('from the route');
        expect(asked).toEqual([
          ['GET', '/', new URL(running.url).host],
          ['GET', '/websocket/me/status', new URL(running.url).host],
        ]);
        expect(integration.events).toHaveLength(1);
      } finally {
        await running.close();
      }
    });

    it('gives local pages no CORS headers, even when the API allows any origin', async () => {
      // GIVEN an API open to every origin (ALLOWED_ORIGINS=*) and a local page holding tokens
      const running = await startHttpApi({
        routes: [],
        authorizerCacheTtlMs: 0,
        cors: { ...cors, allowOrigins: ['*'] },
        localPages: async (_method, path) =>
          path === '/local-config.json'
            ? { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"tokens":{}}' }
            : undefined,
      });
      try {
        // WHEN another site's script asks for it
        const answer = await fetch(`${running.url}/local-config.json`, { headers: { origin: 'https://evil.example' } });
        const notFound = await fetch(`${running.url}/nowhere`, { headers: { origin: 'https://evil.example' } });

        // THEN the browser would not let that script read it, while API answers keep their CORS headers
        expect(answer.status).toBe(200);
        expect(answer.headers.get('access-control-allow-origin')).toBeNull();
        expect(notFound.headers.get('access-control-allow-origin')).toBe('*');
      } finally {
        await running.close();
      }
    });
  });
});
