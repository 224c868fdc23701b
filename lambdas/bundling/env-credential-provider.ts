import { fromEnv } from '@aws-sdk/credential-provider-env';
import { CredentialsProviderError } from '@smithy/core/config';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Logger } from '@smithy/types';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the deployed Lambda bundles only (an esbuild `alias`, see
 * `lib/bundling.ts`). The SDK clients import that package's `defaultProvider`: a chain of environment, SSO, web
 * identity, INI files, credential process, container and instance metadata providers, with the STS and SSO
 * clients they need. On Lambda the execution role's credentials are always in the environment
 * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), so the rest of the chain is dead weight:
 * 115 to 130 KB of every minified handler. The local stack, the tests and the server library run unbundled and
 * keep the full chain.
 */

/** Variables without which the execution role's credentials are not available. */
export const requiredCredentialVariables = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;

/** What the SDK passes to `credentialDefaultProvider` (its client configuration); only the logger is used. */
export interface EnvCredentialProviderInit {
  logger?: Logger;
}

/**
 * The credential provider the SDK clients of a deployed handler use: the environment only. A missing variable
 * fails the first signed call with an error that names it, instead of a fall-through to providers that do not
 * exist on Lambda.
 *
 * @example
 * // In a bundle, `new DynamoDBClient({})` calls this through the alias; directly:
 * const credentials = await defaultProvider()();
 * // { accessKeyId: 'ASIA...', secretAccessKey: '...', sessionToken: '...' }
 */
export function defaultProvider(init: EnvCredentialProviderInit = {}): AwsCredentialIdentityProvider {
  const fromEnvironment = fromEnv(init.logger ? { logger: init.logger } : {});
  return async (): Promise<AwsCredentialIdentity> => {
    const missing = requiredCredentialVariables.filter((name) => !process.env[name]);
    if (missing.length > 0) {
      throw new CredentialsProviderError(
        `No AWS credentials: ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set. This bundle ` +
          "reads credentials from the environment only, as Lambda provides the execution role's",
        { tryNextLink: false },
      );
    }
    return fromEnvironment();
  };
}
