// The child process that runs points for the supervisor (src/run/supervisor.ts): each message in is one
// point to run, each message out its record. A crash here (a CUDA fault, an abort, a signal) ends
// only this process; the supervisor records it for the point and starts another. Peer points run in
// this process's one peer worker (src/engine/peer-model.ts), started at the first of them.
import type { PointConfig } from '../engine/config.js';
import { loadAddon } from '../engine/native.js';
import { PeerBackend } from '../engine/peer-model.js';
import { engineReferences } from '../check/references.js';
import { runPoint, type PointWork } from '../measure/runner.js';
import type { Point } from '../results/schema.js';

export interface WorkRequest {
  config: PointConfig;
  work: PointWork;
}

/** The point's record, or the message of a harness error (an exception that is no engine error). */
export type WorkReply = { point: Point } | { harnessError: string };

// Ctrl-C reaches the whole process group: the supervisor decides when to stop, after this point.
process.on('SIGINT', () => {});

const addon = loadAddon();
const references = engineReferences(addon);
const peers = new PeerBackend(addon);

// The supervisor closes the channel when the sweep is done: the peer worker exits with this process.
process.on('disconnect', () => void peers.close());
process.on('exit', () => peers.removeFiles());

// Every request of a run carries the same work: the GEMM table is handed to the engine once.
let gemmTableSet = false;

process.on('message', async (request: WorkRequest) => {
  let reply: WorkReply;
  try {
    if (request.work.gemmTable && !gemmTableSet) {
      addon.setGemmTable(request.config.backend, request.work.gemmTable, { enabled: false });
      gemmTableSet = true;
    }
    reply = { point: await runPoint(request.config, { ...request.work, addon, references, peers }) };
  } catch (error) {
    reply = { harnessError: (error as Error).stack ?? String(error) };
  }
  process.send!(reply);
});
