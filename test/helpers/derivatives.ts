/**
 * A derivatives market for tests: on underlying 0 (price 3000 quote), instrument 0 a perpetual,
 * 1 a dated future, 2 a call and 3 a put (strike 3000), each lot 0.01 underlying; alice (1), bob (2)
 * and carol (3) with collateral; an oracle key and signed updates.
 */
import { buildBatch, type BuiltBatch } from "../../sequencer/batch/batchWitness.ts";
import type { BatchTx, InstrumentSpec } from "../../sequencer/protocol/transactions.ts";
import { signOracleUpdate } from "../../sequencer/derivatives/oracleSigner.ts";
import { applyOracleStep, type SignedOracleUpdate } from "../../sequencer/derivatives/oracleStep.ts";
import type { MarkEntry } from "../../sequencer/derivatives/marking.ts";
import type { LotRisk } from "../../sequencer/derivatives/formulas.ts";
import { INSTRUMENT_MARKET_BASE, InstrumentKind, Side, TxType } from "../../sequencer/protocol/constants.ts";
import type { Order, Signed } from "../../sequencer/protocol/messages.ts";
import { TEST_PARAMS, type CircuitParams } from "../../sequencer/protocol/params.ts";
import { EMPTY_SLICE, type VolSlice } from "../../sequencer/protocol/volSlices.ts";
import { signTransfer } from "../../sequencer/protocol/signing.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { order, testTrader, type TestTrader } from "./traders.ts";

export const NOW = 1_700_000_000;
export const EXPIRY = NOW + 30 * 86_400;
export const ORACLE_KEY = new Uint8Array(32).fill(99);
/** 3000 quote per unit, in 1e-8 quote. */
export const PRICE = 300_000_000_000n;
export const VOL = 600_000n;
/** A vol table at TEST_PARAMS (2 slices): `vol` with skew `slope` for the options of underlying 0 expiring at `expiry`, then an empty slice. */
export function volSlices(vol = VOL, slope = 0n, expiry = EXPIRY): VolSlice[] {
  return [{ underlying: 0, expiry, levelPpm: vol, slopePpm: slope }, ...Array.from({ length: TEST_PARAMS.optionInstruments - 1 }, () => EMPTY_SLICE)];
}
/** The vol table an update signs by default: the call and the put (both at EXPIRY) at VOL, no skew. */
export const VOLS = volSlices();
/** The vols by instrument id (MarketInputs.vols) VOLS gives the test table: VOL for the call and the put at the money. */
export const MARKET_VOLS = [0n, 0n, VOL, VOL];
export const traders = { alice: testTrader(1), bob: testTrader(2), carol: testTrader(3) };
/** An account with a trading key and nothing deposited (registerDave). */
export const dave = testTrader(4);
/** What derivativesState() deposits: 50,000 quote for each of alice, bob and carol. */
export const DEPOSITS = 3n * 50_000_000_000n;

/** Lots of 0.01 underlying; ticks of 0.01 quote per underlying, so 100 quote units (1e-6) per lot and tick. */
const linear = { underlying: 0, lotSizeE6: 10_000n, tickValue: 100n, imPpm: 100_000n, mmPpm: 50_000n, strike: 0n };
export const INSTRUMENTS: InstrumentSpec[] = [
  { ...linear, kind: InstrumentKind.PERPETUAL, expiry: 0, fundingCapPpm: 1_000n },
  { ...linear, kind: InstrumentKind.FUTURE, expiry: EXPIRY, fundingCapPpm: 0n },
  { ...linear, kind: InstrumentKind.CALL, strike: PRICE, expiry: EXPIRY, fundingCapPpm: 0n },
  { ...linear, kind: InstrumentKind.PUT, strike: PRICE, expiry: EXPIRY, fundingCapPpm: 0n },
];

/** A signed oracle update (defaults: NOW, epoch 0, PRICE, VOL for the options' expiry, no funding). */
export function oracleUpdate(fields: Partial<Omit<SignedOracleUpdate, "key" | "signature">> = {}, key = ORACLE_KEY): SignedOracleUpdate {
  return signOracleUpdate(key, { time: NOW, fundingEpoch: 0, prices: [PRICE], volSlices: VOLS, rates: [0n, 0n, 0n, 0n], ...fields });
}

/** The marks and margins `update` gives `state`'s instruments (computed on a rolled-back transaction). */
export function oracleRisks(state: ExchangeState, update: SignedOracleUpdate): LotRisk[] {
  const t = state.begin();
  try {
    return applyOracleStep(state, update, update.time).risks;
  } finally {
    t.rollback();
  }
}

/** A signed order on instrument `instrumentId` (priceTicks 300,000 = 3000 quote per underlying). */
export function derivOrder(t: TestTrader, instrumentId: number, fields: Partial<Order> & { orderId: bigint; side: Side }): Signed<Order> {
  return order(t, { marketId: INSTRUMENT_MARKET_BASE + instrumentId, ...fields });
}

/** A DERIV_TRADE of `lots` on `instrument` at `priceTicks`: alice buys, bob sells (order id 1, fees 500 / 100 ppm unless `o` says otherwise). */
export function derivTrade(instrument: number, lots: bigint, priceTicks: bigint, o: { buy?: Partial<Order>; sell?: Partial<Order>; buyFeePpm?: number; sellFeePpm?: number } = {}): BatchTx {
  const buy = derivOrder(traders.alice, instrument, { orderId: 1n, side: Side.BUY, priceTicks, sizeLots: lots, ...o.buy });
  const sell = derivOrder(traders.bob, instrument, { orderId: 1n, side: Side.SELL, priceTicks, sizeLots: lots, ...o.sell });
  return { type: TxType.DERIV_TRADE, buy, sell, lots, priceTicks, buyFeePpm: o.buyFeePpm ?? 500, sellFeePpm: o.sellFeePpm ?? 100 };
}

/** derivativesState() after alice bought 15,000 perpetual lots (instrument 0) from bob at 3,000 (45,000 of IM on 50,000). */
export function aliceLongPerpetual(): ExchangeState {
  const state = derivativesState();
  buildBatch(state, [derivTrade(0, 15_000n, 300_000n)], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() });
  return state;
}

/** derivativesState() after alice bought 15,000 lots of the future (instrument 1) from bob at 3,000 (as aliceLongPerpetual on the perpetual). */
export function aliceLongFutureLarge(): ExchangeState {
  const state = derivativesState();
  buildBatch(state, [derivTrade(1, 15_000n, 300_000n)], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() });
  return state;
}

/** A batch whose oracle update, signed 5 s after the future's expiry, settles it at 2,600: alice's 15,000 lots (aliceLongFutureLarge) end more than 10,000 quote under water. */
export const EXPIRY_GAP = () => ({ batchNumber: 40, timestamp: EXPIRY + 10, oracle: oracleUpdate({ time: EXPIRY + 5, prices: [260_000_000_000n] }) });

/** The oracle update of a gap to 2,600, at which liquidating alice's whole perpetual long leaves her flat with a deficit above 10,000 quote. */
export const GAP_UPDATE = (): SignedOracleUpdate => oracleUpdate({ prices: [260_000_000_000n] });

/**
 * aliceLongPerpetual() after the gap (GAP_UPDATE): carol liquidated all of alice's long while the insurance fund held
 * 4,000 quote, so alice is flat with the rest of her deficit as open bad debt (`state.globals.badDebt`); the fund
 * then holds `fund` (as later penalties would bring).
 */
export function openDebtState(fund = 0n): ExchangeState {
  const state = aliceLongPerpetual();
  setInsuranceFund(state, 4_000_000_000n);
  buildBatch(state, [liquidateAlice(15_000n, 260_000n)], { batchNumber: 9, timestamp: NOW, oracle: GAP_UPDATE() });
  setInsuranceFund(state, fund);
  return state;
}

/**
 * Sets the insurance fund to `fund` as if the difference had been paid in (or out) from outside the state: the
 * pooled quote (Globals.pooledQuote: collateral, fund and fee pool) moves with it, as it would with real quote.
 */
export function setInsuranceFund(state: ExchangeState, fund: bigint): void {
  const g = state.globals;
  state.setGlobals({ ...g, insuranceFund: fund, pooledQuote: g.pooledQuote + fund - g.insuranceFund });
}

/** Adds `amount` to the fee pool as if it had been paid in from outside the state (the pooled quote with it, as setInsuranceFund). */
export function seedFeePool(state: ExchangeState, amount: bigint): void {
  state.addFees(amount);
  state.addPooledQuote(amount);
}

/** carol (liquidator) buying `lots` of alice's perpetual long at `priceTicks` (her order's limit `limitTicks`). */
export function liquidateAlice(lots: bigint, priceTicks: bigint, limitTicks = priceTicks): BatchTx {
  const liquidator = derivOrder(traders.carol, 0, { orderId: 1n, side: Side.BUY, priceTicks: limitTicks, sizeLots: lots });
  return { type: TxType.LIQUIDATE, liquidatedAccountId: traders.alice.accountId, liquidator, lots, priceTicks, liquidatorFeePpm: 0 };
}

/** Applies `txs` in as many batches as they need (no proof), with the default oracle update; `onBatch` sees each. */
export function apply(state: ExchangeState, txs: BatchTx[], oracle: SignedOracleUpdate | null = oracleUpdate(), onBatch?: (b: BuiltBatch) => void): void {
  const per = Math.max(1, Math.min(state.params.slots, state.params.derivSlots));
  for (let i = 0; i < txs.length; i += per) {
    const b = buildBatch(state, txs.slice(i, i + per), { batchNumber: batchNumber++, timestamp: NOW, oracle });
    onBatch?.(b);
  }
}
let batchNumber = 0;

/**
 * Keys, 50,000 quote of collateral for alice, bob and carol, and the four instruments registered
 * (`instruments`, INSTRUMENTS unless said otherwise), at circuit sizes `params` (TEST_PARAMS unless said
 * otherwise; the collateral moves in a batch with `oracle`, the default update, shaped for TEST_PARAMS, unless said
 * otherwise); `onBatch` sees each setup batch.
 */
export function derivativesState(
  onBatch?: (b: BuiltBatch) => void, instruments: readonly InstrumentSpec[] = INSTRUMENTS, params: CircuitParams = TEST_PARAMS, oracle: SignedOracleUpdate = oracleUpdate(),
): ExchangeState {
  const state = new ExchangeState(params);
  const setup: BatchTx[] = [];
  for (const t of Object.values(traders)) {
    setup.push({ type: TxType.REGISTER_KEY, accountId: t.accountId, pubKey: t.pubKey });
    setup.push({ type: TxType.DEPOSIT, accountId: t.accountId, tokenId: 0, amount: 50_000_000_000n });
  }
  apply(state, setup, null, onBatch);
  apply(state, instruments.map((spec, id) => ({ type: TxType.REGISTER_INSTRUMENT, instrumentId: id, ...spec })), null, onBatch);
  apply(state, Object.values(traders).map((t) => ({
    type: TxType.TRANSFER, request: signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: 50_000_000_000n, nonce: 0 }),
  })), oracle, onBatch);
  return state;
}

/** Registers dave's trading key on `state`; he deposits `collateral` quote units and moves them into collateral (nothing unless said). */
export function registerDave(state: ExchangeState, collateral = 0n): void {
  registerTrader(state, dave, collateral);
}

/** Registers `t`'s trading key on `state`; it deposits `collateral` quote units and moves them into collateral (nothing unless said; at `oracle`'s marks). */
export function registerTrader(state: ExchangeState, t: TestTrader, collateral = 0n, oracle = oracleUpdate()): void {
  apply(state, [{ type: TxType.REGISTER_KEY, accountId: t.accountId, pubKey: t.pubKey }], null);
  if (collateral === 0n) return;
  apply(state, [{ type: TxType.DEPOSIT, accountId: t.accountId, tokenId: 0, amount: collateral }], null);
  apply(state, [{ type: TxType.TRANSFER, request: signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: collateral, nonce: 0 }) }], oracle);
}

/**
 * What everybody can claim from the custodian: every account's spot quote balance and positive
 * collateral (negative collateral is a debt nobody can collect), the fee pool and the insurance fund.
 * Custody holds when this never exceeds what was deposited.
 */
export function claims(state: ExchangeState): bigint {
  let total = state.feePool + state.globals.insuranceFund;
  for (let id = 0; id < 4 ** state.params.accountLevels; id++) {
    const c = state.account(id).deriv.collateral;
    total += state.balance(id, 0) + (c > 0n ? c : 0n);
  }
  return total;
}

/**
 * A spot market to hold a derivatives-only order feature against: spot market 0 (base token 1) with accounts 1
 * and 2 (testTrader(1), testTrader(2)) registered, 10 quote for account 1 and 1,000,000 base units for account 2;
 * `spotTrade` fills 4 lots of account 2's sell (with `sell` fields) into account 1's buy at 95.
 */
export function spotState(): ExchangeState {
  const [a, b] = [testTrader(1), testTrader(2)];
  const state = new ExchangeState(TEST_PARAMS);
  buildBatch(state, [{ type: TxType.REGISTER_KEY, accountId: 1, pubKey: a.pubKey }, { type: TxType.REGISTER_KEY, accountId: 2, pubKey: b.pubKey }], { batchNumber: 0, timestamp: NOW });
  buildBatch(state, [
    { type: TxType.REGISTER_MARKET, marketId: 0, baseTokenId: 1, sizeUnit: 1000n, priceUnit: 10n }, { type: TxType.DEPOSIT, accountId: 1, tokenId: 0, amount: 10_000_000n },
  ], { batchNumber: 1, timestamp: NOW });
  buildBatch(state, [{ type: TxType.DEPOSIT, accountId: 2, tokenId: 1, amount: 1_000_000n }], { batchNumber: 2, timestamp: NOW });
  return state;
}

/** The TRADE of spotState(): account 2 sells 4 lots at 95 to account 1, its sell order carrying `sell`. */
export function spotTrade(sell: Partial<Order>): BatchTx {
  return {
    type: TxType.TRADE, lots: 4n, priceTicks: 95n, buyFeePpm: 500, sellFeePpm: 1000,
    buy: order(testTrader(1), { orderId: 1n, side: Side.BUY, priceTicks: 100n }), sell: order(testTrader(2), { orderId: 1n, side: Side.SELL, priceTicks: 90n, ...sell }),
  };
}

/**
 * What a marking of `state`'s whole option table prices (marking.ts MarkEntry): the table's option ids (its last
 * optionInstruments ids, the call and the put of derivativesState()) in order, each with its instrument.
 */
export function tableOptions(state: ExchangeState = derivativesState()): MarkEntry[] {
  const { instruments, optionInstruments } = state.params;
  return Array.from({ length: optionInstruments }, (_, k) => instruments - optionInstruments + k).map((id) => ({ id, instrument: state.instruments[id] }));
}
