import {
  type ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { BoundedPool, mapBounded } from './bounded';
import type { Envelope } from './envelope';
import { handoffDecision, type LoggedMessage, needsHandoff } from './live-handoff';
import type { ConnectionRegistry } from './registry';
import type { RoomRegistry } from './rooms';
import { encodeEnvelopeEvent, encodeServerDisconnect } from './socketio-protocol';
import type { ConnectionItem } from './table-schema';
import { encodeEnvelope } from './validation';

/**
 * The delivery core, shared by the HTTP send function, the socket's `send` route, the direct-invoke function and
 * the server library. It knows nothing of Lambda events: the registry, the management API client, the clock of
 * the invocation and the observability sinks are parameters.
 *
 * Delivery is at most once. A post answered 410 (`GoneException`) means the recipient's connection is gone
 * without `$disconnect` having run: that connection (the recipient's, never the sender's) is removed from the
 * registry and reported as stale. Any other failure is reported per connection and logged; nothing of the kind
 * is thrown. Throttling (429, `LimitExceededException`) is retried by the SDK itself (standard retry mode,
 * configured in `clients.ts`) before a post counts as failed.
 */

/** The subset of a Powertools Logger the core uses, so tests and backends can pass their own. */
export interface DeliveryLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
}

/** The subset of Powertools Metrics the core uses. */
export interface DeliveryMetrics {
  addMetric(name: string, unit: 'Count', value: number): unknown;
}

/** Metric names (the same strings as `MetricName` in `observability.ts`, kept here so the core needs no Powertools). */
export const DeliveryMetric = {
  delivered: 'MessagesDelivered',
  staleRemoved: 'StaleConnectionsRemoved',
  postsFailed: 'PostsFailed',
} as const;

export interface DeliveryDependencies {
  registry: ConnectionRegistry;
  /**
   * The room index: a connection found gone (410) or closed also leaves its rooms ({@link removeEndedConnection}).
   * Absent: memberships of such connections are left to their TTL.
   */
  rooms?: Pick<RoomRegistry, 'forget'>;
  managementClient: ApiGatewayManagementApiClient;
  logger?: DeliveryLogger;
  metrics?: DeliveryMetrics;
  /** Most posts in flight at once (`SEND_CONCURRENCY`). */
  concurrency: number;
  /** Milliseconds left in the invocation (Lambda's `context.getRemainingTimeInMillis`); absent: no deadline. */
  remainingTimeMs?: () => number;
  /** A broadcast starts no new page once fewer than this many ms remain (`BROADCAST_TIME_MARGIN_MS`). */
  timeMarginMs: number;
  /** Parallel Scan segments a broadcast walks (default 1). */
  scanSegments?: number;
  /** Items per Scan page (DynamoDB `Limit`); default: DynamoDB's 1 MB pages. */
  scanPageSize?: number;
}

/** What happened to one recipient's connections. */
export interface RecipientReport {
  /** Connections the message was posted to. */
  delivered: string[];
  /** Connections whose post failed for another reason than 410; `error` is the error's name (no internals). */
  failed: Array<{ connectionId: string; error: string }>;
  /** Connections found gone (410) and removed from the registry. */
  stale: string[];
}

/**
 * The report of a send to users.
 *
 * ```json
 * {
 *   "messageId": "6f1c…", "timestamp": "2026-11-26T01:00:00.000Z",
 *   "recipients": { "user123": { "delivered": ["abc="], "failed": [], "stale": ["def="] } },
 *   "notConnected": ["user456"]
 * }
 * ```
 *
 * `recipients` has an entry for each addressed user who had at least one registered connection; `notConnected`
 * lists the users with no live connection, including those whose every connection turned out stale (they appear
 * in both, so the removed connections are still reported).
 */
export interface DeliveryReport {
  messageId: string;
  timestamp: string;
  recipients: Record<string, RecipientReport>;
  notConnected: string[];
}

/** What a send came to for one user, as {@link DeliverySummary} tells it. */
export type RecipientOutcome = 'delivered' | 'failed';

/**
 * A {@link DeliveryReport} without connection ids, for a caller who may not see who is connected on which
 * connections (the HTTP and socket send routes give it to callers without the admin permission, the permission the
 * status route asks before showing another user's connections). Connection ids identify a user's sessions and
 * show how many devices they have open; a sender only needs to know whether each user got the message.
 *
 * ```json
 * {
 *   "messageId": "6f1c…", "timestamp": "2026-11-26T01:00:00.000Z",
 *   "recipients": { "user123": "delivered" },
 *   "notConnected": ["user456"],
 *   "connections": { "delivered": 2, "failed": 0, "stale": 1 }
 * }
 * ```
 *
 * `recipients` has each addressed user with a live connection: `delivered` when at least one of their connections
 * accepted the message, `failed` when every post to them failed (worth a retry). `notConnected` is the report's
 * (including users whose every connection turned out stale). `connections` counts the posts over all users.
 */
export interface DeliverySummary {
  messageId: string;
  timestamp: string;
  recipients: Record<string, RecipientOutcome>;
  notConnected: string[];
  connections: { delivered: number; failed: number; stale: number };
}

/**
 * Drops the connection ids from a delivery report (see {@link DeliverySummary}).
 *
 * @example
 * summarizeDeliveryReport({ messageId: 'm', timestamp: 't', notConnected: [],
 *   recipients: { user123: { delivered: ['abc='], failed: [], stale: ['old='] } } });
 * // { messageId: 'm', timestamp: 't', recipients: { user123: 'delivered' }, notConnected: [],
 * //   connections: { delivered: 1, failed: 0, stale: 1 } }
 */
export function summarizeDeliveryReport(report: DeliveryReport): DeliverySummary {
  const summary: DeliverySummary = {
    messageId: report.messageId,
    timestamp: report.timestamp,
    recipients: {},
    notConnected: [...report.notConnected],
    connections: { delivered: 0, failed: 0, stale: 0 },
  };
  for (const [userId, recipient] of Object.entries(report.recipients)) {
    summary.connections.delivered += recipient.delivered.length;
    summary.connections.failed += recipient.failed.length;
    summary.connections.stale += recipient.stale.length;
    if (recipient.delivered.length > 0) summary.recipients[userId] = 'delivered';
    else if (recipient.failed.length > 0) summary.recipients[userId] = 'failed';
  }
  return summary;
}

/**
 * The report a caller of the HTTP or socket send routes gets: the full one when it may see connection ids, else
 * the {@link DeliverySummary}. A broadcast report holds only counts and is the same for everyone.
 *
 * @example
 * reportForCaller(report, permits(policy, caller, 'seeConnectionIds'));
 */
export function reportForCaller(
  report: DeliveryReport | BroadcastReport,
  withConnectionIds: boolean,
): DeliveryReport | DeliverySummary | BroadcastReport {
  if (withConnectionIds || !('recipients' in report)) return report;
  return summarizeDeliveryReport(report);
}

/**
 * The report of a broadcast: counts rather than per-user maps (the audience may be the whole table).
 *
 * ```json
 * { "messageId": "…", "timestamp": "…", "complete": false, "connections": 8000, "delivered": 7990, "failed": 2,
 *   "stale": 8, "notReached": { "connections": 2000, "pages": 2, "countComplete": true } }
 * ```
 *
 * `complete: false` means the invocation ran short of time and stopped: `notReached` counts the connections
 * read but not posted to and the pages they came from (a page cut short counts as one); `countComplete: false`
 * means even the counting scan had to stop, so more connections than counted may remain.
 */
export interface BroadcastReport {
  messageId: string;
  timestamp: string;
  complete: boolean;
  /** Connections posted to (delivered + failed + stale). */
  connections: number;
  delivered: number;
  failed: number;
  stale: number;
  notReached?: { connections: number; pages: number; countComplete: boolean };
}

/** What one post came to: accepted, the connection gone (410, removed), or another failure (its error's name). */
export type PostOutcome = { status: 'delivered' } | { status: 'stale' } | { status: 'failed'; error: string };

/**
 * Whether a management API error means the connection is gone: SDK v3 errors carry `name` and
 * `$metadata.httpStatusCode` (never v2's `statusCode`).
 *
 * @example
 * isGoneError(Object.assign(new Error('Gone'), { name: 'GoneException' })); // true
 */
export function isGoneError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  return candidate.name === 'GoneException' || candidate.$metadata?.httpStatusCode === 410;
}

/**
 * A name for the report: the SDK's error name, or a Node socket code; never the message (it may hold internals).
 *
 * @example
 * errorLabel(Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' })); // 'ECONNREFUSED'
 */
export function errorLabel(error: unknown): string {
  if (typeof error !== 'object' || error === null) return 'UnknownError';
  const { name, code } = error as { name?: unknown; code?: unknown };
  if (name === 'Error' && typeof code === 'string') return code;
  return typeof name === 'string' && name.length > 0 ? name : 'UnknownError';
}

/**
 * One envelope's bytes in each wire protocol, each encoded once per send, the Socket.IO form only when a Socket.IO
 * connection is addressed: every send path posts to each connection the form its protocol reads.
 *
 * @example
 * const payloads = new ProtocolPayloads(createEnvelope('chat', { message: 'Hi' }));
 * payloads.for({ protocol: 'socket.io' }); // bytes of '42["chat",{"message":"Hi"},{"id":…,"timestamp":…}]'
 */
export class ProtocolPayloads {
  readonly #envelope: Envelope;
  readonly #json: Uint8Array;
  #socketIo?: Uint8Array;

  /** `json`: the envelope's JSON bytes when the caller already has them (the worker's queued envelope). */
  constructor(envelope: Envelope, json?: Uint8Array) {
    this.#envelope = envelope;
    this.#json = json ?? encodeEnvelope(envelope);
  }

  /** The envelope's message log id, when it was recorded. */
  get logId(): string | undefined {
    return this.#envelope.logId;
  }

  /** The bytes to post to a connection of this protocol (absent: the JSON protocol). */
  for(connection: Pick<ConnectionItem, 'protocol'>): Uint8Array {
    if (connection.protocol !== 'socket.io') return this.#json;
    this.#socketIo ??= Buffer.from(encodeEnvelopeEvent(this.#envelope), 'utf8');
    return this.#socketIo;
  }
}

const serverDisconnectPacket = Buffer.from(encodeServerDisconnect(), 'utf8');

/**
 * Posts one connection the bytes of its protocol. A Socket.IO connection still replaying (or just replayed) first
 * goes through the live hand-off (`live-handoff.ts`), so nothing arrives twice or out of order. A 410 removes the
 * connection from the registry (the recipient's, never the sender's) and answers `stale`; any other failure is
 * logged and answered `failed`; nothing is thrown.
 *
 * @example
 * const outcome = await postToConnection(deps, { userId: 'user456', connectionId: 'abc=' }, payloads, envelope.id);
 * outcome.status; // 'delivered'
 */
export async function postToConnection(
  deps: Pick<DeliveryDependencies, 'registry' | 'rooms' | 'managementClient' | 'logger'>,
  connection: Pick<ConnectionItem, 'userId' | 'connectionId' | 'protocol'> &
    Partial<Pick<ConnectionItem, 'connectedAt' | 'replaying' | 'liveAfter' | 'replayReadAt'>>,
  payloads: ProtocolPayloads,
  messageId: string,
  logged: LoggedMessage = {},
): Promise<PostOutcome> {
  if (needsHandoff(connection)) {
    const decision = await handoffDecision({ registry: deps.registry }, connection, logged);
    if (decision.action === 'replayed') return { status: 'delivered' };
    if (decision.action === 'gone') return { status: 'stale' };
    if (decision.action === 'not-connected') return { status: 'failed', error: 'SocketIoNotConnected' };
  }
  try {
    await deps.managementClient.send(
      new PostToConnectionCommand({ ConnectionId: connection.connectionId, Data: payloads.for(connection) }),
    );
    return { status: 'delivered' };
  } catch (error) {
    if (isGoneError(error)) {
      await removeGone(deps, connection, 'removing a stale connection failed', { messageId });
      return { status: 'stale' };
    }
    const label = errorLabel(error);
    deps.logger?.warn('post to connection failed', {
      messageId,
      userId: connection.userId,
      connectionId: connection.connectionId,
      error: label,
      httpStatusCode: (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode,
    });
    return { status: 'failed', error: label };
  }
}

/**
 * Ends a connection in the tables: deletes its registry item and, when the item listed rooms (returned by the same
 * DeleteItem), its member items. The one cleanup of a connection found gone (a 410 on any post: the delivery core's and
 * the broadcast worker's), closed (`disconnectConnections`) or disconnected (`$disconnect`). Answers the rooms it was
 * in; failures are thrown (the callers on send paths log them, see {@link removeGone}).
 *
 * @example
 * const rooms = await removeEndedConnection({ registry, rooms: roomRegistry }, { userId: 'user123', connectionId: 'abc=' });
 */
export async function removeEndedConnection(
  deps: { registry: Pick<ConnectionRegistry, 'remove'>; rooms?: Pick<RoomRegistry, 'forget'> },
  connection: Pick<ConnectionItem, 'userId' | 'connectionId'>,
): Promise<string[]> {
  const rooms = (await deps.registry.remove(connection.userId, connection.connectionId)) ?? [];
  if (rooms.length > 0 && deps.rooms) {
    await deps.rooms.forget({ userId: connection.userId, connectionId: connection.connectionId }, rooms);
  }
  return rooms;
}

/**
 * Removes a connection that is gone (410) or was just closed, with its memberships ({@link removeEndedConnection});
 * a failure is logged, not thrown.
 *
 * @example
 * await removeGone({ registry, rooms, logger }, connection, 'removing a stale connection failed', { messageId });
 */
export async function removeGone(
  deps: Parameters<typeof removeEndedConnection>[0] & Pick<DeliveryDependencies, 'logger'>,
  connection: Pick<ConnectionItem, 'userId' | 'connectionId'>,
  failureMessage: string,
  logAttributes: Record<string, unknown>,
): Promise<string[]> {
  try {
    return await removeEndedConnection(deps, connection);
  } catch (error) {
    // The connection is gone either way: a later 410 removes the item, else its TTL does (memberships share the
    // connection's expiresAt). Log and carry on.
    deps.logger?.warn(failureMessage, {
      ...logAttributes,
      userId: connection.userId,
      connectionId: connection.connectionId,
      error: errorLabel(error),
    });
    return [];
  }
}

/**
 * Adds one send's outcome counts to the delivery metrics.
 *
 * @example
 * recordMetrics(deps, 10, 1, 0); // MessagesDelivered 10, StaleConnectionsRemoved 1, PostsFailed 0
 */
export function recordMetrics(
  deps: Pick<DeliveryDependencies, 'metrics'>,
  delivered: number,
  stale: number,
  failed: number,
): void {
  deps.metrics?.addMetric(DeliveryMetric.delivered, 'Count', delivered);
  deps.metrics?.addMetric(DeliveryMetric.staleRemoved, 'Count', stale);
  deps.metrics?.addMetric(DeliveryMetric.postsFailed, 'Count', failed);
}

/**
 * Delivers one envelope to every live connection of each user in `userIds`, at most `deps.concurrency` posts in
 * flight. Throws {@link PayloadTooLargeError} before any post when the envelope is over 128 KB; a registry read
 * failure is thrown too (nothing could be delivered reliably), but post failures are only reported.
 *
 * @example
 * const envelope = createEnvelope('chat', { message: 'Hello!' }, { from: 'user123' });
 * const report = await deliverToUsers({ registry, managementClient, concurrency: 200, timeMarginMs: 2000 },
 *   { userIds: ['user456'], envelope });
 * report.recipients.user456.delivered; // ['abc=']
 */
export async function deliverToUsers(
  deps: DeliveryDependencies,
  request: {
    userIds: readonly string[];
    envelope: Envelope;
    /** When the envelope's record was written to the message log (epoch ms), for the Socket.IO replay hand-off. */
    loggedAt?: number;
  },
): Promise<DeliveryReport> {
  const payloads = new ProtocolPayloads(request.envelope);
  const userIds = [...new Set(request.userIds)];
  const connectionsByUser = await mapBounded(userIds, deps.concurrency, (userId) =>
    deps.registry.connectionsOf(userId),
  );
  const report: DeliveryReport = {
    messageId: request.envelope.id,
    timestamp: request.envelope.timestamp,
    recipients: {},
    notConnected: [],
  };
  const targets: ConnectionItem[] = [];
  userIds.forEach((userId, index) => {
    const connections = connectionsByUser[index];
    if (connections.length === 0) {
      report.notConnected.push(userId);
      return;
    }
    report.recipients[userId] = { delivered: [], failed: [], stale: [] };
    targets.push(...connections);
  });
  const logged = { logId: request.envelope.logId, loggedAt: request.loggedAt };
  const outcomes = await mapBounded(targets, deps.concurrency, (connection) =>
    postToConnection(deps, connection, payloads, request.envelope.id, logged),
  );
  let delivered = 0;
  let stale = 0;
  let failed = 0;
  targets.forEach((connection, index) => {
    const recipient = report.recipients[connection.userId];
    const outcome = outcomes[index];
    if (outcome.status === 'delivered') {
      recipient.delivered.push(connection.connectionId);
      delivered++;
    } else if (outcome.status === 'stale') {
      recipient.stale.push(connection.connectionId);
      stale++;
    } else {
      recipient.failed.push({ connectionId: connection.connectionId, error: outcome.error });
      failed++;
    }
  });
  for (const [userId, recipient] of Object.entries(report.recipients)) {
    if (recipient.delivered.length === 0 && recipient.failed.length === 0) report.notConnected.push(userId);
  }
  recordMetrics(deps, delivered, stale, failed);
  deps.logger?.info('message delivered to users', {
    messageId: report.messageId,
    type: request.envelope.type,
    from: request.envelope.from,
    users: userIds.length,
    notConnected: report.notConnected.length,
    delivered,
    stale,
    failed,
  });
  return report;
}

/**
 * Delivers one envelope to the given connections (a room's members, as presence events address them), at most
 * `deps.concurrency` posts in flight; a 410 removes the gone connection like any send. Answers the counts.
 *
 * @example
 * await deliverToConnections(deps, { connections: members, envelope: createEnvelope('presence', data) });
 * // { delivered: 3, stale: 0, failed: 0 }
 */
export async function deliverToConnections(
  deps: DeliveryDependencies,
  request: { connections: readonly Pick<ConnectionItem, 'userId' | 'connectionId' | 'protocol'>[]; envelope: Envelope },
): Promise<{ delivered: number; stale: number; failed: number }> {
  const payloads = new ProtocolPayloads(request.envelope);
  const outcomes = await mapBounded(request.connections, deps.concurrency, (connection) =>
    postToConnection(deps, connection, payloads, request.envelope.id),
  );
  const counts = { delivered: 0, stale: 0, failed: 0 };
  for (const outcome of outcomes) counts[outcome.status]++;
  recordMetrics(deps, counts.delivered, counts.stale, counts.failed);
  return counts;
}

/**
 * Delivers one envelope to every live connection in the registry. Walks `registry.scanConnections` page by page
 * (in `deps.scanSegments` parallel segments), posting through one pool of at most `deps.concurrency` posts while
 * the next page is read. Before posting each page (and each connection) it checks the invocation's remaining time: once fewer than
 * `deps.timeMarginMs` remain it posts nothing more, keeps counting what the scan still returns (while at least
 * half the margin remains) and answers `complete: false` with the counts, so an audience too large for one
 * invocation is never dropped silently. A failed registry read stops every segment and is thrown once the posts
 * already started have settled (they are counted in the metrics and logged).
 *
 * @example
 * const report = await broadcast({ registry, managementClient, concurrency: 200, timeMarginMs: 2000,
 *   remainingTimeMs: () => context.getRemainingTimeInMillis() }, { envelope: createEnvelope('system', data) });
 * if (!report.complete) logger.warn('broadcast cut short', { notReached: report.notReached });
 */
export async function broadcast(deps: DeliveryDependencies, request: { envelope: Envelope }): Promise<BroadcastReport> {
  const payloads = new ProtocolPayloads(request.envelope);
  const messageId = request.envelope.id;
  const totalSegments = deps.scanSegments ?? 1;
  const pool = new BoundedPool(deps.concurrency);
  const counts = { delivered: 0, failed: 0, stale: 0 };
  const notReached = { connections: 0, pages: 0, countComplete: true };
  let outOfTime = false;
  // A registry read that failed in one segment: every segment stops starting posts, and the error is thrown only
  // once the posts already started have settled, so nothing is still posting after the caller was answered.
  let readFailure: { error: unknown } | undefined;
  const timeLeft = (): number => deps.remainingTimeMs?.() ?? Number.POSITIVE_INFINITY;

  const post = async (connection: ConnectionItem): Promise<void> => {
    const outcome = await postToConnection(deps, connection, payloads, messageId);
    counts[outcome.status]++;
  };

  const walkSegment = async (segment: number): Promise<void> => {
    const scan = deps.registry.scanConnections({
      segment: totalSegments > 1 ? segment : undefined,
      totalSegments: totalSegments > 1 ? totalSegments : undefined,
      pageSize: deps.scanPageSize,
    });
    for await (const page of scan) {
      if (readFailure) return;
      if (!outOfTime && timeLeft() < deps.timeMarginMs) outOfTime = true;
      if (outOfTime) {
        notReached.connections += page.length;
        notReached.pages++;
        // Counting is cheap (reads only), but it must not eat the time the in-flight posts need to finish.
        if (timeLeft() < deps.timeMarginMs / 2) {
          notReached.countComplete = false;
          return;
        }
        continue;
      }
      for (const [index, connection] of page.entries()) {
        if (readFailure) return;
        // Checked per connection too: one 1 MB page can hold thousands of connections.
        if (timeLeft() < deps.timeMarginMs) {
          outOfTime = true;
          notReached.connections += page.length - index;
          notReached.pages++;
          break;
        }
        await pool.submit(() => post(connection));
      }
    }
  };

  await Promise.all(
    Array.from({ length: totalSegments }, (_, segment) =>
      walkSegment(segment).catch((error: unknown) => {
        readFailure ??= { error };
      }),
    ),
  );
  await pool.drain();
  recordMetrics(deps, counts.delivered, counts.stale, counts.failed);
  if (readFailure) {
    deps.logger?.warn('broadcast stopped: reading the registry failed', {
      messageId,
      ...counts,
      error: errorLabel(readFailure.error),
    });
    throw readFailure.error;
  }

  const report: BroadcastReport = {
    messageId,
    timestamp: request.envelope.timestamp,
    complete: !outOfTime,
    connections: counts.delivered + counts.failed + counts.stale,
    ...counts,
  };
  if (outOfTime) {
    report.notReached = notReached;
    deps.logger?.warn('broadcast stopped before reaching every connection', { messageId, notReached });
  }
  deps.logger?.info('message broadcast', {
    messageId,
    type: request.envelope.type,
    from: request.envelope.from,
    ...counts,
    complete: report.complete,
  });
  return report;
}

/**
 * Closes every live connection of one user through the management API (a 410 means it was already closed) and
 * removes each from the registry. A connection whose DELETE fails otherwise stays registered and is reported; one
 * whose item removal fails after the close counts as closed (the failure is logged).
 *
 * `ended` hears of each connection closed and removed, with the rooms it was in: the `$disconnect` API Gateway runs
 * after the close finds the item gone, so presence departures are announced from here (`WebSocketService`).
 *
 * @example
 * const { disconnected, failed } = await disconnectConnections(deps, 'user123');
 */
export async function disconnectConnections(
  deps: Pick<DeliveryDependencies, 'registry' | 'rooms' | 'managementClient' | 'logger' | 'concurrency'>,
  userId: string,
  ended?: (connection: Pick<ConnectionItem, 'userId' | 'connectionId'>, rooms: string[]) => Promise<void>,
): Promise<{ disconnected: number; failed: Array<{ connectionId: string; error: string }> }> {
  const connections = await deps.registry.connectionsOf(userId);
  const outcomes = await mapBounded(connections, deps.concurrency, async (connection) => {
    if (connection.protocol === 'socket.io') {
      // Socket.IO's DISCONNECT first: the client then reports "io server disconnect" and stays disconnected, as
      // after a Socket.IO server's `socket.disconnect()`, instead of reconnecting at once after a transport close.
      try {
        await deps.managementClient.send(
          new PostToConnectionCommand({ ConnectionId: connection.connectionId, Data: serverDisconnectPacket }),
        );
      } catch {
        // The close below is what matters (a gone connection answers it 410 too).
      }
    }
    try {
      await deps.managementClient.send(new DeleteConnectionCommand({ ConnectionId: connection.connectionId }));
    } catch (error) {
      if (!isGoneError(error)) {
        const label = errorLabel(error);
        deps.logger?.warn('closing a connection failed', {
          userId,
          connectionId: connection.connectionId,
          error: label,
        });
        return { connectionId: connection.connectionId, error: label };
      }
    }
    // Closed: a failed item removal must neither undo that nor stop the user's other connections from closing.
    const rooms = await removeGone(deps, connection, 'removing a closed connection failed', {});
    if (ended && rooms.length > 0) {
      try {
        await ended(connection, rooms);
      } catch (error) {
        // Closed and removed either way; a lost presence event is logged, as a failed post is.
        deps.logger?.warn('announcing a closed connection failed', {
          userId,
          connectionId: connection.connectionId,
          error: errorLabel(error),
        });
      }
    }
    return undefined;
  });
  const failed = outcomes.filter((outcome) => outcome !== undefined);
  return { disconnected: connections.length - failed.length, failed };
}
