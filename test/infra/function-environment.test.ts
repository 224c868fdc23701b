import { functions } from '../../lambdas/routes';
import { type EnvironmentValues, environmentFor } from '../../lib/function-environment';

const secretArnValues: EnvironmentValues = {
  tableName: 'RegistryTable',
  fanOutTableName: 'FanOutTable',
  roomTableName: 'RoomTable',
  messageLogTableName: 'MessageLogTable',
  queueUrls: {
    broadcastSlices: 'https://sqs.eu-west-1.amazonaws.com/123/slices',
    socketIoOpenings: 'https://sqs.eu-west-1.amazonaws.com/123/openings',
  },
  callbackUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
  tokenVerification: { mode: 'secret', secretArn: 'arn:aws:secretsmanager:eu-west-1:123:secret:jwt' },
  jwtAlgorithms: ['HS256', 'HS512'],
  permissionsClaim: 'permissions',
  allowedOrigins: ['https://app.example.com', 'https://admin.example.com'],
  connectionTtlSeconds: 10800,
  permissions: { send: '', broadcast: 'ws:broadcast', admin: 'ws:admin' },
  maxUserIds: 100,
  sendConcurrency: 200,
  logLevel: 'INFO',
};

describe('environmentFor', () => {
  it('gives an authorizer the JWT settings and origins, and neither the table nor the callback URL', () => {
    // GIVEN secret mode on AWS / WHEN the WebSocket authorizer's environment is derived
    const environment = environmentFor(functions.wsAuthorizer.access, secretArnValues);
    // THEN
    expect(environment).toEqual({
      LOG_LEVEL: 'INFO',
      JWT_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123:secret:jwt',
      JWT_ALGORITHMS: 'HS256,HS512',
      PERMISSIONS_CLAIM: 'permissions',
      ALLOWED_ORIGINS: 'https://app.example.com,https://admin.example.com',
    });
  });

  it('gives a sending function the table, the callback URL, the policy and the delivery settings, no JWT', () => {
    const environment = environmentFor(functions.httpSend.access, secretArnValues);
    expect(environment).toEqual({
      LOG_LEVEL: 'INFO',
      TABLE_NAME: 'RegistryTable',
      CONNECTION_TTL_SECONDS: '10800',
      SEND_PERMISSION: '',
      BROADCAST_PERMISSION: 'ws:broadcast',
      ADMIN_PERMISSION: 'ws:admin',
      CALLBACK_URL: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
      MAX_USER_IDS: '100',
      MESSAGE_LOG_TABLE_NAME: 'MessageLogTable',
      SEND_CONCURRENCY: '200',
      FAN_OUT_TABLE_NAME: 'FanOutTable',
      SLICE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123/slices',
      // A connection found gone (410) leaves its rooms: the sender reaches the room index.
      ROOM_TABLE_NAME: 'RoomTable',
    });
  });

  it('gives the room settings to the functions with room access only', () => {
    const values = {
      ...secretArnValues,
      permissions: { ...secretArnValues.permissions, rooms: 'chat:moderate' },
      rooms: { maxRoomsPerConnection: 20, presenceRoomPrefix: 'live-', presenceMaxMembers: 50 },
    };
    const rooms = environmentFor(functions.httpRooms.access, values);
    expect(rooms).toMatchObject({
      ROOM_TABLE_NAME: 'RoomTable',
      MAX_ROOMS_PER_CONNECTION: '20',
      ROOMS_PERMISSION: 'chat:moderate',
      PRESENCE_ROOM_PREFIX: 'live-',
      PRESENCE_MAX_MEMBERS: '50',
    });
    expect(environmentFor(functions.httpStatus.access, values)).not.toHaveProperty('ROOM_TABLE_NAME');
    expect(environmentFor(functions.wsAuthorizer.access, values)).not.toHaveProperty('ROOMS_PERMISSION');
  });

  it('gives the broadcast worker the fan-out table, the slice queue and the post budget, and nobody else the budget', () => {
    const values = { ...secretArnValues, broadcastSegments: 8, postBudgetPerSecond: 1500 };

    const worker = environmentFor(functions.broadcastWorker.access, values);

    expect(worker).toMatchObject({
      TABLE_NAME: 'RegistryTable',
      CALLBACK_URL: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
      FAN_OUT_TABLE_NAME: 'FanOutTable',
      SLICE_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123/slices',
      POST_BUDGET_PER_SECOND: '1500',
    });
    expect(environmentFor(functions.httpSend.access, values)).not.toHaveProperty('POST_BUDGET_PER_SECOND');
    expect(environmentFor(functions.httpStatus.access, values)).toMatchObject({ FAN_OUT_TABLE_NAME: 'FanOutTable' });
    expect(environmentFor(functions.httpStatus.access, values)).not.toHaveProperty('SLICE_QUEUE_URL');
    expect(environmentFor(functions.wsFrames.access, values)).not.toHaveProperty('FAN_OUT_TABLE_NAME');
  });

  it('gives the room index to the functions that read room members, and the synchronous bound to those that decide', () => {
    const values = { ...secretArnValues, roomSyncMaxMembers: 250, permissions: { roomSend: 'rooms:any' } };

    expect(environmentFor(functions.httpSend.access, values)).toMatchObject({
      ROOM_TABLE_NAME: 'RoomTable',
      ROOM_SYNC_MAX_MEMBERS: '250',
      ROOM_SEND_PERMISSION: 'rooms:any',
    });
    expect(environmentFor(functions.broadcastWorker.access, values)).toMatchObject({ ROOM_TABLE_NAME: 'RoomTable' });
    expect(environmentFor(functions.broadcastWorker.access, values)).not.toHaveProperty('ROOM_SYNC_MAX_MEMBERS');
    expect(environmentFor(functions.httpStatus.access, values)).not.toHaveProperty('ROOM_TABLE_NAME');
    expect(environmentFor(functions.wsConnect.access, values)).not.toHaveProperty('ROOM_TABLE_NAME');
  });

  it('gives the read-only status function the table but no callback URL', () => {
    const environment = environmentFor(functions.httpStatus.access, secretArnValues);
    expect(environment.TABLE_NAME).toBe('RegistryTable');
    expect(environment).not.toHaveProperty('CALLBACK_URL');
    expect(environment).not.toHaveProperty('JWT_SECRET_ARN');
  });

  it('gives a function that touches nothing only the log level', () => {
    expect(environmentFor(functions.wsFrames.access, secretArnValues)).toEqual({ LOG_LEVEL: 'INFO' });
  });

  it('passes the secret itself only when given one (local stack), never alongside an ARN', () => {
    const environment = environmentFor(functions.httpAuthorizer.access, {
      ...secretArnValues,
      tokenVerification: { mode: 'secret', secret: 'local-dev-secret' },
    });
    expect(environment.JWT_SECRET).toBe('local-dev-secret');
    expect(environment).not.toHaveProperty('JWT_SECRET_ARN');
  });

  it('passes the JWKS URL, issuer and audience in JWKS mode, and no secret setting', () => {
    const environment = environmentFor(functions.wsAuthorizer.access, {
      ...secretArnValues,
      tokenVerification: {
        mode: 'jwks',
        jwksUrl: 'https://issuer.example.com/.well-known/jwks.json',
        issuer: 'https://issuer.example.com/',
        audience: 'realtime',
      },
      jwtAlgorithms: ['RS256'],
    });
    expect(environment).toMatchObject({
      JWKS_URL: 'https://issuer.example.com/.well-known/jwks.json',
      JWT_ISSUER: 'https://issuer.example.com/',
      JWT_AUDIENCE: 'realtime',
      JWT_ALGORITHMS: 'RS256',
    });
    expect(environment).not.toHaveProperty('JWT_SECRET_ARN');
    expect(environment).not.toHaveProperty('JWT_SECRET');
  });

  it('leaves out settings whose value is not given, so the reader default applies', () => {
    const environment = environmentFor(functions.wsDisconnect.access, {
      tableName: 'T1x',
      fanOutTableName: 'F1x',
      roomTableName: 'R1x',
      messageLogTableName: 'M1x',
      queueUrls: {
        broadcastSlices: 'https://sqs.eu-west-1.amazonaws.com/123/slices',
        socketIoOpenings: 'https://sqs.eu-west-1.amazonaws.com/123/openings',
      },
      callbackUrl: 'http://127.0.0.1:3001',
      tokenVerification: { mode: 'secret', secret: 's' },
    });
    expect(environment).toEqual({ TABLE_NAME: 'T1x', ROOM_TABLE_NAME: 'R1x', CALLBACK_URL: 'http://127.0.0.1:3001' });
  });
});
