// The plotly trace types the dashboard draws: the views build only these (views/types.ts) and the
// page's plotly bundle registers only these (build/plotly-bundle.ts); scatter is in plotly's core.
export const TRACE_TYPES = ['scatter', 'bar', 'heatmap', 'box'] as const;

export type TraceType = (typeof TRACE_TYPES)[number];
