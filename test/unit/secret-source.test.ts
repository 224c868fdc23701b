import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import {
  partitionDnsSuffixes,
  type SecretSource,
  SecretUnavailableError,
  secretsManagerEndpoint,
  secretsManagerSecretSource,
} from '../../lambdas/core/secret-source';
import {
  errorAnswer,
  type SecretsManagerStandIn,
  secretAnswer,
  standInCredentials,
  startSecretsManager,
} from '../helpers/secrets-manager';
import { testSecret } from '../helpers/tokens';

const secretArn = 'arn:aws:secretsmanager:eu-central-2:123456789012:secret:realtime-gateway-jwt-AbCdEf';

let secretsManager: SecretsManagerStandIn;
let source: SecretSource;

beforeEach(async () => {
  secretsManager = await startSecretsManager(() => secretAnswer(testSecret, secretArn));
  source = secretsManagerSecretSource(secretsManager.environment);
});

afterEach(() => secretsManager.close());

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('expected a failure');
  return outcome;
}

describe('secretsManagerSecretSource', () => {
  it('calls GetSecretValue for the ARN, signed with the environment credentials, and returns SecretString', async () => {
    // WHEN
    const secret = await source.secretString(secretArn);

    // THEN one request, whose signature the SDK's signer recomputes, scoped to the secret's region
    expect(secret).toBe(testSecret);
    expect(secretsManager.requests).toEqual([
      {
        method: 'POST',
        path: '/',
        target: 'secretsmanager.GetSecretValue',
        contentType: 'application/x-amz-json-1.1',
        secretId: secretArn,
        sessionToken: standInCredentials.AWS_SESSION_TOKEN,
        credentialScope: expect.stringMatching(
          /^ASIASTANDINEXAMPLE\/\d{8}\/eu-central-2\/secretsmanager\/aws4_request$/,
        ),
        signatureValid: true,
      },
    ]);
  });

  it('is caught by the stand-in when signed with another secret key (the signature check can fail)', async () => {
    const wrongKey = { ...secretsManager.environment, AWS_SECRET_ACCESS_KEY: 'not-the-stand-in-key' };
    await secretsManagerSecretSource(wrongKey).secretString(secretArn);
    expect(secretsManager.requests.map((request) => request.signatureValid)).toEqual([false]);
  });

  it('signs with long-term credentials too (no session token)', async () => {
    const { AWS_SESSION_TOKEN: _, ...withoutToken } = secretsManager.environment;
    await expect(secretsManagerSecretSource(withoutToken).secretString(secretArn)).resolves.toBe(testSecret);
    expect(secretsManager.requests.map((request) => [request.sessionToken, request.signatureValid])).toEqual([
      [undefined, true],
    ]);
  });

  it('answers undefined for a secret that has only SecretBinary', async () => {
    secretsManager.answerWith(() => ({ status: 200, body: JSON.stringify({ ARN: secretArn, SecretBinary: 'AAEC' }) }));
    await expect(source.secretString(secretArn)).resolves.toBeUndefined();
  });

  it.each([
    [400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret."],
    [400, 'AccessDeniedException', 'User is not authorized to perform: secretsmanager:GetSecretValue'],
    [400, 'DecryptionFailure', 'Access to KMS is not allowed'],
  ])('turns a %i %s into a SecretUnavailableError that quotes it, without retrying', async (status, type, message) => {
    secretsManager.answerWith(() => errorAnswer(status, type, message));
    const error = await failureOf(source.secretString(secretArn));
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect(error.message).toBe(`Secrets Manager answered ${status} ${type}: ${message}`);
    expect(secretsManager.requests).toHaveLength(1);
  });

  it.each([
    [500, 'InternalServiceError', 'An error occurred on the server side.'],
    [400, 'ThrottlingException', 'Rate exceeded'],
  ])('retries a %i %s once and returns the secret when the retry succeeds', async (status, type, message) => {
    let calls = 0;
    secretsManager.answerWith(() =>
      calls++ === 0 ? errorAnswer(status, type, message) : secretAnswer(testSecret, secretArn),
    );
    await expect(source.secretString(secretArn)).resolves.toBe(testSecret);
    expect(secretsManager.requests).toHaveLength(2);
  });

  it('gives up after the retry when the service keeps failing', async () => {
    secretsManager.answerWith(() => errorAnswer(500, 'InternalServiceError', 'An error occurred on the server side.'));
    const error = await failureOf(source.secretString(secretArn));
    expect(error.message).toBe(
      'Secrets Manager answered 500 InternalServiceError: An error occurred on the server side.',
    );
    expect(secretsManager.requests).toHaveLength(2);
  });

  it('refuses an answer that is not JSON', async () => {
    secretsManager.answerWith(() => ({ status: 200, body: '<html>' }));
    const error = await failureOf(source.secretString(secretArn));
    expect(error.message).toMatch(/other than JSON/);
  });

  it('makes no call without credentials, naming the missing variables', async () => {
    const error = await failureOf(
      secretsManagerSecretSource({ AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url }).secretString(secretArn),
    );
    expect(error.message).toMatch(/^No AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set/);
    expect(secretsManager.requests).toHaveLength(0);
  });

  it('gives up after its timeout when Secrets Manager hangs, and says which host did not answer', async () => {
    // GIVEN an answer that never comes
    const hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
    const impatient = secretsManagerSecretSource(
      { ...secretsManager.environment, AWS_ENDPOINT_URL_SECRETS_MANAGER: url },
      { timeoutMs: 100 },
    );

    const error = await failureOf(impatient.secretString(secretArn));

    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect(error.message).toBe(`Secrets Manager at ${new URL(url).host} did not answer`);
    expect((error.cause as Error).name).toBe('TimeoutError');
    hanging.closeAllConnections();
    hanging.close();
  });
});

describe('secretsManagerEndpoint', () => {
  // Every region CDK's region facts know, in the partitions whose endpoints the source derives itself: the
  // endpoint must be `secretsmanager.{region}.{the partition's domain suffix}`, as CDK's facts give it.
  const known = RegionInfo.regions.filter((region) => region.partition && region.partition in partitionDnsSuffixes);

  it('covers every region of the aws partition, and the China and GovCloud partitions', () => {
    const partitions = new Set(known.map((region) => region.partition));
    expect([...partitions].sort()).toEqual(['aws', 'aws-cn', 'aws-us-gov']);
    expect(known.filter((region) => region.partition === 'aws').map((region) => region.name)).toEqual(
      expect.arrayContaining(['eu-central-2', 'ap-southeast-7', 'mx-central-1', 'il-central-1']),
    );
  });

  it('builds the regional endpoint from the secret ARN for each of those regions', () => {
    const mismatches = known
      .map((region) => {
        const arn = `arn:${region.partition}:secretsmanager:${region.name}:123456789012:secret:jwt-AbCdEf`;
        const endpoint = secretsManagerEndpoint(arn, {});
        const expected = `https://secretsmanager.${region.name}.${region.domainSuffix}/`;
        return endpoint.url.href === expected && endpoint.region === region.name ? undefined : [region.name, endpoint];
      })
      .filter((mismatch) => mismatch !== undefined);
    expect(mismatches).toEqual([]);
  });

  it('uses AWS_ENDPOINT_URL_SECRETS_MANAGER when set, keeping the secret region for the signature', () => {
    expect(secretsManagerEndpoint(secretArn, { AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:4566' })).toEqual({
      url: new URL('http://127.0.0.1:4566/'),
      region: 'eu-central-2',
    });
  });

  it('asks for the override in a partition whose endpoints it does not know', () => {
    expect(() =>
      secretsManagerEndpoint('arn:aws-iso:secretsmanager:us-iso-east-1:123456789012:secret:jwt-AbCdEf', {}),
    ).toThrow('No Secrets Manager endpoint known for partition "aws-iso": set AWS_ENDPOINT_URL_SECRETS_MANAGER');
  });
});
