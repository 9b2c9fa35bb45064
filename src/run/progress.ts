// Sweep progress on stderr. On a terminal: one bar, redrawn in place, with point i / n, the point
// running and the time left at the pace so far. Elsewhere (CI logs, pipes): one plain line per point.
import { pointLabel, type PointConfig } from '../engine/config.js';

/** "42s", "3m05s", "1h02m". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const BAR_WIDTH = 24;

export class Progress {
  private finished = 0;
  private seconds = 0;
  private drawn = false;

  /** `total` points in all, of which `skipped` were done before (a resumed run). */
  constructor(
    private readonly total: number,
    private readonly skipped: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  private get done(): number {
    return this.skipped + this.finished;
  }

  private eta(): string {
    if (this.finished === 0) return 'ETA -';
    return `ETA ${formatDuration((this.seconds / this.finished) * (this.total - this.done))}`;
  }

  /** Shows that the point `config` (the next one) is running. */
  starting(config: PointConfig): void {
    const position = `${this.done + 1}/${this.total}`;
    if (!this.stream.isTTY) {
      this.stream.write(`[${position}] ${pointLabel(config)} (${this.eta()})\n`);
      return;
    }
    const filled = Math.round((BAR_WIDTH * this.done) / this.total);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${position} ${pointLabel(config)} · ${this.eta()}`;
    const width = this.stream.columns ?? 120;
    this.stream.write(`\r\x1b[2K${bar.slice(0, width - 1)}`);
    this.drawn = true;
  }

  /** Counts a finished point that took `seconds`. */
  finishedPoint(seconds: number): void {
    this.finished++;
    this.seconds += seconds;
  }

  /** Erases the bar, so that a line can be printed where it was (it is redrawn by the next starting()). */
  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
