import { runTokenCommand } from './token-command';

// `npm run token -- <userId> [--scope "..."] [--ttl 1h] [--secret-arn ARN | --stack NAME [--region R]]`: prints one
// signed token; `--help` lists the options.
runTokenCommand(process.argv.slice(2)).then(
  (output) => console.log(output),
  (error: unknown) => {
    console.error(`token: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  },
);
