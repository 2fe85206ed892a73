/**
 * `npm run bench:sig`: EdDSA-Poseidon signature verification and Poseidon hashing, JavaScript (circomlibjs,
 * the baseline) against the native addon, in one run:
 *   - circomlibjs verifyMessage per signature (a few samples: about 20 ms each),
 *   - native, one signature per call (the sequencer's single-order path, packing and N-API call included),
 *   - native "single" mode over a whole group (each signature checked on its own, no batch equation),
 *   - native batch verification (one MSM per call) at 64, 256 and 1024 signatures, 1 and 2 threads,
 *     synchronous and off-thread (async),
 *   - orders, whose message is Poseidon(domain, w0, w1): hashed on the JavaScript thread and then verified
 *     (before: how the verifier took them until the addon hashed preimages) against preimage records hashed
 *     inside the native call (after), per batch size,
 *   - with --baseline-addon PATH, the same batch rows for another build of the addon (e.g. one built from an
 *     earlier commit), measured in this run on the same records: before/after beside each other,
 *   - groups of 1024 with bad signatures (all bad, every second, one): batch verification, which locates the bad
 *     ones by bisection and checks both halves of a failing set one by one once both fail (dense failures), beside
 *     checking each on its own ("single" mode) and, with --baseline-addon, the other build's batch verification,
 *   - Poseidon of 2, 3, 5 and 16 inputs: circomlibjs, native one call per hash, and inside the addon one state
 *     at a time, 4 states in lockstep and in its lanes (16 with AVX-512 IFMA), ns per hash.
 * Times are medians over repeated calls; every native call's verdicts are checked (all valid).
 *
 *   npx tsx scripts/bench/signatures.ts [--runs 7] [--baseline-addon path/to/bn254_prover.node]
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { isNativeAvailable, nativeAddon, nativeUnavailableReason, type NativeAddon } from "../../fpga-prover/native/index.ts";
import { verifyMessage } from "../../sequencer/crypto/babyjub.ts";
import { nativeSignatureVerifier, packSignatureChecks, type NativeVerifierOptions } from "../../sequencer/crypto/nativeSignatureVerifier.ts";
import { poseidonJs, poseidonNative } from "../../sequencer/crypto/poseidon.ts";
import { messageValue, type HashedSignatureCheck, type SignatureCheck } from "../../sequencer/crypto/signatureVerifier.ts";
import { FIELD_MODULUS } from "../../sequencer/protocol/constants.ts";
import { preimageSeries, signatureSeries, testScalar } from "../fixtures/signatures.ts";
import { isMainModule } from "../lib/mainModule.ts";
import { dur, int, machineLine, progress, sample, sampleAsync, section, table, timeMs, timeMsAsync } from "./util.ts";

const BATCH_SIZES = [64, 256, 1024] as const;
/** Inputs of an order's message preimage: Poseidon(Domain.ORDER, w0, w1). */
const ORDER_MESSAGE_INPUTS = 3;

function assertAllValid(verdicts: ArrayLike<boolean | number>, what: string): void {
  if (!Array.from(verdicts).every((v) => v === true || v === 1)) throw new Error(`${what}: a valid signature was refused`);
}

type Row = { what: string; threads: string; perSigMs: number };

/** ms per signature of verifying `checks` as consecutive groups of `size` with `verify`, median of `runs`. */
async function perSignature(checks: readonly SignatureCheck[], size: number, runs: number, verify: (group: readonly SignatureCheck[]) => Promise<unknown>): Promise<number> {
  // each sample verifies every check as checks.length / size different groups (so no group repeats back to back)
  const groups = Array.from({ length: checks.length / size }, (_, k) => checks.slice(k * size, (k + 1) * size));
  const st = await sampleAsync(runs, 1, async () => timeMsAsync(async () => {
    for (const g of groups) await verify(g);
  }));
  return st.median / checks.length;
}

/** Verification with the native verifier, verdicts checked. */
function nativeVerify(opts: NativeVerifierOptions, what: string) {
  const v = nativeSignatureVerifier(opts);
  return async (g: readonly SignatureCheck[]) => assertAllValid(await v.verifyBatch(g), what);
}

const threadsLabel = (threads: number, size: number) => {
  const used = Math.min(threads, Math.ceil(size / nativeAddon().eddsaBatchPerThread));
  return used === threads ? String(threads) : `${threads} asked, ${used} used`;
};

async function verifierRows(checks: readonly HashedSignatureCheck[], runs: number, baseline: NativeAddon | undefined): Promise<Row[]> {
  const rows: Row[] = [];
  const maxThreads = Math.min(2, nativeAddon().defaultThreads);

  progress("native, one signature per call");
  const one = nativeSignatureVerifier({ mode: "single", threads: 1, asyncFrom: Infinity });
  const singles = checks.slice(0, 256);
  const s1 = sample(runs, 1, () => timeMs(() => singles.forEach((c) => assertAllValid(one.verifyBatch([c]) as boolean[], "single"))));
  rows.push({ what: "native, 1 signature per call", threads: "1", perSigMs: s1.median / singles.length });

  for (const threads of [1, maxThreads]) {
    progress(`native "single" mode, 1024 per call, ${threads} thread(s)`);
    const group = checks.slice(0, 1024);
    const ms = await perSignature(group, 1024, runs, nativeVerify({ mode: "single", threads, asyncFrom: Infinity }, "single mode"));
    rows.push({ what: `native, each on its own, 1024 per call`, threads: String(threads), perSigMs: ms });
  }

  for (const size of BATCH_SIZES) {
    for (const threads of [...new Set([1, maxThreads])])
      for (const off of [false, true]) {
        if (off && threads === 1) continue;
        progress(`native batch ${size}, ${threads} thread(s)${off ? ", async" : ""}`);
        const ms = await perSignature(checks.slice(0, 1024), size, runs, nativeVerify({ mode: "batch", threads, asyncFrom: off ? 1 : Infinity }, `batch ${size}`));
        rows.push({ what: `native batch of ${size}${off ? " (async)" : ""}`, threads: threadsLabel(threads, size), perSigMs: ms });
      }
    if (baseline) {
      progress(`baseline build, batch ${size}, 1 thread`);
      const ms = await perSignature(checks.slice(0, 1024), size, runs, async (g) => assertAllValid(baseline.eddsaVerify(packSignatureChecks(g), "batch", 1), `baseline batch ${size}`));
      rows.push({ what: `baseline build: batch of ${size}`, threads: "1", perSigMs: ms });
    }
  }
  return rows;
}

/**
 * Groups of 1024 signatures of which some are bad (a wrong message): ms per signature of batch verification (this
 * build, and the baseline build's), against each checked on its own, every verdict checked.
 */
async function badGroupRows(checks: readonly HashedSignatureCheck[], runs: number, baseline: NativeAddon | undefined): Promise<string[][]> {
  const threads = Math.min(2, nativeAddon().defaultThreads);
  const group = checks.slice(0, 1024);
  const out: string[][] = [];
  for (const [name, bad] of [["all bad", () => true], ["every second bad", (i: number) => i % 2 === 1], ["one bad", (i: number) => i === 777]] as const) {
    const tampered = group.map((c, i) => (bad(i) ? { ...c, message: c.message + 1n } : c));
    const expected = group.map((_, i) => !bad(i));
    const exact = (verdicts: ArrayLike<boolean | number>, what: string) => {
      if (!Array.from(verdicts).every((v, i) => Boolean(v) === expected[i])) throw new Error(`${what}: wrong verdicts (${name})`);
    };
    const time = async (verify: () => unknown) => (await sampleAsync(runs, 1, async () => timeMsAsync(async () => void (await verify())))).median / group.length;
    progress(`bad signatures: ${name}`);
    const batch = nativeSignatureVerifier({ mode: "batch", threads, asyncFrom: Infinity });
    const single = nativeSignatureVerifier({ mode: "single", threads, asyncFrom: Infinity });
    const after = await time(async () => exact(await batch.verifyBatch(tampered), "batch"));
    const alone = await time(async () => exact(await single.verifyBatch(tampered), "single"));
    const base = baseline ? await time(() => exact(baseline.eddsaVerify(packSignatureChecks(tampered), "batch", threads), "baseline batch")) : undefined;
    out.push([name, String(threads), dur(alone), ...(base !== undefined ? [dur(base)] : []), dur(after), `${(alone / after).toFixed(2)}×`, ...(base !== undefined ? [`${(base / after).toFixed(2)}×`] : [])]);
  }
  return out;
}

/**
 * Orders: per batch size and thread count, the message hashed on the JavaScript thread (poseidon(), one
 * N-API call per order) and then verified as a field element, against preimage records hashed in the call;
 * with a baseline build, also the JavaScript hashing followed by its batch verification.
 */
async function orderRows(orders: readonly SignatureCheck[], runs: number, baseline: NativeAddon | undefined): Promise<string[][]> {
  const out: string[][] = [];
  const maxThreads = Math.min(2, nativeAddon().defaultThreads);
  const hashFirst = (g: readonly SignatureCheck[]) => g.map((c) => ({ ...c, message: messageValue(c.message) }));

  progress("orders, one per call");
  const single = nativeVerify({ mode: "single", threads: 1, asyncFrom: Infinity }, "order");
  const singleBefore = await perSignature(orders.slice(0, 256), 1, runs, (g) => single(hashFirst(g)));
  const singleAfter = await perSignature(orders.slice(0, 256), 1, runs, single);
  const ratio = (before: number, after: number) => `${(before / after).toFixed(2)}×`;
  out.push(["1 per call (single mode)", "1", dur(singleBefore), dur(singleAfter), ratio(singleBefore, singleAfter), ...(baseline ? ["–", "–"] : [])]);

  for (const size of BATCH_SIZES)
    for (const threads of [...new Set([1, maxThreads])]) {
      progress(`orders, batch ${size}, ${threads} thread(s)`);
      const v = nativeVerify({ mode: "batch", threads, asyncFrom: Infinity }, `orders batch ${size}`);
      const before = await perSignature(orders, size, runs, (g) => v(hashFirst(g)));
      const after = await perSignature(orders, size, runs, v);
      const base = baseline && threads === 1
        ? await perSignature(orders, size, runs, async (g) => assertAllValid(baseline.eddsaVerify(packSignatureChecks(hashFirst(g)), "batch", 1), `baseline orders ${size}`))
        : undefined;
      out.push([`batch of ${size}`, threadsLabel(threads, size), dur(before), dur(after), ratio(before, after), ...(baseline ? (base ? [dur(base), ratio(base, after)] : ["–", "–"]) : [])]);
    }
  return out;
}

function poseidonRows(runs: number): string[][] {
  const out: string[][] = [];
  const addon = nativeAddon();
  for (const arity of [2, 3, 5, 16]) {
    const inputs = Array.from({ length: 256 }, (_, i) => Array.from({ length: arity }, (_, j) => testScalar(`bench-poseidon/${arity}/${i}/${j}`, FIELD_MODULUS)));
    for (const xs of inputs) if (poseidonJs(xs) !== poseidonNative(xs)) throw new Error("native Poseidon differs from circomlibjs");
    const js = sample(runs, 1, () => timeMs(() => inputs.forEach((xs) => poseidonJs(xs)))).median / inputs.length;
    const call = sample(runs, 1, () => timeMs(() => inputs.forEach((xs) => poseidonNative(xs)))).median / inputs.length;
    // inside the addon: 4096 preimages per call, every method's hashes checked against circomlibjs's
    const n = 4096;
    const bytes = new Uint8Array(32 * arity * n);
    const words = new BigUint64Array(bytes.buffer);
    inputs.flat().forEach((x, i) => {
      for (let k = 0; k < 4; k++) words[4 * i + k] = x >> BigInt(64 * k);
    });
    for (let r = 1; r < n / inputs.length; r++) bytes.copyWithin(r * 32 * arity * inputs.length, 0, 32 * arity * inputs.length);
    const expected = inputs.map(poseidonJs);
    const inAddon = (method: "single" | "scalar-lanes" | "lanes") => {
      const check = new BigUint64Array(addon.poseidonMany(bytes, arity, method).buffer);
      for (const [i, h] of expected.entries()) {
        const got = check[4 * i]! | (check[4 * i + 1]! << 64n) | (check[4 * i + 2]! << 128n) | (check[4 * i + 3]! << 192n);
        if (got !== h) throw new Error(`poseidonMany ${method} differs from circomlibjs`);
      }
      return sample(runs, 1, () => timeMs(() => addon.poseidonMany(bytes, arity, method))).median / n;
    };
    const one = inAddon("single"), four = inAddon("scalar-lanes"), lanes = inAddon("lanes");
    const ns = (ms: number) => `${int(ms * 1e6)} ns`;
    out.push([String(arity), dur(js), dur(call), ns(one), ns(four), ns(lanes), `${(one / lanes).toFixed(1)}×`]);
  }
  return out;
}

function loadBaseline(path: string | undefined): NativeAddon | undefined {
  return path ? (createRequire(import.meta.url)(path) as NativeAddon) : undefined;
}

export async function benchSignatures(runs = 7, baselinePath?: string): Promise<void> {
  if (!isNativeAvailable()) {
    console.log(`native addon unavailable (${nativeUnavailableReason()}); nothing to compare`);
    return;
  }
  const addon = nativeAddon();
  const baseline = loadBaseline(baselinePath);
  console.log(`# Signature verification: circomlibjs vs native\n\n${machineLine()}; addon default threads ${addon.defaultThreads}, ${availableParallelism()} available; Poseidon lanes ${addon.poseidonLanes}.`);
  if (baseline) console.log(`Baseline build: ${baselinePath} (rows marked "baseline build", same records, this run).`);
  progress("signing 2048 signatures (signatureSeries) and 1024 orders (preimages of 3 inputs)");
  const checks = signatureSeries(2048, "bench-sig", 32);
  const orders = preimageSeries(1024, "bench-sig-orders", ORDER_MESSAGE_INPUTS, 32);

  progress("circomlibjs verifyMessage");
  const jsSamples = checks.slice(0, 8);
  const js = sample(jsSamples.length - 1, 1, (i) => timeMs(() => {
    if (!verifyMessage(jsSamples[i]!.message, jsSamples[i]!.signature, jsSamples[i]!.publicKey)) throw new Error("circomlibjs refused a valid signature");
  }));

  const rows = await verifierRows(checks, runs, baseline);
  section("EdDSA-Poseidon verification per signature (message given as a field element)");
  console.log(table(
    ["verifier", "threads", "per signature", "signatures/s", "vs circomlibjs"],
    [
      ["circomlibjs verifyMessage (baseline)", "1", dur(js.median), int(1000 / js.median), "1×"],
      ...rows.map((r) => [r.what, r.threads, dur(r.perSigMs), int(1000 / r.perSigMs), `${int(js.median / r.perSigMs)}×`]),
    ],
  ));
  console.log(`\nBaseline: median of ${js.n} circomlibjs calls; native: median of ${runs} calls per row (each valid signature's verdict checked). Per-signature figures include packing the checks into records and the N-API call. 1024 signatures over 32 keys.`);

  const badTable = await badGroupRows(checks, runs, baseline);
  section("Groups of 1024 with bad signatures, per signature (junk-signed requests: a flood, or a client's bad key)");
  console.log(table(
    ["group", "threads", "each on its own (single mode)", ...(baseline ? ["baseline build: batch"] : []), "batch (this build)", "single / batch", ...(baseline ? ["baseline / this build"] : [])],
    badTable,
  ));
  console.log(`\nBatch verification checks one equation for the group and bisects a failing set; once both halves of a failing set fail (dense failures) it checks them one by one (since 2026-12-06: before, it bisected down to groups of 4, about 3× the cost of checking an all-bad group one by one). Every verdict checked.`);

  const orderTable = await orderRows(orders, runs, baseline);
  section(`Orders: message = Poseidon of ${ORDER_MESSAGE_INPUTS} inputs, per signature`);
  console.log(table(
    ["verification", "threads", "JS thread hashes, then native verifies (before)", "native hashes in the call (after)", "speed-up", ...(baseline ? ["JS hashes, baseline build verifies", "speed-up vs baseline build"] : [])],
    orderTable,
  ));
  console.log(`\nBefore: the message hashed with poseidon() (native, one N-API call per order) on the JavaScript thread, then verified as a field element; after: preimage records (messageInputs = ${ORDER_MESSAGE_INPUTS}), the message hashed in the call with the signature's own hash. Speed-up: before / after${baseline ? " (and baseline build / after, 1 thread)" : ""}. 1024 orders over 32 keys, synchronous calls.`);

  section("Poseidon per hash");
  console.log(table(
    ["inputs", "circomlibjs", "native, one call each", "in the addon: one state", "4 states in lockstep", `${addon.poseidonLanes} lanes`, "lanes vs one state"],
    poseidonRows(runs),
  ));
  console.log(`\nIn the addon: poseidonMany over 4096 preimages per call (no N-API cost per hash), each method's hashes checked against circomlibjs. ${addon.poseidonLanes === 16 ? "Lanes: AVX-512 IFMA, two vectors of 8." : "Lanes: 4 scalar states in lockstep (no AVX-512 IFMA in this build)."}`);
}

if (isMainModule(import.meta.url)) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  await benchSignatures(Number(arg("--runs") ?? 7), arg("--baseline-addon"));
}
