import { ForbiddenError } from '../../lambdas/core/errors';
import {
  authorize,
  authorizeForUser,
  type Caller,
  callerFromContext,
  type Operation,
  readPolicy,
} from '../../lambdas/core/policy';

const plainUser: Caller = { userId: 'user123', permissions: new Set() };
const broadcaster: Caller = { userId: 'news', permissions: new Set(['ws:broadcast']) };
const admin: Caller = { userId: 'ops', permissions: new Set(['ws:admin']) };

function forbiddenMessageOf(act: () => void): string {
  try {
    act();
  } catch (error) {
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).statusCode).toBe(403);
    return (error as ForbiddenError).message;
  }
  throw new Error('expected a ForbiddenError, nothing was thrown');
}

describe('readPolicy defaults', () => {
  const policy = readPolicy({});

  it.each<Operation>(['sendToUsers', 'notify'])('lets any authenticated user %s', (operation) => {
    expect(() => authorize(policy, plainUser, operation)).not.toThrow();
  });

  it('needs ws:broadcast to broadcast, and names it', () => {
    expect(forbiddenMessageOf(() => authorize(policy, plainUser, 'broadcast'))).toBe(
      'The permission "ws:broadcast" is required to broadcast',
    );
    expect(() => authorize(policy, broadcaster, 'broadcast')).not.toThrow();
    // No permission implies another: admin is not a broadcaster.
    expect(() => authorize(policy, admin, 'broadcast')).toThrow(ForbiddenError);
  });

  it.each<[Operation, string]>([
    ['listConnectedUsers', 'The permission "ws:admin" is required to list connected users'],
    ['statusOfOther', `The permission "ws:admin" is required to see another user's status`],
    ['disconnectOther', 'The permission "ws:admin" is required to disconnect another user'],
  ])('needs ws:admin for %s', (operation, message) => {
    expect(forbiddenMessageOf(() => authorize(policy, plainUser, operation))).toBe(message);
    expect(forbiddenMessageOf(() => authorize(policy, broadcaster, operation))).toBe(message);
    expect(() => authorize(policy, admin, operation)).not.toThrow();
  });

  it('always allows one own status and disconnecting oneself', () => {
    expect(() => authorizeForUser(policy, plainUser, 'status', 'user123')).not.toThrow();
    expect(() => authorizeForUser(policy, plainUser, 'disconnect', 'user123')).not.toThrow();
  });

  it("needs ws:admin for another user's status or disconnect", () => {
    expect(() => authorizeForUser(policy, plainUser, 'status', 'user456')).toThrow(ForbiddenError);
    expect(() => authorizeForUser(policy, plainUser, 'disconnect', 'user456')).toThrow(ForbiddenError);
    expect(() => authorizeForUser(policy, admin, 'status', 'user456')).not.toThrow();
    expect(() => authorizeForUser(policy, admin, 'disconnect', 'user456')).not.toThrow();
  });
});

describe('readPolicy settings', () => {
  it('reads each permission name', () => {
    const policy = readPolicy({
      SEND_PERMISSION: 'chat:send',
      NOTIFY_PERMISSION: 'notify',
      BROADCAST_PERMISSION: 'news:publish',
      ADMIN_PERMISSION: 'root',
      ROOM_SEND_PERMISSION: 'rooms:any',
    });
    expect(policy.required).toEqual({
      sendToUsers: 'chat:send',
      notify: 'notify',
      broadcast: 'news:publish',
      sendToRoom: 'rooms:any',
      listConnectedUsers: 'root',
      statusOfOther: 'root',
      disconnectOther: 'root',
      seeConnectionIds: 'root',
      manageRooms: 'ws:rooms',
    });
    expect(forbiddenMessageOf(() => authorize(policy, plainUser, 'sendToUsers'))).toBe(
      'The permission "chat:send" is required to send messages to users',
    );
    expect(() => authorize(policy, { userId: 'x', permissions: new Set(['chat:send']) }, 'sendToUsers')).not.toThrow();
  });

  it('lifts a requirement with "none" or an empty value', () => {
    expect(readPolicy({ BROADCAST_PERMISSION: 'none' }).required.broadcast).toBeUndefined();
    expect(readPolicy({ BROADCAST_PERMISSION: '' }).required.broadcast).toBeUndefined();
    expect(() => authorize(readPolicy({ BROADCAST_PERMISSION: 'none' }), plainUser, 'broadcast')).not.toThrow();
  });
});

describe('callerFromContext', () => {
  it('splits the space-separated permissions', () => {
    const caller = callerFromContext({ userId: 'user123', permissions: 'ws:admin  read' });
    expect(caller.userId).toBe('user123');
    expect([...caller.permissions].sort()).toEqual(['read', 'ws:admin']);
  });
});
