import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { MemoryRegistry } from '../../bench/memory-registry';
import { ValidationError } from '../../lambdas/core/errors';
import { createTokenVerifier, readJwtConfig, TokenRejectedError } from '../../lambdas/core/jwt';
import { MAX_USER_ID_LENGTH, userIdProblem } from '../../lambdas/core/user-id';
import {
  checkUserId,
  defaultMessageRules,
  validateDirectSendEvent,
  validateNotification,
  validateSendFrame,
  validateUserMessage,
  validateUsersMessage,
} from '../../lambdas/core/validation';
import { WebSocketService } from '../../lambdas/core/websocket-service';
import { pathUserIdOf } from '../../lambdas/handlers/middleware/http-request';
import { thrownBy } from '../helpers/thrown';
import { signHmacRaw, signTestToken, testSecret, validClaims } from '../helpers/tokens';

// Issue 9, defect 6: `checkUserId` accepted ids that a token's `sub` refuses, so a send could address a user no
// token can ever be. One rule now serves both; these tests walk every place a userId comes in.

const refusedIds: Array<[string, unknown]> = [
  ['a newline', 'user\n123'],
  ['a NUL', 'user\u0000123'],
  ['an escape', 'user\u001b[31m'],
  ['a DEL', 'user\u007f'],
  ['only whitespace', '   '],
  ['129 characters', 'u'.repeat(MAX_USER_ID_LENGTH + 1)],
  ['an empty string', ''],
  ['a lone high surrogate', 'user\ud800'],
  ['a lone low surrogate', '\udc00user'],
];

const verifier = createTokenVerifier(readJwtConfig({ JWT_SECRET: testSecret }));

/** Whether the verifier accepts a token whose `sub` is `userId`. */
async function subAccepted(userId: unknown): Promise<boolean> {
  const claims = { ...validClaims(), sub: userId };
  try {
    await verifier.verify(signHmacRaw({ alg: 'HS256', typ: 'JWT' }, claims, testSecret));
    return true;
  } catch (error) {
    if (error instanceof TokenRejectedError) return false;
    throw error;
  }
}

function requestAccepted(userId: unknown): boolean {
  try {
    checkUserId(userId, 'userId');
    return true;
  } catch (error) {
    if (error instanceof ValidationError) return false;
    throw error;
  }
}

describe('the one userId rule (issue 9, defect 6)', () => {
  it.each(refusedIds)('refuses %s for a token sub and for every request input alike', async (_, userId) => {
    expect(userIdProblem(userId)).toEqual(expect.any(String));
    expect(await subAccepted(userId)).toBe(false);
    expect(requestAccepted(userId)).toBe(false);
  });

  it.each([
    ['a plain id', 'user123'],
    ['an e-mail address', 'user@example.com'],
    ['non-ASCII letters', 'Zoë-東京'],
    ['an astral character (a surrogate pair)', 'user-😀'],
    ['128 characters', 'u'.repeat(MAX_USER_ID_LENGTH)],
    ['inner spaces', 'Ada Lovelace'],
  ])('accepts %s in both places', async (_, userId) => {
    expect(userIdProblem(userId)).toBeUndefined();
    expect(await subAccepted(userId)).toBe(true);
    expect(requestAccepted(userId)).toBe(true);
  });

  it('names the field and the problem in the request error, and the claim in the token refusal', async () => {
    expect(() => checkUserId('user\n123', 'userIds[1]')).toThrow(
      new ValidationError('userIds[1] must not contain control characters (U+0000 to U+001F, U+007F)'),
    );
    await expect(verifier.verify(await signTestToken('user\n123'))).rejects.toThrow(
      'The token\'s "sub" must not contain control characters (U+0000 to U+001F, U+007F)',
    );
  });

  it('holds for every request body and event that names a user', () => {
    const bad = 'user\u0007';
    const rules = defaultMessageRules;
    const attempts: Array<[string, () => unknown]> = [
      ['POST /websocket/message/user', () => validateUserMessage({ userId: bad, type: 'chat', data: {} }, rules)],
      [
        'POST /websocket/message/users',
        () => validateUsersMessage({ userIds: ['user123', bad], type: 'chat', data: {} }, rules),
      ],
      ['POST /websocket/notification', () => validateNotification({ userId: bad, title: 't', body: 'b' })],
      ['the socket send frame', () => validateSendFrame({ action: 'send', userId: bad, type: 'chat', data: 1 }, rules)],
      ['direct send (userId)', () => validateDirectSendEvent({ userId: bad, type: 'chat', data: {} }, rules)],
      ['direct send (userIds)', () => validateDirectSendEvent({ userIds: [bad], type: 'chat', data: {} }, rules)],
      [
        'direct send (notification)',
        () => validateDirectSendEvent({ notification: { userId: bad, title: 't', body: 'b' } }, rules),
      ],
      ['the {userId} path parameter', () => pathUserIdOf({ pathParameters: { userId: bad } })],
    ];
    for (const [where, attempt] of attempts) {
      expect({ where, thrown: thrownBy(attempt) }).toEqual({ where, thrown: expect.any(ValidationError) });
    }
  });

  it('holds for every method of the server library that takes a userId', async () => {
    const service = new WebSocketService({
      registry: new MemoryRegistry({ now: () => new Date() }),
      managementClient: new ApiGatewayManagementApiClient({
        region: 'eu-west-1',
        endpoint: 'http://127.0.0.1:9',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      }),
    });
    const bad = 'user\r\n';
    await expect(service.sendToUser(bad, 'chat', {})).rejects.toBeInstanceOf(ValidationError);
    await expect(service.sendToUsers(['user123', bad], 'chat', {})).rejects.toBeInstanceOf(ValidationError);
    await expect(service.sendNotification(bad, 'title', 'body')).rejects.toBeInstanceOf(ValidationError);
    await expect(service.isUserConnected(bad)).rejects.toBeInstanceOf(ValidationError);
    await expect(service.getUserStatus(bad)).rejects.toBeInstanceOf(ValidationError);
    await expect(service.disconnectUser(bad)).rejects.toBeInstanceOf(ValidationError);
  });
});
