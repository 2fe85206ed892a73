/**
 * A ProvingDevice ("queue") whose proofs are made by prover workers on other processes or machines
 * (scripts/proverWorker.ts), through a pg-boss queue: prove() sends a job and resolves with what the
 * worker that completed it returned, unchecked. QueueProver (queueProver.ts) is what the sequencer uses:
 * it verifies each answer here and re-queues refused ones.
 *
 * A job's data is a ProofJob; a worker completes it with a ProofAnswer as the job's output, fenced to the
 * attempt it fetched (pg-boss JobAttempt), so the answer of a worker whose attempt expired is refused by
 * the queue and never read here. prove() polls the job's state (findJobs) until it is completed or failed.
 */
import * as snarkjs from "snarkjs";
import type { PgBoss, QueueOptions } from "pg-boss";
import type { CircuitKeys, ProofResult, ProvingDevice, StageTimings } from "../device.ts";
import { connectBoss, DEFAULT_QUEUE } from "./jobEngine.ts";

/** Version of the job format below (a worker refuses jobs of another version). */
export const PROOF_JOB_VERSION = 1;

/** The data of a proof job. */
export type ProofJob = {
  v: typeof PROOF_JOB_VERSION;
  /** The caller's label (the batch number), for logs. */
  label: string;
  /** Paths of the witness calculator and the proving key: workers need the same artifacts at the same paths. */
  keys: { wasm: string; zkey: string };
  /** The circuit input (the witness input), as JSON. */
  input: Record<string, unknown>;
  /** Workers that must not prove it (they returned a bad proof): they hand it back to the queue. */
  exclude: string[];
};

/** A worker's answer, the output of a completed job (or `{ worker, inputRefused: message }`: QueueInputRefused). */
export type ProofAnswer = { worker: string; proof: snarkjs.Groth16Proof; publicSignals: string[]; timings: StageTimings };

export type QueueProofResult = ProofResult & { worker: string; queueJobId: string; queueMs: number };

export type QueueDeviceOptions = {
  /** pg-boss queue name (default DEFAULT_QUEUE). */
  queue?: string;
  /** Settings of the queue when this device creates it (expiry, retries): DEFAULT_QUEUE_OPTIONS otherwise. */
  queueOptions?: QueueOptions;
  /** How often a pending job's state is read (ms, default 200). */
  pollMs?: number;
  /** How often expired jobs are put back in the queue (s, default 5): this side runs pg-boss's supervisor. */
  superviseIntervalSeconds?: number;
  log?: (line: string) => void;
};

/** A job the queue gave up on (its retries ran out), or a malformed answer. */
export class QueueJobError extends Error {}

/**
 * A worker's answer that the circuit refuses the input (its witness fails): the message carries the
 * witness calculator's error, so the batch pipeline's circuitRefused() recognises it and finds the
 * refused transaction with its own witness calculator (a false claim is not reproduced there: the batch
 * is retried).
 */
/** A worker's answer that the circuit refuses the job's input; `worker` is the name the answer gives. */
export class QueueInputRefused extends Error {
  constructor(message: string, readonly worker: string) {
    super(message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function isAnswer(x: unknown): x is ProofAnswer {
  const a = x as ProofAnswer | null;
  return (
    typeof a === "object" && a !== null && typeof a.worker === "string" && typeof a.proof === "object" && a.proof !== null &&
    Array.isArray(a.publicSignals) && a.publicSignals.every((s) => typeof s === "string")
  );
}

export class QueueDevice implements ProvingDevice {
  readonly name = "queue";
  readonly queue: string;
  private readonly boss: PgBoss;
  private readonly pollMs: number;
  private closed = false;
  private verifying: Promise<unknown> = Promise.resolve();

  private constructor(boss: PgBoss, queue: string, pollMs: number) {
    this.boss = boss;
    this.queue = queue;
    this.pollMs = pollMs;
  }

  /** Connects to the job engine at `url` and creates the queue if it is missing. */
  static async connect(url: string, options: QueueDeviceOptions = {}): Promise<QueueDevice> {
    const queue = options.queue ?? DEFAULT_QUEUE;
    const log = options.log ?? console.error;
    const boss = await connectBoss(url, {
      queue,
      queueOptions: options.queueOptions,
      supervise: true,
      superviseIntervalSeconds: options.superviseIntervalSeconds,
      onError: (e) => log(`prover queue: ${e.message}`),
    });
    return new QueueDevice(boss, queue, options.pollMs ?? 200);
  }

  prove(keys: CircuitKeys, input: Record<string, unknown>): Promise<QueueProofResult> {
    return this.proveJob("-", keys, input, []);
  }

  /** Sends one job and waits for the answer of the worker that completes it. */
  async proveJob(label: string, keys: CircuitKeys, input: Record<string, unknown>, exclude: readonly string[]): Promise<QueueProofResult> {
    const t0 = performance.now();
    const job: ProofJob = { v: PROOF_JOB_VERSION, label, keys: { wasm: keys.wasm, zkey: keys.zkey }, input, exclude: [...exclude] };
    const id = await this.boss.send(this.queue, job);
    if (!id) throw new QueueJobError(`job ${label}: the queue refused it`);
    for (;;) {
      if (this.closed) throw new QueueJobError(`job ${label}: the prover queue was closed`);
      const [found] = await this.boss.findJobs<ProofJob>(this.queue, { id });
      if (!found) throw new QueueJobError(`job ${label} (${id}): gone from the queue`);
      if (found.state === "completed") {
        const refused = (found.output as { inputRefused?: unknown; worker?: unknown } | null)?.inputRefused;
        if (typeof refused === "string") {
          const worker = String((found.output as { worker?: unknown }).worker);
          throw new QueueInputRefused(`job ${label} (${id}): worker ${worker}: the circuit refuses the input: ${refused}`, worker);
        }
        if (!isAnswer(found.output)) throw new QueueJobError(`job ${label} (${id}): malformed answer ${JSON.stringify(found.output).slice(0, 200)}`);
        const { worker, proof, publicSignals, timings } = found.output;
        return { worker, proof, publicSignals, timings, queueJobId: id, queueMs: performance.now() - t0 };
      }
      if (found.state === "failed" || found.state === "cancelled") {
        throw new QueueJobError(`job ${label} (${id}): ${found.state} after ${found.retryCount} retries: ${JSON.stringify(found.output).slice(0, 300)}`);
      }
      await sleep(this.pollMs);
    }
  }

  /**
   * Checked here, never by a worker (snarkjs, as the custodian's verifier would), one at a time:
   * concurrent first calls would each build snarkjs's process-wide curve (worker threads), and all but
   * the one kept in globalThis.curve_bn128 would never be terminated (a process that cannot exit; seen).
   */
  verify(keys: CircuitKeys, publicSignals: readonly string[], proof: snarkjs.Groth16Proof): Promise<boolean> {
    const check = async () => {
      try {
        return await snarkjs.groth16.verify(keys.vkey, [...publicSignals], proof);
      } catch {
        return false; // a malformed proof from a worker
      }
    };
    const result = this.verifying.then(check);
    this.verifying = result;
    return result;
  }

  /** The queue's jobs, for tests and operators (state, retries, output). */
  jobs() {
    return this.boss.findJobs<ProofJob>(this.queue, {});
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.boss.stop({ graceful: false, close: true });
  }
}
