/**
 * The message log's price in time (issue 12), on the local stack (the real handlers, the emulator, dynalite):
 *
 * 1. The send path with and without the log, in one run: `POST /websocket/message/user` to one connected user until
 *    the message is received, the two kinds interleaved one by one (so a drift in the machine's load hits both
 *    alike); "without" is the same request with `"persist": false`, which skips the log's write and nothing else.
 * 2. A resume of 1,000 missed messages: a client away while 1,000 messages are sent comes back; time from the
 *    reconnect until it has fired the 1,000th, for our adapter (paged `resume` frames) and for an unmodified
 *    socket.io-client (replayed before the CONNECT answer). Three runs each, median.
 *
 * Figures only: nothing passes or fails. Prints Markdown. `npm run bench -- log` runs it alone.
 */
import { io as socketIo } from 'socket.io-client';
import { io } from '../client';
import { signDevToken } from '../local/dev-tokens';
import { type LocalStack, startLocalStack } from '../local/stack';
import { percentile } from './stats';

const sendsPerKind = 300;
const warmupSends = 30;
const missed = 1000;
const resumeRuns = 3;

function progress(line: string): void {
  process.stderr.write(`[log ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function until(predicate: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function post(stack: LocalStack, token: string, body: unknown): Promise<void> {
  const response = await fetch(`${stack.httpUrl}/websocket/message/user`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`send answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
}

/** Send → receive latency, with and without the log, interleaved. */
async function sendPath(stack: LocalStack, senderToken: string): Promise<Record<'with' | 'without', number[]>> {
  const token = await signDevToken(stack.jwtSecret, 'bench-reader');
  const reader = io(stack.wsUrl, { auth: { token } });
  const arrivals = new Map<number, number>();
  reader.on('bench', (data: { n: number }) => arrivals.set(data.n, performance.now()));
  await until(() => reader.connected, 'the reader');
  const samples: Record<'with' | 'without', number[]> = { with: [], without: [] };
  const total = warmupSends + 2 * sendsPerKind;
  for (let n = 0; n < total; n++) {
    const persist = n % 2 === 0;
    const sentAt = performance.now();
    await post(stack, senderToken, { userId: 'bench-reader', type: 'bench', data: { n }, persist });
    await until(() => arrivals.has(n), `message ${n}`);
    if (n >= warmupSends) samples[persist ? 'with' : 'without'].push(arrivals.get(n)! - sentAt);
  }
  reader.disconnect();
  return samples;
}

/** Sends `missed` messages to a user with no connection. */
async function sendMissed(stack: LocalStack, senderToken: string, userId: string): Promise<void> {
  for (let n = 0; n < missed; n++) await post(stack, senderToken, { userId, type: 'bench', data: { n } });
}

/** Our adapter: connected once (a cursor), away for 1,000 messages, back: ms until the 1,000th replayed one. */
async function adapterResume(stack: LocalStack, senderToken: string, run: number): Promise<number> {
  const userId = `bench-away-${run}`;
  const token = await signDevToken(stack.jwtSecret, userId);
  const socket = io(stack.wsUrl, { auth: { token }, reconnection: false });
  let received = 0;
  socket.on('bench', () => {
    received += 1;
  });
  await until(() => socket.connected, 'the first connect');
  await post(stack, senderToken, { userId, type: 'bench', data: { n: -1 } });
  await until(() => received === 1, 'the cursor message');
  socket.disconnect();
  await sendMissed(stack, senderToken, userId);
  const startedAt = performance.now();
  socket.connect();
  await until(() => received === missed + 1, `${missed} replayed messages`);
  const elapsed = performance.now() - startedAt;
  socket.disconnect();
  return elapsed;
}

/** socket.io-client: the same through Socket.IO's recovery (pid and offset in CONNECT). */
async function socketIoResume(stack: LocalStack, senderToken: string, run: number): Promise<number> {
  const userId = `bench-sio-away-${run}`;
  const token = await signDevToken(stack.jwtSecret, userId);
  const stage = new URL(stack.wsUrl);
  const socket = socketIo(`http://${stage.host}`, {
    path: stage.pathname,
    transports: ['websocket'],
    reconnection: false,
    extraHeaders: { Authorization: `Bearer ${token}` },
  });
  let received = 0;
  socket.on('bench', () => {
    received += 1;
  });
  await until(() => socket.connected, 'the first connect');
  await post(stack, senderToken, { userId, type: 'bench', data: { n: -1 } });
  await until(() => received === 1, 'the offset message');
  socket.disconnect();
  await sendMissed(stack, senderToken, userId);
  const startedAt = performance.now();
  socket.connect();
  await until(() => received === missed + 1 && socket.connected, `${missed} recovered events`);
  const elapsed = performance.now() - startedAt;
  if (!socket.recovered) throw new Error('socket.io-client did not recover');
  socket.close();
  return elapsed;
}

function median(values: number[]): number {
  return percentile(values, 50);
}

async function main(): Promise<void> {
  const stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: true });
  try {
    const senderToken = await signDevToken(stack.jwtSecret, 'bench-sender');
    progress(`send path: ${sendsPerKind} sends with the log and ${sendsPerKind} without, interleaved`);
    const sends = await sendPath(stack, senderToken);
    const adapter: number[] = [];
    const sio: number[] = [];
    for (let run = 0; run < resumeRuns; run++) {
      progress(`resume of ${missed} missed messages, run ${run + 1} of ${resumeRuns}`);
      adapter.push(await adapterResume(stack, senderToken, run));
      sio.push(await socketIoResume(stack, senderToken, run));
    }
    const row = (name: string, values: number[]) =>
      `| ${name} | ${percentile(values, 50).toFixed(2)} | ${percentile(values, 99).toFixed(2)} |`;
    const lines = [
      `Send → receive through \`POST /websocket/message/user\`, ${sendsPerKind} of each kind interleaved (after ${warmupSends} warm-up sends), local stack:`,
      '',
      '| send path | p50 ms | p99 ms |',
      '|---|---|---|',
      row('with the log (recorded before posting)', sends.with),
      row('without (`"persist": false`)', sends.without),
      `| ratio with / without | ${(percentile(sends.with, 50) / percentile(sends.without, 50)).toFixed(2)} | ${(percentile(sends.with, 99) / percentile(sends.without, 99)).toFixed(2)} |`,
      '',
      `Resume of ${missed} missed messages (reconnect → the ${missed}th fired), ${resumeRuns} runs:`,
      '',
      '| client | median ms | runs ms | messages/s |',
      '|---|---|---|---|',
      `| our adapter (pages of 100 in \`replay\` frames) | ${median(adapter).toFixed(0)} | ${adapter.map((v) => v.toFixed(0)).join(', ')} | ${((missed / median(adapter)) * 1000).toFixed(0)} |`,
      `| socket.io-client (one post per event, before the CONNECT answer) | ${median(sio).toFixed(0)} | ${sio.map((v) => v.toFixed(0)).join(', ')} | ${((missed / median(sio)) * 1000).toFixed(0)} |`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress(`failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
