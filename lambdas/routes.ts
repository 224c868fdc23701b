/**
 * The route table: every Lambda function of the product, what it may touch, and which WebSocket and HTTP API
 * routes it serves. Declared once; the CDK construct (`lib/`) builds functions, routes, integrations and IAM
 * grants from it, and the local stack (`local/`) dispatches to the same handler modules with it.
 *
 * Every handler module exports `handler`. Paths are relative to the repository root.
 */

/**
 * A DynamoDB action on the registry table, named after what the registry does with it: `Query` (a user's
 * connections), `Scan` (a broadcast, the connected users list), `PutItem` (`$connect`), `DeleteItem`
 * (`$disconnect`, a stale connection, a disconnect), `GetItem` (a sender waiting for a Socket.IO connection's replay
 * to hand over, `live-handoff.ts`), `UpdateItem` (a join or leave: the item's `rooms` set; the hand-off itself, on
 * the Socket.IO CONNECT).
 */
export type TableAction = 'Query' | 'Scan' | 'PutItem' | 'DeleteItem' | 'GetItem' | 'UpdateItem';

/**
 * A DynamoDB action on the room index (`roomTableSchema`): `PutItem` and `DeleteItem` (a join, a leave), `Query` (a
 * room's members: presence, listings, the room senders and the worker's room slices), `BatchWriteItem` (deleting the
 * memberships of a connection that ended: on `$disconnect`, a 410 or a close).
 */
export type RoomTableAction = 'PutItem' | 'DeleteItem' | 'Query' | 'BatchWriteItem' | 'UpdateItem';

/**
 * A DynamoDB action on the fan-out state table (`broadcastTableSchema`): `PutItem` (a producer records a broadcast),
 * `GetItem` and `UpdateItem` (the worker's leases and checkpoints), `Query` (a broadcast's status).
 */
export type FanOutTableAction = 'PutItem' | 'GetItem' | 'UpdateItem' | 'Query';

/**
 * A DynamoDB action on the message log table (`messageLogTableSchema`): `PutItem` (a message to one user, or a
 * broadcast, recorded once), `BatchWriteItem` (a message to several users: one item per recipient), `UpdateItem`
 * (marking a message sent while its recipient was offline), `Query` (a resume, offline delivery).
 */
export type MessageLogAction = 'PutItem' | 'BatchWriteItem' | 'UpdateItem' | 'Query';

/**
 * The queues of {@link queues}, named here rather than derived from it: a function's access names queues and a
 * queue names its consumer function, and a type cannot be derived in both directions.
 */
export type QueueName = 'broadcastSlices' | 'socketIoOpenings';

/** What a function may touch. Each flag maps to one least-privilege grant in the CDK construct. */
export interface FunctionAccess {
  /**
   * The registry actions the function's code uses, and nothing more: only `$connect` may write an item, the
   * status function only reads, and a function that never broadcasts gets no `Scan`. Empty: no table access.
   */
  readonly table: readonly TableAction[];
  /** May call `execute-api:ManageConnections` (post, get, delete) on this API's stage. */
  readonly manageConnections: boolean;
  /** Verifies tokens: reads the JWT signing secret (secret mode) or fetches the JWKS. */
  readonly verifiesTokens: boolean;
  /** The fan-out state table actions the function's code uses. Empty: no access (and no `FAN_OUT_TABLE_NAME`). */
  readonly fanOutTable: readonly FanOutTableAction[];
  /** Queues the function may `sqs:SendMessage` to (and nothing else on them); it gets each one's URL. */
  readonly sendsTo: readonly QueueName[];
  /** The room index actions the function's code uses. Empty: no access (and no `ROOM_TABLE_NAME`). */
  readonly roomTable: readonly RoomTableAction[];
  /** The message log actions the function's code uses. Empty: no access (and no `MESSAGE_LOG_TABLE_NAME`). */
  readonly messageLog: readonly MessageLogAction[];
  /**
   * Sends the `Broadcast Completed` event when the deployment has completion events on: `events:PutEvents` on the
   * completion event bus alone, `dynamodb:Query` on the fan-out state table (the status it carries), and
   * `COMPLETION_EVENT_BUS`. Off: none of the three.
   */
  readonly sendsCompletionEvents: boolean;
}

export interface FunctionDeclaration {
  /** Module exporting `handler`, relative to the repository root. */
  readonly entry: string;
  readonly description: string;
  readonly access: FunctionAccess;
  /**
   * `few`: the function posts to connections, but a bounded few per invocation (presence events: at most
   * `PRESENCE_MAX_MEMBERS`), so it keeps the small memory size instead of the senders' full vCPU.
   * @default - a function that manages connections may post in bulk (a send to users, a broadcast)
   */
  readonly posts?: 'few';
}

/**
 * Whether a function posts in bulk, so it is sized for it (the senders' memory, a larger young generation).
 *
 * @example
 * postsInBulk(functions.httpSend); // true
 * postsInBulk(functions.wsDisconnect); // false: presence events only
 */
export function postsInBulk(declaration: FunctionDeclaration): boolean {
  return declaration.access.manageConnections && declaration.posts !== 'few';
}

const none: FunctionAccess = {
  table: [],
  manageConnections: false,
  verifiesTokens: false,
  fanOutTable: [],
  sendsTo: [],
  roomTable: [],
  messageLog: [],
  sendsCompletionEvents: false,
};

/** What a function that sends to rooms needs: a room's members (Query), and the cleanup after a 410. */
const sendsToRooms: readonly RoomTableAction[] = ['Query', 'BatchWriteItem'];

/** What a function that joins and leaves needs, presence included (a room's members read, events posted). */
const managesMemberships: readonly RoomTableAction[] = ['PutItem', 'DeleteItem', 'Query', 'BatchWriteItem'];

/** A sender records each message for its recipients before posting, and marks it for those who were offline. */
const recordsMessages: readonly MessageLogAction[] = ['PutItem', 'BatchWriteItem', 'UpdateItem'];

/**
 * What joins and leaves need of the log: a join records the room for the user's resumes, an explicit leave ends that
 * record (expires it: nobody deletes from the log but its TTL) or takes a Socket.IO session off it. See `room-log.ts`.
 */
const keepsRoomRecords: readonly MessageLogAction[] = ['UpdateItem'];

/**
 * What a sender needs (the socket's send route, the HTTP send function, direct send): a user's connections (Query),
 * a stale one's removal (DeleteItem), a replaying Socket.IO recipient's hand-off (GetItem), posts, a broadcast or a
 * large room queued for the worker (fan-out PutItem, the slice queue), a room's members, and the message log.
 */
const sender: FunctionAccess = {
  ...none,
  table: ['Query', 'DeleteItem', 'GetItem'],
  manageConnections: true,
  fanOutTable: ['PutItem'],
  sendsTo: ['broadcastSlices'],
  roomTable: sendsToRooms,
  messageLog: recordsMessages,
};

/**
 * What the room functions need (the join, leave and members routes, and the HTTP room routes): the caller's or a
 * user's connections (Query), the registry item's `rooms` (UpdateItem), a gone one's removal (DeleteItem), the member
 * items, presence events (posts), and the user's room records in the log.
 */
const roomManager: FunctionAccess = {
  ...none,
  table: ['Query', 'DeleteItem', 'UpdateItem'],
  manageConnections: true,
  roomTable: managesMemberships,
  messageLog: keepsRoomRecords,
};

/** Every function, by logical id. */
export const functions = {
  wsAuthorizer: {
    entry: 'lambdas/handlers/ws-authorizer.ts',
    description: 'WebSocket $connect REQUEST authorizer: verifies the JWT from any carrier and the Origin',
    access: { ...none, verifiesTokens: true },
  },
  wsConnect: {
    entry: 'lambdas/handlers/ws-connect.ts',
    description: 'WebSocket $connect: records the connection, echoes the subprotocol, queues a Socket.IO open',
    // A Socket.IO connection's Engine.IO `open` cannot be posted before `$connect` returns: it is queued.
    access: { ...none, table: ['PutItem'], sendsTo: ['socketIoOpenings'] },
  },
  wsDisconnect: {
    entry: 'lambdas/handlers/ws-disconnect.ts',
    description:
      'WebSocket $disconnect: removes the connection and its room memberships, announces presence departures',
    // The DeleteItem returns the item's rooms; presence `left` events are posted to the rooms' remaining members.
    access: { ...none, table: ['DeleteItem'], roomTable: ['BatchWriteItem', 'Query'], manageConnections: true },
    posts: 'few',
  },
  wsFrames: {
    entry: 'lambdas/handlers/ws-frames.ts',
    description: 'WebSocket ping, hello and $default: answers with pong, authenticated or error frames',
    access: none,
  },
  wsDefault: {
    entry: 'lambdas/handlers/ws-default.ts',
    description: 'WebSocket $default: Socket.IO frames (connect, ping, hello, send, ...) and unroutable JSON frames',
    // Socket.IO frames are not JSON with an `action`, so all of them arrive here: `send` (to a room too: a large
    // room's send is queued for the worker), `join`, `leave` and `members` included. CONNECT replays what a
    // Socket.IO client missed (log Query) and hands the connection over (UpdateItem); `send` records and waits for a
    // replaying recipient like every sender (GetItem).
    access: {
      ...none,
      table: ['Query', 'DeleteItem', 'GetItem', 'UpdateItem'],
      manageConnections: true,
      fanOutTable: ['PutItem'],
      sendsTo: ['broadcastSlices'],
      // A recovered CONNECT restores the session's rooms (joins, the log's room records) before its replay, and hands
      // those memberships over after it (UpdateItem on the member items).
      roomTable: [...managesMemberships, 'UpdateItem'],
      messageLog: [...recordsMessages, 'Query'],
    },
  },
  wsRooms: {
    entry: 'lambdas/handlers/ws-rooms.ts',
    description: "WebSocket join, leave and members routes: the caller's connection joins or leaves a granted room",
    access: roomManager,
    posts: 'few',
  },
  socketIoPinger: {
    entry: 'lambdas/handlers/socketio-pinger.ts',
    description: 'On a schedule: queues an Engine.IO ping to every Socket.IO connection through the fan-out',
    // The pings are a broadcast with a Socket.IO audience: the worker posts them; this only records and queues.
    access: { ...none, fanOutTable: ['PutItem'], sendsTo: ['broadcastSlices'] },
  },
  socketIoOpener: {
    entry: 'lambdas/handlers/socketio-opener.ts',
    description: 'Posts the Engine.IO open packet to a new Socket.IO connection once its $connect has returned',
    access: { ...none, manageConnections: true },
  },
  wsSend: {
    entry: 'lambdas/handlers/ws-send.ts',
    description: 'WebSocket send route: delivers a message to users or a room and answers with a delivery report',
    // A room beyond the synchronous bound is queued for the worker: the fan-out's PutItem and the slice queue.
    access: sender,
  },
  wsResume: {
    entry: 'lambdas/handlers/ws-resume.ts',
    description: 'WebSocket resume route: answers with a page of the messages a reconnecting client missed',
    // The page is the route response: no post, so no ManageConnections; it reads the log, and writes only the
    // user's offline cursor (UpdateItem) when a client confirms offline delivery.
    access: { ...none, messageLog: ['Query', 'UpdateItem'] },
  },
  httpAuthorizer: {
    entry: 'lambdas/handlers/http-authorizer.ts',
    description: 'HTTP API Lambda authorizer (simple responses): verifies the bearer JWT',
    access: { ...none, verifiesTokens: true },
  },
  httpSend: {
    entry: 'lambdas/handlers/http-send.ts',
    description:
      'HTTP API: send to a user, to users, to a room, notification; accepts a broadcast (or a large room) and queues its slices',
    // No Scan: a broadcast is scanned by the worker, never by the API-fronted function.
    access: sender,
  },
  httpStatus: {
    entry: 'lambdas/handlers/http-status.ts',
    description: 'HTTP API: connected users, a user status, my status, a broadcast status',
    access: { ...none, table: ['Query', 'Scan'], fanOutTable: ['Query'] },
  },
  httpDisconnect: {
    entry: 'lambdas/handlers/http-disconnect.ts',
    description: 'HTTP API: closes every connection of a user',
    // Query: the presence rooms' remaining members hear of the departure (the `$disconnect` after the close finds no item).
    access: {
      ...none,
      table: ['Query', 'DeleteItem'],
      manageConnections: true,
      roomTable: ['BatchWriteItem', 'Query'],
    },
  },
  httpRooms: {
    entry: 'lambdas/handlers/http-rooms.ts',
    description: "HTTP API: a room's members (presence), joining and leaving a room by user or connection",
    access: roomManager,
    posts: 'few',
  },
  directSend: {
    entry: 'lambdas/handlers/direct-send.ts',
    description: 'Send function invoked directly (Lambda Invoke, EventBridge, Step Functions)',
    // A sender that also answers a broadcast's status (a `broadcastStatus` event): the fan-out's Query too.
    access: { ...sender, fanOutTable: ['PutItem', 'Query'] },
  },
  broadcastWorker: {
    entry: 'lambdas/handlers/broadcast-worker.ts',
    description: 'Drains the broadcast slice queue: walks one Scan segment (or a room) per message, claim before post',
    access: {
      ...none,
      table: ['Scan', 'DeleteItem', 'GetItem'],
      // A room slice walks the room's members (one Query); a 410 forgets the connection's memberships.
      roomTable: sendsToRooms,
      manageConnections: true,
      fanOutTable: ['GetItem', 'UpdateItem'],
      // Continuations: a slice that runs short of time queues the rest of its segment.
      sendsTo: ['broadcastSlices'],
      // The run that settles a fan-out's last slice sends its completion event (broadcast-completion.ts).
      sendsCompletionEvents: true,
    },
  },
} as const satisfies Record<string, FunctionDeclaration>;

export type FunctionName = keyof typeof functions;

/** The function an SQS queue feeds through an event source mapping, and how. */
export interface QueueConsumerDeclaration {
  readonly function: FunctionName;
  /** The consumer's timeout; the queue's visibility timeout derives from it. */
  readonly timeoutSeconds: number;
  /** Records per invocation (`BatchSize`). */
  readonly batchSize: number;
  /** Most concurrent invocations the event source mapping starts (`ScalingConfig.MaximumConcurrency`, 2 to 1000). */
  readonly maxConcurrency: number;
}

export interface QueueDeclaration {
  readonly description: string;
  readonly consumer: QueueConsumerDeclaration;
  /** Receives before a message moves to the queue's DLQ (`RedrivePolicy.maxReceiveCount`). */
  readonly maxReceiveCount: number;
  /** How long the DLQ keeps a message (its retention; SQS's maximum is 14 days). */
  readonly deadLetterRetentionDays: number;
}

/**
 * AWS's guidance for a queue behind a Lambda event source mapping: a visibility timeout of at least six times the
 * function's timeout, so a batch the poller retries after throttling is not redelivered while still in flight
 * (Lambda developer guide, "Using Lambda with Amazon SQS", section on the visibility timeout).
 */
export const VISIBILITY_TIMEOUT_PER_CONSUMER_TIMEOUT = 6;

/**
 * Every queue, by logical id. The CDK construct builds each queue, its DLQ, the DLQ's alarm and the event source
 * mapping from it; the local stack starts the same queues in its SQS emulator with the same settings.
 */
export const queues = {
  broadcastSlices: {
    description: 'Slices (Scan segments) of asynchronous broadcasts, drained by the broadcast worker',
    consumer: {
      function: 'broadcastWorker',
      // Five minutes: a slice posts ~5 min x ~7,000/s before it continues in a new message; longer only delays
      // the takeover of a crashed run's lease (the lease lasts as long as the invocation can).
      timeoutSeconds: 300,
      // One slice per invocation: each slice gets the invocation's whole vCPU (the post pipeline is CPU-bound),
      // and a slice's failure is its own message's.
      batchSize: 1,
      maxConcurrency: 10,
    },
    // A slice that failed 5 times (crashes or errors, each resuming from its checkpoint) is poison: to the DLQ.
    maxReceiveCount: 5,
    deadLetterRetentionDays: 14,
  },
  socketIoOpenings: {
    description: 'New Socket.IO connections waiting for their Engine.IO open packet (posted after $connect returns)',
    consumer: {
      function: 'socketIoOpener',
      // An opening retries its post for at most a few seconds (socketio-opening.ts); a client waits 20 s by default.
      timeoutSeconds: 15,
      // Up to 10 openings per invocation without a batching window: a burst of connects shares invocations, and a
      // lone connect is not held back waiting for company.
      batchSize: 10,
      maxConcurrency: 50,
    },
    // An opening that failed twice is late for its client (it reconnects): to the DLQ, counted by its alarm.
    maxReceiveCount: 2,
    deadLetterRetentionDays: 1,
  },
} as const satisfies Record<QueueName, QueueDeclaration>;

/**
 * A queue's visibility timeout in seconds, from its consumer's timeout.
 *
 * @example
 * visibilityTimeoutSeconds(queues.broadcastSlices); // 1800
 */
export function visibilityTimeoutSeconds(queue: QueueDeclaration): number {
  return queue.consumer.timeoutSeconds * VISIBILITY_TIMEOUT_PER_CONSUMER_TIMEOUT;
}

/** A function run on a fixed schedule (an EventBridge rule on AWS, a timer in the local stack). */
export interface ScheduleDeclaration {
  readonly function: FunctionName;
  readonly description: string;
  /** Minutes between two runs. */
  readonly rateMinutes: number;
}

/** Every schedule, by logical id. */
export const schedules = {
  socketIoPings: {
    function: 'socketIoPinger',
    description: 'Engine.IO pings to every Socket.IO connection, so idle ones answer and stay within the idle timeout',
    // Under API Gateway's 10-minute idle timeout with room for the sweep itself (socketio-opening.ts: the heartbeat).
    rateMinutes: 5,
  },
} as const satisfies Record<string, ScheduleDeclaration>;

/** The WebSocket API's route selection expression. */
export const routeSelectionExpression = '$request.body.action';

export interface WebSocketRouteDeclaration {
  readonly routeKey: string;
  readonly function: FunctionName;
  /** Whether the integration's returned `body` is sent back to the caller (a route response). */
  readonly returnResponse: boolean;
  /** Only `$connect` carries the authorizer; API Gateway authorizes nowhere else on a WebSocket API. */
  readonly authorized: boolean;
}

export const webSocketRoutes: readonly WebSocketRouteDeclaration[] = [
  { routeKey: '$connect', function: 'wsConnect', returnResponse: false, authorized: true },
  { routeKey: '$disconnect', function: 'wsDisconnect', returnResponse: false, authorized: false },
  { routeKey: '$default', function: 'wsDefault', returnResponse: true, authorized: false },
  { routeKey: 'ping', function: 'wsFrames', returnResponse: true, authorized: false },
  { routeKey: 'hello', function: 'wsFrames', returnResponse: true, authorized: false },
  { routeKey: 'send', function: 'wsSend', returnResponse: true, authorized: false },
  { routeKey: 'join', function: 'wsRooms', returnResponse: true, authorized: false },
  { routeKey: 'leave', function: 'wsRooms', returnResponse: true, authorized: false },
  { routeKey: 'members', function: 'wsRooms', returnResponse: true, authorized: false },
  { routeKey: 'resume', function: 'wsResume', returnResponse: true, authorized: false },
];

export type HttpMethod = 'GET' | 'POST' | 'DELETE';

export interface HttpRouteDeclaration {
  readonly method: HttpMethod;
  /** Path in API Gateway syntax (`{userId}` for a path parameter). */
  readonly path: string;
  readonly function: FunctionName;
}

/**
 * The HTTP API's catch-all: API Gateway sends a request that matches no other route here, with the route key
 * `$default`, so an unknown route is answered by a function in the API's own error shape rather than by API
 * Gateway's `{"message":"Not Found"}`.
 */
export interface HttpDefaultRouteDeclaration {
  readonly routeKey: '$default';
  readonly function: FunctionName;
}

export type HttpApiRouteDeclaration = HttpRouteDeclaration | HttpDefaultRouteDeclaration;

/** Every HTTP API route; all of them, `$default` included, sit behind the HTTP authorizer. */
export const httpRoutes: readonly HttpApiRouteDeclaration[] = [
  { method: 'POST', path: '/websocket/message/user', function: 'httpSend' },
  { method: 'POST', path: '/websocket/message/users', function: 'httpSend' },
  { method: 'POST', path: '/websocket/message/broadcast', function: 'httpSend' },
  { method: 'POST', path: '/websocket/message/room', function: 'httpSend' },
  { method: 'POST', path: '/websocket/notification', function: 'httpSend' },
  { method: 'GET', path: '/websocket/users/connected', function: 'httpStatus' },
  { method: 'GET', path: '/websocket/users/{userId}/status', function: 'httpStatus' },
  { method: 'GET', path: '/websocket/me/status', function: 'httpStatus' },
  { method: 'GET', path: '/websocket/broadcasts/{broadcastId}', function: 'httpStatus' },
  { method: 'DELETE', path: '/websocket/users/{userId}/disconnect', function: 'httpDisconnect' },
  { method: 'GET', path: '/websocket/rooms/{room}/members', function: 'httpRooms' },
  { method: 'POST', path: '/websocket/rooms/{room}/members', function: 'httpRooms' },
  { method: 'DELETE', path: '/websocket/rooms/{room}/members', function: 'httpRooms' },
  // Answers 404 in the API's error shape; the read-only status function has the least access of them all.
  { routeKey: '$default', function: 'httpStatus' },
];

/**
 * Whether a route is the `$default` catch-all.
 *
 * @example
 * httpRoutes.filter((route) => !isHttpDefaultRoute(route)); // the routes with a method and a path
 */
export function isHttpDefaultRoute(route: HttpApiRouteDeclaration): route is HttpDefaultRouteDeclaration {
  return 'routeKey' in route;
}

/**
 * The route key API Gateway gives an HTTP route (`POST /websocket/message/user`, or `$default`); handlers
 * dispatch on it.
 *
 * @example
 * httpRouteKey({ method: 'GET', path: '/websocket/me/status' }); // 'GET /websocket/me/status'
 */
export function httpRouteKey(
  route: Pick<HttpRouteDeclaration, 'method' | 'path'> | HttpDefaultRouteDeclaration,
): string {
  return 'routeKey' in route ? route.routeKey : `${route.method} ${route.path}`;
}

export { bearerSubprotocolPrefix, webSocketSubprotocol } from './subprotocol';
