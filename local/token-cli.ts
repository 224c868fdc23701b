import { parseTokenArguments, tokenUsage } from './cli-arguments';
import { readOrCreateDevSecret } from './dev-secret';
import { parseTtlSeconds, signDevToken } from './dev-tokens';
import { devSecretFile } from './local-paths';

// `npm run token -- <userId> [--scope "..."] [--ttl 1h]`: prints one signed development token.
async function main(): Promise<void> {
  const args = parseTokenArguments(process.argv.slice(2));
  if (args.help) {
    console.log(tokenUsage);
    return;
  }
  if (!args.userId) throw new Error(`a userId is required\n\n${tokenUsage}`);
  if (args.ttl !== undefined) parseTtlSeconds(args.ttl);
  const secret = args.secret ?? process.env.JWT_SECRET ?? (await readOrCreateDevSecret(devSecretFile));
  console.log(await signDevToken(secret, args.userId, { scope: args.scope, ttl: args.ttl }));
}

main().catch((error: unknown) => {
  console.error(`token: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
});
