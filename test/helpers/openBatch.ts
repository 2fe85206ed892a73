/**
 * The "open" batch circuit, for the dishonest-operator hunt (test/helpers/dishonest.ts): the batch
 * circuit of circuits/, changed in a build directory by checked text substitutions so that one witness
 * calculation answers "would a dishonest operator get a proof for this input, and for which public
 * data?":
 * - the packing of the public-data bits into the public inputs (PackPublicInputs) is taken out and the
 *   bits are an output: an operator computes the public inputs from the public data consistently, so the real
 *   circuit accepts a witness iff this one does with publicInput = the bits in 31-byte chunks, a function
 *   of the bits alone;
 * - the two Merkle "old root" equalities (an account's root, the market tree) become outputs ("links", 0 when they hold) instead of assertions,
 *   and every account update reports what it wrote (the "trace"). The input is accepted iff the witness
 *   calculation succeeds and every link is 0 (exactly the real circuit's constraints). When a changed
 *   transaction value makes a later Merkle proof of the same batch stale, the trace gives what a
 *   consistent operator would write, so the generator can rebuild the later proofs and ask again.
 *
 * The substitutions are checked (each must match the expected number of times), compiled, cached and their
 * witnesses calculated by the shared helper test/helpers/openCircuit.ts (the exit hunt's open circuit uses it too).
 */
import assert from "node:assert/strict";
import { batchMainSource } from "../../scripts/build/batchCircuit.ts";
import { paramsId, publicDataBytes, type CircuitParams } from "../../sequencer/protocol/params.ts";
import { bitsToBytes, buildOpenCircuit, fastFailure, outputReader, patchSources, readCircuitFile, type Patch } from "./openCircuit.ts";

export { fastFailure } from "./openCircuit.ts";

/**
 * One account update's trace: what AccountUpdate wrote (the balance-tree token and its new balance, 0 and 0 in a
 * derivatives slot, which walks no balance path; the quote balance; the order slot; key, nonce, derivatives leaf)
 * and its link.
 */
export const UPDATE_TRACE = [
  "accountId", "balToken", "balNew", "quoteNew", "orderSlot", "orderNewLeaf", "newPubX", "newPubY", "newNonce", "derivNew", "rootLink",
] as const;
export type UpdateTrace = Record<(typeof UPDATE_TRACE)[number], bigint>;

const FILE_UPDATE = "circuits/batch/accountUpdate.circom";
const FILE_SLOT = "circuits/batch/slot.circom";
const FILE_DERIV = "circuits/derivatives/derivSlot.circom";
const FILE_BATCH = "circuits/batch/batch.circom";

/** After a slot's record (spot and derivatives alike): the traces of its two account updates. */
const SLOT_TRACES = [
  "    record <== pack.out;",
  `    signal output trace[2][${UPDATE_TRACE.length}];`,
  "    trace[0] <== updateA.trace;",
  "    trace[1] <== updateB.trace;",
];

const PATCHES: readonly Patch[] = [
  [FILE_UPDATE, /^ {4}accounts\.oldRoot === rootIn;$/gm, "    signal output rootLink <== accounts.oldRoot - rootIn;", 1],
  [
    FILE_UPDATE, /^ {4}rootOut <== accounts\.newRoot;$/gm,
    [
      "    rootOut <== accounts.newRoot;",
      "    var orderSlot = 0;",
      "    for (var i = 0; i < 2 * orderLevels; i++) orderSlot += orderSlotBits[i] * (1 << i);",
      `    signal output trace[${UPDATE_TRACE.length}];`,
      `    trace <== [${UPDATE_TRACE.join(", ")}];`,
    ].join("\n"),
    1,
  ],
  [FILE_SLOT, /^ {4}markets\.oldRoot === marketsRootIn;$/gm, "    signal output marketLink <== markets.oldRoot - marketsRootIn;", 1],
  [
    FILE_SLOT, /^ {4}record <== pack\.out;$/gm,
    [
      ...SLOT_TRACES,
      "    signal output marketTrace[3] <== [marketId, marketOldLeaf + registerMarket.leafDelta, marketLink];",
    ].join("\n"),
    1,
  ],
  // the expression marketTrace repeats must still be the one that feeds the market tree
  [FILE_SLOT, /^ {4}markets\.newLeaf <== marketOldLeaf \+ registerMarket\.leafDelta;$/gm, "    markets.newLeaf <== marketOldLeaf + registerMarket.leafDelta;", 1],
  [
    FILE_DERIV, /^ {4}record <== pack\.out;$/gm,
    [
      ...SLOT_TRACES,
      "    signal output vectors[2][1 + 3 * K];",
      "    vectors[0][0] <== aNewC;",
      "    vectors[1][0] <== bNewC;",
      "    for (var k = 0; k < K; k++) {",
      "        vectors[0][1 + 3 * k] <== aWrite.newId[k];",
      "        vectors[0][2 + 3 * k] <== aWrite.newSize[k];",
      "        vectors[0][3 + 3 * k] <== aWrite.newSnap[k];",
      "        vectors[1][1 + 3 * k] <== bWrite.newId[k];",
      "        vectors[1][2 + 3 * k] <== bWrite.newSize[k];",
      "        vectors[1][3 + 3 * k] <== bWrite.newSnap[k];",
      "    }",
    ].join("\n"),
    1,
  ],
  // (a trailing comment, such as an `inspect:` justification, goes with the line)
  [FILE_BATCH, /^ {4}component pub = PackPublicInputs\(TOTAL_BITS, PUBLIC_INPUT_CHUNK_BITS\(\)\);.*$/gm, "    signal output publicData[TOTAL_BITS];", 1],
  [FILE_BATCH, /\bpub\.bits\[/g, "publicData[", 8],
  [
    FILE_BATCH, /^ {4}pub\.chunks <== publicInput;\n/gm,
    [
      `    signal output spotTrace[slots][2][${UPDATE_TRACE.length}];`,
      "    signal output spotMarket[slots][3];",
      "    for (var s = 0; s < slots; s++) {",
      "        spotTrace[s] <== slot[s].trace;",
      "        spotMarket[s] <== slot[s].marketTrace;",
      "    }",
      `    signal output derivTrace[derivSlots][2][${UPDATE_TRACE.length}];`,
      "    signal output derivVectors[derivSlots][2][1 + 3 * K];",
      "    for (var s = 0; s < derivSlots; s++) {",
      "        derivTrace[s] <== dslot[s].trace;",
      "        derivVectors[s] <== dslot[s].vectors;",
      "    }",
      "",
    ].join("\n"),
    1,
  ],
];

/** The patched text of every circuit file the substitutions touch, from the sources in `read`. */
export function openSources(read: (file: string) => string): Map<string, string> {
  const out = patchSources("openBatch", PATCHES, read);
  assert.ok(!/\bpub\b/.test(out.get(FILE_BATCH)!), "openBatch: batch.circom still packs the public inputs after opening it");
  return out;
}

/** Compiles (or finds in the cache) the open batch circuit for `p`; returns its witness wasm. */
export async function buildOpenBatchCircuit(p: CircuitParams, log: (m: string) => void = (m) => console.error(m)): Promise<string> {
  return buildOpenCircuit({ label: "openBatch", name: `batchOpen_${paramsId(p)}`, mainSource: batchMainSource(p), patched: openSources(readCircuitFile) }, log);
}

/** What the open circuit computed for an input whose witness calculation succeeded. */
export type OpenWitness = {
  publicData: Uint8Array;
  /** Per spot slot: the updates of A and B, then [marketId, market new leaf, market link]. */
  spot: { updates: [UpdateTrace, UpdateTrace]; market: [bigint, bigint, bigint] }[];
  /** Per derivatives slot: the updates of A and B, and their new collateral and [size, snapshot] per instrument. */
  deriv: { updates: [UpdateTrace, UpdateTrace]; vectors: [bigint[], bigint[]] }[];
  /** Where a Merkle old-root equality fails: "spot 0 A account root" etc. Empty: the real circuit accepts. */
  broken: string[];
};

/**
 * Runs the open circuit on `input`: the failing chain when a constraint other than the Merkle
 * old-root equalities fails, else what it computed (see OpenWitness).
 */
export async function openWitness(wasm: string, p: CircuitParams, input: Record<string, unknown>): Promise<{ ok: false; chain: string[] } | ({ ok: true } & OpenWitness)> {
  const failure = await fastFailure(wasm, input);
  if (failure) return { ok: false, chain: failure };
  const next = await outputReader(wasm);
  const data = bitsToBytes(Array.from({ length: 8 * publicDataBytes(p) }, next));
  const update = (): UpdateTrace => Object.fromEntries(UPDATE_TRACE.map((f) => [f, next()])) as UpdateTrace;
  const spot = Array.from({ length: p.slots }, () => ({ updates: [update(), update()] as [UpdateTrace, UpdateTrace], market: [0n, 0n, 0n] as [bigint, bigint, bigint] }));
  for (const s of spot) s.market = [next(), next(), next()];
  const deriv = Array.from({ length: p.derivSlots }, () => ({ updates: [update(), update()] as [UpdateTrace, UpdateTrace], vectors: [[], []] as [bigint[], bigint[]] }));
  for (const d of deriv) d.vectors = [0, 1].map(() => Array.from({ length: 1 + 3 * p.positionSlots }, next)) as [bigint[], bigint[]];
  const broken: string[] = [];
  const links = (where: string, updates: UpdateTrace[]) => updates.forEach((u, k) => {
    if (u.rootLink !== 0n) broken.push(`${where} ${"AB"[k]} account root (${LINK_RULE.rootLink})`);
  });
  spot.forEach((s, i) => {
    links(`spot slot ${i}`, s.updates);
    if (s.market[2] !== 0n) broken.push(`spot slot ${i} market root (${LINK_RULE.marketLink})`);
  });
  deriv.forEach((d, i) => links(`derivatives slot ${i}`, d.updates));
  return { ok: true, publicData: data, spot, deriv, broken };
}

/** "Template:line" of each Merkle equality the open circuit turns into a link, in the real sources. */
const LINK_RULE = (() => {
  const line = (file: string, text: string, template: string) => {
    const lines = readCircuitFile(file).split("\n");
    const i = lines.findIndex((l) => l.trim() === text);
    assert.ok(i >= 0, `no line "${text}" in ${file}`);
    return `${template}:${i + 1}`;
  };
  return {
    rootLink: line(FILE_UPDATE, "accounts.oldRoot === rootIn;", "AccountUpdate"),
    marketLink: line(FILE_SLOT, "markets.oldRoot === marketsRootIn;", "Slot"),
  };
})();
