/**
 * OracleStep (circuits/derivatives/oracleStep.circom) computes bit-exactly what the sequencer's
 * applyOracleStep / lotRisk compute: expiry settlement, the mark and margins per lot of a perpetual, a
 * future and Black-Scholes-marked options, and the funding index after a tick; past the settlement window, an
 * expired instrument stays unsettled unless the update names its expiry with the oracle's prices at it.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { applyOracleStep } from "../../../sequencer/derivatives/oracleStep.ts";
import { INSTRUMENT_FIELDS, instrumentInputs } from "../../../sequencer/protocol/layouts.ts";
import { MIN_VOL_PPM, SETTLEMENT_WINDOW, TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { EXPIRY, INSTRUMENTS, NOW, oracleUpdate, volSlices } from "../../helpers/derivatives.ts";
import { volsByInstrument } from "../../../sequencer/derivatives/volSurface.ts";
import { optionMark } from "../../../sequencer/derivatives/formulas.ts";
import { compileMain, fe, outputs } from "../fixed/compile.ts";

const N = TEST_PARAMS.instruments;
let wasm: string;

function registeredState(): ExchangeState {
  const state = new ExchangeState(TEST_PARAMS);
  INSTRUMENTS.forEach((spec, id) => buildBatch(state, [{ type: TxType.REGISTER_INSTRUMENT, instrumentId: id, ...spec }], { batchNumber: id, timestamp: NOW }));
  return state;
}

/** The circuit's outputs for the oracle step of `update` at `timestamp` on `state`, and the TypeScript results. */
async function both(state: ExchangeState, update: ReturnType<typeof oracleUpdate>, timestamp: number) {
  const t = state.begin();
  try {
    const step = applyOracleStep(state, update, timestamp);
    const input: Record<string, bigint | bigint[]> = { timestamp: BigInt(timestamp) };
    const { oldInsurance: _, oldBadDebt: __, oldPooledQuote: ___, ...oracleInputs } = step.inputs; // the insurance fund, the open bad debt and the pooled quote are Batch inputs
    for (const [k, v] of Object.entries(oracleInputs)) input[k] = (Array.isArray(v) ? (v as unknown[]).flat(Infinity).map((x) => fe(x as bigint)) : fe(v as bigint)) as never;
    const F = INSTRUMENT_FIELDS.length;
    const out = await outputs(wasm, input, N * F + 5 * N + 2);
    const circuit = {
      table: Array.from({ length: N }, (_, i) => out.slice(F * i, F * i + F)),
      risks: Array.from({ length: N }, (_, i) => ({
        mark: out[F * N + i], imLong: out[(F + 1) * N + i], imShort: out[(F + 2) * N + i], mmLong: out[(F + 3) * N + i], mmShort: out[(F + 4) * N + i],
      })),
    };
    const ts = { table: state.instruments.map(instrumentInputs), risks: step.risks };
    return { circuit, ts };
  } finally {
    t.rollback();
  }
}

describe("OracleStep: marks, margins, expiry and funding equal the TypeScript", { timeout: 300_000 }, () => {
  before(async () => {
    const sources = ["oracleStep.circom", "volSurface.circom"].map((f) => readFileSync(new URL(`../../../circuits/derivatives/${f}`, import.meta.url)));
    const h = createHash("sha256");
    sources.forEach((s) => h.update(s));
    h.update(readFileSync(new URL("../../../circuits/generated/protocol.circom", import.meta.url)));
    h.update(readFileSync(new URL("../../../circuits/lib/ppm.circom", import.meta.url)));
    const main = `include "circuits/derivatives/oracleStep.circom";\ncomponent main = OracleStep(${N}, ${TEST_PARAMS.optionInstruments}, ${TEST_PARAMS.underlyings});`;
    wasm = (await compileMain(`oracleStep_${h.digest("hex").slice(0, 8)}`, main)).wasm;
  });

  for (const [label, price, vol] of [["at the money", 300_000_000_000n, 600_000n], ["call deep in", 450_000_000_000n, 250_000n], ["put deep in", 120_000_000_000n, 1_500_000n]] as const) {
    it(`live instruments, ${label}, with a funding tick`, async () => {
      const state = registeredState();
      const { circuit, ts } = await both(state, oracleUpdate({ prices: [price], volSlices: volSlices(vol), fundingEpoch: 1, rates: [-700n, 0n, 0n, 0n] }), NOW);
      assert.deepEqual(circuit.risks, ts.risks);
      assert.deepEqual(circuit.table.map((r) => r.map(fe)), ts.table.map((r) => r.map(fe)));
      assert.ok(ts.risks[2].mark + ts.risks[3].mark > 0n, "the options are marked, not zero");
    });
  }

  // SliceVol: the vol of the options' slice at their strike (3,000), circuit = TS, skewed, clamped at both ends, and the
  // floor for options the table has no slice for.
  const SLICE_CASES: [string, bigint, ReturnType<typeof volSlices>, bigint][] = [
    ["a put skew, the index 10% above the strike", 330_000_000_000n, volSlices(600_000n, -750_000n), 668_181n],
    ["a put skew, the index 10% below the strike (the negative skew term floored: -37,037.1 to -37,038)", 270_000_000_000n, volSlices(600_000n, -333_334n), 562_962n],
    ["the steepest skew, clamped at 2^23 - 1", 100_000_000_000n, volSlices(600_000n, (1n << 23n) - 1n), (1n << 23n) - 1n],
    ["the steepest negative skew, clamped at 2^13", 100_000_000_000n, volSlices(600_000n, -(1n << 23n)), MIN_VOL_PPM],
    ["no slice for the options' expiry: unpriced", 300_000_000_000n, volSlices(900_000n, 0n, EXPIRY + 1), MIN_VOL_PPM],
  ];
  it("prices the options with their slice at their strike, circuit = TS: a skew both ways (floored), clamped at both ends; without a slice the option reads no mark and is marked 0", async () => {
    for (const [label, price, slices, vol] of SLICE_CASES) {
      const { circuit, ts } = await both(registeredState(), oracleUpdate({ prices: [price], volSlices: slices }), NOW);
      assert.deepEqual(circuit.risks, ts.risks, label);
      const settled = registeredState().instruments;
      assert.deepEqual(volsByInstrument(settled, [price], slices, NOW).slice(2), [vol, vol], `${label}: both options (strike 3,000) at the expected vol`);
      const priced = !label.endsWith("unpriced");
      for (const id of [2, 3]) assert.equal(ts.risks[id].mark, priced ? optionMark(settled[id], price, vol, NOW) : 0n, `${label}: option ${id} marked at ${vol}`);
    }
  });

  it("at expiry: dated instruments settle at the signed price and are marked at their payoff", async () => {
    const state = registeredState();
    const { circuit, ts } = await both(state, oracleUpdate({ time: EXPIRY, prices: [310_000_000_000n] }), EXPIRY + 1);
    assert.deepEqual(circuit.risks, ts.risks);
    assert.deepEqual(circuit.table.map((r) => r.map(fe)), ts.table.map((r) => r.map(fe)));
    assert.equal(ts.table[1][10], 310_000_000_000n);
    assert.equal(ts.risks[2].mark, 1_000_000n); // the call pays (3100 - 3000) x 0.01
    assert.equal(ts.risks[3].mark, 0n); // the put expires worthless
  });

  it("past the settlement window with no expiry named: the dated instruments stay unsettled and are marked as expired (future at spot, options at intrinsic)", async () => {
    const late = EXPIRY + SETTLEMENT_WINDOW + 1;
    const { circuit, ts } = await both(registeredState(), oracleUpdate({ time: late, prices: [310_000_000_000n] }), late);
    assert.deepEqual(circuit.risks, ts.risks);
    assert.deepEqual(circuit.table.map((r) => r.map(fe)), ts.table.map((r) => r.map(fe)));
    assert.deepEqual([1, 2, 3].map((i) => ts.table[i][10]), [0n, 0n, 0n], "nothing settles at a price signed after the window");
    assert.equal(ts.risks[2].mark, 1_000_000n, "the call at intrinsic: (3100 - 3000) x 0.01 (Black-Scholes at t = 0)");
    assert.equal(ts.risks[3].mark, 0n);
    assert.ok(ts.risks[1].imShort > 0n, "an expired, unsettled future keeps its margins");
  });

  it("a named expiry settles its instruments at the oracle's prices at it, a day after the window and inside it, before the update's own price", async () => {
    const settlement = { expiry: EXPIRY, prices: [305_000_000_000n] };
    for (const time of [EXPIRY + 86_400, EXPIRY + 5]) {
      const { circuit, ts } = await both(registeredState(), oracleUpdate({ time, prices: [350_000_000_000n], settlement }), time);
      assert.deepEqual(circuit.risks, ts.risks);
      assert.deepEqual(circuit.table.map((r) => r.map(fe)), ts.table.map((r) => r.map(fe)));
      assert.deepEqual([1, 2, 3].map((i) => ts.table[i][10]), [305_000_000_000n, 305_000_000_000n, 305_000_000_000n]);
      assert.equal(ts.risks[2].mark, 500_000n, "the call pays (3050 - 3000) x 0.01, not the update's 3500");
    }
    // another expiry named: nothing of this one settles past the window
    const other = await both(registeredState(), oracleUpdate({ time: EXPIRY + 86_400, settlement: { expiry: EXPIRY + 1, prices: [305_000_000_000n] } }), EXPIRY + 86_400);
    assert.deepEqual(other.circuit.table.map((r) => r.map(fe)), other.ts.table.map((r) => r.map(fe)));
    assert.deepEqual([1, 2, 3].map((i) => other.ts.table[i][10]), [0n, 0n, 0n]);
  });
});
