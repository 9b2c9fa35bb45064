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
/** What the worker sends: once `ready` (its engine loaded, the point's clock may start), then a reply per request. */
export type WorkerMessage = WorkReply | { ready: true };

// Ctrl-C, SIGTERM and SIGHUP reach the whole process group: the supervisor decides when to stop
// (after this point, or at once by killing this process).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => {});
// Without its supervisor (killed, crashed, or done with the sweep) no one records what this process
// measures: it exits, as soon as the engine point it is running (which holds the thread) ends, or at
// once during a peer's point; its peer worker is stopped with it (its stdin closes too).
process.on('disconnect', () => {
  void peers.close();
  process.exit(0);
});

/** Sends `message` to the supervisor; a failed send means it is gone (the 'disconnect' above exits). */
const reply = (message: WorkerMessage): void => {
  if (process.connected) process.send!(message, () => {});
};

const addon = loadAddon();
const references = engineReferences(addon);
const peers = new PeerBackend(addon);
process.on('exit', () => peers.removeFiles());
reply({ ready: true });

// Every request of a run carries the same work: the GEMM table is handed to the engine once.
let gemmTableSet = false;

process.on('message', async (request: WorkRequest) => {
  let outcome: WorkReply;
  try {
    if (request.work.gemmTable && !gemmTableSet) {
      addon.setGemmTable(request.config.backend, request.work.gemmTable, { enabled: false });
      gemmTableSet = true;
    }
    outcome = { point: await runPoint(request.config, { ...request.work, addon, references, peers }) };
  } catch (error) {
    outcome = { harnessError: (error as Error).stack ?? String(error) };
  }
  reply(outcome);
});
