/**
 * EdDSA-Poseidon verification in the native addon (fpga-prover/native: Baby Jubjub and Poseidon in C++,
 * a whole group of signatures checked with one multi-scalar multiplication). Its verdicts equal
 * verifyMessage's (circomlibjs, the circuit's check) for every input, including points with small-order
 * components (see verifyEddsaBatch in fpga-prover/native/src/eddsa.hpp). defaultSignatureVerifier() picks it
 * when the addon is built and falls back to the JavaScript reference otherwise.
 */
import { FIELD_MODULUS } from "../protocol/constants.ts";
import { isNativeAvailable, nativeAddon } from "../../fpga-prover/native/index.ts";
import { jsSignatureVerifier, messageValue, type SignatureCheck, type SignatureVerifier } from "./signatureVerifier.ts";

/** Bytes per check in the addon's input: msg, R8x, R8y, S, Ax, Ay, 32-byte little-endian each. */
export const SIGNATURE_RECORD_BYTES = 192;

const MAX_U256 = (1n << 256n) - 1n;

/** x mod p, as circomlibjs's F.e reduces every coordinate and the message (negative values included). */
function fieldValue(x: bigint): bigint {
  return x >= 0n && x < FIELD_MODULUS ? x : ((x % FIELD_MODULUS) + FIELD_MODULUS) % FIELD_MODULUS;
}

/**
 * The checks as the addon's flat records (one allocation, no per-value buffers). An S outside [0, 2^256)
 * is written as 2^256 - 1, which the addon refuses like any S >= l: verifyMessage refuses S >= l, and on a
 * negative S circomlibjs never returns (its scalar loop does not end), where this says invalid.
 */
export function packSignatureChecks(checks: readonly SignatureCheck[]): Uint8Array {
  const words = new BigUint64Array(checks.length * (SIGNATURE_RECORD_BYTES / 8));
  let o = 0;
  const put = (x: bigint) => {
    words[o] = x; // BigUint64Array stores x mod 2^64
    words[o + 1] = x >> 64n;
    words[o + 2] = x >> 128n;
    words[o + 3] = x >> 192n;
    o += 4;
  };
  for (const { message, signature, publicKey } of checks) {
    put(fieldValue(messageValue(message)));
    put(fieldValue(signature.r8x));
    put(fieldValue(signature.r8y));
    put(signature.s >= 0n && signature.s <= MAX_U256 ? signature.s : MAX_U256);
    put(fieldValue(publicKey[0]));
    put(fieldValue(publicKey[1]));
  }
  return new Uint8Array(words.buffer);
}

export type NativeVerifierOptions = {
  /** Threads one call may use (default: the addon's defaultThreads, every core). */
  threads?: number;
  /** "batch" (default): one multi-scalar multiplication per call; "single": each signature on its own. */
  mode?: "batch" | "single";
  /** Calls with at least this many checks run off the JavaScript thread and return a Promise (default 16). */
  asyncFrom?: number;
};

const verdicts = (out: Uint8Array): boolean[] => Array.from(out, (v) => v === 1);

/** The native verifier; throws (with the reason) when the addon is not built. */
export function nativeSignatureVerifier(opts: NativeVerifierOptions = {}): SignatureVerifier {
  const addon = nativeAddon();
  const threads = opts.threads ?? addon.defaultThreads;
  const mode = opts.mode ?? "batch";
  const asyncFrom = opts.asyncFrom ?? 16;
  return {
    name: "native",
    verifyBatch(checks) {
      if (checks.length === 0) return [];
      const records = packSignatureChecks(checks);
      if (checks.length >= asyncFrom) return addon.eddsaVerifyAsync(records, mode, threads).then(verdicts);
      return verdicts(addon.eddsaVerify(records, mode, threads));
    },
  };
}

/** The native verifier when the addon is built, else the JavaScript reference (jsSignatureVerifier). */
export function defaultSignatureVerifier(opts: NativeVerifierOptions = {}): SignatureVerifier {
  return isNativeAvailable() ? nativeSignatureVerifier(opts) : jsSignatureVerifier;
}
