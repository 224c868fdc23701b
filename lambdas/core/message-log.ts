import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  type Environment,
  MessageLogSetting,
  optionalInteger,
  optionalList,
  optionalString,
  requireString,
} from './config';
import type { Envelope } from './envelope';
import { ConfigurationError } from './errors';
import { isLogId, logIdFloor, logIds, logIdTime } from './log-id';

/**
 * The message log: every user-addressed message (and notification, broadcast, room message) is recorded before it is
 * posted, so a client that reconnects can ask for what it missed (resume) and a user who was offline gets what was
 * sent meanwhile (offline delivery). Core code: the document client and the clock are parameters.
 *
 * Streams. A message is recorded once per stream it belongs to: `user#<userId>` for each recipient of a send to
 * users, `broadcast` once for a broadcast (never once per recipient), `room#<room>` once for a room message (never
 * once per member). {@link streamsToReplay} lists the streams a user replays: the rooms come from the user's room
 * records (`room-log.ts`), so never a room the user was not a member of. Ids are time-ordered across streams (`log-id.ts`): a resume reads each stream
 * from one cursor and merges them by id.
 *
 * Why a resume reaches back {@link MessageLogConfig.skewMs} before the client's last seen id: two senders mint
 * ids on two clocks and post concurrently, so a message with a smaller id can reach the client after one with a
 * larger id. A message is posted within the send path's time after its id is minted (the API-fronted senders'
 * 29 s timeout bounds it): every message the client has not seen and that is older than its last seen id by more
 * than that was posted to the client's connection before that last seen one was, and so reached it first. The
 * client drops the messages it already has by id. The broadcast stream reaches back further
 * ({@link MessageLogConfig.broadcastWindowMs}): the fan-out posts a broadcast over minutes.
 */

/** The stream names: one per user, one shared by all broadcasts, one per room. */
export const LogStream = {
  /** A recipient's stream. */
  user: (userId: string): string => `user#${userId}`,
  /** The one stream every broadcast is recorded in, once. */
  broadcast: 'broadcast',
  /** A room's stream: each message sent to the room, once whatever the room's size. */
  room: (room: string): string => `room#${room}`,
  /** The one item holding a user's offline cursor (`delivered`): not a stream of messages. */
  offlineCursor: (userId: string): string => `offline#${userId}`,
} as const;

/** The sort key of the offline cursor's item. */
const OFFLINE_CURSOR_KEY = 'cursor';

/** Whether a stream is a room's (its messages reach back like a broadcast's: a room send may go through the fan-out). */
export function isRoomStream(stream: string): boolean {
  return stream.startsWith('room#');
}

/**
 * The streams a user's connection replays on resume: the user's own, the broadcast stream, and the streams of the
 * rooms given (the rooms the user belonged to, from the membership records of `room-log.ts`: never a room the user
 * was not a member of). Streams merge by id, so a message recorded in two of them is replayed once.
 *
 * @example
 * streamsToReplay('user123'); // ['user#user123', 'broadcast']
 * streamsToReplay('user123', ['chat:42']); // ['user#user123', 'broadcast', 'room#chat:42']
 */
export function streamsToReplay(userId: string, rooms: readonly string[] = []): string[] {
  return [LogStream.user(userId), LogStream.broadcast, ...rooms.map(LogStream.room)];
}

/** What a connection without a cursor (a first connect, a new device) gets from the log. */
export type OfflineDelivery = 'all' | 'notifications' | 'none';
const offlineDeliveryModes: readonly OfflineDelivery[] = ['all', 'notifications', 'none'];

export interface MessageLogConfig {
  tableName: string;
  /** Seconds a message stays replayable (`MESSAGE_RETENTION_SECONDS`, default 24 h). */
  retentionSeconds: number;
  /** Most messages of one user stream a resume replays (`MESSAGE_LOG_USER_CAP`); older ones are a reported gap. */
  userCap: number;
  /** Types never logged (`EPHEMERAL_MESSAGE_TYPES`). */
  ephemeralTypes: ReadonlySet<string>;
  /** How far a resume reaches back before the last seen id on user streams (`RESUME_SKEW_MS`). */
  skewMs: number;
  /** How far it reaches back on the broadcast stream (a broadcast is posted over minutes). */
  broadcastWindowMs: number;
  /** `OFFLINE_DELIVERY`: `notifications` by default. */
  offlineDelivery: OfflineDelivery;
  /** Most messages in one replay page. */
  pageMessages: number;
  /** Most envelope bytes in one replay page (a page travels as one frame, under API Gateway's 128 KB). */
  pageBytes: number;
}

export const DEFAULT_MESSAGE_RETENTION_SECONDS = 24 * 3600;
export const DEFAULT_MESSAGE_LOG_USER_CAP = 1000;
/** The API-fronted senders' timeout (29 s) plus a second: no post of theirs comes later than that after its id. */
export const DEFAULT_RESUME_SKEW_MS = 30_000;
/** A broadcast's slices normally finish within minutes; this covers a retried slice too. */
export const DEFAULT_BROADCAST_WINDOW_MS = 15 * 60_000;
export const DEFAULT_REPLAY_PAGE_MESSAGES = 100;
/** 96 KB of envelopes per page: with the page's own fields, well under API Gateway's 128 KB message. */
export const DEFAULT_REPLAY_PAGE_BYTES = 96 * 1024;
/** 128 KB less 2 KB for the `replay` page's own fields (type, id, next, gaps): the largest envelope a page carries. */
export const MAX_REPLAYED_ENVELOPE_BYTES = 128 * 1024 - 2048;

/**
 * Reads the message log's settings once; each bad value throws a ConfigurationError naming it. Undefined when
 * `MESSAGE_LOG_TABLE_NAME` is not set (a server library user without a log: delivery stays at most once).
 *
 * @example
 * readMessageLogConfig({ MESSAGE_LOG_TABLE_NAME: 'Log' })?.retentionSeconds; // 86400
 */
export function readMessageLogConfig(env: Environment): MessageLogConfig | undefined {
  if (optionalString(env, MessageLogSetting.messageLogTableName) === undefined) return undefined;
  const offline = optionalString(env, MessageLogSetting.offlineDelivery) ?? 'notifications';
  if (!offlineDeliveryModes.includes(offline as OfflineDelivery)) {
    throw new ConfigurationError(
      MessageLogSetting.offlineDelivery,
      `must be one of ${offlineDeliveryModes.join(', ')}, got "${offline}"`,
    );
  }
  return {
    tableName: requireString(env, MessageLogSetting.messageLogTableName),
    retentionSeconds: optionalInteger(
      env,
      MessageLogSetting.messageRetentionSeconds,
      DEFAULT_MESSAGE_RETENTION_SECONDS,
      {
        min: 1,
        max: 366 * 24 * 3600,
      },
    ),
    userCap: optionalInteger(env, MessageLogSetting.messageLogUserCap, DEFAULT_MESSAGE_LOG_USER_CAP, {
      min: 1,
      max: 100_000,
    }),
    ephemeralTypes: new Set(optionalList(env, MessageLogSetting.ephemeralMessageTypes)),
    skewMs: optionalInteger(env, MessageLogSetting.resumeSkewMs, DEFAULT_RESUME_SKEW_MS, { min: 0, max: 15 * 60_000 }),
    broadcastWindowMs: DEFAULT_BROADCAST_WINDOW_MS,
    offlineDelivery: offline as OfflineDelivery,
    pageMessages: DEFAULT_REPLAY_PAGE_MESSAGES,
    pageBytes: DEFAULT_REPLAY_PAGE_BYTES,
  };
}

/** Why part of a user's history cannot be replayed. */
export interface ReplayGap {
  /**
   * `retention`: the cursor is older than the retention; `cap`: more than the cap were missed on one stream;
   * `too_large`: one message too large to travel inside a page (within 2 KB of API Gateway's 128 KB), named by
   * `logId`.
   */
  reason: 'retention' | 'cap' | 'too_large';
  stream: string;
  /** Messages after this id and up to `until` (exclusive) may be missing; absent: from the start. */
  after?: string;
  /** The first id the replay does have on that stream (absent: none). */
  until?: string;
  /** `too_large` only: the message left out. */
  logId?: string;
}

/** A resume request: the client's last seen id (absent: offline delivery), and where the last page ended. */
export interface ReplayRequest {
  streams: readonly string[];
  /**
   * Per stream, an id the replay never goes at or below whatever the cursor: a room's stream starts where the user
   * joined the room (`RoomRecord.since`), so a member is never replayed what was sent to the room before they joined.
   */
  since?: ReadonlyMap<string, string>;
  /** The last log id the client saw (its cursor); absent: a connection without history, offline delivery. */
  after?: string;
  /** The last id of the previous page of this resume; absent: the first page. */
  pageAfter?: string;
  /** `OFFLINE_DELIVERY` override for this request (the configured one by default). */
  offlineDelivery?: OfflineDelivery;
  /**
   * Replay strictly after `after`, without reaching back: for a client that cannot drop duplicates
   * (socket.io-client). Default false.
   */
  exact?: boolean;
  /**
   * Largest envelope a page may carry, in bytes: a page travels as one frame, so with the page's own fields it must
   * stay under API Gateway's 128 KB. Default {@link MAX_REPLAYED_ENVELOPE_BYTES}; a replay that posts each message
   * on its own (socket.io-client's) passes `Infinity`.
   */
  maxEnvelopeBytes?: number;
}

/** One page of a replay, in id order. */
export interface ReplayPage {
  messages: Envelope[];
  /** Pass back as `pageAfter` for the next page; absent: this is the last page. */
  next?: string;
  /** What cannot be replayed (first page only). Empty: nothing the client missed is lost. */
  gaps: ReplayGap[];
  /** How far back the replay reached before the cursor: the client keeps ids this long to drop duplicates. */
  windowMs: number;
}

export interface MessageLog {
  readonly config: MessageLogConfig;
  /** Whether a message of this type (and this send's `persist` choice) is logged. */
  persists(type: string, persist?: boolean): boolean;
  /**
   * Mints the envelope's log id (it travels with the envelope from then on) and records the envelope once in each
   * stream; resolves when every item is written. A write failure is thrown: a message that cannot be recorded is
   * not posted, so "recorded before posted" holds. Resolves with when the write was acknowledged (epoch ms), which
   * the Socket.IO replay hand-off compares with the replay's last read (`live-handoff.ts`).
   */
  record(envelope: Envelope, streams: readonly string[]): Promise<number>;
  /** Marks the user items of a message whose recipients had no live connection (offline delivery reads them). */
  markOffline(logId: string, userIds: readonly string[]): Promise<void>;
  /**
   * Advances the user's offline cursor to `logId` (never back): a connection received the pending messages up to it,
   * so offline delivery gives the user's next connection without a cursor only those after it. One UpdateItem.
   */
  confirmOffline(userId: string, logId: string): Promise<void>;
  /** Reads one page of a resume. */
  readReplay(request: ReplayRequest): Promise<ReplayPage>;
  /**
   * Up to `limit` messages of the streams with an id above `after` (and above the stream's `since`), merged in id
   * order; `more` if some are left.
   */
  readRange(request: {
    streams: readonly string[];
    after: string;
    limit: number;
    since?: ReadonlyMap<string, string>;
  }): Promise<{ messages: Envelope[]; more: boolean }>;
}

export interface MessageLogOptions {
  client: DynamoDBDocumentClient;
  config: MessageLogConfig;
  /** Epoch ms; tests pass a fixed or moving clock. */
  now?: () => number;
  /** Mints log ids; default the process's generator. */
  ids?: { next(): string };
}

/** DynamoDB's BatchWriteItem limit. */
const BATCH_WRITE_ITEMS = 25;
const UNPROCESSED_RETRIES = 5;

interface LogItem {
  streamId: string;
  logId: string;
  envelope: string;
  type: string;
  expiresAt: number;
  offline?: boolean;
}

/**
 * The DynamoDB message log.
 *
 * @example
 * const log = createMessageLog({ client: getDocumentClient(), config: readMessageLogConfig(process.env)! });
 * const envelope = createEnvelope('chat', { message: 'Hi' });
 * await log.record(envelope, [LogStream.user('user456')]); // envelope.logId is set
 * const page = await log.readReplay({ streams: streamsToReplay('user456'), after: lastSeenLogId });
 */
export function createMessageLog(options: MessageLogOptions): MessageLog {
  const { client, config } = options;
  const now = options.now ?? Date.now;
  const ids = options.ids ?? logIds;
  const tableName = config.tableName;

  async function batchWrite(items: LogItem[]): Promise<void> {
    for (let start = 0; start < items.length; start += BATCH_WRITE_ITEMS) {
      let requests = items.slice(start, start + BATCH_WRITE_ITEMS).map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > UNPROCESSED_RETRIES) throw new Error(`message log: ${requests.length} items left unprocessed`);
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
        const answer = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
        requests = (answer.UnprocessedItems?.[tableName] ?? []) as typeof requests;
      }
    }
  }

  /** Up to `limit` live items of one stream after `after`, in id order (pages through filtered-out items). */
  async function readStream(
    stream: string,
    after: string,
    limit: number,
    filter: { offlineOnly: boolean; type?: string },
  ): Promise<{ items: LogItem[]; exhausted: boolean }> {
    const items: LogItem[] = [];
    let exclusiveStartKey: Record<string, unknown> | undefined;
    const conditions = ['expiresAt > :now'];
    const values: Record<string, unknown> = { ':stream': stream, ':after': after, ':now': Math.floor(now() / 1000) };
    const names: Record<string, string> = {};
    if (filter.offlineOnly) {
      conditions.push('#offline = :true');
      names['#offline'] = 'offline';
    }
    if (filter.offlineOnly) values[':true'] = true;
    if (filter.type) {
      conditions.push('#type = :type');
      names['#type'] = 'type';
      values[':type'] = filter.type;
    }
    do {
      const page = await client.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'streamId = :stream AND logId > :after',
          FilterExpression: conditions.join(' AND '),
          ExpressionAttributeValues: values,
          // `offline` and `type` are DynamoDB reserved words.
          ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
          // A resume right after a send must see its record: the send's registry read came after its log write.
          ConsistentRead: true,
          Limit: limit - items.length,
          ExclusiveStartKey: exclusiveStartKey,
        }),
      );
      items.push(...((page.Items ?? []) as LogItem[]));
      exclusiveStartKey = page.LastEvaluatedKey;
      if (!exclusiveStartKey) return { items, exhausted: true };
    } while (items.length < limit);
    return { items, exhausted: false };
  }

  /** The user's offline cursor: the last pending message a connection confirmed; undefined before any. */
  async function offlineCursor(userId: string): Promise<string | undefined> {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'streamId = :stream AND logId = :key',
        ExpressionAttributeValues: { ':stream': LogStream.offlineCursor(userId), ':key': OFFLINE_CURSOR_KEY },
        ConsistentRead: true,
      }),
    );
    const delivered = page.Items?.[0]?.delivered;
    return isLogId(delivered) ? delivered : undefined;
  }

  /** The id after which a stream keeps at most `cap` items from `after` on: the oldest of the newest cap + 1. */
  async function capStart(stream: string, after: string, cap: number): Promise<string | undefined> {
    const page = await client.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'streamId = :stream AND logId > :after',
        ExpressionAttributeValues: { ':stream': stream, ':after': after },
        ProjectionExpression: 'logId',
        ScanIndexForward: false,
        ConsistentRead: true,
        Limit: cap + 1,
      }),
    );
    const items = page.Items ?? [];
    return items.length > cap ? String(items[cap].logId) : undefined;
  }

  return {
    config,

    persists(type, persist) {
      if (persist === false) return false;
      return !config.ephemeralTypes.has(type);
    },

    async record(envelope, streams) {
      envelope.logId = ids.next();
      const text = JSON.stringify(envelope);
      const expiresAt = Math.floor(logIdTime(envelope.logId) / 1000) + config.retentionSeconds;
      const items = streams.map((stream) => ({
        streamId: stream,
        logId: envelope.logId as string,
        envelope: text,
        type: envelope.type,
        expiresAt,
      }));
      if (items.length === 1) await client.send(new PutCommand({ TableName: tableName, Item: items[0] }));
      else await batchWrite(items);
      return now();
    },

    async markOffline(logId, userIds) {
      await Promise.all(
        userIds.map((userId) =>
          client.send(
            new UpdateCommand({
              TableName: tableName,
              Key: { streamId: LogStream.user(userId), logId },
              UpdateExpression: 'SET #offline = :true',
              ExpressionAttributeNames: { '#offline': 'offline' },
              // Never create an item: a marker without its message would replay nothing.
              ConditionExpression: 'attribute_exists(logId)',
              ExpressionAttributeValues: { ':true': true },
            }),
          ),
        ),
      );
    },

    async confirmOffline(userId, logId) {
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { streamId: LogStream.offlineCursor(userId), logId: OFFLINE_CURSOR_KEY },
            UpdateExpression: 'SET delivered = :logId, expiresAt = :expiresAt',
            // Never back: two devices confirming out of order keep the later cursor.
            ConditionExpression: 'attribute_not_exists(delivered) OR delivered < :logId',
            ExpressionAttributeValues: {
              ':logId': logId,
              // Nothing older than the retention is offered anyway: the cursor need not outlive it.
              ':expiresAt': Math.floor(now() / 1000) + config.retentionSeconds,
            },
          }),
        );
      } catch (error) {
        if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
      }
    },

    async readRange({ streams, after, limit, since }) {
      const reads = await Promise.all(
        streams.map((stream) => {
          const start = since?.get(stream);
          return readStream(stream, start !== undefined && start > after ? start : after, limit, {
            offlineOnly: false,
          });
        }),
      );
      const merged = reads.flatMap((read) => read.items).sort((a, b) => (a.logId < b.logId ? -1 : 1));
      const messages: Envelope[] = [];
      for (const item of merged) {
        if (messages.length === limit) break;
        if (messages.at(-1)?.logId === item.logId) continue;
        messages.push(JSON.parse(item.envelope) as Envelope);
      }
      return { messages, more: merged.length > messages.length || reads.some((read) => !read.exhausted) };
    },

    async readReplay(request) {
      const nowMs = now();
      const retentionFloor = logIdFloor(nowMs - config.retentionSeconds * 1000);
      const gaps: ReplayGap[] = [];
      const offline = request.after === undefined;
      const mode = request.offlineDelivery ?? config.offlineDelivery;
      if (offline && mode === 'none') return { messages: [], gaps, windowMs: 0 };
      if (request.after !== undefined && !isLogId(request.after)) throw new Error('resume cursor is not a log id');
      if (request.pageAfter !== undefined && !isLogId(request.pageAfter))
        throw new Error('page cursor is not a log id');

      // Offline delivery reads the user streams only, and only what was sent while no connection was live.
      const streams = offline ? request.streams.filter((stream) => stream.startsWith('user#')) : request.streams;
      // Each stream's bound on its own, all at once: a user in many rooms pays one round trip for the cap checks, not
      // one per room. Gaps keep the streams' order.
      const bounds = await Promise.all(
        streams.map(async (stream) => {
          const streamGaps: ReplayGap[] = [];
          let lower = retentionFloor;
          const since = request.since?.get(stream);
          if (request.after !== undefined) {
            // A room send may go through the fan-out (posted over minutes), like a broadcast.
            const reach = request.exact
              ? 0
              : stream === LogStream.broadcast || isRoomStream(stream)
                ? config.broadcastWindowMs
                : config.skewMs;
            const wanted = reach === 0 ? request.after : logIdFloor(logIdTime(request.after) - reach);
            if (wanted < retentionFloor) {
              // The client's cursor is older than anything the log still promises to hold: report it, even when
              // nothing was in fact sent meanwhile (the log cannot tell expired messages from none).
              // A room joined within the retention lost nothing: the stream starts at the join.
              const joinedWithin = since !== undefined && since >= retentionFloor;
              if (request.after < retentionFloor && request.pageAfter === undefined && !joinedWithin) {
                streamGaps.push({ reason: 'retention', stream, after: request.after });
              }
            } else {
              lower = wanted;
            }
          }
          if (since !== undefined && since > lower) lower = since;
          if (offline) {
            // Pending messages go to a user once: not those a connection confirmed already (`confirmOffline`).
            const delivered = await offlineCursor(stream.slice('user#'.length));
            if (delivered !== undefined && delivered > lower) lower = delivered;
          }
          // The cap bounds a user's and a room's stream alike (the broadcast stream is everyone's, its rate the operator's).
          if ((stream.startsWith('user#') || isRoomStream(stream)) && request.pageAfter === undefined) {
            const capped = await capStart(stream, lower, config.userCap);
            if (capped !== undefined) {
              streamGaps.push({ reason: 'cap', stream, after: request.after });
              lower = capped;
            }
          }
          // Later pages need no cap check: the page cursor is past the cap's start already (pages go in id order).
          const bound = request.pageAfter !== undefined && request.pageAfter > lower ? request.pageAfter : lower;
          return { stream, bound, gaps: streamGaps };
        }),
      );
      const lowerBounds = new Map(bounds.map(({ stream, bound }) => [stream, bound]));
      for (const bound of bounds) gaps.push(...bound.gaps);

      const filter = {
        offlineOnly: offline,
        type: offline && mode === 'notifications' ? 'notification' : undefined,
      };
      const perStream = await Promise.all(
        streams.map((stream) => readStream(stream, lowerBounds.get(stream)!, config.pageMessages, filter)),
      );
      const merged = perStream.flatMap((read) => read.items).sort((a, b) => (a.logId < b.logId ? -1 : 1));
      const messages: Envelope[] = [];
      let bytes = 0;
      let lastId: string | undefined;
      const maxEnvelopeBytes = request.maxEnvelopeBytes ?? MAX_REPLAYED_ENVELOPE_BYTES;
      let tooLarge = 0;
      for (const item of merged) {
        if (messages.length === config.pageMessages) break;
        // The same message recorded in two of the streams (a user's and a room's) is replayed once.
        if (item.logId === lastId) continue;
        const size = Buffer.byteLength(item.envelope, 'utf8');
        if (size > maxEnvelopeBytes) {
          // It cannot ride in a page without the frame passing 128 KB (API Gateway would close the connection):
          // left out, and said so.
          gaps.push({ reason: 'too_large', stream: item.streamId, logId: item.logId });
          lastId = item.logId;
          tooLarge += 1;
          continue;
        }
        if (messages.length > 0 && bytes + size > config.pageBytes) break;
        bytes += size;
        messages.push(JSON.parse(item.envelope) as Envelope);
        lastId = item.logId;
      }
      const unread = merged.length > messages.length + tooLarge || perStream.some((read) => !read.exhausted);
      const first = messages[0]?.logId;
      for (const gap of gaps) {
        if (first !== undefined && gap.reason !== 'too_large') gap.until = first;
      }
      return {
        messages,
        ...(unread && lastId !== undefined ? { next: lastId } : {}),
        gaps,
        windowMs: Math.max(config.skewMs, config.broadcastWindowMs),
      };
    },
  };
}
