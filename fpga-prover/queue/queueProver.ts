/**
 * The VerifiedProver of `--prover-queue`: proofs made by prover workers through the queue (QueueDevice),
 * each checked here before it is handed out. A proof that does not verify, or proves other public signals
 * than expected, is refused: the job is sent again with that worker excluded (and the worker is excluded
 * from every job for `quarantineMs`), up to `attempts` sends in all. A worker's answer that the circuit
 * refuses the input rejects (QueueInputRefused) once the witness calculator here refuses it too; a false claim
 * counts as a bad proof. Results are delivered in submission
 * order: prove() for job k resolves only after every earlier prove() has settled.
 */
import { nonCanonicalProof } from "../proofForm.ts";
import type { CircuitKeys } from "../device.ts";
import { calculateWitness } from "../witness.ts";
import { isWitnessFailure } from "../pool/index.ts";
import { signalsMismatch, type ExpectedSignals, type VerifiedProof, type VerifiedProver } from "../prover.ts";
import { QueueDevice, QueueInputRefused, type QueueDeviceOptions } from "./queueDevice.ts";

export type QueueProverOptions = QueueDeviceOptions & {
  /** Jobs sent per prove() call (a refused proof or a job the queue gave up on is sent again). Default 4. */
  attempts?: number;
  /** How long a worker that returned a bad proof is excluded from all jobs (ms, default 10 minutes). */
  quarantineMs?: number;
};

export type QueueVerifiedProof = VerifiedProof & {
  /** The worker whose proof this is, and the queue's id of the job it answered. */
  worker: string;
  queueJobId: string;
  /** Workers whose proofs were refused for this job, and other failed sends. */
  refused: { worker?: string; reason: string }[];
  timings: VerifiedProof["timings"] & { queueMs: number };
};

/** Host, port and database of a postgres:// URL, without the password (for logs). */
export function describeQueueUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
}

export class QueueProver implements VerifiedProver {
  readonly device: QueueDevice;
  private readonly attempts: number;
  private readonly quarantineMs: number;
  private readonly log: (line: string) => void;
  private readonly quarantined = new Map<string, number>();
  private tail: Promise<unknown> = Promise.resolve();

  constructor(device: QueueDevice, options: QueueProverOptions = {}) {
    this.device = device;
    this.attempts = options.attempts ?? 4;
    this.quarantineMs = options.quarantineMs ?? 600_000;
    this.log = options.log ?? console.log;
  }

  static async connect(url: string, options: QueueProverOptions = {}): Promise<QueueProver> {
    return new QueueProver(await QueueDevice.connect(url, options), options);
  }

  prove(jobId: number, keys: CircuitKeys, input: Record<string, unknown>, expectedSignals: ExpectedSignals): Promise<QueueVerifiedProof> {
    const result = this.proveUnordered(jobId, keys, input, expectedSignals);
    result.catch(() => {}); // handled below, once the earlier jobs have settled
    const previous = this.tail;
    const delivered = previous.then(() => result, () => result);
    this.tail = delivered.catch(() => {});
    return delivered;
  }

  private excluded(forJob: Set<string>): string[] {
    const now = Date.now();
    for (const [w, until] of this.quarantined) if (until <= now) this.quarantined.delete(w);
    return [...new Set([...forJob, ...this.quarantined.keys()])];
  }

  private async proveUnordered(jobId: number, keys: CircuitKeys, input: Record<string, unknown>, expected: ExpectedSignals): Promise<QueueVerifiedProof> {
    const refused: QueueVerifiedProof["refused"] = [];
    const badWorkers = new Set<string>();
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      let r;
      try {
        r = await this.device.proveJob(String(jobId), keys, input, this.excluded(badWorkers));
      } catch (e) {
        // a refusal is believed once the witness calculator here refuses the input too (a fraction of a proof's
        // cost); a worker that claims it falsely is treated as one that returned a bad proof
        if (e instanceof QueueInputRefused) {
          if (await refusedHere(keys, input)) throw e;
          const reason = "claimed the circuit refuses an input it accepts";
          refused.push({ worker: e.worker, reason });
          badWorkers.add(e.worker);
          this.quarantined.set(e.worker, Date.now() + this.quarantineMs);
          this.log(`job ${jobId}: worker ${e.worker} ${reason}; sent again without it`);
          continue;
        }
        refused.push({ reason: (e as Error).message });
        this.log(`job ${jobId}: ${(e as Error).message}`);
        continue;
      }
      const v0 = performance.now();
      // the proof in the one form the custodian reads (what snarkjs would also take in other forms is refused), so
      // what is verified here is what will be posted
      const mismatch = signalsMismatch(r.publicSignals, expected) ?? nonCanonicalProof(r.proof);
      const ok = mismatch === null && (await this.device.verify(keys, r.publicSignals, r.proof));
      const verifyMs = performance.now() - v0;
      if (ok) {
        return { proof: r.proof, publicSignals: r.publicSignals, worker: r.worker, queueJobId: r.queueJobId, refused, timings: { ...r.timings, verifyMs, queueMs: r.queueMs } };
      }
      const reason = mismatch ?? "proof does not verify";
      refused.push({ worker: r.worker, reason });
      badWorkers.add(r.worker);
      this.quarantined.set(r.worker, Date.now() + this.quarantineMs);
      this.log(`job ${jobId}: proof from worker ${r.worker} refused (${reason}); sent again without it`);
    }
    throw new Error(`job ${jobId}: no valid proof from the prover queue in ${this.attempts} sends (${refused.map((x) => `${x.worker ?? "queue"}: ${x.reason}`).join("; ")})`);
  }

  async close(): Promise<void> {
    await this.device.close();
  }
}

/** Whether the witness calculator refuses `input` (the circuit's own constraints, as a worker's refusal claims). */
async function refusedHere(keys: CircuitKeys, input: Record<string, unknown>): Promise<boolean> {
  try {
    await calculateWitness(keys.wasm, input);
    return false;
  } catch (e) {
    if (isWitnessFailure(e instanceof Error ? e.message : String(e))) return true;
    throw e;
  }
}
