/**
 * States and rules shared by the dishonest-operator generator's derivatives and oracle tests and by the exit
 * circuit's tests and hunt (test/circuits/dishonest/, test/circuits/exit/), on top of test/helpers/derivatives.ts.
 */
import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import { isDated, optionMark } from "../../sequencer/derivatives/formulas.ts";
import { Side, TxType } from "../../sequencer/protocol/constants.ts";
import type { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { aliceLongPerpetual, dave, derivativesState, derivOrder, derivTrade, EXPIRY, NOW, oracleUpdate, PRICE, registerDave, traders, VOL } from "./derivatives.ts";
import { CALL, FUTURE, handMade, PERP, PUT, px } from "../../scripts/fixtures/exitStates.ts";
import type { ExtraRule } from "./dishonest.ts";

/** derivativesState() after alice bought 100 futures (instrument 1) from bob at 3,000. */
export function aliceLongFuture(): ExchangeState {
  const state = derivativesState();
  buildBatch(state, [derivTrade(1, 100n, 300_000n)], { batchNumber: 31, timestamp: NOW, oracle: oracleUpdate() });
  return state;
}

/**
 * aliceLongFuture() after the expiry (AT_EXPIRY) and both positions SETTLEd: the future's id (1) is free (settled,
 * nobody holds it), and so are the call's and the put's (settled, never traded).
 */
export function freedFuture(): ExchangeState {
  const state = aliceLongFuture();
  buildBatch(state, [{ type: TxType.SETTLE, accountId: 1, instrumentId: 1 }], { ...AT_EXPIRY, batchNumber: 38 });
  buildBatch(state, [{ type: TxType.SETTLE, accountId: 2, instrumentId: 1 }], { ...AT_EXPIRY, batchNumber: 39 });
  return state;
}

/** The call (instrument 2)'s mark per lot (quote units) at underlying price `price` (1e-8 quote) and time NOW. */
export function callMark(state: ExchangeState, price: bigint): bigint {
  return optionMark(state.instruments[2], price, VOL, NOW);
}

/** callMark in ticks of the call's tick value (rounded down). */
export function callMarkTicks(state: ExchangeState, price: bigint): bigint {
  return callMark(state, price) / state.instruments[2].tickValue;
}

/** The oracle update at NOW with the underlying at `quote` whole quote units. */
export const at = (quote: bigint) => oracleUpdate({ prices: [quote * 100_000_000n] });

/**
 * An insurance fund with money in it, and an option buyer under water: from derivativesState(), dave
 * (3,000 quote of collateral) buys 100 calls from bob at 92% of their mark, paying the premium from his
 * collateral (finding 2: a long option is not bought on credit), then 900 perpetual lots from bob at
 * 3,000 (2,700 of initial margin); carol buys 15,000 perpetual lots from bob at 3,000; at 2,800 alice
 * liquidates all of carol's lots at the mark, whose penalty (4,200 quote) funds the insurance fund. The
 * oracle update `UNDERWATER` (2,600) then leaves dave's perpetual loss (3,600) above what he has left:
 * equity < 0, below his maintenance margin, with his calls to liquidate.
 */
export function fundedInsuranceState(): ExchangeState {
  const { alice, bob, carol } = traders;
  const state = derivativesState();
  registerDave(state, 3_000_000_000n);
  const run = (tx: BatchTx, quote: bigint) => buildBatch(state, [tx], { batchNumber: 32, timestamp: NOW, oracle: at(quote) });
  const callTicks = (callMarkTicks(state, 3_000n * 100_000_000n) * 92n) / 100n;
  /** `buyer`'s order `buyId` against bob's order `sellId`, no fees. */
  const trade = (buyer: typeof alice, buyId: bigint, sellId: bigint, instrument: number, lots: bigint, priceTicks: bigint) => ({
    ...derivTrade(instrument, lots, priceTicks, { buyFeePpm: 0, sellFeePpm: 0 }),
    buy: derivOrder(buyer, instrument, { orderId: buyId, side: Side.BUY, priceTicks, sizeLots: lots }),
    sell: derivOrder(bob, instrument, { orderId: sellId, side: Side.SELL, priceTicks, sizeLots: lots }),
  }) as BatchTx;
  run(trade(dave, 1n, 1n, 2, 100n, callTicks), 3_000n);
  run(trade(dave, 3n, 3n, 0, 900n, 300_000n), 3_000n);
  run(trade(carol, 1n, 2n, 0, 15_000n, 300_000n), 3_000n);
  const liquidator = derivOrder(alice, 0, { orderId: 1n, side: Side.BUY, priceTicks: 280_000n, sizeLots: 15_000n });
  run({ type: TxType.LIQUIDATE, liquidatedAccountId: carol.accountId, liquidator, lots: 15_000n, priceTicks: 280_000n, liquidatorFeePpm: 0 }, 2_800n);
  return state;
}

/** alice long 15,000 perpetual lots and 100 puts (bob the other side), then a funding tick nobody has settled yet. */
export function perpetualWithFunding(): ExchangeState {
  const state = aliceLongPerpetual();
  const putTicks = (optionMark(state.instruments[3], PRICE, VOL, NOW) * 92n) / 100n / state.instruments[3].tickValue;
  buildBatch(state, [derivTrade(3, 100n, putTicks, { buy: { orderId: 2n }, sell: { orderId: 2n } })], { batchNumber: 10, timestamp: NOW, oracle: oracleUpdate() });
  buildBatch(state, [], { batchNumber: 11, timestamp: NOW, oracle: oracleUpdate({ fundingEpoch: 1, rates: [700n, 0n, 0n, 0n] }) });
  return state;
}

/** fundedInsuranceState, then the expiry batch (3,150) settles the future and the options. */
export function settledState(): ExchangeState {
  const state = fundedInsuranceState();
  buildBatch(state, [], AT_EXPIRY);
  return state;
}

/** The exit tests' states built by batches: perpetuals with unsettled funding and puts; calls, a liquidation and an insurance fund; settled dated instruments. */
export function exitBatchStates(): [string, ExchangeState][] {
  return [
    ["perpetual long/short with unsettled funding, puts", perpetualWithFunding()],
    ["calls, a liquidation, an insurance fund", fundedInsuranceState()],
    ["dated instruments settled at expiry", settledState()],
  ];
}

/** The exit tests' hand-made states (account 5): puts and calls in and out of the money, settled options, negative equity, spot only. */
export function exitHandMadeStates(): ExchangeState[] {
  return [
    handMade({ spot: [5n, 6n, 7n, 8n] }),
    handMade({ instruments: [{ ...PERP, fundingIndex: 500n }, FUTURE, CALL, PUT], collateral: 1_000_000_000n, sizes: [10n, 0n, 2n, -2n], snaps: [100n] }),
    handMade({ instruments: [{ ...PERP, fundingIndex: -900n }, FUTURE, CALL, PUT], collateral: 1_000_000_000n, sizes: [-10n, 0n, -2n, 2n], snaps: [-100n] }),
    handMade({ instruments: [PERP, { ...FUTURE, settlePrice: px(3_150n) }, { ...CALL, settlePrice: px(3_200n) }, { ...PUT, settlePrice: px(2_500n) }], collateral: -5n, sizes: [0n, 4n, 1n, 1n] }),
    handMade({ spot: [50n, 60n], collateral: -400_000_000n, sizes: [10n] }),
  ];
}

/** The underlying at 2,600: dave's calls (fundedInsuranceState) are under water. */
export const UNDERWATER = { batchNumber: 40, timestamp: NOW, oracle: at(2_600n) };

/** The honest expiry batch: the oracle update at EXPIRY + 5 (3,150) settles the dated instruments. */
export const AT_EXPIRY = { batchNumber: 40, timestamp: EXPIRY + 10, oracle: oracleUpdate({ time: EXPIRY + 5, prices: [315_000_000_000n] }) };

/**
 * Issue 11, finding 4: "an expiry must settle at an oracle update signed within a short window after
 * the expiry time, not at whichever later update suits": an unsettled dated instrument whose expiry the
 * update does not name may not be paid out (SETTLE) in a batch whose update is signed more than `window`
 * seconds after its expiry (the tests pass the protocol's SETTLEMENT_WINDOW, DERIVATIVES.md "Expiry"); one
 * the update names settles at the oracle's prices at that expiry, whenever signed.
 */
export function settlementWindow(window: number): ExtraRule {
  return ({ pre, oracle, records }) => {
    if (!oracle.used) return null;
    const late = (id: number) => {
      const inst = pre.instruments[id];
      return isDated(inst.kind) && inst.settlePrice === 0n && Number(oracle.settleExpiry) !== inst.expiry && Number(oracle.time) - inst.expiry > window;
    };
    const id = records.flatMap((r) => (r.type === TxType.SETTLE ? [Number(r.instrumentId)] : [])).find(late);
    if (id === undefined) return null;
    return `instrument ${id} settles at an oracle update signed ${Number(oracle.time) - pre.instruments[id].expiry} s after its expiry (finding 4: only an update within a short window after expiry, or one naming the expiry, may settle it)`;
  };
}
