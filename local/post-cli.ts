import { parsePostArguments, postUsage } from './cli-arguments';
import { readOrCreateDevCredentials } from './dev-credentials';
import { localRegion } from './local-dynamo';
import { devCredentialsFile } from './local-paths';

// The SDK warns about Node 20 when it loads; it is imported after this is set.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// `npm run post -- <connectionId> '<json>'` (and --get, --delete): @connections by hand, signed as the handlers sign.
async function main(): Promise<void> {
  const args = parsePostArguments(process.argv.slice(2));
  if (args.help) {
    console.log(postUsage);
    return;
  }
  const { ApiGatewayManagementApiClient, DeleteConnectionCommand, GetConnectionCommand, PostToConnectionCommand } =
    await import('@aws-sdk/client-apigatewaymanagementapi');
  const client = new ApiGatewayManagementApiClient({
    endpoint: args.url,
    region: localRegion,
    credentials: await readOrCreateDevCredentials(devCredentialsFile),
    maxAttempts: 1,
  });
  const ConnectionId = args.connectionId!;
  if (args.method === 'GET') {
    const { ConnectedAt, LastActiveAt, Identity } = await client.send(new GetConnectionCommand({ ConnectionId }));
    console.log(JSON.stringify({ ConnectedAt, LastActiveAt, Identity }, null, 2));
  } else if (args.method === 'DELETE') {
    await client.send(new DeleteConnectionCommand({ ConnectionId }));
    console.log(`closed ${ConnectionId}`);
  } else {
    await client.send(new PostToConnectionCommand({ ConnectionId, Data: args.data ?? '' }));
    console.log(`sent to ${ConnectionId}`);
  }
}

main().catch((error: unknown) => {
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  console.error(`post: ${status ? `${status} ${name}: ` : ''}${message}`);
  process.exitCode = status === 410 ? 3 : 2;
});
