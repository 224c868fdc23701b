import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { newLocalCredentials } from '../../local/dev-credentials';
import { localFunctionEnvironment, runtimeEnvironment } from '../../local/lambda-environment';
import { createConnectionTable, localCredentials, startLocalDynamo } from '../../local/local-dynamo';
import { routedFunctionNames } from '../../local/route-functions';

const input = {
  tableName: 'connections',
  fanOutTableName: 'fan-out',
  roomTableName: 'rooms',
  queueUrls: {
    broadcastSlices: 'http://127.0.0.1:9324/000000000000/broadcast-slices',
    socketIoOpenings: 'http://127.0.0.1:9324/000000000000/socket-io-openings',
  },
  messageLogTableName: 'realtime-gateway-message-log',
  dynamoEndpoint: 'http://127.0.0.1:4567',
  callbackUrl: 'http://127.0.0.1:8090',
  jwtSecret: 'local-secret',
  allowedOrigins: ['http://localhost:8091'],
  logLevel: 'ERROR',
};

describe('each local function gets the settings it gets on AWS', () => {
  it('gives the token secret and origins only to the authorizers', () => {
    expect(localFunctionEnvironment('wsAuthorizer', input)).toMatchObject({
      JWT_SECRET: 'local-secret',
      ALLOWED_ORIGINS: 'http://localhost:8091',
    });
    expect(localFunctionEnvironment('wsAuthorizer', input)).not.toHaveProperty('TABLE_NAME');
    expect(localFunctionEnvironment('wsConnect', input)).not.toHaveProperty('JWT_SECRET');
  });

  it('gives the callback URL only to the functions that post to connections', () => {
    expect(localFunctionEnvironment('httpSend', input)).toMatchObject({
      TABLE_NAME: 'connections',
      CALLBACK_URL: 'http://127.0.0.1:8090',
    });
    expect(localFunctionEnvironment('wsConnect', input)).not.toHaveProperty('CALLBACK_URL');
    expect(localFunctionEnvironment('httpStatus', input)).not.toHaveProperty('CALLBACK_URL');
  });

  it('gives an extra Lambda setting only to the functions that get it on AWS, after their own', () => {
    const extra = { LOG_LEVEL: 'DEBUG', MAX_USER_IDS: '5', JWT_CLOCK_TOLERANCE_SECONDS: '2' };

    expect(localFunctionEnvironment('wsFrames', { ...input, extra })).toEqual({ LOG_LEVEL: 'DEBUG' });
    expect(localFunctionEnvironment('httpSend', { ...input, extra })).toMatchObject({ MAX_USER_IDS: '5' });
    expect(localFunctionEnvironment('httpSend', { ...input, extra })).not.toHaveProperty('JWT_CLOCK_TOLERANCE_SECONDS');
    expect(localFunctionEnvironment('httpAuthorizer', { ...input, extra })).toMatchObject({
      JWT_CLOCK_TOLERANCE_SECONDS: '2',
    });
  });

  it('gives any other extra variable to every function', () => {
    const extra = { POWERTOOLS_LOGGER_LOG_EVENT: 'true' };

    for (const name of ['wsFrames', 'httpAuthorizer'] as const) {
      expect(localFunctionEnvironment(name, { ...input, extra })).toMatchObject(extra);
    }
  });

  it('points the SDK at dynalite through its own endpoint variable, and gives the stack key pair to every function', () => {
    const credentials = newLocalCredentials();

    expect(runtimeEnvironment('http://127.0.0.1:4567', credentials)).toMatchObject({
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:4567',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    });
  });

  it('loads both authorizers, every routed function, the queue consumers and the scheduled function, not the direct-invoke one', () => {
    expect(routedFunctionNames().sort()).toEqual(
      [
        'broadcastWorker',
        'httpAuthorizer',
        'httpDisconnect',
        'httpRooms',
        'httpSend',
        'httpStatus',
        'socketIoOpener',
        'socketIoPinger',
        'wsAuthorizer',
        'wsConnect',
        'wsDefault',
        'wsDisconnect',
        'wsFrames',
        'wsResume',
        'wsRooms',
        'wsSend',
      ].sort(),
    );
  });
});

describe('local dynalite', () => {
  it('keeps the registry across restarts in a data folder it creates, and creating the table again is harmless', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'dynalite-')), 'not', 'yet', 'there');
    const item = { userId: 'user123', connectionId: 'abc=', connectedAt: '2026-11-26T00:00:00.000Z', expiresAt: 1 };

    const first = await startLocalDynamo({ dataDir });
    await createConnectionTable(first.endpoint, 'connections');
    const writer = client(first.endpoint);
    await writer.send(new PutCommand({ TableName: 'connections', Item: item }));
    writer.destroy();
    await first.stop();

    const second = await startLocalDynamo({ dataDir });
    await createConnectionTable(second.endpoint, 'connections');
    const reader = client(second.endpoint);
    const { Item } = await reader.send(
      new GetCommand({ TableName: 'connections', Key: { userId: 'user123', connectionId: 'abc=' } }),
    );
    reader.destroy();
    await second.stop();

    expect(Item).toEqual(item);
  });
});

function client(endpoint: string) {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: localCredentials }),
  );
}
