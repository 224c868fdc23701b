import { createLogIdGenerator, isLogId, LOG_ID_PATTERN, logIdFloor, logIdTime } from '../../lambdas/core/log-id';

describe('log ids', () => {
  it('are fixed width, sortable as strings, and carry their millisecond', () => {
    const ids = createLogIdGenerator(() => 1_764_255_600_000);
    const id = ids.next();
    expect(id).toMatch(LOG_ID_PATTERN);
    expect(logIdTime(id)).toBe(1_764_255_600_000);
    expect(logIdFloor(1_764_255_600_000) <= id).toBe(true);
    expect(logIdFloor(1_764_255_600_001) > id).toBe(true);
  });

  it('strictly increase within a process, in the same millisecond and when the clock steps back', () => {
    // Prepare: a clock that stays, then steps back 5 ms, then moves on.
    const times = [1000, 1000, 1000, 995, 995, 1001];
    const ids = createLogIdGenerator(() => times.shift() ?? 1001);
    // Act
    const minted = Array.from({ length: 6 }, () => ids.next());
    // Assess
    expect([...minted].sort()).toEqual(minted);
    expect(new Set(minted).size).toBe(6);
    expect(minted.slice(0, 5).map(logIdTime)).toEqual([1000, 1000, 1000, 1000, 1000]);
    expect(logIdTime(minted[5])).toBe(1001);
  });

  it('borrow the next millisecond rather than wrap after 65,536 ids in one', () => {
    const ids = createLogIdGenerator(() => 5000);
    let previous = ids.next();
    for (let n = 1; n <= 0x10000; n++) {
      const next = ids.next();
      expect(next > previous).toBe(true);
      previous = next;
    }
    expect(logIdTime(previous)).toBe(5001);
  });

  it('recognise only their own shape', () => {
    expect(isLogId('1764255600000-0000-a3f91c')).toBe(true);
    expect(isLogId('1764255600000-0000-A3F91C')).toBe(false);
    expect(isLogId('abc')).toBe(false);
    expect(isLogId(42)).toBe(false);
  });
});
