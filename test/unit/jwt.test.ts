import { ConfigurationError } from '../../lambdas/core/errors';
import {
  authorizerContextOf,
  createTokenVerifier,
  readJwtConfig,
  SECRET_REFRESH_MS,
  SECRET_RETRY_MS,
  TokenRejectedError,
  type TokenRejectionReason,
  type TokenVerifier,
  VerificationKeyUnavailableError,
} from '../../lambdas/core/jwt';
import { secretsManagerSecretSource } from '../../lambdas/core/secret-source';
import { errorAnswer, type SecretsManagerStandIn, secretAnswer, startSecretsManager } from '../helpers/secrets-manager';
import {
  craftToken,
  createSigningKey,
  createTestSecret,
  type JwksServer,
  nowInSeconds,
  signHmacRaw,
  signTestToken,
  signWithKey,
  startJwksServer,
  type TestSigningKey,
  testSecret,
  validClaims,
} from '../helpers/tokens';

/** Runs `verify` and returns the refusal reason, failing the test if the token was accepted or failed otherwise. */
async function refusalOf(verifier: TokenVerifier, token: string): Promise<TokenRejectionReason> {
  try {
    const identity = await verifier.verify(token);
    throw new Error(`expected a refusal, but the token was accepted for ${identity.userId}`);
  } catch (error) {
    if (!(error instanceof TokenRejectedError)) throw error;
    return error.reason;
  }
}

function configurationErrorOf(env: Record<string, string>): ConfigurationError {
  try {
    readJwtConfig(env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

const secretVerifier = (env: Record<string, string> = {}): TokenVerifier =>
  createTokenVerifier(readJwtConfig({ JWT_SECRET: testSecret, ...env }));

describe('readJwtConfig', () => {
  it('reads secret mode with its defaults', () => {
    // WHEN
    const config = readJwtConfig({ JWT_SECRET: testSecret });

    // THEN
    expect(config.keySource.kind).toBe('inline-secret');
    expect(config.algorithms).toEqual(['HS256']);
    expect(config.clockToleranceSeconds).toBe(5);
    expect(config.maxTokenBytes).toBe(8192);
    expect(config.permissionsClaim).toBe('permissions');
    expect(config.issuer).toBeUndefined();
    expect(config.audience).toBeUndefined();
  });

  it('reads Secrets Manager mode from the ARN alone', () => {
    const config = readJwtConfig({ JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf' });
    expect(config.keySource).toEqual({
      kind: 'secrets-manager',
      secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt-AbCdEf',
    });
  });

  it('reads JWKS mode with RS256 and ES256 by default', () => {
    const config = readJwtConfig({
      JWKS_URL: 'https://issuer.example.com/.well-known/jwks.json',
      JWT_ISSUER: 'https://issuer.example.com/',
      JWT_AUDIENCE: 'realtime-gateway, other-api',
    });
    expect(config.keySource.kind).toBe('jwks');
    expect(config.algorithms).toEqual(['RS256', 'ES256']);
    expect(config.issuer).toBe('https://issuer.example.com/');
    expect(config.audience).toEqual(['realtime-gateway', 'other-api']);
  });

  it.each([
    [{}, 'JWT_SECRET_ARN'],
    [{ JWT_SECRET: testSecret, JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:x' }, 'JWT_SECRET'],
    [{ JWT_SECRET: testSecret, JWKS_URL: 'https://issuer.example.com/jwks' }, 'JWKS_URL'],
    [{ JWT_SECRET: 'too-short-a-secret' }, 'JWT_SECRET'],
    [{ JWT_SECRET: testSecret, JWT_ALGORITHMS: 'HS256,RS256' }, 'JWT_ALGORITHMS'],
    [{ JWT_SECRET: testSecret, JWT_ALGORITHMS: 'none' }, 'JWT_ALGORITHMS'],
    [{ JWT_SECRET: testSecret, JWT_CLOCK_TOLERANCE_SECONDS: '301' }, 'JWT_CLOCK_TOLERANCE_SECONDS'],
    [{ JWT_SECRET: testSecret, JWT_CLOCK_TOLERANCE_SECONDS: 'soon' }, 'JWT_CLOCK_TOLERANCE_SECONDS'],
    [{ JWT_SECRET: testSecret, JWT_MAX_TOKEN_BYTES: '8k' }, 'JWT_MAX_TOKEN_BYTES'],
    [{ JWT_SECRET: testSecret, JWT_MAX_TOKEN_BYTES: '100000' }, 'JWT_MAX_TOKEN_BYTES'],
    [{ JWT_SECRET: testSecret, PERMISSIONS_CLAIM: 'sub' }, 'PERMISSIONS_CLAIM'],
    [{ JWKS_URL: 'not a url', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' }, 'JWKS_URL'],
    [{ JWKS_URL: 'http://issuer.example.com/jwks', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' }, 'JWKS_URL'],
    [{ JWKS_URL: 'https://issuer.example.com/jwks', JWT_AUDIENCE: 'a' }, 'JWT_ISSUER'],
    [{ JWKS_URL: 'https://issuer.example.com/jwks', JWT_ISSUER: 'i' }, 'JWT_AUDIENCE'],
    [
      { JWKS_URL: 'https://issuer.example.com/jwks', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a', JWT_ALGORITHMS: 'HS256' },
      'JWT_ALGORITHMS',
    ],
  ])('refuses %j, naming %s', (env, setting) => {
    const error = configurationErrorOf(env as Record<string, string>);
    expect(error.setting).toBe(setting);
    expect(error.message).toContain(setting);
  });

  it('says which settings choose a mode when none is set', () => {
    const error = configurationErrorOf({});
    expect(error.message).toContain('JWT_SECRET');
    expect(error.message).toContain('JWKS_URL');
  });
});

describe('verify, secret mode', () => {
  const verifier = secretVerifier();

  it('accepts a valid HS256 token and returns the identity', async () => {
    // GIVEN
    const token = await signTestToken('user123', { expiresInSeconds: 600 });

    // WHEN
    const identity = await verifier.verify(token);

    // THEN
    expect(identity.userId).toBe('user123');
    expect(identity.permissions).toEqual([]);
    expect(identity.expiresAt).toBeGreaterThanOrEqual(nowInSeconds() + 599);
    expect(identity.expiresAt).toBeLessThanOrEqual(nowInSeconds() + 600);
  });

  it('merges scope and the permissions claim, without duplicates', async () => {
    const token = await signTestToken('user123', {
      scope: 'ws:send  ws:broadcast',
      permissions: ['ws:broadcast', 'ws:admin'],
    });
    expect((await verifier.verify(token)).permissions).toEqual(['ws:send', 'ws:broadcast', 'ws:admin']);
  });

  it('reads permissions from the configured claim', async () => {
    const custom = secretVerifier({ PERMISSIONS_CLAIM: 'https://example.com/roles' });
    const token = await signTestToken('user123', {
      permissions: ['ws:admin'],
      permissionsClaim: 'https://example.com/roles',
    });
    expect((await custom.verify(token)).permissions).toEqual(['ws:admin']);
  });

  it('accepts HS384 and HS512 only when configured', async () => {
    const both = secretVerifier({ JWT_ALGORITHMS: 'HS384,HS512' });
    await expect(both.verify(await signTestToken('u1', { alg: 'HS512' }))).resolves.toMatchObject({ userId: 'u1' });
    await expect(both.verify(await signTestToken('u1', { alg: 'HS384' }))).resolves.toMatchObject({ userId: 'u1' });
    expect(await refusalOf(both, await signTestToken('u1', { alg: 'HS256' }))).toBe('algorithm_not_allowed');
  });

  it('accepts a token expired by less than the clock tolerance', async () => {
    const token = signHmacRaw({ alg: 'HS256' }, { sub: 'user123', exp: nowInSeconds() - 2 }, testSecret);
    await expect(verifier.verify(token)).resolves.toMatchObject({ userId: 'user123' });
  });

  it('accepts an `iat` ahead by no more than the clock tolerance, as for `nbf` (issue 9, defect 3)', async () => {
    const slightlyAhead = await signTestToken('user123', { claims: { iat: nowInSeconds() + 3 } });
    await expect(verifier.verify(slightlyAhead)).resolves.toMatchObject({ userId: 'user123' });
    const tolerant = secretVerifier({ JWT_CLOCK_TOLERANCE_SECONDS: '120' });
    const aMinuteAhead = await signTestToken('user123', { claims: { iat: nowInSeconds() + 60 } });
    await expect(tolerant.verify(aMinuteAhead)).resolves.toMatchObject({ userId: 'user123' });
    expect(await refusalOf(verifier, aMinuteAhead)).toBe('issued_in_future');
    await expect(verifier.verify(aMinuteAhead)).rejects.toThrow(
      'The token\'s "iat" is in the future (more than the 5 s clock tolerance ahead)',
    );
  });

  it('accepts a `sub` of exactly 128 characters', async () => {
    const token = await signTestToken('u'.repeat(128));
    await expect(verifier.verify(token)).resolves.toMatchObject({ userId: 'u'.repeat(128) });
  });

  it('enforces issuer and audience when they are set in secret mode', async () => {
    const strict = secretVerifier({ JWT_ISSUER: 'https://auth.example.com/', JWT_AUDIENCE: 'realtime-gateway' });
    const good = await signTestToken('u1', { issuer: 'https://auth.example.com/', audience: 'realtime-gateway' });
    await expect(strict.verify(good)).resolves.toMatchObject({ userId: 'u1' });
    const wrongIssuer = await signTestToken('u1', { issuer: 'https://evil.example/', audience: 'realtime-gateway' });
    expect(await refusalOf(strict, wrongIssuer)).toBe('wrong_issuer');
    const wrongAudience = await signTestToken('u1', { issuer: 'https://auth.example.com/', audience: 'other' });
    expect(await refusalOf(strict, wrongAudience)).toBe('wrong_audience');
    expect(await refusalOf(strict, await signTestToken('u1', { audience: 'realtime-gateway' }))).toBe('missing_claim');
  });

  describe('refuses, with the reason', () => {
    const now = nowInSeconds();
    const withoutExp = { sub: 'user123', iat: now };
    const withoutSub = { iat: now, exp: now + 3600 };
    const cases: [string, () => Promise<string> | string, TokenRejectionReason][] = [
      ['an expired token', () => signTestToken('user123', { expiresInSeconds: -60 }), 'expired'],
      ['a token not yet valid', () => signTestToken('user123', { claims: { nbf: now + 120 } }), 'not_yet_valid'],
      // Issue 9, defect 3: a token issued ten years from now was accepted.
      [
        'a token issued 10 years in the future',
        () => signTestToken('user123', { claims: { iat: now + 10 * 365 * 86_400, exp: now + 11 * 365 * 86_400 } }),
        'issued_in_future',
      ],
      [
        'a token issued a minute in the future',
        () => signTestToken('user123', { claims: { iat: now + 60 } }),
        'issued_in_future',
      ],
      ['a token without exp', () => signHmacRaw({ alg: 'HS256' }, withoutExp, testSecret), 'missing_claim'],
      ['a token without sub', () => signHmacRaw({ alg: 'HS256' }, withoutSub, testSecret), 'missing_claim'],
      ['an exp that is not a number', () => signTestToken('u1', { claims: { exp: 'tomorrow' } }), 'invalid_claim'],
      [
        'a sub that is a number',
        () => signHmacRaw({ alg: 'HS256' }, { ...withoutSub, sub: 42 }, testSecret),
        'invalid_subject',
      ],
      [
        'a sub that is an object',
        () => signHmacRaw({ alg: 'HS256' }, { ...withoutSub, sub: { id: 1 } }, testSecret),
        'invalid_subject',
      ],
      ['an empty sub', () => signHmacRaw({ alg: 'HS256' }, { ...withoutSub, sub: '' }, testSecret), 'invalid_subject'],
      [
        'a blank sub',
        () => signHmacRaw({ alg: 'HS256' }, { ...withoutSub, sub: '   ' }, testSecret),
        'invalid_subject',
      ],
      ['a sub of 129 characters', () => signTestToken('u'.repeat(129)), 'invalid_subject'],
      ['a sub with a control character', () => signTestToken('user\n123'), 'invalid_subject'],
      ['a wrong signature', () => signTestToken('user123', { secret: createTestSecret() }), 'bad_signature'],
      ['alg none', () => craftToken({ alg: 'none', typ: 'JWT' }, validClaims()), 'algorithm_not_allowed'],
      ['alg None', () => craftToken({ alg: 'None', typ: 'JWT' }, validClaims()), 'algorithm_not_allowed'],
      ['alg NONE', () => craftToken({ alg: 'NONE', typ: 'JWT' }, validClaims()), 'algorithm_not_allowed'],
      [
        'alg nOnE with a signature',
        () => craftToken({ alg: 'nOnE' }, validClaims(), 'c2lnbmF0dXJl'),
        'algorithm_not_allowed',
      ],
      [
        'an algorithm outside the allow-list (HS512)',
        () => signTestToken('u1', { alg: 'HS512' }),
        'algorithm_not_allowed',
      ],
      ['no alg at all', () => craftToken({ typ: 'JWT' }, validClaims(), 'c2ln'), 'malformed'],
      ['two segments', () => craftToken({ alg: 'HS256' }, validClaims()).split('.').slice(0, 2).join('.'), 'malformed'],
      ['four segments', async () => `${await signTestToken('user123')}.extra`, 'malformed'],
      ['one segment', () => 'not-a-jwt', 'malformed'],
      ['an empty token', () => '', 'malformed'],
      ['a header that is not JSON', () => 'bm90IGpzb24.eyJzdWIiOiJ1In0.c2ln', 'malformed'],
      [
        'a payload that is not an object',
        () => signHmacRaw({ alg: 'HS256' }, 'just a string', testSecret),
        'malformed',
      ],
      ['a scope that is not a string', () => signTestToken('u1', { claims: { scope: ['ws:admin'] } }), 'invalid_claim'],
      [
        'permissions that are not an array',
        () => signTestToken('u1', { claims: { permissions: 'ws:admin' } }),
        'invalid_claim',
      ],
      [
        'a permission with a space',
        () => signTestToken('u1', { permissions: ['ws:admin ws:broadcast'] }),
        'invalid_claim',
      ],
      [
        'a permission that is not a string',
        () => signTestToken('u1', { claims: { permissions: [1] } }),
        'invalid_claim',
      ],
    ];

    it.each(cases)('%s', async (_name, makeToken, reason) => {
      expect(await refusalOf(verifier, await makeToken())).toBe(reason);
    });

    it('a tampered payload', async () => {
      // GIVEN a valid token whose payload is swapped for another user's, keeping the signature
      const [header, , signature] = (await signTestToken('user123')).split('.');
      const forgedPayload = Buffer.from(JSON.stringify(validClaims('admin'))).toString('base64url');

      // THEN
      expect(await refusalOf(verifier, `${header}.${forgedPayload}.${signature}`)).toBe('bad_signature');
    });

    it('an oversized token, before parsing it', async () => {
      // A well-formed, validly signed token: only its size can refuse it.
      const big = await signTestToken('user123', { claims: { padding: 'x'.repeat(9000) } });
      expect(await refusalOf(verifier, big)).toBe('too_large');
      // Garbage of the same size is refused for its size, not its shape: nothing was decoded.
      expect(await refusalOf(verifier, 'a'.repeat(8193))).toBe('too_large');
    });

    it('a token over a configured limit, counted in bytes, not characters', async () => {
      const small = secretVerifier({ JWT_MAX_TOKEN_BYTES: '256' });
      // 200 characters but 400 bytes: counted in characters it would pass the size check and be called malformed.
      const multibyte = 'é'.repeat(200);
      expect(await refusalOf(small, multibyte)).toBe('too_large');
      // A real token just under the limit still passes.
      const fits = await signTestToken('u1');
      expect(Buffer.byteLength(fits)).toBeLessThanOrEqual(256);
      await expect(small.verify(fits)).resolves.toMatchObject({ userId: 'u1' });
    });
  });

  it('never quotes the token in a refusal message', async () => {
    const token = await signTestToken('user123', { secret: createTestSecret() });
    const error = (await verifier.verify(token).catch((caught: unknown) => caught)) as Error;
    expect(error).toBeInstanceOf(TokenRejectedError);
    expect(error.message).not.toContain(token.split('.')[1]);
  });
});

describe('verify, Secrets Manager mode (a signed GetSecretValue call)', () => {
  const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:realtime-gateway-jwt-AbCdEf';
  let extension: SecretsManagerStandIn;
  let clock = 0;
  const newVerifier = (): TokenVerifier =>
    createTokenVerifier(readJwtConfig({ JWT_SECRET_ARN: secretArn }), {
      secretSource: secretsManagerSecretSource(extension.environment),
      now: () => clock,
    });

  beforeEach(async () => {
    clock = 1_000_000;
    extension = await startSecretsManager(() => secretAnswer(testSecret, secretArn));
  });
  afterEach(() => extension.close());

  it('fetches the secret once across several verifications', async () => {
    // GIVEN
    const verifier = newVerifier();

    // WHEN
    const users = await Promise.all(
      ['u1', 'u2', 'u3'].map(async (userId) => (await verifier.verify(await signTestToken(userId))).userId),
    );
    await verifier.verify(await signTestToken('u4'));

    // THEN
    expect(users).toEqual(['u1', 'u2', 'u3']);
    expect(extension.requests.map((request) => request.secretId)).toEqual([secretArn]);
  });

  it('refuses an oversized token without fetching the secret', async () => {
    expect(await refusalOf(newVerifier(), 'a'.repeat(9000))).toBe('too_large');
    expect(extension.requests).toHaveLength(0);
  });

  it('reports an unavailable secret as the server trouble it is, naming JWT_SECRET_ARN, then retries', async () => {
    // GIVEN the first request is refused, the second answered
    extension.answerWith(() => {
      extension.answerWith(() => secretAnswer(testSecret, secretArn));
      return errorAnswer(
        400,
        'AccessDeniedException',
        'User is not authorized to perform: secretsmanager:GetSecretValue',
      );
    });
    const verifier = newVerifier();
    const token = await signTestToken('user123');

    // THEN
    const error = await verifier.verify(token).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VerificationKeyUnavailableError);
    expect((error as Error).message).toBe(
      'Could not read the JWT secret named by JWT_SECRET_ARN from Secrets Manager: ' +
        'Secrets Manager answered 400 AccessDeniedException: User is not authorized to perform: secretsmanager:GetSecretValue',
    );
    await expect(verifier.verify(token)).resolves.toMatchObject({ userId: 'user123' });
    expect(extension.requests).toHaveLength(2);
  });

  it('reads the secret again after SECRET_REFRESH_MS, so a rotation reaches warm verifiers', async () => {
    // GIVEN a verifier that has read the secret
    const verifier = newVerifier();
    await verifier.verify(await signTestToken('u1'));
    const rotated = createTestSecret();
    extension.answerWith(() => secretAnswer(rotated, secretArn));

    // WHEN the refresh time has not come, the old secret is still used; once it has, the new one
    clock += SECRET_REFRESH_MS - 1;
    await expect(verifier.verify(await signTestToken('u2'))).resolves.toMatchObject({ userId: 'u2' });
    expect(extension.requests).toHaveLength(1);
    clock += 1;
    await expect(verifier.verify(await signTestToken('u3', { secret: rotated }))).resolves.toMatchObject({
      userId: 'u3',
    });

    // THEN
    expect(extension.requests).toHaveLength(2);
    expect(await refusalOf(verifier, await signTestToken('u4'))).toBe('bad_signature');
  });

  it('keeps the secret it has when a refresh fails, and tries again after SECRET_RETRY_MS', async () => {
    // GIVEN a verifier past its refresh time while Secrets Manager refuses
    const verifier = newVerifier();
    await verifier.verify(await signTestToken('u1'));
    extension.answerWith(() => errorAnswer(400, 'AccessDeniedException', 'denied'));
    clock += SECRET_REFRESH_MS;

    // WHEN / THEN verifications go on with the secret in hand, asking again only after the retry delay
    await expect(verifier.verify(await signTestToken('u2'))).resolves.toMatchObject({ userId: 'u2' });
    await expect(verifier.verify(await signTestToken('u3'))).resolves.toMatchObject({ userId: 'u3' });
    expect(extension.requests).toHaveLength(2);
    clock += SECRET_RETRY_MS;
    extension.answerWith(() => secretAnswer(testSecret, secretArn));
    await verifier.verify(await signTestToken('u4'));
    expect(extension.requests).toHaveLength(3);
  });

  it.each([
    'jwt-secret',
    'arn:aws:ssm:eu-west-1:123456789012:parameter/jwt',
    'arn:aws:secretsmanager:eu-west-1:1:secret:x',
  ])('refuses JWT_SECRET_ARN=%s at cold start, naming it', (arn) => {
    const read = () => readJwtConfig({ JWT_SECRET_ARN: arn });
    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow(/^Configuration setting JWT_SECRET_ARN must be a Secrets Manager secret ARN/);
  });

  it('refuses a stored secret shorter than 32 bytes, naming the setting', async () => {
    extension.answerWith(() => secretAnswer('short', secretArn));
    const error = await newVerifier()
      .verify(await signTestToken('u1'))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).setting).toBe('JWT_SECRET_ARN');
  });

  it('refuses a secret without a SecretString, naming the setting', async () => {
    extension.answerWith(() => ({ status: 200, body: JSON.stringify({ ARN: secretArn, SecretBinary: 'AAEC' }) }));
    const error = await newVerifier()
      .verify(await signTestToken('u1'))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).setting).toBe('JWT_SECRET_ARN');
  });

  it('needs a secret source', () => {
    expect(() => createTokenVerifier(readJwtConfig({ JWT_SECRET_ARN: secretArn }))).toThrow(ConfigurationError);
  });
});

describe('verify, JWKS mode against a real local key set', () => {
  const issuer = 'https://auth.example.test/';
  const audience = 'realtime-gateway';
  let rsaKey: TestSigningKey;
  let ecKey: TestSigningKey;
  let attackerKey: TestSigningKey;
  let jwks: JwksServer;
  let attackerJwks: JwksServer;

  const jwksVerifier = (env: Record<string, string> = {}): TokenVerifier =>
    createTokenVerifier(readJwtConfig({ JWKS_URL: jwks.url, JWT_ISSUER: issuer, JWT_AUDIENCE: audience, ...env }));

  beforeAll(async () => {
    rsaKey = await createSigningKey('RS256');
    ecKey = await createSigningKey('ES256');
    attackerKey = await createSigningKey('RS256', 'attacker-key');
    jwks = await startJwksServer([rsaKey, ecKey]);
    attackerJwks = await startJwksServer([attackerKey]);
  });

  afterAll(async () => {
    await jwks.close();
    await attackerJwks.close();
  });

  beforeEach(() => {
    jwks.requests.length = 0;
    attackerJwks.requests.length = 0;
  });

  it('accepts RS256 and ES256 tokens, fetching the key set once', async () => {
    // GIVEN
    const verifier = jwksVerifier();
    const rsaToken = await signWithKey(rsaKey, { issuer, audience, scope: 'ws:admin' }, 'user-rsa');
    const ecToken = await signWithKey(ecKey, { issuer, audience: [audience, 'other'] }, 'user-ec');

    // WHEN
    const first = await verifier.verify(rsaToken);
    const second = await verifier.verify(ecToken);
    await verifier.verify(rsaToken);

    // THEN
    expect(first).toMatchObject({ userId: 'user-rsa', permissions: ['ws:admin'] });
    expect(second.userId).toBe('user-ec');
    expect(jwks.requests).toEqual(['GET /.well-known/jwks.json']);
  });

  it('refuses a wrong issuer', async () => {
    const token = await signWithKey(rsaKey, { issuer: 'https://evil.example/', audience });
    expect(await refusalOf(jwksVerifier(), token)).toBe('wrong_issuer');
  });

  it('refuses a wrong audience', async () => {
    const token = await signWithKey(rsaKey, { issuer, audience: 'another-api' });
    expect(await refusalOf(jwksVerifier(), token)).toBe('wrong_audience');
  });

  it('refuses a token without issuer or audience', async () => {
    expect(await refusalOf(jwksVerifier(), await signWithKey(rsaKey, { audience }))).toBe('missing_claim');
    expect(await refusalOf(jwksVerifier(), await signWithKey(rsaKey, { issuer }))).toBe('missing_claim');
  });

  it('refuses the RS256 public key used as an HS256 secret, without fetching anything', async () => {
    // GIVEN the attacker HMAC-signs a token with the (public) RSA key, hoping it is used as a shared secret
    const token = signHmacRaw(
      { alg: 'HS256', typ: 'JWT', kid: rsaKey.kid },
      { ...validClaims('admin'), iss: issuer, aud: audience },
      rsaKey.publicPem,
    );

    // THEN the pinned algorithms refuse it before any key is looked up
    expect(await refusalOf(jwksVerifier(), token)).toBe('algorithm_not_allowed');
    expect(jwks.requests).toHaveLength(0);
  });

  it('refuses the RS256 public key used as an HS256 secret in secret mode too', async () => {
    const token = signHmacRaw({ alg: 'HS256' }, validClaims('admin'), rsaKey.publicPem);
    expect(await refusalOf(secretVerifier(), token)).toBe('bad_signature');
  });

  it('refuses alg none', async () => {
    const token = craftToken({ alg: 'none', kid: rsaKey.kid }, { ...validClaims(), iss: issuer, aud: audience });
    expect(await refusalOf(jwksVerifier(), token)).toBe('algorithm_not_allowed');
  });

  it('refuses a jku pointing elsewhere, and never fetches it', async () => {
    // GIVEN a token signed by the attacker's key, whose header points at the attacker's key set
    const token = await signWithKey(attackerKey, { issuer, audience }, 'admin', {
      jku: attackerJwks.url,
      x5u: attackerJwks.url,
      kid: attackerKey.kid,
    });

    // THEN
    expect(await refusalOf(jwksVerifier(), token)).toBe('unknown_key');
    expect(attackerJwks.requests).toHaveLength(0);
    expect(jwks.requests.every((request) => request === 'GET /.well-known/jwks.json')).toBe(true);
  });

  it("refuses a kid of the configured set on a token signed by another key, and never fetches the attacker's set", async () => {
    const token = await signWithKey(attackerKey, { issuer, audience }, 'admin', {
      kid: rsaKey.kid,
      jku: attackerJwks.url,
    });
    expect(await refusalOf(jwksVerifier(), token)).toBe('bad_signature');
    expect(attackerJwks.requests).toHaveLength(0);
  });

  it('refuses an HS256 token in JWKS mode', async () => {
    const token = await signTestToken('user123', { issuer, audience });
    expect(await refusalOf(jwksVerifier(), token)).toBe('algorithm_not_allowed');
  });

  it('reports an unreachable key set as the server trouble it is', async () => {
    // GIVEN a key set URL on a port nothing listens on any more
    const gone = await startJwksServer([rsaKey]);
    const url = gone.url;
    await gone.close();
    const verifier = createTokenVerifier(readJwtConfig({ JWKS_URL: url, JWT_ISSUER: issuer, JWT_AUDIENCE: audience }));

    // THEN
    const token = await signWithKey(rsaKey, { issuer, audience });
    await expect(verifier.verify(token)).rejects.toBeInstanceOf(VerificationKeyUnavailableError);
  });
});

describe('authorizerContextOf', () => {
  it('joins permissions with spaces for API Gateway', () => {
    expect(
      authorizerContextOf({ userId: 'u1', permissions: ['ws:admin', 'ws:broadcast'], expiresAt: 1767225600 }),
    ).toEqual({ userId: 'u1', permissions: 'ws:admin ws:broadcast', tokenExpiresAt: 1767225600 });
  });

  it('refuses permissions that would not fit an 8 KB context', () => {
    const permissions = Array.from({ length: 1000 }, (_, index) => `permission:${index}`);
    expect(() => authorizerContextOf({ userId: 'u1', permissions, expiresAt: 1 })).toThrow(TokenRejectedError);
  });
});
