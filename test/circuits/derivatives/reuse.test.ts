/**
 * Reusing an instrument id (circuits/DERIVATIVES.md "Reusing an id"): the table's `holders` count, the free
 * rule of REGISTER_INSTRUMENT, the generation that moves an id's market id, and the mask of free ids that
 * closes the oracle section. Honest batches go through the witness builder and the circuit; every attack is
 * built as an operator would build it (rules and signatures off, public data hashed consistently) and must be
 * refused at the rule's own constraint.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { TxRejected } from "../../../sequencer/batch/slotWitness.ts";
import { INSTRUMENT_MARKET_BASE, InstrumentKind, Side, TxType, instrumentMarketId, oracleCoreBytes } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { encodePublicData, publicInputsOf } from "../../../sequencer/protocol/publicData.ts";
import type { BatchTx, InstrumentSpec } from "../../../sequencer/protocol/transactions.ts";
import type { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { inputFailure, loadBatchCircuit, refuses, rule, witnessFailure } from "../../helpers/circuitRules.ts";
import { derivativesState, derivOrder, derivTrade, EXPIRY, INSTRUMENTS, NOW, oracleUpdate, traders } from "../../helpers/derivatives.ts";

after(terminateSnarkjsCurve);
const FUTURE = 1;
const N = TEST_PARAMS.instruments;
/** The next month's future, listed at the old future's id once it is free. */
const NEXT_EXPIRY = EXPIRY + 30 * 86_400;
const NEXT_FUTURE: InstrumentSpec = { ...INSTRUMENTS[FUTURE], expiry: NEXT_EXPIRY, imPpm: 200_000n };
const AFTER = { timestamp: EXPIRY + 100, oracle: oracleUpdate({ time: EXPIRY + 95, prices: [310_000_000_000n] }) };
const register = (spec: InstrumentSpec): BatchTx => ({ type: TxType.REGISTER_INSTRUMENT, instrumentId: FUTURE, ...spec });
const settle = (accountId: number): BatchTx => ({ type: TxType.SETTLE, accountId, instrumentId: FUTURE });

/** alice long and bob short 10 lots of the future, which then settles at 3,100 (both still hold it: holders 2). */
function settledHeld(): ExchangeState {
  const state = derivativesState();
  buildBatch(state, [derivTrade(FUTURE, 10n, 300_000n)], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() });
  buildBatch(state, [], { batchNumber: 10, ...AFTER });
  return state;
}

/** settledHeld() after both positions were SETTLEd: the future's id is free. */
function settledFree(): ExchangeState {
  const state = settledHeld();
  buildBatch(state, [settle(traders.alice.accountId)], { batchNumber: 11, ...AFTER });
  buildBatch(state, [settle(traders.bob.accountId)], { batchNumber: 12, ...AFTER });
  return state;
}

/** settledFree() with NEXT_FUTURE registered at the id (generation 1), usable from the next batch. */
function relisted(): ExchangeState {
  const state = settledFree();
  buildBatch(state, [register(NEXT_FUTURE)], { batchNumber: 13, ...AFTER });
  return state;
}

/** A trade of the relisted future signed for market `marketId` (alice buys 5 from bob at 3,100). */
function tradeOn(marketId: number): BatchTx {
  const buy = derivOrder(traders.alice, 0, { orderId: 5n, side: Side.BUY, priceTicks: 310_000n, sizeLots: 5n, marketId });
  const sell = derivOrder(traders.bob, 0, { orderId: 5n, side: Side.SELL, priceTicks: 310_000n, sizeLots: 5n, marketId });
  return { type: TxType.DERIV_TRADE, buy, sell, lots: 5n, priceTicks: 310_000n, buyFeePpm: 0, sellFeePpm: 0 };
}

describe("batch circuit: reusing an instrument id", { timeout: 900_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });

  it("counts the accounts holding each instrument: a trade opens two, SETTLE closes them, and the batches prove it", async () => {
    const state = derivativesState();
    assert.equal(state.instruments[FUTURE].holders, 0);
    assert.equal(await witnessFailure(state, [derivTrade(FUTURE, 10n, 300_000n)], { batchNumber: 9 }), null);
    assert.equal(state.instruments[FUTURE].holders, 2);
    // a partial close leaves both holding; alice selling back all of hers to bob closes both
    const back = (lots: bigint, orderId: bigint): BatchTx => ({
      type: TxType.DERIV_TRADE, lots, priceTicks: 300_000n, buyFeePpm: 0, sellFeePpm: 0,
      buy: derivOrder(traders.bob, FUTURE, { orderId, side: Side.BUY, priceTicks: 300_000n, sizeLots: lots }),
      sell: derivOrder(traders.alice, FUTURE, { orderId, side: Side.SELL, priceTicks: 300_000n, sizeLots: lots }),
    });
    assert.equal(await witnessFailure(state, [back(4n, 2n)], { batchNumber: 10 }), null);
    assert.equal(state.instruments[FUTURE].holders, 2);
    assert.equal(await witnessFailure(state, [back(6n, 3n)], { batchNumber: 11 }), null);
    assert.equal(state.instruments[FUTURE].holders, 0);
    const held = settledHeld();
    assert.equal(held.instruments[FUTURE].holders, 2);
    assert.equal(await witnessFailure(held, [settle(traders.alice.accountId)], { batchNumber: 11, ...AFTER }), null);
    assert.equal(held.instruments[FUTURE].holders, 1);
  });

  it("refuses a batch whose new root claims fewer holders than the trade leaves (at the public input)", async () => {
    const state = derivativesState();
    const batch = buildBatch(state, [derivTrade(FUTURE, 10n, 300_000n)], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() });
    state.setInstrument(FUTURE, { ...state.instruments[FUTURE], holders: 0 });
    batch.circuitInput.publicInput = publicInputsOf(encodePublicData({ ...batch.header, newRoot: state.root }, batch.oracle, batch.records)).map(String);
    const failure = await inputFailure(batch.circuitInput);
    assert.ok(failure?.includes(rule("Batch", "pub.chunks <== publicInput")), `refused at ${failure?.join(" < ")}`);
  });

  it("publishes the free ids after every batch: a fresh id, then not while registered or held, then again once settled and closed", () => {
    const state = derivativesState();
    const trade = buildBatch(state, [derivTrade(FUTURE, 10n, 300_000n)], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() });
    assert.equal(trade.oracle.freeInstruments, 0n, "all four ids registered and unsettled");
    const expiry = buildBatch(state, [], { batchNumber: 10, ...AFTER });
    // at the expiry the call and the put (nobody holds them) settle too and are free; the future is held
    assert.equal(expiry.oracle.freeInstruments, 0b1100n);
    const half = buildBatch(state, [settle(traders.alice.accountId)], { batchNumber: 11, ...AFTER });
    assert.equal(half.oracle.freeInstruments, 0b1100n, "bob still holds the future");
    const closed = buildBatch(state, [settle(traders.bob.accountId)], { batchNumber: 12, ...AFTER });
    assert.equal(closed.oracle.freeInstruments, 0b1110n);
    const listed = buildBatch(state, [register(NEXT_FUTURE)], { batchNumber: 13, ...AFTER });
    assert.equal(listed.oracle.freeInstruments, 0b1100n);
    // the mask is the last byte of the oracle section, in the public data
    const bytes = encodePublicData(listed.header, listed.oracle, listed.records);
    assert.equal(bytes[72 + oracleCoreBytes(TEST_PARAMS)], 0b1100);
  });

  it("refuses a batch that publishes a wrong mask of free ids (at the public input)", async () => {
    const state = settledHeld();
    const batch = buildBatch(state, [settle(traders.alice.accountId)], { batchNumber: 11, ...AFTER });
    assert.equal(batch.oracle.freeInstruments, 0b1100n);
    // the operator claims the future free while bob still holds it, so the custodian would hand its id out again
    const claimed = encodePublicData(batch.header, { ...batch.oracle, freeInstruments: 0b1110n }, batch.records);
    batch.circuitInput.publicInput = publicInputsOf(claimed).map(String);
    const failure = await inputFailure(batch.circuitInput);
    assert.ok(failure?.includes(rule("Batch", "pub.chunks <== publicInput")), `refused at ${failure?.join(" < ")}`);
  });

  it("refuses registering over a settled instrument that an account still holds, at the free rule; the builder refuses it first", async () => {
    await refuses(settledHeld(), [register(NEXT_FUTURE)], rule("RegisterInstrument", "isReg * (1 - free.out) === 0"), { batchNumber: 11, ...AFTER });
    const state = settledHeld();
    const root = state.root;
    assert.throws(() => buildBatch(state, [register(NEXT_FUTURE)], { batchNumber: 11, ...AFTER }),
      (e: unknown) => e instanceof TxRejected && e.code === "BAD_INSTRUMENT" && /settled but 2 accounts still hold it/.test(e.message));
    assert.equal(state.root, root, "a refused batch changes nothing");
    // one holder left is still one too many
    buildBatch(state, [settle(traders.alice.accountId)], { batchNumber: 11, ...AFTER });
    await refuses(state, [register(NEXT_FUTURE)], rule("RegisterInstrument", "isReg * (1 - free.out) === 0"), { batchNumber: 12, ...AFTER });
  });

  it("refuses registering over an instrument that has expired but not settled", async () => {
    const state = derivativesState();
    // past the expiry, but no update has settled the future yet (nothing named it, no update in its window)
    await refuses(state, [register(NEXT_FUTURE)], rule("RegisterInstrument", "isReg * (1 - free.out) === 0"), { batchNumber: 9, timestamp: EXPIRY + 10, oracle: null });
  });

  it("registers over a settled instrument nobody holds: new fields, no settle price, holders 0, generation 1", async () => {
    const state = settledFree();
    assert.equal(await witnessFailure(state, [register(NEXT_FUTURE)], { batchNumber: 13, ...AFTER }), null);
    const inst = state.instruments[FUTURE];
    assert.deepEqual(inst, { ...NEXT_FUTURE, fundingIndex: 0n, settlePrice: 0n, holders: 0, generation: 1 });
    assert.equal(instrumentMarketId(FUTURE, inst.generation, N), INSTRUMENT_MARKET_BASE + FUTURE + N);
  });

  it("refuses a registration that keeps the old generation (at the public input: the written table is the circuit's)", async () => {
    // the operator writes the entry as if nothing had been there: generation 0, so the old instrument's signed
    // orders would fill the new one
    const state = settledFree();
    const batch = buildBatch(state, [register(NEXT_FUTURE)], { batchNumber: 13, ...AFTER });
    state.setInstrument(FUTURE, { ...state.instruments[FUTURE], generation: 0 });
    batch.circuitInput.publicInput = publicInputsOf(encodePublicData({ ...batch.header, newRoot: state.root }, batch.oracle, batch.records)).map(String);
    const failure = await inputFailure(batch.circuitInput);
    assert.ok(failure?.includes(rule("Batch", "pub.chunks <== publicInput")), `refused at ${failure?.join(" < ")}`);
  });

  it("trades the relisted instrument at its new market id and refuses orders signed for the old instrument's, at Fill's market rule", async () => {
    const newMarket = INSTRUMENT_MARKET_BASE + FUTURE + N;
    assert.equal(await witnessFailure(relisted(), [tradeOn(newMarket)], { batchNumber: 13, ...AFTER }), null);
    const old = INSTRUMENT_MARKET_BASE + FUTURE;
    await refuses(relisted(), [tradeOn(old)], rule("Fill", "isTrade * (orderA[O_MARKET()] - marketId) === 0"), { batchNumber: 13, ...AFTER });
    // the builder names it: the old instrument's market is stale
    const state = relisted();
    assert.throws(() => buildBatch(state, [tradeOn(old)], { batchNumber: 13, ...AFTER }), (e: unknown) => e instanceof TxRejected && e.code === "STALE_MARKET");
    // a generation not yet registered is refused the same way
    await refuses(relisted(), [tradeOn(old + 2 * N)], rule("Fill", "isTrade * (orderA[O_MARKET()] - marketId) === 0"), { batchNumber: 13, ...AFTER });
  });

  it("refuses a perpetual's id for reuse: it never settles", async () => {
    const state = derivativesState();
    assert.equal(state.instruments[0].kind, InstrumentKind.PERPETUAL);
    await refuses(state, [{ type: TxType.REGISTER_INSTRUMENT, instrumentId: 0, ...INSTRUMENTS[0] }], rule("RegisterInstrument", "isReg * (1 - free.out) === 0"), { batchNumber: 9, oracle: null });
  });
});
