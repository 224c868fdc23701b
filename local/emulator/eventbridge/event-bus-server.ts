import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from '../request-parts';
import { createSigV4Verifier, signatureMessages, type VerifierCredentials } from '../sigv4-verifier';

/**
 * An EventBridge stand-in for the local stack: it takes `PutEvents` from the real `@aws-sdk/client-eventbridge`
 * (reached through `AWS_ENDPOINT_URL_EVENTBRIDGE`, as the local SQS is through `AWS_ENDPOINT_URL_SQS`) and records
 * each accepted entry as the event a rule's target would receive. It has no rules or targets: tests and `npm start`
 * read what was put. Only what the gateway calls is here.
 *
 * Shapes, from the EventBridge API reference (`PutEvents`, `PutEventsRequestEntry`, `PutEventsResultEntry`) and the
 * user guide's "Amazon EventBridge events" (the event structure a target receives):
 * - request: AWS JSON 1.1, `X-Amz-Target: AWSEvents.PutEvents`, `{ "Entries": [ { Source, DetailType, Detail,
 *   EventBusName?, Resources?, Time? } ] }`, 1 to 10 entries;
 * - answer: `{ "FailedEntryCount": n, "Entries": [ { "EventId" } | { "ErrorCode", "ErrorMessage" } ] }`, one result per
 *   entry in the request's order; a refused entry (`InvalidArgument` for a missing field, `MalformedDetail` for a
 *   Detail that is not a JSON object) does not fail the request or the other entries;
 * - an event bus that does not exist: `ResourceNotFoundException` for the request.
 */

/** An event as a rule's target receives it (EventBridge user guide, "Amazon EventBridge events"). */
export interface RecordedEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  /** ISO 8601 to the second, as EventBridge writes it. */
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
  /** Not part of the delivered event: the bus it was put on (by name). */
  eventBusName: string;
}

export interface LocalEventBridgeOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 0 (any free port) */
  port?: number;
  region: string;
  /** @default '000000000000' */
  accountId?: string;
  /** The buses that exist; `default` is always one of them. */
  eventBuses?: readonly string[];
  /** When given, every request must carry a SigV4 signature for `events` with this key pair, else 403. */
  credentials?: VerifierCredentials;
}

export interface LocalEventBridge {
  /** `http://127.0.0.1:PORT`: the SDK's `endpoint` (or `AWS_ENDPOINT_URL_EVENTBRIDGE`). */
  readonly endpoint: string;
  /** Every event accepted so far, oldest first. */
  events(): readonly RecordedEvent[];
  /** Calls `listener` with each event accepted from now on; returns the function that stops it. */
  onEvent(listener: (event: RecordedEvent) => void): () => void;
  stop(): Promise<void>;
}

const MAX_ENTRIES = 10;
/** PutEvents' request size quota (EventBridge quotas: 256 KB per request); a larger request is read no further. */
const MAX_REQUEST_BYTES = 256 * 1024;
const JSON_1_1 = 'application/x-amz-json-1.1';

class EventBridgeError extends Error {
  constructor(
    readonly type: string,
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

type Entry = Record<string, unknown>;
type EntryResult = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/**
 * Starts the stand-in on a local port.
 *
 * @example
 * const bus = await startLocalEventBridge({ region: 'us-east-1' });
 * const client = new EventBridgeClient({ endpoint: bus.endpoint, region: 'us-east-1', credentials });
 * await client.send(new PutEventsCommand({ Entries: [{ Source: 's', DetailType: 'd', Detail: '{}' }] }));
 * bus.events()[0]['detail-type']; // 'd'
 * await bus.stop();
 */
export async function startLocalEventBridge(options: LocalEventBridgeOptions): Promise<LocalEventBridge> {
  const { region } = options;
  const accountId = options.accountId ?? '000000000000';
  const buses = new Set(['default', ...(options.eventBuses ?? [])]);
  const recorded: RecordedEvent[] = [];
  const listeners = new Set<(event: RecordedEvent) => void>();
  const verify = options.credentials
    ? createSigV4Verifier({ credentials: options.credentials, region, service: 'events' })
    : undefined;

  /** A bus given by name or by ARN (`arn:aws:events:REGION:ACCOUNT:event-bus/NAME`), as PutEvents takes either. */
  const busNamed = (value: unknown): string => {
    const given = value === undefined || value === null || value === '' ? 'default' : String(value);
    const name = given.startsWith('arn:') ? given.slice(given.indexOf(':event-bus/') + ':event-bus/'.length) : given;
    if (!buses.has(name)) {
      throw new EventBridgeError('ResourceNotFoundException', 400, `Event bus ${name} does not exist.`);
    }
    return name;
  };

  function putEntry(entry: Entry): EntryResult {
    for (const field of ['Source', 'DetailType', 'Detail'] as const) {
      if (typeof entry[field] !== 'string' || entry[field] === '') {
        return {
          ErrorCode: 'InvalidArgument',
          ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
        };
      }
    }
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail as string);
    } catch {
      detail = undefined;
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    const eventBusName = busNamed(entry.EventBusName);
    // The SDK sends Time as epoch seconds (AWS JSON timestamps); EventBridge writes the event's time to the second.
    const time = typeof entry.Time === 'number' ? new Date(entry.Time * 1000) : new Date();
    const event: RecordedEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType as string,
      source: entry.Source as string,
      account: accountId,
      time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region,
      resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
      detail: detail as Record<string, unknown>,
      eventBusName,
    };
    recorded.push(event);
    for (const listener of listeners) listener(event);
    return { EventId: event.id };
  }

  function putEvents(input: Entry): unknown {
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length === 0 || entries.length > MAX_ENTRIES) {
      throw new EventBridgeError(
        'ValidationException',
        400,
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES}`,
      );
    }
    // Every bus named must exist before any entry is taken: the request fails as a whole.
    for (const entry of entries as Entry[]) busNamed(entry.EventBusName);
    const results = (entries as Entry[]).map(putEntry);
    return { FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length, Entries: results };
  }

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request, MAX_REQUEST_BYTES);
    if (body === undefined) {
      throw new EventBridgeError(
        'ValidationException',
        400,
        'Total size of the entries in the request is over the limit.',
      );
    }
    if (verify) {
      const verification = await verify(request, body);
      if (!verification.ok) {
        const type =
          verification.message === signatureMessages.missing
            ? 'MissingAuthenticationTokenException'
            : verification.message === signatureMessages.unknownKey
              ? 'UnrecognizedClientException'
              : 'InvalidSignatureException';
        throw new EventBridgeError(type, 403, verification.message);
      }
    }
    const target = String(request.headers['x-amz-target'] ?? '');
    if (request.method !== 'POST' || target !== 'AWSEvents.PutEvents') {
      throw new EventBridgeError('UnknownOperationException', 400, `Unknown operation ${target}.`);
    }
    let input: Entry;
    try {
      input = JSON.parse(body.toString('utf8')) as Entry;
    } catch {
      throw new EventBridgeError('SerializationException', 400, 'Malformed JSON.');
    }
    const output = putEvents(input);
    response.writeHead(200, { 'Content-Type': JSON_1_1, 'x-amzn-RequestId': randomUUID() });
    response.end(JSON.stringify(output));
  }

  const server = createServer((request, response) => {
    serve(request, response).catch((error: unknown) => {
      if (response.headersSent) return;
      const failure =
        error instanceof EventBridgeError ? error : new EventBridgeError('InternalException', 500, String(error));
      response.writeHead(failure.statusCode, { 'Content-Type': JSON_1_1, 'x-amzn-RequestId': randomUUID() });
      response.end(JSON.stringify({ __type: failure.type, message: failure.message }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    endpoint: `http://${host}:${address.port}`,
    events: () => [...recorded],
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        listeners.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
