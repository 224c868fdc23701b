import { createEnvelope } from '../../lambdas/core/envelope';
import { ConfigurationError, PayloadTooLargeError, ValidationError } from '../../lambdas/core/errors';
import {
  checkMessageType,
  checkUserIds,
  defaultMessageRules,
  encodeEnvelope,
  MAX_ENVELOPE_BYTES,
  parseJson,
  readMessageRules,
  validateBroadcastMessage,
  validateDirectSendEvent,
  validateNotification,
  validateRoomMessage,
  validateRoomSendFrame,
  validateSendFrame,
  validateUserMessage,
  validateUsersMessage,
} from '../../lambdas/core/validation';

const rules = defaultMessageRules;

/** Runs `act` and returns the ValidationError it throws (failing the test when it throws nothing else). */
function validationErrorOf(act: () => unknown): ValidationError {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError, nothing was thrown');
}

describe('parseJson', () => {
  it('refuses malformed JSON with the code invalid_json', () => {
    const error = validationErrorOf(() => parseJson('{"userId": ', 'Request body'));
    expect(error.code).toBe('invalid_json');
    expect(error.statusCode).toBe(400);
    expect(error.message).toBe('Request body is not valid JSON');
  });
});

describe('validateUserMessage', () => {
  it('accepts the documented body and ignores from/sender fields', () => {
    const message = validateUserMessage(
      { userId: 'user123', type: 'chat', data: { message: 'Hello!', sender: 'system' }, from: 'admin' },
      rules,
    );
    expect(message).toEqual({ userIds: ['user123'], type: 'chat', data: { message: 'Hello!', sender: 'system' } });
  });

  it.each([
    [{ type: 'chat', data: {} }, 'userId is required'],
    [{ userId: '', type: 'chat', data: {} }, 'userId must not be empty'],
    [{ userId: 42, type: 'chat', data: {} }, 'userId must be a string'],
    [{ userId: 'u'.repeat(129), type: 'chat', data: {} }, 'userId must be at most 128 characters'],
    [{ userId: 'user123', data: {} }, 'type is required'],
    [{ userId: 'user123', type: '', data: {} }, 'type must not be empty'],
    [{ userId: 'user123', type: ['chat'], data: {} }, 'type must be a string'],
    [{ userId: 'user123', type: 'chat' }, 'data is required'],
  ])('refuses %j: %s', (body, message) => {
    expect(validationErrorOf(() => validateUserMessage(body, rules)).message).toBe(message);
  });

  it.each([[null], [[1, 2]], ['text'], [7]])('refuses a body that is not an object: %j', (body) => {
    expect(validationErrorOf(() => validateUserMessage(body, rules)).message).toBe(
      'Request body must be a JSON object',
    );
  });

  it('accepts a 128-character userId', () => {
    expect(validateUserMessage({ userId: 'u'.repeat(128), type: 'chat', data: null }, rules).userIds).toHaveLength(1);
  });
});

describe('checkMessageType', () => {
  it.each([
    'notification',
    'chat',
    'system',
    'update',
    'alert',
    'custom',
    'order.updated',
    'game:move',
    'a-b_c',
    '9lives',
  ])('accepts %s', (type) => {
    expect(checkMessageType(type, rules)).toBe(type);
  });

  it('accepts 64 characters and refuses 65', () => {
    expect(checkMessageType('t'.repeat(64), rules)).toHaveLength(64);
    expect(validationErrorOf(() => checkMessageType('t'.repeat(65), rules)).message).toBe(
      'type must be at most 64 characters',
    );
  });

  it.each(['has space', '-leading', '_leading', 'émoji', 'semi;colon', 'slash/'])('refuses %j by pattern', (type) => {
    expect(validationErrorOf(() => checkMessageType(type, rules)).message).toMatch(/^type must start with a letter/);
  });

  it.each(['pong', 'authenticated', 'error', 'delivery', 'joined', 'left', 'members', 'presence', 'Presence'])(
    'refuses the server frame type %s',
    (type) => {
      expect(validationErrorOf(() => checkMessageType(type, rules)).message).toBe(
        `type "${type}" is reserved for server frames`,
      );
    },
  );

  // Issue 9, defect 4: a message of type `Error` was delivered, and a client that folds case reads it as the
  // server's `error` frame.
  it.each(['Error', 'ERROR', 'Pong', 'AUTHENTICATED', 'Delivery', 'eRrOr'])(
    'refuses the server frame type %s whatever its case',
    (type) => {
      expect(validationErrorOf(() => checkMessageType(type, rules)).message).toBe(
        `type "${type}" is reserved for server frames`,
      );
    },
  );

  it('applies the closed list when ALLOWED_MESSAGE_TYPES is set', () => {
    const closed = readMessageRules({ ALLOWED_MESSAGE_TYPES: 'chat, notification' });
    expect(checkMessageType('chat', closed)).toBe('chat');
    expect(validationErrorOf(() => checkMessageType('system', closed)).message).toBe(
      'type "system" is not allowed; allowed types: chat, notification',
    );
  });
});

describe('checkUserIds', () => {
  it('accepts unique ids', () => {
    expect(checkUserIds(['user123', 'user456'], rules)).toEqual(['user123', 'user456']);
  });

  it.each([
    [undefined, 'userIds is required'],
    ['user123', 'userIds must be an array of user ids'],
    [[], 'userIds must not be empty'],
    [['user123', 'user123'], 'userIds[1] repeats "user123"; user ids must be unique'],
    [['user123', ''], 'userIds[1] must not be empty'],
    [['user123', 5], 'userIds[1] must be a string'],
    [['x'.repeat(129)], 'userIds[0] must be at most 128 characters'],
  ])('refuses %j: %s', (userIds, message) => {
    expect(validationErrorOf(() => checkUserIds(userIds, rules)).message).toBe(message);
  });

  it('accepts MAX_USER_IDS ids (default 100) and refuses one more', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => `user${i}`);
    expect(checkUserIds(hundred, rules)).toHaveLength(100);
    expect(validationErrorOf(() => checkUserIds([...hundred, 'user100'], rules)).message).toBe(
      'userIds may list at most 100 users, got 101',
    );
    const three = readMessageRules({ MAX_USER_IDS: '3' });
    expect(validationErrorOf(() => checkUserIds(['a', 'b', 'c', 'd'], three)).message).toBe(
      'userIds may list at most 3 users, got 4',
    );
  });
});

describe('validateUsersMessage and validateBroadcastMessage', () => {
  it('accept the documented bodies', () => {
    expect(validateUsersMessage({ userIds: ['user123', 'user456'], type: 'announcement', data: {} }, rules)).toEqual({
      userIds: ['user123', 'user456'],
      type: 'announcement',
      data: {},
    });
    expect(validateBroadcastMessage({ type: 'system', data: { message: 'm', level: 'info' } }, rules)).toEqual({
      type: 'system',
      data: { message: 'm', level: 'info' },
    });
  });

  it('name the missing field', () => {
    expect(validationErrorOf(() => validateUsersMessage({ type: 'x', data: 1 }, rules)).message).toBe(
      'userIds is required',
    );
    expect(validationErrorOf(() => validateBroadcastMessage({ type: 'system' }, rules)).message).toBe(
      'data is required',
    );
  });
});

describe('validateNotification', () => {
  it('accepts title, body and optional object data', () => {
    expect(validateNotification({ userId: 'user123', title: 'T', body: 'B' })).toEqual({
      userId: 'user123',
      title: 'T',
      body: 'B',
    });
    expect(validateNotification({ userId: 'u', title: 'T', body: 'B', data: { orderId: 42 } }).data).toEqual({
      orderId: 42,
    });
  });

  it.each([
    [{ userId: 'u', body: 'B' }, 'title is required'],
    [{ userId: 'u', title: '  ', body: 'B' }, 'title must not be empty'],
    [{ userId: 'u', title: 'T', body: 3 }, 'body must be a string'],
    [{ userId: 'u', title: 'T', body: 'B', data: 'x' }, 'data must be a JSON object'],
    [{ title: 'T', body: 'B' }, 'userId is required'],
  ])('refuses %j: %s', (body, message) => {
    expect(validationErrorOf(() => validateNotification(body)).message).toBe(message);
  });
});

describe('validateSendFrame', () => {
  it('accepts userId or userIds', () => {
    expect(validateSendFrame({ action: 'send', userId: 'b', type: 'chat', data: 'hi' }, rules).userIds).toEqual(['b']);
    expect(validateSendFrame({ action: 'send', userIds: ['b', 'c'], type: 'chat', data: 'hi' }, rules).userIds).toEqual(
      ['b', 'c'],
    );
  });

  it('refuses both or neither', () => {
    expect(
      validationErrorOf(() => validateSendFrame({ userId: 'a', userIds: ['b'], type: 'chat', data: 1 }, rules)).message,
    ).toBe('Give either userId or userIds, not both');
    expect(validationErrorOf(() => validateSendFrame({ action: 'send', type: 'chat', data: 1 }, rules)).message).toBe(
      'userId or userIds is required',
    );
  });
});

describe('room messages', () => {
  it('reads { room, type, data, async? } for the HTTP route, the socket frame and direct send', () => {
    expect(validateRoomMessage({ room: 'chat:42', type: 'chat', data: 1 }, rules)).toEqual({
      room: 'chat:42',
      type: 'chat',
      data: 1,
      async: false,
    });
    expect(validateRoomSendFrame({ action: 'send', room: 'r', type: 'chat', data: 1, async: true }, rules)).toEqual({
      room: 'r',
      type: 'chat',
      data: 1,
      async: true,
    });
    expect(validateDirectSendEvent({ room: 'r', type: 'chat', data: {} }, rules)).toEqual({
      kind: 'room',
      room: 'r',
      type: 'chat',
      data: {},
      async: false,
    });
  });

  it('names what is wrong: the room, async, a frame naming users too, an event with two forms', () => {
    expect(validationErrorOf(() => validateRoomMessage({ type: 'chat', data: 1 }, rules))).toMatchObject({
      code: 'invalid_room',
      message: 'room is required',
    });
    expect(validationErrorOf(() => validateRoomMessage({ room: '#x', type: 'chat', data: 1 }, rules)).code).toBe(
      'invalid_room',
    );
    expect(
      validationErrorOf(() => validateRoomMessage({ room: 'r', type: 'chat', data: 1, async: 1 }, rules)).message,
    ).toBe('async must be true or false');
    expect(
      validationErrorOf(() => validateRoomSendFrame({ room: 'r', userIds: ['a'], type: 'chat', data: 1 }, rules))
        .message,
    ).toBe('Give either room or userId/userIds, not both');
    expect(
      validationErrorOf(() => validateDirectSendEvent({ room: 'r', userId: 'a', type: 'chat', data: 1 }, rules))
        .message,
    ).toBe('Event must use exactly one of userId, room');
  });
});

describe('validateDirectSendEvent', () => {
  it('reads each addressing form', () => {
    expect(validateDirectSendEvent({ userId: 'a', type: 'chat', data: {} }, rules)).toEqual({
      kind: 'users',
      userIds: ['a'],
      type: 'chat',
      data: {},
    });
    expect(validateDirectSendEvent({ userIds: ['a', 'b'], type: 'chat', data: 1 }, rules)).toMatchObject({
      kind: 'users',
      userIds: ['a', 'b'],
    });
    expect(validateDirectSendEvent({ broadcast: true, type: 'system', data: {} }, rules)).toEqual({
      kind: 'broadcast',
      type: 'system',
      data: {},
    });
    expect(validateDirectSendEvent({ notification: { userId: 'a', title: 'T', body: 'B' } }, rules)).toEqual({
      kind: 'notification',
      userId: 'a',
      title: 'T',
      body: 'B',
    });
  });

  it('unwraps an EventBridge event', () => {
    const event = { 'detail-type': 'OrderShipped', source: 'shop', detail: { userId: 'a', type: 'order', data: {} } };
    expect(validateDirectSendEvent(event, rules)).toMatchObject({ kind: 'users', userIds: ['a'], type: 'order' });
  });

  it.each([
    [
      { type: 'chat', data: {} },
      'Event needs one of userId, userIds, broadcast: true, room, broadcastStatus or notification',
    ],
    [{ userId: 'a', broadcast: true, type: 'chat', data: {} }, 'Event must use exactly one of userId, broadcast'],
    [{ broadcast: 'yes', type: 'chat', data: {} }, 'broadcast must be true'],
    [{ notification: { userId: 'a', title: 'T' } }, 'body is required'],
    [{ notification: 'hi' }, 'notification must be a JSON object'],
    [[], 'Event must be a JSON object'],
  ])('refuses %j: %s', (event, message) => {
    const error = validationErrorOf(() => validateDirectSendEvent(event, rules));
    expect(error.name).toBe('ValidationError');
    expect(error.message).toBe(message);
  });
});

describe('encodeEnvelope', () => {
  const now = new Date('2026-11-26T10:00:00.000Z');
  const id = '00000000-0000-4000-8000-000000000000';

  it('accepts an envelope of exactly 131072 bytes and refuses one byte more (UTF-8 counted)', () => {
    const empty = JSON.stringify(createEnvelope('chat', '', { now, id, from: 'user123' })).length;
    const fits = createEnvelope('chat', 'x'.repeat(MAX_ENVELOPE_BYTES - empty), { now, id, from: 'user123' });
    expect(encodeEnvelope(fits).byteLength).toBe(MAX_ENVELOPE_BYTES);

    // 'é' is one character but two bytes: the limit is on bytes.
    const tooLarge = createEnvelope('chat', `${'x'.repeat(MAX_ENVELOPE_BYTES - empty - 1)}é`, {
      now,
      id,
      from: 'user123',
    });
    let caught: unknown;
    try {
      encodeEnvelope(tooLarge);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PayloadTooLargeError);
    expect(caught).toMatchObject({
      statusCode: 413,
      code: 'payload_too_large',
      message: 'The message is 131073 bytes once serialized; the limit is 131072 bytes (128 KB)',
    });
  });
});

describe('readMessageRules', () => {
  it('defaults to 100 ids and no closed list', () => {
    expect(readMessageRules({})).toEqual({ maxUserIds: 100 });
  });

  it('names the setting when a value is bad', () => {
    expect(() => readMessageRules({ MAX_USER_IDS: 'many' })).toThrow(
      new ConfigurationError('MAX_USER_IDS', 'must be an integer, got "many"'),
    );
    expect(() => readMessageRules({ ALLOWED_MESSAGE_TYPES: 'chat,bad type' })).toThrow(
      'Configuration setting ALLOWED_MESSAGE_TYPES lists "bad type", which is not a valid message type',
    );
    expect(() => readMessageRules({ ALLOWED_MESSAGE_TYPES: 'chat,delivery' })).toThrow(
      'Configuration setting ALLOWED_MESSAGE_TYPES lists "delivery", which is reserved for server frames',
    );
    expect(() => readMessageRules({ ALLOWED_MESSAGE_TYPES: 'chat,Pong' })).toThrow(
      'Configuration setting ALLOWED_MESSAGE_TYPES lists "Pong", which is reserved for server frames',
    );
  });
});
