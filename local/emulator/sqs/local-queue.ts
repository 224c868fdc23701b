import { randomBytes, randomUUID } from 'node:crypto';
import { isBinary, type MessageAttributeValue, md5OfBody, md5OfMessageAttributes } from './message-digest';

/** An SQS error as the JSON protocol reports it: the query-compatible code the SDK maps to its exception class. */
export class SqsError extends Error {
  override readonly name = 'SqsError';

  /**
   * @param queryCode the code of `x-amzn-query-error` (`AWS.SimpleQueueService.NonExistentQueue`)
   * @param shape the error's shape name in `__type` (`QueueDoesNotExist`), the SDK's exception name when modelled
   * @param statusCode the HTTP status the SDK's model gives that error
   */
  constructor(
    readonly queryCode: string,
    readonly shape: string,
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The errors the emulator raises, with the codes and statuses of `@aws-sdk/client-sqs`'s error model. */
export const sqsErrors = {
  queueDoesNotExist: () =>
    new SqsError(
      'AWS.SimpleQueueService.NonExistentQueue',
      'QueueDoesNotExist',
      400,
      'The specified queue does not exist.',
    ),
  invalidParameterValue: (message: string) =>
    new SqsError('InvalidParameterValue', 'InvalidParameterValue', 400, message),
  missingParameter: (name: string) =>
    new SqsError('MissingParameter', 'MissingParameter', 400, `The request must contain the parameter ${name}.`),
  receiptHandleIsInvalid: (handle: string) =>
    new SqsError(
      'ReceiptHandleIsInvalid',
      'ReceiptHandleIsInvalid',
      404,
      `The input receipt handle "${handle}" is not a valid receipt handle.`,
    ),
  messageNotInflight: () =>
    new SqsError('AWS.SimpleQueueService.MessageNotInflight', 'MessageNotInflight', 400, 'Message not inflight.'),
  invalidMessageContents: (message: string) =>
    new SqsError('InvalidMessageContents', 'InvalidMessageContents', 400, message),
} as const;

/** How a queue is declared: the same facts CDK's `Queue` takes, in seconds as CloudFormation has them. */
export interface QueueDeclaration {
  /** The queue's name, as in its URL and ARN. */
  readonly name: string;
  /**
   * How long a received message stays invisible. SQS takes whole seconds (0 to 43,200); locally a fraction is
   * accepted so that tests can expire a receive quickly.
   */
  readonly visibilityTimeoutSeconds: number;
  /** @default 345600 (4 days, SQS's default) */
  readonly messageRetentionSeconds?: number;
  /** @default 262144 (256 KiB, SQS's default `MaximumMessageSize`) */
  readonly maximumMessageSizeBytes?: number;
  /** @default 0 (the queue's `ReceiveMessageWaitTimeSeconds`: 0 is short polling) */
  readonly receiveMessageWaitTimeSeconds?: number;
  /** @default 0 (the queue's `DelaySeconds`) */
  readonly delaySeconds?: number;
  /** The redrive policy: after `maxReceiveCount` receives, the next receive moves the message there. */
  readonly redrive?: { readonly deadLetterQueueName: string; readonly maxReceiveCount: number };
}

/** One message as SQS keeps it. */
interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly messageAttributes?: Record<string, MessageAttributeValue>;
  readonly md5OfMessageAttributes?: string;
  readonly sentTimestamp: number;
  readonly senderId: string;
  readonly deadLetterQueueSourceArn?: string;
  firstReceiveTimestamp?: number;
  receiveCount: number;
  /** Epoch ms from which the message may be received again (delay, then visibility timeout). */
  visibleAt: number;
  /** True once received and until its visibility timeout ends (a message being delayed is not in flight). */
  received: boolean;
  /** The receipt handle of the latest receive: only that one deletes it. */
  currentReceiptHandle?: string;
}

/** A message as ReceiveMessage hands it out, in the JSON protocol's names. */
export interface ReceivedMessage {
  MessageId: string;
  ReceiptHandle: string;
  MD5OfBody: string;
  Body: string;
  Attributes: Record<string, string>;
  MessageAttributes?: Record<string, MessageAttributeValue>;
  MD5OfMessageAttributes?: string;
}

export interface SendInput {
  body: string;
  delaySeconds?: number;
  messageAttributes?: Record<string, MessageAttributeValue>;
  senderId: string;
}

export interface ReceiveInput {
  /** 1 to 10. */
  maxNumberOfMessages: number;
  /** Overrides the queue's visibility timeout for this receive. */
  visibilityTimeoutSeconds?: number;
  /** Long polling: wait up to this long for a first message. */
  waitTimeSeconds: number;
  /** Ends a long poll early with what it has (nothing): the server stopping, the poller stopping. */
  signal?: AbortSignal;
}

/** The counts of GetQueueAttributes, the way SQS names them. */
export interface QueueCounts {
  /** Messages available for receive. */
  visible: number;
  /** Messages received and not yet deleted or visible again (`ApproximateNumberOfMessagesNotVisible`). */
  inFlight: number;
  /** Messages sent with a delay that has not passed (`ApproximateNumberOfMessagesDelayed`). */
  delayed: number;
}

const DEFAULT_RETENTION_SECONDS = 345_600;
export const DEFAULT_MAXIMUM_MESSAGE_SIZE = 262_144;
/** SQS's ceiling for a visibility timeout and for ChangeMessageVisibility: 12 hours. */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

/**
 * An SQS standard queue in memory: at-least-once delivery with a visibility timeout, receive counts, long polling,
 * and the redrive policy's move to a dead-letter queue. Semantics, each from the SQS developer guide:
 * - "Amazon SQS visibility timeout": a received message stays in the queue, invisible for the timeout; if it is not
 *   deleted by then it becomes visible again and the next receive gets it with a new receipt handle.
 * - "Using dead-letter queues in Amazon SQS": when a message's receive count exceeds `maxReceiveCount`, SQS moves it
 *   to the dead-letter queue: here, on the receive that would have delivered it for the (maxReceiveCount + 1)th time.
 * - "Amazon SQS short and long polling": a long poll returns as soon as at least one message is available.
 * - ReceiveMessage / DeleteMessage API reference: deleting with an older receipt handle of a message received again
 *   succeeds without deleting it; a handle that was never issued is `ReceiptHandleIsInvalid`.
 * Unlike SQS (distributed, standard queues may deliver twice and out of order even without failures), this queue
 * delivers in send order and never duplicates on its own: a redelivery here always means a visibility timeout passed.
 *
 * @example
 * const queue = new LocalQueue({ name: 'work', visibilityTimeoutSeconds: 30 }, arnOf('work'), lookup);
 * queue.send({ body: 'hello', senderId: '000000000000' });
 * const [message] = await queue.receive({ maxNumberOfMessages: 1, waitTimeSeconds: 0 });
 * queue.delete(message.ReceiptHandle);
 */
export class LocalQueue {
  readonly #messages = new Map<string, StoredMessage>();
  /** Every handle ever issued, so a stale one can be told from a forged one. */
  readonly #handles = new Map<string, string>();
  readonly #waiters = new Set<() => void>();
  readonly #changeListeners = new Set<() => void>();
  readonly createdTimestamp = Date.now();

  constructor(
    readonly declaration: QueueDeclaration,
    readonly arn: string,
    /** Finds the dead-letter queue by name when a message is moved (queues may be declared in any order). */
    private readonly findQueue: (name: string) => LocalQueue | undefined,
  ) {}

  get name(): string {
    return this.declaration.name;
  }

  get maximumMessageSize(): number {
    return this.declaration.maximumMessageSizeBytes ?? DEFAULT_MAXIMUM_MESSAGE_SIZE;
  }

  /** Calls `listener` whenever a message arrives or leaves (send, delete, move, purge, retention). */
  onChange(listener: () => void): () => void {
    this.#changeListeners.add(listener);
    return () => this.#changeListeners.delete(listener);
  }

  /** Stores a message; returns its id and digests. The caller has validated size and contents. */
  send(input: SendInput): { MessageId: string; MD5OfMessageBody: string; MD5OfMessageAttributes?: string } {
    const now = Date.now();
    const attributes =
      input.messageAttributes && Object.keys(input.messageAttributes).length > 0 ? input.messageAttributes : undefined;
    const message: StoredMessage = {
      messageId: randomUUID(),
      body: input.body,
      md5OfBody: md5OfBody(input.body),
      messageAttributes: attributes,
      md5OfMessageAttributes: md5OfMessageAttributes(attributes),
      sentTimestamp: now,
      senderId: input.senderId,
      receiveCount: 0,
      visibleAt: now + (input.delaySeconds ?? this.declaration.delaySeconds ?? 0) * 1000,
      received: false,
    };
    this.#store(message);
    return {
      MessageId: message.messageId,
      MD5OfMessageBody: message.md5OfBody,
      ...(message.md5OfMessageAttributes ? { MD5OfMessageAttributes: message.md5OfMessageAttributes } : {}),
    };
  }

  /** Takes a message moved here by another queue's redrive policy, keeping its id, body and counts. */
  acceptDeadLetter(message: StoredMessage, sourceArn: string): void {
    this.#store({
      ...message,
      deadLetterQueueSourceArn: sourceArn,
      visibleAt: Date.now(),
      received: false,
      currentReceiptHandle: undefined,
    });
  }

  #store(message: StoredMessage): void {
    this.#messages.set(message.messageId, message);
    this.#changed();
    for (const wake of this.#waiters) wake();
  }

  /**
   * Receives up to `maxNumberOfMessages` visible messages, waiting up to `waitTimeSeconds` for the first one.
   *
   * @example
   * const messages = await queue.receive({ maxNumberOfMessages: 10, waitTimeSeconds: 20 });
   */
  async receive(input: ReceiveInput): Promise<ReceivedMessage[]> {
    const deadline = Date.now() + input.waitTimeSeconds * 1000;
    for (;;) {
      const received = this.#receiveNow(input);
      const now = Date.now();
      if (received.length > 0 || now >= deadline || input.signal?.aborted) return received;
      await this.#waitForChange(Math.min(deadline, this.#nextVisibleAt() ?? deadline) - now, input.signal);
    }
  }

  #receiveNow(input: ReceiveInput): ReceivedMessage[] {
    const now = Date.now();
    this.#dropExpired(now);
    const visibilitySeconds = input.visibilityTimeoutSeconds ?? this.declaration.visibilityTimeoutSeconds;
    const redrive = this.declaration.redrive;
    const out: ReceivedMessage[] = [];
    for (const message of this.#messages.values()) {
      if (out.length >= input.maxNumberOfMessages) break;
      if (message.visibleAt > now) continue;
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        this.#moveToDeadLetterQueue(message, redrive.deadLetterQueueName);
        continue;
      }
      message.receiveCount += 1;
      message.firstReceiveTimestamp ??= now;
      message.visibleAt = now + visibilitySeconds * 1000;
      message.received = true;
      const handle = this.#issueHandle(message.messageId);
      message.currentReceiptHandle = handle;
      out.push(this.#asReceived(message, handle));
    }
    return out;
  }

  #moveToDeadLetterQueue(message: StoredMessage, deadLetterQueueName: string): void {
    const deadLetterQueue = this.findQueue(deadLetterQueueName);
    // Declarations are checked at start (startLocalSqs), so a missing target is a bug, not a user error.
    if (!deadLetterQueue) throw new Error(`dead-letter queue ${deadLetterQueueName} of ${this.name} is not declared`);
    this.#messages.delete(message.messageId);
    deadLetterQueue.acceptDeadLetter(message, this.arn);
    this.#changed();
  }

  #asReceived(message: StoredMessage, handle: string): ReceivedMessage {
    const attributes: Record<string, string> = {
      SenderId: message.senderId,
      SentTimestamp: String(message.sentTimestamp),
      ApproximateReceiveCount: String(message.receiveCount),
      ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp),
    };
    if (message.deadLetterQueueSourceArn) attributes.DeadLetterQueueSourceArn = message.deadLetterQueueSourceArn;
    return {
      MessageId: message.messageId,
      ReceiptHandle: handle,
      MD5OfBody: message.md5OfBody,
      Body: message.body,
      Attributes: attributes,
      ...(message.messageAttributes
        ? { MessageAttributes: message.messageAttributes, MD5OfMessageAttributes: message.md5OfMessageAttributes }
        : {}),
    };
  }

  #issueHandle(messageId: string): string {
    // Opaque like SQS's (which are long base64 strings), and unguessable so a test cannot forge one by accident.
    const handle = `${Buffer.from(`${this.name}:${messageId}`).toString('base64url')}.${randomBytes(24).toString('base64url')}`;
    this.#handles.set(handle, messageId);
    return handle;
  }

  /**
   * Deletes the message `receiptHandle` was issued for, if that handle is its latest. An older handle of a message
   * received again succeeds and deletes nothing (the DeleteMessage reference: "the request succeeds, but the message
   * might not be deleted"); deleting an already deleted message succeeds too.
   */
  delete(receiptHandle: string): void {
    const messageId = this.#handles.get(receiptHandle);
    if (messageId === undefined) throw sqsErrors.receiptHandleIsInvalid(receiptHandle);
    const message = this.#messages.get(messageId);
    if (message?.currentReceiptHandle !== receiptHandle) return;
    this.#messages.delete(messageId);
    this.#handles.delete(receiptHandle);
    this.#changed();
  }

  /**
   * Sets a received message's remaining invisibility to `visibilityTimeoutSeconds` from now (0 makes it visible at
   * once). A message no longer in flight, or a handle that is not its latest, is `MessageNotInflight`.
   */
  changeVisibility(receiptHandle: string, visibilityTimeoutSeconds: number): void {
    const messageId = this.#handles.get(receiptHandle);
    if (messageId === undefined) throw sqsErrors.receiptHandleIsInvalid(receiptHandle);
    const message = this.#messages.get(messageId);
    const now = Date.now();
    if (!message || message.currentReceiptHandle !== receiptHandle || message.visibleAt <= now) {
      throw sqsErrors.messageNotInflight();
    }
    message.visibleAt = now + visibilityTimeoutSeconds * 1000;
    // A shorter timeout may make the message receivable before a long poll's next timer.
    for (const wake of this.#waiters) wake();
  }

  /** Deletes every message (PurgeQueue). */
  purge(): void {
    // Handles stay known: deleting a purged message one still holds succeeds like deleting an already deleted one
    // (how SQS answers that case after a purge was not checked against AWS).
    this.#messages.clear();
    this.#changed();
  }

  /** Visible, in-flight and delayed messages right now. */
  counts(): QueueCounts {
    const now = Date.now();
    this.#dropExpired(now);
    const counts: QueueCounts = { visible: 0, inFlight: 0, delayed: 0 };
    for (const message of this.#messages.values()) {
      if (message.visibleAt <= now) counts.visible += 1;
      else if (message.received) counts.inFlight += 1;
      else counts.delayed += 1;
    }
    return counts;
  }

  /** Every message's body, in queue order, whatever its state: for tests and the DLQ's inspection. */
  peekBodies(): string[] {
    return [...this.#messages.values()].map((message) => message.body);
  }

  /** Ends every long poll now, with no messages (the server is stopping). */
  wakeAll(): void {
    for (const wake of this.#waiters) wake();
  }

  #dropExpired(now: number): void {
    const retentionMs = (this.declaration.messageRetentionSeconds ?? DEFAULT_RETENTION_SECONDS) * 1000;
    let dropped = false;
    for (const message of this.#messages.values()) {
      if (message.sentTimestamp + retentionMs <= now) {
        this.#messages.delete(message.messageId);
        dropped = true;
      }
    }
    if (dropped) this.#changed();
  }

  /** When the next message that is invisible now becomes visible (a long poll's next look). */
  #nextVisibleAt(): number | undefined {
    const now = Date.now();
    let next: number | undefined;
    for (const message of this.#messages.values()) {
      if (message.visibleAt > now && (next === undefined || message.visibleAt < next)) next = message.visibleAt;
    }
    return next;
  }

  #waitForChange(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.#waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  #changed(): void {
    for (const listener of this.#changeListeners) listener();
  }
}

/** Checks a body against SQS's allowed characters (#x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF). */
export function hasOnlyAllowedCharacters(body: string): boolean {
  // Lone surrogates are the only way a JS string escapes the ranges above #x20, besides #xFFFE and #xFFFF.
  return !/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(body);
}

/** The bytes a message counts against `MaximumMessageSize`: body plus each attribute's name, type and value. */
export function messageSize(body: string, attributes?: Record<string, MessageAttributeValue>): number {
  let size = Buffer.byteLength(body, 'utf8');
  for (const [name, attribute] of Object.entries(attributes ?? {})) {
    size += Buffer.byteLength(name, 'utf8') + Buffer.byteLength(attribute.DataType, 'utf8');
    size += isBinary(attribute.DataType)
      ? Buffer.from(attribute.BinaryValue ?? '', 'base64').length
      : Buffer.byteLength(attribute.StringValue ?? '', 'utf8');
  }
  return size;
}
