import { parseTokenArguments, tokenUsage } from './cli-arguments';
import { type DeployedSecretLocation, readDeployedSecret } from './deployed-secret';
import { readOrCreateDevSecret } from './dev-secret';
import { parseTtlSeconds, signDevToken } from './dev-tokens';
import { devSecretFile } from './local-paths';

/** What {@link runTokenCommand} reads besides its arguments; tests replace them. */
export interface TokenCommandDependencies {
  env?: NodeJS.ProcessEnv;
  /** Reads a deployed stack's secret (default: Secrets Manager and CloudFormation with the default credentials). */
  readDeployedSecret?: (location: DeployedSecretLocation) => Promise<string>;
  /** Reads the local stack's secret (default: `.local/dev-secret`, created if missing). */
  readLocalSecret?: () => Promise<string>;
}

/**
 * `npm run token`: returns what it prints, a signed token (or the usage for `--help`). The secret is `--secret`, a
 * deployed stack's (`--secret-arn`, `--stack`), else the local stack's. Errors name the bad option or the AWS step.
 *
 * @example
 * await runTokenCommand(['user123', '--scope', 'ws:admin', '--stack', 'RealtimeGateway-dev', '--region', 'eu-west-1']);
 */
export async function runTokenCommand(argv: string[], deps: TokenCommandDependencies = {}): Promise<string> {
  const args = parseTokenArguments(argv);
  if (args.help) return tokenUsage;
  if (!args.userId) throw new Error(`a userId is required\n\n${tokenUsage}`);
  // Checked before any AWS call, so a typo costs no round trip.
  if (args.ttl !== undefined) parseTtlSeconds(args.ttl);
  const env = deps.env ?? process.env;
  let secret: string;
  if (args.secretArn !== undefined) {
    secret = await (deps.readDeployedSecret ?? readDeployedSecret)({ secretArn: args.secretArn, region: args.region });
  } else if (args.stack !== undefined) {
    secret = await (deps.readDeployedSecret ?? readDeployedSecret)({ stackName: args.stack, region: args.region });
  } else {
    secret =
      args.secret ?? env.JWT_SECRET ?? (await (deps.readLocalSecret ?? (() => readOrCreateDevSecret(devSecretFile)))());
  }
  return signDevToken(secret, args.userId, { scope: args.scope, ttl: args.ttl });
}
