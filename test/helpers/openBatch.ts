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
 * Each substitution must match the expected number of times, so a change to the circuit that breaks
 * one fails loudly instead of testing something else. The variant is compiled with circom2 (wasm only)
 * into build/circuits/<name>-<hash>/, cached by a hash of the main component, the substitutions and every
 * .circom file under circuits/ (computeCacheKey, as the real build does). The witness calculator is
 * instantiated once per wasm and reused (several times faster than snarkjs's wtns.calculate, which
 * compiles the 10 MB wasm on every call).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { cp, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { batchMainSource } from "../../scripts/build/batchCircuit.ts";
import { computeCacheKey, REPO_ROOT } from "../../scripts/build/circuitBuild.ts";
import { paramsId, publicDataBytes, type CircuitParams } from "../../sequencer/protocol/params.ts";
import { failureChain } from "./circuitRules.ts";

const execFileP = promisify(execFile);

/**
 * One account update's trace: what AccountUpdate wrote (the balance-tree token and its new balance, 0 and 0 in a
 * derivatives slot, which walks no balance path; the quote balance; the order slot; key, nonce, derivatives leaf)
 * and its link.
 */
export const UPDATE_TRACE = [
  "accountId", "balToken", "balNew", "quoteNew", "orderSlot", "orderNewLeaf", "newPubX", "newPubY", "newNonce", "derivNew", "rootLink",
] as const;
export type UpdateTrace = Record<(typeof UPDATE_TRACE)[number], bigint>;

type Patch = readonly [file: string, pattern: RegExp, replacement: string, expected: number];
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
  const out = new Map<string, string>();
  for (const [file, pattern, replacement, expected] of PATCHES) {
    const text = out.get(file) ?? read(file);
    const found = text.match(pattern)?.length ?? 0;
    if (found !== expected) throw new Error(`openBatch: ${pattern} matches ${found} times in ${file}, expected ${expected}`);
    out.set(file, text.replace(pattern, replacement));
  }
  assert.ok(!/\bpub\b/.test(out.get(FILE_BATCH)!), "openBatch: batch.circom still packs the public inputs after opening it");
  return out;
}

/** Compiles (or finds in the cache) the open batch circuit for `p`; returns its witness wasm. */
export async function buildOpenBatchCircuit(p: CircuitParams, log: (m: string) => void = (m) => console.error(m)): Promise<string> {
  const patched = openSources((f) => readFileSyncText(join(REPO_ROOT, f)));
  const name = `batchOpen_${paramsId(p)}`;
  const main = batchMainSource(p);
  const key = await computeCacheKey({ name, mainSource: [main, ...[...patched].map(([f, t]) => `//--- ${f}\n${t}`)].join("\n"), setup: "dev" });
  const parent = join(REPO_ROOT, "build", "circuits");
  const dir = join(parent, `${name}-${key.slice(0, 12)}`);
  const wasm = join(dir, `${name}_js`, `${name}.wasm`);
  if (existsSync(wasm)) return wasm;
  const tmp = join(parent, `.tmp-${name}-${key.slice(0, 12)}-${process.pid}-${randomBytes(4).toString("hex")}`);
  await mkdir(tmp, { recursive: true });
  try {
    // The circuit sources, patched, and circomlib's circuits next to them: circom2 runs under WASI and
    // sees only the repository, not a node_modules that links outside it.
    await cp(join(REPO_ROOT, "circuits"), join(tmp, "circuits"), { recursive: true });
    for (const [file, text] of patched) await writeFile(join(tmp, file), text);
    await cp(join(REPO_ROOT, "node_modules", "circomlib", "circuits"), join(tmp, "lib", "circomlib", "circuits"), { recursive: true, dereference: true });
    await writeFile(join(tmp, `${name}.circom`), main);
    const args = [relative(REPO_ROOT, join(tmp, `${name}.circom`)), "--wasm", "--O2", "-o", relative(REPO_ROOT, tmp)];
    for (const l of [join(tmp, "lib"), tmp]) args.push("-l", relative(REPO_ROOT, l));
    const t0 = performance.now();
    log(`[openBatch] circom2 ${args.join(" ")}`);
    try {
      await execFileP(join(REPO_ROOT, "node_modules", ".bin", "circom2"), args, { cwd: REPO_ROOT, maxBuffer: 64 << 20 });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      throw new Error(`openBatch: circom2 failed:\n${err.stderr ?? ""}${err.stdout ?? ""}`.trimEnd());
    }
    log(`[openBatch] compiled in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    try {
      await rename(tmp, dir);
    } catch (e) {
      if (!existsSync(wasm)) throw e; // another process finished the same build first: keep its entry
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return wasm;
}

const readFileSyncText = (path: string): string => readFileSync(path, "utf8");

type WitnessCalculator = {
  instance: { exports: { getWitness(i: number): void; readSharedRWMemory(j: number): number } };
  n32: number;
  _doCalculateWitness(input: unknown, sanityCheck: boolean): Promise<void>;
};
const calculators = new Map<string, Promise<WitnessCalculator>>();

/** circom's witness calculator for `wasm`, instantiated once per process. */
function calculator(wasm: string): Promise<WitnessCalculator> {
  let c = calculators.get(wasm);
  if (!c) {
    c = (async () => {
      // circom's witness_calculator.js is CommonJS in a "type": "module" package: evaluate it as such.
      // Its error text accumulates over calls (errStr is never reset): reset it after each throw, so
      // each failure names its own constraints.
      const original = await readFile(join(wasm, "..", "witness_calculator.js"), "utf8");
      const source = original.replace("throw new Error(err + errStr);", '{ const message = err + errStr; errStr = ""; throw new Error(message); }');
      assert.notEqual(source, original, "circom's witness_calculator.js no longer throws `err + errStr`");
      const module = { exports: {} as unknown };
      new Function("module", "exports", source)(module, module.exports);
      const builder = module.exports as (code: Buffer) => Promise<WitnessCalculator>;
      return builder(await readFile(wasm));
    })();
    calculators.set(wasm, c);
  }
  return c;
}

function readSignal(wc: WitnessCalculator, index: number): bigint {
  wc.instance.exports.getWitness(index);
  let v = 0n;
  for (let j = wc.n32 - 1; j >= 0; j--) v = (v << 32n) | BigInt(wc.instance.exports.readSharedRWMemory(j) >>> 0);
  return v;
}

/**
 * Calculates the witness of `input` with the (cached) calculator of `wasm`: null when every
 * constraint holds, else the failing chain "Template:line", innermost first (inputFailure's answer,
 * several times faster). Works on the real circuit and on the open one.
 */
export async function fastFailure(wasm: string, input: Record<string, unknown>): Promise<string[] | null> {
  const wc = await calculator(wasm);
  try {
    await wc._doCalculateWitness(input, false);
    return null;
  } catch (e) {
    return failureChain(e);
  }
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
  const wc = await calculator(wasm);
  let at = 1;
  const next = () => readSignal(wc, at++);
  const bytes = publicDataBytes(p);
  const data = new Uint8Array(bytes);
  for (let i = 0; i < 8 * bytes; i++) {
    const bit = next();
    assert.ok(bit === 0n || bit === 1n, `public-data output ${i} is not a bit`);
    if (bit === 1n) data[i >> 3] |= 0x80 >> (i & 7);
  }
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
    const lines = readFileSyncText(join(REPO_ROOT, file)).split("\n");
    const i = lines.findIndex((l) => l.trim() === text);
    assert.ok(i >= 0, `no line "${text}" in ${file}`);
    return `${template}:${i + 1}`;
  };
  return {
    rootLink: line(FILE_UPDATE, "accounts.oldRoot === rootIn;", "AccountUpdate"),
    marketLink: line(FILE_SLOT, "markets.oldRoot === marketsRootIn;", "Slot"),
  };
})();
