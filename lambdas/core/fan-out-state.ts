import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ConnectionItem } from './table-schema';

/**
 * The fan-out state of asynchronous broadcasts, in the fan-out state table (`broadcastTableSchema`). Core code: the
 * document client is a parameter. Two item families share one partition per broadcast, so one Query reads a
 * broadcast's whole state:
 *
 * | `pk`                 | `sk`             | what                                                              |
 * |----------------------|------------------|-------------------------------------------------------------------|
 * | `broadcast#{id}`     | `status`         | written once by the producer: message id, type, number of slices  |
 * | `broadcast#{id}`     | `slice#{000n}`   | one per Scan segment, written by the worker: lease, checkpoint, counts |
 *
 * A slice item is the single writer's log of its segment: only the lease holder writes it, every write is
 * conditional on holding the lease, and its counters are added in the same write that releases the group they
 * count. There is no TransactWriteItems (dynalite lacks it, and one item per slice needs none).
 */

/** A connection's key in the registry: where a slice resumes, and what it retries. */
export type ConnectionKey = Pick<ConnectionItem, 'userId' | 'connectionId' | 'protocol'>;

/** A retry list entry as stored: the key, and the protocol when it is not JSON (the retry is encoded like the post). */
function storedRetry({ userId, connectionId, protocol }: ConnectionKey): ConnectionKey {
  return protocol === 'socket.io' ? { userId, connectionId, protocol } : { userId, connectionId };
}

/** Outcomes a slice has counted so far. */
export interface SliceCounts {
  /** Posts API Gateway accepted. */
  delivered: number;
  /** Posts that failed for another reason than 410 or 429 (after the SDK's retries). */
  failed: number;
  /** Connections found gone (410) and removed from the registry. */
  stale: number;
  /**
   * Connections claimed by a run that ended before it recorded their outcome (a crash, a timeout between the post
   * and the checkpoint): each got the message at most once, maybe never, and is never posted to again.
   */
  unknown: number;
  /** 429 answers (LimitExceededException after the SDK's retries) seen; each was retried, none dropped. */
  throttled: number;
}

/** One slice's item: its lease and checkpoint. */
export interface SliceCheckpoint extends SliceCounts {
  segment: number;
  /** The key of the last connection claimed; absent: the segment has not started. */
  position?: ConnectionKey;
  /** Connections claimed by the current group whose outcome is not yet recorded. */
  inFlight: number;
  /** Claimed connections that were throttled (429, so not delivered) and are posted again first. */
  retry: ConnectionKey[];
  owner?: string;
  /** Epoch ms the lease holds until. */
  leaseUntil?: number;
  done: boolean;
  finishedAt?: string;
  deadLettered: boolean;
  /** How many runs took the lease (first run, continuations, redeliveries). */
  runs: number;
}

/** What the producer records when a broadcast is accepted. */
export interface BroadcastRecord {
  broadcastId: string;
  messageId: string;
  type: string;
  from?: string;
  createdAt: string;
  /** Slices (Scan segments) the broadcast was split into; 1 for a room fan-out. */
  slices: number;
  /** The room of a room fan-out (one slice over the room's members); absent for a broadcast. */
  room?: string;
}

/** Where a broadcast stands, as `GET /websocket/broadcasts/{id}` answers. */
export type BroadcastState = 'queued' | 'running' | 'complete' | 'failed';

/**
 * A broadcast's progress and outcome.
 *
 * ```json
 * { "broadcastId": "…", "messageId": "…", "type": "system", "createdAt": "…", "state": "complete",
 *   "complete": true, "finishedAt": "…", "slices": { "total": 4, "queued": 0, "running": 0, "done": 4, "deadLettered": 0 },
 *   "connections": { "delivered": 2990, "failed": 0, "stale": 10, "unknown": 0, "pending": 0, "throttled": 0 } }
 * ```
 *
 * `state`: `queued` until a worker takes a slice, `running` while any slice is unfinished, `complete` when every
 * slice walked its whole segment, `failed` when every slice finished or was dead-lettered and at least one was
 * (its segment's remaining connections were not reached). `finishedAt` is set in the last two. `connections.pending`
 * counts connections claimed but not yet recorded (in flight, or throttled and waiting for their retry).
 */
export interface BroadcastStatus {
  broadcastId: string;
  messageId: string;
  type: string;
  /** The room of a room fan-out; absent for a broadcast. */
  room?: string;
  createdAt: string;
  state: BroadcastState;
  complete: boolean;
  finishedAt?: string;
  slices: { total: number; queued: number; running: number; done: number; deadLettered: number };
  connections: SliceCounts & { pending: number };
}

/** The lease is held by another live run; the caller leaves the message for a later delivery. */
export class SliceBusyError extends Error {
  constructor(broadcastId: string, segment: number) {
    super(`slice ${segment} of broadcast ${broadcastId} is leased by another run`);
    this.name = 'SliceBusyError';
  }
}

/** This run's lease was taken over (it outlived it): it must stop posting at once. */
export class LeaseLostError extends Error {
  constructor(broadcastId: string, segment: number) {
    super(`the lease on slice ${segment} of broadcast ${broadcastId} was lost`);
    this.name = 'LeaseLostError';
  }
}

export interface FanOutState {
  /** Records an accepted broadcast (the producer, before queueing its slices). */
  createBroadcast(record: BroadcastRecord): Promise<void>;
  /**
   * Takes the slice's lease for `owner` until `leaseUntil` (epoch ms). Resolves `undefined` when the slice is
   * already finished (a duplicate message); throws {@link SliceBusyError} when another live run holds it. A group a
   * previous run claimed and never recorded is counted `unknown` here, never claimed again.
   */
  acquireSlice(key: SliceKey, owner: string, leaseUntil: number): Promise<SliceCheckpoint | undefined>;
  /** Claims the next group before it is posted: the checkpoint moves to `position` first (at most once). */
  claimGroup(
    key: SliceKey,
    owner: string,
    claim: { position?: ConnectionKey; inFlight: number; retry: ConnectionKey[] },
  ): Promise<void>;
  /** Records the claimed group's outcome; `retry` is what is still to be posted again (throttled). */
  recordGroup(key: SliceKey, owner: string, counts: SliceCounts, retry: ConnectionKey[]): Promise<void>;
  /** The segment is walked to its end: the slice is done. */
  finishSlice(key: SliceKey, owner: string, finishedAt: string): Promise<void>;
  /** Gives the lease up (a continuation message carries the rest). */
  releaseSlice(key: SliceKey, owner: string): Promise<void>;
  /** The slice's message was delivered for the last time and failed: it goes to the DLQ. Unconditional. */
  markDeadLettered(key: SliceKey, at: string): Promise<void>;
  /** The broadcast's status, or undefined for an unknown (or expired) id. */
  readStatus(broadcastId: string): Promise<BroadcastStatus | undefined>;
  /**
   * Takes the right to emit the broadcast's completion event (on its status item) for `owner` until `leaseUntil`
   * (epoch ms): true when taken; false when the event was already sent, another live run holds the right, or the
   * broadcast is unknown. The lease, like a slice's, outlives no invocation, so a run that died holding it is
   * succeeded by the next settle after it expires (`broadcast-completion.ts`).
   */
  claimCompletion(broadcastId: string, owner: string, leaseUntil: number): Promise<boolean>;
  /** The completion event was accepted by the bus at `sentAt`: no run will send it again. */
  recordCompletion(broadcastId: string, owner: string, sentAt: string): Promise<void>;
  /** Gives the right back after a failed send, so the message's redelivery may try again at once. */
  releaseCompletion(broadcastId: string, owner: string): Promise<void>;
}

export interface SliceKey {
  broadcastId: string;
  segment: number;
}

export interface FanOutStateOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  /** How long a broadcast's state outlives its creation, in seconds (the TTL). */
  ttlSeconds: number;
  /** The clock (epoch ms); tests pass a fixed one. */
  now?: () => number;
}

/** A broadcast's state is kept a week: long enough for any caller to read its outcome. */
export const DEFAULT_FAN_OUT_STATE_TTL_SECONDS = 7 * 24 * 3600;

const zeroCounts: SliceCounts = { delivered: 0, failed: 0, stale: 0, unknown: 0, throttled: 0 };
const countNames = Object.keys(zeroCounts) as Array<keyof SliceCounts>;

function partitionOf(broadcastId: string): string {
  return `broadcast#${broadcastId}`;
}

/** Zero-padded so slices sort in segment order. */
function sliceSortKey(segment: number): string {
  return `slice#${String(segment).padStart(4, '0')}`;
}

function isConditionFailure(error: unknown): boolean {
  return (error as { name?: string }).name === 'ConditionalCheckFailedException';
}

/**
 * The DynamoDB implementation of {@link FanOutState}.
 *
 * @example
 * const state = createFanOutState({ client: getDocumentClient(), tableName: 'fan-out', ttlSeconds: 604800 });
 * await state.readStatus('b-123'); // { state: 'running', slices: { total: 4, ... }, connections: { ... } }
 */
export function createFanOutState(options: FanOutStateOptions): FanOutState {
  const { client, tableName, ttlSeconds } = options;
  const now = options.now ?? Date.now;
  const expiresAt = (): number => Math.floor(now() / 1000) + ttlSeconds;
  const keyOf = (key: SliceKey) => ({ pk: partitionOf(key.broadcastId), sk: sliceSortKey(key.segment) });

  async function ownedUpdate(
    key: SliceKey,
    owner: string,
    update: string,
    values: Record<string, unknown>,
    names: Record<string, string> = {},
  ): Promise<void> {
    try {
      await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: keyOf(key),
          UpdateExpression: update,
          // The lease must still hold: a run that outlived its invocation (a zombie, which Lambda never lets live
          // but an in-process runner can) stops at its next write even before another run takes over.
          ConditionExpression: '#owner = :owner AND leaseUntil > :leaseNow',
          ExpressionAttributeNames: { '#owner': 'owner', ...names },
          ExpressionAttributeValues: { ':owner': owner, ':leaseNow': now(), ...values },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) throw new LeaseLostError(key.broadcastId, key.segment);
      throw error;
    }
  }

  return {
    async createBroadcast(record) {
      await client.send(
        new PutCommand({
          TableName: tableName,
          Item: { pk: partitionOf(record.broadcastId), sk: 'status', ...record, expiresAt: expiresAt() },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    },

    async acquireSlice(key, owner, leaseUntil) {
      let item: Record<string, unknown>;
      try {
        const result = await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: keyOf(key),
            // The item is created by the first run; `expiresAt` keeps the state a week after the last run.
            UpdateExpression:
              'SET #owner = :owner, leaseUntil = :leaseUntil, expiresAt = :expiresAt, #segment = :segment, ' +
              // A dead-lettered slice runs again only when an operator redrives its message: it is live again.
              'deadLettered = :false ADD runs :one',
            ConditionExpression:
              '(attribute_not_exists(done) OR done = :false) ' +
              'AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR #owner = :owner)',
            ExpressionAttributeNames: { '#owner': 'owner', '#segment': 'segment' },
            ExpressionAttributeValues: {
              ':owner': owner,
              ':leaseUntil': leaseUntil,
              ':expiresAt': expiresAt(),
              ':segment': key.segment,
              ':one': 1,
              ':false': false,
              ':now': now(),
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        item = result.Attributes ?? {};
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const current = await client.send(
          new GetCommand({ TableName: tableName, Key: keyOf(key), ConsistentRead: true }),
        );
        if (current.Item?.done === true) return undefined;
        throw new SliceBusyError(key.broadcastId, key.segment);
      }
      const checkpoint = toCheckpoint(item, key.segment);
      if (checkpoint.inFlight > 0) {
        // A previous run claimed this group and vanished before recording it: its posts' outcome is unknown. They
        // are counted, never posted again (at most once per connection). The retry list is kept: a claim moves the
        // retries it posts into the group, so what is left in it was never posted after its 429.
        await ownedUpdate(
          key,
          owner,
          'SET inFlight = :zero ADD #unknown :lost',
          { ':zero': 0, ':lost': checkpoint.inFlight },
          {
            '#unknown': 'unknown',
          },
        );
        checkpoint.unknown += checkpoint.inFlight;
        checkpoint.inFlight = 0;
      }
      return checkpoint;
    },

    async claimGroup(key, owner, claim) {
      await ownedUpdate(
        key,
        owner,
        claim.position
          ? 'SET #position = :position, inFlight = :inFlight, retry = :retry'
          : 'SET inFlight = :inFlight, retry = :retry',
        {
          ...(claim.position
            ? { ':position': { userId: claim.position.userId, connectionId: claim.position.connectionId } }
            : {}),
          ':inFlight': claim.inFlight,
          ':retry': claim.retry.map(storedRetry),
        },
        claim.position ? { '#position': 'position' } : {},
      );
    },

    async recordGroup(key, owner, counts, retry) {
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = {
        ':zero': 0,
        ':retry': retry.map(storedRetry),
      };
      const adds = countNames.map((name) => {
        names[`#${name}`] = name;
        values[`:${name}`] = counts[name];
        return `#${name} :${name}`;
      });
      await ownedUpdate(key, owner, `SET inFlight = :zero, retry = :retry ADD ${adds.join(', ')}`, values, names);
    },

    async finishSlice(key, owner, finishedAt) {
      await ownedUpdate(key, owner, 'SET done = :true, finishedAt = :finishedAt REMOVE #owner, leaseUntil', {
        ':true': true,
        ':finishedAt': finishedAt,
      });
    },

    async releaseSlice(key, owner) {
      await ownedUpdate(key, owner, 'REMOVE #owner, leaseUntil', {});
    },

    async markDeadLettered(key, at) {
      await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: keyOf(key),
          UpdateExpression:
            'SET deadLettered = :true, finishedAt = if_not_exists(finishedAt, :at), expiresAt = :expiresAt, #segment = :segment',
          ExpressionAttributeNames: { '#segment': 'segment' },
          ExpressionAttributeValues: { ':true': true, ':at': at, ':expiresAt': expiresAt(), ':segment': key.segment },
        }),
      );
    },

    async claimCompletion(broadcastId, owner, leaseUntil) {
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: partitionOf(broadcastId), sk: 'status' },
            UpdateExpression: 'SET completionOwner = :owner, completionLeaseUntil = :leaseUntil',
            // One writer at a time on one item: of two runs settling at once, the second finds the first's lease.
            ConditionExpression:
              'attribute_exists(pk) AND attribute_not_exists(completionSentAt) AND ' +
              '(attribute_not_exists(completionLeaseUntil) OR completionLeaseUntil < :now OR completionOwner = :owner)',
            ExpressionAttributeValues: { ':owner': owner, ':leaseUntil': leaseUntil, ':now': now() },
          }),
        );
        return true;
      } catch (error) {
        if (isConditionFailure(error)) return false;
        throw error;
      }
    },

    async recordCompletion(broadcastId, owner, sentAt) {
      await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk: partitionOf(broadcastId), sk: 'status' },
          // Unconditional on the owner: the event is out, whoever's lease it was; the first time stays.
          UpdateExpression:
            'SET completionSentAt = if_not_exists(completionSentAt, :sentAt), completionSentBy = if_not_exists(completionSentBy, :owner) ' +
            'REMOVE completionOwner, completionLeaseUntil',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':sentAt': sentAt, ':owner': owner },
        }),
      );
    },

    async releaseCompletion(broadcastId, owner) {
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: partitionOf(broadcastId), sk: 'status' },
            UpdateExpression: 'REMOVE completionOwner, completionLeaseUntil',
            ConditionExpression: 'completionOwner = :owner',
            ExpressionAttributeValues: { ':owner': owner },
          }),
        );
      } catch (error) {
        // Another run took the right since: it is theirs to keep.
        if (!isConditionFailure(error)) throw error;
      }
    },

    async readStatus(broadcastId) {
      const items: Record<string, unknown>[] = [];
      let exclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await client.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': partitionOf(broadcastId) },
            ConsistentRead: true,
            ExclusiveStartKey: exclusiveStartKey,
          }),
        );
        items.push(...(page.Items ?? []));
        exclusiveStartKey = page.LastEvaluatedKey;
      } while (exclusiveStartKey);
      const record = items.find((item) => item.sk === 'status');
      // DynamoDB's TTL deletes late: an expired broadcast is unknown, as it will soon be anyway.
      if (!record || Number(record.expiresAt) <= Math.floor(now() / 1000)) return undefined;
      const slices = items
        .filter((item) => String(item.sk).startsWith('slice#'))
        .map((item) => toCheckpoint(item, Number(item.segment)));
      return summarize(record, slices, now());
    },
  };
}

function toCheckpoint(item: Record<string, unknown>, segment: number): SliceCheckpoint {
  const position = item.position as ConnectionKey | undefined;
  return {
    segment,
    position: position && { userId: String(position.userId), connectionId: String(position.connectionId) },
    inFlight: Number(item.inFlight ?? 0),
    retry: ((item.retry as ConnectionKey[] | undefined) ?? []).map(storedRetry),
    owner: item.owner === undefined ? undefined : String(item.owner),
    leaseUntil: item.leaseUntil === undefined ? undefined : Number(item.leaseUntil),
    done: item.done === true,
    finishedAt: item.finishedAt === undefined ? undefined : String(item.finishedAt),
    deadLettered: item.deadLettered === true,
    runs: Number(item.runs ?? 0),
    delivered: Number(item.delivered ?? 0),
    failed: Number(item.failed ?? 0),
    stale: Number(item.stale ?? 0),
    unknown: Number(item.unknown ?? 0),
    throttled: Number(item.throttled ?? 0),
  };
}

/** Folds a broadcast's slices into its status (exported for unit tests of the states). */
export function summarize(record: Record<string, unknown>, slices: SliceCheckpoint[], nowMs: number): BroadcastStatus {
  const total = Number(record.slices);
  const done = slices.filter((slice) => slice.done).length;
  const deadLettered = slices.filter((slice) => slice.deadLettered && !slice.done).length;
  const running = slices.filter(
    (slice) => !slice.done && !slice.deadLettered && (slice.runs > 0 || (slice.leaseUntil ?? 0) > nowMs),
  ).length;
  const queued = Math.max(0, total - done - deadLettered - running);
  const connections = { ...zeroCounts, pending: 0 };
  for (const slice of slices) {
    for (const name of countNames) connections[name] += slice[name];
    connections.pending += slice.inFlight + slice.retry.length;
  }
  const finished = done + deadLettered === total;
  const state: BroadcastState = finished
    ? deadLettered > 0
      ? 'failed'
      : 'complete'
    : running + done + deadLettered > 0
      ? 'running'
      : 'queued';
  const finishedAt = finished
    ? slices
        .map((slice) => slice.finishedAt ?? '')
        .sort()
        .at(-1)
    : undefined;
  return {
    broadcastId: String(record.broadcastId),
    messageId: String(record.messageId),
    type: String(record.type),
    ...(record.room === undefined ? {} : { room: String(record.room) }),
    createdAt: String(record.createdAt),
    state,
    complete: state === 'complete',
    ...(finishedAt ? { finishedAt } : {}),
    slices: { total, queued, running, done, deadLettered },
    connections,
  };
}
