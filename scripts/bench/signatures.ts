/**
 * `npm run bench:sig`: EdDSA-Poseidon signature verification and Poseidon hashing, JavaScript (circomlibjs,
 * the baseline) against the native addon, in one run:
 *   - circomlibjs verifyMessage per signature (a few samples: about 20 ms each),
 *   - native, one signature per call (the sequencer's single-order path, packing and N-API call included),
 *   - native "single" mode over a whole group (each signature checked on its own, no batch equation),
 *   - native batch verification (one MSM per call) at 64, 256 and 1024 signatures, 1 and 2 threads,
 *     synchronous and off-thread (async),
 *   - Poseidon of 2, 5 and 16 inputs, circomlibjs vs native (one call per hash).
 * Times are medians over repeated calls; every native call's verdicts are checked (all valid).
 *
 *   npx tsx scripts/bench/signatures.ts [--runs 7]
 */
import { availableParallelism } from "node:os";
import { isNativeAvailable, nativeAddon, nativeUnavailableReason } from "../../fpga-prover/native/index.ts";
import { verifyMessage } from "../../sequencer/crypto/babyjub.ts";
import { nativeSignatureVerifier, type NativeVerifierOptions } from "../../sequencer/crypto/nativeSignatureVerifier.ts";
import { poseidonJs, poseidonNative } from "../../sequencer/crypto/poseidon.ts";
import type { HashedSignatureCheck } from "../../sequencer/crypto/signatureVerifier.ts";
import { FIELD_MODULUS } from "../../sequencer/protocol/constants.ts";
import { signatureSeries, testScalar } from "../../test/helpers/signatures.ts";
import { isMainModule } from "../cli.ts";
import { dur, int, machineLine, progress, sample, sampleAsync, section, table, timeMs, timeMsAsync } from "./util.ts";

const BATCH_SIZES = [64, 256, 1024] as const;

function assertAllValid(verdicts: readonly boolean[], what: string): void {
  if (!verdicts.every((v) => v)) throw new Error(`${what}: a valid signature was refused`);
}

type Row = { what: string; threads: string; perSigMs: number };

async function verifierRows(checks: readonly HashedSignatureCheck[], runs: number): Promise<Row[]> {
  const rows: Row[] = [];
  const maxThreads = Math.min(2, nativeAddon().defaultThreads);

  progress("native, one signature per call");
  const one = nativeSignatureVerifier({ mode: "single", threads: 1, asyncFrom: Infinity });
  const singles = checks.slice(0, 256);
  const s1 = sample(runs, 1, () => timeMs(() => singles.forEach((c) => assertAllValid(one.verifyBatch([c]) as boolean[], "single"))));
  rows.push({ what: "native, 1 signature per call", threads: "1", perSigMs: s1.median / singles.length });

  for (const threads of [1, maxThreads]) {
    progress(`native "single" mode, 1024 per call, ${threads} thread(s)`);
    const v = nativeSignatureVerifier({ mode: "single", threads, asyncFrom: Infinity });
    const group = checks.slice(0, 1024);
    const st = sample(runs, 1, () => timeMs(() => assertAllValid(v.verifyBatch(group) as boolean[], "single mode")));
    rows.push({ what: `native, each on its own, 1024 per call`, threads: String(threads), perSigMs: st.median / group.length });
  }

  for (const size of BATCH_SIZES)
    for (const threads of [...new Set([1, maxThreads])])
      for (const off of [false, true]) {
        if (off && threads === 1) continue;
        progress(`native batch ${size}, ${threads} thread(s)${off ? ", async" : ""}`);
        const opts: NativeVerifierOptions = { mode: "batch", threads, asyncFrom: off ? 1 : Infinity };
        const v = nativeSignatureVerifier(opts);
        // each sample verifies 1024 signatures as 1024/size different batches (so no batch repeats back to back)
        const slices = Array.from({ length: 1024 / size }, (_, k) => checks.slice(k * size, (k + 1) * size));
        const st = await sampleAsync(runs, 1, async () =>
          timeMsAsync(async () => {
            for (const slice of slices) assertAllValid(await v.verifyBatch(slice), `batch ${size}`);
          }));
        const used = Math.min(threads, Math.ceil(size / nativeAddon().eddsaBatchPerThread));
        rows.push({ what: `native batch of ${size}${off ? " (async)" : ""}`, threads: used === threads ? String(threads) : `${threads} asked, ${used} used`, perSigMs: st.median / 1024 });
      }
  return rows;
}

function poseidonRows(runs: number): string[][] {
  const out: string[][] = [];
  for (const arity of [2, 5, 16]) {
    const inputs = Array.from({ length: 256 }, (_, i) => Array.from({ length: arity }, (_, j) => testScalar(`bench-poseidon/${arity}/${i}/${j}`, FIELD_MODULUS)));
    for (const xs of inputs) if (poseidonJs(xs) !== poseidonNative(xs)) throw new Error("native Poseidon differs from circomlibjs");
    const js = sample(runs, 1, () => timeMs(() => inputs.forEach((xs) => poseidonJs(xs)))).median / inputs.length;
    const nat = sample(runs, 1, () => timeMs(() => inputs.forEach((xs) => poseidonNative(xs)))).median / inputs.length;
    out.push([String(arity), dur(js), dur(nat), `${(js / nat).toFixed(1)}×`]);
  }
  return out;
}

export async function benchSignatures(runs = 7): Promise<void> {
  if (!isNativeAvailable()) {
    console.log(`native addon unavailable (${nativeUnavailableReason()}); nothing to compare`);
    return;
  }
  console.log(`# Signature verification: circomlibjs vs native\n\n${machineLine()}; addon default threads ${nativeAddon().defaultThreads}, ${availableParallelism()} available.`);
  progress("signing 2048 signatures (signatureSeries)");
  const checks = signatureSeries(2048, "bench-sig", 32);

  progress("circomlibjs verifyMessage");
  const jsSamples = checks.slice(0, 8);
  const js = sample(jsSamples.length - 1, 1, (i) => timeMs(() => {
    if (!verifyMessage(jsSamples[i]!.message, jsSamples[i]!.signature, jsSamples[i]!.publicKey)) throw new Error("circomlibjs refused a valid signature");
  }));

  const rows = await verifierRows(checks, runs);
  section("EdDSA-Poseidon verification per signature");
  console.log(table(
    ["verifier", "threads", "per signature", "signatures/s", "vs circomlibjs"],
    [
      ["circomlibjs verifyMessage (baseline)", "1", dur(js.median), int(1000 / js.median), "1×"],
      ...rows.map((r) => [r.what, r.threads, dur(r.perSigMs), int(1000 / r.perSigMs), `${int(js.median / r.perSigMs)}×`]),
    ],
  ));
  console.log(`\nBaseline: median of ${js.n} circomlibjs calls; native: median of ${runs} calls per row (each valid signature's verdict checked). Per-signature figures include packing the checks into records and the N-API call.`);

  section("Poseidon, one call per hash");
  console.log(table(["inputs", "circomlibjs", "native", "speed-up"], poseidonRows(runs)));
}

if (isMainModule(import.meta.url)) {
  const i = process.argv.indexOf("--runs");
  await benchSignatures(i > 0 ? Number(process.argv[i + 1]) : 7);
}
