import { DynamoDBClient, PutItemCommand, QueryCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
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
