// Optional per-point records that the results schema does not declare yet (GEMM choices, kernel and
// stage breakdowns, GB/s). ResultsSchema strips unknown keys when parsing, so these are read from
// the raw JSON, point by point (same order as results.points). A malformed record is skipped and
// reported on the page; it never stops the dashboard. cli.ts reads them next to the results; the
// views read them through MeasuredPoint (views/common.ts).


export interface GemmRecord {
  role: string;
  m: number;
  n: number;
  k: number;
  batch_count: number;
  dtype: string;
  algo: string;
  source: string;
  tuned_ms: number | null;
  heuristic_ms: number | null;
}

export interface TimedRecord {
  name: string;
  /** Stage a kernel belongs to (kernels only). */
  stage: string | null;
  calls: number | null;
  total_ms: number;
}

export interface PointExtras {
  gbps: number | null;
  gemms: GemmRecord[];
  stages: TimedRecord[];
  kernels: TimedRecord[];
}

export interface ExtrasReading {
  extras: PointExtras[];
  issues: string[];
}

class RecordIssue extends Error {}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

function requireString(record: Json, field: string, where: string): string {
  const value = record[field];
  if (typeof value !== 'string') throw new RecordIssue(`${where}.${field}: expected a string`);
  return value;
}

function requireNumber(record: Json, field: string, where: string): number {
  const value = record[field];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new RecordIssue(`${where}.${field}: expected a number`);
  return value;
}

function optionalNumber(record: Json, field: string, where: string): number | null {
  return record[field] === undefined || record[field] === null ? null : requireNumber(record, field, where);
}

function optionalString(record: Json, field: string, where: string): string | null {
  return record[field] === undefined || record[field] === null ? null : requireString(record, field, where);
}

/** "algo=6 tile=128x256 stages=4" from an algorithm object, or the string as recorded. */
function describeAlgo(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (isObject(value)) {
    return Object.entries(value)
      .map(([key, field]) => `${key}=${typeof field === 'object' ? JSON.stringify(field) : String(field)}`)
      .join(' ');
  }
  throw new RecordIssue(`${where}.algo: expected a string or an object`);
}

function readGemm(record: Json, where: string): GemmRecord {
  const gemm: GemmRecord = {
    role: requireString(record, 'role', where),
    m: requireNumber(record, 'm', where),
    n: requireNumber(record, 'n', where),
    k: requireNumber(record, 'k', where),
    batch_count: optionalNumber(record, 'batch_count', where) ?? 1,
    dtype: requireString(record, 'dtype', where),
    algo: describeAlgo(record.algo, where),
    source: requireString(record, 'source', where),
    tuned_ms: optionalNumber(record, 'tuned_ms', where),
    heuristic_ms: optionalNumber(record, 'heuristic_ms', where),
  };
  return gemm;
}

function readTimed(record: Json, where: string): TimedRecord {
  return {
    name: requireString(record, 'name', where),
    stage: optionalString(record, 'stage', where),
    calls: optionalNumber(record, 'calls', where),
    total_ms: requireNumber(record, 'total_ms', where),
  };
}

function readList<T>(value: unknown, where: string, read: (record: Json, where: string) => T, issues: string[]): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    issues.push(`${where}: expected an array`);
    return [];
  }
  const records: T[] = [];
  value.forEach((item, index) => {
    const itemWhere = `${where}[${index}]`;
    try {
      if (!isObject(item)) throw new RecordIssue(`${itemWhere}: expected an object`);
      records.push(read(item, itemWhere));
    } catch (error) {
      if (!(error instanceof RecordIssue)) throw error;
      issues.push(`${error.message} (skipped)`);
    }
  });
  return records;
}

/**
 * Reads `points[i].summary.gbps`, `points[i].gemms`, `points[i].stages` and `points[i].kernels` from
 * the raw (already schema-validated) results JSON. Absent fields give empty extras.
 */
export function readPointExtras(raw: unknown): ExtrasReading {
  const issues: string[] = [];
  const points = isObject(raw) && Array.isArray(raw.points) ? raw.points : [];
  const extras = points.map((point: unknown, index): PointExtras => {
    const where = `points[${index}]`;
    const record = isObject(point) ? point : {};
    const summary = isObject(record.summary) ? record.summary : {};
    let gbps: number | null = null;
    try {
      gbps = optionalNumber(summary, 'gbps', `${where}.summary`);
    } catch (error) {
      if (!(error instanceof RecordIssue)) throw error;
      issues.push(`${error.message} (ignored)`);
    }
    return {
      gbps,
      gemms: readList(record.gemms, `${where}.gemms`, readGemm, issues),
      stages: readList(record.stages, `${where}.stages`, readTimed, issues),
      kernels: readList(record.kernels, `${where}.kernels`, readTimed, issues),
    };
  });
  return { extras, issues };
}

export const NO_EXTRAS: PointExtras = { gbps: null, gemms: [], stages: [], kernels: [] };
