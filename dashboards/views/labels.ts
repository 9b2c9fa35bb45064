// How the dashboard names a point: its one-line label (charts, tables, the comparison), its decode
// strategy, and the numbering that keeps repeated labels apart. Every view that names a point takes
// the name from here, so the dashboard has exactly one point label.
import type { PointConfig } from '../../src/config.js';

/** How a decoder/decoding point picks tokens: "beam 4", "top-k 4", "top-p 0.75", "top-k 4, top-p 0.75". */
export function decodeStrategy(config: Pick<PointConfig, 'beam' | 'top_k' | 'top_p'>): string {
  const sampling = [config.top_k > 0 ? `top-k ${config.top_k}` : '', config.top_p > 0 ? `top-p ${config.top_p}` : '']
    .filter(Boolean)
    .join(', ');
  return config.beam === 1 && sampling ? sampling : `beam ${config.beam}`;
}

/** A short human label for a point: "encoder fused fp16 b32 s128 12L 12×64". */
export function pointLabel(config: PointConfig): string {
  const strategy = config.path === 'encoder' ? '' : ` ${decodeStrategy(config)}`;
  return (
    `${config.path} ${config.variant} ${config.precision} b${config.batch} s${config.seq}${strategy}` +
    ` ${config.layers}L ${config.heads}×${config.head_size}`
  );
}

/** Makes labels unique by numbering repeats ("x", "x (2)"), so plotly categories never merge. */
export function uniqueLabels(labels: string[]): string[] {
  const seen = new Map<string, number>();
  return labels.map((label) => {
    const count = (seen.get(label) ?? 0) + 1;
    seen.set(label, count);
    return count === 1 ? label : `${label} (${count})`;
  });
}
