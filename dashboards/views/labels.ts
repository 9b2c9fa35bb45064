// How the dashboard names a point: the core's one-line label and decode strategy (src/engine/config.ts,
// the progress lines' too) and the numbering that keeps repeated labels apart on a chart.
export { decodeStrategy, pointLabel } from '../../src/engine/config.js';

/** Makes labels unique by numbering repeats ("x", "x (2)"), so plotly categories never merge. */
export function uniqueLabels(labels: string[]): string[] {
  const seen = new Map<string, number>();
  return labels.map((label) => {
    const count = (seen.get(label) ?? 0) + 1;
    seen.set(label, count);
    return count === 1 ? label : `${label} (${count})`;
  });
}
