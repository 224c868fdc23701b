import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigurationError } from '../../lambdas/core/errors';
import { extensionSecretSource, type SecretSource, SecretUnavailableError } from '../../lambdas/core/secret-source';
import { type SecretsExtensionStandIn, secretAnswer, startSecretsExtension } from '../helpers/secrets-extension';
import { testSecret } from '../helpers/tokens';

const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:realtime-gateway-jwt-AbCdEf';
const sessionToken = 'IQoJb3JpZ2luX2VjEXAMPLEsessiontoken';

let extension: SecretsExtensionStandIn;
let source: SecretSource;

beforeEach(async () => {
  extension = await startSecretsExtension(() => secretAnswer(testSecret, secretArn));
  source = extensionSecretSource({
    PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(extension.port),
    AWS_SESSION_TOKEN: sessionToken,
  });
});

afterEach(() => extension.close());

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('expected a failure');
  return outcome;
}

describe('extensionSecretSource', () => {
  it("asks the extension's secretsmanager/get for the ARN with the session token, and returns SecretString", async () => {
    // WHEN
    const secret = await source.secretString(secretArn);

    // THEN
    expect(secret).toBe(testSecret);
    expect(extension.requests).toEqual([
      { method: 'GET', path: '/secretsmanager/get', secretId: secretArn, token: sessionToken },
    ]);
  });

  it('answers undefined for a secret that has only SecretBinary', async () => {
    extension.answerWith(() => ({ status: 200, body: JSON.stringify({ ARN: secretArn, SecretBinary: 'AAEC' }) }));
    await expect(source.secretString(secretArn)).resolves.toBeUndefined();
  });

  it.each([
    [400, 'AccessDeniedException: not authorized to perform secretsmanager:GetSecretValue'],
    [401, 'Unauthorized'],
    [500, 'extension not ready to serve traffic'],
  ])('turns a %i answer into a SecretUnavailableError that quotes it', async (status, body) => {
    extension.answerWith(() => ({ status, body }));
    const error = await failureOf(source.secretString(secretArn));
    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect(error.message).toBe(`The Parameters and Secrets extension answered ${status}: ${body}`);
  });

  it('says the layer may be missing when nothing listens on the port', async () => {
    // GIVEN port 1, where nothing listens
    const error = await failureOf(
      extensionSecretSource({
        PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '1',
        AWS_SESSION_TOKEN: sessionToken,
      }).secretString(secretArn),
    );

    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect(error.message).toMatch(/did not answer on port 1; is its layer attached/);
  });

  it('refuses an answer that is not JSON', async () => {
    extension.answerWith(() => ({ status: 200, body: '<html>' }));
    const error = await failureOf(source.secretString(secretArn));
    expect(error.message).toMatch(/other than JSON/);
  });

  it('does not call the extension without a session token', async () => {
    const withoutToken = extensionSecretSource({ PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(extension.port) });
    const error = await failureOf(withoutToken.secretString(secretArn));
    expect(error.message).toMatch(/^AWS_SESSION_TOKEN is not set/);
    expect(extension.requests).toHaveLength(0);
  });

  it('gives up after its timeout when the extension hangs', async () => {
    // GIVEN an answer that never comes
    const hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, 'localhost', resolve));
    const port = (hanging.address() as AddressInfo).port;
    const impatient = extensionSecretSource(
      { PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(port), AWS_SESSION_TOKEN: sessionToken },
      { timeoutMs: 100 },
    );

    const error = await failureOf(impatient.secretString(secretArn));

    expect(error).toBeInstanceOf(SecretUnavailableError);
    expect((error.cause as Error).name).toBe('TimeoutError');
    hanging.closeAllConnections();
    hanging.close();
  });

  it.each(['0', '65536', 'http'])(
    'refuses PARAMETERS_SECRETS_EXTENSION_HTTP_PORT=%s at cold start, naming it',
    (port) => {
      const read = () => extensionSecretSource({ PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: port });
      expect(read).toThrow(ConfigurationError);
      expect(read).toThrow(/PARAMETERS_SECRETS_EXTENSION_HTTP_PORT/);
    },
  );
});
