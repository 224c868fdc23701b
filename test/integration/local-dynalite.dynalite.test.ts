import type { AddressInfo } from 'node:net';
import { DynamoDBClient, PutItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import {
  closeDynaliteIterators,
  createConnectionTable,
  type LocalDynamo,
  localCredentials,
  localRegion,
  startLocalDynamo,
} from '../../local/local-dynamo';

// The soak found the local stack's heap growing with every Query and Scan: dynalite closes its level iterators with
// `return()`, which abstract-level 3 iterators lack, so none was closed (local/local-dynamo.ts says more).
describe('local dynalite closes the iterator of every read', () => {
  const tableName = 'iterator-check';
  let dynamo: LocalDynamo;
  let client: DynamoDBClient;
  beforeAll(async () => {
    dynamo = await startLocalDynamo();
    await createConnectionTable(dynamo.endpoint, tableName);
    client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: localRegion, credentials: localCredentials });
    for (const userId of ['u1', 'u2', 'u3']) {
      await client.send(
        new PutItemCommand({ TableName: tableName, Item: { userId: { S: userId }, connectionId: { S: 'c1' } } }),
      );
    }
  });
  afterAll(async () => {
    client.destroy();
    await dynamo.stop();
  });

  it('closes one iterator per Query and per Scan, read to the end or stopped by a Limit', async () => {
    // GIVEN a count of iterator closes (a spy that keeps close's behaviour)
    const common = closeDynaliteIterators() as { close(): Promise<void> };
    const close = jest.spyOn(common, 'close');
    try {
      // WHEN reads run: queries read to their end, a scan stopped early by its Limit, a full scan
      for (let index = 0; index < 10; index++) {
        await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'userId = :u',
            ExpressionAttributeValues: { ':u': { S: 'u2' } },
          }),
        );
      }
      await client.send(new ScanCommand({ TableName: tableName, Limit: 1 }));
      await client.send(new ScanCommand({ TableName: tableName }));
      // THEN each read closed its iterator (closing happens as the stream finishes, just after the answer)
      await new Promise((resolve) => setImmediate(resolve));
      expect(close.mock.calls.length).toBeGreaterThanOrEqual(12);
    } finally {
      close.mockRestore();
    }
  });
});

describe('the local table bootstrap', () => {
  it('returns once the table is ACTIVE, so the first write never meets a CREATING table', async () => {
    // GIVEN a dynalite that keeps a new table CREATING for 300 ms (the stack's has 0 ms, plus a write, which a loaded
    // machine can stretch past the next request)
    const server = dynalite({ createTableMs: 300 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new DynamoDBClient({ endpoint, region: localRegion, credentials: localCredentials });
    try {
      // WHEN the bootstrap creates the table and an item is written right after
      await createConnectionTable(endpoint, 'bootstrap-check');
      // THEN the write is accepted
      await expect(
        client.send(
          new PutItemCommand({ TableName: 'bootstrap-check', Item: { userId: { S: 'u' }, connectionId: { S: 'c' } } }),
        ),
      ).resolves.toBeDefined();
    } finally {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
