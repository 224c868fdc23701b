import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { MemoryRegistry } from '../../bench/memory-registry';
import { createEnvelope } from '../../lambdas/core/envelope';
import { PayloadTooLargeError, ValidationError } from '../../lambdas/core/errors';
import {
  checkDataDepth,
  defaultMessageRules,
  encodeEnvelope,
  MAX_DATA_DEPTH,
  MAX_ENVELOPE_BYTES,
  parseJson,
  validateBroadcastMessage,
  validateDirectSendEvent,
  validateNotification,
  validateSendFrame,
  validateUserMessage,
  validateUsersMessage,
} from '../../lambdas/core/validation';
import { WebSocketService } from '../../lambdas/core/websocket-service';
import { thrownBy } from '../helpers/thrown';

// Issue 9, defect 1: a `data` nested ~5,000 levels deep (a 10 KB body) overflowed the stack in JSON.stringify
// inside encodeEnvelope and answered 500. The limit is checked on every path that accepts `data`, without
// recursion; these tests pin each path and what V8 itself does with deep JSON.

/** JSON text of `depth` nested arrays: `[[[]]]` is depth 3. */
const nestedText = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
/** A value of `depth` nested objects and arrays, as JSON.parse builds it from a request. */
const nested = (depth: number): unknown => JSON.parse(nestedText(depth));

const tooDeep = expect.objectContaining({
  name: 'ValidationError',
  statusCode: 400,
  code: 'too_deep',
  message: `data nests objects and arrays more than ${MAX_DATA_DEPTH} levels deep; at most ${MAX_DATA_DEPTH} are accepted`,
});

describe('V8 and deep JSON (why the check sits after JSON.parse and before JSON.stringify)', () => {
  it('parses a million nested arrays without overflowing: JSON.parse of a frame or body is not the risk', () => {
    expect(() => parseJson(nestedText(1_000_000), 'Request body')).not.toThrow();
  });

  it('overflows the stack in JSON.stringify at the depth the review used: that is what the limit prevents', () => {
    expect(thrownBy(() => JSON.stringify(nested(5000)))).toBeInstanceOf(RangeError);
  });
});

describe('checkDataDepth', () => {
  it(`accepts ${MAX_DATA_DEPTH} levels and refuses ${MAX_DATA_DEPTH + 1} with the code too_deep`, () => {
    expect(() => checkDataDepth(nested(MAX_DATA_DEPTH))).not.toThrow();
    expect(thrownBy(() => checkDataDepth(nested(MAX_DATA_DEPTH + 1)))).toEqual(tooDeep);
  });

  it('counts objects and arrays alike, and scalars as no level', () => {
    let value: unknown = 'leaf';
    for (let level = 0; level < MAX_DATA_DEPTH; level++) value = level % 2 === 0 ? { a: value } : [1, value];
    expect(() => checkDataDepth(value)).not.toThrow();
    expect(thrownBy(() => checkDataDepth({ wrap: value }))).toEqual(tooDeep);
    expect(() => checkDataDepth('text')).not.toThrow();
    expect(() => checkDataDepth(null)).not.toThrow();
  });

  it('measures a million levels without recursion (no RangeError of its own)', () => {
    expect(thrownBy(() => checkDataDepth(nested(1_000_000)))).toEqual(tooDeep);
  });

  it('refuses a value that refers to itself (server library) as too deep instead of looping', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(thrownBy(() => checkDataDepth(cyclic))).toEqual(tooDeep);
  });

  it('refuses a bigint, which JSON.stringify cannot write', () => {
    expect(thrownBy(() => checkDataDepth({ amount: 10n }))).toMatchObject({ code: 'invalid_data', statusCode: 400 });
  });

  it('stops walking a value with more values than an envelope could hold bytes: 413, not a long walk', () => {
    // 40 levels of two references to the same array: 2^40 paths, so a walk without the bound would never end.
    let shared: unknown[] = [];
    for (let level = 0; level < 40; level++) shared = [shared, shared];
    const error = thrownBy(() => checkDataDepth(shared));
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect(error).toMatchObject({ code: 'payload_too_large' });
    expect(() => checkDataDepth(new Array(MAX_ENVELOPE_BYTES - 1).fill(0))).not.toThrow();
  });
});

describe('every validator that accepts data refuses 5,000 levels with 400 too_deep', () => {
  const deep = nested(5000);
  const rules = defaultMessageRules;
  it.each<[string, () => unknown]>([
    ['POST /websocket/message/user', () => validateUserMessage({ userId: 'user456', type: 'chat', data: deep }, rules)],
    [
      'POST /websocket/message/users',
      () => validateUsersMessage({ userIds: ['user456'], type: 'chat', data: deep }, rules),
    ],
    ['POST /websocket/message/broadcast', () => validateBroadcastMessage({ type: 'chat', data: deep }, rules)],
    [
      'POST /websocket/notification',
      () => validateNotification({ userId: 'u', title: 't', body: 'b', data: { deep } }),
    ],
    [
      'the socket send frame',
      () => validateSendFrame({ action: 'send', userId: 'u', type: 'chat', data: deep }, rules),
    ],
    ['direct send', () => validateDirectSendEvent({ userIds: ['u'], type: 'chat', data: deep }, rules)],
    ['direct send broadcast', () => validateDirectSendEvent({ broadcast: true, type: 'chat', data: deep }, rules)],
    [
      'direct send notification',
      () => validateDirectSendEvent({ notification: { userId: 'u', title: 't', body: 'b', data: { deep } } }, rules),
    ],
  ])('%s', (_, validate) => {
    expect(thrownBy(validate)).toEqual(tooDeep);
  });
});

describe('encodeEnvelope', () => {
  it('turns what JSON.stringify cannot write into a ValidationError, never its own RangeError or TypeError', () => {
    // A toJSON can return something deeper than the walk saw: the backstop still answers a client error.
    const sneaky = { toJSON: () => nested(5000) };
    expect(thrownBy(() => encodeEnvelope(createEnvelope('chat', sneaky)))).toMatchObject({
      name: 'ValidationError',
      code: 'too_deep',
    });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = { toJSON: () => cyclic };
    expect(thrownBy(() => encodeEnvelope(createEnvelope('chat', cyclic)))).toBeInstanceOf(ValidationError);
  });
});

describe('the server library (WebSocketService)', () => {
  const managementClient = new ApiGatewayManagementApiClient({
    region: 'eu-west-1',
    endpoint: 'https://api.example.com/prod',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const management = mockClient(managementClient);

  it('throws a ValidationError with the code too_deep before posting anything, on every send method', async () => {
    management.reset();
    management.on(PostToConnectionCommand).resolves({});
    const registry = new MemoryRegistry({ now: () => new Date() });
    await registry.register({ userId: 'user123', connectionId: 'tab-1' });
    const service = new WebSocketService({ registry, managementClient });
    const deep = nested(5000);

    await expect(service.sendToUser('user123', 'chat', deep)).rejects.toEqual(tooDeep);
    await expect(service.sendToUsers(['user123'], 'chat', deep)).rejects.toEqual(tooDeep);
    await expect(service.broadcast('chat', deep)).rejects.toEqual(tooDeep);
    await expect(service.sendNotification('user123', 't', 'b', { deep })).rejects.toEqual(tooDeep);
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);

    await service.sendToUser('user123', 'chat', nested(MAX_DATA_DEPTH));
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 1);
  });
});
