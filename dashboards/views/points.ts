// The tables of every point (all config fields and summary figures, memory and energy, sortable and
// filterable on the page) and of the points that failed, ran out of memory or were dropped from the sweep.
import type { Point, Results } from '../../src/results/schema.js';
import type { PointExtras } from '../point-extras.js';
import { numberCell, textCell } from './common.js';
import { decodeStrategy, pointLabel } from './labels.js';
import type { Cell, Table } from './types.js';

export function pointsTable(results: Results, extras: PointExtras[]): Table {
  const columns = [
    'status', 'path', 'variant', 'precision', 'batch', 'beam', 'seq', 'sampling', 'layers', 'heads×size', 'inter',
    'vocab', 'median ms', 'p10 ms', 'p90 ms', 'noise %', 'samples', 'host ms', 'tokens/s', 'TFLOP/s', 'GB/s',
    'peak MiB', 'J/unit', 'J/token', 'mean W', 'why no memory / energy', 'correct', 'max rel err', 'key',
  ];
  const rows = results.points.map((point, index): Cell[] => {
    const { config, summary } = point;
    const sampling = config.path === 'encoder' || !(config.top_k > 0 || config.top_p > 0) ? '–' : decodeStrategy(config);
    return [
      textCell(point.status),
      textCell(config.path),
      textCell(config.variant),
      textCell(config.precision),
      numberCell(config.batch),
      numberCell(config.beam),
      numberCell(config.seq),
      textCell(sampling),
      numberCell(config.layers),
      { display: `${config.heads}×${config.head_size}`, sort: config.heads * config.head_size },
      numberCell(config.inter_size),
      numberCell(config.vocab),
      numberCell(summary?.gpu_ms_median),
      numberCell(summary?.gpu_ms_p10),
      numberCell(summary?.gpu_ms_p90),
      numberCell(summary?.noise_pct),
      numberCell(summary?.samples),
      numberCell(summary?.host_ms_median),
      numberCell(summary?.tokens_per_s),
      numberCell(summary?.tflops),
      numberCell(extras[index]?.gbps),
      ...resourceCells(point),
      textCell(point.correct === null ? '–' : point.correct ? 'yes' : 'NO'),
      numberCell(point.max_rel_err),
      textCell(point.key),
    ];
  });
  return { columns, rows };
}

/** Peak memory (MiB), joules per unit and per token, mean watts; then why any of them is absent. */
function resourceCells(point: Point): Cell[] {
  const { memory, energy } = point;
  const absent = numberCell(null);
  const reasons = [memory && 'reason' in memory ? memory.reason : '', energy && 'reason' in energy ? energy.reason : ''];
  return [
    memory && 'peak_bytes' in memory ? numberCell(memory.peak_bytes / 2 ** 20) : absent,
    ...(energy && !('reason' in energy)
      ? [numberCell(energy.joules_per_unit), numberCell(energy.joules_per_token), numberCell(energy.mean_w)]
      : [absent, absent, absent]),
    textCell([...new Set(reasons.filter(Boolean))].join('; ')),
  ];
}

export function failuresTable(results: Results): Table | null {
  const rows: Cell[][] = results.points
    .filter((point) => point.status !== 'ok')
    .map((point) => [textCell(point.status), textCell(pointLabel(point.config)), textCell(point.error ?? '(no message recorded)')]);
  for (const dropped of results.dropped) {
    const config = Object.entries(dropped.config)
      .map(([key, value]) => `${key}=${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
      .join(' ');
    rows.push([textCell('dropped'), textCell(config), textCell(dropped.reason)]);
  }
  return rows.length === 0 ? null : { columns: ['status', 'point', 'error / reason'], rows };
}
