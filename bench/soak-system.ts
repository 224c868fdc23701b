import { writeHeapSnapshot } from 'node:v8';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { localCredentials, localRegion } from '../local/local-dynamo';
import { startLocalStack } from '../local/stack';
import type { SoakSample, SoakSystemCommand, SoakSystemReport } from './soak-protocol';

/**
 * Child process entry for the soak (`bench/soak.ts`): the local stack alone in its process, so its memory is its
 * own, answering `sample` with that memory, the sockets the emulator holds and the registry's row count.
 *
 * Forked with `--expose-gc`: each sample is taken after a full collection, so the heap figure is what survives
 * (what a leak would grow), not where the collector happened to be in its cycle.
 *
 *   node --expose-gc --import tsx bench/soak-system.ts   (with BENCH_JWT_SECRET set and an IPC channel)
 */

const collectGarbage = (globalThis as { gc?: () => void }).gc;

/** Every row of the table, expired or not (dynalite never removes expired items): what the registry holds. */
async function countRows(client: DynamoDBClient, tableName: string): Promise<number> {
  let rows = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: tableName, Select: 'COUNT', ExclusiveStartKey: startKey as never }),
    );
    rows += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return rows;
}

function report(message: SoakSystemReport): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, () => resolve());
  });
}

async function main(): Promise<void> {
  const jwtSecret = process.env.BENCH_JWT_SECRET;
  if (!jwtSecret) throw new Error('BENCH_JWT_SECRET is required but not set');
  if (!process.send) throw new Error('soak-system.ts must be forked with an IPC channel by bench/soak.ts');
  if (!collectGarbage) throw new Error('soak-system.ts must run with --expose-gc (heap samples follow a collection)');

  const stack = await startLocalStack({ wsPort: 0, httpPort: 0, jwtSecret, quiet: true });
  const dynamo = new DynamoDBClient({
    endpoint: stack.dynamoEndpoint,
    region: localRegion,
    credentials: localCredentials,
  });

  const sample = async (snapshotFile?: string): Promise<SoakSample> => {
    const cpu = process.cpuUsage();
    // Sockets first, rows right after: the closer in time, the fairer the comparison.
    const openConnections = stack.openConnectionCount();
    const registryRows = await countRows(dynamo, stack.tableName);
    collectGarbage();
    const memory = process.memoryUsage();
    if (snapshotFile) writeHeapSnapshot(snapshotFile);
    return {
      at: Date.now(),
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      externalBytes: memory.external,
      openConnections,
      registryRows,
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
  };

  let stopping = false;
  const stopAndExit = async () => {
    if (stopping) return;
    stopping = true;
    try {
      dynamo.destroy();
      await stack.stop();
    } finally {
      process.exit(0);
    }
  };
  process.on('message', (command: SoakSystemCommand) => {
    if (command.kind === 'stop') void stopAndExit();
    if (command.kind === 'sample') {
      sample(command.snapshotFile).then(
        (figures) => report({ kind: 'sample', id: command.id, sample: figures }),
        (error: unknown) =>
          report({
            kind: 'sampleFailed',
            id: command.id,
            message: error instanceof Error ? error.message : String(error),
          }),
      );
    }
  });
  process.on('disconnect', () => void stopAndExit());
  process.on('SIGTERM', () => void stopAndExit());
  await report({ kind: 'ready', endpoints: { wsUrl: stack.wsUrl, httpUrl: stack.httpUrl } });
}

main().catch(async (error: unknown) => {
  await report({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
