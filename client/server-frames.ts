import type { Envelope } from '../lambdas/core/envelope';

/** The `error` frame's data, and what the adapter emits for a frame it cannot read. */
export interface ServerErrorData {
  code: string;
  message: string;
}

/**
 * What a `delivery` frame carries for a sender holding the admin permission (`ws:admin`): the report of a send
 * through the socket's send route (the HTTP API answers the same report). `recipients` maps each addressed user
 * with a registered connection to what happened to each connection; `notConnected` lists the users with no live
 * connection.
 */
export interface DetailedDeliveryReportData {
  messageId: string;
  timestamp: string;
  recipients: Record<
    string,
    { delivered: string[]; failed: Array<{ connectionId: string; error: string }>; stale: string[] }
  >;
  notConnected: string[];
}

/**
 * What a `delivery` frame carries for any other sender: no connection ids (they would tell the sender how many
 * sessions each recipient has open, which the status route shows only to admins). `recipients` maps each addressed
 * user with a live connection to `delivered` (at least one connection got it) or `failed` (every post failed);
 * `connections` counts the posts.
 */
export interface DeliverySummaryData {
  messageId: string;
  timestamp: string;
  recipients: Record<string, 'delivered' | 'failed'>;
  notConnected: string[];
  connections: { delivered: number; failed: number; stale: number };
}

/**
 * A `delivery` frame's report: {@link DeliverySummaryData} for most senders, {@link DetailedDeliveryReportData}
 * for admins. Both list `notConnected`; `'connections' in report` tells them apart.
 */
export type DeliveryReportData = DetailedDeliveryReportData | DeliverySummaryData;

/** What `authenticated` carries. */
export interface AuthenticatedData {
  userId: string;
  connectionId: string;
}

/** Names the adapter emits itself; an incoming message type with one of these names only fires `message`. */
const lifecycleEvents = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'reconnect',
  'reconnect_attempt',
  'reconnect_error',
  'reconnect_failed',
  'connection_renewed',
  'emit_dropped',
  'message',
  'frame',
  'newListener',
  'removeListener',
]);

/** Frame types the server produces as answers; everything else is a message pushed to the user. */
const answerFrameTypes = new Set(['authenticated', 'pong', 'error', 'delivery', 'joined', 'left', 'members']);

/** Envelope ids remembered to drop the copy a message sends to both connections during a renewal. */
const rememberedEnvelopeIds = 512;

/** A frame from the server: an envelope, or what to report (as an `error` event) when it is not one. */
export type DecodedServerFrame = { envelope: Envelope } | { unreadable: ServerErrorData };

/**
 * Reads one frame from the server. A frame that is not JSON, or JSON that is not an envelope (API Gateway's own
 * answers, such as a handler that threw or a missing route, are `{ message, connectionId, ... }`), comes back as
 * the error data to report, with API Gateway's message when it has one.
 *
 * @example
 * decodeServerFrame('{"type":"pong","id":"1","data":{},"timestamp":"…"}'); // { envelope: { type: 'pong', … } }
 * decodeServerFrame('{"message":"Internal server error"}');
 * // { unreadable: { code: 'server_error', message: 'Internal server error' } }
 */
export function decodeServerFrame(text: string): DecodedServerFrame {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { unreadable: { code: 'invalid_frame', message: 'The server sent a frame that is not JSON' } };
  }
  if (!isEnvelope(parsed)) {
    const message =
      parsed !== null && typeof parsed === 'object' && typeof (parsed as { message?: unknown }).message === 'string'
        ? (parsed as { message: string }).message
        : 'The server sent a frame that is not an envelope';
    return { unreadable: { code: 'server_error', message } };
  }
  return { envelope: parsed };
}

/**
 * Whether a frame type is the server's answer to an action (`authenticated`, `pong`, `error`, `delivery`), which
 * fires its own event, rather than a message pushed to the user, which fires `message`.
 *
 * @example
 * isAnswerFrame('pong'); // true
 * isAnswerFrame('chat'); // false
 */
export function isAnswerFrame(type: string): boolean {
  return answerFrameTypes.has(type);
}

/**
 * Whether a name is one of the adapter's own events: a pushed message of that type must not fire it, or a
 * message typed `disconnect` would look like a lost connection.
 *
 * @example
 * isAdapterEventName('connect'); // true: a message typed `connect` only fires `message`
 * isAdapterEventName('notification'); // false: it fires `notification` too
 */
export function isAdapterEventName(name: string): boolean {
  return lifecycleEvents.has(name);
}

/**
 * The last envelope ids seen, bounded. During a make-before-break renewal the server may deliver one message to
 * both connections of the socket; its id lets the second copy be dropped.
 *
 * @example
 * const recent = new RecentEnvelopeIds();
 * recent.seenBefore('a'); // false
 * recent.seenBefore('a'); // true
 */
export class RecentEnvelopeIds {
  private readonly ids: string[] = [];

  constructor(private readonly capacity = rememberedEnvelopeIds) {}

  /** Whether `id` was seen among the last ids; it is remembered from now on either way. */
  seenBefore(id: string): boolean {
    if (this.ids.includes(id)) return true;
    this.ids.push(id);
    if (this.ids.length > this.capacity) this.ids.shift();
    return false;
  }
}

function isEnvelope(value: unknown): value is Envelope {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Envelope).type === 'string' &&
    typeof (value as Envelope).id === 'string'
  );
}
