import type { CpuWindow } from './protocol';

/**
 * Small statistics for benchmark figures. Percentiles use the nearest-rank method: the reported value is one
 * that was actually measured, which is what a p99 over 200 samples can honestly claim.
 */

/**
 * The nearest-rank percentile of `values` (0 gives the least, 100 the greatest); NaN for no values.
 *
 * @example
 * percentile([5, 1, 3, 2, 4], 50); // 3
 */
export function percentile(values: readonly number[], percent: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((percent / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * The median (mean of the two middle values for an even count); NaN for no values.
 *
 * @example
 * median([3, 1, 2]); // 2
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Several CPU windows as one: total CPU over total wall time; undefined for none.
 *
 * @example
 * sumCpuWindows([{ cpuMs: 50, wallMs: 100, percentOfOneCore: 50 }, { cpuMs: 0, wallMs: 100, percentOfOneCore: 0 }]);
 * // { cpuMs: 50, wallMs: 200, percentOfOneCore: 25 }
 */
export function sumCpuWindows(windows: readonly (CpuWindow | undefined)[]): CpuWindow | undefined {
  const present = windows.filter((window): window is CpuWindow => window !== undefined);
  if (present.length === 0) return undefined;
  const cpuMs = present.reduce((sum, window) => sum + window.cpuMs, 0);
  const wallMs = present.reduce((sum, window) => sum + window.wallMs, 0);
  return { cpuMs, wallMs, percentOfOneCore: wallMs > 0 ? (cpuMs / wallMs) * 100 : 0 };
}
