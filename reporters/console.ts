// The console table (at most 120 columns): a header, then one row per point as it finishes, with
// an indented line under any point that failed or is incorrect.
import type { Point } from '../src/results/schema.js';
import { DISPLAY_COLUMNS, problemOf, type DisplayColumn } from './columns.js';

const SEPARATOR = ' ';

function cell(column: DisplayColumn, text: string): string {
  return column.align === 'left' ? text.padEnd(column.width) : text.padStart(column.width);
}

export function consoleHeader(): string {
  const header = DISPLAY_COLUMNS.map((column) => cell(column, column.header)).join(SEPARATOR).trimEnd();
  return `${header}\n${'-'.repeat(header.length)}`;
}

/** The point's row, plus "  ! <problem>" on the next line when it is not a clean pass. */
export function consoleRow(point: Point): string {
  const row = DISPLAY_COLUMNS.map((column) => cell(column, column.text(point))).join(SEPARATOR).trimEnd();
  const problem = problemOf(point);
  return problem ? `${row}\n  ! ${problem}` : row;
}

export function renderConsoleTable(points: readonly Point[]): string {
  return [consoleHeader(), ...points.map(consoleRow)].join('\n');
}
