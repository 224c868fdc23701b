import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createTokenVerifier, readJwtConfig, type TokenVerifier } from '../../lambdas/core/jwt';
import { readOriginPolicy } from '../../lambdas/core/origin';
import { secretsManagerSecretSource } from '../../lambdas/core/secret-source';
import type { WebSocketAuthorizerEvent, WebSocketAuthorizerResult } from '../../lambdas/handlers/ws-authorizer';
import { lambdaContextFor } from '../helpers/lambda-context';
import { capturedTelemetry, type WrittenLine } from '../helpers/telemetry';
import {
  craftToken,
  createTestSecret,
  loadEventFixture,
  nowInSeconds,
  signTestToken,
  testSecret,
  validClaims,
} from '../helpers/tokens';

type AuthorizerModule = typeof import('../../lambdas/handlers/ws-authorizer');

// The authorizers hold no registry or management client at all (their functions have no table access and
// cannot post). These mocks catch any command a refusal, or an acceptance, might send anyway.
const dynamoMock = mockClient(DynamoDBClient);
const documentMock = mockClient(DynamoDBDocumentClient);
const managementMock = mockClient(ApiGatewayManagementApiClient);

const lambdaContext = lambdaContextFor('ws-authorizer');

const methodArn = 'arn:aws:execute-api:eu-west-1:123456789012:k3x9q2w7e1/prod/$connect';

function expectNothingElseTouched(): void {
  expect(dynamoMock.calls()).toHaveLength(0);
  expect(documentMock.calls()).toHaveLength(0);
  expect(managementMock.calls()).toHaveLength(0);
}

/** An authorizer over explicit dependencies, with what it logs and counts captured. */
function authorizerWith(verifier: TokenVerifier, allowedOrigins = 'https://app.example.com') {
  const captured = capturedTelemetry();
  return {
    ...captured,
    deps: {
      verifier,
      originPolicy: readOriginPolicy({ ALLOWED_ORIGINS: allowedOrigins }),
      telemetry: captured.telemetry,
    },
  };
}

/** The EMF record of one refusal, as CloudWatch reads it. */
function refusalRecord(authorizer: string, reason: string) {
  return {
    _aws: {
      Timestamp: expect.any(Number),
      CloudWatchMetrics: [
        {
          Namespace: 'RealtimeGateway',
          Dimensions: [['service', 'authorizer', 'reason']],
          Metrics: [{ Name: 'AuthRefused', Unit: 'Count' }],
        },
      ],
    },
    service: 'realtime-gateway',
    authorizer,
    reason,
    AuthRefused: 1,
  };
}

/** The JSON lines the deployed handler wrote to stdout during `run`. */
async function stdoutLinesOf(run: () => Promise<unknown>): Promise<WrittenLine[]> {
  const written: string[] = [];
  const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    await run().catch(() => undefined);
  } finally {
    write.mockRestore();
  }
  return written
    .flatMap((chunk) => chunk.split('\n').filter((line) => line.startsWith('{')))
    .map((line) => JSON.parse(line));
}

let authorizerModule: AuthorizerModule;

beforeAll(async () => {
  // The exported handler reads its configuration at import, as on a cold start: refusals logged (WARN), metrics on.
  process.env.JWT_SECRET = testSecret;
  process.env.ALLOWED_ORIGINS = 'https://app.example.com';
  process.env.LOG_LEVEL = 'WARN';
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  authorizerModule = await import('../../lambdas/handlers/ws-authorizer');
});

beforeEach(() => {
  dynamoMock.reset();
  documentMock.reset();
  managementMock.reset();
  jest.restoreAllMocks();
});

describe('ws-authorizer handler (as deployed)', () => {
  it.each([
    ['the Authorization header (Node client)', 'ws-authorizer-authorization-header.json'],
    ['the Sec-WebSocket-Protocol header (browser)', 'ws-authorizer-subprotocol.json'],
    ['the token query parameter', 'ws-authorizer-query-token.json'],
  ])('allows a valid token carried in %s, with the context every route reads', async (_carrier, fixture) => {
    // GIVEN
    const token = await signTestToken('user123', { scope: 'ws:send', permissions: ['ws:broadcast'] });
    const event = loadEventFixture<WebSocketAuthorizerEvent>(fixture, token);

    // WHEN
    const result = await authorizerModule.handler(event, lambdaContext);

    // THEN
    expect(result).toEqual({
      principalId: 'user123',
      policyDocument: {
        Version: '2012-10-17',
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: methodArn }],
      },
      context: { userId: 'user123', permissions: 'ws:send ws:broadcast', tokenExpiresAt: expect.any(Number) },
    });
    expect(result.context?.tokenExpiresAt).toBeGreaterThan(nowInSeconds());
    expectNothingElseTouched();
  });

  it('marks a socket.io-client handshake (EIO=4 over the websocket transport) as Socket.IO in the context', async () => {
    // GIVEN the query socket.io-client sends, beside the token
    const token = await signTestToken('user123');
    const event = loadEventFixture<WebSocketAuthorizerEvent>('ws-authorizer-query-token.json', token);
    event.queryStringParameters = { ...event.queryStringParameters, EIO: '4', transport: 'websocket' };

    // WHEN
    const result = await authorizerModule.handler(event, lambdaContext);

    // THEN every later route of the connection reads the protocol from the context
    expect(result.context).toMatchObject({ userId: 'user123', protocol: 'socket.io' });
  });

  it('answers Unauthorized (401) to a handshake without a token, logs it with the request id and counts it', async () => {
    // GIVEN the browser fixture with its subprotocol header stripped of the token
    const event = loadEventFixture<WebSocketAuthorizerEvent>('ws-authorizer-subprotocol.json');
    event.headers = { ...event.headers, 'Sec-WebSocket-Protocol': 'realtime-gateway.v1' };

    // WHEN
    let outcome: unknown;
    const lines = await stdoutLinesOf(async () => {
      outcome = await authorizerModule.handler(event, lambdaContext).catch((error: unknown) => error);
    });

    // THEN
    expect((outcome as Error).message).toBe('Unauthorized');
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'WARN',
        message: 'WebSocket connection refused',
        service: 'realtime-gateway',
        function_name: 'ws-authorizer',
        function_request_id: lambdaContext.awsRequestId,
        reason: 'no_token',
      }),
      refusalRecord('websocket', 'no_token'),
    ]);
    expectNothingElseTouched();
  });

  it('answers a Deny policy (403) to a foreign Origin, even with a valid token', async () => {
    const token = await signTestToken('user123');
    const event = loadEventFixture<WebSocketAuthorizerEvent>('ws-authorizer-subprotocol.json', token);
    event.headers = { ...event.headers, Origin: 'https://evil.example' };

    let result: WebSocketAuthorizerResult | undefined;
    const lines = await stdoutLinesOf(async () => {
      result = await authorizerModule.handler(event, lambdaContext);
    });

    expect(result?.policyDocument.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: methodArn },
    ]);
    expect(lines.map((line) => line.reason)).toEqual(['origin_not_allowed', 'origin_not_allowed']);
    expect(result?.context).toBeUndefined();
    expectNothingElseTouched();
  });
});

describe('createWebSocketAuthorizer', () => {
  const verifier = createTokenVerifier(readJwtConfig({ JWT_SECRET: testSecret }));
  const browserEvent = (token?: string): WebSocketAuthorizerEvent =>
    loadEventFixture<WebSocketAuthorizerEvent>('ws-authorizer-subprotocol.json', token);

  const refusedTokens: [string, () => Promise<string> | string, string][] = [
    ['an expired token', () => signTestToken('user123', { expiresInSeconds: -60 }), 'expired'],
    [
      'a token signed with another secret',
      () => signTestToken('user123', { secret: createTestSecret() }),
      'bad_signature',
    ],
    ['alg none', () => craftToken({ alg: 'none' }, validClaims()), 'algorithm_not_allowed'],
    ['a token of two segments', () => 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0', 'malformed'],
    ['an oversized token', async () => signTestToken('user123', { claims: { pad: 'x'.repeat(9000) } }), 'too_large'],
  ];

  it.each(refusedTokens)(
    'refuses %s with Unauthorized, logs the reason without the token, counts it, touches nothing else',
    async (_name, makeToken, reason) => {
      // GIVEN
      const token = await makeToken();
      const { deps, lines, logs, emfRecords } = authorizerWith(verifier);
      const authorize = authorizerModule.createWebSocketAuthorizer(deps);

      // WHEN
      const outcome = authorize(browserEvent(token));

      // THEN
      await expect(outcome).rejects.toThrow(/^Unauthorized$/);
      expect(logs('WARN')).toHaveLength(1);
      expect(logs('WARN')[0]).toMatchObject({ reason, carrier: 'subprotocol', sourceIp: '203.0.113.17' });
      expect(JSON.stringify(lines)).not.toContain(token);
      expect(emfRecords()).toEqual([refusalRecord('websocket', reason)]);
      expectNothingElseTouched();
    },
  );

  // Issue 9, defect 2: a lone `bearer.<jwt>` was allowed, so `$connect` registered a connection whose handshake the
  // client then failed (no subprotocol it offered was echoed).
  it.each([
    ['a lone bearer entry', (token: string) => `bearer.${token}`],
    ['a bearer entry beside another protocol', (token: string) => `chat.v2, bearer.${token}`],
  ])('refuses %s with Unauthorized before verifying the token, and never logs it', async (_, offer) => {
    const token = await signTestToken('user123');
    const verify = jest.fn(verifier.verify);
    const { deps, lines, logs, emfRecords } = authorizerWith({ verify });
    const authorize = authorizerModule.createWebSocketAuthorizer(deps);
    const event = browserEvent(token);
    event.headers = { ...event.headers, 'Sec-WebSocket-Protocol': offer(token) };

    await expect(authorize(event)).rejects.toThrow(/^Unauthorized$/);

    expect(verify).not.toHaveBeenCalled();
    expect(logs('WARN')[0]).toMatchObject({
      reason: 'subprotocol_not_offered',
      detail: expect.stringContaining('does not offer "realtime-gateway.v1"'),
    });
    expect(JSON.stringify(lines)).not.toContain(token);
    expect(emfRecords()).toEqual([refusalRecord('websocket', 'subprotocol_not_offered')]);
    expectNothingElseTouched();
  });

  // Issue 9, defect 3: a token issued ten years from now was accepted, on every carrier.
  it.each([
    ['the Authorization header', 'ws-authorizer-authorization-header.json', 'authorization-header'],
    ['the subprotocol', 'ws-authorizer-subprotocol.json', 'subprotocol'],
    ['the query string', 'ws-authorizer-query-token.json', 'query'],
  ])('refuses a token issued 10 years in the future on %s', async (_, fixture, carrier) => {
    const token = await signTestToken('user123', { claims: { iat: nowInSeconds() + 10 * 365 * 86_400 } });
    const { deps, logs } = authorizerWith(verifier);
    const authorize = authorizerModule.createWebSocketAuthorizer(deps);

    await expect(authorize(loadEventFixture<WebSocketAuthorizerEvent>(fixture, token))).rejects.toThrow(
      /^Unauthorized$/,
    );
    expect(logs('WARN')[0]).toMatchObject({ reason: 'issued_in_future', carrier });
    expectNothingElseTouched();
  });

  it('refuses a foreign Origin before reading the token', async () => {
    // GIVEN a verifier that records whether it was asked
    const verify = jest.fn(verifier.verify);
    const { deps, logs, emfRecords } = authorizerWith({ verify });
    const authorize = authorizerModule.createWebSocketAuthorizer(deps);
    const event = browserEvent(await signTestToken('user123'));
    event.headers = { ...event.headers, Origin: 'https://app.example.com.evil.example' };

    // WHEN
    const result: WebSocketAuthorizerResult = await authorize(event);

    // THEN
    expect(result.policyDocument.Statement[0]?.Effect).toBe('Deny');
    expect(result.principalId).toBe('anonymous');
    expect(verify).not.toHaveBeenCalled();
    expect(logs('WARN')[0]).toMatchObject({
      reason: 'origin_not_allowed',
      origin: 'https://app.example.com.evil.example',
    });
    expect(emfRecords()).toEqual([refusalRecord('websocket', 'origin_not_allowed')]);
    expectNothingElseTouched();
  });

  it('allows a Node client without Origin even under an empty allow-list', async () => {
    const { deps } = authorizerWith(verifier, '');
    const authorize = authorizerModule.createWebSocketAuthorizer(deps);
    const event = loadEventFixture<WebSocketAuthorizerEvent>(
      'ws-authorizer-authorization-header.json',
      await signTestToken('node-backend'),
    );

    const result = await authorize(event);

    expect(result.principalId).toBe('node-backend');
    expect(result.policyDocument.Statement[0]?.Effect).toBe('Allow');
  });

  it('counts no refusal for an accepted token, and logs who connected with which carrier', async () => {
    const { deps, lines } = authorizerWith(verifier);
    const authorize = authorizerModule.createWebSocketAuthorizer(deps);

    await authorize(browserEvent(await signTestToken('user123')));

    expect(lines).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'WebSocket connection authorized',
        userId: 'user123',
        carrier: 'subprotocol',
      }),
    ]);
  });

  it('fails the invocation (500), not with Unauthorized, when the secret cannot be read', async () => {
    // GIVEN Secrets Manager cannot be reached (nothing listens on port 1)
    const unavailable = createTokenVerifier(
      readJwtConfig({ JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf' }),
      {
        secretSource: secretsManagerSecretSource({
          AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:1',
          AWS_ACCESS_KEY_ID: 'ASIAEXAMPLE',
          AWS_SECRET_ACCESS_KEY: 'example',
        }),
      },
    );
    const { deps, logs, emfRecords } = authorizerWith(unavailable);
    const authorize = authorizerModule.createWebSocketAuthorizer(deps);

    // THEN
    const error = (await authorize(browserEvent(await signTestToken('user123'))).catch(
      (caught: unknown) => caught,
    )) as Error;
    expect(error.name).toBe('VerificationKeyUnavailableError');
    expect(error.message).not.toBe('Unauthorized');
    expect(emfRecords()).toEqual([]);
    // The log says why, cause included, so the operator sees which endpoint did not answer.
    expect(logs('ERROR')[0]).toMatchObject({
      message: 'Token verification could not run',
      error: {
        name: 'VerificationKeyUnavailableError',
        cause: { name: 'SecretUnavailableError', message: 'Secrets Manager at 127.0.0.1:1 did not answer' },
      },
    });
  });
});
