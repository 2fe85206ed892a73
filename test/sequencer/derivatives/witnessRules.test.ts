/**
 * Issue 11, the TypeScript side: the witness builder, the oracle step and the sequencer's intake refuse
 * what the circuit now refuses (test/circuits/derivatives/attacks.test.ts), each with its code, and a
 * refused batch or update changes nothing.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { TxRejected } from "../../../sequencer/batch/slotWitness.ts";
import type { BatchTx, InstrumentSpec } from "../../../sequencer/protocol/transactions.ts";
import { fundingCapFits } from "../../../sequencer/derivatives/formulas.ts";
import { applyOracleStep, OracleRejected } from "../../../sequencer/derivatives/oracleStep.ts";
import { FUNDING_CAP_BOUND, MAX_ACCOUNT_LEVELS, MAX_ORACLE_PRICE, MIN_ORACLE_PRICE, SETTLEMENT_WINDOW, Side, TxType } from "../../../sequencer/protocol/constants.ts";
import { encodeRecord, RECORD_LAYOUT } from "../../../sequencer/protocol/publicData.ts";
import { checkParams, PARAMS_SETS, paramsId, PRODUCTION_PARAMS, TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { settlementWord } from "../../../sequencer/protocol/messages.ts";
import { RequestRejected } from "../../../sequencer/service/requestRejected.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { batchMainSource } from "../../../scripts/build/batchCircuit.ts";
import { dave, derivativesState, derivOrder, derivTrade, EXPIRY, INSTRUMENTS, NOW, oracleUpdate, registerDave, traders } from "../../helpers/derivatives.ts";
import { derivativesSequencer } from "../../helpers/derivativesSequencer.ts";

const { alice, bob } = traders;
const [PERP, FUTURE, CALL] = [0, 1, 2];

/** Builds `txs` in one batch and expects the witness builder to refuse it with `code`, leaving the state as it was. */
function refusedWith(state: ExchangeState, txs: BatchTx[], code: string, opts: { oracle?: ReturnType<typeof oracleUpdate> | null; timestamp?: number } = {}): void {
  const root = state.root;
  assert.throws(
    () => buildBatch(state, txs, { batchNumber: 50, timestamp: NOW, oracle: oracleUpdate(), ...opts }),
    (e: unknown) => (e instanceof TxRejected || e instanceof OracleRejected) && e.code === code,
  );
  assert.equal(state.root, root, "a refused batch changed the state");
}

const callBuy = (lots: bigint, priceTicks: bigint): BatchTx => ({
  type: TxType.DERIV_TRADE, lots, priceTicks, buyFeePpm: 500, sellFeePpm: 100,
  buy: derivOrder(dave, CALL, { orderId: 1n, side: Side.BUY, priceTicks, sizeLots: lots }),
  sell: derivOrder(bob, CALL, { orderId: 1n, side: Side.SELL, priceTicks, sizeLots: lots }),
});
const PREMIUM_AND_FEE = 10_000n * 20_000n * 100n + 10_000_000n;

describe("witness builder and oracle step: issue 11's rules", () => {
  it("2: refuses an option bought on credit (BELOW_INITIAL_MARGIN) and accepts one paid out of collateral", () => {
    const state = derivativesState();
    registerDave(state);
    refusedWith(state, [callBuy(10_000n, 20_000n)], "BELOW_INITIAL_MARGIN");
    const short = derivativesState();
    registerDave(short, PREMIUM_AND_FEE - 1n);
    refusedWith(short, [callBuy(10_000n, 20_000n)], "BELOW_INITIAL_MARGIN");
    const paid = derivativesState();
    registerDave(paid, PREMIUM_AND_FEE);
    buildBatch(paid, [callBuy(10_000n, 20_000n)], { batchNumber: 50, timestamp: NOW, oracle: oracleUpdate() });
    assert.equal(paid.account(dave.accountId).deriv.collateral, 0n);
    assert.equal(paid.account(dave.accountId).deriv.positions[CALL].size, 10_000n);
  });

  it("3: refuses a self-liquidation (SELF_LIQUIDATION), changing nothing", () => {
    const state = derivativesState();
    buildBatch(state, [derivTrade(PERP, 15_000n, 300_000n)], { batchNumber: 50, timestamp: NOW, oracle: oracleUpdate() });
    const order = derivOrder(alice, PERP, { orderId: 2n, side: Side.BUY, priceTicks: 247_000n, sizeLots: 15_000n });
    refusedWith(state, [{ type: TxType.LIQUIDATE, liquidatedAccountId: alice.accountId, liquidator: order, lots: 15_000n, priceTicks: 247_000n, liquidatorFeePpm: 0 }],
      "SELF_LIQUIDATION", { oracle: oracleUpdate({ prices: [260_000_000_000n] }) });
  });

  it("4: an update signed after an unsettled instrument's settlement window leaves it unsettled; the update naming its expiry settles it at the named prices; a bad named expiry is refused (BAD_ORACLE_SETTLEMENT), changing nothing", () => {
    const late = EXPIRY + SETTLEMENT_WINDOW + 1;
    const state = derivativesState();
    buildBatch(state, [], { batchNumber: 50, timestamp: late, oracle: oracleUpdate({ time: late, prices: [350_000_000_000n] }) });
    assert.equal(state.instruments[FUTURE].settlePrice, 0n, "a price signed after the window settles nothing");
    assert.equal(state.globals.oracleTime, late, "and the update is used: the window never blocks the oracle");
    const named = (prices: bigint[], expiry = EXPIRY) => oracleUpdate({ time: late + 60, settlement: { expiry, prices } });
    for (const price of [MIN_ORACLE_PRICE - 1n, 0n]) {
      refusedWith(state, [], "BAD_ORACLE_SETTLEMENT", { timestamp: late + 60, oracle: named([price]) });
    }
    assert.throws(() => named([MAX_ORACLE_PRICE + 1n]), /settlement.prices\[0\]/, "the message cannot even carry a price past 2^50");
    assert.throws(() => named([310_000_000_000n], 0), /a named expiry is positive/);
    const twoPrices = { ...named([310_000_000_000n]), settlement: { expiry: EXPIRY, prices: [310_000_000_000n, 310_000_000_000n] } };
    assert.throws(() => applyOracleStep(state, twoPrices, late + 60), (e: unknown) => e instanceof OracleRejected && e.code === "BAD_ORACLE_SHAPE");
    buildBatch(state, [], { batchNumber: 51, timestamp: late + 60, oracle: named([310_000_000_000n]) });
    assert.equal(state.instruments[FUTURE].settlePrice, 310_000_000_000n);
    const last = EXPIRY + SETTLEMENT_WINDOW;
    const inWindow = derivativesState();
    buildBatch(inWindow, [], { batchNumber: 50, timestamp: last, oracle: oracleUpdate({ time: last, prices: [320_000_000_000n] }) });
    assert.equal(inWindow.instruments[FUTURE].settlePrice, 320_000_000_000n, "the window's last second settles at the update's price");
  });

  it("4: the sequencer takes updates after a missed window (the expired future stays unsettled and untradable) and settles it when the oracle names its expiry", async () => {
    const { seq, chain } = derivativesSequencer(NOW);
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW }));
    await seq.drain(); // the future (instrument 1) is registered
    chain.now = EXPIRY + SETTLEMENT_WINDOW + 1;
    await seq.acceptOracleUpdate(oracleUpdate({ time: chain.now }));
    assert.equal(seq.derivatives.latest!.time, chain.now);
    assert.equal(seq.derivatives.instruments[FUTURE].settlePrice, 0n);
    assert.equal(seq.derivatives.risk.untradable(FUTURE), "INSTRUMENT_EXPIRED");
    chain.now += 60;
    const outcome = await seq.acceptOracleUpdate(oracleUpdate({ time: chain.now, settlement: { expiry: EXPIRY, prices: [310_000_000_000n] } }));
    assert.ok(outcome.settled.includes(FUTURE));
    assert.equal(seq.derivatives.instruments[FUTURE].settlePrice, 310_000_000_000n);
    await seq.drain(); // the batch carrying it is provable
  });

  it("5: refuses a registration whose funding cap lets a tick overflow the index (BAD_INSTRUMENT); accepts the largest cap that fits", () => {
    const lot = 1_000_000n; // one whole unit of the underlying per lot
    // The largest cap with cap * lot * MAX_ORACLE_PRICE < FUNDING_CAP_BOUND: 781,250 ppm.
    const largest = (FUNDING_CAP_BOUND - 1n) / (lot * MAX_ORACLE_PRICE);
    assert.equal(largest, 781_250n);
    assert.ok(fundingCapFits(largest, lot) && !fundingCapFits(largest + 1n, lot));
    const register = (fundingCapPpm: bigint): BatchTx => ({ type: TxType.REGISTER_INSTRUMENT, instrumentId: PERP, ...INSTRUMENTS[PERP], lotSizeE6: lot, fundingCapPpm } as InstrumentSpec & BatchTx);
    refusedWith(new ExchangeState(TEST_PARAMS), [register(largest + 1n)], "BAD_INSTRUMENT", { oracle: null });
    const state = new ExchangeState(TEST_PARAMS);
    buildBatch(state, [register(largest)], { batchNumber: 1, timestamp: NOW, oracle: null });
    assert.equal(state.instruments[PERP].fundingCapPpm, largest);
  });

  it("5: checkParams refuses marketLevels above 7 (spot market ids would reach the instrument markets'), and no batch circuit is built for them", () => {
    assert.doesNotThrow(() => checkParams({ ...TEST_PARAMS, marketLevels: 7 }));
    assert.throws(() => checkParams({ ...TEST_PARAMS, marketLevels: 8 }), RangeError);
    assert.throws(() => batchMainSource({ ...TEST_PARAMS, marketLevels: 8 }), RangeError);
    assert.ok(4 ** 7 <= 0x8000 && 4 ** 8 > 0x8000, "7 is the largest level count whose market ids stay below 0x8000");
  });

  it("checkParams refuses accountLevels above 12: REGISTER_KEY's record carries a 3-byte account id", () => {
    assert.doesNotThrow(() => checkParams({ ...TEST_PARAMS, accountLevels: MAX_ACCOUNT_LEVELS }));
    assert.throws(() => checkParams({ ...TEST_PARAMS, accountLevels: MAX_ACCOUNT_LEVELS + 1 }), /accountLevels=13/);
    const width = RECORD_LAYOUT[TxType.REGISTER_KEY].find(([f]) => f === "accountId")![1];
    assert.equal(4n ** BigInt(MAX_ACCOUNT_LEVELS), 1n << BigInt(8 * width), "the deepest tree's ids are exactly the field's values");
    assert.throws(() => encodeRecord({ type: TxType.REGISTER_KEY, accountId: 4n ** BigInt(MAX_ACCOUNT_LEVELS), pubKey: 1n }), /accountId=16777216 does not fit/);
  });

  it("checkParams bounds the instrument table (64, the custodian's free-id mask) and the position slots (1 to the instruments, 0 without)", () => {
    assert.doesNotThrow(() => checkParams({ ...TEST_PARAMS, positionSlots: 1 }));
    assert.doesNotThrow(() => checkParams({ ...TEST_PARAMS, positionSlots: 4 }));
    assert.throws(() => checkParams({ ...TEST_PARAMS, positionSlots: 5 }), /positionSlots=5/);
    assert.throws(() => checkParams({ ...TEST_PARAMS, positionSlots: 0 }), /positionSlots=0/);
    assert.doesNotThrow(() => checkParams({ ...TEST_PARAMS, derivSlots: 0, instruments: 0, positionSlots: 0, optionInstruments: 0 }));
    assert.doesNotThrow(() => checkParams({ ...TEST_PARAMS, underlyings: 2, instruments: 16, positionSlots: 16, optionInstruments: 16 }));
    for (const p of Object.values(PARAMS_SETS)) assert.doesNotThrow(() => checkParams(p), paramsId(p));
    assert.equal(paramsId(PRODUCTION_PARAMS), "a12b3o6m3s18d4i16k16x8u2", "the production set: 16 instruments, 16 position slots, 8 option ids");
    assert.doesNotThrow(() => checkParams({ ...TEST_PARAMS, underlyings: 2, instruments: 64, positionSlots: 16, optionInstruments: 40 }));
    assert.throws(() => checkParams({ ...TEST_PARAMS, underlyings: 1, instruments: 65, optionInstruments: 0 }), /instruments=65/);
  });

  it("O15: checkParams keeps the settlement word within the field (U <= 4; the oracle message chains past 16 inputs); the word packs each part at its own bits", () => {
    assert.doesNotThrow(() => checkParams({ ...TEST_PARAMS, underlyings: 4, instruments: 6, optionInstruments: 4 }), "3 + 4 + 4 + 6 inputs: a chain of two Poseidons");
    assert.throws(() => checkParams({ ...TEST_PARAMS, underlyings: 5, instruments: 4, optionInstruments: 0 }), /at most 4 underlyings/);
    const max = (1n << 50n) - 1n;
    const word = settlementWord({ expiry: 2 ** 32 - 1, prices: [max, 1n, max, 2n] });
    assert.ok(word < 1n << 232n);
    assert.deepEqual([word & 0xffffffffn, (word >> 32n) & max, (word >> 82n) & max, (word >> 132n) & max, word >> 182n], [0xffffffffn, max, 1n, max, 2n]);
    assert.equal(settlementWord(null), 0n);
    assert.throws(() => settlementWord({ expiry: EXPIRY, prices: [1n << 50n] }), /settlement.prices\[0\]/);
  });
});
