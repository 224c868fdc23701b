/**
 * What each named request of the `.http` files must answer when the files run, safe file first, against a fresh local
 * stack with the tokens of user123 (`userToken`) and of an admin (`adminToken`), while user456 has one socket open
 * and user123 none (so every send reaches someone, and `disconnectOther` closes that socket). The files hold requests
 * only (so
 * VS Code REST Client, JetBrains HTTP Client and httpyac all run them); their assertions live here, one row per
 * request name, and `testing-websocket-http.test.ts` requires a row for every request and a request for every row.
 *
 * `body` is matched with `toMatchObject`: the fields listed must be there with these values, others may follow.
 */
export interface ExpectedAnswer {
  status: number;
  body?: Record<string, unknown>;
}

const anId = expect.stringMatching(/^[0-9a-f-]{36}$/);
const anInstant = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
/** API Gateway's own refusal when the authorizer denies (not the API's error shape). */
const unauthorized = { status: 401, body: { message: 'Unauthorized' } };
const forbidden = (permission: string, what: string) => ({
  status: 403,
  body: { error: { code: 'forbidden', message: `The permission "${permission}" is required to ${what}` } },
});
const invalid = (message: string | RegExp) => ({
  status: 400,
  body: {
    error: {
      code: 'validation_error',
      message: typeof message === 'string' ? message : expect.stringMatching(message),
    },
  },
});
const notConnectedStatus = (userId: string) => ({
  status: 200,
  body: { userId, connected: false, connectionCount: 0, connections: [] },
});
/**
 * user456's one socket got the message. The sender (user123) has no `ws:admin`, so the report is the summary
 * without connection ids (docs/protocol.md, "delivery report").
 */
const deliveredToUser456 = { user456: 'delivered' };
const oneConnectionReached = { delivered: 1, failed: 0, stale: 0 };

/** testing-websocket.http: requests that reach no one but the test users. */
export const safeRequests: Record<string, ExpectedAnswer> = {
  sendToUser: {
    status: 200,
    body: {
      messageId: anId,
      timestamp: anInstant,
      recipients: deliveredToUser456,
      notConnected: [],
      connections: oneConnectionReached,
    },
  },
  sendToUsers: {
    status: 200,
    body: {
      messageId: anId,
      timestamp: anInstant,
      recipients: deliveredToUser456,
      notConnected: ['user123'],
      connections: oneConnectionReached,
    },
  },
  notification: {
    status: 200,
    body: {
      messageId: anId,
      timestamp: anInstant,
      recipients: deliveredToUser456,
      notConnected: [],
      connections: oneConnectionReached,
    },
  },
  connectedUsers: { status: 200, body: { users: ['user456'] } },
  userStatus: {
    status: 200,
    body: {
      userId: 'user456',
      connected: true,
      connectionCount: 1,
      connections: [{ connectionId: expect.any(String), connectedAt: anInstant }],
    },
  },
  myStatus: notConnectedStatus('user123'),
  ownStatusByUserRoute: notConnectedStatus('user123'),
  noToken: unauthorized,
  badToken: unauthorized,
  connectedUsersForbidden: forbidden('ws:admin', 'list connected users'),
  otherStatusForbidden: forbidden('ws:admin', "see another user's status"),
  roomSendForbidden: {
    status: 403,
    body: {
      error: {
        code: 'forbidden',
        message:
          'Sending to room "testers:demo" needs the permission "room:testers:demo" (or a room: pattern granting it) or "ws:rooms"',
      },
    },
  },
  badRoomName: {
    status: 400,
    body: { error: { code: 'invalid_room', message: 'room may contain only letters, digits and _ - . : @ / = +' } },
  },
  roomMembersForbidden: {
    status: 403,
    body: {
      error: {
        code: 'forbidden',
        message:
          'room "chat:42" is not granted to this caller: the token needs a permission "room:<pattern>" matching "chat:42" (e.g. "room:chat:42") or the permission "ws:rooms"',
      },
    },
  },
  roomJoinOtherForbidden: forbidden(
    'ws:rooms',
    "manage other users' room memberships or rooms the token does not grant",
  ),
  malformedJson: { status: 400, body: { error: { code: 'invalid_json', message: 'Request body is not valid JSON' } } },
  missingUserId: invalid('userId is required'),
  emptyUserId: invalid('userId must not be empty'),
  typeNotString: invalid('type must be a string'),
  typeBadCharacters: invalid(/^type must start with a letter or digit/),
  emptyUserIds: invalid('userIds must not be empty'),
  repeatedUserIds: invalid(/^userIds\[1\] repeats "user456"; user ids must be unique$/),
  notificationWithoutTitle: invalid('title is required'),
  badLimit: invalid('limit must be an integer from 1 to 100'),
  unknownRoute: {
    status: 404,
    body: {
      error: {
        code: 'not_found',
        message: expect.stringMatching(/^No route POST \/websocket\/message\/nobody-home\. Routes: POST /),
      },
    },
  },
  unknownRouteWithoutToken: unauthorized,
};

/** testing-websocket-all-users.http: broadcast and disconnect, which reach every connected user. */
export const allUsersRequests: Record<string, ExpectedAnswer> = {
  broadcastForbidden: forbidden('ws:broadcast', 'broadcast'),
  disconnectOtherForbidden: forbidden('ws:admin', 'disconnect another user'),
  // Accepted at once: the broadcast worker posts it (follow it at statusUrl, GET /websocket/broadcasts/{id}).
  broadcast: {
    status: 202,
    body: {
      broadcastId: anId,
      messageId: anId,
      timestamp: anInstant,
      state: 'queued',
      slices: 4,
      statusUrl: expect.stringMatching(/^\/websocket\/broadcasts\/[0-9a-f-]{36}$/),
    },
  },
  disconnectSelf: { status: 200, body: { userId: 'user123', disconnected: 0 } },
  disconnectOther: { status: 200, body: { userId: 'user456', disconnected: 1 } },
};
