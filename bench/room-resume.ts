/**
 * Figures only (no pass or fail): what a resume costs per room the user is in, the input of the README's "a resume,
 * per room the user is in" row. For N rooms, each with a few messages missed, one first replay page is read through
 * `replayPage` (the resume route's core) against dynalite, and the DynamoDB requests it makes are counted, with the
 * read units DynamoDB would charge (strongly consistent: 1 per 4 KB a request reads, at least 1) and the time.
 *
 * Run: `npx tsx bench/room-resume.ts [--rooms 0,1,10,50] [--missed 3]`.
 */

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import dynalite from 'dynalite';
import { createDocumentClient } from '../lambdas/core/clients';
import { createEnvelope } from '../lambdas/core/envelope';
import { logIdFloor } from '../lambdas/core/log-id';
import { createMessageLog, LogStream, readMessageLogConfig } from '../lambdas/core/message-log';
import { replayPage } from '../lambdas/core/resume';
import { createRoomLog } from '../lambdas/core/room-log';
import { createMessageLogTable } from '../local/local-dynamo';

const { values } = parseArgs({
  options: { rooms: { type: 'string', default: '0,1,10,50' }, missed: { type: 'string', default: '3' } },
});
const roomCounts = values.rooms.split(',').map(Number);
const missed = Number(values.missed);

async function main(): Promise<void> {
  const server: Server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tableName = 'room-resume-bench';
  await createMessageLogTable(endpoint, tableName);
  const client = createDocumentClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  // Counts each request and the bytes of items it answered (what read units are charged on).
  let requests = 0;
  let readUnits = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      requests += 1;
      const items = (result.output as { Items?: unknown[] } | undefined)?.Items ?? [];
      const bytes = items.reduce<number>((sum, item) => sum + JSON.stringify(item).length, 0);
      readUnits += Math.max(1, Math.ceil(bytes / 4096));
      return result;
    },
    { step: 'deserialize', name: 'countRequests' },
  );
  const config = readMessageLogConfig({ MESSAGE_LOG_TABLE_NAME: tableName })!;
  const log = createMessageLog({ client, config });
  const rooms = createRoomLog({ client, config });

  console.log(`| rooms | missed per room | requests | read units (≈) | ms |`);
  console.log(`| ----- | --------------- | -------- | -------------- | -- |`);
  for (const count of roomCounts) {
    const userId = `reader-${count}`;
    const since = logIdFloor(Date.now() - 1000);
    for (let r = 0; r < count; r++) await rooms.joined(userId, `room-${count}-${r}`, { since });
    const cursor = logIdFloor(Date.now());
    await new Promise((resolve) => setTimeout(resolve, 2));
    for (let r = 0; r < count; r++) {
      for (let m = 0; m < missed; m++) {
        await log.record(createEnvelope('chat', { r, m, text: 'x'.repeat(200) }), [
          LogStream.room(`room-${count}-${r}`),
        ]);
      }
    }
    await log.record(createEnvelope('chat', { own: true }), [LogStream.user(userId)]);
    requests = 0;
    readUnits = 0;
    const started = performance.now();
    const page = await replayPage(log, userId, { after: cursor }, rooms);
    const ms = performance.now() - started;
    console.log(
      `| ${count} | ${missed} | ${requests} | ${readUnits} | ${ms.toFixed(1)} | (${page.data.messages.length} replayed)`,
    );
  }
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
