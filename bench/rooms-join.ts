/**
 * What a room request costs on the local stack: one JSON client joins and leaves a room, round after round, timing
 * each request to its answer frame (`joined`, `left`), in a plain room and in a presence room that already holds
 * `--members` other connections (each join and leave there reads the members and, for a user's first join and last
 * leave, posts them a `presence` event). Prints medians and p90s. Figures only; test/e2e/rooms.test.ts checks
 * correctness.
 *
 *   npx tsx bench/rooms-join.ts [--rounds 200] [--members 20]
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { signDevToken } from '../local/dev-tokens';
import { startLocalStack } from '../local/stack';
import { median, percentile } from './stats';

const { values } = parseArgs({ options: { rounds: { type: 'string' }, members: { type: 'string' } } });
const rounds = Number(values.rounds ?? 200);
const members = Number(values.members ?? 20);

/** A JSON client whose next frame of a type can be awaited. */
async function client(
  url: string,
  token: string,
): Promise<{ request(frame: object, answer: string): Promise<number>; close(): void }> {
  const socket = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let waiting: { type: string; done: () => void } | undefined;
  socket.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { type: string; data?: unknown };
    if (frame.type === 'error') throw new Error(`refused: ${JSON.stringify(frame.data)}`);
    if (waiting && frame.type === waiting.type) waiting.done();
  });
  return {
    request(frame, answer) {
      const started = performance.now();
      return new Promise((resolve) => {
        waiting = { type: answer, done: () => resolve(performance.now() - started) };
        socket.send(JSON.stringify(frame));
      });
    },
    close: () => socket.close(),
  };
}

function line(label: string, samples: number[]): string {
  return `${label.padEnd(48)} median ${median(samples).toFixed(1).padStart(6)} ms   p90 ${percentile(samples, 90)
    .toFixed(1)
    .padStart(6)} ms`;
}

async function main(): Promise<void> {
  const stack = await startLocalStack({ wsPort: 0, httpPort: 0, quiet: true });
  try {
    const token = (userId: string) => signDevToken(stack.jwtSecret, userId, { scope: 'room:*' });
    const others = [];
    for (let index = 0; index < members; index++) {
      const other = await client(stack.wsUrl, await token(`member-${index}`));
      await other.request({ action: 'join', room: 'presence-bench' }, 'joined');
      others.push(other);
    }
    const joiner = await client(stack.wsUrl, await token('joiner'));
    const timings = {
      join: [] as number[],
      leave: [] as number[],
      presenceJoin: [] as number[],
      presenceLeave: [] as number[],
    };
    for (let round = 0; round < rounds; round++) {
      timings.join.push(await joiner.request({ action: 'join', room: 'plain-bench' }, 'joined'));
      timings.leave.push(await joiner.request({ action: 'leave', room: 'plain-bench' }, 'left'));
      timings.presenceJoin.push(await joiner.request({ action: 'join', room: 'presence-bench' }, 'joined'));
      timings.presenceLeave.push(await joiner.request({ action: 'leave', room: 'presence-bench' }, 'left'));
    }
    console.log(`${rounds} rounds, one request at a time, local stack (dynalite, emulator) on this machine`);
    console.log(line('join, plain room', timings.join));
    console.log(line('leave, plain room', timings.leave));
    console.log(line(`join, presence room of ${members} (announced)`, timings.presenceJoin));
    console.log(line(`leave, presence room of ${members} (announced)`, timings.presenceLeave));
    joiner.close();
    for (const other of others) other.close();
  } finally {
    await stack.stop();
  }
}

void main();
