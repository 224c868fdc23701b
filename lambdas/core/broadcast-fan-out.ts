import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { type ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { type CompletionEvents, type SettleOutcome, settleBroadcast } from './broadcast-completion';
import {
  type DeliveryLogger,
  DeliveryMetric,
  type DeliveryMetrics,
  errorLabel,
  isGoneError,
  ProtocolPayloads,
  removeGone,
} from './delivery';
import type { Envelope } from './envelope';
import type { ConnectionKey, FanOutState, SliceCounts, SliceKey } from './fan-out-state';
import { handoffDecision, needsHandoff } from './live-handoff';
import type { PostBudget } from './post-budget';
import type { ConnectionRegistry } from './registry';
import type { RoomRegistry } from './rooms';
import type { ConnectionItem } from './table-schema';
import { encodeEnvelope } from './validation';

/**
 * The asynchronous broadcast. A broadcast is accepted at once (`startBroadcast`: one status item, one queue message
 * per Scan segment of the registry) and drained by the worker (`runSlice`), one slice (segment) per message. A
 * slice that runs short of time hands the rest of its segment on in a continuation message; its checkpoint in the
 * fan-out state table says where to resume. Core code: the registry, the management client, the state, the queue and
 * the post budget are parameters.
 *
 * Delivery is at most once per connection, like API Gateway's own. A slice claims each group of connections
 * (writes the key of the group's last connection as its position) before posting to any of them, and records their
 * outcome after. A run that ends between the two (a crash, a timeout, a lost lease) leaves the group claimed and
 * unrecorded: the next run counts it `unknown` and resumes after it, so no connection is ever posted the same
 * broadcast twice, and a connection whose post's outcome is unknown may have received it once or not at all.
 * A 429 (`LimitExceededException` after the SDK's own retries) is not an unknown outcome: API Gateway refused the
 * post, so it is backed off, reported to the budget and posted again (from the slice's retry list, which survives
 * a crash), never dropped.
 */

/**
 * One slice of a fan-out, as queued: what it walks (a Scan segment of the registry, or a room's members), and the
 * message to post.
 */
export interface SliceMessage {
  broadcastId: string;
  /** The Scan segment; a room slice is segment 0 of 1 (a Query cannot be split into segments). */
  segment: number;
  totalSegments: number;
  /**
   * A room fan-out: the slice walks this room's members (`RoomRegistry.membersOf`, one paginated Query) instead of a
   * Scan segment, with the same lease, checkpoints, budget and continuations. Absent: a broadcast's Scan segment.
   */
  room?: string;
  /** The envelope as posted (JSON), so the worker posts exactly the bytes the producer built. */
  envelope: string;
  /** The envelope's type, for logs and the fault hook without parsing the envelope. */
  type: string;
  /** 0 for the producer's message, then 1, 2, ... for each continuation. */
  continuation: number;
  /**
   * Only connections of this protocol are posted to, and `frame` is posted as is instead of the envelope: the
   * Engine.IO ping sweep (`socketio-pinger.ts`). Absent: every connection gets the envelope in its protocol.
   */
  audience?: 'socket.io';
  frame?: string;
  /** When the envelope was recorded in the message log (epoch ms), for the Socket.IO replay hand-off. */
  loggedAt?: number;
}

/** Where slices are queued: the slice queue (SQS) on AWS and locally. */
export interface SliceQueue {
  send(messages: readonly SliceMessage[]): Promise<void>;
}

/** What the caller of an asynchronous broadcast (or room fan-out) gets at once. */
export interface BroadcastAcceptance {
  broadcastId: string;
  messageId: string;
  timestamp: string;
  state: 'queued';
  slices: number;
  /** The room of a room fan-out; absent for a broadcast. */
  room?: string;
}

export interface BroadcastProducerDependencies {
  state: Pick<FanOutState, 'createBroadcast'>;
  queue: SliceQueue;
  /** Scan segments the registry is split into, one slice each (`BROADCAST_SEGMENTS`). */
  segments: number;
  /** A new broadcast id; default a random UUID. */
  newBroadcastId?: () => string;
}

/**
 * Accepts a broadcast: records it, then queues one slice per Scan segment. With `room`, a room fan-out instead: one
 * slice that walks the room's members (a Query has no segments; the post budget, not the slice count, bounds its
 * rate). Throws `PayloadTooLargeError` before anything is written when the envelope is over 128 KB. Resolves once
 * every slice is queued; a queue failure is thrown (the caller gets a 5xx and may send again under a new id: the
 * recorded broadcast stays `queued`).
 *
 * @example
 * const accepted = await startBroadcast({ state, queue, segments: 4 }, { envelope: createEnvelope('system', data) });
 * accepted.broadcastId; // 'b0e1…', poll GET /websocket/broadcasts/{broadcastId}
 * await startBroadcast({ state, queue, segments: 4 }, { envelope, room: 'chat:42' }); // one slice over the room
 */
export async function startBroadcast(
  deps: BroadcastProducerDependencies,
  request: {
    envelope: Envelope;
    audience?: { protocol: 'socket.io'; frame: string };
    room?: string;
    loggedAt?: number;
  },
): Promise<BroadcastAcceptance> {
  const { envelope, room } = request;
  const encoded = Buffer.from(encodeEnvelope(envelope)).toString('utf8');
  const broadcastId = (deps.newBroadcastId ?? randomUUID)();
  const slices = room === undefined ? deps.segments : 1;
  await deps.state.createBroadcast({
    broadcastId,
    messageId: envelope.id,
    type: envelope.type,
    from: envelope.from,
    createdAt: envelope.timestamp,
    slices,
    ...(room === undefined ? {} : { room }),
  });
  const messages = Array.from({ length: slices }, (_, segment) => ({
    broadcastId,
    segment,
    totalSegments: slices,
    ...(room === undefined ? {} : { room }),
    envelope: encoded,
    type: envelope.type,
    continuation: 0,
    ...(request.audience ? { audience: request.audience.protocol, frame: request.audience.frame } : {}),
    ...(request.loggedAt === undefined ? {} : { loggedAt: request.loggedAt }),
  }));
  await deps.queue.send(messages);
  return {
    broadcastId,
    messageId: envelope.id,
    timestamp: envelope.timestamp,
    state: 'queued',
    slices,
    ...(room === undefined ? {} : { room }),
  };
}

/** What a scanned connection carries besides its key, for the Socket.IO replay hand-off (`live-handoff.ts`). */
type HandoffFields = Partial<Pick<ConnectionItem, 'connectedAt' | 'replaying' | 'liveAfter' | 'replayReadAt'>>;

export interface SliceWorkerDependencies {
  registry: Pick<ConnectionRegistry, 'scanConnections' | 'remove' | 'connection'>;
  /**
   * The room index: room slices (`SliceMessage.room`) walk its `membersOf`, and a connection found gone (410) also
   * leaves its rooms (`forget`). Absent: a room slice fails before taking its lease; memberships are left to their TTL.
   */
  rooms?: Pick<RoomRegistry, 'membersOf' | 'forget'>;
  managementClient: ApiGatewayManagementApiClient;
  state: FanOutState;
  queue: SliceQueue;
  budget: PostBudget;
  /** Most connections claimed and posted at once: one group (`SEND_CONCURRENCY`). */
  groupSize: number;
  /** Milliseconds left in the invocation. */
  remainingTimeMs: () => number;
  /** No group is claimed once fewer ms than this remain: the rest goes on in a continuation. */
  timeMarginMs: number;
  /** This run's lease owner (the invocation's request id and the message's id). */
  owner: string;
  /** Items per Scan (or room Query) page; default DynamoDB's 1 MB pages. */
  scanPageSize?: number;
  logger?: DeliveryLogger;
  metrics?: DeliveryMetrics;
  /** Epoch ms; tests pass a fixed clock. */
  now?: () => number;
  /** Waits between groups after a 429; tests pass a fast one. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * Called after every post with the run's post count so far: the fault-injection hook of the local stack's
   * crash tests (configured by `FAN_OUT_FAULTS`, see `broadcast-worker-config.ts`). Throwing stops the run there.
   */
  afterPost?: (message: SliceMessage, postsThisRun: number) => void;
  /**
   * Where the broadcast's completion event goes: a run that ends its slice, or finds it already done, settles the
   * broadcast (`settleBroadcast`), and the run that sees every slice settled sends the one event. Absent: no events
   * (`COMPLETION_EVENT_BUS` unset); the status route still answers.
   */
  completionEvents?: CompletionEvents;
}

/** How a run of a slice ended. */
export type SliceRunStatus = 'done' | 'continued' | 'duplicate';

export interface SliceRunResult {
  status: SliceRunStatus;
  /** What this run counted (a duplicate counts nothing). */
  counts: SliceCounts;
  /** Whether this run sent the completion event, or why not; absent without completion events or when continued. */
  completion?: SettleOutcome;
}

/** A frame posted as is to every addressed connection (the ping sweep's Engine.IO ping). */
class RawFrame {
  readonly #bytes: Uint8Array;
  constructor(frame: string) {
    this.#bytes = Buffer.from(frame, 'utf8');
  }
  for(): Uint8Array {
    return this.#bytes;
  }
}

/** API Gateway throttled the post (429): the SDK's error name, or the status code. */
export function isThrottledError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const candidate = error as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  return candidate.name === 'LimitExceededException' || candidate.$metadata?.httpStatusCode === 429;
}

/** First and largest wait after a group met 429s; doubled per consecutive throttled group. */
export const THROTTLE_BACKOFF_MS = { first: 100, max: 5_000 } as const;

/**
 * The pages a slice walks from `startAfter` on: its room's members (one Query, in connectionId order) or its Scan
 * segment of the registry. The only place the two sources differ: the lease, claims, budget, retries and
 * continuations of {@link runSlice} are the same code for both, and a checkpoint's `position` (the last claimed
 * member's key) resumes either walk.
 */
/**
 * A connection a slice posts to: its key, and (read from the registry, never from a room's members) the Socket.IO
 * replay hand-off's fields.
 */
type SliceTarget = ConnectionKey &
  Partial<Pick<ConnectionItem, 'connectedAt' | 'replaying' | 'liveAfter' | 'replayReadAt'>>;

function slicePages(
  deps: Pick<SliceWorkerDependencies, 'registry' | 'rooms' | 'scanPageSize'>,
  message: SliceMessage,
  startAfter: ConnectionKey | undefined,
): AsyncIterator<SliceTarget[]> {
  if (message.room !== undefined) {
    return deps
      .rooms!.membersOf(message.room, {
        startAfter: startAfter && { connectionId: startAfter.connectionId },
        pageSize: deps.scanPageSize,
      })
      [Symbol.asyncIterator]();
  }
  return deps.registry
    .scanConnections({
      segment: message.segment,
      totalSegments: message.totalSegments,
      startAfter,
      pageSize: deps.scanPageSize,
    })
    [Symbol.asyncIterator]();
}

/**
 * Runs one slice message: takes the slice's lease, resumes its segment (or room) from the checkpoint and posts group by group
 * (budget, claim, post, record) until the segment ends (`done`) or time runs short (`continued`: the lease is
 * released and a continuation queued). A slice already finished resolves `duplicate`; one leased by another live
 * run throws `SliceBusyError` (leave the message for redelivery). Any other failure is thrown after the claimed
 * group is left unrecorded (its outcome then counts `unknown`).
 *
 * @example
 * const result = await runSlice({ registry, managementClient, state, queue, budget, groupSize: 200,
 *   remainingTimeMs: () => context.getRemainingTimeInMillis(), timeMarginMs: 10_000, owner: context.awsRequestId }, message);
 * result.status; // 'done'
 */
export async function runSlice(deps: SliceWorkerDependencies, message: SliceMessage): Promise<SliceRunResult> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => delay(ms));
  const key: SliceKey = { broadcastId: message.broadcastId, segment: message.segment };
  const counts: SliceCounts = { delivered: 0, failed: 0, stale: 0, unknown: 0, throttled: 0 };
  // A wiring fault, told before the lease is taken (a held lease would delay the fixed redelivery).
  if (message.room !== undefined && !deps.rooms) {
    throw new Error('a room slice needs the room index: the worker was built without rooms (ROOM_TABLE_NAME)');
  }
  // The lease lasts as long as this invocation can: Lambda stops it at its timeout, so a takeover after the lease
  // cannot meet this run still posting.
  const checkpoint = await deps.state.acquireSlice(key, deps.owner, now() + deps.remainingTimeMs());
  // A duplicate settles too: the run that finished the slice may have died before it could.
  if (!checkpoint) return { status: 'duplicate', counts, ...(await settle(deps, message.broadcastId)) };

  // The queued JSON is posted as queued to JSON connections; Socket.IO connections get it encoded once per run.
  const payloads = message.frame
    ? new RawFrame(message.frame)
    : new ProtocolPayloads(JSON.parse(message.envelope) as Envelope, Buffer.from(message.envelope, 'utf8'));
  const addressed = (connection: ConnectionKey): boolean =>
    message.audience === undefined || connection.protocol === message.audience;
  const pages = slicePages(deps, message, checkpoint.position);
  let buffered: ConnectionKey[] = [];
  let scanEnded = false;
  let retry = checkpoint.retry;
  let posts = 0;
  let backoffMs = 0;

  const timeIsShort = () => deps.remainingTimeMs() < deps.timeMarginMs;
  while (true) {
    if (timeIsShort()) {
      await deps.state.releaseSlice(key, deps.owner);
      await deps.queue.send([{ ...message, continuation: message.continuation + 1 }]);
      deps.logger?.info('broadcast slice continues in a new message', { ...key, posts, retry: retry.length });
      return { status: 'continued', counts };
    }
    while (buffered.length < deps.groupSize && !scanEnded) {
      const page = await pages.next();
      if (page.done) scanEnded = true;
      else {
        // The Socket.IO replay hand-off's fields ride along in memory (never into the checkpoint's retry list).
        const keys = page.value.map(
          ({ userId, connectionId, protocol, connectedAt, replaying, liveAfter, replayReadAt }) => ({
            userId,
            connectionId,
            protocol,
            connectedAt,
            replaying,
            liveAfter,
            replayReadAt,
          }),
        );
        buffered.push(...keys.filter(addressed));
      }
    }
    if (retry.length === 0 && buffered.length === 0) {
      await deps.state.finishSlice(key, deps.owner, new Date(now()).toISOString());
      deps.logger?.info('broadcast slice done', { ...key, runs: checkpoint.runs, ...counts });
      return { status: 'done', counts, ...(await settle(deps, message.broadcastId)) };
    }
    const wanted = Math.min(deps.groupSize, retry.length + buffered.length);
    const signal = AbortSignal.timeout(Math.max(1, deps.remainingTimeMs() - deps.timeMarginMs));
    let granted: number;
    try {
      granted = await deps.budget.take(wanted, signal);
    } catch (error) {
      if (signal.aborted) continue; // out of time while waiting for the budget: the loop continues the slice
      throw error;
    }
    // Retries first: they were claimed earlier and refused, so they have waited longest.
    const fromRetry = retry.slice(0, granted);
    const fresh = buffered.slice(0, granted - fromRetry.length);
    const group = [...fromRetry, ...fresh];
    retry = retry.slice(fromRetry.length);
    buffered = buffered.slice(fresh.length);
    // Claim before posting: from here a crash makes these posts' outcome unknown, never repeated.
    await deps.state.claimGroup(key, deps.owner, { position: fresh.at(-1), inFlight: group.length, retry });
    const groupCounts: SliceCounts = { delivered: 0, failed: 0, stale: 0, unknown: 0, throttled: 0 };
    const throttled: ConnectionKey[] = [];
    await Promise.all(
      group.map(async (connection) => {
        const outcome = await post(deps, connection, payloads, message);
        if (outcome === 'throttled') {
          throttled.push(connection);
          groupCounts.throttled++;
          deps.budget.throttled();
        } else groupCounts[outcome]++;
        posts++;
        deps.afterPost?.(message, posts);
      }),
    );
    retry = [...retry, ...throttled];
    await deps.state.recordGroup(key, deps.owner, groupCounts, retry);
    for (const name of Object.keys(counts) as Array<keyof SliceCounts>) counts[name] += groupCounts[name];
    deps.metrics?.addMetric(DeliveryMetric.delivered, 'Count', groupCounts.delivered);
    deps.metrics?.addMetric(DeliveryMetric.staleRemoved, 'Count', groupCounts.stale);
    deps.metrics?.addMetric(DeliveryMetric.postsFailed, 'Count', groupCounts.failed);
    if (throttled.length > 0) {
      backoffMs = Math.min(THROTTLE_BACKOFF_MS.max, backoffMs === 0 ? THROTTLE_BACKOFF_MS.first : backoffMs * 2);
      // Never sleep past the margin: the next loop would hand the retries on in a continuation instead.
      await sleep(Math.max(0, Math.min(backoffMs, deps.remainingTimeMs() - deps.timeMarginMs)));
    } else backoffMs = 0;
  }
}

/** Settles the broadcast when completion events are on (`settleBroadcast`); nothing otherwise. */
async function settle(deps: SliceWorkerDependencies, broadcastId: string): Promise<{ completion?: SettleOutcome }> {
  if (!deps.completionEvents) return {};
  const now = deps.now ?? Date.now;
  const completion = await settleBroadcast(
    {
      state: deps.state,
      events: deps.completionEvents,
      owner: deps.owner,
      leaseUntil: now() + deps.remainingTimeMs(),
      now,
      logger: deps.logger,
    },
    broadcastId,
  );
  return { completion };
}

async function post(
  deps: SliceWorkerDependencies,
  connection: ConnectionKey,
  payloads: Pick<ProtocolPayloads, 'for'>,
  message: SliceMessage,
): Promise<'delivered' | 'stale' | 'failed' | 'throttled'> {
  const handoff = connection as HandoffFields;
  if (needsHandoff(handoff) && payloads instanceof ProtocolPayloads) {
    const decision = await handoffDecision(
      { registry: deps.registry },
      { ...connection, ...handoff },
      { logId: payloads.logId, loggedAt: message.loggedAt },
    );
    if (decision.action === 'replayed') return 'delivered';
    if (decision.action === 'gone') return 'stale';
    if (decision.action === 'not-connected') return 'failed';
  }
  try {
    await deps.managementClient.send(
      new PostToConnectionCommand({ ConnectionId: connection.connectionId, Data: payloads.for(connection) }),
    );
    return 'delivered';
  } catch (error) {
    if (isGoneError(error)) {
      // The same cleanup as every send path's: the registry item and the connection's memberships.
      await removeGone(deps, connection, 'removing a stale connection failed', { broadcastId: message.broadcastId });
      return 'stale';
    }
    if (isThrottledError(error)) return 'throttled';
    deps.logger?.warn('post to connection failed', {
      broadcastId: message.broadcastId,
      ...connection,
      error: errorLabel(error),
    });
    return 'failed';
  }
}
