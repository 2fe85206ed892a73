/**
 * What the sequencer spends per trade, in-process, at TEST and PRODUCTION tree depths: EdDSA-Poseidon
 * signature checks, Poseidon, quad-tree leaf updates, applyTx of a trade, buildBatch per slot and the
 * witness of the test circuit. Every figure is printed beside the same process's Poseidon(4) time (the
 * unit of all tree work), so runs on different machines compare.
 *
 *   npx tsx scripts/bench/sequencerCost.ts [--quick]
 */
import { readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";
import { buildBatchCircuit } from "../build/batchCircuit.ts";
import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import { applyTx } from "../../sequencer/batch/slotWitness.ts";
import { NOOP } from "../../sequencer/protocol/transactions.ts";
import { verifyMessage } from "../../sequencer/crypto/babyjub.ts";
import { poseidon } from "../../sequencer/crypto/poseidon.ts";
import { orderMessage } from "../../sequencer/protocol/messages.ts";
import { PRODUCTION_PARAMS, TEST_PARAMS, type CircuitParams } from "../../sequencer/protocol/params.ts";
import { QuadTree } from "../../sequencer/crypto/quadTree.ts";
import { fundedState, TIMESTAMP, trader, trades } from "./fixtures.ts";
import { isMainModule } from "../lib/mainModule.ts";
import { dur, int, progress, sample, sampleAsync, section, table, timeMs, type Stats } from "./util.ts";

export type SequencerCostReport = {
  poseidonMs: number;
  verifyMs: number;
  witnessMs: number;
  witnessConstraints: number;
  buildPerTradeSlotMs: Record<string, number>;
};

/** Deterministic pseudo-random leaf indices (xorshift), so every run touches the same leaves. */
function indices(count: number, capacity: number, seed = 7): number[] {
  let x = seed >>> 0 || 1;
  return Array.from({ length: count }, () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % capacity;
  });
}

export type SequencerCostOptions = {
  quick?: boolean;
  /** Constraints per slot of the 32-slot production batch (from the constraints section); scales the witness estimate. */
  prodConstraintsPerSlot?: number;
};

export async function runSequencerCost(opts: SequencerCostOptions = {}): Promise<SequencerCostReport> {
  const k = opts.quick ? 0.2 : 1;
  const n = (x: number) => Math.max(3, Math.round(x * k));
  const rows: (string | number)[][] = [];
  let baseline = 0;
  const add = (what: string, depth: string, s: Stats, per = 1, note = "") => {
    const mean = s.mean / per;
    const median = s.median / per;
    rows.push([what, depth, s.n, dur(mean), dur(median), (median / baseline).toFixed(1), note]);
  };

  const [alice, bob] = [trader(1), trader(2)];
  const field = (i: number) => BigInt(i) * 0x1234_5678_9abc_def1n + 17n;

  progress("sequencer cost: Poseidon and EdDSA");
  const p4 = sample(n(5000), 500, (i) => timeMs(() => poseidon([field(i), field(i + 1), field(i + 2), field(i + 3)])));
  baseline = p4.median;
  add("Poseidon(4) hash (tree node) — baseline", "—", p4);
  add("Poseidon(3) hash (signed message)", "—", sample(n(5000), 500, (i) => timeMs(() => poseidon([1n, field(i), field(i + 1)]))));
  const [order] = trades(alice, bob, 1);
  const msg = orderMessage(order!.buy);
  const sig = order!.buy.signature;
  const verify = sample(n(300), 20, () => timeMs(() => {
    if (!verifyMessage(msg, sig, alice.pubKey)) throw new Error("bench signature does not verify");
  }));
  add("EdDSA-Poseidon verifyMessage (valid signature)", "—", verify);

  const buildPerTradeSlotMs: Record<string, number> = {};
  for (const [label, params] of [["TEST", TEST_PARAMS], ["PRODUCTION", PRODUCTION_PARAMS]] as [string, CircuitParams][]) {
    progress(`sequencer cost: ${label} depths`);
    const depthLabel = `${label} ${params.accountLevels}/${params.balanceLevels}/${params.orderLevels}/${params.marketLevels}`;
    const levelSet = [...new Set([params.marketLevels, params.balanceLevels, params.orderLevels, params.accountLevels])].sort((a, b) => a - b);
    for (const levels of levelSet) {
      const tree = new QuadTree(levels);
      const idx = indices(2000, tree.capacity);
      // Pre-fill so the paths are non-empty (sparse maps hold real nodes), then time overwrites.
      for (const i of idx.slice(0, 500)) tree.set(i, 1n);
      const s = sample(n(1000), 100, (i) => timeMs(() => tree.set(idx[i % idx.length]!, BigInt(i + 2))));
      const role = [
        levels === params.accountLevels ? "accounts" : "", levels === params.balanceLevels ? "balances" : "",
        levels === params.orderLevels ? "orders" : "", levels === params.marketLevels ? "markets" : "",
      ].filter(Boolean).join(", ");
      add(`QuadTree.set, ${levels} levels (${role})`, depthLabel, s, 1, `${levels} Poseidon(4)`);
    }

    const state = fundedState(params, [alice, bob]);
    const [trade] = trades(alice, bob, 1);
    for (const verifySignatures of [false, true]) {
      const ctx = { timestamp: TIMESTAMP, verifySignatures };
      const s = sample(n(verifySignatures ? 100 : 200), 10, () => {
        const t = state.begin();
        const ms = timeMs(() => applyTx(state, trade!, ctx));
        t.rollback(); // untimed: undoes the writes so every run applies the same trade
        return ms;
      });
      add(`applyTx(trade), verifySignatures ${verifySignatures}`, depthLabel, s, 1, verifySignatures ? "incl. 2 signature checks" : "as runBatch does");
    }
    const full = trades(alice, bob, params.slots, 1);
    const opts = { batchNumber: 0, timestamp: TIMESTAMP, verifySignatures: false };
    const bt = sample(n(params.slots > 8 ? 10 : 40), 2, () => {
      const t = state.begin();
      const ms = timeMs(() => buildBatch(state, full, opts));
      t.rollback();
      return ms;
    });
    buildPerTradeSlotMs[label] = bt.median / params.slots;
    add(`buildBatch per slot, ${params.slots} trades`, depthLabel, bt, params.slots, `${dur(bt.median)} per ${params.slots}-slot batch`);
    const bn = sample(n(params.slots > 8 ? 10 : 40), 2, () => {
      const t = state.begin();
      const ms = timeMs(() => buildBatch(state, [NOOP], opts));
      t.rollback();
      return ms;
    });
    add(`buildBatch per slot, ${params.slots} NOOPs`, depthLabel, bn, params.slots, `${dur(bn.median)} per batch`);
  }

  progress("sequencer cost: witness of the test circuit");
  const circuit = await buildBatchCircuit(TEST_PARAMS);
  const state = fundedState(TEST_PARAMS, [alice, bob]);
  const batch = buildBatch(state, trades(alice, bob, TEST_PARAMS.slots), { batchNumber: 0, timestamp: TIMESTAMP, verifySignatures: false });
  const wasm = readFileSync(circuit.wasm);
  const w = await sampleAsync(n(10), 1, async () => {
    const out: { type: "mem"; data?: Uint8Array } = { type: "mem" };
    const t = performance.now();
    await snarkjs.wtns.calculate(batch.circuitInput, circuit.wasm, out);
    return performance.now() - t;
  });
  add(`witness: snarkjs wtns.calculate, ${int(circuit.nConstraints)}-constraint test circuit`, `TEST, ${TEST_PARAMS.slots} trades`, w, 1, `${((w.median * 1000) / circuit.nConstraints).toFixed(2)} µs/constraint, wasm ${(wasm.byteLength / 2 ** 20).toFixed(1)} MiB`);
  add("witness per slot", `TEST, ${TEST_PARAMS.slots} trades`, w, TEST_PARAMS.slots);

  section("2. Sequencer cost per trade (in-process, single thread)");
  console.log(
    "N = timed runs after untimed warm-up; applyTx/buildBatch runs are rolled back (untimed) between runs. '× Poseidon(4)' divides the median by " +
      "the baseline row measured in this process.\n",
  );
  console.log(table(["operation", "depths", "N", "mean", "median", "× Poseidon(4)", "note"], rows, ["l", "l", "r", "r", "r", "r", "l"]));

  const witnessPerConstraint = w.median / circuit.nConstraints;
  const perTrade = (label: string, witnessMs: number, note: string) => [
    label,
    dur(2 * verify.median),
    dur(buildPerTradeSlotMs[label]!),
    `${dur(witnessMs)}${note}`,
    dur(2 * verify.median + buildPerTradeSlotMs[label]! + witnessMs),
  ];
  // PRODUCTION has no compiled witness program here: scale the test circuit's µs/constraint by the
  // production batch's constraints per slot (constraints section: 63,746 at 32 slots when last measured).
  const prodPerSlot = opts.prodConstraintsPerSlot ?? 63_746;
  console.log(
    "\nSequencer CPU per trade before proving (2 order signatures checked at intake + buildBatch slot + witness share):\n\n" +
      table(
        ["depths", "2 × verifyMessage", "buildBatch per trade slot", "witness per slot", "total per trade"],
        [
          perTrade("TEST", w.median / TEST_PARAMS.slots, " (measured)"),
          perTrade("PRODUCTION", witnessPerConstraint * prodPerSlot, ` (est.: ${int(prodPerSlot)} constraints/slot × test µs/constraint)`),
        ],
      ),
  );
  return { poseidonMs: p4.median, verifyMs: verify.median, witnessMs: w.median, witnessConstraints: circuit.nConstraints, buildPerTradeSlotMs };
}

if (isMainModule(import.meta.url)) {
  await runSequencerCost({ quick: process.argv.includes("--quick") });
  process.exit(0); // snarkjs worker threads keep the event loop alive
}
