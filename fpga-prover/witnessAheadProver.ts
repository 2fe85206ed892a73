/**
 * One device whose two stages overlap across jobs: the witness of the next job (circom's wasm, on the
 * JavaScript thread) is computed while the current job is proven (the native C++ prover, on every core).
 * Each stage takes one job at a time, in arrival order, so two proofs never share the cores, which on a
 * small machine makes both slower than one after the other (measured by `npm run bench:throughput`).
 * This is what a deeper batch pipeline (SequencerOptions.pipelineDepth) needs from a single machine.
 * A proof that does not verify, or whose public input is not the expected one, is proven again from the
 * same witness, up to `attempts` times in all, as SingleDeviceProver does.
 */
import type { CircuitKeys, ProofResult, StageTimings } from "./device.ts";
import { signalsMismatch, type ExpectedSignals, type VerifiedProof, type VerifiedProver } from "./prover.ts";
import type { Groth16Proof } from "snarkjs";

/** A device that proves in two stages: a witness image (.wtns), then a proof of it. */
export interface TwoStageDevice {
  readonly name: string;
  calculateWitness(wasmPath: string, input: Record<string, unknown>): Promise<Uint8Array>;
  proveWitness(zkeyPath: string, wtns: Uint8Array): Promise<ProofResult & { timings: StageTimings }>;
  verify(keys: CircuitKeys, publicSignals: readonly string[], proof: Groth16Proof): Promise<boolean>;
}

/** Runs tasks one at a time, in the order they were handed in; a failing task does not stop the next. */
class Lane {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => {});
    return result;
  }

  /** As run, with the task's own time in milliseconds (not its wait for the lane). */
  async timed<T>(task: () => Promise<T>): Promise<{ value: T; ms: number }> {
    return this.run(async () => {
      const t0 = performance.now();
      const value = await task();
      return { value, ms: performance.now() - t0 };
    });
  }
}

export class WitnessAheadProver implements VerifiedProver {
  readonly #device: TwoStageDevice;
  readonly #attempts: number;
  readonly #witness = new Lane();
  readonly #prove = new Lane();

  constructor(device: TwoStageDevice, attempts = 2) {
    this.#device = device;
    this.#attempts = attempts;
  }

  async prove(jobId: number, keys: CircuitKeys, input: Record<string, unknown>, expectedSignals: ExpectedSignals): Promise<VerifiedProof> {
    const { value: wtns, ms: witnessMs } = await this.#witness.timed(() => this.#device.calculateWitness(keys.wasm, input));
    const failures: string[] = [];
    for (let i = 1; i <= this.#attempts; i++) {
      const { value: result, ms: proveMs } = await this.#prove.timed(() => this.#device.proveWitness(keys.zkey, wtns));
      const v0 = performance.now();
      const mismatch = signalsMismatch(result.publicSignals, expectedSignals);
      const ok = mismatch === null && (await this.#device.verify(keys, result.publicSignals, result.proof));
      if (ok) return { proof: result.proof, publicSignals: result.publicSignals, timings: { witnessMs, proveMs, verifyMs: performance.now() - v0 } };
      failures.push(`attempt ${i}: ${mismatch ?? "proof did not verify"}`);
    }
    throw new Error(`job ${jobId} on ${this.#device.name}: no valid proof (${failures.join("; ")})`);
  }
}
