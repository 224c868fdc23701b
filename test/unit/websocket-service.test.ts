import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { MemoryRegistry } from '../../bench/memory-registry';
import type { SliceMessage } from '../../lambdas/core/broadcast-fan-out';
import type { Envelope } from '../../lambdas/core/envelope';
import { PayloadTooLargeError, ValidationError } from '../../lambdas/core/errors';
import type { MessageLog } from '../../lambdas/core/message-log';
import { ConnectionPresence, readDeliverySettings, WebSocketService } from '../../lambdas/core/websocket-service';

const managementClient = new ApiGatewayManagementApiClient({
  region: 'eu-west-1',
  endpoint: 'https://api.example.com/prod',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const management = mockClient(managementClient);

let registry: MemoryRegistry;
let service: WebSocketService;

function posted(): Array<{ connectionId: string; envelope: Envelope }> {
  return management.commandCalls(PostToConnectionCommand).map((call) => ({
    connectionId: call.args[0].input.ConnectionId as string,
    envelope: JSON.parse(new TextDecoder().decode(call.args[0].input.Data as Uint8Array)),
  }));
}

beforeEach(async () => {
  management.reset();
  management.on(PostToConnectionCommand).resolves({});
  management.on(DeleteConnectionCommand).resolves({});
  registry = new MemoryRegistry({ now: () => new Date() });
  await registry.register({ userId: 'user123', connectionId: 'tab-1' });
  await registry.register({ userId: 'user123', connectionId: 'tab-2' });
  await registry.register({ userId: 'user456', connectionId: 'phone' });
  service = new WebSocketService({ registry, managementClient, concurrency: 5 });
});

describe('sending', () => {
  it('sendToUser reaches every connection of the user, with from only from the options', async () => {
    const report = await service.sendToUser(
      'user123',
      'chat',
      { message: 'Hello!', from: 'forged' },
      { from: 'user456' },
    );

    expect(report.recipients.user123.delivered.sort()).toEqual(['tab-1', 'tab-2']);
    expect(posted()[0].envelope).toMatchObject({ type: 'chat', from: 'user456', id: report.messageId });
    expect(posted()[0].envelope.data).toEqual({ message: 'Hello!', from: 'forged' });
  });

  it('sendToUser without from sends an envelope without from', async () => {
    await service.sendToUser('user456', 'chat', 'hi');
    expect(posted()[0].envelope).not.toHaveProperty('from');
  });

  it('sendToUsers sends one message id to all and lists the absent', async () => {
    const report = await service.sendToUsers(['user123', 'user456', 'ghost'], 'announcement', { v: 2 });
    expect(new Set(posted().map((p) => p.envelope.id))).toEqual(new Set([report.messageId]));
    expect(report.notConnected).toEqual(['ghost']);
  });

  it('validates its arguments like the API does', async () => {
    await expect(service.sendToUser('', 'chat', 1)).rejects.toThrow(new ValidationError('userId must not be empty'));
    await expect(service.sendToUsers(['a', 'a'], 'chat', 1)).rejects.toThrow(ValidationError);
    await expect(service.sendToUser('user123', 'error', 1)).rejects.toThrow(
      'type "error" is reserved for server frames',
    );
    await expect(service.sendToUser('user123', 'chat', 'x'.repeat(140_000))).rejects.toThrow(PayloadTooLargeError);
    expect(posted()).toHaveLength(0);
  });

  it('applies its message rules', async () => {
    const closed = new WebSocketService({
      registry,
      managementClient,
      messageRules: { maxUserIds: 1, allowedTypes: new Set(['chat']) },
    });
    await expect(closed.sendToUser('user123', 'alert', 1)).rejects.toThrow('type "alert" is not allowed');
    await expect(closed.sendToUsers(['user123', 'user456'], 'chat', 1)).rejects.toThrow(
      'userIds may list at most 1 users, got 2',
    );
  });

  it('sendNotification sends type notification with data {title, body, ...data}', async () => {
    await service.sendNotification('user456', 'New order', 'Order #42 shipped', { orderId: 42 });
    expect(posted()[0].envelope).toMatchObject({
      type: 'notification',
      data: { title: 'New order', body: 'Order #42 shipped', orderId: 42 },
    });
    await expect(service.sendNotification('user456', '', 'b')).rejects.toThrow('title must not be empty');
  });

  it('broadcast records the broadcast, queues one slice per segment and posts nothing itself', async () => {
    const recorded: unknown[] = [];
    const queued: SliceMessage[] = [];
    const fanOut = new WebSocketService({
      registry,
      managementClient,
      fanOut: {
        state: {
          createBroadcast: async (record) => void recorded.push(record),
          readStatus: async () => undefined,
        },
        queue: { send: async (messages) => void queued.push(...messages) },
        segments: 3,
      },
    });

    const accepted = await fanOut.broadcast('system', { level: 'info' }, { from: 'user123' });

    expect(accepted).toEqual({
      broadcastId: expect.any(String),
      messageId: expect.any(String),
      timestamp: expect.any(String),
      state: 'queued',
      slices: 3,
    });
    expect(recorded).toEqual([
      expect.objectContaining({ broadcastId: accepted.broadcastId, type: 'system', slices: 3 }),
    ]);
    expect(queued.map((message) => [message.segment, message.totalSegments])).toEqual([
      [0, 3],
      [1, 3],
      [2, 3],
    ]);
    expect(JSON.parse(queued[0].envelope)).toMatchObject({ type: 'system', from: 'user123', id: accepted.messageId });
    expect(management).toHaveReceivedCommandTimes(PostToConnectionCommand, 0);
    await expect(fanOut.getBroadcastStatus('unknown')).resolves.toBeUndefined();
  });

  it('a send that found a user offline marks it, then reads again: a first connect between the two gets it live', async () => {
    // Prepare: a log stand-in (unit test) whose mark lands after the user's first connection registered, as when a
    // first connect's offline read falls between the send's registry read and its mark.
    const marked: string[][] = [];
    const messageLog = {
      config: {},
      persists: () => true,
      record: async (envelope: Envelope) => {
        envelope.logId = '1764255600000-0000-a3f91c';
        return Date.now();
      },
      markOffline: async (_logId: string, userIds: readonly string[]) => {
        marked.push([...userIds]);
        await registry.register({ userId: 'newcomer', connectionId: 'first-tab' });
      },
    } as unknown as MessageLog;
    const logged = new WebSocketService({ registry, managementClient, messageLog });
    // Act
    const report = await logged.sendToUser('newcomer', 'chat', { message: 'hi' });
    // Assess
    expect(marked).toEqual([['newcomer']]);
    expect(posted()).toEqual([
      { connectionId: 'first-tab', envelope: expect.objectContaining({ logId: '1764255600000-0000-a3f91c' }) },
    ]);
    expect(report.notConnected).toEqual([]);
    expect(report.recipients.newcomer.delivered).toEqual(['first-tab']);
  });

  it('broadcast without the fan-out parts says what is missing', async () => {
    await expect(service.broadcast('system', {})).rejects.toThrow('broadcast needs the fan-out state and slice queue');
  });

  it('ConnectionPresence answers status from the registry alone, with no management client', async () => {
    const presence = new ConnectionPresence({ registry });
    expect((await presence.getUserStatus('user123')).connectionCount).toBe(2);
    expect(await presence.isUserConnected('user456')).toBe(true);
    expect(presence).not.toHaveProperty('sendToUser');
  });
});

describe('presence', () => {
  it('isUserConnected', async () => {
    expect(await service.isUserConnected('user123')).toBe(true);
    expect(await service.isUserConnected('ghost')).toBe(false);
  });

  it('getConnectedUsers pages, 50 by default', async () => {
    for (let i = 0; i < 60; i++)
      await registry.register({ userId: `u${String(i).padStart(2, '0')}`, connectionId: 'c' });
    const first = await service.getConnectedUsers();
    expect(first.users).toHaveLength(50);
    const second = await service.getConnectedUsers({ limit: 50, cursor: first.nextCursor });
    expect(second.users).toHaveLength(12);
    expect(second.nextCursor).toBeUndefined();
  });

  it('getUserStatus lists each connection with its connectedAt', async () => {
    const status = await service.getUserStatus('user123');
    expect(status).toEqual({
      userId: 'user123',
      connected: true,
      connectionCount: 2,
      connections: [
        { connectionId: 'tab-1', connectedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
        { connectionId: 'tab-2', connectedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      ],
    });
  });
});

describe('disconnectUser', () => {
  it('closes every connection through the management API (410 is fine), removes them and returns the count', async () => {
    management
      .on(DeleteConnectionCommand, { ConnectionId: 'tab-2' })
      .rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));

    expect(await service.disconnectUser('user123')).toBe(2);
    expect(management).toHaveReceivedCommandWith(DeleteConnectionCommand, { ConnectionId: 'tab-1' });
    expect(management).toHaveReceivedCommandWith(DeleteConnectionCommand, { ConnectionId: 'tab-2' });
    expect(await service.isUserConnected('user123')).toBe(false);
    expect(await service.isUserConnected('user456')).toBe(true);
  });
});

describe('configuration', () => {
  it('readDeliverySettings has documented defaults', () => {
    expect(readDeliverySettings({})).toEqual({
      concurrency: 200,
      broadcastTimeMarginMs: 3000,
      messageRules: { maxUserIds: 100 },
    });
  });

  it.each([
    [{ SEND_CONCURRENCY: '0' }, 'SEND_CONCURRENCY'],
    [{ BROADCAST_TIME_MARGIN_MS: 'soon' }, 'BROADCAST_TIME_MARGIN_MS'],
    [{ MAX_USER_IDS: '5000' }, 'MAX_USER_IDS'],
  ])('names a bad setting: %j', (env, setting) => {
    expect(() => readDeliverySettings(env)).toThrow(expect.objectContaining({ name: 'ConfigurationError', setting }));
  });

  it('fromEnvironment names a missing TABLE_NAME, then a missing CALLBACK_URL', () => {
    expect(() => WebSocketService.fromEnvironment({ CALLBACK_URL: 'https://x.example.com/prod' })).toThrow(
      'Configuration setting TABLE_NAME is required but not set',
    );
    expect(() => WebSocketService.fromEnvironment({ TABLE_NAME: 'Connections' })).toThrow(
      'Configuration setting CALLBACK_URL is required but not set',
    );
  });

  it('fromEnvironment builds a working service from settings', () => {
    const fromEnv = WebSocketService.fromEnvironment({
      TABLE_NAME: 'Connections',
      CALLBACK_URL: 'https://k3x9q2w7e1.execute-api.eu-west-1.amazonaws.com/prod',
    });
    expect(fromEnv).toBeInstanceOf(WebSocketService);
  });
});
