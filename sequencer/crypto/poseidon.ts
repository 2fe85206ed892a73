/**
 * Poseidon over the BN254 scalar field, circomlib's parameters (what circuits/ uses). poseidon() runs in the
 * native addon when it is built (several times faster) and in circomlibjs otherwise; both give identical
 * results (test/sequencer/crypto/poseidon.test.ts), and circomlibjs stays the reference.
 */
import { buildPoseidon } from "circomlibjs";
import { isNativeAvailable, nativeAddon, type NativeAddon } from "../../fpga-prover/native/index.ts";
import { FIELD_MODULUS } from "./field.ts";

const instance = await buildPoseidon();
const native: NativeAddon | undefined = isNativeAvailable() ? nativeAddon() : undefined;

/** The implementation poseidon() uses: "native" when the addon is built, else "js". */
export const poseidonBackend: "native" | "js" = native ? "native" : "js";

/** The reference: circomlibjs's Poseidon of 1 to 16 field elements (inputs reduced mod p). */
export function poseidonJs(inputs: readonly bigint[]): bigint {
  return instance.F.toObject(instance(inputs as bigint[]));
}

/** The native addon's Poseidon of 1 to 16 field elements (0 <= x < p); throws when the addon is not built. */
export function poseidonNative(inputs: readonly bigint[]): bigint {
  return nativeAddon().poseidon(inputs);
}

function nativeCanHash(inputs: readonly bigint[]): boolean {
  if (inputs.length < 1 || inputs.length > 16) return false;
  for (const x of inputs) if (typeof x !== "bigint" || x < 0n || x >= FIELD_MODULUS) return false;
  return true;
}

/** Poseidon hash of 1 to 16 field elements. */
export function poseidon(inputs: readonly bigint[]): bigint {
  // the native addon takes canonical bigints only; anything else (and every error) goes to circomlibjs
  return native && nativeCanHash(inputs) ? native.poseidon(inputs) : poseidonJs(inputs);
}

/**
 * Poseidon over any number of field elements (circuits/lib/poseidonChain.circom's PoseidonChain): `poseidon(inputs)`
 * for at most 16; beyond, the first 16 hashed, then each further group of up to 15 hashed with the running hash
 * first. Each step's width is fixed by the count, so two lengths never hash the same way.
 */
export function poseidonChain(inputs: readonly bigint[]): bigint {
  if (inputs.length <= 16) return poseidon(inputs);
  let h = poseidon(inputs.slice(0, 16));
  for (let at = 16; at < inputs.length; at += 15) h = poseidon([h, ...inputs.slice(at, at + 15)]);
  return h;
}
