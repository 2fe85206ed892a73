/**
 * Sixteen positions per account (issue 15; circuits/DERIVATIVES.md "Positions"): the production
 * set's instrument table and position slots (16 instruments, the last 8 option ids, 16 position slots per account,
 * 2 underlyings) at test tree depths, an account holds a position in every instrument of the table at once: a
 * perpetual, seven dated futures, and calls and puts at four strikes. The batch that opens the sixteenth position
 * passes the witness builder and the circuit, the margin check running over all sixteen (cross margin), and a
 * dishonest operator's witness for it is refused at PositionWrite's own constraints, as at test size
 * (test/circuits/derivatives/positions.test.ts, 3 slots).
 */
import { before, after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { InstrumentKind, Side, TxType } from "../../../sequencer/protocol/constants.ts";
import type { BatchTx, InstrumentSpec } from "../../../sequencer/protocol/transactions.ts";
import { PRODUCTION_PARAMS, TEST_PARAMS, type CircuitParams } from "../../../sequencer/protocol/params.ts";
import { EMPTY_SLICE } from "../../../sequencer/protocol/volSlices.ts";
import type { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { loadBatchCircuit, refuses, rule, witnessFailure, type CircuitInput } from "../../helpers/circuitRules.ts";
import { derivativesState, derivOrder, EXPIRY, NOW, oracleUpdate, PRICE, traders, VOL } from "../../helpers/derivatives.ts";
import type { TestTrader } from "../../helpers/traders.ts";

after(terminateSnarkjsCurve);
/** The production table and position slots at test depths (64 order slots per account). */
const P: CircuitParams = {
  ...TEST_PARAMS,
  orderLevels: 3,
  instruments: PRODUCTION_PARAMS.instruments,
  positionSlots: PRODUCTION_PARAMS.positionSlots,
  optionInstruments: PRODUCTION_PARAMS.optionInstruments,
  underlyings: PRODUCTION_PARAMS.underlyings,
};
const { alice, bob } = traders;
const DAY = 86_400;

/** Lots of 0.01 underlying, 0.0001 quote per lot and tick (test/helpers/derivatives.ts's terms). */
const linear = { underlying: 0, lotSizeE6: 10_000n, tickValue: 100n, imPpm: 100_000n, mmPpm: 50_000n, strike: 0n, fundingCapPpm: 0n };
const STRIKES = [280_000_000_000n, PRICE, 320_000_000_000n, 340_000_000_000n];
/** Ids 0..7: a perpetual and seven futures a day apart; ids 8..15 (the option ids): a call and a put at each of four strikes, all on one expiry. */
const SPECS: InstrumentSpec[] = [
  { ...linear, kind: InstrumentKind.PERPETUAL, expiry: 0, fundingCapPpm: 1_000n },
  ...Array.from({ length: 7 }, (_, k): InstrumentSpec => ({ ...linear, kind: InstrumentKind.FUTURE, expiry: EXPIRY + k * DAY })),
  ...STRIKES.flatMap((strike): InstrumentSpec[] => [
    { ...linear, kind: InstrumentKind.CALL, strike, expiry: EXPIRY },
    { ...linear, kind: InstrumentKind.PUT, strike, expiry: EXPIRY },
  ]),
];
/** The update at this size: two underlyings, its options' expiry priced (one slice of eight), sixteen rate words. */
const UPDATE = () => oracleUpdate({
  prices: [PRICE, 6_000_000_000_000n],
  volSlices: [{ underlying: 0, expiry: EXPIRY, levelPpm: VOL, slopePpm: 0n }, ...Array.from({ length: P.optionInstruments - 1 }, () => EMPTY_SLICE)],
  rates: Array.from({ length: P.instruments }, () => 0n),
});
const OPTS = () => ({ oracle: UPDATE() });

let nextOrderId = 1n;
/** `buyer` buys one lot of `instrument` from `seller`: 30 quote a lot for the linear ones, 2 for an option. */
function trade(buyer: TestTrader, seller: TestTrader, instrument: number): BatchTx {
  const priceTicks = instrument < P.instruments - P.optionInstruments ? 300_000n : 20_000n;
  const orderId = nextOrderId++;
  const buy = derivOrder(buyer, instrument, { orderId, side: Side.BUY, priceTicks, sizeLots: 1n });
  const sell = derivOrder(seller, instrument, { orderId, side: Side.SELL, priceTicks, sizeLots: 1n });
  return { type: TxType.DERIV_TRADE, buy, sell, lots: 1n, priceTicks, buyFeePpm: 0, sellFeePpm: 0 };
}

/** The devnet-size state with alice long (bob short) one lot of each instrument `0 .. n - 1`, each opened in its own batch. */
function holdingFirst(n: number): ExchangeState {
  const state = derivativesState(undefined, SPECS, P, UPDATE());
  for (let id = 0; id < n; id++) buildBatch(state, [trade(alice, bob, id)], { batchNumber: 100 + id, timestamp: NOW, ...OPTS() });
  return state;
}

const layout = (state: ExchangeState, t: TestTrader) => [...state.account(t.accountId).positionSlots];
const SLOT_OF_INSTRUMENT = rule("PositionWrite", "touch * (idAt.out - heldId) === 0");
const A_WRITE = rule("DerivSlot", "aWrite.indexSel <== fundingSel.out");

describe("sixteen positions per account (the production table and slots at test depths)", { timeout: 1_200_000 }, () => {
  before(async () => {
    assert.deepEqual([P.instruments, P.optionInstruments, P.positionSlots], [16, 8, 16]);
    await loadBatchCircuit(P);
  });

  it("opens a sixteenth position, in the last empty slot, proven by the circuit with the margin over all sixteen", async () => {
    const state = holdingFirst(15);
    assert.deepEqual(layout(state, alice), [...Array.from({ length: 15 }, (_, id) => id), null]);
    assert.equal(await witnessFailure(state, [trade(alice, bob, 15)], OPTS()), null);
    assert.deepEqual(layout(state, alice), Array.from({ length: 16 }, (_, id) => id), "every slot holds an instrument, each in the order opened");
    assert.deepEqual(layout(state, bob), Array.from({ length: 16 }, (_, id) => id));
    const positions = state.account(alice.accountId).deriv.positions;
    assert.deepEqual(positions.map((p) => p.size), Array.from({ length: 16 }, () => 1n), "one lot long in each of the sixteen");
    // With all sixteen held, a trade in any of them (the perpetual, an option) stays in its slot.
    assert.equal(await witnessFailure(state, [trade(alice, bob, 0)], OPTS()), null);
    assert.equal(await witnessFailure(state, [trade(bob, alice, 12)], OPTS()), null, "alice sells her put back: its slot empties");
    assert.equal(layout(state, alice)[12], null);
  });

  it("refuses the sixteenth position written over another instrument's slot (PositionWrite), however the rest of the witness agrees", async () => {
    const overSlot3 = (input: CircuitInput) => {
      input.d_aPosTarget = ["3"];
    };
    await refuses(holdingFirst(15), [trade(alice, bob, 15)], [SLOT_OF_INSTRUMENT, A_WRITE], OPTS(), overSlot3);
  });
});
