#!/usr/bin/env node
// A stand-in for peers/torch/worker.py, for CI (no Python torch there): it speaks the same protocol
// (peers/torch/PROTOCOL.md: one JSON request per stdin line, exactly one JSON reply per stdout line)
// with a model whose outputs and times follow from the request by a formula, so the TypeScript
// peer backend can be tested end to end, including its error paths.
//
// Run: node test/support/peer-standin.mjs   (cwd anywhere; it reads the checkpoint paths it is sent)
//
// The "model" (what `outputs` writes, as raw little-endian .bin files described like the worker's):
//   encoder:  hidden = encoder_input with rows at positions >= length set to 0; lengths = encoder_lengths
//             (both read from <checkpoint>/inputs.safetensors, so the writer's files are checked too).
//   decoder:  hidden[r] = decoder_input[seq-1, r]; lengths = memory_lengths.
//   decoding: output_ids[r][t] = (start_id + r + t + 1) % vocab; lengths[r] = seq; cum_log_probs[r] = -(r + 1);
//             scores[r] = cum / ((5 + seq) / 6)^length_penalty; step_ids[t][r] = output_ids[r][t];
//             parent_ids[t][r] = r % beam; steps_run = seq. hf-generate: output_ids and lengths only.
// hf_hidden (a checkpoint's parity reference): transformers' last_hidden_state as the committed fixture
//   holds it: <model>/expected.json (test/fixtures/checkpoints/<family>/), whose ids and lengths the
//   request must carry (other ids: ERR_FTB_CONFIG), so a test knows exactly what the runner compared with.
// Times: measure's ms = 0.001 · layers · batch · beam · seq · factor(peer) (torch-eager 2, torch-graph 1,
//   torch-compile 0.9, hf-generate 3), × 1.05 when flush_l2 (cold); sm_clock_mhz = FTB_STANDIN_CLOCK or 1980.
//   load: load_s 0.01; compile_s 0.02 (torch-graph), 1.5 (torch-compile), else null.
//
// Knobs (environment variables):
//   FTB_STANDIN_NO_TORCH=1         hello reports torch null and cuda_available false; load -> ERR_FTB_UNAVAILABLE.
//   FTB_STANDIN_FAIL=op:CODE[:n]   every `op` request after the first n (default 0) replies {ok:false, code: CODE}
//                                  (e.g. measure:ERR_FTB_OOM:2); the stand-in stays usable, as the worker does.
//   FTB_STANDIN_CRASH=op[:n]       exits with code 3, without replying, at the (n+1)-th `op` request.
//   FTB_STANDIN_HANG=op[:n]        never replies to the (n+1)-th `op` request (and reads nothing more).
//   FTB_STANDIN_CLOCK=mhz          the SM clock measure reports (0: "no clock").
//   FTB_STANDIN_LOG=path           appends every request line it receives to `path` (for tests to assert on).
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';

const PEERS = ['torch-eager', 'torch-graph', 'torch-compile', 'hf-generate'];
const FACTOR = { 'torch-eager': 2, 'torch-graph': 1, 'torch-compile': 0.9, 'hf-generate': 3 };
const CONFIG_FIELDS = {
  path: 'string', variant: 'string', precision: 'string', layers: 'number', heads: 'number', head_size: 'number',
  inter_size: 'number', vocab: 'number', max_seq: 'number', mem_len: 'number', batch: 'number', beam: 'number',
  seq: 'number', top_k: 'number', top_p: 'number', temperature: 'number', length_penalty: 'number',
  start_id: 'number', end_id: 'number', stop_at_end: 'boolean', full_length: 'boolean', graph: 'boolean',
  seed: 'number',
};

class PeerError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}
const configError = (message) => new PeerError('ERR_FTB_CONFIG', message);

// "op[:a[:b]]" -> { op, parts }
function knob(name) {
  const value = process.env[name];
  if (!value) return null;
  const [op, ...parts] = value.split(':');
  return { op, parts };
}
const failKnob = knob('FTB_STANDIN_FAIL');
const crashKnob = knob('FTB_STANDIN_CRASH');
const hangKnob = knob('FTB_STANDIN_HANG');
const seen = new Map(); // op -> requests of that op received so far (before this one)

function triggered(k, op, countIndex) {
  return k !== null && k.op === op && seen.get(op) >= Number(k.parts[countIndex] ?? 0);
}

// safetensors: u64 header length, JSON header, then the data.
function readSafetensors(file) {
  if (!fs.existsSync(file)) throw configError(`${file}: no such file`);
  const bytes = fs.readFileSync(file);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const tensors = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [start, end] = entry.data_offsets;
    const data = bytes.subarray(8 + headerLength + start, 8 + headerLength + end);
    const copy = new Uint8Array(data).buffer; // aligned for the typed array
    const Kind = { F32: Float32Array, I32: Int32Array, F64: Float64Array }[entry.dtype];
    if (!Kind) throw configError(`${file}: ${name} has dtype ${entry.dtype}, expected F32, I32 or F64`);
    tensors[name] = { shape: entry.shape, data: new Kind(copy) };
  }
  return tensors;
}

function requireTensor(tensors, name, shape, file) {
  const tensor = tensors[name];
  if (!tensor) throw configError(`${file}: tensor ${name} is missing`);
  if (tensor.shape.join(',') !== shape.join(',')) {
    throw configError(`${file}: ${name} has shape [${tensor.shape}], the config implies [${shape}]`);
  }
  return tensor.data;
}

function validateConfig(config) {
  if (typeof config !== 'object' || config === null) throw configError('config must be an object');
  for (const [field, type] of Object.entries(CONFIG_FIELDS)) {
    if (!(field in config)) throw configError(`config.${field} is missing`);
    if (typeof config[field] !== type) throw configError(`config.${field} must be ${type}, got ${JSON.stringify(config[field])}`);
  }
  if (!['encoder', 'decoder', 'decoding'].includes(config.path)) throw configError(`config.path must be one of encoder, decoder, decoding, got '${config.path}'`);
  if (!['fp32', 'tf32', 'fp16', 'bf16'].includes(config.precision)) throw configError(`precision must be one of fp32, tf32, fp16, bf16, got '${config.precision}'`);
  if (config.beam > 1 && (config.top_k > 0 || config.top_p > 0)) throw configError(`config.top_k/top_p need beam 1 (sampling), got beam ${config.beam}`);
}

function outputsOf(point) {
  const { config: c, peer, inputs } = point;
  const hidden = c.heads * c.head_size;
  if (c.path === 'encoder') {
    const x = Float32Array.from(inputs.encoder_input);
    for (let b = 0; b < c.batch; ++b) x.fill(0, (b * c.seq + inputs.encoder_lengths[b]) * hidden, (b + 1) * c.seq * hidden);
    return { files: { hidden: [x, [c.batch, c.seq, hidden]], lengths: [inputs.encoder_lengths, [c.batch]] }, steps: 1 };
  }
  const rows = c.batch * c.beam;
  if (c.path === 'decoder') {
    const last = inputs.decoder_input.slice((c.seq - 1) * rows * hidden, c.seq * rows * hidden);
    return { files: { hidden: [last, [rows, hidden]], lengths: [inputs.memory_lengths, [c.batch]] }, steps: c.seq };
  }
  const ids = new Int32Array(rows * c.seq).map((_, i) => (c.start_id + Math.floor(i / c.seq) + (i % c.seq) + 1) % c.vocab);
  const lengths = new Int32Array(rows).fill(c.seq);
  if (peer === 'hf-generate') return { files: { output_ids: [ids, [rows, c.seq]], lengths: [lengths, [rows]] }, steps: c.seq };
  const cum = new Float32Array(rows).map((_, r) => -(r + 1));
  const scores = cum.map((v) => v / Math.pow((5 + c.seq) / 6, c.length_penalty));
  const stepIds = new Int32Array(rows * c.seq).map((_, i) => ids[(i % rows) * c.seq + Math.floor(i / rows)]);
  const parentIds = new Int32Array(rows * c.seq).map((_, i) => (i % rows) % c.beam);
  return {
    files: {
      output_ids: [ids, [rows, c.seq]], lengths: [lengths, [rows]], cum_log_probs: [cum, [rows]], scores: [scores, [rows]],
      step_ids: [stepIds, [c.seq, rows]], parent_ids: [parentIds, [c.seq, rows]],
    },
    steps: c.seq,
  };
}

/** hf_hidden: the fixture's transformers output for exactly its ids (see the top of this file). */
function hfHidden(request) {
  if (process.env.FTB_STANDIN_NO_TORCH === '1') throw new PeerError('ERR_FTB_UNAVAILABLE', 'python3 has no torch');
  if (typeof request.dir !== 'string' || !request.dir) throw configError('dir must be a non-empty string');
  const file = path.join(String(request.model), 'expected.json');
  if (!fs.existsSync(file)) throw configError(`${file}: no such file (the stand-in answers for committed fixtures only)`);
  const expected = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (JSON.stringify([request.ids, request.lengths]) !== JSON.stringify([expected.ids, expected.lengths])) {
    throw configError(`the stand-in knows transformers' output for ${file}'s ids and lengths only`);
  }
  const hidden = Float32Array.from(expected.last_hidden_state.flat(2));
  const shape = [expected.ids.length, expected.ids[0].length, expected.last_hidden_state[0][0].length];
  fs.mkdirSync(request.dir, { recursive: true });
  fs.writeFileSync(path.join(request.dir, 'hidden.bin'), new Uint8Array(hidden.buffer));
  return { ok: true, files: { hidden: { file: 'hidden.bin', dtype: 'float32', shape } }, transformers: 'standin', torch: 'standin', device: 'cpu' };
}

function load(request) {
  if (!PEERS.includes(request.peer)) throw configError(`peer must be one of ${PEERS.join(', ')}, got ${JSON.stringify(request.peer)}`);
  if (typeof request.checkpoint !== 'string' || !request.checkpoint) throw configError('checkpoint must be a non-empty string');
  const c = request.config;
  validateConfig(c);
  if (process.env.FTB_STANDIN_NO_TORCH === '1') throw new PeerError('ERR_FTB_UNAVAILABLE', 'python3 has no torch');
  if (request.peer === 'hf-generate' && c.path !== 'decoding') throw configError(`hf-generate runs the decoding path only, got path '${c.path}'`);
  const configFile = path.join(request.checkpoint, 'config.json');
  if (!fs.existsSync(configFile)) throw configError(`${configFile}: no such file`);
  const file = path.join(request.checkpoint, 'inputs.safetensors');
  const tensors = readSafetensors(file);
  const hidden = c.heads * c.head_size;
  const rows = c.batch * c.beam;
  const memoryLen = c.mem_len > 0 ? c.mem_len : c.seq;
  const inputs = c.path === 'encoder'
    ? { encoder_input: requireTensor(tensors, 'encoder_input', [c.batch, c.seq, hidden], file),
        encoder_lengths: requireTensor(tensors, 'encoder_lengths', [c.batch], file) }
    : { memory: requireTensor(tensors, 'memory', [c.batch, memoryLen, hidden], file),
        memory_lengths: requireTensor(tensors, 'memory_lengths', [c.batch], file),
        decoder_input: c.path === 'decoder' ? requireTensor(tensors, 'decoder_input', [c.seq, rows, hidden], file) : null };
  const compile = { 'torch-graph': 0.02, 'torch-compile': 1.5 }[request.peer] ?? null;
  return { point: { config: c, peer: request.peer, inputs, ran: false },
           reply: { ok: true, load_s: 0.01, compile_s: compile, notes: { standin: 'true' } } };
}

let point = null;

function handle(request) {
  const loaded = () => {
    if (point === null) throw configError('no model is loaded: send load first');
    return point;
  };
  switch (request.op) {
    case 'hello': {
      const torch = process.env.FTB_STANDIN_NO_TORCH !== '1';
      return { ok: true, python: 'standin', torch: torch ? 'standin' : null, transformers: torch ? 'standin' : null,
               torch_cuda: torch ? 'standin' : null, cudnn: null, device: torch ? 'Stand-in GPU' : null,
               cuda_available: torch, peers: PEERS };
    }
    case 'load': {
      point = null;
      const { point: next, reply } = load(request);
      point = next;
      return reply;
    }
    case 'measure': {
      const p = loaded();
      if (!Number.isInteger(request.iterations) || request.iterations < 1) throw configError(`iterations must be a positive integer, got ${JSON.stringify(request.iterations)}`);
      const c = p.config;
      const ms = 0.001 * c.layers * c.batch * c.beam * c.seq * FACTOR[p.peer] * (request.flush_l2 ? 1.05 : 1);
      p.ran = true;
      return { ok: true, ms, sm_clock_mhz: Number(process.env.FTB_STANDIN_CLOCK ?? 1980) };
    }
    case 'run':
      loaded().ran = true;
      return { ok: true };
    case 'outputs': {
      const p = loaded();
      if (!p.ran) throw configError('outputs requested before a run');
      if (typeof request.dir !== 'string' || !request.dir) throw configError('dir must be a non-empty string');
      fs.mkdirSync(request.dir, { recursive: true });
      const { files, steps } = outputsOf(p);
      const described = {};
      for (const [name, [array, shape]] of Object.entries(files)) {
        fs.writeFileSync(path.join(request.dir, `${name}.bin`), new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
        described[name] = { file: `${name}.bin`, dtype: array instanceof Float32Array ? 'float32' : 'int32', shape };
      }
      return { ok: true, files: described, steps_run: steps };
    }
    case 'release':
      point = null;
      return { ok: true };
    case 'hf_hidden':
      return hfHidden(request);
    default:
      throw configError(`op must be one of hello, load, measure, run, outputs, release, hf_hidden, exit; got ${JSON.stringify(request.op)}`);
  }
}

const reply = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (!line.trim()) return;
  if (process.env.FTB_STANDIN_LOG) fs.appendFileSync(process.env.FTB_STANDIN_LOG, `${line}\n`);
  let request;
  try {
    request = JSON.parse(line);
    if (typeof request !== 'object' || request === null || Array.isArray(request)) throw new Error('not an object');
  } catch (error) {
    reply({ ok: false, code: 'ERR_FTB_CONFIG', error: `a request must be one JSON object per line: ${error.message}` });
    return;
  }
  const op = request.op;
  seen.set(op, seen.get(op) ?? 0);
  if (op === 'exit') {
    reply({ ok: true });
    process.exit(0);
  }
  if (triggered(crashKnob, op, 0)) process.exit(3);
  if (triggered(hangKnob, op, 0)) {
    lines.close(); // reads nothing more; the timer keeps the process alive until it is killed
    setInterval(() => {}, 1 << 30);
    return;
  }
  try {
    if (triggered(failKnob, op, 1)) throw new PeerError(failKnob.parts[0], `stand-in failure injected at ${op} (FTB_STANDIN_FAIL)`);
    reply(handle(request));
  } catch (error) {
    reply({ ok: false, code: error.code ?? 'ERR_FTB_ENGINE', error: error.message.replace(/\s+/g, ' ') });
  } finally {
    seen.set(op, seen.get(op) + 1);
  }
});
