import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody } from '../request-parts';
import { createSigV4Verifier, signatureMessages, type VerifierCredentials } from '../sigv4-verifier';
import {
  hasOnlyAllowedCharacters,
  LocalQueue,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
  messageSize,
  type QueueCounts,
  type QueueDeclaration,
  SqsError,
  sqsErrors,
} from './local-queue';
import { isBinary, type MessageAttributeValue } from './message-digest';

export interface LocalSqsOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 0 (any free port) */
  port?: number;
  /** The region of the queues' ARNs, and the one signatures must be scoped to. */
  region: string;
  /** @default '000000000000' */
  accountId?: string;
  /** Every queue, dead-letter queues included; a redrive names its dead-letter queue by name. */
  queues: readonly QueueDeclaration[];
  /**
   * When given, every request must carry a SigV4 signature for `sqs` in `region` with this key pair (checked by the
   * same verifier as `@connections`), else 403. When omitted, signatures are not checked at all.
   */
  credentials?: VerifierCredentials;
}

/** A running local SQS: its endpoint for the SDK, and in-process access for the event source mapping and tests. */
export interface LocalSqs {
  /** `http://127.0.0.1:PORT`: the SDK's `endpoint` (or `AWS_ENDPOINT_URL_SQS`). */
  readonly endpoint: string;
  readonly region: string;
  readonly accountId: string;
  /** `http://127.0.0.1:PORT/000000000000/name`, what GetQueueUrl answers. */
  queueUrl(name: string): string;
  /** `arn:aws:sqs:REGION:ACCOUNT:name`. */
  queueArn(name: string): string;
  /** The queue itself, for the event source mapping (which polls in process, as Lambda's pollers are AWS-side). */
  queue(name: string): LocalQueue;
  /** Visible, in-flight and delayed message counts: what GetQueueAttributes reports, for assertions. */
  counts(name: string): QueueCounts;
  /** Ends long polls (answered empty), closes the server and its connections. */
  stop(): Promise<void>;
}

/** AWS's limits, from the SQS API reference and "Amazon SQS message quotas". */
const MAX_BATCH_ENTRIES = 10;
const MAX_WAIT_TIME_SECONDS = 20;
const MAX_DELAY_SECONDS = 900;
const MAX_MESSAGE_ATTRIBUTES = 10;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
/** Read limit for one request: ten 1 MiB messages in JSON, with room; SQS's own limits are checked after. */
const MAX_REQUEST_BYTES = 12 * 1024 * 1024;
const JSON_1_0 = 'application/x-amz-json-1.0';

type Body = Record<string, unknown>;
type Action = (input: Body, context: { senderId: string; signal: AbortSignal }) => unknown | Promise<unknown>;

/**
 * Starts an SQS endpoint in process that the real `@aws-sdk/client-sqs` v3 talks to unchanged: the AWS JSON 1.0
 * protocol (`X-Amz-Target: AmazonSQS.<Action>`), errors with `__type` and the `x-amzn-query-error` header the SDK
 * maps to its exception classes (`QueueDoesNotExist`, `TooManyEntriesInBatchRequest`, …), and the digests its
 * checksum middleware validates. Standard queues only; the queues are those declared, created at start.
 *
 * @example
 * const sqs = await startLocalSqs({
 *   region: 'us-east-1',
 *   queues: [
 *     { name: 'slices', visibilityTimeoutSeconds: 30, redrive: { deadLetterQueueName: 'slices-dlq', maxReceiveCount: 5 } },
 *     { name: 'slices-dlq', visibilityTimeoutSeconds: 30 },
 *   ],
 * });
 * const client = new SQSClient({ endpoint: sqs.endpoint, region: sqs.region, credentials });
 * await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl('slices'), MessageBody: 'hello' }));
 * await sqs.stop();
 */
export async function startLocalSqs(options: LocalSqsOptions): Promise<LocalSqs> {
  const { region } = options;
  const accountId = options.accountId ?? '000000000000';
  const queues = new Map<string, LocalQueue>();
  const queueArn = (name: string) => `arn:aws:sqs:${region}:${accountId}:${name}`;
  for (const declaration of options.queues) {
    checkDeclaration(declaration);
    if (queues.has(declaration.name)) throw new Error(`queue ${declaration.name} is declared twice`);
    queues.set(declaration.name, new LocalQueue(declaration, queueArn(declaration.name), (name) => queues.get(name)));
  }
  for (const declaration of options.queues) {
    const target = declaration.redrive?.deadLetterQueueName;
    if (target !== undefined && !queues.has(target)) {
      throw new Error(`queue ${declaration.name}: its redrive names ${target}, which is not declared`);
    }
  }

  const verify = options.credentials
    ? createSigV4Verifier({ credentials: options.credentials, region, service: 'sqs' })
    : undefined;
  const stopping = new AbortController();
  // Every long poll in flight listens for the stop: as many listeners as concurrent ReceiveMessage calls, which the
  // pollers bound, not a leak (Node warns past 10).
  setMaxListeners(0, stopping.signal);
  let origin = '';
  const queueUrl = (name: string) => `${origin}/${accountId}/${name}`;
  const queueFromUrl = (input: Body): LocalQueue => {
    const url = requiredString(input, 'QueueUrl');
    // SQS resolves the queue from the URL's path (account and name); the host is the endpoint's business.
    const match = /\/(\d{12})\/([^/?#]+)\/?$/.exec(url);
    const queue = match && match[1] === accountId ? queues.get(decodeURIComponent(match[2])) : undefined;
    if (!queue) throw sqsErrors.queueDoesNotExist();
    return queue;
  };

  const actions: Record<string, Action> = {
    GetQueueUrl: (input) => {
      const name = requiredString(input, 'QueueName');
      if (!queues.has(name)) throw sqsErrors.queueDoesNotExist();
      return { QueueUrl: queueUrl(name) };
    },
    ListQueues: (input) => {
      const prefix = typeof input.QueueNamePrefix === 'string' ? input.QueueNamePrefix : '';
      return { QueueUrls: [...queues.keys()].filter((name) => name.startsWith(prefix)).map(queueUrl) };
    },
    GetQueueAttributes: (input) => {
      const queue = queueFromUrl(input);
      const all = queueAttributes(queue, queues);
      const names = Array.isArray(input.AttributeNames) ? (input.AttributeNames as string[]) : [];
      const wanted = names.includes('All') ? Object.keys(all) : names;
      const attributes: Record<string, string> = {};
      for (const name of wanted) {
        if (!(name in all) && !knownQueueAttributes.has(name)) {
          throw new SqsError('InvalidAttributeName', 'InvalidAttributeName', 400, `Unknown Attribute ${name}.`);
        }
        if (name in all) attributes[name] = all[name];
      }
      return Object.keys(attributes).length > 0 ? { Attributes: attributes } : {};
    },
    PurgeQueue: (input) => {
      queueFromUrl(input).purge();
      return {};
    },
    SendMessage: (input, context) => {
      const queue = queueFromUrl(input);
      return queue.send(validatedSend(queue, input, context.senderId));
    },
    SendMessageBatch: (input, context) => {
      const queue = queueFromUrl(input);
      const entries = batchEntries(input);
      // The whole request counts against the limit too (SendMessageBatch reference: BatchRequestTooLong).
      const total = entries.reduce(
        (sum, entry) => sum + messageSize(String(entry.MessageBody ?? ''), attributesOf(entry)),
        0,
      );
      if (total > queue.maximumMessageSize) {
        throw new SqsError(
          'AWS.SimpleQueueService.BatchRequestTooLong',
          'BatchRequestTooLong',
          400,
          `Batch requests cannot be longer than ${queue.maximumMessageSize} bytes. You have sent ${total} bytes.`,
        );
      }
      return perEntry(entries, (entry) => ({
        Id: entry.Id,
        ...queue.send(validatedSend(queue, entry, context.senderId)),
      }));
    },
    ReceiveMessage: async (input, context) => {
      const queue = queueFromUrl(input);
      const maxNumberOfMessages = optionalInteger(input, 'MaxNumberOfMessages', 1, MAX_BATCH_ENTRIES) ?? 1;
      const waitTimeSeconds =
        optionalInteger(input, 'WaitTimeSeconds', 0, MAX_WAIT_TIME_SECONDS) ??
        queue.declaration.receiveMessageWaitTimeSeconds ??
        0;
      const visibilityTimeoutSeconds = optionalInteger(input, 'VisibilityTimeout', 0, MAX_VISIBILITY_TIMEOUT_SECONDS);
      const messages = await queue.receive({
        maxNumberOfMessages,
        waitTimeSeconds,
        visibilityTimeoutSeconds,
        signal: context.signal,
      });
      const systemNames = [
        ...(Array.isArray(input.MessageSystemAttributeNames) ? (input.MessageSystemAttributeNames as string[]) : []),
        ...(Array.isArray(input.AttributeNames) ? (input.AttributeNames as string[]) : []),
      ];
      const attributeNames = Array.isArray(input.MessageAttributeNames)
        ? (input.MessageAttributeNames as string[])
        : [];
      return {
        Messages: messages.map((message) => {
          const { Attributes, MessageAttributes, MD5OfMessageAttributes, ...rest } = message;
          const selectedSystem = pick(Attributes, (name) => systemNames.includes('All') || systemNames.includes(name));
          const selectedAttributes = MessageAttributes
            ? pick(MessageAttributes, (name) => attributeNameSelected(attributeNames, name))
            : {};
          return {
            ...rest,
            ...(Object.keys(selectedSystem).length > 0 ? { Attributes: selectedSystem } : {}),
            // SQS returns the digest of all the message's attributes whenever it returns any of them.
            ...(Object.keys(selectedAttributes).length > 0
              ? { MessageAttributes: selectedAttributes, MD5OfMessageAttributes }
              : {}),
          };
        }),
      };
    },
    DeleteMessage: (input) => {
      queueFromUrl(input).delete(requiredString(input, 'ReceiptHandle'));
      return {};
    },
    DeleteMessageBatch: (input) => {
      const queue = queueFromUrl(input);
      return perEntry(batchEntries(input), (entry) => {
        queue.delete(requiredString(entry, 'ReceiptHandle'));
        return { Id: entry.Id };
      });
    },
    ChangeMessageVisibility: (input) => {
      const queue = queueFromUrl(input);
      const timeout = optionalInteger(input, 'VisibilityTimeout', 0, MAX_VISIBILITY_TIMEOUT_SECONDS);
      if (timeout === undefined) throw sqsErrors.missingParameter('VisibilityTimeout');
      queue.changeVisibility(requiredString(input, 'ReceiptHandle'), timeout);
      return {};
    },
    ChangeMessageVisibilityBatch: (input) => {
      const queue = queueFromUrl(input);
      return perEntry(batchEntries(input), (entry) => {
        const timeout = optionalInteger(entry, 'VisibilityTimeout', 0, MAX_VISIBILITY_TIMEOUT_SECONDS);
        if (timeout === undefined) throw sqsErrors.missingParameter('VisibilityTimeout');
        queue.changeVisibility(requiredString(entry, 'ReceiptHandle'), timeout);
        return { Id: entry.Id };
      });
    },
  };

  const server = createServer((request, response) => {
    void serve(request, response).catch((error: unknown) => {
      if (!response.headersSent)
        sendError(response, new SqsError('InternalFailure', 'InternalFailure', 500, String(error)));
    });
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request, MAX_REQUEST_BYTES);
    if (body === undefined) {
      sendError(response, new SqsError('RequestEntityTooLarge', 'RequestEntityTooLarge', 413, 'Request too large.'));
      return;
    }
    if (verify) {
      const verification = await verify(request, body);
      if (!verification.ok) {
        sendError(response, signatureError(verification.message));
        return;
      }
    }
    const target = String(request.headers['x-amz-target'] ?? '');
    const action = target.startsWith('AmazonSQS.') ? actions[target.slice('AmazonSQS.'.length)] : undefined;
    if (request.method !== 'POST' || !action) {
      sendError(
        response,
        new SqsError('UnknownOperationException', 'UnknownOperationException', 400, `Unknown operation ${target}.`),
      );
      return;
    }
    let input: Body;
    try {
      input = body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as Body);
    } catch {
      sendError(response, new SqsError('SerializationException', 'SerializationException', 400, 'Malformed JSON.'));
      return;
    }
    try {
      const output = await action(input, { senderId: senderIdOf(request, accountId), signal: stopping.signal });
      response.writeHead(200, { 'Content-Type': JSON_1_0, 'x-amzn-RequestId': randomUUID() });
      response.end(JSON.stringify(output));
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      sendError(response, error);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  origin = `http://${host}:${address.port}`;

  const queueNamed = (name: string) => {
    const queue = queues.get(name);
    if (!queue) throw new Error(`queue ${name} is not declared (declared: ${[...queues.keys()].join(', ')})`);
    return queue;
  };
  return {
    endpoint: origin,
    region,
    accountId,
    queueUrl: (name) => queueUrl(queueNamed(name).name),
    queueArn: (name) => queueNamed(name).arn,
    queue: queueNamed,
    counts: (name) => queueNamed(name).counts(),
    stop: async () => {
      stopping.abort();
      for (const queue of queues.values()) queue.wakeAll();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // The long polls just woken answer within this turn; whatever socket is still open after it is dropped.
        setImmediate(() => server.closeAllConnections());
      });
    },
  };
}

/** The attribute names GetQueueAttributes knows and this emulator does not keep (FIFO, KMS, policy…). */
const knownQueueAttributes = new Set([
  'Policy',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'SqsManagedSseEnabled',
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
  'RedriveAllowPolicy',
]);

function queueAttributes(queue: LocalQueue, queues: Map<string, LocalQueue>): Record<string, string> {
  const counts = queue.counts();
  const { declaration } = queue;
  const attributes: Record<string, string> = {
    QueueArn: queue.arn,
    ApproximateNumberOfMessages: String(counts.visible),
    ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
    ApproximateNumberOfMessagesDelayed: String(counts.delayed),
    CreatedTimestamp: String(Math.floor(queue.createdTimestamp / 1000)),
    LastModifiedTimestamp: String(Math.floor(queue.createdTimestamp / 1000)),
    VisibilityTimeout: String(declaration.visibilityTimeoutSeconds),
    MaximumMessageSize: String(queue.maximumMessageSize),
    MessageRetentionPeriod: String(declaration.messageRetentionSeconds ?? 345_600),
    DelaySeconds: String(declaration.delaySeconds ?? 0),
    ReceiveMessageWaitTimeSeconds: String(declaration.receiveMessageWaitTimeSeconds ?? 0),
  };
  if (declaration.redrive) {
    const target = queues.get(declaration.redrive.deadLetterQueueName);
    // SQS answers the policy as the JSON string it stores, maxReceiveCount a number.
    attributes.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: target?.arn,
      maxReceiveCount: declaration.redrive.maxReceiveCount,
    });
  }
  return attributes;
}

function checkDeclaration(declaration: QueueDeclaration): void {
  const where = `queue ${declaration.name}`;
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(declaration.name)) {
    throw new Error(
      `${where}: a name is 1 to 80 letters, digits, hyphens or underscores (FIFO queues are not emulated)`,
    );
  }
  const timeout = declaration.visibilityTimeoutSeconds;
  if (!(timeout >= 0 && timeout <= MAX_VISIBILITY_TIMEOUT_SECONDS)) {
    throw new Error(`${where}: visibilityTimeoutSeconds must be 0 to ${MAX_VISIBILITY_TIMEOUT_SECONDS}`);
  }
  const maxReceiveCount = declaration.redrive?.maxReceiveCount;
  if (
    maxReceiveCount !== undefined &&
    !(Number.isInteger(maxReceiveCount) && maxReceiveCount >= 1 && maxReceiveCount <= 1000)
  ) {
    throw new Error(`${where}: redrive.maxReceiveCount must be an integer from 1 to 1000`);
  }
}

function sendError(response: ServerResponse, error: SqsError): void {
  response.writeHead(error.statusCode, {
    'Content-Type': JSON_1_0,
    'x-amzn-RequestId': randomUUID(),
    // The SDK (awsQueryCompatible) names the exception from this header's code, then finds the modelled class.
    'x-amzn-query-error': `${error.queryCode};${error.statusCode >= 500 ? 'Receiver' : 'Sender'}`,
  });
  response.end(JSON.stringify({ __type: `com.amazonaws.sqs#${error.shape}`, message: error.message }));
}

/** The Query API's "Common Errors" codes for authentication; the verifier's messages say which one it is. */
function signatureError(message: string): SqsError {
  if (message === signatureMessages.missing) {
    return new SqsError('MissingAuthenticationToken', 'MissingAuthenticationToken', 403, message);
  }
  if (message === signatureMessages.unknownKey) {
    return new SqsError('InvalidClientTokenId', 'InvalidClientTokenId', 403, message);
  }
  return new SqsError('SignatureDoesNotMatch', 'SignatureDoesNotMatch', 403, message);
}

/** SQS reports the sender's key id (for a user) as `SenderId`; locally the signing key id, else the account. */
function senderIdOf(request: IncomingMessage, accountId: string): string {
  const credential = /Credential=([^/]+)\//.exec(String(request.headers.authorization ?? ''));
  return credential?.[1] ?? accountId;
}

function validatedSend(queue: LocalQueue, input: Body, senderId: string) {
  const body = input.MessageBody;
  if (typeof body !== 'string' || body.length === 0) throw sqsErrors.missingParameter('MessageBody');
  const messageAttributes = attributesOf(input);
  checkAttributes(messageAttributes);
  const size = messageSize(body, messageAttributes);
  if (size > queue.maximumMessageSize) {
    throw sqsErrors.invalidParameterValue(
      `One or more parameters are invalid. Reason: Message must be shorter than ${queue.maximumMessageSize} bytes.`,
    );
  }
  if (!hasOnlyAllowedCharacters(body)) {
    throw sqsErrors.invalidMessageContents(
      'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF',
    );
  }
  const delaySeconds = optionalInteger(input, 'DelaySeconds', 0, MAX_DELAY_SECONDS);
  return { body, delaySeconds, messageAttributes, senderId };
}

function attributesOf(input: Body): Record<string, MessageAttributeValue> | undefined {
  const attributes = input.MessageAttributes;
  return attributes && typeof attributes === 'object'
    ? (attributes as Record<string, MessageAttributeValue>)
    : undefined;
}

function checkAttributes(attributes: Record<string, MessageAttributeValue> | undefined): void {
  const entries = Object.entries(attributes ?? {});
  if (entries.length > MAX_MESSAGE_ATTRIBUTES) {
    throw sqsErrors.invalidParameterValue(
      `Number of message attributes [${entries.length}] exceeds the allowed maximum [${MAX_MESSAGE_ATTRIBUTES}].`,
    );
  }
  for (const [name, attribute] of entries) {
    const type = attribute?.DataType;
    if (typeof type !== 'string' || !/^(String|Number|Binary)(\..+)?$/.test(type)) {
      throw sqsErrors.invalidParameterValue(`The message attribute '${name}' has an invalid message attribute type.`);
    }
    const value = isBinary(type) ? attribute.BinaryValue : attribute.StringValue;
    if (typeof value !== 'string' || value.length === 0) {
      throw sqsErrors.invalidParameterValue(
        `The message attribute '${name}' must contain a non-empty value of type '${type}'.`,
      );
    }
  }
}

/** A batch's entries, after the request-level checks SQS makes before looking at any entry. */
function batchEntries(input: Body): Body[] {
  const entries = Array.isArray(input.Entries) ? (input.Entries as Body[]) : [];
  if (entries.length === 0) {
    throw new SqsError(
      'AWS.SimpleQueueService.EmptyBatchRequest',
      'EmptyBatchRequest',
      400,
      'There should be at least one entry in the request.',
    );
  }
  if (entries.length > MAX_BATCH_ENTRIES) {
    throw new SqsError(
      'AWS.SimpleQueueService.TooManyEntriesInBatchRequest',
      'TooManyEntriesInBatchRequest',
      400,
      `Maximum number of entries per request are ${MAX_BATCH_ENTRIES}. You have sent ${entries.length}.`,
    );
  }
  const ids = new Set<string>();
  for (const entry of entries) {
    const id = entry.Id;
    if (typeof id !== 'string' || !BATCH_ENTRY_ID.test(id)) {
      throw new SqsError(
        'AWS.SimpleQueueService.InvalidBatchEntryId',
        'InvalidBatchEntryId',
        400,
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    }
    if (ids.has(id)) {
      throw new SqsError(
        'AWS.SimpleQueueService.BatchEntryIdsNotDistinct',
        'BatchEntryIdsNotDistinct',
        400,
        `Id ${id} repeated.`,
      );
    }
    ids.add(id);
  }
  return entries;
}

/** Runs each entry on its own: an entry's error is reported in `Failed` and the others still succeed. */
function perEntry(entries: Body[], run: (entry: Body) => unknown): { Successful: unknown[]; Failed: unknown[] } {
  const Successful: unknown[] = [];
  const Failed: unknown[] = [];
  for (const entry of entries) {
    try {
      Successful.push(run(entry));
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      Failed.push({ Id: entry.Id, SenderFault: error.statusCode < 500, Code: error.shape, Message: error.message });
    }
  }
  return { Successful, Failed };
}

function requiredString(input: Body, name: string): string {
  const value = input[name];
  if (typeof value !== 'string' || value.length === 0) throw sqsErrors.missingParameter(name);
  return value;
}

function optionalInteger(input: Body, name: string, min: number, max: number): number | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw sqsErrors.invalidParameterValue(
      `Value ${String(value)} for parameter ${name} is invalid. Reason: Must be between ${min} and ${max}, if provided.`,
    );
  }
  return value;
}

/** `All`, `.*`, an exact name, or a `prefix.*`, as ReceiveMessage's MessageAttributeNames takes them. */
function attributeNameSelected(requested: string[], name: string): boolean {
  return requested.some(
    (pattern) =>
      pattern === 'All' ||
      pattern === '.*' ||
      pattern === name ||
      (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1))),
  );
}

function pick<T>(record: Record<string, T>, keep: (name: string) => boolean): Record<string, T> {
  return Object.fromEntries(Object.entries(record).filter(([name]) => keep(name)));
}
