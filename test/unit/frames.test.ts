import {
  answerClientFrame,
  authenticatedFrame,
  errorFrame,
  FrameErrorCode,
  knownActions,
  parseClientFrame,
  pongFrame,
  tokenExpiredMessage,
} from '../../lambdas/core/frames';

const now = new Date('2026-11-26T10:00:00.000Z');
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('server frames', () => {
  it('pong carries the server time in the envelope', () => {
    const frame = pongFrame(now);
    expect(frame).toEqual({
      type: 'pong',
      data: { serverTime: '2026-11-26T10:00:00.000Z' },
      timestamp: '2026-11-26T10:00:00.000Z',
      id: expect.stringMatching(uuid),
    });
    expect(frame).not.toHaveProperty('from');
  });

  it('authenticated carries exactly the userId and connectionId', () => {
    const frame = authenticatedFrame({ userId: 'user123', connectionId: 'abc=' }, now);
    expect(frame.type).toBe('authenticated');
    expect(frame.data).toEqual({ userId: 'user123', connectionId: 'abc=' });
  });

  it('token_expired says when the token expired and what to do', () => {
    expect(FrameErrorCode.tokenExpired).toBe('token_expired');
    expect(tokenExpiredMessage(1795690800)).toBe(
      'the token of this connection expired at 2026-11-26T11:00:00.000Z; reconnect with a fresh token',
    );
  });

  it('each frame gets its own id', () => {
    expect(errorFrame('not_json', 'x', now).id).not.toBe(errorFrame('not_json', 'x', now).id);
  });
});

describe('parseClientFrame', () => {
  it('knows the actions of the route table', () => {
    expect(knownActions).toEqual(['ping', 'hello', 'send', 'join', 'leave', 'members', 'resume']);
  });

  it('accepts a known action and keeps the other fields', () => {
    expect(parseClientFrame('{"action":"send","userId":"u2","type":"chat","data":{}}')).toEqual({
      ok: true,
      frame: { action: 'send', userId: 'u2', type: 'chat', data: {} },
    });
  });

  it.each([
    [
      'hello there',
      FrameErrorCode.notJson,
      'frame is not JSON; send a JSON object with an "action", e.g. {"action":"ping"}',
    ],
    ['{"action":', FrameErrorCode.notJson, 'frame is not JSON'],
    ['', FrameErrorCode.invalidFrame, 'frame is empty'],
    ['   ', FrameErrorCode.invalidFrame, 'frame is empty'],
    ['[1,2]', FrameErrorCode.invalidFrame, 'frame must be a JSON object with an "action", got an array'],
    ['42', FrameErrorCode.invalidFrame, 'got a number'],
    ['null', FrameErrorCode.invalidFrame, 'got null'],
    ['"ping"', FrameErrorCode.invalidFrame, 'got a string'],
    [
      '{"type":"chat"}',
      FrameErrorCode.missingAction,
      'frame has no "action"; known actions: ping, hello, send, join, leave, members, resume',
    ],
    ['{"action":7}', FrameErrorCode.invalidFrame, '"action" must be a string, got a number'],
    [
      '{"action":"dance"}',
      FrameErrorCode.unknownAction,
      'unknown action "dance"; known actions: ping, hello, send, join, leave, members, resume',
    ],
    ['{"action":"$connect"}', FrameErrorCode.unknownAction, 'unknown action "$connect"'],
  ])('refuses %j with %s', (body, code, message) => {
    const parsed = parseClientFrame(body);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.code).toBe(code);
    expect(parsed.message).toContain(message);
  });

  it('refuses a missing body', () => {
    expect(parseClientFrame(undefined)).toMatchObject({ ok: false, code: FrameErrorCode.invalidFrame });
    expect(parseClientFrame(null)).toMatchObject({ ok: false, code: FrameErrorCode.invalidFrame });
  });

  it('does not echo a huge unknown action back in full', () => {
    const parsed = parseClientFrame(JSON.stringify({ action: 'x'.repeat(10_000) }));
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.message.length).toBeLessThan(200);
    expect(parsed.message).toContain(`"${'x'.repeat(64)}…"`);
  });
});

describe('answerClientFrame', () => {
  const caller = { userId: 'user123', connectionId: 'abc=', now };

  it('answers ping with pong', () => {
    expect(answerClientFrame({ ...caller, routeKey: 'ping', body: '{"action":"ping"}' })).toMatchObject({
      type: 'pong',
      data: { serverTime: now.toISOString() },
    });
  });

  it('answers hello with authenticated', () => {
    expect(answerClientFrame({ ...caller, routeKey: 'hello', body: '{"action":"hello"}' })).toMatchObject({
      type: 'authenticated',
      data: { userId: 'user123', connectionId: 'abc=' },
    });
  });

  it('answers $default with an error frame that says what is wrong', () => {
    expect(answerClientFrame({ ...caller, routeKey: '$default', body: '{"action":"dance"}' })).toMatchObject({
      type: 'error',
      data: {
        code: 'unknown_action',
        message: 'unknown action "dance"; known actions: ping, hello, send, join, leave, members, resume',
      },
    });
    expect(answerClientFrame({ ...caller, routeKey: '$default', body: 'not json' })).toMatchObject({
      type: 'error',
      data: { code: 'not_json' },
    });
  });

  it('still answers ping or hello that reached $default, and says when send is not deployed', () => {
    expect(answerClientFrame({ ...caller, routeKey: '$default', body: '{"action":"ping"}' }).type).toBe('pong');
    expect(answerClientFrame({ ...caller, routeKey: '$default', body: '{"action":"send"}' })).toMatchObject({
      type: 'error',
      data: { code: 'unavailable_action', message: expect.stringContaining('"send" is not available') },
    });
  });
});
