import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { createTokenVerifier, readJwtConfig, type TokenVerifier } from '../../lambdas/core/jwt';
import { secretsManagerSecretSource } from '../../lambdas/core/secret-source';
import { lambdaContextFor } from '../helpers/lambda-context';
import { errorAnswer, secretAnswer, startSecretsManager } from '../helpers/secrets-manager';
import { capturedTelemetry } from '../helpers/telemetry';
import {
  craftToken,
  createTestSecret,
  loadEventFixture,
  nowInSeconds,
  signTestToken,
  testSecret,
  validClaims,
} from '../helpers/tokens';

type AuthorizerModule = typeof import('../../lambdas/handlers/http-authorizer');

// The HTTP authorizer holds no registry or management client at all; these mocks catch any command it might send.
const dynamoMock = mockClient(DynamoDBClient);
const documentMock = mockClient(DynamoDBDocumentClient);
const managementMock = mockClient(ApiGatewayManagementApiClient);

const lambdaContext = lambdaContextFor('http-authorizer', { getRemainingTimeInMillis: () => 10_000 });

function expectNothingElseTouched(): void {
  expect(dynamoMock.calls()).toHaveLength(0);
  expect(documentMock.calls()).toHaveLength(0);
  expect(managementMock.calls()).toHaveLength(0);
}

const httpEvent = (token?: string, fixture = 'http-authorizer-bearer.json'): APIGatewayRequestAuthorizerEventV2 =>
  loadEventFixture<APIGatewayRequestAuthorizerEventV2>(fixture, token);

let authorizerModule: AuthorizerModule;

beforeAll(async () => {
  // The exported handler reads its configuration at import, as on a cold start: logs off, metrics on.
  process.env.JWT_SECRET = testSecret;
  process.env.LOG_LEVEL = 'SILENT';
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  authorizerModule = await import('../../lambdas/handlers/http-authorizer');
});

beforeEach(() => {
  dynamoMock.reset();
  documentMock.reset();
  managementMock.reset();
  jest.restoreAllMocks();
});

describe('http-authorizer handler (as deployed)', () => {
  it.each([
    ['a send route', 'http-authorizer-bearer.json'],
    ['a route with a path parameter', 'http-authorizer-path-parameter.json'],
  ])('authorizes a valid bearer token on %s, with the context the routes read', async (_name, fixture) => {
    // GIVEN
    const token = await signTestToken('user123', { scope: 'ws:admin', permissions: ['ws:broadcast', 'ws:admin'] });

    // WHEN
    const result = await authorizerModule.handler(httpEvent(token, fixture), lambdaContext);

    // THEN
    expect(result).toEqual({
      isAuthorized: true,
      context: { userId: 'user123', permissions: 'ws:admin ws:broadcast', tokenExpiresAt: expect.any(Number) },
    });
    expectNothingElseTouched();
  });

  it('answers Unauthorized (401) without an Authorization header, and writes the refusal metric', async () => {
    // GIVEN
    const event = httpEvent();
    delete event.headers?.authorization;
    const written: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });

    // WHEN
    const outcome = await authorizerModule.handler(event, lambdaContext).catch((error: unknown) => error);
    write.mockRestore();

    // THEN one EMF line (LOG_LEVEL=SILENT silences the log line, not the metric)
    expect((outcome as Error).message).toBe('Unauthorized');
    expect(written.map((chunk) => JSON.parse(chunk))).toEqual([
      expect.objectContaining({ authorizer: 'http', reason: 'no_token', AuthRefused: 1 }),
    ]);
    expectNothingElseTouched();
  });
});

describe('createHttpAuthorizer', () => {
  const verifier = createTokenVerifier(readJwtConfig({ JWT_SECRET: testSecret }));

  function authorizerWith(tokenVerifier: TokenVerifier) {
    const captured = capturedTelemetry();
    return {
      ...captured,
      authorize: authorizerModule.createHttpAuthorizer({ verifier: tokenVerifier, telemetry: captured.telemetry }),
    };
  }

  const refusals: [string, () => Promise<APIGatewayRequestAuthorizerEventV2>, string][] = [
    ['an expired token', async () => httpEvent(await signTestToken('u1', { expiresInSeconds: -60 })), 'expired'],
    [
      'a wrong signature',
      async () => httpEvent(await signTestToken('u1', { secret: createTestSecret() })),
      'bad_signature',
    ],
    ['alg none', async () => httpEvent(craftToken({ alg: 'none' }, validClaims())), 'algorithm_not_allowed'],
    [
      'a token issued 10 years in the future (issue 9, defect 3)',
      async () => httpEvent(await signTestToken('u1', { claims: { iat: nowInSeconds() + 10 * 365 * 86_400 } })),
      'issued_in_future',
    ],
    [
      'another scheme',
      async () => {
        const event = httpEvent();
        event.headers = { ...event.headers, authorization: 'Basic dXNlcjpwYXNz' };
        return event;
      },
      'no_token',
    ],
    [
      // The WebSocket handshake's weaker carriers are not accepted on HTTP.
      'a token only in the query string',
      async () => {
        const event = httpEvent();
        delete event.headers?.authorization;
        event.queryStringParameters = { token: await signTestToken('u1') };
        return event;
      },
      'no_token',
    ],
    [
      'a token only in a Sec-WebSocket-Protocol header',
      async () => {
        const event = httpEvent();
        delete event.headers?.authorization;
        event.headers = { ...event.headers, 'sec-websocket-protocol': `bearer.${await signTestToken('u1')}` };
        return event;
      },
      'no_token',
    ],
  ];

  it.each(refusals)(
    'refuses %s with Unauthorized, logs the reason without the token, counts it, touches nothing else',
    async (_name, makeEvent, reason) => {
      // GIVEN
      const event = await makeEvent();
      const { authorize, lines, logs, emfRecords } = authorizerWith(verifier);

      // THEN
      await expect(authorize(event)).rejects.toThrow(/^Unauthorized$/);
      expect(logs('WARN')).toEqual([
        expect.objectContaining({ message: 'HTTP request refused', reason, routeKey: 'POST /websocket/message/user' }),
      ]);
      const token = event.headers?.authorization?.split(' ')[1] ?? event.queryStringParameters?.token;
      if (token) expect(JSON.stringify(lines)).not.toContain(token);
      expect(emfRecords()).toEqual([
        expect.objectContaining({
          _aws: expect.objectContaining({
            CloudWatchMetrics: [expect.objectContaining({ Namespace: 'RealtimeGateway' })],
          }),
          authorizer: 'http',
          reason,
          AuthRefused: 1,
        }),
      ]);
      expectNothingElseTouched();
    },
  );

  it('does not check Origin: CORS governs browsers on the HTTP API', async () => {
    const { authorize } = authorizerWith(verifier);
    const event = httpEvent(await signTestToken('user123'));
    event.headers = { ...event.headers, origin: 'https://evil.example' };
    await expect(authorize(event)).resolves.toMatchObject({ isAuthorized: true });
  });

  it('fails the invocation (500), not with Unauthorized, when the secret cannot be read', async () => {
    // GIVEN Secrets Manager refuses
    const extension = await startSecretsManager(() =>
      errorAnswer(400, 'AccessDeniedException', 'User is not authorized to perform: secretsmanager:GetSecretValue'),
    );
    const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf';
    const unavailable = createTokenVerifier(readJwtConfig({ JWT_SECRET_ARN: secretArn }), {
      secretSource: secretsManagerSecretSource(extension.environment),
    });
    const { authorize, emfRecords, logs } = authorizerWith(unavailable);

    // WHEN
    const error = (await authorize(httpEvent(await signTestToken('user123'))).catch(
      (caught: unknown) => caught,
    )) as Error;

    // THEN
    expect(error.name).toBe('VerificationKeyUnavailableError');
    expect(error.message).toMatch(/JWT_SECRET_ARN.*AccessDeniedException/);
    expect(emfRecords()).toEqual([]);
    expect(logs('ERROR')).toHaveLength(1);

    // AND once Secrets Manager answers, the same verifier recovers
    extension.answerWith(() => secretAnswer(testSecret, secretArn));
    await expect(authorize(httpEvent(await signTestToken('user123')))).resolves.toMatchObject({ isAuthorized: true });
    await extension.close();
  });
});
