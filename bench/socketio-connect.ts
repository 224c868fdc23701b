/**
 * What the Engine.IO `open` costs a Socket.IO connect on the local stack. A JSON client can send once the upgrade
 * answered 101; socket.io-client waits for the `open` packet (posted by the opener from its queue once `$connect`
 * returned), then sends CONNECT and waits for its answer (a `$default` round trip) before `connect` fires. Rounds
 * alternate the two kinds, one connection at a time, and print the medians and p90s of:
 * - JSON: upgrade request to `open` (101);
 * - Socket.IO: upgrade request to the Engine.IO `open` packet, and to `connect`.
 * Figures only; the e2e suite (test/e2e/socket-io-client.test.ts) checks correctness.
 *
 *   npx tsx bench/socketio-connect.ts [--rounds 200]
 */
import { parseArgs } from 'node:util';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { signDevToken } from '../local/dev-tokens';
import { startLocalStack } from '../local/stack';
import { median, percentile } from './stats';

const { values } = parseArgs({ options: { rounds: { type: 'string' } } });
const rounds = Number(values.rounds ?? 200);

async function jsonOpen(url: string, token: string): Promise<number> {
  const started = performance.now();
  const socket = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const elapsed = performance.now() - started;
  socket.close();
  await new Promise((resolve) => socket.once('close', resolve));
  return elapsed;
}

async function socketIoConnect(stageUrl: string, token: string): Promise<{ open: number; connect: number }> {
  const stage = new URL(stageUrl);
  const started = performance.now();
  const socket = io(`http://${stage.host}`, {
    path: stage.pathname,
    transports: ['websocket'],
    reconnection: false,
    extraHeaders: { Authorization: `Bearer ${token}` },
  });
  let open = 0;
  socket.io.once('open', () => {
    open = performance.now() - started;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const connect = performance.now() - started;
  socket.close();
  return { open, connect };
}

function line(label: string, samples: number[]): string {
  return `${label.padEnd(44)} median ${median(samples).toFixed(1).padStart(6)} ms   p90 ${percentile(samples, 90)
    .toFixed(1)
    .padStart(6)} ms`;
}

async function main(): Promise<void> {
  const stack = await startLocalStack({
    wsPort: 0,
    httpPort: 0,
    quiet: true,
    jwtSecret: `bench-${Date.now()}-secret-of-enough-length`,
  });
  const token = await signDevToken(stack.jwtSecret, 'bench-user', { ttl: '1h' });
  const json: number[] = [];
  const open: number[] = [];
  const connect: number[] = [];
  // Warm-up: every handler's first invocation loads its module.
  await jsonOpen(stack.wsUrl, token);
  await socketIoConnect(stack.wsUrl, token);
  for (let round = 0; round < rounds; round++) {
    json.push(await jsonOpen(stack.wsUrl, token));
    const socketIo = await socketIoConnect(stack.wsUrl, token);
    open.push(socketIo.open);
    connect.push(socketIo.connect);
  }
  const added = connect.map((value, index) => value - json[index]);
  console.log(`${rounds} rounds, one connection at a time, local stack (${stack.wsUrl})`);
  console.log(line('JSON: upgrade to 101 (ready to send)', json));
  console.log(line('Socket.IO: upgrade to the Engine.IO open', open));
  console.log(line('Socket.IO: upgrade to connect', connect));
  console.log(line('added by Socket.IO (connect - JSON 101)', added));
  await stack.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
