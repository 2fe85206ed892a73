/**
 * What the sequencer asks for: a proof that has already been checked before it is posted. A
 * ProverPool (several devices, verification on a second device, failover) implements this; so does
 * SingleDeviceProver, for one device that proves and checks its own proofs.
 */
import type { Groth16Proof } from "snarkjs";
import type { CircuitKeys, ProvingDevice, StageTimings } from "./device.ts";

export type VerifiedProof = { proof: Groth16Proof; publicSignals: string[]; timings: StageTimings & { verifyMs: number } };

/** The public signals a proof must carry: every one, in order, as decimal strings. */
export type ExpectedSignals = readonly string[];

/** Why `signals` are not `expected` (the first difference), or null when they are the same list. */
export function signalsMismatch(signals: readonly string[], expected: ExpectedSignals): string | null {
  if (signals.length !== expected.length) return `${signals.length} public signals instead of ${expected.length}`;
  const i = signals.findIndex((v, j) => v !== expected[j]);
  return i < 0 ? null : `public signal ${i} is ${signals[i]}, expected ${expected[i]}`;
}

export interface VerifiedProver {
  /** Proves `input`; resolves only with a proof that verifies and whose public signals are exactly `expectedSignals`. */
  prove(jobId: number, keys: CircuitKeys, input: Record<string, unknown>, expectedSignals: ExpectedSignals): Promise<VerifiedProof>;
  /** Queue depth, proofs per second, latency percentiles per stage, device health (ProverPool). */
  metrics?(): object;
}

/** One device; a proof that does not verify is re-proved, up to `attempts` times in all. */
export class SingleDeviceProver implements VerifiedProver {
  private readonly device: ProvingDevice;
  private readonly attempts: number;
  constructor(device: ProvingDevice, attempts = 2) {
    this.device = device;
    this.attempts = attempts;
  }

  async prove(jobId: number, keys: CircuitKeys, input: Record<string, unknown>, expectedSignals: ExpectedSignals): Promise<VerifiedProof> {
    const failures: string[] = [];
    for (let i = 1; i <= this.attempts; i++) {
      const result = await this.device.prove(keys, input);
      const v0 = performance.now();
      const mismatch = signalsMismatch(result.publicSignals, expectedSignals);
      const ok = mismatch === null && (await this.device.verify(keys, result.publicSignals, result.proof));
      if (ok) return { ...result, timings: { ...result.timings, verifyMs: performance.now() - v0 } };
      failures.push(`attempt ${i}: ${mismatch ?? "proof did not verify"}`);
    }
    throw new Error(`job ${jobId} on ${this.device.name}: no valid proof (${failures.join("; ")})`);
  }
}
