/**
 * TypeScript face of the native BN254 addon (built by `npm run build:native` into fpga-prover/native/build/):
 * the Groth16 prover's kernels, and the sequencer's Poseidon and EdDSA-Poseidon verification. Importing this module never throws: when the addon is missing or fails
 * to load, isNativeAvailable() is false and nativeUnavailableReason() says why.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const NATIVE_ADDON_PATH = join(dirname(fileURLToPath(import.meta.url)), "build", "bn254_prover.node");

export type NativeZkey = { handle: unknown; nVars: number; nPublic: number; domainSize: number };

export type NativeStageTimings = {
  parseMs: number;
  qapMs: number;
  nttMs: number;
  msmMs: number;
  assemblyMs: number;
  /** Thread time of each of the five MSMs (they share one pool of tasks, so only their sum is wall time x threads). */
  msmThreadMs?: { a: number; b1: number; b2: number; c: number; h: number };
  /** How many witness values are 0 (skipped), 1 (plain additions) and other (Pippenger). */
  witnessValues?: { zeros: number; ones: number; other: number };
};

/** Coordinates as 64-hex-digit big-endian integers (normal form, not Montgomery). */
export type NativeProof = {
  piA: [string, string];
  piB: [[string, string], [string, string]];
  piC: [string, string];
  publicSignals: string[];
  timings: NativeStageTimings;
};

export interface NativeAddon {
  readonly defaultThreads: number;
  loadZkey(path: string): NativeZkey;
  /** wtns: a .wtns file image; r, s: 32-byte little-endian blinding scalars below the group order. */
  prove(zkey: NativeZkey, wtns: Uint8Array, r: Uint8Array, s: Uint8Array, nThreads?: number): Promise<NativeProof>;
  /** Elementwise field operation on normal-form little-endian values (32 bytes each; 64 for fq2: c0 then c1). */
  fieldOp(field: "fq" | "fr" | "fq2", op: "add" | "sub" | "mul" | "sqr" | "neg" | "inv", a: Uint8Array, b: Uint8Array): Uint8Array;
  /** points: Montgomery affine (the zkey layout, 64 bytes), scalars: 32-byte little-endian normal form. */
  msmG1(points: Uint8Array, scalars: Uint8Array, nThreads?: number, algo?: "auto" | "jacobian" | "affine", window?: number): { point: Uint8Array; ms: number };
  msmG2(points: Uint8Array, scalars: Uint8Array, nThreads?: number, algo?: "auto" | "jacobian" | "affine", window?: number): { point: Uint8Array; ms: number };
  /** Forward (evaluations at w^k) or inverse transform of normal-form values, w = 5^((r-1)/n). */
  ntt(values: Uint8Array, inverse: boolean, nThreads?: number): Uint8Array;
  /** n distinct G1 points (Montgomery affine) derived from a 32-byte seed scalar, for benchmarks. */
  g1Points(n: number, seed: Uint8Array): Uint8Array;
  /** circomlibjs's Poseidon of 1 to 16 field elements (each 0 <= x < p; anything else throws). */
  poseidon(inputs: readonly bigint[]): bigint;
  /**
   * The Poseidon hashes of n preimages of `arity` inputs each (32-byte little-endian field elements < p, back to
   * back), as n 32-byte little-endian values: one state at a time ("single"), 4 scalar states in lockstep
   * ("scalar-lanes"), or poseidonLanes at a time ("lanes", as signature verification hashes). Tests and benchmarks.
   */
  poseidonMany(inputs: Uint8Array, arity: number, method: "single" | "scalar-lanes" | "lanes"): Uint8Array;
  /** Preimages hashed together by the "lanes" method: 16 with AVX-512 IFMA (one per lane of two vectors), else 4. */
  readonly poseidonLanes: number;
  /**
   * EdDSA-Poseidon verdicts (1 valid, 0 invalid), one per record: the message, then R8x, R8y, S, Ax, Ay, as
   * 32-byte little-endian integers (a field value >= p or S >= l is invalid). messageInputs = 0 (default): the
   * message is the signed field element itself (192-byte records); k = 1..16: it is given as the k inputs of the
   * Poseidon hash that is the signed element ((k + 5) * 32-byte records), hashed in the call. "batch" (default):
   * one multi-scalar multiplication per call; "single": each record on its own. Same verdicts either way.
   */
  eddsaVerify(records: Uint8Array, mode?: "batch" | "single", nThreads?: number, messageInputs?: number): Uint8Array;
  /** A batch of n records uses min(nThreads, ceil(n / eddsaBatchPerThread)) threads (thread starts cost). */
  readonly eddsaBatchPerThread: number;
  /** eddsaVerify off the JavaScript thread (the message hashes included). */
  eddsaVerifyAsync(records: Uint8Array, mode?: "batch" | "single", nThreads?: number, messageInputs?: number): Promise<Uint8Array>;
  /** 1 per 64-byte point (x, y, little-endian) that is canonical, on Baby Jubjub and in its prime-order subgroup. */
  babyJubInSubgroup(points: Uint8Array): Uint8Array;
  /**
   * sum k_i * P_i on Baby Jubjub for 64-byte points (x, y little-endian, canonical, on the curve) and 32-byte scalars
   * below 2^254, as 64 bytes (affine x, y): the scalar Pippenger ("scalar") or the one batch verification uses
   * ("lanes": AVX-512 IFMA where built in). For tests.
   */
  babyJubMsm(points: Uint8Array, scalars: Uint8Array, method: "scalar" | "lanes"): Uint8Array;
}

let addon: NativeAddon | undefined;
let reason = "";

try {
  if (!existsSync(NATIVE_ADDON_PATH)) {
    reason = `native prover addon not built (${NATIVE_ADDON_PATH} missing): run \`npm run build:native\``;
  } else {
    addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeAddon;
  }
} catch (e) {
  reason = `native prover addon failed to load: ${(e as Error).message}`;
}

export function isNativeAvailable(): boolean {
  return addon !== undefined;
}

export function nativeUnavailableReason(): string | undefined {
  return addon ? undefined : reason;
}

export function nativeAddon(): NativeAddon {
  if (!addon) throw new Error(reason);
  return addon;
}

export function hexToDecimal(h: string): string {
  return BigInt(`0x${h}`).toString(10);
}

export function bigintToLE32(x: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

export function le32ToBigint(b: Uint8Array, offset = 0): bigint {
  let x = 0n;
  for (let i = 31; i >= 0; i--) x = (x << 8n) | BigInt(b[offset + i]!);
  return x;
}
