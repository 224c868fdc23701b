import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  ContextKey,
  checkContextKeys,
  closestContextKey,
  gatewayPropsFromContext,
  InvalidContextError,
} from '../../lib/settings';
import { cdkJsonContext } from './app-context';

/** Context as `cdk synth -c key=value` gives it: every value a string. */
const fromContext = (context: Record<string, unknown>) => gatewayPropsFromContext((key) => context[key]);

/** The error a context produces, so its key and message can both be checked. */
function contextError(context: Record<string, unknown>): InvalidContextError {
  try {
    fromContext(context);
  } catch (error) {
    if (error instanceof InvalidContextError) return error;
    throw error;
  }
  throw new Error(`expected an InvalidContextError for ${JSON.stringify(context)}`);
}

describe('gatewayPropsFromContext', () => {
  it('reads the room settings and the rooms permission', () => {
    const props = fromContext({
      roomsPermission: 'chat:moderate',
      maxRoomsPerConnection: '20',
      presenceRoomPrefix: 'live-',
      presenceMaxMembers: '50',
    });
    expect(props.permissions?.rooms).toBe('chat:moderate');
    expect(props.rooms).toEqual({ maxRoomsPerConnection: 20, presenceRoomPrefix: 'live-', presenceMaxMembers: 50 });
    expect(() => fromContext({ presenceMaxMembers: '1001' })).toThrow(/presenceMaxMembers/);
    expect(() => fromContext({ presenceRoomPrefix: 'presence *' })).toThrow(/presenceRoomPrefix/);
  });

  it('leaves every prop to the construct default when no key is set', () => {
    expect(fromContext({})).toEqual({
      stageName: undefined,
      tokenVerification: { mode: 'secret', algorithms: undefined },
      allowedOrigins: undefined,
      connectionTtl: undefined,
      logLevel: undefined,
      logRetention: undefined,
      authorizerCacheTtl: undefined,
      webSocketThrottle: undefined,
      httpThrottle: undefined,
      sendConcurrency: undefined,
      maxUserIds: undefined,
      allowedMessageTypes: undefined,
      permissions: undefined,
      permissionsClaim: undefined,
      broadcastTimeMargin: undefined,
      senderMemorySize: undefined,
      directSendTimeout: undefined,
      jwtClockTolerance: undefined,
      jwtMaxTokenBytes: undefined,
      tableRemovalPolicy: undefined,
      apiGatewayLogRole: undefined,
    });
  });

  it('turns string context (-c key=value) into typed props', () => {
    const props = fromContext({
      stageName: 'dev',
      jwtAlgorithms: 'HS256,HS512',
      allowedOrigins: 'https://app.example.com, http://localhost:5173',
      connectionTtlSeconds: '14400',
      logLevel: 'debug',
      logRetentionDays: '7',
      authorizerCacheTtlSeconds: '0',
      webSocketThrottleRate: '50.5',
      httpThrottleBurst: '20',
      sendConcurrency: '200',
      maxUserIds: '500',
      allowedMessageTypes: 'chat,system',
      broadcastPermission: 'ops:broadcast',
      sendPermission: '',
      permissionsClaim: 'roles',
      broadcastTimeMarginMs: '3000',
      senderMemoryMb: '3008',
      directSendTimeoutSeconds: '900',
      directSendRetryAttempts: '0',
      jwtClockToleranceSeconds: '10',
      jwtMaxTokenBytes: '4096',
      tableRemovalPolicy: 'retain',
      apiGatewayLogRole: 'true',
    });
    expect(props).toEqual({
      stageName: 'dev',
      tokenVerification: { mode: 'secret', algorithms: ['HS256', 'HS512'] },
      allowedOrigins: ['https://app.example.com', 'http://localhost:5173'],
      connectionTtl: Duration.seconds(14400),
      logLevel: 'DEBUG',
      logRetention: RetentionDays.ONE_WEEK,
      authorizerCacheTtl: Duration.seconds(0),
      webSocketThrottle: { rateLimit: 50.5, burstLimit: undefined },
      httpThrottle: { rateLimit: undefined, burstLimit: 20 },
      sendConcurrency: 200,
      maxUserIds: 500,
      allowedMessageTypes: ['chat', 'system'],
      permissions: { send: '', notify: undefined, broadcast: 'ops:broadcast', admin: undefined },
      permissionsClaim: 'roles',
      broadcastTimeMargin: Duration.millis(3000),
      senderMemorySize: 3008,
      directSendTimeout: Duration.seconds(900),
      directSendRetryAttempts: 0,
      jwtClockTolerance: Duration.seconds(10),
      jwtMaxTokenBytes: 4096,
      tableRemovalPolicy: RemovalPolicy.RETAIN,
      apiGatewayLogRole: true,
    });
  });

  it('reads the room keys: the any-room permission and the synchronous bound, refusing a bound out of range', () => {
    const props = fromContext({ roomSendPermission: 'rooms:any', roomSyncMaxMembers: '250' });

    expect(props.permissions).toMatchObject({ roomSend: 'rooms:any' });
    expect(props.roomSyncMaxMembers).toBe(250);
    expect(() => fromContext({ roomSyncMaxMembers: '10001' })).toThrow(/roomSyncMaxMembers/);
  });

  it('reads the message log settings (issue 12) and names a bad one', () => {
    expect(
      fromContext({
        messageRetentionSeconds: '7200',
        messageLogUserCap: '500',
        ephemeralMessageTypes: 'typing,cursor',
        resumeSkewMs: '10000',
        offlineDelivery: 'all',
      }).messageLog,
    ).toEqual({
      retentionSeconds: 7200,
      userCap: 500,
      ephemeralTypes: ['typing', 'cursor'],
      resumeSkewMs: 10000,
      offlineDelivery: 'all',
    });
    expect(contextError({ offlineDelivery: 'some' }).key).toBe(ContextKey.offlineDelivery);
    expect(contextError({ messageRetentionSeconds: '0' }).key).toBe(ContextKey.messageRetentionSeconds);
    expect(contextError({ ephemeralMessageTypes: 'ty ping' }).key).toBe(ContextKey.ephemeralMessageTypes);
  });

  it('accepts JSON values from cdk.json (numbers and arrays)', () => {
    const props = fromContext({
      connectionTtlSeconds: 9000,
      allowedOrigins: ['*'],
      allowedMessageTypes: ['chat'],
      senderMemoryMb: 128,
      directSendTimeoutSeconds: 30,
    });
    expect(props.connectionTtl).toEqual(Duration.seconds(9000));
    expect(props.senderMemorySize).toBe(128);
    expect(props.directSendTimeout).toEqual(Duration.seconds(30));
    expect(props.allowedOrigins).toEqual(['*']);
    expect(props.allowedMessageTypes).toEqual(['chat']);
  });

  it('builds JWKS verification with issuer, audience and pinned algorithms', () => {
    expect(
      fromContext({
        jwtMode: 'jwks',
        jwksUrl: 'https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json',
        jwtIssuer: 'https://cognito-idp.eu-west-1.amazonaws.com/pool',
        jwtAudience: 'client-id',
        jwtAlgorithms: 'RS256',
      }).tokenVerification,
    ).toEqual({
      mode: 'jwks',
      jwksUrl: 'https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json',
      issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/pool',
      audience: 'client-id',
      algorithms: ['RS256'],
    });
  });

  const jwks = {
    jwtMode: 'jwks',
    jwksUrl: 'https://issuer.example.com/jwks.json',
    jwtIssuer: 'https://issuer.example.com/',
    jwtAudience: 'realtime',
  };

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['an unknown jwtMode', { jwtMode: 'hmac' }, 'jwtMode', /must be one of secret, jwks, got "hmac"/],
    ['JWKS mode without a URL', { ...jwks, jwksUrl: undefined }, 'jwksUrl', /is required when jwtMode is jwks/],
    ['JWKS mode without an issuer', { ...jwks, jwtIssuer: '' }, 'jwtIssuer', /is required when jwtMode is jwks/],
    ['JWKS mode without an audience', { ...jwks, jwtAudience: undefined }, 'jwtAudience', /is required/],
    ['a JWKS URL that does not parse', { ...jwks, jwksUrl: 'not a url' }, 'jwksUrl', /must be a URL/],
    ['a JWKS URL over http', { ...jwks, jwksUrl: 'http://issuer.example.com/jwks.json' }, 'jwksUrl', /https:\/\//],
    [
      'an issuer in secret mode',
      { jwtIssuer: 'https://issuer.example.com/' },
      'jwtIssuer',
      /only when jwtMode is jwks/,
    ],
    [
      'an RS algorithm in secret mode',
      { jwtAlgorithms: 'RS256' },
      'jwtAlgorithms',
      /among HS256, HS384, HS512.*"RS256"/,
    ],
    ['an HS algorithm in JWKS mode', { ...jwks, jwtAlgorithms: 'HS256' }, 'jwtAlgorithms', /"HS256"/],
    ['alg none', { jwtAlgorithms: 'none' }, 'jwtAlgorithms', /"none"/],
    ['an empty algorithm list', { jwtAlgorithms: ' , ' }, 'jwtAlgorithms', /at least one algorithm/],
    ['an origin with a path', { allowedOrigins: 'https://app.example.com/' }, 'allowedOrigins', /no path/],
    ['an origin without a scheme', { allowedOrigins: 'app.example.com' }, 'allowedOrigins', /"app.example.com"/],
    ['* beside origins', { allowedOrigins: '*,https://a.example.com' }, 'allowedOrigins', /"\*" alone/],
    ['a TTL under 2 h 10 min', { connectionTtlSeconds: '7200' }, 'connectionTtlSeconds', /at least 7800, got 7200/],
    ['a TTL that is not a number', { connectionTtlSeconds: '3h' }, 'connectionTtlSeconds', /must be a number/],
    ['a fractional TTL', { connectionTtlSeconds: '8000.5' }, 'connectionTtlSeconds', /must be an integer/],
    ['an unknown log level', { logLevel: 'verbose' }, 'logLevel', /TRACE, DEBUG, INFO.*"verbose"/],
    ['an unsupported retention', { logRetentionDays: '31' }, 'logRetentionDays', /retention periods.*got 31/],
    ['a cache TTL over an hour', { authorizerCacheTtlSeconds: '3601' }, 'authorizerCacheTtlSeconds', /at most 3600/],
    ['a zero throttle rate', { httpThrottleRate: '0' }, 'httpThrottleRate', /positive number/],
    ['a negative burst', { webSocketThrottleBurst: '-1' }, 'webSocketThrottleBurst', /at least 0/],
    ['a zero send concurrency', { sendConcurrency: '0' }, 'sendConcurrency', /at least 1/],
    [
      'a broadcast margin as long as the API-fronted timeout',
      { broadcastTimeMarginMs: '29000' },
      'broadcastTimeMarginMs',
      /at most 28999, got 29000/,
    ],
    ['sender memory under Lambda minimum', { senderMemoryMb: '64' }, 'senderMemoryMb', /at least 128, got 64/],
    ['sender memory over Lambda maximum', { senderMemoryMb: '10241' }, 'senderMemoryMb', /at most 10240, got 10241/],
    ['sender memory with a unit', { senderMemoryMb: '2GB' }, 'senderMemoryMb', /must be a number, got "2GB"/],
    ['fractional sender memory', { senderMemoryMb: '1769.5' }, 'senderMemoryMb', /must be an integer/],
    [
      'a direct-send timeout within the API limit',
      { directSendTimeoutSeconds: '29' },
      'directSendTimeoutSeconds',
      /at least 30, got 29/,
    ],
    [
      'a direct-send timeout over Lambda maximum',
      { directSendTimeoutSeconds: '901' },
      'directSendTimeoutSeconds',
      /at most 900, got 901/,
    ],
    [
      'a direct-send timeout in minutes',
      { directSendTimeoutSeconds: '5m' },
      'directSendTimeoutSeconds',
      /must be a number, got "5m"/,
    ],
    [
      'more direct-send retries than Lambda makes',
      { directSendRetryAttempts: '3' },
      'directSendRetryAttempts',
      /at most 2, got 3/,
    ],
    ['a permission with a space', { adminPermission: 'ws admin' }, 'adminPermission', /must not contain spaces/],
    ['an empty permissions claim', { permissionsClaim: '' }, 'permissionsClaim', /must not be empty/],
    ['sub as the permissions claim', { permissionsClaim: 'sub' }, 'permissionsClaim', /registered claim "sub"/],
    ['more user ids than the handlers accept', { maxUserIds: '1001' }, 'maxUserIds', /at most 1000/],
    [
      'a message type with a space',
      { allowedMessageTypes: 'chat,new message' },
      'allowedMessageTypes',
      /"new message"/,
    ],
    ['a flag that is not a boolean', { apiGatewayLogRole: 'yes' }, 'apiGatewayLogRole', /true or false, got "yes"/],
    ['a stage name with a slash', { stageName: 'prod/v2' }, 'stageName', /letters, digits/],
    ['an unknown removal policy', { tableRemovalPolicy: 'snapshot' }, 'tableRemovalPolicy', /destroy, retain/],
    ['an object where a string belongs', { stageName: { name: 'x' } }, 'stageName', /must be a string/],
    ['a list holding a number', { allowedMessageTypes: ['chat', 3] }, 'allowedMessageTypes', /strings only/],
  ])('refuses %s, naming the key', (_case, context, key, message) => {
    const error = contextError(context);
    expect(error.key).toBe(key);
    expect(error.message).toMatch(new RegExp(`^CDK context "${key}" `));
    expect(error.message).toMatch(message);
  });
});

describe('checkContextKeys', () => {
  const refusal = (keys: string[]): InvalidContextError | undefined => {
    try {
      checkContextKeys(keys);
    } catch (error) {
      if (error instanceof InvalidContextError) return error;
      throw error;
    }
    return undefined;
  };

  it.each([
    ['stagename', 'stageName'],
    ['stage_name', 'stageName'],
    ['logRetentionDay', 'logRetentionDays'],
    ['allowedOrigin', 'allowedOrigins'],
    ['jwtmode', 'jwtMode'],
    ['jwksURL', 'jwksUrl'],
  ])('refuses %s, suggesting %s', (typo, suggestion) => {
    const error = refusal([typo]);
    expect(error?.key).toBe(typo);
    expect(error?.message).toBe(
      `CDK context "${typo}" is not a key this app reads: did you mean "${suggestion}"? Every key is in docs/configuration.md`,
    );
  });

  it('refuses a key close to none without a suggestion', () => {
    expect(refusal(['color'])?.message).toBe(
      'CDK context "color" is not a key this app reads: Every key is in docs/configuration.md',
    );
    expect(closestContextKey('deploymentBucket')).toBeUndefined();
  });

  it('accepts every key the app reads', () => {
    expect(refusal(Object.values(ContextKey))).toBeUndefined();
  });

  it("passes CDK's own keys: feature flags, the CLI's, lookups, acknowledgements", () => {
    expect(
      refusal([
        ...Object.keys(cdkJsonContext),
        'aws:cdk:enable-path-metadata',
        'aws:cdk:bundling-stacks',
        '@aws-cdk/core:bootstrapQualifier',
        '@aws-cdk-containers/ecs-service-extensions:enableDefaultLogDriver',
        'availability-zones:account=123456789012:region=eu-central-2',
        'hosted-zone:account=123456789012:domainName=example.com:region=eu-west-1',
        'acknowledged-issue-numbers',
        'cdk-deploy-role',
      ]),
    ).toBeUndefined();
  });
});
