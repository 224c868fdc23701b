import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { createDocumentClient } from '../../lambdas/core/clients';
import { type ConnectionRegistry, createConnectionRegistry } from '../../lambdas/core/registry';
import { createConnectionTable } from '../../local/local-dynamo';

// The registry against a real DynamoDB-compatible server (dynalite, in process): real Scan ordering, real
// pagination, real filter expressions. dynalite never deletes expired items, which is exactly the lag the
// registry's own expiry filter exists for.

const tableName = 'connections-it';
const ttlSeconds = 3 * 3600;
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
const readTime = new Date('2026-11-26T10:00:00.000Z');
// Registered long enough before `readTime` that `expiresAt` has passed.
const staleTime = new Date(readTime.getTime() - (ttlSeconds + 60) * 1000);

let server: Server;
let endpoint: string;
let client: DynamoDBDocumentClient;
let registry: ConnectionRegistry;
/** userId → live connectionIds, as seeded. */
const live = new Map<string, string[]>();

function registryAt(now: Date, listScanPageSize?: number): ConnectionRegistry {
  return createConnectionRegistry({ client, tableName, ttlSeconds, now: () => now, listScanPageSize });
}

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The same table the local stack creates, from the one schema declaration.
  await createConnectionTable(endpoint, tableName);
  client = createDocumentClient({ endpoint, region: 'us-east-1', credentials });
  registry = registryAt(readTime);

  // 60 users with 1 to 4 live connections each (so many straddle Scan pages), 10 users whose connections have
  // all expired, and every fifth live user also holding one expired connection.
  const stale = registryAt(staleTime);
  const writes: Promise<unknown>[] = [];
  for (let u = 0; u < 60; u++) {
    const userId = `user-${u}`;
    const connectionIds = Array.from({ length: 1 + (u % 4) }, (_, c) => `conn-${u}-${c}=`);
    live.set(userId, connectionIds);
    for (const connectionId of connectionIds) writes.push(registry.register({ userId, connectionId }));
    if (u % 5 === 0) writes.push(stale.register({ userId, connectionId: `old-${u}=` }));
  }
  for (let u = 0; u < 10; u++) {
    writes.push(stale.register({ userId: `gone-${u}`, connectionId: `gone-${u}-a=` }));
    writes.push(stale.register({ userId: `gone-${u}`, connectionId: `gone-${u}-b=` }));
  }
  await Promise.all(writes);
});

afterAll(async () => {
  client?.destroy();
  await new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
});

async function listEveryUser(limit: number, listScanPageSize: number): Promise<{ users: string[]; pages: number }> {
  const lister = registryAt(readTime, listScanPageSize);
  const users: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await lister.listConnectedUsers({ limit, cursor });
    expect(page.users.length).toBeLessThanOrEqual(limit);
    users.push(...page.users);
    cursor = page.nextCursor;
    pages++;
  } while (cursor !== undefined && pages < 1000);
  return { users, pages };
}

describe('listConnectedUsers on dynalite', () => {
  it.each([
    [1, 1],
    [2, 3],
    [7, 3],
    [7, 5],
    [13, 100],
    [1000, 2],
  ])('lists every live user exactly once with limit %i and %i items per Scan', async (limit, scanPageSize) => {
    const { users, pages } = await listEveryUser(limit, scanPageSize);
    expect(users).toHaveLength(60);
    expect(new Set(users)).toEqual(new Set(live.keys()));
    expect(pages).toBe(Math.ceil(60 / limit));
  });

  it('never lists a user whose connections have all expired', async () => {
    const { users } = await listEveryUser(1000, 100);
    expect(users.filter((userId) => userId.startsWith('gone-'))).toEqual([]);
  });
});

describe('connectionsOf on dynalite', () => {
  it('returns only the live connections of the user', async () => {
    const connections = await registry.connectionsOf('user-10');
    expect(connections.map((c) => c.connectionId).sort()).toEqual([...live.get('user-10')!].sort());
    expect(connections[0]).toEqual({
      userId: 'user-10',
      connectionId: 'conn-10-0=',
      connectedAt: readTime.toISOString(),
      expiresAt: readTime.getTime() / 1000 + ttlSeconds,
    });
  });

  it('treats a user with only expired connections as not connected', async () => {
    await expect(registry.connectionsOf('gone-3')).resolves.toEqual([]);
  });
});

describe('scanConnections on dynalite', () => {
  it('covers every live connection exactly once across 4 parallel segments', async () => {
    const walk = async (segment: number) => {
      const seen: string[] = [];
      for await (const page of registry.scanConnections({ segment, totalSegments: 4, pageSize: 5 })) {
        seen.push(...page.map((c) => c.connectionId));
      }
      return seen;
    };
    const segments = await Promise.all([0, 1, 2, 3].map(walk));
    const everyConnection = segments.flat();
    const expected = [...live.values()].flat();
    expect(everyConnection).toHaveLength(expected.length);
    expect(new Set(everyConnection)).toEqual(new Set(expected));
    // A real split, not one segment doing all the work.
    expect(segments.filter((seen) => seen.length > 0).length).toBeGreaterThan(1);
  });
});

describe('register and remove on dynalite', () => {
  it('removes one connection and tolerates removing it again', async () => {
    const mutable = registryAt(readTime);
    await mutable.register({ userId: 'mover', connectionId: 'm-1=' });
    await mutable.register({ userId: 'mover', connectionId: 'm-2=' });
    await mutable.remove('mover', 'm-1=');
    await expect(mutable.remove('mover', 'm-1=')).resolves.toEqual([]);
    expect((await mutable.connectionsOf('mover')).map((c) => c.connectionId)).toEqual(['m-2=']);
    await mutable.remove('mover', 'm-2=');
    await expect(mutable.connectionsOf('mover')).resolves.toEqual([]);
  });
});

describe('the shared client against the local stack', () => {
  it('reaches dynalite through AWS_ENDPOINT_URL_DYNAMODB alone, with no local branch in the code', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });
    const plainClient = createDocumentClient();
    try {
      const viaEnvironment = createConnectionRegistry({
        client: plainClient,
        tableName,
        ttlSeconds,
        now: () => readTime,
      });
      await viaEnvironment.register({ userId: 'env-user', connectionId: 'env-1=' });
      expect((await registry.connectionsOf('env-user')).map((c) => c.connectionId)).toEqual(['env-1=']);
    } finally {
      plainClient.destroy();
      process.env = saved;
    }
  });
});
