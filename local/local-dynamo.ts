import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import {
  type BroadcastTableSchema,
  broadcastTableSchema,
  type ConnectionTableSchema,
  connectionTableSchema,
  type MessageLogTableSchema,
  messageLogTableSchema,
  type RoomTableSchema,
  roomTableSchema,
} from '../lambdas/core/table-schema';
import { listenOnLoopback } from './loopback-server';

/**
 * What the table bootstrap signs dynalite calls with: dynalite checks no signature, the SDK only needs something to
 * sign with. (The functions use the stack's own pair, `dev-credentials.ts`, which `@connections` does check.)
 */
export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const localRegion = 'us-east-1';

export interface LocalDynamo {
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_DYNAMODB`. */
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * dynalite 4.0.0 reads every Query and Scan through a stream over a level iterator and, when the stream ends or is
 * dropped, closes the iterator with `iterator.return()`. The iterators of the level it runs on (abstract-level 3,
 * under memory-level) have no `return()`, only `close()`, so none is ever closed: each stays in the database's set
 * of open resources and pins a snapshot of memory-level's persistent red-black tree, with every key and value that
 * has been deleted since. The soak (`npm run bench:soak`) measured it as about 1.2 KB of heap, and native buffers,
 * per request that never came back. Giving the iterators the `return()` dynalite calls closes them.
 *
 * Installed when an in-memory store starts: the persisted one (`dataDir`, LevelDB through classic-level, for
 * `npm start -- --data`) keeps dynalite's behaviour unless an in-memory one started in the same process, since
 * closing LevelDB's native iterators under dynalite's streams has not been soaked. Returns the prototype it patched,
 * for the test that pins it.
 *
 * @example
 * closeDynaliteIterators(); // before dynalite serves its first read
 */
export function closeDynaliteIterators(): object {
  // The abstract-level that dynalite's memory-level extends, whatever npm hoisted where.
  const fromMemoryLevel = createRequire(createRequire(require.resolve('dynalite')).resolve('memory-level'));
  const { AbstractIterator } = fromMemoryLevel('abstract-level') as { AbstractIterator: { prototype: object } };
  // Keys, values and entries iterators all extend this one (abstract-level's CommonIterator).
  const common = Object.getPrototypeOf(AbstractIterator.prototype) as {
    close(): Promise<void>;
    return?: () => Promise<void>;
  };
  common.return ??= function (this: { close(): Promise<void> }) {
    return this.close();
  };
  return common;
}

/**
 * Starts dynalite in this process on a free loopback port: in memory, or persisted under `dataDir`.
 *
 * @example
 * const dynamo = await startLocalDynamo({ dataDir: '.local/data' });
 * await createConnectionTable(dynamo.endpoint, 'realtime-gateway-connections');
 */
export async function startLocalDynamo(options: { dataDir?: string } = {}): Promise<LocalDynamo> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  if (!options.dataDir) closeDynaliteIterators();
  const server: Server = dynalite({ path: options.dataDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  return listenOnLoopback(server);
}

/**
 * Creates the registry table from the same declaration the CDK construct uses. An existing table (a persisted
 * data folder) is kept. dynalite has no UpdateTimeToLive, and the registry filters expired items on every read,
 * so no TTL is set here.
 *
 * @example
 * await createConnectionTable('http://127.0.0.1:4567', 'realtime-gateway-connections');
 */
export async function createConnectionTable(endpoint: string, tableName: string): Promise<void> {
  await createTable(endpoint, tableName, connectionTableSchema);
}

/**
 * Creates the fan-out state table (asynchronous broadcasts) from its declaration, like the registry's.
 *
 * @example
 * await createFanOutTable('http://127.0.0.1:4567', 'realtime-gateway-fan-out');
 */
export async function createFanOutTable(endpoint: string, tableName: string): Promise<void> {
  await createTable(endpoint, tableName, broadcastTableSchema);
}

/**
 * Creates the room index (`roomTableSchema`) from its declaration, like the registry's.
 *
 * @example
 * await createRoomTable('http://127.0.0.1:4567', 'realtime-gateway-rooms');
 */
export async function createRoomTable(endpoint: string, tableName: string): Promise<void> {
  await createTable(endpoint, tableName, roomTableSchema);
}

/**
 * Creates the message log table (resume, offline delivery) from its declaration, like the registry's.
 *
 * @example
 * await createMessageLogTable('http://127.0.0.1:4567', 'realtime-gateway-message-log');
 */
export async function createMessageLogTable(endpoint: string, tableName: string): Promise<void> {
  await createTable(endpoint, tableName, messageLogTableSchema);
}

/**
 * Creates a table from one of the schema declarations in `lambdas/core/table-schema.ts` (the registry's, the
 * fan-out state's), keeping an existing one. No TTL is set: dynalite has no UpdateTimeToLive, and readers filter
 * expired items themselves.
 *
 * @example
 * await createTable('http://127.0.0.1:4567', 'realtime-gateway-broadcasts', broadcastTableSchema);
 */
export async function createTable(
  endpoint: string,
  tableName: string,
  schema: ConnectionTableSchema | BroadcastTableSchema | RoomTableSchema | MessageLogTableSchema,
): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: localRegion, credentials: localCredentials });
  const { partitionKey, sortKey, billingMode } = schema;
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: billingMode,
        AttributeDefinitions: [
          { AttributeName: partitionKey.name, AttributeType: partitionKey.type },
          { AttributeName: sortKey.name, AttributeType: sortKey.type },
        ],
        KeySchema: [
          { AttributeName: partitionKey.name, KeyType: 'HASH' },
          { AttributeName: sortKey.name, KeyType: 'RANGE' },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  try {
    await untilActive(client, tableName);
  } finally {
    client.destroy();
  }
}

/**
 * dynalite answers CreateTable while the table is still CREATING and marks it ACTIVE from a timer, after one more
 * write (to disk, with a data folder); until then every item operation is answered ResourceNotFoundException. On a
 * loaded machine the first PutItem could arrive first (the persisted-store test failed so in full runs), so the
 * bootstrap waits for ACTIVE, as a client of DynamoDB does.
 */
async function untilActive(client: DynamoDBClient, tableName: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    if (Date.now() > deadline) {
      throw new Error(`table ${tableName} is still ${Table?.TableStatus} after ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
