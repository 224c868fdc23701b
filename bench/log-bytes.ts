/**
 * Figures only (no pass or fail): how many bytes of log and metric lines the handlers write per message, the input of
 * the CloudWatch Logs ingestion line in the README's cost arithmetic ("What it costs").
 *
 * Run: `npx tsx bench/log-bytes.ts [--sends 200]`. One user is connected; each send is a `POST
 * /websocket/message/user` to it through the local stack, whose handlers run at `LOG_LEVEL` INFO with EMF metrics
 * on, as deployed. Counted: what the handlers write to stdout and stderr while the sends run (their JSON log lines
 * and EMF metric lines). Not counted, because only AWS writes them: Lambda's START/END/REPORT lines and API
 * Gateway's access log line.
 */

import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { signDevToken } from '../local/dev-tokens';
import { startLocalStack } from '../local/stack';

const { values } = parseArgs({ options: { sends: { type: 'string', default: '200' } } });
const sends = Number(values.sends);

async function main(): Promise<void> {
  const stack = await startLocalStack({
    wsPort: 0,
    httpPort: 0,
    quiet: false,
    environment: { POWERTOOLS_METRICS_DISABLED: 'false' },
  });
  const receiver = new WebSocket(stack.wsUrl, {
    headers: { Authorization: `Bearer ${await signDevToken(stack.jwtSecret, 'user456')}` },
  });
  await new Promise((resolve, reject) => receiver.once('open', resolve).once('error', reject));
  const senderToken = await signDevToken(stack.jwtSecret, 'user123');
  let received = 0;
  receiver.on('message', () => received++);
  // One unmeasured send: the first invocation of a handler logs its cold start.
  await send(stack.httpUrl, senderToken, -1);

  const counted = { stdout: 0, stderr: 0, lines: 0 };
  const restore = (['stdout', 'stderr'] as const).map((name) => {
    const stream = process[name];
    const write = stream.write.bind(stream);
    stream.write = ((chunk: string | Uint8Array) => {
      counted[name] += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
      counted.lines += String(chunk)
        .split('\n')
        .filter((line) => line.trim() !== '').length;
      return true;
    }) as typeof stream.write;
    return () => {
      stream.write = write;
    };
  });
  for (let i = 0; i < sends; i++) await send(stack.httpUrl, senderToken, i);
  for (const undo of restore) undo();

  const bytes = counted.stdout + counted.stderr;
  console.log(
    `log-bytes: ${sends} sends of POST /websocket/message/user to one connection, LOG_LEVEL INFO, metrics on`,
  );
  console.log(`delivered: ${received - 1} of ${sends}`);
  console.log(`handler log and metric lines per send: ${(counted.lines / sends).toFixed(1)}`);
  console.log(`bytes per send: ${(bytes / sends).toFixed(0)} (stdout ${counted.stdout}, stderr ${counted.stderr})`);
  receiver.close();
  await stack.stop();
}

async function send(httpUrl: string, token: string, index: number): Promise<void> {
  const response = await fetch(`${httpUrl}/websocket/message/user`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ userId: 'user456', type: 'chat', data: { message: `hello ${index}` } }),
  });
  if (response.status !== 200) throw new Error(`send ${index} answered ${response.status}: ${await response.text()}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
