/**
 * A proving pool: schedules proof jobs over several ProvingDevices, verifies every proof on a second
 * device before handing it out (paper Protocol 4), breaks disagreements with a third device, keeps hot
 * spares idle until a device fails, and fails jobs over when a device throws, lies or stalls.
 *
 * Pipeline (two stages):
 *   submit -> [prepare]  (sequential, in submission order; runs for job k+1 while job k proves)
 *          -> [dispatch] (in submission order: the head job waits for a free device, later jobs wait behind it)
 *          -> [prove on primary P] -> [public-input check] -> [verify on V != P] -> deliver
 * At most `prepareAhead` prepared jobs wait for a device, so witness generation runs ahead of proving by a
 * bounded amount. A device runs at most one call (prove or verify) at a time; verification and
 * tie-break requests are served before new jobs, so jobs already in flight finish first.
 *
 * Tie-breaks (README.md in this folder has the table):
 * - V says the proof is invalid: a third device T re-verifies the same proof. T says valid -> V is
 *   faulty (marked unhealthy) and the proof is accepted (it has now been checked by T != P). T says
 *   invalid -> P is faulty (marked unhealthy) and the job is re-proved on another device. No T
 *   available -> nobody is blamed, the proof is discarded and re-proved, preferring a device that has
 *   not proved this job yet (so P and V swap roles).
 * - The public signals differ from `expectedPublicInput`: the proof is discarded, P becomes a suspect,
 *   and the next prove (on another device) is the tie-break by re-proving. The re-prove matches the
 *   expectation -> P is faulty. It returns the same signals as P -> two devices agree, so the
 *   expectation (the caller's input) is wrong: the job is rejected and no device is blamed. It returns
 *   yet other signals -> both are marked unhealthy.
 * - A device that throws or does not answer within `deadlineMs` is marked unhealthy at once. A stalled
 *   device stays occupied until its call settles; its late answer is discarded.
 * - A prove that fails computing the witness (the circuit refuses the input: a failed assertion or
 *   constraint, missing or extra inputs; isWitnessFailure) is the job's fault until shown otherwise: no
 *   device is blamed, and the next prove on another device is the tie-break. It refuses the input too
 *   (or no other device can try) -> the job is rejected as the input's fault (ProverPoolError.inputRefused),
 *   nobody blamed. It proves -> the first device is faulty. (issue 11, finding 7: an unprovable batch
 *   marked both devices of a pool unhealthy and stopped it.)
 *
 * Each job settles exactly once. With `ordered` (default) results are delivered in submission order, so
 * a sequencer posting batch k+1 never sees it before batch k has settled.
 */
import type { Groth16Proof } from "snarkjs";
import type { CircuitKeys, ProofResult, ProvingDevice, StageTimings } from "../device.ts";
import { signalsMismatch } from "../prover.ts";
import { LatencySamples, type Percentiles } from "./metrics.ts";

export type JobId = string | number;

/** A full list of public signals, or a single value compared with publicSignals[0]. */
export type ExpectedPublicInput = string | bigint | readonly (string | bigint)[];

export type PrepareFn<P> = (jobId: JobId, payload: P) => Promise<Record<string, unknown>> | Record<string, unknown>;

export type ProverPoolOptions<P = Record<string, unknown>> = {
  /** A device call (prove or verify) not answered within this many ms marks the device unhealthy. Default 600 000. */
  deadlineMs?: number;
  /** Deadline for verify calls; defaults to deadlineMs. */
  verifyDeadlineMs?: number;
  /** Prove calls per job (failovers and tie-break re-proves included). Default: number of devices. */
  maxAttempts?: number;
  /** The last `hotSpares` devices are kept idle until a regular device is unhealthy (spare i serves once i+1 are). Default 0. */
  hotSpares?: number;
  /** Verify each proof on a device other than its prover (Protocol 4). Default true; needs 2 devices. */
  verifyOnDifferentDevice?: boolean;
  /** An unhealthy device is tried again this many ms after its last failure. Default 30 000. */
  coolDownMs?: number;
  /** Turns a submitted payload into the circuit input (e.g. builds the batch witness input). Default: identity. */
  prepare?: PrepareFn<P>;
  /** Prepared jobs allowed to wait for a device (the pipeline depth). Default 1. */
  prepareAhead?: number;
  /** Deliver results in submission order. Default true. */
  ordered?: boolean;
  /** Clock (ms). Default performance.now. */
  now?: () => number;
  log?: (msg: string) => void;
};

export type AttemptOp = "prove" | "verify" | "tiebreak-verify" | "tiebreak-prove";
export type AttemptOutcome = "ok" | "valid" | "invalid" | "error" | "timeout" | "wrong-public-input" | "input-refused";

export type AttemptRecord = { device: string; op: AttemptOp; outcome: AttemptOutcome; detail?: string; ms: number };

export type PoolTimings = StageTimings & { queueMs: number; prepareMs: number; verifyMs: number; totalMs: number };

export type PoolProof = {
  jobId: JobId;
  proof: Groth16Proof;
  publicSignals: string[];
  /** Id of the device whose proof is returned. */
  prover: string;
  /** Ids of the devices that verified it (the last one said valid; an earlier one was outvoted). */
  verifiers: string[];
  attempts: AttemptRecord[];
  timings: PoolTimings;
};

export type DeviceState = "healthy" | "unhealthy" | "busy";

export type DeviceHealth = {
  id: string;
  name: string;
  spare: boolean;
  state: DeviceState;
  /** true while unhealthy (cooling down or stalled) */
  unhealthy: boolean;
  stalled: boolean;
  consecutiveFailures: number;
  lastError: { reason: string; at: number } | null;
  /** when an unhealthy device becomes eligible again (clock of `now`), null when healthy */
  retryAt: number | null;
  counts: { proofs: number; verifications: number; failures: number; rejectedProofs: number };
};

export type PoolMetrics = {
  queueDepth: number;
  inFlight: number;
  submitted: number;
  completed: number;
  failed: number;
  proofsPerSecond: number;
  latencyMs: { queueWait: Percentiles; prepare: Percentiles; prove: Percentiles; verify: Percentiles; total: Percentiles };
  devices: DeviceHealth[];
};

/**
 * A job that could not be proved; `attempts` lists every device call made for it. `inputRefused`: the
 * circuit refuses the job's input (its witness fails on every device that tried), the caller's fault.
 */
export class ProverPoolError extends Error {
  readonly jobId: JobId;
  readonly attempts: AttemptRecord[];
  readonly inputRefused: boolean;
  constructor(jobId: JobId, reason: string, attempts: AttemptRecord[], inputRefused = false) {
    const lines = attempts.map((a, i) => `  ${i + 1}. ${a.op} on ${a.device}: ${a.outcome}${a.detail ? ` (${a.detail})` : ""} [${Math.round(a.ms)} ms]`);
    super(`job ${String(jobId)}: ${reason}${lines.length ? `; attempts:\n${lines.join("\n")}` : "; no attempts made"}`);
    this.name = "ProverPoolError";
    this.jobId = jobId;
    this.attempts = attempts;
    this.inputRefused = inputRefused;
  }
}

/**
 * True when a prove error is the witness calculator refusing the input (circom's runtime: a failed
 * assertion or constraint, "Error in template ...", missing, extra or unknown input signals): the
 * input's fault on any correct device.
 */
export function isWitnessFailure(message: string): boolean {
  return /Assert Failed|Error in template|Not all inputs have been set|Too many values for input signal|Not enough values for input signal|Signal not found/i.test(message);
}

type Slot = {
  id: string;
  index: number;
  device: ProvingDevice;
  spare: boolean;
  spareRank: number;
  busy: boolean;
  stalled: boolean;
  unhealthyUntil: number;
  consecutiveFailures: number;
  lastError: { reason: string; at: number } | null;
  counts: { proofs: number; verifications: number; failures: number; rejectedProofs: number };
};

type Purpose = "verify" | "retry" | "new";
const PRIORITY: Record<Purpose, number> = { verify: 0, retry: 1, new: 2 };

type Waiter = { seq: number; purpose: Purpose; exclude: ReadonlySet<Slot>; tried: ReadonlySet<Slot>; resolve: (s: Slot | null) => void };

type Job<P> = {
  seq: number;
  id: JobId;
  keys: CircuitKeys;
  payload: P;
  expected: string[] | null;
  expectedFirstOnly: boolean;
  input?: Record<string, unknown>;
  submittedAt: number;
  prepareMs: number;
  queueMs: number;
  attempts: AttemptRecord[];
  resolve: (p: PoolProof) => void;
  reject: (e: Error) => void;
  settled: boolean;
};

type CallResult<T> = { ok: true; value: T; ms: number } | { ok: false; kind: "error" | "timeout"; error: string; ms: number };

const TIMEOUT = Symbol("timeout");

export class ProverPool<P = Record<string, unknown>> {
  private readonly slots: Slot[];
  private readonly deadlineMs: number;
  private readonly verifyDeadlineMs: number;
  private readonly maxAttempts: number;
  private readonly verifyOnDifferentDevice: boolean;
  private readonly coolDownMs: number;
  private readonly prepareFn: PrepareFn<P> | undefined;
  private readonly prepareAhead: number;
  private readonly ordered: boolean;
  private readonly now: () => number;
  private readonly log: (msg: string) => void;

  private seq = 0;
  private waiterSeq = 0;
  private readonly pendingIds = new Set<JobId>();
  private readonly toPrepare: Job<P>[] = [];
  private readonly ready: Job<P>[] = [];
  private preparing = false;
  private dispatching = false;
  private running = 0;
  private readonly waiters: Waiter[] = [];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private closed = false;

  // ordered delivery
  private nextDeliver = 0;
  private readonly outcomes = new Map<number, () => void>();

  // metrics
  private submitted = 0;
  private completed = 0;
  private failed = 0;
  private firstSubmitAt: number | null = null;
  private lastCompletedAt: number | null = null;
  private readonly lat = {
    queueWait: new LatencySamples(),
    prepare: new LatencySamples(),
    prove: new LatencySamples(),
    verify: new LatencySamples(),
    total: new LatencySamples(),
  };

  constructor(devices: readonly ProvingDevice[], options: ProverPoolOptions<P> = {}) {
    if (devices.length === 0) throw new Error("ProverPool needs at least one device");
    const spares = options.hotSpares ?? 0;
    if (!Number.isInteger(spares) || spares < 0 || spares >= devices.length) {
      throw new Error(`hotSpares must be an integer in [0, ${devices.length - 1}], got ${spares}`);
    }
    this.verifyOnDifferentDevice = options.verifyOnDifferentDevice ?? true;
    if (this.verifyOnDifferentDevice && devices.length < 2) {
      throw new Error("verifyOnDifferentDevice needs at least two devices (or pass verifyOnDifferentDevice: false)");
    }
    const regular = devices.length - spares;
    this.slots = devices.map((device, index) => ({
      id: `${device.name}#${index}`,
      index,
      device,
      spare: index >= regular,
      spareRank: index - regular,
      busy: false,
      stalled: false,
      unhealthyUntil: -Infinity,
      consecutiveFailures: 0,
      lastError: null,
      counts: { proofs: 0, verifications: 0, failures: 0, rejectedProofs: 0 },
    }));
    this.deadlineMs = options.deadlineMs ?? 600_000;
    this.verifyDeadlineMs = options.verifyDeadlineMs ?? this.deadlineMs;
    this.maxAttempts = options.maxAttempts ?? devices.length;
    if (this.maxAttempts < 1) throw new Error("maxAttempts must be at least 1");
    this.coolDownMs = options.coolDownMs ?? 30_000;
    this.prepareFn = options.prepare;
    this.prepareAhead = Math.max(1, options.prepareAhead ?? 1);
    this.ordered = options.ordered ?? true;
    this.now = options.now ?? (() => performance.now());
    this.log = options.log ?? (() => {});
  }

  /** Device ids in pool order (`name#index`). */
  get deviceIds(): string[] {
    return this.slots.map((s) => s.id);
  }

  /**
   * Queues a job and resolves with a proof that was verified on a device other than its prover (unless
   * verifyOnDifferentDevice is false), or rejects with a ProverPoolError naming every attempt.
   */
  prove(jobId: JobId, keys: CircuitKeys, payload: P, expectedPublicInput?: ExpectedPublicInput): Promise<PoolProof> {
    if (this.closed) return Promise.reject(new ProverPoolError(jobId, "the pool is closed", []));
    if (this.pendingIds.has(jobId)) return Promise.reject(new ProverPoolError(jobId, "a job with this id is already pending", []));
    this.pendingIds.add(jobId);
    let expected: string[] | null = null;
    let expectedFirstOnly = false;
    if (expectedPublicInput !== undefined) {
      if (Array.isArray(expectedPublicInput)) expected = (expectedPublicInput as readonly (string | bigint)[]).map((x) => x.toString());
      else {
        expected = [(expectedPublicInput as string | bigint).toString()];
        expectedFirstOnly = true;
      }
    }
    const now = this.now();
    this.firstSubmitAt ??= now;
    this.submitted++;
    return new Promise<PoolProof>((resolve, reject) => {
      const job: Job<P> = {
        seq: this.seq++,
        id: jobId,
        keys,
        payload,
        expected,
        expectedFirstOnly,
        submittedAt: now,
        prepareMs: 0,
        queueMs: 0,
        attempts: [],
        resolve,
        reject,
        settled: false,
      };
      this.toPrepare.push(job);
      this.pumpPrepare();
    });
  }

  /** Per-device health. */
  health(): DeviceHealth[] {
    const now = this.now();
    return this.slots.map((s) => {
      const unhealthy = !this.isHealthy(s, now);
      return {
        id: s.id,
        name: s.device.name,
        spare: s.spare,
        state: s.busy ? "busy" : unhealthy ? "unhealthy" : "healthy",
        unhealthy,
        stalled: s.stalled,
        consecutiveFailures: s.consecutiveFailures,
        lastError: s.lastError ? { ...s.lastError } : null,
        retryAt: unhealthy ? s.unhealthyUntil : null,
        counts: { ...s.counts },
      };
    });
  }

  metrics(): PoolMetrics {
    const span = this.firstSubmitAt !== null && this.lastCompletedAt !== null ? this.lastCompletedAt - this.firstSubmitAt : 0;
    return {
      queueDepth: this.toPrepare.length + this.ready.length + (this.preparing ? 1 : 0),
      inFlight: this.running,
      submitted: this.submitted,
      completed: this.completed,
      failed: this.failed,
      proofsPerSecond: span > 0 ? (this.completed * 1000) / span : 0,
      latencyMs: {
        queueWait: this.lat.queueWait.summary(),
        prepare: this.lat.prepare.summary(),
        prove: this.lat.prove.summary(),
        verify: this.lat.verify.summary(),
        total: this.lat.total.summary(),
      },
      devices: this.health(),
    };
  }

  /** Rejects jobs not yet dispatched, waits for running jobs, clears timers. Later prove() calls reject. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.toPrepare.splice(0)) this.settle(job, new ProverPoolError(job.id, "the pool was closed before the job started", job.attempts));
    for (const job of this.ready.splice(0)) this.settle(job, new ProverPoolError(job.id, "the pool was closed before the job started", job.attempts));
    while (this.running > 0 || this.preparing || this.dispatching) await new Promise((r) => setTimeout(r, 5));
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  // ---------------------------------------------------------------- pipeline

  private pumpPrepare(): void {
    if (this.preparing || this.toPrepare.length === 0 || this.ready.length >= this.prepareAhead) return;
    const job = this.toPrepare.shift()!;
    this.preparing = true;
    const t0 = this.now();
    void (async () => {
      try {
        job.input = this.prepareFn ? await this.prepareFn(job.id, job.payload) : (job.payload as unknown as Record<string, unknown>);
        job.prepareMs = this.now() - t0;
        this.lat.prepare.add(job.prepareMs);
        if (this.closed) this.settle(job, new ProverPoolError(job.id, "the pool was closed before the job started", job.attempts));
        else this.ready.push(job);
      } catch (e) {
        this.settle(job, new ProverPoolError(job.id, `prepare failed: ${errMsg(e)}`, job.attempts));
      } finally {
        this.preparing = false;
      }
      this.pumpDispatch();
      this.pumpPrepare();
    })();
  }

  private pumpDispatch(): void {
    if (this.dispatching || this.ready.length === 0) return;
    const job = this.ready.shift()!;
    this.dispatching = true;
    void (async () => {
      const slot = await this.acquire("new", new Set(), new Set());
      this.dispatching = false;
      job.queueMs = this.now() - job.submittedAt - job.prepareMs;
      this.lat.queueWait.add(job.queueMs);
      if (!slot) {
        this.settle(job, new ProverPoolError(job.id, `no healthy device to prove on (${this.describeHealth()})`, job.attempts));
      } else {
        this.running++;
        this.runJob(job, slot)
          .then(
            (proof) => this.settle(job, proof),
            (e) => this.settle(job, e instanceof ProverPoolError ? e : new ProverPoolError(job.id, `internal error: ${errMsg(e)}`, job.attempts)),
          )
          .finally(() => {
            this.running--;
          });
      }
      this.pumpPrepare();
      this.pumpDispatch();
    })();
  }

  private settle(job: Job<P>, outcome: PoolProof | ProverPoolError): void {
    if (job.settled) throw new Error(`job ${String(job.id)} settled twice`); // cannot happen; guards the invariant
    job.settled = true;
    const end = this.now();
    if (outcome instanceof ProverPoolError) {
      this.failed++;
      this.log(`job ${String(job.id)} failed: ${outcome.message.split("\n")[0]}`);
    } else {
      this.completed++;
      this.lastCompletedAt = end;
      this.lat.total.add(end - job.submittedAt);
    }
    const deliver = () => {
      this.pendingIds.delete(job.id);
      if (outcome instanceof ProverPoolError) job.reject(outcome);
      else job.resolve(outcome);
    };
    if (!this.ordered) return deliver();
    this.outcomes.set(job.seq, deliver);
    for (let d = this.outcomes.get(this.nextDeliver); d; d = this.outcomes.get(this.nextDeliver)) {
      this.outcomes.delete(this.nextDeliver);
      this.nextDeliver++;
      d();
    }
  }

  // ---------------------------------------------------------------- one job

  private async runJob(job: Job<P>, first: Slot): Promise<PoolProof> {
    const input = job.input!;
    const failed = new Set<Slot>(); // devices that failed this job: never asked to prove it again
    const tried = new Set<Slot>(); // devices that proved it (preferred last on a retry)
    let proves = 0;
    let suspect: { slot: Slot; signals: string[] } | null = null; // proved wrong public signals, awaiting a re-prove
    let refusedBy: Slot | null = null; // its witness failed on this device: the input is suspect, awaiting a re-prove
    let next: Slot | null = first;
    const inputRefused = (why: string) =>
      new ProverPoolError(job.id, `the circuit refuses the job's input: its witness fails on ${refusedBy!.id}${why} (no device blamed)`, job.attempts, true);

    for (;;) {
      if (!next) {
        if (proves >= this.maxAttempts) {
          if (refusedBy) throw inputRefused(` and all ${this.maxAttempts} prove attempts are used`);
          throw new ProverPoolError(job.id, `all ${this.maxAttempts} prove attempts used`, job.attempts);
        }
        next = await this.acquire("retry", failed, tried);
        if (!next && refusedBy) throw inputRefused(" and no other device can try it");
        if (!next) throw new ProverPoolError(job.id, `no healthy device left to prove on (${this.describeHealth()})`, job.attempts);
      }
      const prover: Slot = next;
      next = null;
      proves++;
      tried.add(prover);
      const op: AttemptOp = suspect ? "tiebreak-prove" : "prove";
      const r = await this.call(prover, this.deadlineMs, () => prover.device.prove(job.keys, input));
      if (!r.ok && r.kind === "error" && isWitnessFailure(r.error)) {
        this.record(job, prover, op, "input-refused", r.error, r.ms);
        this.release(prover);
        failed.add(prover); // not asked to prove this input again
        if (refusedBy) throw inputRefused(` and on ${prover.id}`);
        refusedBy = prover;
        continue;
      }
      if (!r.ok) {
        this.record(job, prover, op, r.kind, r.error, r.ms);
        this.fail(prover, `${op} of job ${String(job.id)}: ${r.error}`);
        this.release(prover);
        failed.add(prover);
        continue;
      }
      this.lat.prove.add(r.ms);
      prover.counts.proofs++;
      if (refusedBy) {
        // another device computed the witness: the one that refused it is faulty
        this.fail(refusedBy, `refused the witness of job ${String(job.id)}, which ${prover.id} computed`);
        refusedBy = null;
      }
      const result: ProofResult = r.value;
      const signals = (result.publicSignals ?? []).map(String);

      // public-input check (tie-break by re-proving on another device)
      if (job.expected && !this.matchesExpected(job, signals)) {
        prover.counts.rejectedProofs++;
        this.record(job, prover, op, "wrong-public-input", `got [${signals.join(",")}], expected [${job.expected.join(",")}]`, r.ms);
        this.release(prover);
        if (suspect) {
          if (sameSignals(suspect.signals, signals)) {
            this.succeed(suspect.slot);
            this.succeed(prover);
            throw new ProverPoolError(
              job.id,
              `devices ${suspect.slot.id} and ${prover.id} agree on public signals [${signals.join(",")}] but [${job.expected.join(",")}] was expected: the input or the expectation is wrong (no device blamed)`,
              job.attempts,
            );
          }
          this.fail(suspect.slot, `proved job ${String(job.id)} for wrong public signals (no device agreed)`);
          this.fail(prover, `proved job ${String(job.id)} for wrong public signals (no device agreed)`);
          failed.add(suspect.slot);
          failed.add(prover);
          suspect = null;
        } else {
          suspect = { slot: prover, signals };
        }
        continue;
      }
      if (suspect) {
        // the re-prove matches the expectation: the suspect proved a wrong statement
        this.fail(suspect.slot, `proved job ${String(job.id)} for wrong public signals (outvoted by ${prover.id})`);
        failed.add(suspect.slot);
        suspect = null;
      }

      // verification (Protocol 4)
      const verifiers: string[] = [];
      let verifyMs = 0;
      let valid: boolean;
      if (!this.verifyOnDifferentDevice) {
        const v = await this.call(prover, this.verifyDeadlineMs, () => prover.device.verify(job.keys, signals, result.proof));
        verifyMs += v.ms;
        if (!v.ok) {
          this.record(job, prover, "verify", v.kind, v.error, v.ms);
          this.fail(prover, `verify of job ${String(job.id)}: ${v.error}`);
          this.release(prover);
          failed.add(prover);
          continue;
        }
        this.release(prover);
        this.lat.verify.add(v.ms);
        prover.counts.verifications++;
        valid = v.value === true;
        this.record(job, prover, "verify", valid ? "valid" : "invalid", undefined, v.ms);
        verifiers.push(prover.id);
        if (!valid) {
          prover.counts.rejectedProofs++;
          this.fail(prover, `its proof of job ${String(job.id)} did not verify`);
          failed.add(prover);
          continue;
        }
      } else {
        this.release(prover);
        this.succeed(prover);
        const v = await this.verifyElsewhere(job, signals, result.proof, new Set([prover]), "verify");
        if (!v) throw new ProverPoolError(job.id, `no healthy device other than ${prover.id} to verify its proof (${this.describeHealth()})`, job.attempts);
        verifyMs += v.ms;
        verifiers.push(v.slot.id);
        valid = v.valid;
        if (!valid) {
          const t = await this.verifyElsewhere(job, signals, result.proof, new Set([prover, v.slot]), "tiebreak-verify");
          if (t) {
            verifyMs += t.ms;
            verifiers.push(t.slot.id);
          }
          if (!t) {
            this.log(`job ${String(job.id)}: ${v.slot.id} rejects ${prover.id}'s proof and no third device can break the tie; re-proving`);
            continue; // nobody blamed; the retry prefers a device that has not proved this job
          }
          if (t.valid) {
            this.fail(v.slot, `rejected a valid proof of job ${String(job.id)} (outvoted by ${t.slot.id})`);
            valid = true;
          } else {
            prover.counts.rejectedProofs++;
            this.fail(prover, `its proof of job ${String(job.id)} was rejected by ${v.slot.id} and ${t.slot.id}`);
            failed.add(prover);
            continue;
          }
        }
      }
      if (!this.verifyOnDifferentDevice) this.succeed(prover);
      return {
        jobId: job.id,
        proof: result.proof,
        publicSignals: signals,
        prover: prover.id,
        verifiers,
        attempts: job.attempts,
        timings: {
          witnessMs: result.timings?.witnessMs ?? 0,
          proveMs: result.timings?.proveMs ?? r.ms,
          queueMs: job.queueMs,
          prepareMs: job.prepareMs,
          verifyMs,
          totalMs: this.now() - job.submittedAt,
        },
      };
    }
  }

  /** Verifies on some healthy device not in `exclude`, failing over when a verifier throws or stalls. */
  private async verifyElsewhere(
    job: Job<P>,
    signals: string[],
    proof: Groth16Proof,
    exclude: Set<Slot>,
    op: AttemptOp,
  ): Promise<{ slot: Slot; valid: boolean; ms: number } | null> {
    const excl = new Set(exclude);
    for (;;) {
      const slot = await this.acquire("verify", excl, new Set());
      if (!slot) return null;
      const v = await this.call(slot, this.verifyDeadlineMs, () => slot.device.verify(job.keys, signals, proof));
      if (!v.ok) {
        this.record(job, slot, op, v.kind, v.error, v.ms);
        this.fail(slot, `${op} of job ${String(job.id)}: ${v.error}`);
        this.release(slot);
        excl.add(slot);
        continue;
      }
      this.release(slot);
      this.lat.verify.add(v.ms);
      slot.counts.verifications++;
      const valid = v.value === true;
      this.record(job, slot, op, valid ? "valid" : "invalid", undefined, v.ms);
      if (valid) this.succeed(slot);
      return { slot, valid, ms: v.ms };
    }
  }

  private matchesExpected(job: Job<P>, signals: string[]): boolean {
    const e = job.expected!;
    return job.expectedFirstOnly ? signals[0] === e[0] : sameSignals(e, signals);
  }

  private record(job: Job<P>, slot: Slot, op: AttemptOp, outcome: AttemptOutcome, detail: string | undefined, ms: number): void {
    job.attempts.push(detail === undefined ? { device: slot.id, op, outcome, ms } : { device: slot.id, op, outcome, detail, ms });
  }

  // ---------------------------------------------------------------- device calls and health

  /** Runs one device call under a deadline. On timeout the slot stays busy (stalled) until the call settles. */
  private async call<T>(slot: Slot, deadline: number, fn: () => Promise<T>): Promise<CallResult<T>> {
    const t0 = this.now();
    const p = Promise.resolve().then(fn);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<typeof TIMEOUT>((res) => {
      timer = setTimeout(() => res(TIMEOUT), deadline);
    });
    const r = await Promise.race([p.then((value) => ({ value }), (error: unknown) => ({ error })), timeout]);
    clearTimeout(timer);
    const ms = this.now() - t0;
    if (r === TIMEOUT) {
      slot.stalled = true;
      p.then(
        () => {},
        () => {},
      ).finally(() => {
        slot.stalled = false;
        slot.busy = false;
        this.log(`${slot.id}: stalled call finally settled; its answer was discarded`);
        this.pump();
      });
      return { ok: false, kind: "timeout", error: `no answer within ${deadline} ms`, ms };
    }
    if ("error" in r) return { ok: false, kind: "error", error: errMsg(r.error), ms };
    return { ok: true, value: r.value, ms };
  }

  private fail(slot: Slot, reason: string): void {
    const at = this.now();
    slot.consecutiveFailures++;
    slot.counts.failures++;
    slot.lastError = { reason, at };
    slot.unhealthyUntil = at + this.coolDownMs;
    this.log(`${slot.id} unhealthy: ${reason}`);
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.pump();
    }, this.coolDownMs + 1);
    t.unref?.();
    this.timers.add(t);
  }

  private succeed(slot: Slot): void {
    if (this.isHealthy(slot, this.now())) slot.consecutiveFailures = 0;
  }

  private isHealthy(s: Slot, now: number): boolean {
    return !s.stalled && now >= s.unhealthyUntil;
  }

  private usable(s: Slot, exclude: ReadonlySet<Slot>, now: number): boolean {
    if (exclude.has(s) || !this.isHealthy(s, now)) return false;
    if (!s.spare) return true;
    const regular = this.slots.filter((r) => !r.spare);
    const down = regular.filter((r) => !this.isHealthy(r, now)).length;
    if (down >= s.spareRank + 1) return true; // activated by failures
    return !regular.some((r) => !exclude.has(r) && this.isHealthy(r, now)); // last resort
  }

  private release(slot: Slot): void {
    if (slot.stalled) return; // released when the stalled call settles
    slot.busy = false;
    this.pump();
  }

  /** Waits for a free usable device; null when no usable device exists at all (busy or not). */
  private acquire(purpose: Purpose, exclude: ReadonlySet<Slot>, tried: ReadonlySet<Slot>): Promise<Slot | null> {
    return new Promise((resolve) => {
      this.waiters.push({ seq: this.waiterSeq++, purpose, exclude, tried, resolve });
      this.pump();
    });
  }

  private pump(): void {
    const now = this.now();
    this.waiters.sort((a, b) => PRIORITY[a.purpose] - PRIORITY[b.purpose] || a.seq - b.seq);
    for (let i = 0; i < this.waiters.length; ) {
      const w = this.waiters[i]!;
      const usable = this.slots.filter((s) => this.usable(s, w.exclude, now));
      if (usable.length === 0) {
        this.waiters.splice(i, 1);
        w.resolve(null);
        continue;
      }
      const free = usable.filter((s) => !s.busy);
      if (free.length === 0) {
        i++;
        continue;
      }
      // retries: devices that have not proved this job first, then activated spares (failover), then pool order
      free.sort((a, b) => Number(w.tried.has(a)) - Number(w.tried.has(b)) || (w.purpose === "retry" ? Number(b.spare) - Number(a.spare) : 0) || a.index - b.index);
      const slot = free[0]!;
      slot.busy = true;
      this.waiters.splice(i, 1);
      w.resolve(slot);
    }
  }

  private describeHealth(): string {
    return this.health()
      .map((h) => `${h.id}: ${h.unhealthy ? `unhealthy${h.lastError ? ` (${h.lastError.reason})` : ""}` : h.state}`)
      .join("; ");
  }
}

function sameSignals(a: readonly string[], b: readonly string[]): boolean {
  return signalsMismatch(b, a) === null;
}

function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
