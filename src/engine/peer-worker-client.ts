// The pipe to a peer worker (peers/torch/worker.py, or any program speaking its protocol:
// peers/torch/PROTOCOL.md): one JSON request per stdin line, exactly one JSON reply per stdout line,
// in order. Every request has a timeout; a worker that does not answer in time is killed, and one
// that dies or writes something that is not a reply fails the request it was serving. Failures
// reject with a PeerError whose code is the reply's (ERR_FTB_CONFIG, ERR_FTB_OOM, ERR_FTB_ENGINE,
// ERR_FTB_UNAVAILABLE); a dead or hung worker is ERR_FTB_ENGINE, one that cannot start ERR_FTB_UNAVAILABLE.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import readline from 'node:readline';
import { projectRoot } from './native.js';

export const PEER_ERROR_CODES = ['ERR_FTB_CONFIG', 'ERR_FTB_OOM', 'ERR_FTB_ENGINE', 'ERR_FTB_UNAVAILABLE'] as const;
export type PeerErrorCode = (typeof PEER_ERROR_CODES)[number];

/** A failed request: the worker's own coded reply, or what happened to the worker. */
export class PeerError extends Error {
  constructor(readonly code: PeerErrorCode, message: string) {
    super(message);
  }
}

/** A successful reply: `ok` and the op's fields. */
export type PeerReply = { ok: true } & Record<string, unknown>;

/** The worker's answer to hello: versions of what it runs on, and which peers it offers. */
export interface PeerHello {
  python: string;
  torch: string | null;
  transformers: string | null;
  torch_cuda: string | null;
  cudnn: string | null;
  device: string | null;
  cuda_available: boolean;
  peers: string[];
}

/** Environment variable holding the worker's command line (words separated by spaces), e.g. a stand-in's. */
export const PEER_WORKER_ENV = 'FTBENCH_PEER_WORKER';

/** The worker's command: FTBENCH_PEER_WORKER, else `python3 peers/torch/worker.py` (run in the repository root). */
export function peerWorkerCommand(): string[] {
  const words = process.env[PEER_WORKER_ENV]?.trim().split(/\s+/).filter(Boolean);
  return words && words.length > 0 ? words : ['python3', 'peers/torch/worker.py'];
}

/** What stderr keeps for error messages (the end of the worker's log). */
const STDERR_TAIL_CHARS = 2000;

interface Pending {
  op: string;
  resolve: (reply: PeerReply) => void;
  reject: (error: PeerError) => void;
  timer: NodeJS.Timeout;
}

export class PeerWorkerClient {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly pending: Pending[] = [];
  private stderrTail = '';
  /** Why the worker can take no more requests (it exited, was killed, or broke the protocol). */
  private dead: PeerError | undefined;
  private readonly exited: Promise<void>;

  constructor(command: readonly string[] = peerWorkerCommand()) {
    // Its own process group: Ctrl-C reaches the harness, which decides when to stop; the worker
    // ends when its stdin closes (with its point worker, however that ends).
    this.child = spawn(command[0], command.slice(1), { cwd: projectRoot, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.exited = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.fail(new PeerError('ERR_FTB_UNAVAILABLE', `cannot start the peer worker (${command.join(' ')}): ${error.message}`));
        resolve();
      });
      // 'close', not 'exit': by then every reply it wrote has been read, and its log is complete.
      this.child.once('close', (code, signal) => {
        this.fail(new PeerError('ERR_FTB_ENGINE', `the peer worker exited (${signal ? `signal ${signal}` : `exit code ${code}`})${this.logTail()}`));
        resolve();
      });
    });
    this.child.stdin.on('error', () => {}); // a dead worker's closed pipe: its exit says what happened
    this.child.stderr.setEncoding('utf8').on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_CHARS);
    });
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => this.onLine(line));
  }

  /** Sends `request` and resolves with its reply; rejects with a PeerError (coded reply, death, timeout). */
  request(request: { op: string } & Record<string, unknown>, timeoutMs: number): Promise<PeerReply> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new PeerError('ERR_FTB_ENGINE', `the peer worker did not answer within ${Number((timeoutMs / 1000).toPrecision(3))} s (killed)`));
      }, timeoutMs);
      this.pending.push({ op: request.op, resolve, reject, timer });
      this.child.stdin.write(`${JSON.stringify(request)}\n`);
    });
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  /** Asks the worker to exit and waits for it (killing it after `graceMs`). */
  async close(graceMs = 5000): Promise<void> {
    if (this.alive) {
      await this.request({ op: 'exit' }, graceMs).catch(() => {});
      this.child.stdin.end();
    }
    const timer = setTimeout(() => this.kill(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  private onLine(line: string): void {
    if (!line.trim()) return;
    const next = this.pending.shift();
    if (!next) return this.fail(new PeerError('ERR_FTB_ENGINE', `the peer worker wrote a line no request asked for: ${line.slice(0, 200)}`));
    clearTimeout(next.timer);
    let reply: Record<string, unknown>;
    try {
      reply = JSON.parse(line) as Record<string, unknown>;
    } catch {
      next.reject(new PeerError('ERR_FTB_ENGINE', `the peer worker answered ${next.op} with a line that is not JSON: ${line.slice(0, 200)}`));
      return this.fail(new PeerError('ERR_FTB_ENGINE', 'the peer worker broke the protocol (a reply that is not JSON)'));
    }
    if (reply.ok === true) return next.resolve(reply as PeerReply);
    const code = PEER_ERROR_CODES.find((known) => known === reply.code) ?? 'ERR_FTB_ENGINE';
    next.reject(new PeerError(code, `${next.op}: ${typeof reply.error === 'string' ? reply.error : JSON.stringify(reply)}`));
  }

  /** Marks the worker unusable with `error`, fails every request in flight, and kills it. */
  private fail(error: PeerError): void {
    if (!this.dead) this.dead = error;
    for (const pending of this.pending.splice(0)) {
      clearTimeout(pending.timer);
      pending.reject(new PeerError(error.code, `${pending.op}: ${error.message}`));
    }
    this.kill();
  }

  /** Kills the worker's process group (torch.compile's compile workers with it). */
  private kill(): void {
    if (this.child.pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  /** The end of the worker's stderr, for a message about its death. */
  private logTail(): string {
    const lines = this.stderrTail.trim().split('\n').slice(-3).join(' | ');
    return lines ? `; its log ends: ${lines}` : '';
  }
}

/** How long hello may take: importing torch and initialising CUDA. */
export const HELLO_TIMEOUT_MS = 120_000;

/** Whether peers can run here, as a fresh worker says: its hello, or why there is none. */
export type PeerProbe = { hello: PeerHello; unavailable?: string } | { hello?: undefined; unavailable: string };

/** Starts a worker, asks hello once and lets it go; never rejects (what went wrong is the reason peers are unavailable). */
export async function probePeers(command: readonly string[] = peerWorkerCommand(), timeoutMs = HELLO_TIMEOUT_MS): Promise<PeerProbe> {
  const client = new PeerWorkerClient(command);
  try {
    const hello = (await client.request({ op: 'hello' }, timeoutMs)) as unknown as PeerHello;
    if (hello.torch === null) return { hello, unavailable: `python ${hello.python} has no torch` };
    if (!hello.cuda_available) return { hello, unavailable: `torch ${hello.torch} sees no CUDA GPU` };
    return { hello };
  } catch (error) {
    return { unavailable: (error as Error).message.replace(/^hello: /, '') };
  } finally {
    await client.close();
  }
}
