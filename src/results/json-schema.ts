// The JSON Schema of a results file (schema/results.schema.json, shipped in the package), generated
// from the zod schema (schema.ts), which stays the one definition: the committed file is regenerated
// with `npm run schema` and a test fails while it differs from what the zod schema generates.
// It describes the file as written (the reader's input): fields with a default are optional.
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ResultsSchema, SCHEMA_ID } from './schema.js';

/** schema/results.schema.json of the package (this module runs from dist/src/results/). */
export const RESULTS_JSON_SCHEMA_FILE = fileURLToPath(new URL('../../../schema/results.schema.json', import.meta.url));

/** The JSON Schema document, as the committed file holds it. */
export function resultsJsonSchemaText(): string {
  const schema = z.toJSONSchema(ResultsSchema, { io: 'input', target: 'draft-2020-12' });
  return `${JSON.stringify({ title: SCHEMA_ID, ...schema }, null, 2)}\n`;
}

export function writeResultsJsonSchema(file = RESULTS_JSON_SCHEMA_FILE): void {
  fs.writeFileSync(file, resultsJsonSchemaText());
}
