// The history of a folder of runs, from the store's rows: the commits in the order they were first
// measured (a run's env.git commit, its time run.started_at), each point's level at every commit
// (points matched across runs by their key, src/engine/config.ts configKey, on the same device) and
// the steps flagged in it (steps.ts). A run copied into two files (a promoted baseline) counts once.
import { detectSteps, levelOf, type Level, type Step } from './steps.js';
import type { FileProblem, StoredPoint, StoredRun } from './store.js';

/** One place on the commit axis: a commit (a dirty tree apart from the clean one), or a run that recorded none. */
export interface CommitPosition {
  id: string;
  label: string;
  commit: string | null;
  dirty: boolean;
  /** When its first run started. */
  startedAt: string;
  runIds: string[];
}

export interface PointTrend {
  device: string;
  key: string;
  label: string;
  path: string;
  precision: string;
  /** Per commit position: the point's level there (its samples pooled over the runs there), null where it did not run. */
  levels: (Level | null)[];
  steps: Step[];
}

export interface FlaggedStep {
  trend: PointTrend;
  step: Step;
  /** The last commit before the step where the point ran, and the commit of the step. */
  from: CommitPosition;
  to: CommitPosition;
}

export interface History {
  threshold: number;
  runs: StoredRun[];
  positions: CommitPosition[];
  trends: PointTrend[];
  steps: FlaggedStep[];
  warnings: string[];
}

function positionOf(run: StoredRun): Omit<CommitPosition, 'startedAt' | 'runIds'> {
  if (run.commit === null) return { id: `run:${run.id}`, label: `run ${run.id}`, commit: null, dirty: false };
  const dirty = run.dirty === true;
  const short = run.commit.slice(0, 7);
  return { id: `${run.commit}${dirty ? '+dirty' : ''}`, label: dirty ? `${short} (dirty)` : short, commit: run.commit, dirty };
}

/** The runs to count, one file per run id (the first by path), and a warning for each copy left out. */
function distinctRuns(runs: readonly StoredRun[]): { kept: StoredRun[]; warnings: string[] } {
  const byId = new Map<string, StoredRun>();
  const warnings: string[] = [];
  for (const run of [...runs].sort((a, b) => a.file.localeCompare(b.file))) {
    const first = byId.get(run.id);
    if (first) warnings.push(`${run.file} repeats run ${run.id} of ${first.file}: counted once`);
    else byId.set(run.id, run);
  }
  const kept = [...byId.values()].sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.file.localeCompare(b.file));
  return { kept, warnings };
}

function commitPositions(runs: readonly StoredRun[]): { positions: CommitPosition[]; indexOfRun: Map<string, number> } {
  const positions: CommitPosition[] = [];
  const indexOfRun = new Map<string, number>();
  for (const run of runs) {
    const place = positionOf(run);
    let index = positions.findIndex((position) => position.id === place.id);
    if (index < 0) index = positions.push({ ...place, startedAt: run.startedAt, runIds: [] }) - 1;
    positions[index].runIds.push(run.id);
    indexOfRun.set(run.file, index);
  }
  return { positions, indexOfRun };
}

type TrendSamples = Omit<PointTrend, 'levels' | 'steps'> & { samples: number[][] };

/** Each point's samples per commit position, pooled over the runs at that commit. */
function pooledSamples(runs: readonly StoredRun[], points: readonly StoredPoint[], indexOfRun: Map<string, number>, width: number) {
  const deviceOf = new Map(runs.map((run) => [run.file, run.device]));
  const trends = new Map<string, TrendSamples>();
  for (const point of points) {
    const index = indexOfRun.get(point.file);
    const device = deviceOf.get(point.file);
    if (index === undefined || device === undefined) continue;
    const id = `${device}\n${point.key}`;
    let trend = trends.get(id);
    if (!trend) {
      const { key, label, path, precision } = point;
      trend = { device, key, label, path, precision, samples: Array.from({ length: width }, () => []) };
      trends.set(id, trend);
    }
    trend.samples[index].push(...point.samples);
  }
  return [...trends.values()];
}

const trendOrder = (a: PointTrend, b: PointTrend): number =>
  a.device.localeCompare(b.device) || a.path.localeCompare(b.path) || a.precision.localeCompare(b.precision);

export function buildHistory(stored: { runs: StoredRun[]; points: StoredPoint[]; problems: FileProblem[] }, threshold: number): History {
  const { kept, warnings } = distinctRuns(stored.runs);
  warnings.push(...stored.problems.map(({ file, problem }) => `${file}: skipped (${problem})`));
  const { positions, indexOfRun } = commitPositions(kept);
  const trends = pooledSamples(kept, stored.points, indexOfRun, positions.length).map(({ samples, ...trend }): PointTrend => ({
    ...trend,
    levels: samples.map((pooled) => (pooled.length > 0 ? levelOf(pooled) : null)),
    steps: detectSteps(samples, threshold),
  })).sort(trendOrder);
  const steps = trends.flatMap((trend) => trend.steps.map((step): FlaggedStep => {
    // A step always has a measured commit before it (detectSteps starts its first segment there).
    let previous = step.index - 1;
    while (trend.levels[previous] === null) previous -= 1;
    return { trend, step, from: positions[previous], to: positions[step.index] };
  }));
  return { threshold, runs: kept, positions, trends, steps, warnings };
}
