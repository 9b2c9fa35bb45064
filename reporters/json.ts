// The whole run as one JSON document (schema ftbench/results@1), validated before it is rendered
// so that a harness bug can never write a file the readers reject.
import { ResultsSchema, type Results } from '../src/results/schema.js';

export function renderJson(results: Results): string {
  return `${JSON.stringify(ResultsSchema.parse(results), null, 2)}\n`;
}
