/**
 * Prove time per batch of the test circuit with the snarkjs device (fpga-prover/snarkjsDevice.ts):
 * witness and Groth16 prove timed separately, µs per constraint. Baseline in the same process: a
 * synthetic chain-of-multiplications circuit with exactly as many constraints (same Groth16 domain),
 * so the batch circuit's own overhead (more wires, denser rows) is visible apart from machine speed.
 *
 *   npx tsx scripts/bench/prove.ts [runs=3]
 */
import { readFileSync } from "node:fs";
import { buildBatchCircuit } from "../build/batchCircuit.ts";
import { buildCircuit, type CircuitBuild } from "../build/circuitBuild.ts";
import * as snarkjs from "snarkjs";
import { readBinSections, readR1cs } from "../setup/r1cs.ts";
import { SnarkjsDevice } from "../../fpga-prover/snarkjsDevice.ts";
import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { fundedState, TIMESTAMP, trader, trades } from "./fixtures.ts";
import { isMainModule } from "../lib/mainModule.ts";
import { dur, int, progress, section, stats, table } from "./util.ts";
import { chainCircuit } from "./chainCircuit.ts";

export type ProveRow = {
  circuit: string;
  constraints: number;
  wires: number;
  witnessMs: number[];
  proveMs: number[];
  verifyMs: number;
  /** Share of witness values that are 0 or 1, and that fit 64 bits (the MSM scalars' sizes). */
  bitShare: number;
  smallShare: number;
};

/** Sizes of the witness values (the prover's MSM scalars): small scalars make snarkjs's bucket MSM cheaper. */
async function witnessProfile(wasm: string, input: Record<string, unknown>): Promise<{ bitShare: number; smallShare: number }> {
  const out: { type: "mem"; data?: Uint8Array } = { type: "mem" };
  await snarkjs.wtns.calculate(input, wasm, out);
  const buf = out.data!;
  const sections = readBinSections(buf, "wtns");
  const header = sections.find((x) => x.type === 1)!;
  const values = sections.find((x) => x.type === 2)!;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n8 = dv.getUint32(header.offset, true);
  const n = dv.getUint32(header.offset + 4 + n8, true);
  let bits = 0;
  let small = 0;
  for (let i = 0; i < n; i++) {
    const o = values.offset + i * n8;
    let high = 0;
    for (let j = 8; j < n8; j++) high |= buf[o + j]!;
    if (high !== 0) continue;
    small++;
    let low = 0;
    for (let j = 1; j < 8; j++) low |= buf[o + j]!;
    if (low === 0 && buf[o]! <= 1) bits++;
  }
  return { bitShare: bits / n, smallShare: small / n };
}

async function proveRuns(build: CircuitBuild, input: Record<string, unknown>, runs: number, label: string): Promise<ProveRow> {
  const vkey = JSON.parse(readFileSync(build.vkey, "utf8")) as unknown;
  const keys = { wasm: build.wasm, zkey: build.zkey, vkey };
  const device = new SnarkjsDevice();
  const row: ProveRow = {
    circuit: label, constraints: build.nConstraints, wires: (await readR1cs(build.r1cs)).nVars, witnessMs: [], proveMs: [], verifyMs: 0,
    ...(await witnessProfile(build.wasm, input)),
  };
  for (let i = 0; i < runs; i++) {
    progress(`prove: ${label}, run ${i + 1}/${runs}`);
    const r = await device.prove(keys, input);
    row.witnessMs.push(r.timings.witnessMs);
    row.proveMs.push(r.timings.proveMs);
    if (i === 0) {
      const t = performance.now();
      if (!(await device.verify(keys, r.publicSignals, r.proof))) throw new Error(`${label}: proof does not verify`);
      row.verifyMs = performance.now() - t;
    }
  }
  return row;
}

export async function runProve(opts: { runs?: number } = {}): Promise<ProveRow[]> {
  const runs = opts.runs ?? 3;
  progress("prove: building the test circuit (cached) and the chain baseline");
  const circuit = await buildBatchCircuit(TEST_PARAMS);
  const alice = trader(1);
  const bob = trader(2);
  const state = fundedState(TEST_PARAMS, [alice, bob]);
  const batch = buildBatch(state, trades(alice, bob, TEST_PARAMS.slots), { batchNumber: 0, timestamp: TIMESTAMP, verifySignatures: false });
  const chain = await buildCircuit({ name: `bench_chain_${circuit.nConstraints}`, mainSource: chainCircuit(circuit.nConstraints), setup: "dev", log: () => {} });

  const rows = [
    await proveRuns(circuit, batch.circuitInput, runs, `batch, TEST depths, ${TEST_PARAMS.slots} trades`),
    await proveRuns(chain, { a: "3", b: "5" }, runs, "baseline: multiplication chain, same constraint count"),
  ];

  section("3. Prove time per batch (snarkjs device: wasm witness + snarkjs groth16.prove, 2 threads)");
  console.log(`${runs} runs each, every run listed (run 1 includes snarkjs's curve/worker start-up). Dev (INSECURE) keys; proof verified once with snarkjs.\n`);
  const body = rows.map((r) => {
    const w = stats(r.witnessMs);
    const p = stats(r.proveMs);
    return [
      r.circuit,
      int(r.constraints),
      int(r.wires),
      r.witnessMs.map(dur).join(" / "),
      r.proveMs.map(dur).join(" / "),
      dur(w.median),
      dur(p.median),
      dur(w.median + p.median),
      ((p.median * 1000) / r.constraints).toFixed(1),
      ((w.median * 1000) / r.constraints).toFixed(2),
      dur(r.verifyMs),
      `${(100 * r.bitShare).toFixed(0)}% / ${(100 * r.smallShare).toFixed(0)}%`,
    ];
  });
  console.log(
    table(
      ["circuit", "constraints", "wires", "witness runs", "prove runs", "witness median", "prove median", "total median", "prove µs/constraint", "witness µs/constraint", "verify", "witness values 0/1 / < 2^64"],
      body,
    ),
  );
  const [b, c] = rows as [ProveRow, ProveRow];
  const ratio = stats(b.proveMs).median / stats(c.proveMs).median;
  console.log(
    `\nThe batch circuit's Groth16 prove takes ${ratio.toFixed(2)}× the time of the same-size chain. The MSMs dominate and snarkjs's bucket MSM skips ` +
      `zero windows, so their cost follows the witness values' sizes: ${(100 * b.bitShare).toFixed(0)}% of the batch witness is 0/1 (sha256 and range-check ` +
      `bits) against ${(100 * c.bitShare).toFixed(0)}% of the chain's full-size products. Per slot: ${dur((stats(b.witnessMs).median + stats(b.proveMs).median) / TEST_PARAMS.slots)} ` +
      `(witness + prove) at ${TEST_PARAMS.slots} slots; section 4 lists the prove time of every posted batch, 8-slot included.`,
  );
  return rows;
}

if (isMainModule(import.meta.url)) {
  await runProve({ runs: Number(process.argv[2] ?? 3) });
  process.exit(0); // snarkjs worker threads keep the event loop alive
}
