// `ftbench --help`: the bench and tune usage text, with the profiles' descriptions.
import { PROFILES } from '../../suites/index.js';
import { DEFAULT_GEMM_CACHE_DIR } from '../gemm/cache.js';
import { DEFAULT_OUT, DEFAULT_POINT_TIMEOUT_S, PROFILE_ITERATIONS } from './args.js';

/** `text` broken into lines of at most `width` characters, each starting with `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const lines = [indent];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (lines[last].length + word.length + 1 > width && lines[last].trim()) lines.push(`${indent}  ${word}`);
    else lines[last] += lines[last].trim() ? ` ${word}` : word;
  }
  return lines.join('\n');
}

export const USAGE = `usage: npm run bench -- [options]        (or: ftbench bench [options])
       npm run tune -- [options]         (or: ftbench tune [options])

bench runs a profile's sweep point by point and writes <out>/<run-id>.jsonl (as points finish), .json,
.csv (and .gemm.csv: the GEMMs each point ran, cuda). tune plans the profile's points and tunes every
GEMM shape the tuning cache (${DEFAULT_GEMM_CACHE_DIR}/<gpu>-cuda<ver>-cublas<ver>.json) lacks.
Lists are comma-separated (--batch 1,8,32); a list given here replaces that axis in every sweep.

  --profile NAME        ${Object.keys(PROFILES).join(' | ')}
                        (default: smoke on the cpu backend; on cuda, h100 on an H100, else a100)
  --backend NAME        cpu | cuda (default: cuda when the addon has it, else cpu)
  --path LIST           keep only these paths: encoder, decoder, decoding
  --variant LIST        fused, unfused (cuda; the cpu backend runs one variant, reference), and peers
                        (see --peers): a peer listed here runs in every sweep
  --peers LIST          add peers to the profile's sweeps (but those it keeps to the engine: a100, h100
                        and decoding add them to fp16/bf16 encoder and beam-search decoding only):
                        torch-eager, torch-graph, torch-compile (its compile takes minutes a point),
                        hf-generate (decoding); they run on the cuda backend's GPU in python3 with torch
                        (peers/torch/), or are dropped with the reason ($FTBENCH_PEER_WORKER: another worker)
  --precision LIST      fp32, tf32, fp16, bf16, fp8 (the cpu backend runs fp32; fp8: cuda on compute
                        capability 8.9 or newer, E4M3 GEMMs with dynamic per-token scales, every path)
  --batch LIST          batch sizes
  --beam LIST           beam widths (decoder, decoding)
  --seq LIST            encoder sequence lengths (and decoder/decoding steps unless --steps)
  --steps LIST          decoder/decoding steps
  --layers N --heads N --head-size N --inter-size N --vocab N
                        model dims, one value each
  --top-k LIST --top-p LIST --temperature LIST
                        sampling (decoding at beam 1)
  --model DIR           a Hugging Face BERT / RoBERTa / XLM-R / DistilBERT folder (config.json, safetensors):
                        its weights on the encoder path, dims from config.json; parity_rel_err recorded
                        against transformers' own output (python3 with transformers), else the cpu reference
  --inputs FILE         token ids for --model, JSON {ids: number[][], lengths?: number[]} (sets batch, seq;
                        default: seeded random ids)
  --full-length         every sequence at full length (no padding)
  --graph, --no-graph   every variant replays a CUDA graph (the unfused encoder included), or none does
                        (default: fused replays one, unfused launches each kernel from the host)
  --mode LIST           auto, cold, hot or both (= cold,hot): cold flushes the L2 before each run, hot
                        times back-to-back runs; auto (default) is cold under 1 ms, else hot
  --tp LIST             tensor-parallel ranks, 1, 2, 4 or 8 (default 1): the layers split Megatron-style
                        (heads, FFN and vocabulary must divide by tp). The cpu backend simulates the
                        ranks in one process; the cuda backend runs tp 1 only: tp > 1 is dropped there
                        (tensor parallelism over NCCL is not built; it needs NCCL and several GPUs)
  --profile-kernels     also trace ${PROFILE_ITERATIONS} units per point with CUPTI: time per stage and kernel (cuda)
  --seed N              seed of the weights, inputs and sampling draws
  --min-samples N       samples per point at least (default: the profile's, 20 on the GPU)
  --min-time S          backend time the samples add up to at least, seconds (GPU default 0.25)
  --max-noise PCT       past both minimums, stop once the samples' relative stdev is <= PCT (default 1)
                        (or once it stops changing)
  --timeout S           stop sampling a point after S seconds of wall time (GPU default 10)
  --warmup S            backend time run before samples are kept, seconds (GPU default 0.1)
  --instances N         spread each point's samples over N fresh model instances (default: the profile's);
                        the sample, time and warm-up budgets are shared out among them
  --fresh-process       run each point in a worker process of its own (default: the profile's; decoding
                        and stability do): no point's figure depends on the points before it
  --shared-process      one worker process for point after point (faster; default elsewhere)
  --out DIR             where the run's files go (default ${DEFAULT_OUT})
  --run-id ID           the files' name (default <profile>-<yyyymmdd-hhmmss>, UTC)
  --force               replace the files of an existing run of that id (never one still running)
  --repeat N            run the whole sweep N times in one run (stability runs; points carry repeat)
  --resume ID           finish run ID in --out: runs its points missing from <ID>.jsonl, with the run's
                        own profile and options (no other sweep or measurement flag)
  --point-timeout S     a point still running after S seconds is stopped and recorded as an error
                        (default ${DEFAULT_POINT_TIMEOUT_S})
  --markdown FILE       append a markdown summary of the run to FILE (e.g. $GITHUB_STEP_SUMMARY)
  --tune                tune the shapes the GEMM cache lacks before running (cuda)
  --suite NAME          points (default): the sweep; gemm: each distinct GEMM shape of the profile at
                        fp32, tf32, fp16 and bf16 (unless --precision), tuned vs cuBLASLt's heuristic,
                        written to <out>/gemm-<profile>-<date>.{json,csv} (cuda)
  --shard K/N           run the K-th of N slices of the sweep (point i goes to shard i mod N + 1), for
                        sweeps spread over machines; ftbench merge joins the shards' files into one run
  --gemm-cache FILE     the GEMM tuning cache to use (default: the device's file in ${DEFAULT_GEMM_CACHE_DIR})
  -h, --help            this text

profiles:
${Object.values(PROFILES).map((p) => wrap(`${p.name}: ${p.description}`, 100, '  ')).join('\n')}

Each point runs in a worker process: a crash or a timeout is recorded for that point and the sweep
goes on. Ctrl-C stops after the current point (twice: at once), SIGTERM and SIGHUP at once; either
way the run's files are written. One process at a time writes a run (<run-id>.lock).

exit: 0 every point ok and correct (or unchecked: hf-generate), 1 a point failed or is incorrect, 2 bad input
or a file that cannot be written, 130 interrupted (Ctrl-C), 143 SIGTERM, 129 SIGHUP`;
