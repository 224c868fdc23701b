import { comparisonRows } from '../../bench/charts';
import { growthFindings, minuteRows, type SoakPoint, slope, slopeStandardError } from '../../bench/soak-analysis';

const point = (minute: number, heapMb: number, registryRows = 100, openConnections = 100): SoakPoint => ({
  minute,
  rssMb: 150,
  heapMb,
  registryRows,
  openConnections,
  clientsOpen: openConnections,
});

describe('soak analysis', () => {
  it('fits the least-squares slope', () => {
    expect(slope([0, 1, 2, 3], [1, 3, 5, 7])).toBe(2);
    expect(slope([1, 2, 3], [4, 4, 4])).toBe(0);
    expect(slope([1], [4])).toBe(0);
    expect(slopeStandardError([0, 1, 2, 3], [0, 2, 1, 3])).toBeCloseTo(Math.sqrt(0.18), 6);
    expect(slopeStandardError([0, 1], [0, 1])).toBeNaN();
  });

  it('calls a heap that climbs 1 MB a minute after the warm-up growing, and a flat one flat', () => {
    // GIVEN a warm-up climb then either a steady climb or a plateau, sampled every 10 s
    const minutes = Array.from({ length: 60 }, (_, index) => (index + 1) / 6);
    const climbing = minutes.map((minute) => point(minute, 30 + minute));
    const flat = minutes.map((minute) => point(minute, minute < 2 ? 30 + minute * 5 : 40 + Math.sin(minute)));
    // WHEN / THEN
    const heapOf = (points: SoakPoint[]) =>
      growthFindings(points, minuteRows(points, [], new Map()), 2).find(
        (finding) => finding.figure === 'heap after GC',
      );
    expect(heapOf(climbing)).toMatchObject({ grows: true, slopePerMinute: expect.closeTo(1, 5) });
    expect(heapOf(flat)).toMatchObject({ grows: false });
  });

  it('does not call a scatter growth: a p99 that jumps around with no trend the scatter cannot explain is flat', () => {
    // GIVEN per-minute p99s of a shared machine: 200 to 700 ms, with a last minute high by chance
    const p99s = [612, 224, 416, 288, 491, 730, 417, 390, 250, 690];
    const rows = p99s.map((p99Ms, index) => ({ ...minuteRows([point(index + 3, 40)], [], new Map())[0], p99Ms }));
    // WHEN / THEN: its slope passes the 1 ms/min limit but stays within two standard errors of 0
    const finding = growthFindings([], rows, 2).find((item) => item.figure === 'send → receive p99 per minute');
    expect(finding?.slopePerMinute).toBeGreaterThan(1);
    expect(finding?.grows).toBe(false);
  });

  it('calls registry rows that outlive their sockets growing', () => {
    const minutes = Array.from({ length: 60 }, (_, index) => (index + 1) / 6);
    const leaking = minutes.map((minute) => point(minute, 40, 100 + Math.floor(minute * 5), 100));
    const finding = growthFindings(leaking, [], 2).find((item) => item.figure === 'registry rows − open sockets');
    expect(finding?.grows).toBe(true);
  });

  it('puts sends in their minute, times only the received ones and counts the lost', () => {
    const points = [point(0.5, 30), point(1, 31), point(1.5, 32), point(2, 33)];
    const sends = [
      { minute: 0.2, latencyMs: 4 },
      { minute: 0.4, latencyMs: 6 },
      { minute: 0.9 },
      { minute: 1.2, latencyMs: 9 },
    ];
    const rows = minuteRows(points, sends, new Map());
    expect(
      rows.map(({ minute, heapMb, sends: made, lost, p50Ms, p99Ms }) => ({ minute, heapMb, made, lost, p50Ms, p99Ms })),
    ).toEqual([
      { minute: 1, heapMb: 31, made: 3, lost: 1, p50Ms: 4, p99Ms: 6 },
      { minute: 2, heapMb: 33, made: 1, lost: 0, p50Ms: 9, p99Ms: 9 },
    ]);
  });
});

describe('bench charts: the comparison table', () => {
  it("reads both systems' figures and units, leaving a missing figure out", () => {
    const markdown = [
      '# Benchmark',
      '',
      '| scenario | local stack | reference | ratio | generator CPU |',
      '| --- | --- | --- | --- | --- |',
      '| connect rate, 1,000 clients | 1,102 clients/s | 2,205 clients/s | 0.50× | 18% / 55% |',
      '| HTTP send → receive: p50 | 2.0 ms | ~~0.8 ms~~ generator saturated | – | 28% / 95% |',
      '',
      'text',
    ].join('\n');
    expect(comparisonRows(markdown)).toEqual([
      { scenario: 'connect rate, 1,000 clients', unit: 'clients/s', local: 1102, reference: 2205 },
      { scenario: 'HTTP send → receive: p50', unit: 'ms', local: 2, reference: undefined },
    ]);
  });
});
