import { MemoryRegistry } from '../../bench/memory-registry';

// The in-memory registry stands in for DynamoDB in the scale benchmark, where slices resume from checkpoints while
// stale connections are removed: its segments must stay put and `startAfter` must resume, as DynamoDB's do.

async function registryOf(connections: number): Promise<MemoryRegistry> {
  const registry = new MemoryRegistry({ pageSize: 7 });
  for (let index = 0; index < connections; index++) {
    await registry.register({ userId: `user-${index % 40}`, connectionId: `conn-${index}` });
  }
  return registry;
}

async function scanAll(registry: MemoryRegistry, options: Parameters<MemoryRegistry['scanConnections']>[0]) {
  const items = [];
  for await (const page of registry.scanConnections(options)) items.push(...page);
  return items;
}

it('keeps a connection in its segment while other connections are removed', async () => {
  // Prepare
  const registry = await registryOf(300);
  const before = await scanAll(registry, { segment: 2, totalSegments: 5 });
  // Act: remove connections of other segments
  const others = (await scanAll(registry, { segment: 0, totalSegments: 5 })).slice(0, 10);
  for (const item of others) await registry.remove(item.userId, item.connectionId);
  // Assess
  expect(await scanAll(registry, { segment: 2, totalSegments: 5 })).toEqual(before);
});

it('resumes a segment just after a given connection, even one removed since', async () => {
  const registry = await registryOf(300);
  const whole = await scanAll(registry, { segment: 1, totalSegments: 3 });
  const checkpoint = whole[20];
  await registry.remove(checkpoint.userId, checkpoint.connectionId);
  const rest = await scanAll(registry, { segment: 1, totalSegments: 3, startAfter: checkpoint });
  expect(rest).toEqual(whole.slice(21));
});

it('splits the registry into segments that together hold every connection once', async () => {
  const registry = await registryOf(300);
  const ids = [];
  for (let segment = 0; segment < 4; segment++) {
    ids.push(...(await scanAll(registry, { segment, totalSegments: 4 })).map((item) => item.connectionId));
  }
  expect(ids).toHaveLength(300);
  expect(new Set(ids).size).toBe(300);
});
