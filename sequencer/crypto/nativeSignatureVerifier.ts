/**
 * EdDSA-Poseidon verification in the native addon (fpga-prover/native: Baby Jubjub and Poseidon in C++,
 * a whole group of signatures checked with one multi-scalar multiplication). Its verdicts equal
 * verifyMessage's (circomlibjs, the circuit's check) for every input, including points with small-order
 * components (see verifyEddsaBatch in fpga-prover/native/src/eddsa.hpp). A message given as its Poseidon
 * inputs is hashed in the addon too (in the same pass as the signature's own hash; off the JavaScript
 * thread in async calls). defaultSignatureVerifier() picks it when the addon is built and falls back to
 * the JavaScript reference otherwise.
 */
import { FIELD_MODULUS } from "./field.ts";
import { isNativeAvailable, nativeAddon } from "../../fpga-prover/native/index.ts";
import { jsSignatureVerifier, messageValue, type SignatureCheck, type SignatureVerifier, type SignedMessage } from "./signatureVerifier.ts";

/** The most Poseidon inputs a record can carry for its message (circomlib's Poseidon takes 1 to 16). */
export const MAX_MESSAGE_INPUTS = 16;

/**
 * Bytes per check in the addon's input: the message as 32-byte little-endian values (the field element
 * itself when messageInputs = 0, else its messageInputs Poseidon inputs), then R8x, R8y, S, Ax, Ay.
 */
export function signatureRecordBytes(messageInputs: number): number {
  return 32 * (Math.max(1, messageInputs) + 5);
}

/** Bytes per check whose message is the field element itself. */
export const SIGNATURE_RECORD_BYTES = signatureRecordBytes(0);

const MAX_U256 = (1n << 256n) - 1n;

/**
 * x mod p, as circomlibjs's F.e reduces every coordinate, the message and every Poseidon input (negative
 * values included), so a record's verdict is the reference's on the unreduced values.
 */
function fieldValue(x: bigint): bigint {
  return x >= 0n && x < FIELD_MODULUS ? x : ((x % FIELD_MODULUS) + FIELD_MODULUS) % FIELD_MODULUS;
}

/**
 * How a check's message travels to the addon: k = 1..16 for a Poseidon preimage of k inputs (the addon
 * hashes it), 0 for the field element itself. A preimage of any other length is sent as its value, whose
 * computation (messageValue) throws as the reference does.
 */
export function messageInputsOf(m: SignedMessage): number {
  if (typeof m === "bigint") return 0;
  const k = m.poseidon.length;
  return k >= 1 && k <= MAX_MESSAGE_INPUTS ? k : 0;
}

/**
 * The checks as the addon's flat records (one allocation, no per-value buffers), each message written as
 * `messageInputs` says (every check must be of that kind, see messageInputsOf). An S outside [0, 2^256)
 * is written as 2^256 - 1, which the addon refuses like any S >= l: verifyMessage refuses S >= l, and on a
 * negative S circomlibjs never returns (its scalar loop does not end), where this says invalid.
 */
export function packSignatureChecks(checks: readonly SignatureCheck[], messageInputs = 0): Uint8Array {
  const words = new BigUint64Array(checks.length * (signatureRecordBytes(messageInputs) / 8));
  let o = 0;
  const put = (x: bigint) => {
    words[o] = x; // BigUint64Array stores x mod 2^64
    words[o + 1] = x >> 64n;
    words[o + 2] = x >> 128n;
    words[o + 3] = x >> 192n;
    o += 4;
  };
  for (const { message, signature, publicKey } of checks) {
    if (messageInputsOf(message) !== messageInputs) throw new RangeError(`a check's message is not of the kind packed (${messageInputs} inputs)`);
    if (typeof message === "bigint" || messageInputs === 0) put(fieldValue(messageValue(message)));
    else for (const x of message.poseidon) put(fieldValue(x));
    put(fieldValue(signature.r8x));
    put(fieldValue(signature.r8y));
    put(signature.s >= 0n && signature.s <= MAX_U256 ? signature.s : MAX_U256);
    put(fieldValue(publicKey[0]));
    put(fieldValue(publicKey[1]));
  }
  return new Uint8Array(words.buffer);
}

/** Checks of one message kind (messageInputsOf) and where they stand in the whole batch. */
type CheckGroup = { messageInputs: number; checks: readonly SignatureCheck[]; at: readonly number[] | undefined };

/** The checks split by message kind, in order within each kind (`at` undefined: the whole batch, in order). */
function groupByMessageKind(checks: readonly SignatureCheck[]): CheckGroup[] {
  const kinds = checks.map((c) => messageInputsOf(c.message));
  if (kinds.every((k) => k === kinds[0])) return [{ messageInputs: kinds[0]!, checks, at: undefined }];
  const at = new Map<number, number[]>();
  kinds.forEach((k, i) => {
    const list = at.get(k);
    if (list) list.push(i);
    else at.set(k, [i]);
  });
  return [...at].map(([messageInputs, idx]) => ({ messageInputs, checks: idx.map((i) => checks[i]!), at: idx }));
}

const verdicts = (out: Uint8Array): boolean[] => Array.from(out, (v) => v === 1);

/** The verdicts of every group put back in batch order. */
function mergeVerdicts(n: number, groups: readonly CheckGroup[], outs: readonly Uint8Array[]): boolean[] {
  if (groups.length === 1) return verdicts(outs[0]!);
  const merged = new Array<boolean>(n);
  groups.forEach((g, j) => g.at!.forEach((i, k) => (merged[i] = outs[j]![k] === 1)));
  return merged;
}

export type NativeVerifierOptions = {
  /** Threads one call may use (default: the addon's defaultThreads, every core). */
  threads?: number;
  /** "batch" (default): one multi-scalar multiplication per call; "single": each signature on its own. */
  mode?: "batch" | "single";
  /** Calls with at least this many checks run off the JavaScript thread and return a Promise (default 16). */
  asyncFrom?: number;
};

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
      // one native call per message kind (orders: all preimages of 3 inputs, so one call)
      const groups = groupByMessageKind(checks);
      const records = groups.map((g) => packSignatureChecks(g.checks, g.messageInputs));
      if (checks.length >= asyncFrom)
        return Promise.all(groups.map((g, j) => addon.eddsaVerifyAsync(records[j]!, mode, threads, g.messageInputs))).then((outs) =>
          mergeVerdicts(checks.length, groups, outs));
      return mergeVerdicts(checks.length, groups, groups.map((g, j) => addon.eddsaVerify(records[j]!, mode, threads, g.messageInputs)));
    },
  };
}

/** The native verifier when the addon is built, else the JavaScript reference (jsSignatureVerifier). */
export function defaultSignatureVerifier(opts: NativeVerifierOptions = {}): SignatureVerifier {
  return isNativeAvailable() ? nativeSignatureVerifier(opts) : jsSignatureVerifier;
}
