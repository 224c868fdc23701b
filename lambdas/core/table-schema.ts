/**
 * The connection registry's DynamoDB table, declared once. The CDK construct (`lib/`) and the local stack
 * (`local/`) both build the table from this declaration, so a key change cannot drift between them.
 *
 * One item per open WebSocket connection:
 *
 * | attribute      | role                                                      |
 * |----------------|-----------------------------------------------------------|
 * | `userId`       | partition key: all of a user's connections in one Query   |
 * | `connectionId` | sort key: one connection, removed with one DeleteItem     |
 * | `connectedAt`  | ISO 8601 time of `$connect`                               |
 * | `expiresAt`    | epoch seconds; the TTL attribute (reads filter on it too) |
 * | `protocol`     | `socket.io` for a Socket.IO client; absent for the JSON protocol (items written before the |
 * |                | attribute existed read as JSON too), so every send path encodes per connection            |
 */
export const connectionTableSchema = {
  partitionKey: { name: 'userId', type: 'S' },
  sortKey: { name: 'connectionId', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
  billingMode: 'PAY_PER_REQUEST',
} as const;

export type ConnectionTableSchema = typeof connectionTableSchema;

/** The item stored for one open connection. */
export interface ConnectionItem {
  userId: string;
  connectionId: string;
  /** ISO 8601 time at which `$connect` accepted the connection. */
  connectedAt: string;
  /** Epoch seconds after which the item is dead even if `$disconnect` never ran. */
  expiresAt: number;
  /** The wire protocol the connection speaks; absent: the JSON protocol (see `socketio-protocol.ts`). */
  protocol?: 'socket.io';
  /**
   * A Socket.IO connection whose namespace `CONNECT` has not been answered yet: the server is replaying what its
   * client missed, and live senders wait until it is done (`live-handoff.ts`), so nothing arrives twice or out of
   * order. Absent: live.
   */
  replaying?: boolean;
  /** After the replay: the last log id it posted; a live sender skips a message with an id up to this one. */
  liveAfter?: string;
  /** After the replay: when its last (empty) read of the log started, epoch ms. */
  replayReadAt?: number;
  /** The rooms the connection is in (a string set on the item; see `roomTableSchema`). Absent: none. */
  rooms?: string[];
  /**
   * A Socket.IO connection's session (the `pid` its CONNECT was answered with): its joins and leaves keep the user's
   * room records for that session (`room-log.ts`), so a recovered CONNECT restores its rooms.
   */
  session?: string;
}

/**
 * The fan-out's state table, declared once like the registry's: the CDK construct and the local stack both build it
 * from this. It is a table of its own so that a broadcast's Scan of the registry never reads fan-out state.
 *
 * Generic keys, one item family per prefix of `pk` (each family documents its `pk`/`sk` where it is written):
 * a broadcast's status and counters, the checkpoint of each slice of a broadcast, and the windows of the global post
 * budget. `expiresAt` (epoch seconds) is the TTL attribute: state outlives its broadcast by a documented time, and
 * readers filter expired items themselves (DynamoDB's TTL deletes late; dynalite never does).
 */
export const broadcastTableSchema = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
  billingMode: 'PAY_PER_REQUEST',
} as const;

export type BroadcastTableSchema = typeof broadcastTableSchema;

/**
 * The room index, declared once like the registry: the CDK construct and the local stack both build it from this.
 * A table of its own beside the registry (the user index), so a broadcast's Scan of the registry never reads room
 * members and a room's members are one partition, read by one paginated Query.
 *
 * One item per (room, connection):
 *
 * | attribute      | role                                                                        |
 * |----------------|-----------------------------------------------------------------------------|
 * | `room`         | partition key: every member connection of a room in one Query               |
 * | `connectionId` | sort key: one membership, removed with one DeleteItem                       |
 * | `userId`       | the member's user (presence counts connections per user; 410 cleanup)       |
 * | `joinedAt`     | ISO 8601 time of the join                                                   |
 * | `expiresAt`    | epoch seconds: the connection's own `expiresAt`, so a membership never outlives its connection |
 * | `protocol`     | copied from the connection (`socket.io`, else absent): a room send encodes without a registry read |
 *
 * The reverse direction (which rooms a connection is in) is the registry item's `rooms` string set, so `$disconnect`
 * learns a connection's rooms from the DeleteItem it already makes (`ReturnValues: ALL_OLD`), with no index to keep.
 */
export const roomTableSchema = {
  partitionKey: { name: 'room', type: 'S' },
  sortKey: { name: 'connectionId', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
  billingMode: 'PAY_PER_REQUEST',
} as const;

export type RoomTableSchema = typeof roomTableSchema;

/** The item stored for one connection's membership of one room. */
export interface RoomMemberItem {
  room: string;
  connectionId: string;
  userId: string;
  joinedAt: string;
  expiresAt: number;
  protocol?: 'socket.io';
  /**
   * A Socket.IO connection that joined while replaying (a recovered CONNECT restores its session's rooms before the
   * replay reads them): room senders wait for its hand-off like user senders (`live-handoff.ts`), so a room message is
   * neither posted twice nor ahead of the replay. The connection's `connectedAt` comes with it (the abandoned check).
   */
  replaying?: boolean;
  connectedAt?: string;
  /** After that replay, copied from the connection's hand-off (see {@link ConnectionItem.liveAfter}). */
  liveAfter?: string;
  replayReadAt?: number;
}

/**
 * The message log's table, declared once like the others (the CDK construct and the local stack both build it).
 * One item per message per stream (`message-log.ts`):
 *
 * | attribute  | role                                                                                  |
 * |------------|---------------------------------------------------------------------------------------|
 * | `streamId` | partition key: `user#<userId>` (one per recipient), `broadcast`, `room#<room>`         |
 * | `logId`    | sort key: a time-ordered id (`log-id.ts`), so a resume is one Query from a cursor     |
 * | `envelope` | the envelope as posted, log id included (JSON)                                        |
 * | `type`     | the envelope's type, so offline delivery can keep notifications only                  |
 * | `expiresAt`| epoch seconds: the retention (TTL attribute; reads filter on it too)                  |
 * | `offline`  | set on a user item when the user had no live connection when it was sent              |
 *
 * Two other item families live under partition prefixes of their own: a user's room records (`rooms#<userId>`, sort
 * key the room's name; `room-log.ts`) and a user's offline cursor (`offline#<userId>`, sort key `cursor`).
 */
export const messageLogTableSchema = {
  partitionKey: { name: 'streamId', type: 'S' },
  sortKey: { name: 'logId', type: 'S' },
  timeToLiveAttribute: 'expiresAt',
  billingMode: 'PAY_PER_REQUEST',
} as const;

export type MessageLogTableSchema = typeof messageLogTableSchema;
