/**
 * The native backend: snarkjs's witness calculator (wasm) followed by the C++ BN254 Groth16 prover in
 * fpga-prover/native (QAP evaluation, NTTs, batch-affine Pippenger MSMs on all cores). Proofs are in
 * snarkjs's format and verify with snarkjs.groth16.verify. Importing this module never throws; check
 * isNativeAvailable() (and nativeUnavailableReason()) before constructing a NativeDevice.
 */
import { randomBytes } from "node:crypto";
import * as snarkjs from "snarkjs";
import type { CircuitKeys, ProofResult, ProvingDevice, StageTimings } from "./device.ts";
import { calculateWitness } from "./witness.ts";
import {
  bigintToLE32,
  hexToDecimal,
  isNativeAvailable,
  nativeAddon,
  nativeUnavailableReason,
  type NativeStageTimings,
  type NativeZkey,
} from "./native/index.ts";

export { isNativeAvailable, nativeUnavailableReason };

/** BN254 scalar field order (the group order of G1 and G2). */
export const BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** witnessMs/proveMs as every device reports them, plus the native prover's own stages. */
export type NativeTimings = StageTimings & NativeStageTimings;

export type NativeProofResult = ProofResult & { timings: NativeTimings };

export type NativeDeviceOptions = { threads?: number };

/** A uniformly random non-zero scalar below the group order (64 random bytes reduced: bias < 2^-250). */
export function randomScalar(): bigint {
  for (;;) {
    const x = BigInt(`0x${randomBytes(64).toString("hex")}`) % BN254_R;
    if (x !== 0n) return x;
  }
}

export class NativeDevice implements ProvingDevice {
  readonly name = "native";
  private readonly zkeys = new Map<string, NativeZkey>();
  private readonly threads: number | undefined;

  constructor(options: NativeDeviceOptions = {}) {
    if (!isNativeAvailable()) throw new Error(nativeUnavailableReason());
    this.threads = options.threads;
  }

  /** Loads (and caches) a proving key; proving loads it on first use anyway. */
  loadZkey(path: string): NativeZkey {
    let z = this.zkeys.get(path);
    if (!z) {
      z = nativeAddon().loadZkey(path);
      this.zkeys.set(path, z);
    }
    return z;
  }

  /**
   * The .wtns image of a witness, as snarkjs.wtns.calculate writes it, but with the circuit's wasm compiled
   * and instantiated once per circuit instead of on every call (witness.ts).
   */
  calculateWitness(wasmPath: string, input: Record<string, unknown>): Promise<Uint8Array> {
    return calculateWitness(wasmPath, input);
  }

  async prove(keys: CircuitKeys, input: Record<string, unknown>): Promise<NativeProofResult> {
    const t0 = performance.now();
    const wtns = await this.calculateWitness(keys.wasm, input);
    const t1 = performance.now();
    const result = await this.proveWitness(keys.zkey, wtns);
    const t2 = performance.now();
    return { ...result, timings: { ...result.timings, witnessMs: t1 - t0, proveMs: t2 - t1 } };
  }

  /** Proves a witness already computed (a .wtns file image, as snarkjs.wtns.calculate writes it). */
  async proveWitness(zkeyPath: string, wtns: Uint8Array, blinding?: { r: bigint; s: bigint }): Promise<NativeProofResult> {
    const t0 = performance.now();
    const zkey = this.loadZkey(zkeyPath);
    const r = blinding?.r ?? randomScalar();
    const s = blinding?.s ?? randomScalar();
    const out = await nativeAddon().prove(zkey, wtns, bigintToLE32(r), bigintToLE32(s), this.threads);
    const d = (p: [string, string]) => [hexToDecimal(p[0]), hexToDecimal(p[1])];
    const proof: snarkjs.Groth16Proof = {
      pi_a: [...d(out.piA), "1"],
      pi_b: [d(out.piB[0]), d(out.piB[1]), ["1", "0"]],
      pi_c: [...d(out.piC), "1"],
      protocol: "groth16",
      curve: "bn128",
    };
    const publicSignals = out.publicSignals.map(hexToDecimal);
    return { proof, publicSignals, timings: { ...out.timings, witnessMs: 0, proveMs: performance.now() - t0 } };
  }

  verify(keys: CircuitKeys, publicSignals: readonly string[], proof: snarkjs.Groth16Proof): Promise<boolean> {
    return snarkjs.groth16.verify(keys.vkey, publicSignals, proof);
  }
}
