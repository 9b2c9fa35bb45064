// The package's library API (package.json `exports`): the results schema and its types, the one
// reader, the JSON Schema of a results file, the gate's comparison of two runs and the dashboard's
// renderer. Like the CLI (src/cli/), this entry point wires layers together; the core never imports it.
export {
  SCHEMA_ID, ResultsSchema, PointSchema, PointConfigSchema, SummarySchema, EnvSchema, RunSchema, StreamLineSchema,
  parseResults, ResultsFormatError,
  type Results, type Point, type Summary, type Environment, type DeviceFields, type RunInfo, type Dropped, type Check,
  type StageTime, type KernelTime, type StreamLine,
} from './results/schema.js';
export { readResults, readResultsDir, parseStream, type ReadResults } from './results/reader.js';
export { RESULTS_JSON_SCHEMA_FILE, resultsJsonSchemaText } from './results/json-schema.js';
export {
  compareRuns, formatChange, DEFAULT_THRESHOLD, METRICS, VERDICT_ORDER, GateInputError,
  type Comparison, type CompareOptions, type Metric, type PointComparison, type Verdict,
} from './gate/compare.js';
export { configKey, pointLabel, PATHS, PRECISIONS, VARIANTS, type PointConfig } from './engine/config.js';
export { renderDashboard, type RenderOptions } from '../dashboards/render.js';
