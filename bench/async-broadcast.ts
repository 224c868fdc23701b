/**
 * The asynchronous broadcast end to end on the local stack: N real sockets, one `POST /websocket/message/broadcast`,
 * and three figures: how long the 202 took, how long until the last socket had the message, and the status route's
 * `createdAt` → `finishedAt`. Figures only; the e2e suite (test/e2e/broadcast-fan-out.test.ts) checks correctness.
 * With `--room`, every socket is made a member of one room and the message is `POST /websocket/message/room` instead:
 * up to `ROOM_SYNC_MAX_MEMBERS` (1,000) members it is posted synchronously (200, no status), beyond it through the
 * same fan-out (202), so the two sides of the threshold can be compared (test/e2e/room-fan-out.test.ts checks them).
 *
 *   npx tsx bench/async-broadcast.ts [--sockets 2400] [--runs 3] [--room]
 */
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import WebSocket from 'ws';
import { signDevToken } from '../local/dev-tokens';
import { type LocalStack, startLocalStack } from '../local/stack';

const { values } = parseArgs({
  options: { sockets: { type: 'string' }, runs: { type: 'string' }, room: { type: 'boolean' } },
});
const sockets = Number(values.sockets ?? 2400);
const runs = Number(values.runs ?? 3);
const room = values.room ? 'bench:room' : undefined;
const users = Math.ceil(sockets / 4);

async function main(): Promise<void> {
  const stack = await startLocalStack({
    wsPort: 0,
    httpPort: 0,
    quiet: true,
    jwtSecret: `bench-${Date.now()}-secret-of-enough-length`,
  });
  const admin = await signDevToken(stack.jwtSecret, 'admin', { scope: 'ws:broadcast ws:rooms', ttl: '1h' });
  const tokens = await Promise.all(
    Array.from({ length: users }, (_, user) => signDevToken(stack.jwtSecret, `b-${user}`, { ttl: '1h' })),
  );
  const received = new Map<string, number>();
  const clients: WebSocket[] = [];
  for (let index = 0; index < sockets; index += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, sockets - index) }, (_, offset) => {
        const socket = new WebSocket(stack.wsUrl, {
          headers: { Authorization: `Bearer ${tokens[(index + offset) % users]}` },
        });
        socket.on('message', (data) => {
          const { id } = JSON.parse(String(data)) as { id: string };
          received.set(id, (received.get(id) ?? 0) + 1);
        });
        return new Promise<WebSocket>((resolve, reject) =>
          socket.once('open', () => resolve(socket)).once('error', reject),
        );
      }),
    );
    clients.push(...batch);
  }

  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.httpUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  if (room) await joinEveryConnection(stack, room);
  console.log(`${sockets} sockets connected; ${runs} ${room ? 'sends to one room of them all' : 'broadcasts'}`);
  console.log('| run | answered | last socket has it | createdAt → finishedAt | delivered | unknown |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (let run = 1; run <= runs; run++) {
    const start = performance.now();
    const accepted = room
      ? await api('POST', '/websocket/message/room', { room, type: 'system', data: { run } })
      : await api('POST', '/websocket/message/broadcast', { type: 'system', data: { run } });
    const answered = performance.now() - start;
    const messageId = String(accepted.body.messageId);
    while ((received.get(messageId) ?? 0) < sockets) await new Promise((resolve) => setTimeout(resolve, 5));
    const allHaveIt = performance.now() - start;
    if (accepted.status === 200) {
      const { delivered } = accepted.body.connections as { delivered: number };
      console.log(
        `| ${run} | 200 in ${answered.toFixed(0)} ms | ${allHaveIt.toFixed(0)} ms | (synchronous) | ${delivered} | 0 |`,
      );
      continue;
    }
    let status = (await api('GET', String(accepted.body.statusUrl))).body;
    while (!status.finishedAt) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = (await api('GET', String(accepted.body.statusUrl))).body;
    }
    const connections = status.connections as { delivered: number; unknown: number };
    const span = Date.parse(String(status.finishedAt)) - Date.parse(String(status.createdAt));
    console.log(
      `| ${run} | ${accepted.status} in ${answered.toFixed(0)} ms | ${allHaveIt.toFixed(0)} ms | ${span} ms | ${connections.delivered} | ${connections.unknown} |`,
    );
  }
  await Promise.all(clients.map((socket) => new Promise((resolve) => socket.once('close', resolve).close())));
  await new Promise((resolve) => setTimeout(resolve, 2000)); // let $disconnect remove the items before dynalite stops
  await stack.stop();
}

/** Makes every registered connection a member of `room`: member items written as the room index stores them. */
async function joinEveryConnection(stack: LocalStack, room: string): Promise<void> {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.dynamoEndpoint,
      region: stack.region,
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    }),
  );
  const items: Array<Record<string, unknown>> = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: stack.tableName, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  const joinedAt = new Date().toISOString();
  for (let index = 0; index < items.length; index += 25) {
    await client.send(
      new BatchWriteCommand({
        RequestItems: {
          [stack.roomTableName]: items.slice(index, index + 25).map((item) => ({
            PutRequest: {
              Item: { room, connectionId: item.connectionId, userId: item.userId, joinedAt, expiresAt: item.expiresAt },
            },
          })),
        },
      }),
    );
  }
  client.destroy();
}

void main();
