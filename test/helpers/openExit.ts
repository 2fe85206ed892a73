/**
 * The "open" exit circuit, for the dishonest-exiter hunt (test/circuits/dishonest/exit.test.ts, circuits/HUNT.md):
 * the exodus exit circuit of circuits/exit/exit.circom, changed by checked text substitutions
 * (test/helpers/openCircuit.ts) so that one witness calculation answers "would a prover get an exit proof
 * for this input, and for which claim?":
 * - the public input `publicInput` is gone, and the packing of the exit public data into it (PackPublicInputs) is
 *   taken out: its bits are an output. A prover computes the public inputs from its claim consistently (they are
 *   the claim's bytes in 31-byte chunks, a function of the bits alone), so the real circuit accepts a witness iff
 *   this one does with publicInput = the bits in chunks; the claim it would prove is the bits read back.
 * Every other constraint (the state root, the range checks, the rule) stays as it is.
 */
import assert from "node:assert/strict";
import { exitMainSource } from "../../scripts/build/exitCircuit.ts";
import { ORACLE_PRICE_BYTES } from "../../sequencer/protocol/constants.ts";
import { EXIT_AMOUNT_BYTES, exitPublicDataBytes, exitTokenCount, type ExitClaim } from "../../sequencer/protocol/exitPublicData.ts";
import { paramsId, type CircuitParams } from "../../sequencer/protocol/params.ts";
import { bitsToBytes, buildOpenCircuit, fastFailure, outputReader, patchSources, readCircuitFile, type Patch } from "./openCircuit.ts";

const FILE_EXIT = "circuits/exit/exit.circom";

const PATCHES: readonly Patch[] = [
  [FILE_EXIT, /^ {4}signal input publicInput\[PUBLIC_INPUTS\];\n/gm, "", 1],
  [FILE_EXIT, /^ {4}component data = PackPublicInputs\(TOTAL, PUBLIC_INPUT_CHUNK_BITS\(\)\);.*$/gm, "    signal output publicData[TOTAL];", 1],
  // the root, the id, the prices, the pooled quote, the derivatives claim, the amounts
  [FILE_EXIT, /\bdata\.bits\[/g, "publicData[", 6],
  [FILE_EXIT, /^ {4}data\.chunks <== publicInput;\n/gm, "", 1],
];

/** The patched exit.circom, from the sources in `read`. */
export function openExitSources(read: (file: string) => string = readCircuitFile): Map<string, string> {
  const out = patchSources("openExit", PATCHES, read);
  const text = out.get(FILE_EXIT)!;
  const code = text.split("\n").filter((l) => !l.trim().startsWith("//")).join("\n");
  assert.ok(!/\bdata\.|\bpublicInput\b/.test(code), "openExit: exit.circom still packs the public inputs after opening it");
  return out;
}

/** The open circuit's main component: Exit with no public input (its public data is an output). */
export function openExitMainSource(p: CircuitParams): string {
  const main = exitMainSource(p);
  const open = main.replace(" {public [publicInput]} = Exit(", " = Exit(");
  assert.notEqual(open, main, "openExit: the exit's main component no longer declares publicInput public");
  return open;
}

/** Compiles (or finds in the cache) the open exit circuit for `p`; returns its witness wasm. */
export async function buildOpenExitCircuit(p: CircuitParams, log: (m: string) => void = (m) => console.error(m)): Promise<string> {
  return buildOpenCircuit({ label: "openExit", name: `exitOpen_${paramsId(p)}`, mainSource: openExitMainSource(p), patched: openExitSources() }, log);
}

/** Reads exit public data (exitPublicData.ts's layout, big-endian) back into its claim. */
export function decodeExitPublicData(data: Uint8Array, p: CircuitParams): ExitClaim {
  assert.equal(data.length, exitPublicDataBytes(p), "exit public data of another length");
  let o = 0;
  const take = (bytes: number) => {
    let v = 0n;
    for (let i = 0; i < bytes; i++) v = (v << 8n) | BigInt(data[o + i]);
    o += bytes;
    return v;
  };
  const root = take(32);
  const accountId = Number(take(4));
  const prices = Array.from({ length: p.underlyings }, () => take(ORACLE_PRICE_BYTES));
  const pooledQuote = take(EXIT_AMOUNT_BYTES);
  const derivativesClaim = take(EXIT_AMOUNT_BYTES);
  const amounts = Array.from({ length: exitTokenCount(p) }, () => take(EXIT_AMOUNT_BYTES));
  return { root, accountId, prices, pooledQuote, derivativesClaim, amounts };
}

/**
 * Runs the open exit circuit on `input` (an exit witness; its publicInput, if any, is ignored): the failing chain
 * ("Template:line", innermost first) when a constraint fails, else the exit public data the prover would prove.
 */
export async function openExitWitness(wasm: string, p: CircuitParams, input: Record<string, unknown>): Promise<{ ok: false; chain: string[] } | { ok: true; publicData: Uint8Array }> {
  const { publicInput: _, ...rest } = input;
  const failure = await fastFailure(wasm, rest);
  if (failure) return { ok: false, chain: failure };
  const next = await outputReader(wasm);
  return { ok: true, publicData: bitsToBytes(Array.from({ length: 8 * exitPublicDataBytes(p) }, next)) };
}
