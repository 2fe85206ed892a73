/**
 * The "open" marking circuit, for the dishonest-marker hunt (test/circuits/dishonest/marking.test.ts): the marking
 * circuit of circuits/marking/marking.circom with its three public inputs turned into outputs (the message hash, the
 * marks root and the key are computed, not checked), by checked text substitutions (test/helpers/openCircuit.ts).
 * A prover computes its public inputs from its witness, so the real circuit accepts a witness iff this one does with
 * the public inputs set to these outputs; the outputs say what it would have proven.
 */
import assert from "node:assert/strict";
import { markingMainSource } from "../../scripts/build/markingCircuit.ts";
import { paramsId, type CircuitParams } from "../../sequencer/protocol/params.ts";
import { buildOpenCircuit, fastFailure, outputReader, patchSources, type Patch } from "./openCircuit.ts";

const FILE = "circuits/marking/marking.circom";
const PATCHES: readonly Patch[] = [
  [FILE, /^ {4}signal input (messageHash|marksRoot|marksKey);$/gm, "    signal output $1;", 3],
  [FILE, /^ {4}msg\.out === messageHash;$/gm, "    messageHash <== msg.out;", 1],
  [FILE, /^ {4}tree\.root === marksRoot;$/gm, "    marksRoot <== tree.root;", 1],
  [FILE, /^ {4}key\.out === marksKey;$/gm, "    marksKey <== key.out;", 1],
];

/** Compiles (or finds in the cache) the open marking circuit for `p` (the tree's levels as the real one's); returns its witness wasm. */
export async function buildOpenMarkingCircuit(p: CircuitParams, log: (m: string) => void = (m) => console.error(m)): Promise<string> {
  const main = markingMainSource(p);
  const open = main.replace(" {public [messageHash, marksRoot, marksKey]} = Marking(", " = Marking(");
  assert.notEqual(open, main, "openMarking: the marking's main component no longer declares its three public inputs");
  return buildOpenCircuit({ label: "openMarking", name: `markingOpen_${paramsId(p)}`, mainSource: open, patched: patchSources("openMarking", PATCHES) }, log);
}

/** What a prover of `input` would publish: the message hash, the marks root and the key, or where the circuit refuses it. */
export type OpenMarking = { ok: true; messageHash: bigint; marksRoot: bigint; marksKey: bigint } | { ok: false; chain: string[] };

/** The open circuit's verdict on `input` (its public fields, if any, are ignored: the circuit computes them). */
export async function openMarkingWitness(wasm: string, input: Record<string, unknown>): Promise<OpenMarking> {
  const { messageHash: _h, marksRoot: _r, marksKey: _k, ...rest } = input;
  const chain = await fastFailure(wasm, rest);
  if (chain) return { ok: false, chain };
  const next = await outputReader(wasm);
  return { ok: true, messageHash: next(), marksRoot: next(), marksKey: next() };
}
