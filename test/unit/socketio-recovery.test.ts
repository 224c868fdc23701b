import type { ReplayGap, ReplayRequest } from '../../lambdas/core/message-log';
import type { RoomRecord } from '../../lambdas/core/room-log';
import { recoverSocketIoSession, type SocketIoRecoveryDependencies } from '../../lambdas/core/socketio-recovery';

// Unit test: the log, the registry and the rooms are stand-ins that record what the recovery asked and in which order
// (the log's reads against dynalite are in test/integration, the whole recovery end to end in test/e2e).

const pid = '1764255600000-0000-aaaaaa';
const offset = '1764255600500-0000-bbbbbb';
const since = '1764255000000-0000-000000';

function harness(options: { gaps?: ReplayGap[]; refused?: string[] } = {}) {
  const order: string[] = [];
  const replays: ReplayRequest[] = [];
  const joined: Array<{ room: string; session?: string }> = [];
  const handedOver: Array<{ rooms: readonly string[]; liveAfter: string }> = [];
  const records: RoomRecord[] = [
    { room: 'game:1', since, sessions: [pid] },
    { room: 'game:2', since, sessions: [pid] },
    { room: 'other-tab', since, sessions: ['1764255600000-0000-cccccc'] },
  ];
  const deps: SocketIoRecoveryDependencies = {
    log: {
      config: { pageMessages: 100 } as SocketIoRecoveryDependencies['log']['config'],
      readReplay: async (request) => {
        order.push('read');
        replays.push(request);
        return { messages: [], gaps: replays.length === 1 ? (options.gaps ?? []) : [], windowMs: 0 };
      },
      readRange: async () => ({ messages: [], more: false }),
      confirmOffline: async () => undefined,
    },
    registry: { finishReplay: async () => true },
    post: async () => undefined,
    maxMessages: 1000,
    newPid: () => 'new-pid',
    rooms: {
      log: {
        roomsOf: async () => records,
        joined: async (_userId, room, { session }) => void joined.push({ room, session }),
      },
      rejoin: async (rooms) => {
        order.push(`rejoin ${rooms.join(',')}`);
        return rooms.filter((room) => !options.refused?.includes(room));
      },
      finishReplay: async (rooms, handoff) => void handedOver.push({ rooms, liveAfter: handoff.liveAfter }),
    },
  };
  return { deps, order, replays, joined, handedOver };
}

describe('a recovered CONNECT restores its session rooms', () => {
  it("joins the session's rooms before the replay reads them, reads them from the join, and hands them over", async () => {
    // Prepare
    const { deps, order, replays, handedOver, joined } = harness({ refused: ['game:2'] });
    // Act
    const recovery = await recoverSocketIoSession(deps, { userId: 'uma', connectionId: 'c2', auth: { pid, offset } });
    // Assess: only the rooms naming this pid, the refused one left out of the replay too.
    expect(order[0]).toBe('rejoin game:1,game:2');
    expect(order[1]).toBe('read');
    expect(replays[0].streams).toEqual(['user#uma', 'broadcast', 'room#game:1']);
    expect(replays[0].since).toEqual(new Map([['room#game:1', since]]));
    expect(recovery).toMatchObject({ pid, recovered: true, rooms: ['game:1'] });
    expect(handedOver).toEqual([{ rooms: ['game:1'], liveAfter: offset }]);
    expect(joined).toEqual([]);
  });

  it('a CONNECT that could not recover whole keeps the rooms and records them under its new pid', async () => {
    // Prepare
    const { deps, joined } = harness({ gaps: [{ reason: 'retention', stream: 'user#uma', after: offset }] });
    // Act
    const recovery = await recoverSocketIoSession(deps, { userId: 'uma', connectionId: 'c3', auth: { pid, offset } });
    // Assess
    expect(recovery).toMatchObject({ pid: 'new-pid', recovered: false, rooms: ['game:1', 'game:2'] });
    expect(joined).toEqual([
      { room: 'game:1', session: 'new-pid' },
      { room: 'game:2', session: 'new-pid' },
    ]);
  });

  it('a first CONNECT (no pid) restores nothing', async () => {
    // Prepare
    const { deps, order } = harness();
    // Act
    const recovery = await recoverSocketIoSession(deps, { userId: 'uma', connectionId: 'c1' });
    // Assess
    expect(order).toEqual(['read']);
    expect(recovery.rooms).toEqual([]);
  });
});
