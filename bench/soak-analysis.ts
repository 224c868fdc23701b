import { percentile } from './stats';

/**
 * The soak's figures and its verdict, as pure functions of what was recorded, so they can be tested apart from a
 * ten-minute run. "Grows without bound" is decided by a least-squares line through the samples taken after the
 * warm-up: a slope above the stated limit, and more than two standard errors above zero (so that the scatter of a
 * shared machine's p99 alone cannot make it), is growth; otherwise the figure is flat.
 */

/** What the runner records at each sample: the stack's process and the clients' side of the same moment. */
export interface SoakPoint {
  /** Minutes since the load started. */
  minute: number;
  rssMb: number;
  heapMb: number;
  openConnections: number;
  registryRows: number;
  /** Sockets the load generator holds open at that moment. */
  clientsOpen: number;
  /** The machine's 1-minute load average: the machine is shared, and latency follows it. */
  loadAverage?: number;
}

/** One send → receive measurement. */
export interface SendOutcome {
  /** Minutes since the load started, at the send. */
  minute: number;
  /** Undefined: not received within the timeout (or the send failed). */
  latencyMs?: number;
  /** A broadcast was being sent while this send was in flight (the one-process stack serves them in turn). */
  besideBroadcast?: boolean;
}

/** Counters per minute that are not latency samples. */
export interface MinuteCounters {
  reconnects: number;
  dropsWithoutClose: number;
  failedConnects: number;
  broadcasts: number;
  /** Broadcast envelopes received / expected (clients open when each broadcast was sent). */
  broadcastReceived: number;
  broadcastExpected: number;
}

export interface MinuteRow extends MinuteCounters {
  minute: number;
  rssMb: number;
  heapMb: number;
  openConnections: number;
  registryRows: number;
  clientsOpen: number;
  loadAverage?: number;
  sends: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  /** p99 of the sends no broadcast overlapped. */
  p99AwayFromBroadcastsMs: number;
}

/** A limit a slope is held to, in the figure's unit per minute. */
export interface GrowthRule {
  figure: string;
  unit: string;
  /** Above this slope (unit per minute) the figure grows. */
  maxSlopePerMinute: number;
  why: string;
}

export interface GrowthFinding extends GrowthRule {
  slopePerMinute: number;
  /** Standard error of the slope ({@link slopeStandardError}). */
  standardError: number;
  first: number;
  last: number;
  grows: boolean;
}

/**
 * The least-squares slope of `y` over `x`; 0 with fewer than two distinct x.
 *
 * @example
 * slope([0, 1, 2], [1, 3, 5]); // 2
 */
export function slope(x: readonly number[], y: readonly number[]): number {
  const n = Math.min(x.length, y.length);
  if (n < 2) return 0;
  const meanX = x.slice(0, n).reduce((sum, value) => sum + value, 0) / n;
  const meanY = y.slice(0, n).reduce((sum, value) => sum + value, 0) / n;
  let covariance = 0;
  let variance = 0;
  for (let index = 0; index < n; index++) {
    covariance += (x[index] - meanX) * (y[index] - meanY);
    variance += (x[index] - meanX) ** 2;
  }
  return variance === 0 ? 0 : covariance / variance;
}

/**
 * The standard error of the least-squares slope of `y` over `x`: how far the slope could be from the true one under
 * the scatter seen around the line. NaN with fewer than three points.
 *
 * @example
 * slopeStandardError([0, 1, 2, 3], [0, 2, 1, 3]); // ≈ 0.424 (slope 0.8)
 */
export function slopeStandardError(x: readonly number[], y: readonly number[]): number {
  const n = Math.min(x.length, y.length);
  if (n < 3) return Number.NaN;
  const b = slope(x, y);
  const meanX = x.slice(0, n).reduce((sum, value) => sum + value, 0) / n;
  const meanY = y.slice(0, n).reduce((sum, value) => sum + value, 0) / n;
  let squaredResiduals = 0;
  let variance = 0;
  for (let index = 0; index < n; index++) {
    squaredResiduals += (y[index] - (meanY + b * (x[index] - meanX))) ** 2;
    variance += (x[index] - meanX) ** 2;
  }
  return variance === 0 ? Number.NaN : Math.sqrt(squaredResiduals / (n - 2) / variance);
}

/**
 * One row per whole minute of load: the last sample of the minute for memory and counts, the sends made in it
 * for latency (p50/p99 of those received; lost ones are counted, not timed).
 *
 * @example
 * const rows = minuteRows(points, sends, counters); // rows[0].minute === 1
 */
export function minuteRows(
  points: readonly SoakPoint[],
  sends: readonly SendOutcome[],
  counters: ReadonlyMap<number, MinuteCounters>,
): MinuteRow[] {
  const lastMinute = Math.floor(Math.max(0, ...points.map((point) => point.minute)));
  const rows: MinuteRow[] = [];
  for (let minute = 1; minute <= lastMinute; minute++) {
    const inMinute = points.filter((point) => point.minute > minute - 1 && point.minute <= minute);
    const last = inMinute.at(-1);
    if (!last) continue;
    const minuteSends = sends.filter((send) => send.minute > minute - 1 && send.minute <= minute);
    const latencies = minuteSends.flatMap((send) => (send.latencyMs === undefined ? [] : [send.latencyMs]));
    const away = minuteSends.flatMap((send) =>
      send.latencyMs === undefined || send.besideBroadcast ? [] : [send.latencyMs],
    );
    const counted = counters.get(minute) ?? emptyCounters();
    rows.push({
      minute,
      rssMb: last.rssMb,
      heapMb: last.heapMb,
      openConnections: last.openConnections,
      registryRows: last.registryRows,
      clientsOpen: last.clientsOpen,
      loadAverage: last.loadAverage,
      sends: minuteSends.length,
      lost: minuteSends.length - latencies.length,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      p99AwayFromBroadcastsMs: percentile(away, 99),
      ...counted,
    });
  }
  return rows;
}

export function emptyCounters(): MinuteCounters {
  return {
    reconnects: 0,
    dropsWithoutClose: 0,
    failedConnects: 0,
    broadcasts: 0,
    broadcastReceived: 0,
    broadcastExpected: 0,
  };
}

/**
 * The rules the soak's verdict applies. Heap is measured after a full collection, so its line is what the process
 * keeps; the registry's excess over the open sockets is what stale rows would add up to.
 */
export const growthRules = {
  heap: {
    figure: 'heap after GC',
    unit: 'MB',
    maxSlopePerMinute: 0.5,
    why: '0.5 MB/min is 30 MB an hour, more than any bounded cache of this stack would add once warm',
  },
  rss: {
    figure: 'RSS',
    unit: 'MB',
    maxSlopePerMinute: 2,
    why: 'RSS follows the heap with the allocator’s slack; 2 MB/min (120 MB an hour) would exhaust a small host',
  },
  registryExcess: {
    figure: 'registry rows − open sockets',
    unit: 'rows',
    maxSlopePerMinute: 1,
    why: 'rows that outlive their socket and accumulate; churn in flight makes the difference move, not trend',
  },
  p99: {
    figure: 'send → receive p99 per minute',
    unit: 'ms',
    maxSlopePerMinute: 1,
    why: 'a p99 that climbs a millisecond a minute doubles within the hour at this stack’s figures',
  },
} as const satisfies Record<string, GrowthRule>;

/**
 * Fits each figure after `warmupMinutes` and says whether it grows.
 *
 * @example
 * const findings = growthFindings(points, rows, 2);
 * findings.filter((finding) => finding.grows); // what grows, if anything
 */
export function growthFindings(
  points: readonly SoakPoint[],
  rows: readonly MinuteRow[],
  warmupMinutes: number,
): GrowthFinding[] {
  const measured = points.filter((point) => point.minute >= warmupMinutes);
  const minutes = measured.map((point) => point.minute);
  const measuredRows = rows.filter((row) => row.minute > warmupMinutes && Number.isFinite(row.p99Ms));
  const finding = (rule: GrowthRule, x: readonly number[], y: readonly number[]): GrowthFinding => {
    const slopePerMinute = slope(x, y);
    const standardError = slopeStandardError(x, y);
    return {
      ...rule,
      slopePerMinute,
      standardError,
      first: y[0] ?? Number.NaN,
      last: y.at(-1) ?? Number.NaN,
      // Growth: a slope above the limit that the scatter cannot explain (more than two standard errors above 0).
      grows:
        slopePerMinute > rule.maxSlopePerMinute &&
        !(Number.isFinite(standardError) && slopePerMinute <= 2 * standardError),
    };
  };
  return [
    finding(
      growthRules.heap,
      minutes,
      measured.map((point) => point.heapMb),
    ),
    finding(
      growthRules.rss,
      minutes,
      measured.map((point) => point.rssMb),
    ),
    finding(
      growthRules.registryExcess,
      minutes,
      measured.map((point) => point.registryRows - point.openConnections),
    ),
    finding(
      growthRules.p99,
      measuredRows.map((row) => row.minute),
      measuredRows.map((row) => row.p99Ms),
    ),
  ];
}
