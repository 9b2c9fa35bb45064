// One CSV row per point (csv-stringify); columns in CSV_COLUMNS order, empty cells for nulls.
import { stringify } from 'csv-stringify/sync';
import type { Results } from '../src/results/schema.js';
import { CSV_COLUMNS } from './columns.js';

export const CSV_HEADER: readonly string[] = CSV_COLUMNS.map((column) => column.name);

export function renderCsv(results: Results): string {
  const rows = results.points.map((point) => CSV_COLUMNS.map((column) => column.value(point, results) ?? ''));
  return stringify([[...CSV_HEADER], ...rows]);
}
