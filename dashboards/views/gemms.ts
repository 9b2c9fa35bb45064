// The GEMMs the points ran: one row per distinct GEMM and precision with the algorithm chosen, its
// source and its share of the measured peak (the table: all of them, filterable), and a chart of
// heuristic against tuned TFLOP/s of the GEMMs that take the most time (a run has hundreds of shapes:
// their labels would overlap).
import type { PrecisionName } from '../../src/engine/config.js';
import type { GemmRecord } from '../point-extras.js';
import { formatOptional, numberCell, plotlyText, textCell, type MeasuredPoint } from './common.js';
import type { Peaks } from './header.js';
import { uniqueLabels } from './labels.js';
import type { Chart, Table, Trace } from './types.js';

const gemmFlop = (gemm: GemmRecord): number => 2 * gemm.m * gemm.n * gemm.k * gemm.batch_count;
const tflopsAt = (gemm: GemmRecord, ms: number | null): number | null => (ms === null ? null : gemmFlop(gemm) / (ms * 1e9));

/** The time of the algorithm the point ran: the tuned one when the source says so. */
const chosenMs = (gemm: GemmRecord): number | null =>
  gemm.source === 'tuned' ? (gemm.tuned_ms ?? gemm.heuristic_ms) : (gemm.heuristic_ms ?? gemm.tuned_ms);

function gemmShape(gemm: GemmRecord): string {
  return `${gemm.role} ${gemm.m}×${gemm.n}×${gemm.k}${gemm.batch_count > 1 ? ` ×${gemm.batch_count}` : ''} ${gemm.dtype}`;
}

/** A distinct GEMM at one precision, and how many points ran it. */
interface GemmUse {
  gemm: GemmRecord;
  precision: PrecisionName;
  points: number;
}

/** The distinct GEMMs of the points, by role, then size, then precision. */
function gemmUses(points: MeasuredPoint[]): GemmUse[] {
  const uses = new Map<string, GemmUse>();
  for (const point of points) {
    for (const gemm of point.extras.gemms) {
      const key = JSON.stringify([gemm, point.config.precision]);
      const use = uses.get(key);
      if (use) use.points++;
      else uses.set(key, { gemm, precision: point.config.precision, points: 1 });
    }
  }
  return [...uses.values()].sort(
    (a, b) => a.gemm.role.localeCompare(b.gemm.role) || gemmFlop(a.gemm) - gemmFlop(b.gemm) || a.precision.localeCompare(b.precision),
  );
}

function gemmTable(rows: GemmUse[], peaks: Peaks): Table {
  return {
    columns: ['role', 'm×n×k', 'batch count', 'dtype', 'precision', 'algorithm', 'source', 'time ms', 'TFLOP/s', '% of peak', 'heuristic ms', 'tuned ms', 'tuned speedup', 'points'],
    rows: rows.map(({ gemm, precision, points: count }) => {
      const tflops = tflopsAt(gemm, chosenMs(gemm));
      const peak = peaks.tflops[precision];
      const speedup = gemm.tuned_ms !== null && gemm.heuristic_ms !== null ? gemm.heuristic_ms / gemm.tuned_ms : null;
      return [
        textCell(gemm.role),
        { display: `${gemm.m}×${gemm.n}×${gemm.k}`, sort: gemmFlop(gemm) },
        numberCell(gemm.batch_count),
        textCell(gemm.dtype),
        textCell(precision),
        textCell(gemm.algo),
        textCell(gemm.source),
        numberCell(chosenMs(gemm)),
        numberCell(tflops),
        numberCell(tflops !== null && peak !== undefined ? (100 * tflops) / peak : null, '%'),
        numberCell(gemm.heuristic_ms),
        numberCell(gemm.tuned_ms),
        numberCell(speedup, '×'),
        numberCell(count),
      ];
    }),
  };
}

/** The GEMMs the chart shows: those with the most time, summed over the points that ran them (one call each). */
export const CHARTED_GEMMS = 30;

const timeOfUse = (use: GemmUse): number => (chosenMs(use.gemm) ?? 0) * use.points;

function gemmChart(uses: GemmUse[]): Chart {
  const rows = [...uses].sort((a, b) => timeOfUse(b) - timeOfUse(a)).slice(0, CHARTED_GEMMS);
  const labels = uniqueLabels(rows.map(({ gemm, precision }) => `${gemmShape(gemm)} (${precision})`)).map(plotlyText);
  const bars = (name: string, timeOf: (gemm: GemmRecord) => number | null, color: string): Trace => ({
    type: 'bar',
    name,
    x: labels,
    y: rows.map(({ gemm }) => tflopsAt(gemm, timeOf(gemm))),
    hovertext: rows.map(({ gemm }) => `${plotlyText(gemmShape(gemm))}<br>${name}: ${formatOptional(tflopsAt(gemm, timeOf(gemm)), ' TFLOP/s')}<br>${plotlyText(gemm.algo)}`),
    hoverinfo: 'text',
    marker: { color },
  });
  return {
    id: 'gemms',
    title: `GEMM TFLOP/s: heuristic vs tuned algorithm${uses.length > rows.length ? `, the ${rows.length} with the most time of ${uses.length} (all in the table)` : ''}`,
    traces: [bars('heuristic', (gemm) => gemm.heuristic_ms, '#9ab'), bars('tuned', (gemm) => gemm.tuned_ms, '#1f77b4')],
    layout: { barmode: 'group', xaxis: { type: 'category', automargin: true }, yaxis: { title: { text: 'TFLOP/s' } } },
  };
}

/** The GEMM table and chart, or null when no point recorded its GEMMs. */
export function gemmSection(points: MeasuredPoint[], peaks: Peaks): { table: Table; chart: Chart } | null {
  const rows = gemmUses(points);
  if (rows.length === 0) return null;
  return { table: gemmTable(rows, peaks), chart: gemmChart(rows) };
}
