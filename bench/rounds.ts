import { isSaturated, type Measurement, type RowDefinition, rows, type SystemMeasurements } from './report';
import { median, percentile, sumCpuWindows } from './stats';

/**
 * The benchmark runs each system several times, alternating them, because the machine is shared and its load
 * drifts: one round can be slowed by someone else's test run. This module folds the rounds into one figure per
 * scenario: raw samples are pooled (latencies, broadcast times) and percentiles taken over the pool; a figure
 * without samples (a connect rate) takes the median of the rounds. A round whose load generator saturated is
 * left out, unless every round saturated, in which case the figure stays, marked as not a result.
 */

function hasFigure(measurement: Measurement | undefined): measurement is Measurement & { value: number } {
  return measurement?.value !== undefined && Number.isFinite(measurement.value);
}

function combineRow(row: RowDefinition, perRound: readonly (Measurement | undefined)[]): Measurement | undefined {
  if (perRound.every((measurement) => measurement === undefined)) return undefined;
  const withFigure = perRound.filter(hasFigure);
  const unsaturated = withFigure.filter((measurement) => !isSaturated(measurement));
  const counted = unsaturated.length > 0 ? unsaturated : withFigure;

  let value: number | undefined;
  let samples: number[] | undefined;
  if (counted.length > 0) {
    if (row.combination.kind === 'percentileOfSamples') {
      samples = counted.flatMap((measurement) => measurement.samples ?? []);
      value = percentile(samples, row.combination.percent);
    } else {
      value = median(counted.map((measurement) => measurement.value));
    }
  }

  const label = (index: number) => `round ${index + 1}`;
  const problems = perRound.flatMap((measurement, index) =>
    measurement?.problem ? [`${label(index)}: ${measurement.problem}`] : [],
  );
  // A saturated round is not the system's problem: it is said beside that round's figure, not as a problem.
  const details = perRound.flatMap((measurement, index) => {
    if (!measurement) return [];
    const figure = hasFigure(measurement) ? measurement.value.toFixed(row.digits) : 'no figure';
    const how = measurement.detail ? ` (${measurement.detail})` : '';
    const leftOut =
      unsaturated.length > 0 && hasFigure(measurement) && isSaturated(measurement)
        ? ` **left out: generator saturated (${measurement.generatorCpu?.percentOfOneCore.toFixed(0)}% of a core)**`
        : '';
    return [`${label(index)}: ${figure} ${row.unit}${how}${leftOut}`];
  });

  return {
    value,
    samples,
    generatorCpu: sumCpuWindows(counted.length > 0 ? counted.map((m) => m.generatorCpu) : []),
    systemCpu: sumCpuWindows(counted.length > 0 ? counted.map((m) => m.systemCpu) : []),
    problem: problems.length > 0 ? problems.join('\n') : undefined,
    detail: details.join('\n'),
  };
}

/**
 * Folds the rounds of one system into one set of figures.
 *
 * @example
 * const local = combineRounds([round1.local, round2.local, round3.local]);
 */
export function combineRounds(rounds: readonly SystemMeasurements[]): SystemMeasurements {
  const combined: SystemMeasurements = { rows: {}, notes: [] };
  for (const row of rows) {
    const measurement = combineRow(
      row,
      rounds.map((round) => round.rows[row.id]),
    );
    if (measurement) combined.rows[row.id] = measurement;
  }
  rounds.forEach((round, index) => {
    for (const note of round.notes) combined.notes.push(`round ${index + 1}: ${note}`);
    if (round.failure) combined.notes.push(`round ${index + 1}: **could not be benchmarked**: ${round.failure}`);
  });
  if (rounds.length > 0 && rounds.every((round) => round.failure)) combined.failure = rounds[0].failure;
  return combined;
}
