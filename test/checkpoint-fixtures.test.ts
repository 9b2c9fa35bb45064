// Checkpoints saved by transformers itself (test/fixtures/checkpoints/<family>/, made by
// make_fixtures.py on a machine with transformers): the loader and the CPU backend against
// transformers' own last_hidden_state (float64) for the same ids. Skipped, with the reason, for the
// families whose folder is not there yet.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { relativeL2 } from '../src/check/correctness.js';
import { addonOrSkip } from './harness-fixtures.js';
import { runCheckpoint } from './support/checkpoint-run.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/checkpoints');
const { addon, skip } = addonOrSkip();

interface Expected {
  ids: number[][];
  lengths: number[];
  last_hidden_state: number[][][];
}

describe('transformers-made checkpoints on the cpu backend', () => {
  for (const family of ['bert', 'roberta', 'distilbert']) {
    const dir = path.join(FIXTURES, family);
    const expectedFile = path.join(dir, 'expected.json');
    const missing = fs.existsSync(expectedFile) ? undefined : `${expectedFile} not made yet (make_fixtures.py)`;
    test(family, { skip: skip ?? missing }, () => {
      const expected = JSON.parse(fs.readFileSync(expectedFile, 'utf8')) as Expected;
      const run = runCheckpoint(addon!, 'cpu', dir, expected.ids, expected.lengths);
      const error = relativeL2(run.hidden, expected.last_hidden_state.flat(2));
      assert.ok(error <= 1e-5, `relative L2 error ${error} against transformers`);
    });
  }
});
