// Sweep progress: the bar redrawn in place on a terminal, plain lines elsewhere, the ETA at the pace so far.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pointLabel } from '../src/engine/config.js';
import { formatDuration, Progress } from '../src/run/progress.js';
import { cpuConfig } from './harness-fixtures.js';

function stream(isTTY: boolean) {
  const written: string[] = [];
  const fake = { isTTY, columns: 80, write: (text: string) => written.push(text) > 0 } as unknown as NodeJS.WriteStream;
  return { fake, written };
}

describe('progress', () => {
  test('durations', () => {
    assert.deepEqual([formatDuration(0), formatDuration(42.4), formatDuration(185), formatDuration(3720)], ['0s', '42s', '3m05s', '1h02m']);
  });

  test('labels name path, variant, precision, batch, steps, beam or sampling and the model', () => {
    assert.equal(pointLabel(cpuConfig({ seq: 128, batch: 32 })), 'encoder reference fp32 b32 s128 1L 2×8');
    assert.equal(pointLabel(cpuConfig({ path: 'decoding', batch: 8, beam: 1, seq: 32, top_k: 4 })), 'decoding reference fp32 b8 s32 top-k 4 1L 2×8');
  });

  test('a terminal gets one bar, redrawn in place, with i / n and the ETA', () => {
    const { fake, written } = stream(true);
    const progress = new Progress(4, 1, fake); // a resumed run: 1 of 4 done before
    progress.starting(cpuConfig({ batch: 8 }));
    progress.finishedPoint(10);
    progress.clear();
    progress.starting(cpuConfig({ batch: 32 }));
    assert.deepEqual(written, [
      '\r\x1b[2K[######------------------] 2/4 encoder reference fp32 b8 s16 1L 2×8 · ETA -',
      '\r\x1b[2K',
      '\r\x1b[2K[############------------] 3/4 encoder reference fp32 b32 s16 1L 2×8 · ETA 20s',
    ]);
  });

  test('elsewhere, one plain line per point', () => {
    const { fake, written } = stream(false);
    const progress = new Progress(2, 0, fake);
    progress.starting(cpuConfig());
    progress.finishedPoint(3);
    progress.clear();
    progress.starting(cpuConfig({ seq: 32 }));
    assert.deepEqual(written, ['[1/2] encoder reference fp32 b1 s16 1L 2×8 (ETA -)\n', '[2/2] encoder reference fp32 b1 s32 1L 2×8 (ETA 3s)\n']);
  });
});
