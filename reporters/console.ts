// The console table (at most 120 columns): a header, then one row per point as it finishes, with
// an indented line under any point that failed or is incorrect. The last column (the point's
// options: sampling, graph or eager, full length, tp) takes the width the others leave and wraps
// under itself rather than being cut, so rows that differ only there stay distinguishable.
import type { Point } from '../src/results/schema.js';
import { DISPLAY_COLUMNS, problemOf, type DisplayColumn } from './columns.js';

export const CONSOLE_WIDTH = 120;
const SEPARATOR = ' ';
const COLUMNS = DISPLAY_COLUMNS.filter((column) => !column.markdownOnly);
const FIXED = COLUMNS.slice(0, -1);
const LAST = COLUMNS[COLUMNS.length - 1];
const LAST_START = FIXED.reduce((width, column) => width + column.width + SEPARATOR.length, 0);

function cell(column: DisplayColumn, text: string): string {
  return column.align === 'left' ? text.padEnd(column.width) : text.padStart(column.width);
}

/** The last column's text in pieces of the width left to it, broken at spaces. */
function lastColumnLines(text: string): string[] {
  const width = CONSOLE_WIDTH - LAST_START;
  const lines = [''];
  for (const word of text.split(' ')) {
    const current = lines[lines.length - 1];
    if (current === '' || current.length + 1 + word.length <= width) lines[lines.length - 1] = current ? `${current} ${word}` : word;
    else lines.push(word);
  }
  return lines;
}

function render(texts: (column: DisplayColumn) => string): string {
  const fixed = FIXED.map((column) => cell(column, texts(column))).join(SEPARATOR);
  const [first, ...rest] = lastColumnLines(texts(LAST));
  return [`${fixed}${SEPARATOR}${first}`.trimEnd(), ...rest.map((line) => `${' '.repeat(LAST_START)}${line}`)].join('\n');
}

export function consoleHeader(): string {
  const header = render((column) => column.header);
  return `${header}\n${'-'.repeat(header.length)}`;
}

/** The point's row, plus "  ! <problem>" on the next line when it is not a clean pass. */
export function consoleRow(point: Point): string {
  const row = render((column) => column.text(point));
  const problem = problemOf(point);
  return problem ? `${row}\n  ! ${problem}` : row;
}

export function renderConsoleTable(points: readonly Point[]): string {
  return [consoleHeader(), ...points.map(consoleRow)].join('\n');
}
