/**
 * A proving device: turns a circuit input into a Groth16 proof. The sequencer asks for proofs through
 * this interface and never cares which backend makes them (snarkjs today; native, GPU and FPGA
 * backends implement the same interface).
 */
import type { Groth16Proof } from "snarkjs";

export type CircuitKeys = { wasm: string; zkey: string; vkey: unknown };

export type StageTimings = { witnessMs: number; proveMs: number };

export type ProofResult = { proof: Groth16Proof; publicSignals: string[]; timings: StageTimings };

export interface ProvingDevice {
  readonly name: string;
  prove(keys: CircuitKeys, input: Record<string, unknown>): Promise<ProofResult>;
  verify(keys: CircuitKeys, publicSignals: readonly string[], proof: Groth16Proof): Promise<boolean>;
}
