import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createTokenVerifier, readJwtConfig, type TokenVerifier } from '../../lambdas/core/jwt';
import { readOriginPolicy } from '../../lambdas/core/origin';
import type { WebSocketAuthorizerEvent, WebSocketAuthorizerResult } from '../../lambdas/handlers/ws-authorizer';
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
type ObservabilityModule = typeof import('../../lambdas/core/observability');

// The authorizers hold no registry or management client at all (their functions have no table access and
// cannot post). These mocks catch any command a refusal, or an acceptance, might send anyway.
const dynamoMock = mockClient(DynamoDBClient);
const documentMock = mockClient(DynamoDBDocumentClient);
const managementMock = mockClient(ApiGatewayManagementApiClient);

const lambdaContext = {
  functionName: 'ws-authorizer',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:ws-authorizer',
  memoryLimitInMB: '256',
  awsRequestId: '0b6f5e0a-55d1-4d7e-8f5e-3f1e2a9c7d10',
  logGroupName: '/aws/lambda/ws-authorizer',
  logStreamName: '2026/11/26/[$LATEST]fedcba9876543210',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 29_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} satisfies Context;

const methodArn = 'arn:aws:execute-api:eu-west-1:123456789012:k3x9q2w7e1/prod/$connect';

function expectNothingElseTouched(): void {
  expect(dynamoMock.calls()).toHaveLength(0);
  expect(documentMock.calls()).toHaveLength(0);
  expect(managementMock.calls()).toHaveLength(0);
}

/** An authorizer over explicit dependencies, with spies on what it logs and counts. */
function authorizerWith(verifier: TokenVerifier, allowedOrigins = 'https://app.example.com') {
  const logger = new Logger({ serviceName: 'realtime-gateway', logLevel: 'SILENT' });
  const metrics = new Metrics({ namespace: 'RealtimeGateway', serviceName: 'realtime-gateway' });
  const warn = jest.spyOn(logger, 'warn');
  const addMetric = jest.spyOn(metrics, 'addMetric');
  const addDimensions = jest.spyOn(metrics, 'addDimensions');
  return {
    warn,
    addMetric,
    addDimensions,
    deps: { verifier, originPolicy: readOriginPolicy({ ALLOWED_ORIGINS: allowedOrigins }), logger, metrics },
  };
}

let authorizerModule: AuthorizerModule;
let observability: ObservabilityModule;

beforeAll(async () => {
  // The exported handler reads its configuration at import, as on a cold start.
  process.env.JWT_SECRET = testSecret;
  process.env.ALLOWED_ORIGINS = 'https://app.example.com';
  process.env.LOG_LEVEL = 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  authorizerModule = await import('../../lambdas/handlers/ws-authorizer');
  observability = await import('../../lambdas/core/observability');
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

  it('answers Unauthorized (401) to a handshake without a token, and flushes the refusal metric', async () => {
    // GIVEN the browser fixture with its subprotocol header stripped of the token
    const event = loadEventFixture<WebSocketAuthorizerEvent>('ws-authorizer-subprotocol.json');
    event.headers = { ...event.headers, 'Sec-WebSocket-Protocol': 'realtime-gateway.v1' };
    const addMetric = jest.spyOn(observability.metrics, 'addMetric');
    const publish = jest.spyOn(observability.metrics, 'publishStoredMetrics');

    // THEN
    await expect(authorizerModule.handler(event, lambdaContext)).rejects.toThrow(/^Unauthorized$/);
    expect(addMetric).toHaveBeenCalledWith('AuthRefused', 'Count', 1);
    expect(publish).toHaveBeenCalledTimes(1);
    expectNothingElseTouched();
  });

  it('answers a Deny policy (403) to a foreign Origin, even with a valid token', async () => {
    const token = await signTestToken('user123');
    const event = loadEventFixture<WebSocketAuthorizerEvent>('ws-authorizer-subprotocol.json', token);
    event.headers = { ...event.headers, Origin: 'https://evil.example' };

    const result = await authorizerModule.handler(event, lambdaContext);

    expect(result.policyDocument.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: methodArn },
    ]);
    expect(result.context).toBeUndefined();
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
      const { deps, warn, addMetric, addDimensions } = authorizerWith(verifier);
      const authorize = authorizerModule.createWebSocketAuthorizer(deps);

      // WHEN
      const outcome = authorize(browserEvent(token));

      // THEN
      await expect(outcome).rejects.toThrow(/^Unauthorized$/);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]?.[1]).toMatchObject({ reason, carrier: 'subprotocol', sourceIp: '203.0.113.17' });
      expect(JSON.stringify(warn.mock.calls)).not.toContain(token);
      expect(addDimensions).toHaveBeenCalledWith({ authorizer: 'websocket', reason });
      expect(addMetric).toHaveBeenCalledWith('AuthRefused', 'Count', 1);
      expectNothingElseTouched();
    },
  );

  it('refuses a foreign Origin before reading the token', async () => {
    // GIVEN a verifier that records whether it was asked
    const verify = jest.fn(verifier.verify);
    const { deps, warn, addDimensions } = authorizerWith({ verify });
    const authorize = authorizerModule.createWebSocketAuthorizer(deps);
    const event = browserEvent(await signTestToken('user123'));
    event.headers = { ...event.headers, Origin: 'https://app.example.com.evil.example' };

    // WHEN
    const result: WebSocketAuthorizerResult = await authorize(event);

    // THEN
    expect(result.policyDocument.Statement[0]?.Effect).toBe('Deny');
    expect(result.principalId).toBe('anonymous');
    expect(verify).not.toHaveBeenCalled();
    expect(warn.mock.calls[0]?.[1]).toMatchObject({
      reason: 'origin_not_allowed',
      origin: 'https://app.example.com.evil.example',
    });
    expect(addDimensions).toHaveBeenCalledWith({ authorizer: 'websocket', reason: 'origin_not_allowed' });
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

  it('counts no refusal for an accepted token', async () => {
    const { deps, addMetric, warn } = authorizerWith(verifier);
    const authorize = authorizerModule.createWebSocketAuthorizer(deps);

    await authorize(browserEvent(await signTestToken('user123')));

    expect(addMetric).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
  });

  it('fails the invocation (500), not with Unauthorized, when the secret cannot be read', async () => {
    // GIVEN Secrets Manager is down
    const secretsManager = mockClient(SecretsManagerClient);
    secretsManager.on(GetSecretValueCommand).rejects(new Error('connect ETIMEDOUT'));
    const unavailable = createTokenVerifier(
      readJwtConfig({ JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf' }),
      { secretsManager: new SecretsManagerClient({}) },
    );
    const { deps, addMetric } = authorizerWith(unavailable);
    const authorize = authorizerModule.createWebSocketAuthorizer(deps);

    // THEN
    const error = (await authorize(browserEvent(await signTestToken('user123'))).catch(
      (caught: unknown) => caught,
    )) as Error;
    expect(error.name).toBe('VerificationKeyUnavailableError');
    expect(error.message).not.toBe('Unauthorized');
    expect(addMetric).not.toHaveBeenCalled();
    secretsManager.restore();
  });
});
