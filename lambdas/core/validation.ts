import { type Environment, optionalInteger, optionalList, Setting } from './config';
import { type Envelope, ServerFrameType } from './envelope';
import { ConfigurationError, PayloadTooLargeError, ValidationError } from './errors';
import { assertRoomName } from './rooms';
import { userIdProblem } from './user-id';

/**
 * Hand-written validators for every request that asks for a delivery: the HTTP API bodies, the socket's `send`
 * frame and the direct-invoke event. Hand-written rather than a schema library to keep each bundle small (full
 * zod alone adds ~450 KB). Each failure is a {@link ValidationError} whose message names the offending field;
 * an envelope too large for API Gateway is a {@link PayloadTooLargeError}.
 *
 * The rules, documented once here:
 * - `userId`: the one userId rule of `user-id.ts`, shared with the token's `sub`: 1 to 128 characters, not only
 *   whitespace, no control characters.
 * - `userIds`: an array of 1 to `MAX_USER_IDS` (default 100, at most 1000) unique `userId`s.
 * - `room`: the room name rule of `rooms.ts` (1 to 128 letters, digits and `_ - . : @ / = +`; 400 `invalid_room`);
 *   `async`, when given, a boolean (send through the asynchronous fan-out whatever the room's size).
 * - `type`: 1 to 64 characters, starting with a letter or digit, then letters, digits, `_`, `.`, `:` or `-`
 *   (`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`), e.g. `chat`, `notification`, `system`, `order.updated`, `game:move`.
 *   When `ALLOWED_MESSAGE_TYPES` is set, only the types it lists. The frame types the server itself produces
 *   (`pong`, `authenticated`, `error`, `delivery`) are refused in any case (`Error`, `PONG`), so nobody can forge
 *   one to another user.
 * - `data`: any JSON value, but present, nesting objects and arrays at most {@link MAX_DATA_DEPTH} (64) levels deep
 *   (`{}` is one level, `{"a":[1]}` two). Serializing a deeper value recursed until the stack overflowed: a 10 KB
 *   body of 5,000 nested arrays made a 500. The depth is measured without recursion ({@link checkDataDepth}), so
 *   measuring cannot overflow either; too deep is 400 `too_deep`.
 * - the serialized envelope: at most 128 KB (131,072 bytes of UTF-8), API Gateway's message limit.
 * - fields outside these (a `from`, a `sender`) are ignored: the envelope's `from` comes only from the token.
 */

/** API Gateway's WebSocket message limit, in bytes of the serialized envelope. */
export const MAX_ENVELOPE_BYTES = 128 * 1024;
export { MAX_USER_ID_LENGTH } from './user-id';
export const MAX_TYPE_LENGTH = 64;
export const DEFAULT_MAX_USER_IDS = 100;
export const MAX_MAX_USER_IDS = 1000;
export const MESSAGE_TYPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
/**
 * Deepest nesting of objects and arrays accepted in a message's `data`. Far beyond any real payload, far below the
 * depth at which `JSON.stringify` runs out of stack (a few thousand levels on Node 20's default stack).
 */
export const MAX_DATA_DEPTH = 64;
/** The error code of a `data` nested deeper than {@link MAX_DATA_DEPTH}. */
export const TOO_DEEP_CODE = 'too_deep';

/**
 * Types only the server may produce, lower-case. `notification` is not among them: the notification path sends it.
 * They are compared case-insensitively ({@link isReservedType}): a client that folds case, or a listener map keyed
 * on lower-case names, would take an `Error` message for the server's `error` frame.
 */
const RESERVED_TYPES: ReadonlySet<string> = new Set([
  ServerFrameType.pong,
  ServerFrameType.authenticated,
  ServerFrameType.error,
  ServerFrameType.delivery,
  // The room answers and presence events: a sent `presence` message would forge a user's arrival or departure.
  ServerFrameType.joined,
  ServerFrameType.left,
  ServerFrameType.members,
  ServerFrameType.presence,
  ServerFrameType.replay,
]);

/**
 * Whether a type is one of the server's own frame types, whatever its case.
 *
 * @example
 * isReservedType('Error'); // true
 * isReservedType('chat'); // false
 */
export function isReservedType(type: string): boolean {
  return RESERVED_TYPES.has(type.toLowerCase());
}

/** The configurable part of the rules. */
export interface MessageRules {
  /** Largest `userIds` list one send may address. */
  maxUserIds: number;
  /** A closed list of accepted types; undefined: any type matching {@link MESSAGE_TYPE_PATTERN}. */
  allowedTypes?: ReadonlySet<string>;
}

export const defaultMessageRules: MessageRules = { maxUserIds: DEFAULT_MAX_USER_IDS };

/**
 * Reads `MAX_USER_IDS` and `ALLOWED_MESSAGE_TYPES` once, at cold start; a listed type that breaks the pattern
 * is a configuration error naming the setting.
 *
 * @example
 * readMessageRules({ MAX_USER_IDS: '50', ALLOWED_MESSAGE_TYPES: 'chat,notification' });
 * // { maxUserIds: 50, allowedTypes: Set { 'chat', 'notification' } }
 */
export function readMessageRules(env: Environment): MessageRules {
  const maxUserIds = optionalInteger(env, Setting.maxUserIds, DEFAULT_MAX_USER_IDS, { min: 1, max: MAX_MAX_USER_IDS });
  const listed = optionalList(env, Setting.allowedMessageTypes);
  for (const type of listed) {
    if (type.length > MAX_TYPE_LENGTH || !MESSAGE_TYPE_PATTERN.test(type)) {
      throw new ConfigurationError(Setting.allowedMessageTypes, `lists "${type}", which is not a valid message type`);
    }
    if (isReservedType(type)) {
      throw new ConfigurationError(Setting.allowedMessageTypes, `lists "${type}", which is reserved for server frames`);
    }
  }
  return listed.length > 0 ? { maxUserIds, allowedTypes: new Set(listed) } : { maxUserIds };
}

/** A message to a list of users (one user is a list of one). */
export interface UsersMessage {
  userIds: string[];
  type: string;
  data: unknown;
  /** `false` (`"persist": false` or `"ephemeral": true` in the body): not recorded in the message log. */
  persist?: boolean;
}

/** A message to every member connection of a room. */
export interface RoomMessage {
  room: string;
  type: string;
  data: unknown;
  /** Through the asynchronous fan-out whatever the room's size. */
  async: boolean;
  /** As {@link UsersMessage.persist}. */
  persist?: boolean;
}

/** A message to every connected user. */
export interface BroadcastMessage {
  type: string;
  data: unknown;
  /** As {@link UsersMessage.persist}. */
  persist?: boolean;
}

/** A notification: delivered as type `notification` with data `{ title, body, ...data }`. */
export interface NotificationMessage {
  userId: string;
  title: string;
  body: string;
  data?: Record<string, unknown>;
}

/** What the direct-invoke function was asked to do; see {@link validateDirectSendEvent}. */
export type DirectSendRequest =
  | ({ kind: 'users' } & UsersMessage)
  | ({ kind: 'broadcast' } & BroadcastMessage)
  | ({ kind: 'room' } & RoomMessage)
  | { kind: 'broadcastStatus'; broadcastId: string }
  | ({ kind: 'notification' } & NotificationMessage);

/** A broadcast id as `startBroadcast` makes them (a UUID), with room for other generators; nothing else is looked up. */
const BROADCAST_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Checks a broadcast id before it is looked up: 1 to 64 letters, digits, `-` or `_`.
 *
 * @example
 * checkBroadcastId('0f8fad5b-d9cb-469f-a165-70867728950e', 'broadcastId'); // the id
 * checkBroadcastId('../x', 'broadcastId'); // throws ValidationError (`invalid_broadcast_id`)
 */
export function checkBroadcastId(value: unknown, field: string): string {
  if (typeof value !== 'string' || !BROADCAST_ID_PATTERN.test(value)) {
    throw new ValidationError(`${field} must be 1 to 64 letters, digits, - or _`, 'invalid_broadcast_id');
  }
  return value;
}

type JsonObject = Record<string, unknown>;

/**
 * Parses a JSON text, refusing malformed JSON with the code `invalid_json`.
 *
 * @example
 * parseJson('{"type":"chat"}', 'Request body'); // { type: 'chat' }
 * parseJson('{oops', 'Request body'); // throws ValidationError('Request body is not valid JSON', 'invalid_json')
 */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError(`${what} is not valid JSON`, 'invalid_json');
  }
}

/**
 * Checks that a parsed body is a JSON object (not an array, a string or null).
 *
 * @example
 * requireObject(JSON.parse('[1]'), 'Request body'); // throws ValidationError('Request body must be a JSON object')
 */
export function requireObject(value: unknown, what: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(`${what} must be a JSON object`);
  }
  return value as JsonObject;
}

/**
 * Checks a user id against the one userId rule (`user-id.ts`), the same rule a token's `sub` must follow.
 *
 * @example
 * checkUserId('user123', 'userId'); // 'user123'
 * checkUserId('user\n123', 'userId'); // throws ValidationError('userId must not contain control characters …')
 */
export function checkUserId(value: unknown, field: string): string {
  const problem = userIdProblem(value);
  if (problem !== undefined) throw new ValidationError(`${field} ${problem}`);
  return value as string;
}

/**
 * Checks a list of user ids: 1 to `rules.maxUserIds` unique, valid user ids.
 *
 * @example
 * checkUserIds(['user123', 'user456'], defaultMessageRules); // ['user123', 'user456']
 */
export function checkUserIds(value: unknown, rules: MessageRules, field = 'userIds'): string[] {
  if (value === undefined || value === null) throw new ValidationError(`${field} is required`);
  if (!Array.isArray(value)) throw new ValidationError(`${field} must be an array of user ids`);
  if (value.length === 0) throw new ValidationError(`${field} must not be empty`);
  if (value.length > rules.maxUserIds) {
    throw new ValidationError(`${field} may list at most ${rules.maxUserIds} users, got ${value.length}`);
  }
  const seen = new Set<string>();
  value.forEach((item, index) => {
    const userId = checkUserId(item, `${field}[${index}]`);
    if (seen.has(userId)) throw new ValidationError(`${field}[${index}] repeats "${userId}"; user ids must be unique`);
    seen.add(userId);
  });
  return [...seen];
}

/**
 * Checks a message type against the documented pattern, the reserved server frame types and, when configured,
 * the closed list.
 *
 * @example
 * checkMessageType('chat', defaultMessageRules); // 'chat'
 * checkMessageType('no spaces', defaultMessageRules); // throws ValidationError naming `type`
 */
export function checkMessageType(value: unknown, rules: MessageRules, field = 'type'): string {
  if (value === undefined || value === null) throw new ValidationError(`${field} is required`);
  if (typeof value !== 'string') throw new ValidationError(`${field} must be a string`);
  if (value.length === 0) throw new ValidationError(`${field} must not be empty`);
  if (value.length > MAX_TYPE_LENGTH)
    throw new ValidationError(`${field} must be at most ${MAX_TYPE_LENGTH} characters`);
  if (!MESSAGE_TYPE_PATTERN.test(value)) {
    throw new ValidationError(
      `${field} must start with a letter or digit and contain only letters, digits, "_", ".", ":" or "-"`,
    );
  }
  if (isReservedType(value)) throw new ValidationError(`${field} "${value}" is reserved for server frames`);
  if (rules.allowedTypes && !rules.allowedTypes.has(value)) {
    throw new ValidationError(
      `${field} "${value}" is not allowed; allowed types: ${[...rules.allowedTypes].join(', ')}`,
    );
  }
  return value;
}

/**
 * Checks that a value nests objects and arrays at most {@link MAX_DATA_DEPTH} levels deep, walking it with an
 * explicit stack (never recursion, which is what it guards against). A value is also refused when it could not be
 * serialized: a `bigint`, or (from the server library) a value that refers to itself, which shows as too deep. The
 * walk stops once it has seen more values than {@link MAX_ENVELOPE_BYTES}: each takes at least a byte once
 * serialized, so such a value is too large ({@link PayloadTooLargeError}) and the walk's cost stays bounded even
 * for a value that shares sub-objects.
 *
 * @example
 * checkDataDepth({ order: { lines: [{ sku: 'A1' }] } }); // fine: 3 levels
 * checkDataDepth(JSON.parse('['.repeat(65) + ']'.repeat(65)));
 * // throws ValidationError('data nests objects and arrays more than 64 levels deep; …', 'too_deep')
 */
export function checkDataDepth(value: unknown, field = 'data'): void {
  const pending: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  let seen = 0;
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const current = next.value;
    if (typeof current === 'bigint') {
      throw new ValidationError(`${field} holds a bigint, which JSON cannot represent`, 'invalid_data');
    }
    if (current === undefined || typeof current === 'function' || typeof current === 'symbol') continue;
    seen++;
    if (seen > MAX_ENVELOPE_BYTES) {
      throw new PayloadTooLargeError(
        `${field} holds more than ${MAX_ENVELOPE_BYTES} values, so its envelope would exceed ${MAX_ENVELOPE_BYTES} bytes (128 KB)`,
      );
    }
    if (typeof current !== 'object' || current === null) continue;
    const depth = next.depth + 1;
    if (depth > MAX_DATA_DEPTH) {
      throw new ValidationError(
        `${field} nests objects and arrays more than ${MAX_DATA_DEPTH} levels deep; at most ${MAX_DATA_DEPTH} are accepted`,
        TOO_DEEP_CODE,
      );
    }
    const children = Array.isArray(current) ? current : Object.values(current);
    for (const child of children) pending.push({ value: child, depth });
  }
}

function checkData(body: JsonObject, field = 'data'): unknown {
  if (!(field in body) || body[field] === undefined) throw new ValidationError(`${field} is required`);
  checkDataDepth(body[field], field);
  return body[field];
}

/**
 * The per-send opt-out of the message log: `"persist": false` or `"ephemeral": true` (either spelling, as Socket.IO
 * users say "volatile" and others "ephemeral"); both given must agree. Undefined: the type's default applies.
 *
 * @example
 * checkPersist({ ephemeral: true }); // false
 */
export function checkPersist(body: JsonObject): boolean | undefined {
  const { persist, ephemeral } = body;
  if (persist !== undefined && typeof persist !== 'boolean') throw new ValidationError('persist must be a boolean');
  if (ephemeral !== undefined && typeof ephemeral !== 'boolean')
    throw new ValidationError('ephemeral must be a boolean');
  if (persist !== undefined && ephemeral !== undefined && persist === ephemeral) {
    throw new ValidationError('persist and ephemeral contradict each other: give one of them');
  }
  if (persist !== undefined) return persist;
  return ephemeral === undefined ? undefined : !ephemeral;
}

/** Adds `persist` to a validated message when the body chose one. */
function withPersist<T extends object>(message: T, body: JsonObject): T & { persist?: boolean } {
  const persist = checkPersist(body);
  return persist === undefined ? message : { ...message, persist };
}

function checkNonEmptyString(value: unknown, field: string): string {
  if (value === undefined || value === null) throw new ValidationError(`${field} is required`);
  if (typeof value !== 'string') throw new ValidationError(`${field} must be a string`);
  if (value.trim().length === 0) throw new ValidationError(`${field} must not be empty`);
  return value;
}

/**
 * `POST /websocket/message/user`: `{ userId, type, data }`.
 *
 * @example
 * validateUserMessage({ userId: 'user123', type: 'chat', data: { message: 'Hello!' } }, defaultMessageRules);
 * // { userIds: ['user123'], type: 'chat', data: { message: 'Hello!' } }
 */
export function validateUserMessage(value: unknown, rules: MessageRules, what = 'Request body'): UsersMessage {
  const body = requireObject(value, what);
  const userId = checkUserId(body.userId, 'userId');
  return withPersist({ userIds: [userId], type: checkMessageType(body.type, rules), data: checkData(body) }, body);
}

/**
 * `POST /websocket/message/users`: `{ userIds, type, data }`.
 *
 * @example
 * validateUsersMessage({ userIds: ['user123', 'user456'], type: 'announcement', data: {} }, defaultMessageRules);
 */
export function validateUsersMessage(value: unknown, rules: MessageRules, what = 'Request body'): UsersMessage {
  const body = requireObject(value, what);
  const userIds = checkUserIds(body.userIds, rules);
  return withPersist({ userIds, type: checkMessageType(body.type, rules), data: checkData(body) }, body);
}

/**
 * `POST /websocket/message/broadcast`: `{ type, data }`.
 *
 * @example
 * validateBroadcastMessage({ type: 'system', data: { message: 'Maintenance at 22:00', level: 'info' } }, rules);
 */
export function validateBroadcastMessage(value: unknown, rules: MessageRules, what = 'Request body'): BroadcastMessage {
  const body = requireObject(value, what);
  return withPersist({ type: checkMessageType(body.type, rules), data: checkData(body) }, body);
}

/**
 * Reads a body's `room` alone, so a send to a room is authorized on it before the rest of the body is checked.
 *
 * @example
 * roomOf({ room: 'chat:42', type: 'chat' }, 'Request body'); // 'chat:42'
 */
export function roomOf(value: unknown, what = 'Request body'): string {
  const { room } = requireObject(value, what);
  if (room === undefined || room === null) throw new ValidationError('room is required', 'invalid_room');
  assertRoomName(room);
  return room;
}

/**
 * `POST /websocket/message/room`: `{ room, type, data, async? }` (the socket's and direct send's room form too).
 *
 * @example
 * validateRoomMessage({ room: 'chat:42', type: 'chat', data: { message: 'Hi all' } }, defaultMessageRules);
 * // { room: 'chat:42', type: 'chat', data: { message: 'Hi all' }, async: false }
 */
export function validateRoomMessage(value: unknown, rules: MessageRules, what = 'Request body'): RoomMessage {
  const room = roomOf(value, what);
  const body = value as JsonObject;
  if (body.async !== undefined && typeof body.async !== 'boolean') {
    throw new ValidationError('async must be true or false');
  }
  return withPersist(
    { room, type: checkMessageType(body.type, rules), data: checkData(body), async: body.async === true },
    body,
  );
}

/**
 * `POST /websocket/notification`: `{ userId, title, body, data? }`; `data`, when given, must be an object
 * (its keys are spread next to `title` and `body`).
 *
 * @example
 * validateNotification({ userId: 'user123', title: 'New order', body: 'Order #42 shipped' }, 'Request body');
 */
export function validateNotification(value: unknown, what = 'Request body'): NotificationMessage {
  const body = requireObject(value, what);
  const notification: NotificationMessage = {
    userId: checkUserId(body.userId, 'userId'),
    title: checkNonEmptyString(body.title, 'title'),
    body: checkNonEmptyString(body.body, 'body'),
  };
  if (body.data !== undefined && body.data !== null) {
    notification.data = requireObject(body.data, 'data');
    checkDataDepth(notification.data);
  }
  return notification;
}

/** Reads exactly one of `userId` / `userIds` from a body that may carry either. */
function validateAddressedMessage(body: JsonObject, rules: MessageRules): UsersMessage {
  const hasUserId = body.userId !== undefined;
  const hasUserIds = body.userIds !== undefined;
  if (hasUserId && hasUserIds) throw new ValidationError('Give either userId or userIds, not both');
  if (!hasUserId && !hasUserIds) throw new ValidationError('userId or userIds is required');
  const userIds = hasUserId ? [checkUserId(body.userId, 'userId')] : checkUserIds(body.userIds, rules);
  return withPersist({ userIds, type: checkMessageType(body.type, rules), data: checkData(body) }, body);
}

/**
 * The socket's `send` frame: `{ "action": "send", "userId" | "userIds", "type", "data" }`.
 *
 * @example
 * validateSendFrame({ action: 'send', userId: 'user456', type: 'chat', data: { message: 'hi' } }, rules);
 * // { userIds: ['user456'], type: 'chat', data: { message: 'hi' } }
 */
export function validateSendFrame(value: unknown, rules: MessageRules): UsersMessage {
  return validateAddressedMessage(requireObject(value, 'Frame'), rules);
}

/**
 * The socket's `send` frame to a room: `{ "action": "send", "room", "type", "data", "async"? }`. A frame naming a
 * room and users is refused (the users form is {@link validateSendFrame}).
 *
 * @example
 * validateRoomSendFrame({ action: 'send', room: 'chat:42', type: 'chat', data: 'hi' }, rules);
 * // { room: 'chat:42', type: 'chat', data: 'hi', async: false }
 */
export function validateRoomSendFrame(value: unknown, rules: MessageRules): RoomMessage {
  const frame = requireObject(value, 'Frame');
  if (frame.userId !== undefined || frame.userIds !== undefined) {
    throw new ValidationError('Give either room or userId/userIds, not both');
  }
  return validateRoomMessage(frame, rules, 'Frame');
}

/**
 * The direct-invoke function's event (Lambda Invoke, an EventBridge target, a Step Functions task). Exactly one
 * addressing form:
 *
 * ```json
 * { "userId": "user123", "type": "chat", "data": { "message": "Hello!" } }
 * { "userIds": ["user123", "user456"], "type": "announcement", "data": { ... } }
 * { "broadcast": true, "type": "system", "data": { "message": "Maintenance at 22:00" } }
 * { "room": "chat:42", "type": "chat", "data": { "message": "Hi all" }, "async": false }
 * { "broadcastStatus": "0f8fad5b-d9cb-469f-a165-70867728950e" }
 * { "notification": { "userId": "user123", "title": "New order", "body": "Order #42 shipped", "data": { ... } } }
 * ```
 *
 * An EventBridge event (`detail-type` and `detail`) is unwrapped: its `detail` is read as the event above, so a
 * rule needs no input transformer. Failures throw {@link ValidationError} (error name `ValidationError`, which a
 * Step Functions `Catch` can match) or {@link PayloadTooLargeError} at delivery.
 *
 * @example
 * validateDirectSendEvent({ broadcast: true, type: 'system', data: {} }, defaultMessageRules);
 * // { kind: 'broadcast', type: 'system', data: {} }
 */
export function validateDirectSendEvent(value: unknown, rules: MessageRules): DirectSendRequest {
  let event = requireObject(value, 'Event');
  if ('detail-type' in event && 'detail' in event) event = requireObject(event.detail, 'EventBridge detail');
  const forms = ['userId', 'userIds', 'broadcast', 'room', 'broadcastStatus', 'notification'].filter(
    (key) => event[key] !== undefined,
  );
  if (forms.length === 0)
    throw new ValidationError(
      'Event needs one of userId, userIds, broadcast: true, room, broadcastStatus or notification',
    );
  if (forms.length > 1) throw new ValidationError(`Event must use exactly one of ${forms.join(', ')}`);
  if (event.notification !== undefined) {
    return { kind: 'notification', ...validateNotification(event.notification, 'notification') };
  }
  if (event.broadcastStatus !== undefined) {
    return { kind: 'broadcastStatus', broadcastId: checkBroadcastId(event.broadcastStatus, 'broadcastStatus') };
  }
  if (event.broadcast !== undefined) {
    if (event.broadcast !== true) throw new ValidationError('broadcast must be true');
    return { kind: 'broadcast', ...validateBroadcastMessage(event, rules, 'Event') };
  }
  if (event.room !== undefined) return { kind: 'room', ...validateRoomMessage(event, rules, 'Event') };
  return { kind: 'users', ...validateAddressedMessage(event, rules) };
}

/**
 * Serializes an envelope once, to the bytes every post reuses, refusing one over {@link MAX_ENVELOPE_BYTES}, and
 * one that cannot be serialized with a {@link ValidationError} rather than letting `JSON.stringify`'s error through.
 *
 * @example
 * const payload = encodeEnvelope(createEnvelope('chat', { message: 'Hello!' }, { from: 'user123' }));
 */
export function encodeEnvelope(envelope: Envelope): Uint8Array {
  let text: string;
  try {
    text = JSON.stringify(envelope);
  } catch (error) {
    // Every path checks `data` with checkDataDepth first; this is the backstop for what that walk cannot see (a
    // `toJSON` that returns something deeper, or a cycle through one), so a caller's value never becomes a 500.
    throw new ValidationError(
      `The message's data cannot be serialized as JSON (${(error as Error).name}): keep it to plain JSON values nested at most ${MAX_DATA_DEPTH} levels deep`,
      error instanceof RangeError ? TOO_DEEP_CODE : 'invalid_data',
    );
  }
  const bytes = new TextEncoder().encode(text);
  if (bytes.byteLength > MAX_ENVELOPE_BYTES) {
    throw new PayloadTooLargeError(
      `The message is ${bytes.byteLength} bytes once serialized; the limit is ${MAX_ENVELOPE_BYTES} bytes (128 KB)`,
    );
  }
  return bytes;
}
