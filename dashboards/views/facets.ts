// Slicing a path's points for display: which config fields vary among them (the path charts offer
// one facet per combination, the heatmaps one chart), how a slice is described, and the order in
// which slices and decode strategies are shown.
import { KEY_FIELDS, type PointConfig } from '../../src/engine/config.js';
import type { MeasuredPoint } from './common.js';
import { decodeStrategy } from './labels.js';

/** Config fields that split a path's points into facets; beam/top_k/top_p enter as the decode strategy. */
const FACET_FIELDS = KEY_FIELDS.filter(
  (field) => !['backend', 'path', 'variant', 'precision', 'batch', 'beam', 'top_k', 'top_p'].includes(field),
);

export type FacetDimension = { name: string; valueOf: (config: PointConfig) => string };

/** The dimensions (other than `exclude`) whose values differ among `points`. */
export function varyingDimensions(points: MeasuredPoint[], exclude: readonly string[]): FacetDimension[] {
  const dimensions: FacetDimension[] = FACET_FIELDS.filter((field) => !exclude.includes(field)).map((field) => ({
    name: field,
    valueOf: (config: PointConfig) => `${field} ${config[field]}`,
  }));
  if (!exclude.includes('strategy')) dimensions.push({ name: 'strategy', valueOf: decodeStrategy });
  return dimensions.filter((dimension) => new Set(points.map((point) => dimension.valueOf(point.config))).size > 1);
}

export const describeBy = (dimensions: FacetDimension[], config: PointConfig): string =>
  dimensions.map((dimension) => dimension.valueOf(config)).join(' · ');

/** Orders facets by their varying fields (numerically where the field is numeric). */
export function compareFacetConfigs(a: PointConfig, b: PointConfig, dimensions: FacetDimension[]): number {
  for (const dimension of dimensions) {
    if (dimension.name === 'strategy') {
      const order = strategyOrder(a) - strategyOrder(b);
      if (order !== 0) return order;
      continue;
    }
    const field = dimension.name as keyof PointConfig;
    const [left, right] = [a[field], b[field]];
    const order = typeof left === 'number' && typeof right === 'number' ? left - right : String(left).localeCompare(String(right));
    if (order !== 0) return order;
  }
  return 0;
}

/** Beam search first (by width), then top-k, then top-p. */
export const strategyOrder = (config: PointConfig): number =>
  config.beam > 1 || (config.top_k === 0 && config.top_p === 0) ? config.beam : 1e6 + config.top_k * 10 + config.top_p;
