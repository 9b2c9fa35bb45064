// The bench command line, spawned as users run it: every bad flag exits 2 with one line naming the
// field; --help exits 0.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { addonOrSkip } from './harness-fixtures.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src/cli/main.js');
let out: string;

function bench(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Exit 2, nothing on stdout, exactly `message` as the one line on stderr, and no files written. */
function refused(args: string[], message: string): void {
  const result = bench(...args, '--out', out);
  assert.equal(result.stderr, `${message}\n`, args.join(' '));
  assert.equal(result.status, 2, args.join(' '));
  assert.equal(result.stdout, '');
  assert.deepEqual(fs.readdirSync(out), []);
}

describe('bench CLI', () => {
  before(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'ftbench-cli-'));
  });
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  test('--precision fp8x', () => refused(['--precision', 'fp8x'], 'ftbench: precision must be one of fp32, tf32, fp16, bf16, fp8, got fp8x'));
  test('--batch 0', () => refused(['bench', '--batch', '0'], 'ftbench: batch must be 1..4096, got 0'));
  test('--beam 64 on decoding', () => refused(['--path', 'decoding', '--beam', '64'], 'ftbench: beam must be 1..32, got 64'));
  test('an unknown flag', () => refused(['--batches', '1'], 'ftbench: unknown flag --batches (see --help)'));
  test('--profile nope', () => refused(['--profile', 'nope'], 'ftbench: profile must be one of smoke, a100, h100, decoding, stability, got nope'));

  test('every other kind of bad value', () => {
    refused(['--batch', '1,x'], 'ftbench: batch must be a number, got x');
    refused(['--batch', '1,,2'], 'ftbench: batch must be a number, got ""');
    refused(['--batch', '2.5'], 'ftbench: batch must be an integer, got 2.5');
    refused(['--batch'], 'ftbench: --batch needs a value (one starting with \'-\' is written --batch=<value>)');
    refused(['--seed', '-1'], 'ftbench: --seed needs a value (one starting with \'-\' is written --seed=<value>)');
    refused(['--seed=-1'], 'ftbench: seed must be 0..9007199254740991, got -1');
    refused(['--steps', '0'], 'ftbench: steps must be 1..4096, got 0');
    refused(['--seq', '5000'], 'ftbench: seq must be 1..4096, got 5000');
    refused(['--layers', '2,3'], 'ftbench: layers takes one value, got 2,3');
    refused(['--head-size', '300'], 'ftbench: head_size must be 1..256, got 300');
    refused(['--inter-size', '0'], 'ftbench: inter_size must be 1..65536, got 0');
    refused(['--top-k', '2000'], 'ftbench: top_k must be 0..1024, got 2000');
    refused(['--top-p', '2'], 'ftbench: top_p must be 0..1, got 2');
    refused(['--temperature', '0'], 'ftbench: temperature must be > 0, got 0');
    refused(['--variant', 'fused,fast'], 'ftbench: variant must be one of fused, unfused, reference, torch-eager, torch-graph, torch-compile, hf-generate, got fast');
    refused(['--peers', 'torch-eager,jax'], 'ftbench: peers must be one of torch-eager, torch-graph, torch-compile, hf-generate, got jax');
    refused(['--path', 'gpt'], 'ftbench: path must be one of encoder, decoder, decoding, got gpt');
    refused(['--backend', 'tpu'], 'ftbench: backend must be one of cpu, cuda, got tpu');
    refused(['--graph', '--no-graph'], 'ftbench: graph: --graph and --no-graph contradict each other');
    refused(['--fresh-process', '--shared-process'], 'ftbench: fresh_process: --fresh-process and --shared-process contradict each other');
    refused(['--min-samples', '0'], 'ftbench: min_samples must be 1..1000000, got 0');
    refused(['--min-time=-5'], 'ftbench: min_time must be >= 0 (seconds), got -5');
    refused(['--max-noise', '0'], 'ftbench: max_noise must be > 0 (%), got 0');
    refused(['--instances', '0'], 'ftbench: instances must be 1..100, got 0');
    refused(['--instances', '2.5'], 'ftbench: instances must be an integer, got 2.5');
    refused(['--timeout', 'soon'], 'ftbench: timeout must be a number, got soon');
    // setTimeout waits at most 2^31-1 ms: a longer time would fire at once.
    refused(['--point-timeout', '1e10'], 'ftbench: point_timeout must be at most 2147483.647 s, got 10000000000');
    refused(['--point-timeout', 'NaN'], 'ftbench: point_timeout must be a number, got NaN');
    refused(['--point-timeout', '0'], 'ftbench: point_timeout must be > 0 (seconds), got 0');
    refused(['--timeout', '3e6'], 'ftbench: timeout must be at most 2147483.647 s, got 3000000');
    refused(['--warmup', '1e300'], 'ftbench: warmup must be at most 2147483.647 s, got 1e+300');
    refused(['--run-id', '../up'], "ftbench: run_id must be letters, digits, '.', '_' or '-', got ../up");
    refused(['--full-length=yes'], 'ftbench: --full-length takes no value');
    refused(['run'], 'ftbench: unknown command run (commands: bench, tune)');
    refused(['bench', 'extra'], 'ftbench: unexpected argument extra');
  });

  test('--help prints the usage and exits 0', () => {
    const result = bench('--help');
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^usage: npm run bench -- \[options\]/);
    for (const flag of ['--profile', '--backend', '--path', '--variant', '--precision', '--batch', '--beam', '--seq', '--steps', '--layers',
      '--heads', '--head-size', '--inter-size', '--vocab', '--top-k', '--top-p', '--temperature', '--full-length', '--graph', '--no-graph', '--seed',
      '--min-samples', '--min-time', '--max-noise', '--timeout', '--warmup', '--out', '--run-id', '--markdown']) {
      assert.ok(result.stdout.includes(flag), flag);
    }
    assert.ok(result.stdout.split('\n').every((line) => line.length <= 110), 'help lines stay short');
  });

  const { skip } = addonOrSkip();

  test('refusals that need the engine', { skip }, () => {
    refused(['--backend', 'cpu', '--precision', 'fp16'],
      'ftbench: nothing to run in profile smoke on the cpu backend: every combination was dropped ' +
      '(encoder: precision fp16 on the cpu backend: it runs fp32 only)');
    refused(['--backend', 'cpu', '--path', 'decoding', '--beam', '16', '--vocab', '16'], 'ftbench: beam must be 1..8, got 16');
  });
});
