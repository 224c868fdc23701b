import { type Environment, optionalInteger } from './config';

/**
 * Reads a Secrets Manager secret without the AWS SDK, through the AWS Parameters and Secrets Lambda Extension
 * (a Lambda layer the CDK construct attaches to the token verifiers in secret mode). The extension serves
 * `GET http://localhost:{port}/secretsmanager/get?secretId={arn}` inside the execution environment, signs the
 * GetSecretValue call with the function's role itself and answers with its JSON. Why not the SDK client: it
 * brings about 300 KB of SDK core into a bundle whose budget is 40 KB (the authorizer runs on every connect,
 * before the handshake completes).
 */

/** The extension's port setting (the layer reads the same variable). */
export const extensionPortSetting = 'PARAMETERS_SECRETS_EXTENSION_HTTP_PORT';
export const DEFAULT_EXTENSION_PORT = 2773;
/** The extension requires the session token of the execution role in this header, so only this sandbox may ask. */
export const extensionTokenHeader = 'X-Aws-Parameters-Secrets-Token';
/** A cold start should not hang on a stuck extension: the first verification then fails and the next retries. */
export const EXTENSION_TIMEOUT_MS = 5000;

/** Where the verification secret's string comes from, given its ARN. */
export interface SecretSource {
  /** Resolves with the secret's `SecretString`, undefined when it has none (a binary secret). */
  secretString(secretArn: string): Promise<string | undefined>;
}

/** The extension could not give the secret: it is not attached, not ready, refused, or answered something else. */
export class SecretUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretUnavailableError';
  }
}

export interface ExtensionSecretSourceOptions {
  /** Defaults to the global `fetch` (Node's built-in client: nothing to bundle). */
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/**
 * A {@link SecretSource} over the Parameters and Secrets extension. The port is read and checked here, once, at
 * cold start; the session token is read per request (it is the execution role's, present on Lambda). Callers
 * cache the result: the authorizers fetch once per cold start.
 *
 * @example
 * const source = extensionSecretSource(process.env);
 * const secret = await source.secretString(process.env.JWT_SECRET_ARN!);
 */
export function extensionSecretSource(env: Environment, options: ExtensionSecretSourceOptions = {}): SecretSource {
  const port = optionalInteger(env, extensionPortSetting, DEFAULT_EXTENSION_PORT, { min: 1, max: 65535 });
  const fetchFrom = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? EXTENSION_TIMEOUT_MS;

  return {
    async secretString(secretArn: string): Promise<string | undefined> {
      const sessionToken = env.AWS_SESSION_TOKEN;
      if (!sessionToken) {
        throw new SecretUnavailableError(
          'AWS_SESSION_TOKEN is not set: the Parameters and Secrets extension only answers with it (this is not a Lambda environment)',
        );
      }
      const url = new URL(`http://localhost:${port}/secretsmanager/get`);
      url.searchParams.set('secretId', secretArn);
      let response: Response;
      try {
        response = await fetchFrom(url, {
          headers: { [extensionTokenHeader]: sessionToken },
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw new SecretUnavailableError(
          `The Parameters and Secrets extension did not answer on port ${port}; is its layer attached to this function?`,
          { cause: error },
        );
      }
      const body = await response.text().catch(() => '');
      if (!response.ok) {
        // The extension relays Secrets Manager's error (AccessDenied, ResourceNotFound, ...) as plain text.
        throw new SecretUnavailableError(
          `The Parameters and Secrets extension answered ${response.status}: ${body.trim().slice(0, 300) || '(no body)'}`,
        );
      }
      let answer: unknown;
      try {
        answer = JSON.parse(body);
      } catch (error) {
        throw new SecretUnavailableError(
          'The Parameters and Secrets extension answered with something other than JSON',
          {
            cause: error,
          },
        );
      }
      const secretString = (answer as { SecretString?: unknown } | null)?.SecretString;
      return typeof secretString === 'string' ? secretString : undefined;
    },
  };
}
