/**
 * snarkjs vs the native C++ prover (fpga-prover/native) on the same witness, in one process:
 *   - the project's batch circuit (TEST_PARAMS) with a couple of deposits,
 *   - with --exit <params>, the exit circuit (circuits/exit) at that parameter set: one account's exodus claim
 *     (spot balances, collateral, a perpetual position with unsettled funding), what every trader proves on
 *     their own machine in exodus mode (snarkjs is the prover of `npm run cli -- exit` and of the web page), then
 *     `proveExit` once more as a client runs it and the generated verifier's `verifyFlatProof`
 *     gas on an in-process Hardhat chain (the exit verifier the custodian calls),
 *   - with --marking <levels>, the marking circuit (circuits/marking) at production sizes with 4^levels options of a
 *     chain (scripts/fixtures/optionChain.ts): what one marking proof per oracle update costs (DERIVATIVES.md
 *     "Marking proofs"),
 *   - synthetic multiplication-chain circuits with a 2^k domain (k from the command line),
 *   - a raw G1 MSM of 2^18 points (native batch-affine and Jacobian Pippenger vs ffjavascript).
 * Prints time per proof (median of the runs after a warm-up), µs per constraint and the speed-up,
 * both for proving alone and end to end (wasm witness + prove; the witness step is shared).
 * Every proof is checked with snarkjs.groth16.verify. Needs `npm run build:native` first.
 *
 *   npx tsx scripts/bench/prover.ts [--runs 3] [--chain 16,18] [--msm 18] [--no-batch] [--exit production] [--marking 3]
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { network } from "hardhat";
import * as snarkjs from "snarkjs";
import type { PublicClient, WalletClient } from "viem";
import { buildBatchCircuit } from "../build/batchCircuit.ts";
import { compileBatchVerifier } from "../build/batchVerifierContract.ts";
import { buildCircuit, type CircuitBuild } from "../build/circuitBuild.ts";
import { buildExitCircuit } from "../build/exitCircuit.ts";
import { buildMarkingCircuit } from "../build/markingCircuit.ts";
import { optionChain } from "../fixtures/optionChain.ts";
import { buildMarking } from "../../sequencer/derivatives/marking.ts";
import { deploy } from "../deploy/deployExchange.ts";
import { handMade, P, PERP } from "../fixtures/exitStates.ts";
import { isMainModule } from "../lib/mainModule.ts";
import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import { proveExit } from "../../sequencer/exit/exitProver.ts";
import { exitWitness } from "../../sequencer/exit/exitWitness.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import { TxType } from "../../sequencer/protocol/constants.ts";
import { exitPublicInputCount } from "../../sequencer/protocol/exitPublicData.ts";
import { PARAMS_NAMES, PARAMS_SETS, PRODUCTION_PARAMS, TEST_PARAMS, type CircuitParams, type ParamsName } from "../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { bigintToLE32, isNativeAvailable, nativeAddon, nativeUnavailableReason } from "../../fpga-prover/native/index.ts";
import { BN254_R, NativeDevice, type NativeTimings } from "../../fpga-prover/nativeDevice.ts";
import { chainCircuit } from "./chainCircuit.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);

type Row = {
  circuit: string;
  constraints: number;
  witnessMs: number;
  /** snarkjs.wtns.calculate (compiles the wasm every call) and NativeDevice.calculateWitness (cached instance), per run */
  snarkjsWitnessMs: number[];
  nativeWitnessMs: number[];
  snarkjsMs: number[];
  nativeMs: number[];
  nativeStages: NativeTimings;
  zkeyLoadMs: number;
};

async function benchCircuit(label: string, build: CircuitBuild, input: Record<string, unknown>, runs: number): Promise<Row> {
  const vkey = JSON.parse(readFileSync(build.vkey, "utf8")) as unknown;
  const wtns: { type: "mem"; data?: Uint8Array } = { type: "mem" };
  const tw = performance.now();
  await snarkjs.wtns.calculate(input, build.wasm, wtns);
  const witnessMs = performance.now() - tw;
  const device = new NativeDevice();
  const tl = performance.now();
  device.loadZkey(build.zkey);
  const zkeyLoadMs = performance.now() - tl;
  const row: Row = {
    circuit: label, constraints: build.nConstraints, witnessMs, snarkjsWitnessMs: [], nativeWitnessMs: [],
    snarkjsMs: [], nativeMs: [], nativeStages: undefined!, zkeyLoadMs,
  };
  // run 0 is a warm-up for both (snarkjs starts its curve workers, caches fill); not counted
  for (let i = 0; i <= runs; i++) {
    console.error(`${label}: run ${i}/${runs}`);
    let t = performance.now();
    const sw: { type: "mem"; data?: Uint8Array } = { type: "mem" };
    await snarkjs.wtns.calculate(input, build.wasm, sw);
    const swMs = performance.now() - t;
    t = performance.now();
    const nw = await device.calculateWitness(build.wasm, input);
    const nwMs = performance.now() - t;
    if (Buffer.compare(Buffer.from(nw), Buffer.from(sw.data!)) !== 0) throw new Error(`${label}: cached witness calculator differs from snarkjs`);
    t = performance.now();
    const s = await snarkjs.groth16.prove(build.zkey, wtns);
    const sMs = performance.now() - t;
    t = performance.now();
    const n = await device.proveWitness(build.zkey, wtns.data!);
    const nMs = performance.now() - t;
    if (i === 0) {
      if (!(await snarkjs.groth16.verify(vkey, s.publicSignals, s.proof))) throw new Error(`${label}: snarkjs proof does not verify`);
      if (!(await snarkjs.groth16.verify(vkey, n.publicSignals, n.proof))) throw new Error(`${label}: native proof does not verify`);
      if (JSON.stringify(n.publicSignals) !== JSON.stringify(s.publicSignals)) throw new Error(`${label}: public signals differ`);
      continue;
    }
    row.snarkjsWitnessMs.push(swMs);
    row.nativeWitnessMs.push(nwMs);
    row.snarkjsMs.push(sMs);
    row.nativeMs.push(nMs);
    row.nativeStages = n.timings;
  }
  return row;
}

function batchInput(): Record<string, unknown> {
  const state = new ExchangeState(TEST_PARAMS);
  const txs: BatchTx[] = [
    { type: TxType.DEPOSIT, accountId: 1, tokenId: 0, amount: 10_000_000n },
    { type: TxType.DEPOSIT, accountId: 2, tokenId: 1, amount: 1_000_000n },
  ];
  return buildBatch(state, txs, { batchNumber: 0, timestamp: 1_700_000_000, verifySignatures: false }).circuitInput;
}

/**
 * The exit circuit's input for account 5 of a hand-made state at `p` (scripts/fixtures/exitStates.ts): a perpetual
 * (id 0) with funding not yet settled, the account holding four tokens, 1,000 quote of collateral and 10 lots long,
 * valued at 3,000.
 */
function exitInput(p: CircuitParams): Record<string, unknown> {
  const state = handMade({
    params: p, instruments: [{ ...PERP, fundingIndex: 500n, holders: 1 }], spot: [1_000_000n, 2_000_000n, 3_000_000n, 4_000_000n],
    collateral: 1_000_000_000n, sizes: [10n], snaps: [100n],
  });
  return exitWitness(state, 5, Array.from({ length: p.underlyings }, () => P)).input;
}

/** A client's exit proof (proveExit, snarkjs, checked) and the gas of the exit verifier's `verifyFlatProof` for it. */
async function exitClientRun(build: CircuitBuild, input: Record<string, unknown>): Promise<string> {
  const t = performance.now();
  const { proof, publicInputs } = await proveExit(build, input as never);
  const proveMs = performance.now() - t;
  const { viem } = await network.create();
  const publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
  const [walletClient] = (await viem.getWalletClients()) as unknown as WalletClient[];
  const compiled = compileBatchVerifier(build.verifierSol);
  const address = await deploy({ publicClient, walletClient: walletClient! }, compiled);
  const call = { address, abi: compiled.abi, functionName: "verifyFlatProof", args: [proof, publicInputs] } as never;
  if (!(await publicClient.readContract(call))) throw new Error("the exit verifier refuses the exit proof");
  const gas = await publicClient.estimateContractGas(call);
  return `  proveExit (snarkjs, witness + prove + verify, as npm run cli -- exit runs it): ${ms(proveMs)}\n` +
    `  ${compiled.contractName}.verifyFlatProof with ${publicInputs.length} public inputs: ${gas} gas (a transaction calling it alone, 21,000 included)`;
}

async function benchMsm(log2n: number): Promise<void> {
  const A = nativeAddon();
  const n = 1 << log2n;
  const pts = A.g1Points(n, bigintToLE32(123456789n));
  let x = 0x1234567n;
  const scalars = new Uint8Array(n * 32);
  for (let i = 0; i < n; i++) {
    // cheap pseudo-random full-width scalars
    x = (x * 6364136223846793005n + 1442695040888963407n) % BN254_R;
    scalars.set(bigintToLE32((x * 0x9e3779b97f4a7c15f39cc0605cedc834n) % BN254_R), i * 32);
  }
  const affine = [0, 1, 2].map(() => A.msmG1(pts, scalars, undefined, "affine").ms);
  const jac = A.msmG1(pts, scalars, undefined, "jacobian").ms;
  const one = A.msmG1(pts, scalars, 1, "affine").ms;
  const ffName = "ffjavascript";
  const ff = (await import(ffName)) as { buildBn128(): Promise<{ G1: { multiExpAffine(b: Uint8Array, s: Uint8Array): Promise<Uint8Array>; eq(a: Uint8Array, b: Uint8Array): boolean; fromRprLEM(b: Uint8Array, o: number): Uint8Array }; terminate(): Promise<void> }> };
  const curve = await ff.buildBn128();
  await curve.G1.multiExpAffine(pts.subarray(0, 64 * 1024), scalars.subarray(0, 32 * 1024)); // warm-up
  const t = performance.now();
  const ref = await curve.G1.multiExpAffine(pts, scalars);
  const ffMs = performance.now() - t;
  const same = curve.G1.eq(curve.G1.fromRprLEM(A.msmG1(pts, scalars).point, 0), ref);
  await curve.terminate();
  console.log(`\nG1 MSM, 2^${log2n} points, random 254-bit scalars (${availableParallelism()} cores):`);
  console.log(`  native batch-affine, all cores: ${affine.map(ms).join(" / ")}   (1 thread: ${ms(one)})`);
  console.log(`  native Jacobian buckets, all cores: ${ms(jac)}`);
  console.log(`  ffjavascript multiExpAffine (wasm, workers): ${ms(ffMs)}   -> ${(ffMs / median(affine)).toFixed(1)}x; results equal: ${same}`);
}

export async function runProverBench(opts: { runs: number; chain: number[]; msm: number | null; batch: boolean; exit?: ParamsName; marking?: number }): Promise<Row[]> {
  if (!isNativeAvailable()) throw new Error(nativeUnavailableReason());
  const rows: Row[] = [];
  let exitClient: string | undefined;
  if (opts.batch) {
    const circuit = await buildBatchCircuit(TEST_PARAMS);
    rows.push(await benchCircuit(`batch (TEST_PARAMS, ${TEST_PARAMS.slots} slots, 2 deposits)`, circuit, batchInput(), opts.runs));
  }
  if (opts.exit) {
    const params = PARAMS_SETS[opts.exit];
    const circuit = await buildExitCircuit(params);
    const input = exitInput(params);
    rows.push(await benchCircuit(`exit (${opts.exit} params, ${exitPublicInputCount(params)} public inputs)`, circuit, input, opts.runs));
    exitClient = await exitClientRun(circuit, input);
  }
  if (opts.marking !== undefined) {
    const p = PRODUCTION_PARAMS;
    const count = 4 ** opts.marking;
    const { update, entries } = optionChain(p, count);
    const circuit = await buildMarkingCircuit(p, "dev", opts.marking);
    rows.push(await benchCircuit(`marking (production update, ${count} options of a chain, ${p.optionInstruments} vol slices)`, circuit, buildMarking(update, entries, p, opts.marking).inputs, opts.runs));
  }
  for (const k of opts.chain) {
    const nConstraints = (1 << k) - 64;
    console.error(`building chain circuit 2^${k} (dev setup; cached after the first time)`);
    const build = await buildCircuit({ name: `bench_prover_chain_${k}`, mainSource: chainCircuit(nConstraints), setup: "dev", log: () => {} });
    rows.push(await benchCircuit(`chain 2^${k}`, build, { a: "3", b: "5" }, opts.runs));
  }
  console.log(`\nGroth16 prove, snarkjs ${"0.7.6"} vs native, same witness, ${availableParallelism()} cores; median of ${opts.runs} runs after a warm-up; all proofs verified.`);
  for (const r of rows) {
    const s = median(r.snarkjsMs), n = median(r.nativeMs);
    const st = r.nativeStages;
    console.log(`\n${r.circuit}: ${r.constraints} constraints`);
    console.log(`  snarkjs prove: ${ms(s)} (${((s * 1000) / r.constraints).toFixed(1)} µs/constraint)   runs ${r.snarkjsMs.map(ms).join(" / ")}`);
    console.log(`  native prove:  ${ms(n)} (${((n * 1000) / r.constraints).toFixed(1)} µs/constraint)   runs ${r.nativeMs.map(ms).join(" / ")}`);
    console.log(`    stages: wtns parse ${ms(st.parseMs)}, QAP ${ms(st.qapMs)}, NTT ${ms(st.nttMs)}, MSM ${ms(st.msmMs)}, assembly ${ms(st.assemblyMs)}; zkey load (once) ${ms(r.zkeyLoadMs)}`);
    const mt = st.msmThreadMs, wv = st.witnessValues;
    if (mt) console.log(`    MSM thread time: A ${ms(mt.a)}, B1 ${ms(mt.b1)}, B2 (G2) ${ms(mt.b2)}, C ${ms(mt.c)}, H ${ms(mt.h)}`);
    if (wv) console.log(`    witness values: ${wv.zeros} zero (skipped), ${wv.ones} one (plain additions), ${wv.other} other (Pippenger)`);
    const sw = median(r.snarkjsWitnessMs), nw = median(r.nativeWitnessMs);
    console.log(`  witness: snarkjs.wtns.calculate ${ms(sw)} (first call ${ms(r.witnessMs)}), NativeDevice cached wasm instance ${ms(nw)}`);
    console.log(`  prove speed-up: ${(s / n).toFixed(1)}x;  end to end (witness + prove): snarkjs ${ms(sw + s)} vs native ${ms(nw + n)} = ${((sw + s) / (nw + n)).toFixed(1)}x`);
  }
  if (exitClient) console.log(`\nexit (${opts.exit} params), as a client proves and the custodian verifies it:\n${exitClient}`);
  if (opts.msm !== null) await benchMsm(opts.msm);
  return rows;
}

function checkedParamsName(name: string): ParamsName {
  if (!(PARAMS_NAMES as readonly string[]).includes(name)) throw new Error(`--exit ${name}: expected one of ${PARAMS_NAMES.join(", ")}`);
  return name as ParamsName;
}

if (isMainModule(import.meta.url)) {
  const args = process.argv.slice(2);
  const arg = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  await runProverBench({
    runs: Number(arg("--runs") ?? 3),
    chain: (arg("--chain") ?? "16").split(",").filter(Boolean).map(Number),
    msm: args.includes("--no-msm") ? null : Number(arg("--msm") ?? 18),
    batch: !args.includes("--no-batch"),
    exit: arg("--exit") === undefined ? undefined : checkedParamsName(arg("--exit")!),
    marking: arg("--marking") === undefined ? undefined : Number(arg("--marking")),
  });
  process.exit(0); // snarkjs worker threads keep the event loop alive
}
