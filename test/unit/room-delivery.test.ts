import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { MemoryRegistry } from '../../bench/memory-registry';
import type { SliceMessage, SliceQueue } from '../../lambdas/core/broadcast-fan-out';
import { DeliveryMetric } from '../../lambdas/core/delivery';
import { createEnvelope } from '../../lambdas/core/envelope';
import { PayloadTooLargeError, ValidationError } from '../../lambdas/core/errors';
import type { BroadcastRecord } from '../../lambdas/core/fan-out-state';
import {
  DEFAULT_ROOM_SYNC_MAX_MEMBERS,
  deliverToRoom,
  type RoomDeliveryDependencies,
  RoomFanOutUnavailableError,
  readRoomSyncMaxMembers,
} from '../../lambdas/core/room-delivery';
import type { MembershipChange, RoomMember, RoomMembersOptions, RoomRegistry } from '../../lambdas/core/rooms';
import { WebSocketService } from '../../lambdas/core/websocket-service';

const managementClient = new ApiGatewayManagementApiClient({
  region: 'eu-west-1',
  endpoint: 'https://api.example.com/prod',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const management = mockClient(managementClient);

/** A room index in memory: members in connectionId order, served in pages of the asked `pageSize`. */
/** The room index in memory: members to read, and the memberships a 410 ends; joining is not what these tests test. */
class MemoryRooms implements RoomRegistry {
  readonly reads: Array<{ room: string; options: RoomMembersOptions }> = [];
  readonly forgotten: Array<{ connectionId: string; rooms: string[] }> = [];
  pagesServed = 0;
  constructor(private readonly rooms: Record<string, RoomMember[]>) {}

  async join(): Promise<MembershipChange> {
    throw new Error('room sends do not join');
  }

  async leave(): Promise<MembershipChange> {
    throw new Error('room sends do not leave');
  }

  async finishReplay(): Promise<void> {
    throw new Error('room sends do not replay');
  }

  async roomsOf(): Promise<string[]> {
    throw new Error("room sends read members, not a connection's rooms");
  }

  async forget(target: { connectionId: string }, rooms: readonly string[]): Promise<void> {
    this.forgotten.push({ connectionId: target.connectionId, rooms: [...rooms] });
    for (const room of rooms) {
      this.rooms[room] = (this.rooms[room] ?? []).filter((member) => member.connectionId !== target.connectionId);
    }
  }

  async *membersOf(room: string, options: RoomMembersOptions = {}): AsyncIterable<RoomMember[]> {
    this.reads.push({ room, options });
    const members = [...(this.rooms[room] ?? [])].sort((a, b) => a.connectionId.localeCompare(b.connectionId));
    const size = options.pageSize ?? 1000;
    for (let start = 0; start < members.length; start += size) {
      this.pagesServed++;
      yield members.slice(start, start + size);
    }
  }
}

class RecordingQueue implements SliceQueue {
  readonly sent: SliceMessage[] = [];
  async send(messages: readonly SliceMessage[]): Promise<void> {
    this.sent.push(...messages);
  }
}

function members(count: number, prefix = 'm'): RoomMember[] {
  return Array.from({ length: count }, (_, index) => ({
    userId: `user-${index % 7}`,
    connectionId: `${prefix}-${String(index).padStart(5, '0')}=`,
  }));
}

function fakes(rooms: Record<string, RoomMember[]>, extra: Partial<RoomDeliveryDependencies> = {}) {
  const registry = new MemoryRegistry();
  const memoryRooms = new MemoryRooms(rooms);
  const records: BroadcastRecord[] = [];
  const queue = new RecordingQueue();
  const metrics = { addMetric: jest.fn() };
  const deps: RoomDeliveryDependencies = {
    registry,
    managementClient,
    metrics,
    concurrency: 10,
    timeMarginMs: 2000,
    rooms: memoryRooms,
    syncMaxMembers: 5,
    fanOut: {
      state: { createBroadcast: async (record) => void records.push(record) },
      queue,
      segments: 4,
      newBroadcastId: () => 'b-room',
    },
    ...extra,
  };
  return { deps, registry, rooms: memoryRooms, records, queue, metrics };
}

function posted(): Array<{ connectionId: string; body: string }> {
  return management.commandCalls(PostToConnectionCommand).map((call) => ({
    connectionId: call.args[0].input.ConnectionId as string,
    body: Buffer.from(call.args[0].input.Data as Uint8Array).toString('utf8'),
  }));
}

beforeEach(() => {
  management.reset();
  management.on(PostToConnectionCommand).resolves({});
});

describe('deliverToRoom: a room within the synchronous bound', () => {
  it("posts every member once in its protocol, nobody else, and answers the room's counts", async () => {
    // Prepare
    const room = [
      { userId: 'alice', connectionId: 'a1=' },
      { userId: 'alice', connectionId: 'a2=', protocol: 'socket.io' as const },
      { userId: 'bob', connectionId: 'b1=' },
    ];
    const { deps, metrics } = fakes({ 'chat:42': room, other: [{ userId: 'carol', connectionId: 'c1=' }] });
    const envelope = createEnvelope('chat', { message: 'Hi all' }, { from: 'alice' });
    // Act
    const outcome = await deliverToRoom(deps, { room: 'chat:42', envelope });
    // Assess
    expect(outcome).toEqual({
      delivery: 'synchronous',
      room: 'chat:42',
      messageId: envelope.id,
      timestamp: envelope.timestamp,
      connections: { delivered: 3, failed: 0, stale: 0 },
    });
    const bodies = Object.fromEntries(posted().map(({ connectionId, body }) => [connectionId, body]));
    expect(Object.keys(bodies).sort()).toEqual(['a1=', 'a2=', 'b1=']);
    expect(JSON.parse(bodies['a1='])).toEqual(envelope);
    expect(bodies['a2=']).toBe(
      `42${JSON.stringify(['chat', envelope.data, { id: envelope.id, timestamp: envelope.timestamp, from: 'alice' }])}`,
    );
    expect(metrics.addMetric).toHaveBeenCalledWith(DeliveryMetric.delivered, 'Count', 3);
  });

  it('removes a member answered 410 from the registry (its own userId) and counts it stale, as every send does', async () => {
    const { deps, registry } = fakes({ r: [...members(2)] });
    await registry.register({ userId: 'user-1', connectionId: 'm-00001=' });
    management
      .on(PostToConnectionCommand, { ConnectionId: 'm-00001=' })
      .rejects(new GoneException({ message: 'Gone', $metadata: { httpStatusCode: 410 } }));

    const outcome = await deliverToRoom(deps, { room: 'r', envelope: createEnvelope('chat', {}) });

    expect(outcome).toMatchObject({ connections: { delivered: 1, stale: 1, failed: 0 } });
    expect(registry.removed).toEqual([{ userId: 'user-1', connectionId: 'm-00001=' }]);
  });

  it('answers an empty room with zero counts, not an error', async () => {
    const { deps } = fakes({});

    const outcome = await deliverToRoom(deps, { room: 'nobody-here', envelope: createEnvelope('chat', {}) });

    expect(outcome).toMatchObject({ delivery: 'synchronous', connections: { delivered: 0, failed: 0, stale: 0 } });
    expect(posted()).toEqual([]);
  });

  it('reads the room with a Limit one above the bound, so a room that fits is one request', async () => {
    const { deps, rooms } = fakes({ r: members(5) });

    await deliverToRoom(deps, { room: 'r', envelope: createEnvelope('chat', {}) });

    expect(rooms.reads).toEqual([{ room: 'r', options: { pageSize: 6 } }]);
    expect(rooms.pagesServed).toBe(1);
    expect(posted()).toHaveLength(5);
  });

  it('refuses an envelope over 128 KB before reading the room', async () => {
    const { deps, rooms } = fakes({ r: members(2) });
    const huge = createEnvelope('chat', { blob: 'x'.repeat(130 * 1024) });

    await expect(deliverToRoom(deps, { room: 'r', envelope: huge })).rejects.toThrow(PayloadTooLargeError);
    expect(rooms.reads).toEqual([]);
  });
});

describe('deliverToRoom: a room beyond the bound, or async asked', () => {
  it('posts nothing and queues one room slice (segment 0 of 1) after recording the fan-out with its room', async () => {
    // Prepare: 6 live members, one more than the bound of 5
    const { deps, records, queue, rooms } = fakes({ big: members(6) });
    const envelope = createEnvelope('news', { n: 1 }, { from: 'editor' });
    // Act
    const outcome = await deliverToRoom(deps, { room: 'big', envelope });
    // Assess
    expect(outcome).toEqual({
      delivery: 'asynchronous',
      room: 'big',
      broadcastId: 'b-room',
      messageId: envelope.id,
      timestamp: envelope.timestamp,
      state: 'queued',
      slices: 1,
    });
    expect(posted()).toEqual([]);
    expect(records).toEqual([
      expect.objectContaining({ broadcastId: 'b-room', room: 'big', slices: 1, type: 'news', from: 'editor' }),
    ]);
    expect(queue.sent).toEqual([
      {
        broadcastId: 'b-room',
        segment: 0,
        totalSegments: 1,
        room: 'big',
        envelope: JSON.stringify(envelope),
        type: 'news',
        continuation: 0,
      },
    ]);
    // The decision took the first page only.
    expect(rooms.pagesServed).toBe(1);
  });

  it('goes to the fan-out for async: true without reading the room', async () => {
    const { deps, queue, rooms } = fakes({ small: members(1) });

    const outcome = await deliverToRoom(deps, { room: 'small', envelope: createEnvelope('chat', {}), async: true });

    expect(outcome.delivery).toBe('asynchronous');
    expect(queue.sent).toHaveLength(1);
    expect(rooms.reads).toEqual([]);
    expect(posted()).toEqual([]);
  });

  it('sends every room through the fan-out with a bound of 0', async () => {
    const { deps, queue } = fakes({ one: members(1) }, { syncMaxMembers: 0 });

    const outcome = await deliverToRoom(deps, { room: 'one', envelope: createEnvelope('chat', {}) });

    expect(outcome.delivery).toBe('asynchronous');
    expect(queue.sent).toHaveLength(1);
  });

  it('throws RoomFanOutUnavailableError, posting nothing, when a large room meets a caller without the fan-out', async () => {
    const { deps } = fakes({ big: members(6) }, { fanOut: undefined });

    await expect(deliverToRoom(deps, { room: 'big', envelope: createEnvelope('chat', {}) })).rejects.toBeInstanceOf(
      RoomFanOutUnavailableError,
    );
    expect(posted()).toEqual([]);
  });
});

describe('readRoomSyncMaxMembers', () => {
  it('defaults to 1,000 and names the setting when out of range', () => {
    expect(readRoomSyncMaxMembers({})).toBe(DEFAULT_ROOM_SYNC_MAX_MEMBERS);
    expect(readRoomSyncMaxMembers({ ROOM_SYNC_MAX_MEMBERS: '0' })).toBe(0);
    expect(() => readRoomSyncMaxMembers({ ROOM_SYNC_MAX_MEMBERS: '10001' })).toThrow(/ROOM_SYNC_MAX_MEMBERS/);
  });
});

describe('the server library: sendToRoom and to(room).emit', () => {
  function service(rooms: Record<string, RoomMember[]>) {
    const { deps, queue, rooms: memoryRooms } = fakes(rooms);
    return {
      queue,
      service: new WebSocketService({
        registry: deps.registry,
        managementClient,
        rooms: memoryRooms,
        roomSyncMaxMembers: 5,
        fanOut: { state: { ...deps.fanOut!.state, readStatus: async () => undefined }, queue, segments: 4 },
      }),
    };
  }

  it("to(room).emit posts the room's members with the sender as from", async () => {
    const { service: library } = service({ 'chat:42': members(2) });

    const outcome = await library.to('chat:42').emit('chat', { message: 'Hi' }, { from: 'user123' });

    expect(outcome).toMatchObject({ delivery: 'synchronous', connections: { delivered: 2 } });
    expect(posted().map(({ body }) => JSON.parse(body))).toEqual([
      expect.objectContaining({ type: 'chat', data: { message: 'Hi' }, from: 'user123' }),
      expect.objectContaining({ type: 'chat', data: { message: 'Hi' }, from: 'user123' }),
    ]);
  });

  it('sends a room beyond roomSyncMaxMembers, or with async, through the fan-out', async () => {
    const { service: library, queue } = service({ big: members(6), small: members(1) });

    const big = await library.sendToRoom('big', 'news', {});
    const asked = await library.to('small').emit('news', {}, { async: true });

    expect([big.delivery, asked.delivery]).toEqual(['asynchronous', 'asynchronous']);
    expect(queue.sent.map((message) => message.room)).toEqual(['big', 'small']);
  });

  it('refuses a bad room name or type with a ValidationError before reading anything', async () => {
    const { service: library } = service({});

    await expect(library.to('chat 42').emit('chat', {})).rejects.toMatchObject({ code: 'invalid_room' });
    await expect(library.sendToRoom('chat', 'error', {})).rejects.toBeInstanceOf(ValidationError);
    expect(posted()).toEqual([]);
  });

  it('throws naming the option when built without the room index', async () => {
    const library = new WebSocketService({ registry: new MemoryRegistry(), managementClient });

    await expect(library.to('chat').emit('chat', {})).rejects.toThrow(/rooms option/);
  });
});
