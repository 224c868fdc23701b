import { allSettingNames, RoomSetting, Setting } from '../lambdas/core/config';
import { parseStartArguments, startUsage } from './cli-arguments';
import { demoAdminScope, demoTokenTtl } from './dev-tokens';
import type { LocalStack } from './stack';

// The SDK warns about Node 20 when it loads; the stack (and with it the SDK) is imported after this is set.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const stackOwnedSettings = new Set<string>([
  Setting.tableName,
  RoomSetting.roomTableName,
  Setting.callbackUrl,
  Setting.jwtSecret,
  Setting.jwtSecretArn,
  Setting.jwksUrl,
  Setting.jwtIssuer,
  Setting.jwtAudience,
]);

/** Shows loopback URLs as `localhost`, as the old server printed them. */
const friendly = (url: string) => url.replace('//127.0.0.1:', '//localhost:');

async function main(): Promise<void> {
  const args = parseStartArguments(process.argv.slice(2));
  if (args.help) {
    console.log(startUsage);
    return;
  }
  const started = Date.now();
  // Lambda settings given in the shell (ALLOWED_ORIGINS, LOG_LEVEL, MAX_USER_IDS, ...) reach the handlers as on
  // AWS; the stack itself decides where the table, the callback URL and the token secret are.
  const environment: Record<string, string> = {};
  for (const name of allSettingNames()) {
    const value = process.env[name];
    if (value && !stackOwnedSettings.has(name)) environment[name] = value;
  }
  // The worker's crash rules: the flag, else the shell's FAN_OUT_FAULTS (the worker refuses a malformed value).
  const fanOutFaults = args.fanOutFaults ?? process.env.FAN_OUT_FAULTS;
  if (fanOutFaults) environment.FAN_OUT_FAULTS = fanOutFaults;
  const { startLocalStack } = await import('./stack');
  const stack = await startLocalStack({
    host: args.host,
    wsPort: args.wsPort,
    httpPort: args.httpPort,
    dataDir: args.dataDir,
    jwtSecret: args.secret ?? process.env.JWT_SECRET,
    environment,
    faults: args.faults,
  });
  installShutdown(stack);

  // The same tokens the test page gets from /local-config.json.
  const tokens = Object.entries(await stack.demoTokens());
  console.log(`realtime-gateway local stack ready in ${Date.now() - started} ms

  WebSocket API   ${friendly(stack.wsUrl)}
  HTTP API        ${friendly(stack.httpUrl)}   (test page at /, ?user=user456 to be someone else)
  @connections    ${friendly(stack.connectionsUrl)}
  registry        table ${stack.tableName} on dynalite ${stack.dynamoEndpoint}${args.dataDir ? ` (data in ${args.dataDir})` : ' (in memory)'}

${stack.faults ? `  ${stack.faults.describe()}   (replay with --fault-seed ${stack.faults.seed})\n` : ''}${fanOutFaults ? `  worker faults   FAN_OUT_FAULTS=${fanOutFaults}\n` : ''}
Tokens (valid ${demoTokenTtl}; more with: npm run token -- <userId> [--scope "..."] [--ttl 1h]):`);
  for (const [user, token] of tokens) {
    console.log(`  ${user.padEnd(8)}${user === 'admin' ? ` (${demoAdminScope})` : ''}\n    ${token}`);
  }
  console.log(`
Try:  npx wscat -c "${friendly(stack.wsUrl)}" -H "Authorization: Bearer <token>"   then send {"action":"hello"}
      curl -X POST ${friendly(stack.httpUrl)}/websocket/message/user -H "Authorization: Bearer <token>" \\
           -H "Content-Type: application/json" -d '{"userId":"user123","type":"chat","data":{"message":"Hello!"}}'
      npm run post -- <connectionId> '{"type":"chat","data":{}}'   @connections by hand (SigV4-signed with the
           stack's key pair in .local/dev-credentials.json; unsigned requests are refused, as on AWS)
Ctrl-C stops everything.`);
}

/** Ctrl-C / SIGTERM: close sockets with 1001, run $disconnect for each, stop dynalite, exit. A second signal forces exit. */
function installShutdown(stack: LocalStack): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    console.log(`\n${signal}: closing connections (1001) and running $disconnect for each...`);
    stack.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`shutdown failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`npm start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
