/**
 * sequencer/derivatives/oracleStep.ts: a funding tick that would take an instrument's funding index out of the signed
 * Bits.fundingIndex range (the circuit's InstrumentMarks range check, circom's BITS_FUNDINGINDEX generated from the
 * same constant) is refused with FUNDING_INDEX_RANGE, at intake, instead of being accepted and then refused by the
 * prover at every batch (review of 2026-12-05: the feeder's next tick repeated it). One step short of the edge is taken.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { applyOracleStep, OracleRejected } from "../../../sequencer/derivatives/oracleStep.ts";
import { Bits, FUNDING_CAP_BOUND, MAX_ORACLE_PRICE, TxType } from "../../../sequencer/protocol/constants.ts";
import type { BatchTx, InstrumentSpec } from "../../../sequencer/protocol/transactions.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { INSTRUMENTS, NOW, oracleUpdate } from "../../helpers/derivatives.ts";

const PERP = 0;
const lot = 1_000_000n;
/** The largest funding cap registration allows for this lot (RI rules: FUNDING_CAP_BOUND). */
const cap = (FUNDING_CAP_BOUND - 1n) / (lot * MAX_ORACLE_PRICE);
const spec: InstrumentSpec = { ...INSTRUMENTS[PERP], lotSizeE6: lot, tickValue: lot, fundingCapPpm: cap };
const reg: BatchTx = { type: TxType.REGISTER_INSTRUMENT, instrumentId: PERP, ...spec };
const EDGE = 1n << BigInt(Bits.fundingIndex - 1);

/** A state with the perpetual listed and its funding index at `index`, and the worst-case tick (cap rate at the highest price). */
function atIndex(index: bigint) {
  const state = new ExchangeState(TEST_PARAMS);
  buildBatch(state, [reg], { batchNumber: 1, timestamp: NOW, oracle: null });
  state.setInstrument(PERP, { ...state.instruments[PERP], fundingIndex: index });
  return { state, tick: oracleUpdate({ fundingEpoch: 1, prices: [MAX_ORACLE_PRICE], rates: [cap, 0n, 0n, 0n] }) };
}

describe("oracle step: the funding index stays in its circuit range", () => {
  const step = (() => {
    const { state, tick } = atIndex(0n);
    applyOracleStep(state, tick, NOW);
    return state.instruments[PERP].fundingIndex;
  })();

  it("a tick that would take the index to 2^63 is refused (FUNDING_INDEX_RANGE); one that lands on 2^63 - 1 is taken", () => {
    assert.ok(step > 0n);
    const over = atIndex(EDGE - step);
    assert.throws(() => applyOracleStep(over.state, over.tick, NOW), (e: unknown) => e instanceof OracleRejected && e.code === "FUNDING_INDEX_RANGE");
    const edge = atIndex(EDGE - 1n - step);
    applyOracleStep(edge.state, edge.tick, NOW);
    assert.equal(edge.state.instruments[PERP].fundingIndex, EDGE - 1n);
  });

  it("the same at the negative edge: -2^63 is taken, one below it refused", () => {
    const negative = (index: bigint) => {
      const s = atIndex(index);
      return { ...s, tick: oracleUpdate({ fundingEpoch: 1, prices: [MAX_ORACLE_PRICE], rates: [-cap, 0n, 0n, 0n] }) };
    };
    const zero = negative(0n);
    applyOracleStep(zero.state, zero.tick, NOW);
    const down = -zero.state.instruments[PERP].fundingIndex; // (a floored division: not always -step)
    const edge = negative(-EDGE + down);
    applyOracleStep(edge.state, edge.tick, NOW);
    assert.equal(edge.state.instruments[PERP].fundingIndex, -EDGE);
    const under = negative(-EDGE + down - 1n);
    assert.throws(() => applyOracleStep(under.state, under.tick, NOW), (e: unknown) => e instanceof OracleRejected && e.code === "FUNDING_INDEX_RANGE");
  });
});
