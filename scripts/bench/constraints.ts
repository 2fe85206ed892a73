/**
 * Constraint counts of the universal batch circuit: per slot (Batch with 1 and 2 slots at TEST and
 * PRODUCTION tree depths), the fixed cost, the public data's commitment (its packing into public inputs,
 * beside the SHA-256 it replaced as the baseline), and the breakdown of one slot by gadget (small wrapper
 * circuits instantiating each gadget on its own).
 *
 *   npx tsx scripts/bench/constraints.ts
 *
 * Circuits are compiled with circom2 (--r1cs --O2, no witness code, no trusted setup) under
 * build/bench/r1cs/<name>-<hash12>/, keyed by the same source hash as scripts/build/circuitBuild.ts
 * (main source + every .circom under circuits/ + circomlib/circom2/snarkjs versions); only the
 * counts (result.json) are kept, the .r1cs is deleted. A changed circuit recompiles on the next run.
 * Wrapper circuits see a gadget's inputs as circuit inputs, so --O2 may substitute a handful of linear
 * constraints differently than inside the slot; the "rest" row absorbs that.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { promisify } from "node:util";
import { computeCacheKey } from "../build/circuitBuild.ts";
import { batchCircuitName, batchMainSource } from "../build/batchCircuit.ts";
import { readR1cs } from "../setup/r1cs.ts";
import { domainPower } from "../setup/devSetup.ts";
import { publicInputCount } from "../../sequencer/protocol/publicData.ts";
import { Bits, HEADER_BYTES, oracleSectionBytes, PUBLIC_INPUT_CHUNK_BYTES, RECORD_BYTES } from "../../sequencer/protocol/constants.ts";
import { PRODUCTION_PARAMS, publicDataBytes, TEST_PARAMS, type CircuitParams } from "../../sequencer/protocol/params.ts";
import { isMainModule } from "../lib/mainModule.ts";
import { int, pct, progress, ROOT, section, table } from "./util.ts";

const execFileP = promisify(execFile);
const OUT = join(ROOT, "build", "bench", "r1cs");

type R1csCount = { name: string; nConstraints: number; nVars: number; compileSeconds: number; cached: boolean };

/** circom2's simplification levels: --O1 removes equalities, --O2 (every build here) also substitutes linear constraints. */
export type Optimization = "--O1" | "--O2";

/**
 * Compiles `mainSource` to an r1cs (cached by source hash) and returns its constraint count; `optimization` is --O2,
 * as every circuit build, unless asked (the level is part of the cache key).
 */
export async function compileR1cs(name: string, mainSource: string, optimization: Optimization = "--O2"): Promise<R1csCount> {
  // --O2 names keep the keys of the counts cached before the level was a parameter.
  const tagged = optimization === "--O2" ? name : `${name}-O1`;
  const key = await computeCacheKey({ name: `bench-r1cs:${tagged}`, mainSource, setup: "dev" });
  const dir = join(OUT, `${tagged}-${key.slice(0, 12)}`);
  const resultPath = join(dir, "result.json");
  if (existsSync(resultPath)) return { ...(JSON.parse(await readFile(resultPath, "utf8")) as R1csCount), cached: true };
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    await writeFile(join(tmp, "main.circom"), mainSource);
    const t = performance.now();
    // circom2 runs under WASI and only sees the repository: paths relative to its root.
    const args = [relative(ROOT, join(tmp, "main.circom")), "--r1cs", optimization, "-l", "node_modules", "-l", ".", "-o", relative(ROOT, tmp)];
    try {
      await execFileP(join(ROOT, "node_modules", ".bin", "circom2"), args, { cwd: ROOT, maxBuffer: 64 << 20 });
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      throw new Error(`circom2 failed for ${name}:\n${err.stderr ?? ""}${err.stdout ?? ""}`);
    }
    const compileSeconds = (performance.now() - t) / 1000;
    const r1cs = await readR1cs(join(tmp, "main.r1cs"));
    const result: R1csCount = { name, nConstraints: r1cs.nConstraints, nVars: r1cs.nVars, compileSeconds, cached: false };
    await rm(join(tmp, "main.r1cs"));
    await writeFile(join(tmp, "result.json"), JSON.stringify(result, null, 2) + "\n");
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    progress(`compiled ${name}: ${int(result.nConstraints)} constraints in ${compileSeconds.toFixed(1)} s`);
    return result;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Constraints of the dev build of the batch circuit for `p` when scripts/build/circuitBuild.ts has it cached. */
async function builtBatchConstraints(p: CircuitParams): Promise<number | undefined> {
  const name = batchCircuitName(p);
  const key = await computeCacheKey({ name, mainSource: batchMainSource(p), includeDirs: ["node_modules", "."], setup: "dev" });
  const meta = join(ROOT, "build", "circuits", `${name}-${key.slice(0, 12)}`, "build.json");
  return existsSync(meta) ? (JSON.parse(await readFile(meta, "utf8")) as { nConstraints: number }).nConstraints : undefined;
}

/** Runs jobs with at most `limit` in flight (circom2 is single-threaded). */
async function pool<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return out;
}

const main = (includes: string[], body: string, extra = ""): string =>
  ["pragma circom 2.1.0;", ...includes.map((i) => `include "${i}";`), extra, `component main = ${body};`, ""].join("\n");
const SLOT = "circuits/batch/slot.circom";
const SHA = "circuits/lib/sha256.circom";
const PACK = "circuits/lib/publicInputs.circom";

/** Header plus the oracle section at production sizes (circuits/DERIVATIVES.md); the test circuit's section is 22 bytes shorter. */
const HEADER_BITS = (HEADER_BYTES + oracleSectionBytes(PRODUCTION_PARAMS)) * 8;
const RECORD_BITS = RECORD_BYTES * 8;
/** sha256 blocks for `bits` of message: 1 pad bit and a 64-bit length, rounded up to 512. */
export const shaBlocks = (bits: number): number => Math.floor((bits + 64) / 512) + 1;
const shaBlocksForSlots = (slots: number): number => shaBlocks(HEADER_BITS + slots * RECORD_BITS);
/** Public inputs (PUBLIC_INPUT_CHUNK_BYTES chunks) of `bits` of public data. */
const chunks = (bits: number): number => Math.ceil(bits / (8 * PUBLIC_INPUT_CHUNK_BYTES));
/** Record counts whose public-data commitment (packing, and the sha256 baseline) is compiled (the batch sizes of the estimates table). */
const SHA_RECORDS = [1, 2, 4, 8, 16, 32];

type Depth = { label: string; p: CircuitParams };
const DEPTHS: Depth[] = [
  { label: "TEST", p: TEST_PARAMS },
  { label: "PRODUCTION", p: PRODUCTION_PARAMS },
];
const depthStr = (p: CircuitParams) => `${p.accountLevels}/${p.balanceLevels}/${p.orderLevels}/${p.marketLevels}`;

/** Per-slot gadget instances, as circuits/batch/slot.circom and accountUpdate.circom instantiate them. */
type GadgetKey =
  | "sig" | "accPath" | "balPath" | "orderPath" | "p5" | "accRest" | "marketPath" | "orderStorage" | "orderWords" | "orderTime" | "p3" | "pack" | "keyComp";

export type ConstraintReport = {
  slot: Record<string, number>;
  batch: Record<string, { one: number; two: number }>;
  shaBlock: number;
  estimates: { label: string; slots: number; constraints: number }[];
};

export async function runConstraints(): Promise<ConstraintReport> {
  const jobs = new Map<string, string>();
  const want = (name: string, src: string): string => {
    jobs.set(name, src);
    return name;
  };
  // Depth-independent gadgets.
  want("EdDSAPoseidonVerifier", main(["circomlib/circuits/eddsaposeidon.circom"], "EdDSAPoseidonVerifier()"));
  want("SignatureIfEnabled", main([SLOT], "SignatureIfEnabled()"));
  want("OrderStorage", main([SLOT], "OrderStorage()"));
  want("OrderWords", main([SLOT], "OrderWords()"));
  want("OrderTime", main(["circuits/lib/orderTime.circom"], "OrderTime()"));
  want("PackRecord", main([SLOT], "PackRecord()"));
  want("KeyCompression", main(["circuits/lib/compressedKey.circom"], "CompressedKey(48)"));
  for (const t of [3, 4, 7]) want(`Poseidon${t}`, main(["circomlib/circuits/poseidon.circom"], `Poseidon(${t})`));
  // The public data (header + records) for each batch size estimated below: packed into public inputs (the
  // circuit's commitment), and its sha256 (the baseline: the commitment before; a block whose bits include
  // constant padding is cheaper, so blocks are not all equal and every size is compiled).
  for (const r of SHA_RECORDS) {
    want(`Sha256_header_${r}rec`, main([SHA], `Sha256Merged(${HEADER_BITS + r * RECORD_BITS})`));
    want(`PackPublicInputs_header_${r}rec`, main([PACK], `PackPublicInputs(${HEADER_BITS + r * RECORD_BITS}, ${8 * PUBLIC_INPUT_CHUNK_BYTES})`));
  }
  // Depth-dependent gadgets and the batch itself.
  const levels = new Set<number>();
  for (const { p } of DEPTHS) {
    for (const l of [p.accountLevels, p.balanceLevels, p.orderLevels, p.marketLevels]) levels.add(l);
    want(`AccountUpdate_${depthStr(p)}`, main([SLOT], `AccountUpdate(${p.accountLevels}, ${p.balanceLevels}, ${p.orderLevels}, 1)`));
    want(`Slot_${depthStr(p)}`, main([SLOT], `Slot(${p.accountLevels}, ${p.balanceLevels}, ${p.orderLevels}, ${p.marketLevels})`));
    // One derivatives slot in both, so Batch(2) - Batch(1) is one spot slot (the derivatives part is its own section).
    for (const slots of [1, 2]) want(`Batch_${depthStr(p)}_s${slots}`, batchMainSource({ ...p, slots, derivSlots: 1 }));
  }
  for (const l of [...levels].sort((a, b) => a - b)) want(`QuadUpdate${l}`, main([SLOT], `QuadUpdate(${l})`));

  // Biggest first so the two workers finish together.
  const weight = (n: string) => (n.startsWith("Batch") ? 3 : n.startsWith("Sha256") ? 2 + Number(n.match(/_(\d+)rec/)![1]) / 100 : n.startsWith("Slot") ? 1 : 0);
  const names = [...jobs.keys()].sort((a, b) => weight(b) - weight(a));
  const t0 = performance.now();
  const results = await pool(names.map((n) => () => compileR1cs(n.replaceAll("/", "-"), jobs.get(n)!)), 2);
  const c = new Map(names.map((n, i) => [n, results[i]!.nConstraints]));
  const get = (n: string): number => c.get(n)!;
  const fresh = results.filter((r) => !r.cached);
  const compileNote = fresh.length
    ? `${fresh.length} of ${results.length} circuits compiled now (${((performance.now() - t0) / 1000).toFixed(0)} s wall, 2 at a time), the rest from build/bench/r1cs`
    : `all ${results.length} circuits from the build/bench/r1cs cache (keyed by source hash)`;

  const sha = (records: number) => get(`Sha256_header_${records}rec`);
  const pack = (records: number) => get(`PackPublicInputs_header_${records}rec`);
  // A full block of record data (no constant padding bits), from the two largest sizes compiled.
  const shaBlock = (sha(32) - sha(16)) / (shaBlocksForSlots(32) - shaBlocksForSlots(16));
  const shaRec = (shaBlock * RECORD_BITS) / 512;
  section("1. Constraints (circom2 --O2, R1CS constraints)");
  console.log(`${compileNote}. Tree depths are account/balance/order/market quad levels: TEST ${depthStr(TEST_PARAMS)}, PRODUCTION ${depthStr(PRODUCTION_PARAMS)}.\n`);

  // ---- batch: per slot and fixed cost
  const batch: ConstraintReport["batch"] = {};
  const slot: ConstraintReport["slot"] = {};
  const rows: (string | number)[][] = [];
  for (const { label, p } of DEPTHS) {
    const d = depthStr(p);
    const one = get(`Batch_${d}_s1`);
    const two = get(`Batch_${d}_s2`);
    const s = get(`Slot_${d}`);
    batch[label] = { one, two };
    slot[label] = s;
    rows.push([`${label} (${d})`, int(one), int(two), int(two - one), int(s), int(two - one - s), int(pack(2) - pack(1)), int(one - s)]);
  }
  console.log(
    table(
      ["depths", "Batch, 1 slot", "Batch, 2 slots", "Δ (2 − 1 slots)", "Slot alone", "Δ − Slot", "public-input Δ (1 → 2 records)", "fixed = Batch(1) − Slot"],
      rows,
    ),
  );
  console.log(
    `\nThe public data is committed as public inputs: its bits packed into ${PUBLIC_INPUT_CHUNK_BYTES}-byte chunks (PackPublicInputs, at most one linear ` +
      `constraint per chunk, which --O2 may substitute away: ${int(pack(1))} for the header + 1 record, ${int(pack(32))} for 32 records, compiled alone), ` +
      `so Δ between 1 and 2 slots is one Slot and nothing more. ` +
      `Baseline, the commitment it replaced: the public data's sha256, ${int(sha(1))} constraints for the header + 1 record (${shaBlocksForSlots(1)} blocks) and ` +
      `${int(shaBlock)} per block of record data, ${int(shaRec)} per ${RECORD_BYTES}-byte record. ` +
      `The fixed cost Batch(1) − Slot = ${int(batch.TEST!.one - slot.TEST!)} is one derivatives slot and the oracle step (see the derivatives section), ` +
      `the 2 × Num2Bits(254) root decompositions, the state and globals hashes and header range checks.`,
  );

  // ---- larger batches: Batch(1) + (slots − 1) × Slot + the packing's growth; beside it the same with sha256 (the baseline)
  const estimates: ConstraintReport["estimates"] = [];
  const estRows: (string | number)[][] = [];
  for (const { label, p } of DEPTHS) {
    for (const slots of label === "TEST" ? [2, 4, 8, 16] : [8, 16, 32]) {
      const n = batch[label]!.one + (slots - 1) * slot[label]! + pack(slots) - pack(1);
      const withSha = n - pack(slots) + sha(slots);
      estimates.push({ label, slots, constraints: n });
      const domain = Math.ceil(Math.log2(n + 2)); // + public input + the constant-one wire
      const built = await builtBatchConstraints({ ...p, slots });
      const check = slots === 2 ? ` (compiled: ${int(batch[label]!.two)})` : built !== undefined ? ` (compiled: ${int(built)})` : "";
      const tag = slots === p.slots ? `, = ${label}_PARAMS.slots` : "";
      estRows.push([
        `${label}, ${slots} spot slots + 1 derivatives slot${tag}`, `${int(n)}${check}`, `2^${domain}`, int(n / slots), chunks(HEADER_BITS + slots * RECORD_BITS),
        int(withSha), `${shaBlocksForSlots(slots)} (${pct(sha(slots), withSha)})`,
      ]);
    }
  }
  console.log(
    "\nBatch sizes derived as Batch(1) + (slots − 1) × Slot + PackPublicInputs(slots records) − PackPublicInputs(1 record); " +
      "the baseline columns put the public data's sha256 back in its place (each sha256 compiled at its length):\n",
  );
  console.log(table(["batch", "constraints", "Groth16 domain", "constraints / slot", "public inputs", "baseline: with sha256", "sha256 blocks (share)"], estRows));

  // ---- breakdown of one slot by gadget
  type Line = { key: GadgetKey | "rest"; label: string; count: number; each: Record<string, number> };
  const lines: Line[] = [];
  const each = (f: (p: CircuitParams) => number): Record<string, number> => Object.fromEntries(DEPTHS.map(({ label, p }) => [label, f(p)]));
  const q = (l: number) => get(`QuadUpdate${l}`);
  const accRest = (p: CircuitParams) => get(`AccountUpdate_${depthStr(p)}`) - q(p.accountLevels) - q(p.balanceLevels) - q(p.orderLevels) - 2 * get("Poseidon7");
  lines.push({ key: "sig", label: "EdDSAPoseidonVerifier (SignatureIfEnabled), sigA + sigB", count: 2, each: each(() => get("SignatureIfEnabled")) });
  lines.push({ key: "accPath", label: "AccountUpdate: account-tree path QuadUpdate(accountLevels)", count: 2, each: each((p) => q(p.accountLevels)) });
  lines.push({ key: "balPath", label: "AccountUpdate: balance-tree path QuadUpdate(balanceLevels), the slot's token (the quote is a leaf field)", count: 2, each: each((p) => q(p.balanceLevels)) });
  lines.push({ key: "orderPath", label: "AccountUpdate: order-tree path QuadUpdate(orderLevels)", count: 2, each: each((p) => q(p.orderLevels)) });
  lines.push({ key: "p5", label: "AccountUpdate: account leaf Poseidon(7), old + new", count: 4, each: each(() => get("Poseidon7")) });
  lines.push({ key: "accRest", label: "AccountUpdate: index Num2Bits (account, 2 tokens)", count: 2, each: each(accRest) });
  lines.push({ key: "marketPath", label: "market-tree path QuadUpdate(marketLevels)", count: 1, each: each((p) => q(p.marketLevels)) });
  lines.push({ key: "orderStorage", label: "OrderStorage (fill/cancel rule)", count: 2, each: each(() => get("OrderStorage")) });
  lines.push({ key: "orderWords", label: "OrderWords (order field range checks + packing)", count: 2, each: each(() => get("OrderWords")) });
  lines.push({ key: "orderTime", label: "OrderTime (expiry, and the window of an order that never rests)", count: 2, each: each(() => get("OrderTime")) });
  lines.push({ key: "p3", label: "Poseidon(3): msgA, msgB, market leaf", count: 3, each: each(() => get("Poseidon3")) });
  lines.push({ key: "pack", label: "PackRecord (296 record bits)", count: 1, each: each(() => get("PackRecord")) });
  lines.push({ key: "keyComp", label: "key compression (Num2Bits_strict + CompConstant + Num2Bits(254))", count: 1, each: each(() => get("KeyCompression")) });
  const listed = (label: string) => lines.reduce((a, l) => a + l.count * l.each[label]!, 0);
  lines.push({
    key: "rest",
    label: `rest: tx-field range checks (${REST_RANGE_BITS} Num2Bits bits: amount, units, fees, 4 new balances × 128), comparators, fee arithmetic, one-hot type, the quote-or-tree routing`,
    count: 1,
    each: Object.fromEntries(DEPTHS.map(({ label }) => [label, slot[label]! - listed(label)])),
  });
  const bRows = lines.map((l) => [
    l.label,
    l.count,
    ...DEPTHS.flatMap(({ label }) => [int(l.each[label]!), int(l.count * l.each[label]!), pct(l.count * l.each[label]!, slot[label]!)]),
  ]);
  bRows.push(["**Slot total**", "", ...DEPTHS.flatMap(({ label }) => ["", `**${int(slot[label]!)}**`, "100%"])]);
  bRows.push([
    `baseline, no longer paid: sha256 of the slot's ${RECORD_BYTES}-byte record (amortized ${RECORD_BITS}/512 of a ${int(shaBlock)}-constraint block; ` +
      `its ${RECORD_BITS} bits now go into the public inputs by linear constraints, about ${(RECORD_BITS / (8 * PUBLIC_INPUT_CHUNK_BYTES)).toFixed(1)} per record)`,
    1,
    ...DEPTHS.flatMap(({ label }) => [int(shaRec), int(shaRec), `+${pct(shaRec, slot[label]!)}`]),
  ]);
  console.log("\nOne slot by gadget (wrapper circuits compiled alone; 'rest' = Slot − listed gadgets):\n");
  console.log(
    table(
      ["gadget", "per slot", "TEST each", "TEST total", "TEST share", "PROD each", "PROD total", "PROD share"],
      bRows,
    ),
  );
  const qRows = [...levels].sort((a, b) => a - b).map((l) => [l, int(q(l)), int(q(l) / l)]);
  console.log(
    `\nQuad-tree update cost per level (2 × Poseidon(4) = ${int(2 * get("Poseidon4"))} + child selection):\n\n` +
      table(["levels", "QuadUpdate(levels)", "per level"], qRows) +
      `\n\nEdDSAPoseidonVerifier alone: ${int(get("EdDSAPoseidonVerifier"))}; Poseidon(3/4/7): ${int(get("Poseidon3"))} / ${int(get("Poseidon4"))} / ${int(get("Poseidon7"))}; ` +
      `Sha256 of the header + ${SHA_RECORDS.join(" / ")} records: ${SHA_RECORDS.map((r) => `${int(sha(r))} (${shaBlocksForSlots(r)} blocks)`).join(" / ")}.`,
  );

  // ---- slot types
  const uses: Record<string, Partial<Record<GadgetKey | "rest", number>>> = {
    NOOP: {},
    "REGISTER_KEY (key registration)": { accPath: 1, p5: 2, accRest: 1, keyComp: 1, pack: 1 },
    DEPOSIT: { accPath: 1, balPath: 1, p5: 2, accRest: 1, pack: 1 },
    REGISTER_MARKET: { marketPath: 1, p3: 1, pack: 1 },
    TRADE: { sig: 2, orderWords: 2, orderTime: 2, p3: 3, marketPath: 1, accPath: 2, balPath: 2, orderPath: 2, p5: 4, accRest: 2, orderStorage: 2, pack: 1, rest: 1 },
    WITHDRAW: { sig: 1, p3: 1, accPath: 1, balPath: 1, p5: 2, accRest: 1, pack: 1 },
    CANCEL: { sig: 1, p3: 1, accPath: 1, orderPath: 1, p5: 2, accRest: 1, orderStorage: 1, pack: 1 },
  };
  const names2: Record<string, string> = {
    sig: "EdDSA", accPath: "account path", balPath: "balance path", orderPath: "order path", p5: "Poseidon(7)", accRest: "index bits",
    marketPath: "market path", orderStorage: "OrderStorage", orderWords: "OrderWords", orderTime: "OrderTime", p3: "Poseidon(3)", pack: "PackRecord", keyComp: "key compression",
    rest: "range checks/fees",
  };
  const byKey = new Map(lines.map((l) => [l.key, l]));
  const tRows = Object.entries(uses).map(([type, u]) => {
    const used = (label: string) => Object.entries(u).reduce((a, [k, n]) => a + n * byKey.get(k as GadgetKey)!.each[label]!, 0);
    const list = Object.entries(u).map(([k, n]) => `${n > 1 ? `${n}× ` : ""}${names2[k]}`).join(", ") || "none (every gadget runs on dummy data)";
    return [type, ...DEPTHS.flatMap(({ label }) => [int(slot[label]!), `${int(used(label))} (${pct(used(label), slot[label]!)})`]), list];
  });
  console.log(
    "\nConstraints per slot type: every type (no-op, key registration, deposit, market registration, trade, withdrawal, cancel) runs the same universal " +
      "Slot, so each costs exactly the slot cost above. 'doing real work' counts only the gadgets whose inputs change state or are checked for that type " +
      "(approximate: the 'rest' row is attributed to TRADE only):\n",
  );
  console.log(table(["slot type", "TEST constraints", "TEST doing real work", "PROD constraints", "PROD doing real work", "gadgets doing real work"], tRows, ["l", "r", "r", "r", "r", "l"]));
  await optimizationLevels();
  await compiledParameterSets();
  return { slot, batch, shaBlock, estimates };
}

/**
 * What circom2's --O1 costs against the --O2 every build uses (issue 14 asked what it buys): the production sizes'
 * spot slot, derivatives slot and oracle step compiled at both levels. --O1 only removes equalities between signals;
 * --O2 also substitutes every linear constraint away, so it can only be fewer (the compile takes longer and, for the
 * whole batch, more memory).
 */
async function optimizationLevels(): Promise<void> {
  const p = PRODUCTION_PARAMS;
  const depths = `${p.accountLevels}, ${p.balanceLevels}, ${p.orderLevels}`;
  const circuits: [string, string][] = [
    ["spot Slot", main([SLOT], `Slot(${depths}, ${p.marketLevels})`)],
    ["DerivSlot", main(["circuits/derivatives/derivSlot.circom"], `DerivSlot(${depths}, ${p.instruments}, ${p.positionSlots}, ${p.optionInstruments}, ${p.underlyings})`)],
    ["OracleStep", main(["circuits/derivatives/oracleStep.circom"], `OracleStep(${p.instruments}, ${p.optionInstruments}, ${p.underlyings})`)],
  ];
  section("circom2 --O1 against --O2, production sizes");
  const rows: string[][] = [];
  for (const [label, src] of circuits) {
    const name = `Optimization_${label.replace(" ", "")}`;
    const [o1, o2] = [await compileR1cs(name, src, "--O1"), await compileR1cs(name, src, "--O2")];
    rows.push([label, int(o1.nConstraints), int(o2.nConstraints), `${int(o1.nConstraints - o2.nConstraints)} (${pct(o1.nConstraints - o2.nConstraints, o1.nConstraints)})`, `${o1.compileSeconds.toFixed(1)} / ${o2.compileSeconds.toFixed(1)}`]);
  }
  console.log(table(["circuit", "--O1", "--O2", "--O2 saves", "compile s (--O1 / --O2, when compiled)"], rows));
}

/** The production sets' whole batch circuits, compiled (minutes each when the circuit changed), against the 2^20 domain they are sized for. */
export const TARGET_DOMAIN_POWER = 20;

/**
 * The set PRODUCTION_PARAMS was chosen against (2026-12-07): the 7-instrument table with 7 positions per account, one
 * spot slot more. Compiled beside it so the README's trade (a trade per proof for 16 instruments and 16 positions)
 * stays measured.
 */
const NARROW_ALTERNATIVE: CircuitParams = { ...PRODUCTION_PARAMS, slots: PRODUCTION_PARAMS.slots + 1, instruments: 7, positionSlots: 7, optionInstruments: 4 };

/**
 * Compiles the whole batch circuit of PRODUCTION_PARAMS and the narrow alternative and prints each one's constraints, Groth16
 * domain and room left in 2^TARGET_DOMAIN_POWER: the sums above are estimates, and a set that grows past its domain
 * (19 + 4 did, unnoticed, from 2026-12-05 to 06: its fixes were counted, not compiled) doubles its FFT work.
 */
async function compiledParameterSets(): Promise<void> {
  section(`The production parameter sets, compiled whole (circom2 --O2), against a 2^${TARGET_DOMAIN_POWER} domain`);
  const rows: (string | number)[][] = [];
  for (const [label, p] of [["PRODUCTION_PARAMS", PRODUCTION_PARAMS], ["7 instruments, 7 positions (not chosen)", NARROW_ALTERNATIVE]] as const) {
    const r = await compileR1cs(batchCircuitName(p), batchMainSource(p));
    const nPublic = publicInputCount(publicDataBytes(p));
    const power = domainPower(r.nConstraints, nPublic);
    const room = 2 ** TARGET_DOMAIN_POWER - r.nConstraints - nPublic - 1;
    rows.push([`${label} (${p.slots} + ${p.derivSlots} slots)`, int(r.nConstraints), nPublic, `2^${power}`, room >= 0 ? int(room) : `${int(-room)} past`, int(r.nConstraints / (p.slots + p.derivSlots))]);
    if (power > TARGET_DOMAIN_POWER) console.log(`\n**${label} no longer fits 2^${TARGET_DOMAIN_POWER}: take a slot out (README, "Production size").**`);
  }
  console.log(table(["parameter set", "constraints", "public inputs", "Groth16 domain", `room in 2^${TARGET_DOMAIN_POWER}`, "per transaction slot"], rows));
}

/** The field widths the slot range-checks, for the notes (sum of Num2Bits widths in 'rest'). */
export const REST_RANGE_BITS =
  Bits.amount + 2 * Bits.unit + Bits.lots + Bits.priceTicks + 2 * Bits.feePpm + 2 * Bits.balance + Bits.nonce + 4 * Bits.balance;

if (isMainModule(import.meta.url)) await runConstraints();
