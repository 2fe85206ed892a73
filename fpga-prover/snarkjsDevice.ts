/** The reference backend: snarkjs's witness calculator and Groth16 prover (wasm), always available. */
import * as snarkjs from "snarkjs";
import type { CircuitKeys, ProofResult, ProvingDevice } from "./device.ts";

export class SnarkjsDevice implements ProvingDevice {
  readonly name = "snarkjs";

  async prove(keys: CircuitKeys, input: Record<string, unknown>): Promise<ProofResult> {
    const t0 = performance.now();
    const wtns: { type: "mem"; data?: Uint8Array } = { type: "mem" };
    await snarkjs.wtns.calculate(input, keys.wasm, wtns);
    const t1 = performance.now();
    const { proof, publicSignals } = await snarkjs.groth16.prove(keys.zkey, wtns);
    const t2 = performance.now();
    return { proof, publicSignals, timings: { witnessMs: t1 - t0, proveMs: t2 - t1 } };
  }

  verify(keys: CircuitKeys, publicSignals: readonly string[], proof: snarkjs.Groth16Proof): Promise<boolean> {
    return snarkjs.groth16.verify(keys.vkey, publicSignals, proof);
  }
}
