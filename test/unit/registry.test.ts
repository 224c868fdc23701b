import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { DEFAULT_CONNECTION_TTL_SECONDS, MIN_CONNECTION_TTL_SECONDS } from '../../lambdas/core/config';
import { ConfigurationError, ValidationError } from '../../lambdas/core/errors';
import { createConnectionRegistry, readRegistryConfig } from '../../lambdas/core/registry';
import type { ConnectionItem } from '../../lambdas/core/table-schema';

const tableName = 'Connections';
const fixedNow = new Date('2026-11-26T10:00:00.000Z');
const nowSeconds = fixedNow.getTime() / 1000;
const documentMock = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' }));

function registry(extra: { listScanPageSize?: number } = {}) {
  return createConnectionRegistry({ client, tableName, ttlSeconds: 10_800, now: () => fixedNow, ...extra });
}

function item(userId: string, connectionId: string): ConnectionItem {
  return { userId, connectionId, connectedAt: '2026-11-26T09:00:00.000Z', expiresAt: nowSeconds + 3600 };
}

const cursorOf = (userId: string) => Buffer.from(userId).toString('base64url');

beforeEach(() => documentMock.reset());

describe('readRegistryConfig', () => {
  it('reads the table name and defaults the TTL', () => {
    expect(readRegistryConfig({ TABLE_NAME: 'T1' })).toEqual({
      tableName: 'T1',
      ttlSeconds: DEFAULT_CONNECTION_TTL_SECONDS,
    });
  });

  it('names TABLE_NAME when it is missing', () => {
    expect(() => readRegistryConfig({})).toThrow(new ConfigurationError('TABLE_NAME', 'is required but not set'));
  });

  it('refuses a TTL shorter than the 2 h connection limit plus a margin', () => {
    expect(() => readRegistryConfig({ TABLE_NAME: 'T1', CONNECTION_TTL_SECONDS: '7200' })).toThrow(
      /CONNECTION_TTL_SECONDS must be at least 7800/,
    );
    expect(
      readRegistryConfig({ TABLE_NAME: 'T1', CONNECTION_TTL_SECONDS: String(MIN_CONNECTION_TTL_SECONDS) }).ttlSeconds,
    ).toBe(MIN_CONNECTION_TTL_SECONDS);
  });
});

describe('register and remove', () => {
  it('puts the connection with connectedAt now and expiresAt now + TTL', async () => {
    // Prepare
    documentMock.on(PutCommand).resolves({});
    // Act
    const registered = await registry().register({ userId: 'user123', connectionId: 'abc=' });
    // Assess
    const expected = {
      userId: 'user123',
      connectionId: 'abc=',
      connectedAt: '2026-11-26T10:00:00.000Z',
      expiresAt: nowSeconds + 10_800,
    };
    expect(registered).toEqual(expected);
    expect(documentMock).toHaveReceivedCommandWith(PutCommand, { TableName: tableName, Item: expected });
  });

  it('writes the protocol of a Socket.IO connection, and nothing for a JSON one (old items read the same)', async () => {
    documentMock.on(PutCommand).resolves({});

    await registry().register({ userId: 'user123', connectionId: 'sio=', protocol: 'socket.io' });
    await registry().register({ userId: 'user123', connectionId: 'json=', protocol: 'json' });

    const items = documentMock.commandCalls(PutCommand).map((call) => call.args[0].input.Item);
    expect(items[0]).toMatchObject({ connectionId: 'sio=', protocol: 'socket.io' });
    expect(items[1]).not.toHaveProperty('protocol');
  });

  it('reads the protocol back, and an item without it as the JSON protocol', async () => {
    documentMock.on(QueryCommand).resolves({
      Items: [
        { userId: 'u', connectionId: 'a', connectedAt: 't', expiresAt: nowSeconds + 60, protocol: 'socket.io' },
        { userId: 'u', connectionId: 'b', connectedAt: 't', expiresAt: nowSeconds + 60 },
      ],
    });

    const [socketIo, json] = await registry().connectionsOf('u');

    expect(socketIo.protocol).toBe('socket.io');
    expect(json).not.toHaveProperty('protocol');
  });

  it('deletes by key', async () => {
    documentMock.on(DeleteCommand).resolves({});
    await registry().remove('user123', 'abc=');
    expect(documentMock).toHaveReceivedCommandWith(DeleteCommand, {
      TableName: tableName,
      Key: { userId: 'user123', connectionId: 'abc=' },
    });
  });

  it('passes DynamoDB failures on instead of hiding them', async () => {
    documentMock.on(PutCommand).rejects(new Error('ProvisionedThroughputExceeded'));
    await expect(registry().register({ userId: 'u', connectionId: 'c' })).rejects.toThrow(
      'ProvisionedThroughputExceeded',
    );
  });
});

describe('connectionsOf', () => {
  it('queries the user partition, filters expired items and follows LastEvaluatedKey', async () => {
    // Prepare: two pages
    documentMock
      .on(QueryCommand)
      .resolvesOnce({ Items: [item('user123', 'a=')], LastEvaluatedKey: { userId: 'user123', connectionId: 'a=' } })
      .resolvesOnce({ Items: [item('user123', 'b=')] });
    // Act
    const connections = await registry().connectionsOf('user123');
    // Assess
    expect(connections.map((c) => c.connectionId)).toEqual(['a=', 'b=']);
    expect(documentMock).toHaveReceivedCommandTimes(QueryCommand, 2);
    expect(documentMock).toHaveReceivedNthSpecificCommandWith(1, QueryCommand, {
      TableName: tableName,
      KeyConditionExpression: 'userId = :userId',
      FilterExpression: 'expiresAt > :now',
      ExpressionAttributeValues: { ':userId': 'user123', ':now': nowSeconds },
      ConsistentRead: true,
      ExclusiveStartKey: undefined,
    });
    expect(documentMock).toHaveReceivedNthSpecificCommandWith(2, QueryCommand, {
      ExclusiveStartKey: { userId: 'user123', connectionId: 'a=' },
    });
  });

  it('answers an empty list for a user with no connection', async () => {
    documentMock.on(QueryCommand).resolves({ Items: [] });
    await expect(registry().connectionsOf('nobody')).resolves.toEqual([]);
  });
});

describe('listConnectedUsers', () => {
  it('groups consecutive items by user and stops at the limit with a cursor of the last user', async () => {
    // Prepare: u1 has two connections; u3 is beyond the limit of 2
    documentMock.on(ScanCommand).resolves({
      Items: [{ userId: 'u1' }, { userId: 'u1' }, { userId: 'u2' }, { userId: 'u3' }],
      LastEvaluatedKey: { userId: 'u3', connectionId: 'x' },
    });
    // Act
    const page = await registry().listConnectedUsers({ limit: 2 });
    // Assess
    expect(page).toEqual({ users: ['u1', 'u2'], nextCursor: cursorOf('u2') });
    expect(documentMock).toHaveReceivedCommandWith(ScanCommand, {
      TableName: tableName,
      FilterExpression: 'expiresAt > :now',
      ProjectionExpression: 'userId',
      ExpressionAttributeValues: { ':now': nowSeconds },
      ExclusiveStartKey: undefined,
    });
  });

  it('resumes after every item of the cursor user, so a user straddling pages is listed once', async () => {
    documentMock.on(ScanCommand).resolves({ Items: [{ userId: 'u3' }] });
    const page = await registry().listConnectedUsers({ limit: 2, cursor: cursorOf('u2') });
    expect(page).toEqual({ users: ['u3'] });
    expect(documentMock).toHaveReceivedCommandWith(ScanCommand, {
      ExclusiveStartKey: { userId: 'u2', connectionId: '\uffff' },
    });
  });

  it('reads further Scan pages until it has the limit, and gives no cursor when the table is exhausted', async () => {
    documentMock
      .on(ScanCommand)
      .resolvesOnce({ Items: [{ userId: 'u1' }], LastEvaluatedKey: { userId: 'u1', connectionId: 'a' } })
      .resolvesOnce({ Items: [], LastEvaluatedKey: { userId: 'u1', connectionId: 'b' } })
      .resolvesOnce({ Items: [{ userId: 'u1' }, { userId: 'u2' }] });
    const page = await registry({ listScanPageSize: 1 }).listConnectedUsers({ limit: 5 });
    expect(page).toEqual({ users: ['u1', 'u2'] });
    expect(documentMock).toHaveReceivedCommandTimes(ScanCommand, 3);
    expect(documentMock).toHaveReceivedNthSpecificCommandWith(1, ScanCommand, { Limit: 1 });
  });

  it('gives no cursor when the limit is reached exactly at the end of the table', async () => {
    documentMock.on(ScanCommand).resolves({ Items: [{ userId: 'u1' }, { userId: 'u2' }] });
    await expect(registry().listConnectedUsers({ limit: 2 })).resolves.toEqual({ users: ['u1', 'u2'] });
  });

  // The last: the cursor of a userId longer than any user may have (a partition key DynamoDB would refuse).
  it.each(['not base64!', '', 'dQx', '_w', cursorOf('u'.repeat(3000))])(
    'refuses the malformed cursor %j with a ValidationError',
    async (cursor) => {
      const listing = registry().listConnectedUsers({ limit: 2, cursor });
      await expect(listing).rejects.toThrow(ValidationError);
      await expect(listing).rejects.toThrow('cursor is not valid');
      expect(documentMock).not.toHaveReceivedCommand(ScanCommand);
    },
  );

  it.each([0, -1, 1.5, 1001])('refuses the limit %j with a ValidationError', async (limit) => {
    await expect(registry().listConnectedUsers({ limit })).rejects.toThrow(/limit must be an integer from 1 to 1000/);
  });
});

describe('scanConnections', () => {
  it('yields each non-empty page, segmented and filtered for expiry', async () => {
    // Prepare
    documentMock
      .on(ScanCommand)
      .resolvesOnce({
        Items: [item('u1', 'a='), item('u2', 'b=')],
        LastEvaluatedKey: { userId: 'u2', connectionId: 'b=' },
      })
      .resolvesOnce({ Items: [], LastEvaluatedKey: { userId: 'u2', connectionId: 'c=' } })
      .resolvesOnce({ Items: [item('u3', 'd=')] });
    // Act
    const pages: ConnectionItem[][] = [];
    for await (const page of registry().scanConnections({ segment: 1, totalSegments: 4, pageSize: 2 })) {
      pages.push(page);
    }
    // Assess
    expect(pages.map((page) => page.map((c) => c.connectionId))).toEqual([['a=', 'b='], ['d=']]);
    expect(documentMock).toHaveReceivedNthSpecificCommandWith(1, ScanCommand, {
      TableName: tableName,
      FilterExpression: 'expiresAt > :now',
      ExpressionAttributeValues: { ':now': nowSeconds },
      Segment: 1,
      TotalSegments: 4,
      Limit: 2,
    });
    expect(documentMock).toHaveReceivedNthSpecificCommandWith(3, ScanCommand, {
      ExclusiveStartKey: { userId: 'u2', connectionId: 'c=' },
    });
  });

  it('refuses a segment outside totalSegments before reading anything', async () => {
    const walk = registry().scanConnections({ segment: 4, totalSegments: 4 });
    await expect(walk[Symbol.asyncIterator]().next()).rejects.toThrow('segment must be an integer from 0 to 3, got 4');
    expect(documentMock).not.toHaveReceivedCommand(ScanCommand);
  });
});
