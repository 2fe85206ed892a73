/**
 * Dishonest-operator generator, derivatives slots (issue 11, "Hunting the rest"): for each derivatives
 * transaction type (DERIV_TRADE, LIQUIDATE, DELEVERAGE, SETTLE, TRANSFER, REGISTER_INSTRUMENT (on a fresh id and over a
 * freed one), FORCED_COLLATERAL_WITHDRAW, INSURANCE_WITHDRAW, FORCED_CLOSE) an honest batch is
 * built, then every value the operator chooses in the derivatives slot's circuit input is changed to
 * wrong values and the operator's other choices (other signed orders, victims, prices, sizes) are tried;
 * test/helpers/dishonest.ts says how each candidate is judged. A test fails naming every soundness
 * hole (type, field, mutation, why); the log has one line per candidate with the constraint that
 * refused it. Sampling: HUNT_PER_FIELD (default 1), HUNT_SEED (default 1), HUNT=full for all of them.
 */
import type { BatchTx, InstrumentSpec } from "../../../sequencer/protocol/transactions.ts";
import { publicKeyOf } from "../../../sequencer/crypto/babyjub.ts";
import { Side, TriggerType, TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { signTransfer } from "../../../sequencer/protocol/signing.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import {
  aliceLongFutureLarge, aliceLongPerpetual, dave, derivativesState, derivOrder, derivTrade, EXPIRY, EXPIRY_GAP, GAP_UPDATE, INSTRUMENTS, liquidateAlice, NOW, openDebtState, ORACLE_KEY,
  oracleRisks, oracleUpdate, registerDave, traders,
} from "../../helpers/derivatives.ts";
import { deleverageAmount, liquidationBandTicks } from "../../../sequencer/derivatives/formulas.ts";
import { huntSuite, type Scenario } from "../../helpers/dishonest.ts";
import { aliceLongFuture, AT_EXPIRY, callMark, freedFuture, fundedInsuranceState, UNDERWATER } from "../../helpers/huntStates.ts";

const { alice, bob, carol } = traders;
const [PERP, FUTURE, CALL] = [0, 1, 2];
const oracleKey = publicKeyOf(ORACLE_KEY);
const OPTS = { batchNumber: 40, timestamp: NOW, oracle: oracleUpdate() };

/** The price has dropped to 2,800: alice's 15,000 perpetual lots (45,000 of IM on 50,000) are below maintenance. */
const DROPPED = { ...OPTS, oracle: oracleUpdate({ prices: [280_000_000_000n] }) };
/** The gap to 2,600: alice (aliceLongPerpetual) is under water with an empty fund; bob's short takes her long and pays `deficit`. */
const GAPPED = { ...OPTS, oracle: GAP_UPDATE() };
const deficit = ((s: ExchangeState) => deleverageAmount(s.account(1).deriv, s.account(2).deriv, oracleRisks(s, GAP_UPDATE()), 0n))(aliceLongPerpetual());
/** The future settles at 2,600 (EXPIRY_GAP): alice (aliceLongFutureLarge) is under water; bob's short takes her long at the payoff and pays `expiryDeficit`. */
const expiryDeficit = ((s: ExchangeState) => deleverageAmount(s.account(1).deriv, s.account(2).deriv, oracleRisks(s, EXPIRY_GAP().oracle), 0n))(aliceLongFutureLarge());
const deleverage = (fields: Partial<Extract<BatchTx, { type: typeof TxType.DELEVERAGE }>> = {}): BatchTx => ({
  type: TxType.DELEVERAGE, deleveragedAccountId: 1, counterpartyAccountId: 2, instrumentId: PERP, lots: 15_000n, amount: deficit, ...fields,
});

const transfer = (t: typeof alice, toCollateral: boolean, amount: bigint, nonce: number, key = t.key): BatchTx =>
  ({ type: TxType.TRANSFER, request: signTransfer(key, { accountId: t.accountId, toCollateral, amount, nonce }) });

/** fundedInsuranceState() at 2,600: dave (100 calls, 900 perpetual lots) is under water; the call's mark, and the band's low edge, in ticks. */
const underwater = fundedInsuranceState();
const mark = callMark(underwater, 260_000_000_000n);
const markTicks = mark / INSTRUMENTS[CALL].tickValue;
const [lowEdge] = liquidationBandTicks(INSTRUMENTS[CALL].tickValue, mark);
/** `liquidator` buys `lots` of dave's calls at `priceTicks` (its order 2), no fee. */
const optionLiquidation = (liquidator: typeof alice, priceTicks: bigint, lots = 100n): BatchTx => ({
  type: TxType.LIQUIDATE, liquidatedAccountId: dave.accountId, lots, priceTicks, liquidatorFeePpm: 0,
  liquidator: derivOrder(liquidator, CALL, { orderId: 2n, side: Side.BUY, priceTicks, sizeLots: 100n }),
});

/** A registration of `spec` at `instrumentId`; NEXT_FUTURE: the next month's future, listed at a free id. */
const relist = (instrumentId: number, spec: InstrumentSpec): BatchTx => ({ type: TxType.REGISTER_INSTRUMENT, instrumentId, ...spec });
const NEXT_FUTURE: InstrumentSpec = { ...INSTRUMENTS[FUTURE], expiry: EXPIRY + 30 * 86_400 };

/** derivativesState() with dave's key registered and nothing else: an account without collateral. */
function withDave(): ExchangeState {
  const state = derivativesState();
  registerDave(state);
  return state;
}

/** openDebtState() with the fund 5,000,000 above the open bad debt. */
function insuranceAboveDebt(): ExchangeState {
  const debt = openDebtState().globals.badDebt;
  return openDebtState(debt + 5_000_000n);
}

function scenarios(): Scenario[] {
  const s = (name: string, state: ExchangeState, txs: BatchTx[], opts: Scenario["opts"], choices: Scenario["choices"] = []): Scenario =>
    ({ name, section: "deriv", slot: 0, state, txs, opts, oracleKey, choices });
  const liquidation = liquidateAlice(1_000n, 280_000n) as Extract<BatchTx, { type: typeof TxType.LIQUIDATE }>;
  return [
    s("DERIV_TRADE", withDave(), [derivTrade(PERP, 10n, 300_000n)], OPTS, [
      { label: "a trade beyond the buyer's initial margin", txs: [derivTrade(PERP, 20_000n, 300_000n)] },
      { label: "a call bought from bob", txs: [derivTrade(CALL, 10n, 2_000n)] },
      {
        label: "a call bought by dave, who has no collateral (finding 2: options bought on credit)",
        txs: [{ ...derivTrade(CALL, 10n, 1_000n), buy: derivOrder(dave, CALL, { orderId: 1n, side: Side.BUY, priceTicks: 1_000n, sizeLots: 10n }) } as BatchTx],
      },
      { label: "a self-trade (alice's buy against alice's sell)", txs: [{ ...derivTrade(PERP, 10n, 300_000n), sell: derivOrder(alice, PERP, { orderId: 2n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 10n }) } as BatchTx] },
      { label: "a future traded after its expiry", txs: [derivTrade(FUTURE, 10n, 300_000n)], opts: { timestamp: EXPIRY + 10, oracle: oracleUpdate({ time: EXPIRY + 5 }) } },
      { label: "a trade without the batch's oracle update", txs: [derivTrade(PERP, 10n, 300_000n)], opts: { oracle: null } },
      // stop and take-profit orders (TriggerFill): alice's stop buy first filled below its trigger (3,010; the mark is 3,000), and at it
      { label: "alice's stop buy at 3,010 filled while the mark is 3,000", txs: [derivTrade(PERP, 10n, 300_000n, { buy: { triggerType: TriggerType.STOP, triggerPriceTicks: 301_000n } })] },
      { label: "alice's stop buy at 3,000 filled at the mark", txs: [derivTrade(PERP, 10n, 300_000n, { buy: { triggerType: TriggerType.STOP, triggerPriceTicks: 300_000n } })] },
    ]),
    // carol (flat) takes all her collateral: honoured; alice (long, 4,775 free above initial margin) 5,000: refused
    s("FORCED_COLLATERAL_WITHDRAW honoured", aliceLongPerpetual(), [{ type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: carol.accountId, tokenId: 0, amount: 50_000_000_000n }], OPTS),
    s("FORCED_COLLATERAL_WITHDRAW refused", aliceLongPerpetual(), [{ type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: alice.accountId, tokenId: 0, amount: 5_000_000_000n }], OPTS),
    // alice closes 6,000 of her 15,000 perpetual lots against bob (short 15,000): honoured; against carol (flat): refused
    s("FORCED_CLOSE honoured", aliceLongPerpetual(), [{ type: TxType.FORCED_CLOSE, accountId: alice.accountId, instrumentId: PERP, counterpartyId: bob.accountId, lots: 6_000n }], OPTS),
    s("FORCED_CLOSE refused", aliceLongPerpetual(), [{ type: TxType.FORCED_CLOSE, accountId: alice.accountId, instrumentId: PERP, counterpartyId: carol.accountId, lots: 6_000n }], OPTS),
    // alice is flat with open bad debt D and the fund holds D + 5,000,000: 5,000,000 can leave, one unit more cannot
    s("INSURANCE_WITHDRAW honoured", insuranceAboveDebt(), [{ type: TxType.INSURANCE_WITHDRAW, amount: 5_000_000n }], OPTS),
    s("INSURANCE_WITHDRAW refused", insuranceAboveDebt(), [{ type: TxType.INSURANCE_WITHDRAW, amount: 5_000_001n }], OPTS),
    s("DELEVERAGE", aliceLongPerpetual(), [deleverage()], GAPPED, [
      { label: "half of alice's deficit paid (the rest stays open bad debt)", txs: [deleverage({ amount: deficit / 2n })] },
      { label: "one unit more than alice's deficit paid", txs: [deleverage({ amount: deficit + 1n })] },
      { label: "half of the position", txs: [deleverage({ lots: 7_500n })] },
      { label: "carol, who holds no short, as the counterparty", txs: [deleverage({ counterpartyAccountId: 3 })] },
      { label: "bob, short and in profit, deleveraged against alice", txs: [deleverage({ deleveragedAccountId: 2, counterpartyAccountId: 1, amount: 1n })] },
      { label: "alice deleveraged before the gap (her equity covers her)", txs: [deleverage({ amount: 0n })], opts: OPTS },
    ]),
    // at expiry: the settled future closes at its payoff, before SETTLE
    s("DELEVERAGE at expiry", aliceLongFutureLarge(), [deleverage({ instrumentId: FUTURE, amount: expiryDeficit })], EXPIRY_GAP(), [
      { label: "one unit more than alice's deficit paid", txs: [deleverage({ instrumentId: FUTURE, amount: expiryDeficit + 1n })] },
      { label: "carol, who holds no short of the future, as the counterparty", txs: [deleverage({ instrumentId: FUTURE, counterpartyAccountId: 3 })] },
    ]),
    s("LIQUIDATE", aliceLongPerpetual(), [liquidation], DROPPED, [
      {
        label: "self-liquidation: alice's own signed buy order as the liquidator's (refused: she fails initial margin after buying back; see the next scenario)",
        txs: [{ ...liquidation, liquidator: derivOrder(alice, PERP, { orderId: 2n, side: Side.BUY, priceTicks: 280_000n, sizeLots: 1_000n }) }],
      },
      { label: "a liquidation at the band's low edge", txs: [liquidateAlice(1_000n, 266_000n)] },
      { label: "a liquidation below the band", txs: [liquidateAlice(1_000n, 265_999n)] },
      { label: "the whole position liquidated", txs: [liquidateAlice(15_000n, 280_000n)] },
      { label: "the whole position liquidated at the band's low edge (the band, 5%, is as wide as the maintenance margin)", txs: [liquidateAlice(15_000n, 266_000n)] },
      { label: "more than the position liquidated", txs: [liquidateAlice(15_001n, 280_000n)] },
      {
        label: "a healthy account (bob, short and in profit) liquidated",
        txs: [{ ...liquidation, liquidatedAccountId: bob.accountId, liquidator: derivOrder(carol, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 280_000n, sizeLots: 1_000n }) }],
      },
      { label: "alice liquidated at the old price (no drop)", txs: [liquidation], opts: { oracle: oracleUpdate() } },
    ]),
    {
      ...s("LIQUIDATE (an option buyer under water, a funded insurance fund)", underwater, [optionLiquidation(carol, markTicks)], UNDERWATER, [
        { label: "self-liquidation: dave's own signed buy order as the liquidator's, at the band's low edge, no fee (finding 3)", txs: [optionLiquidation(dave, lowEdge)] },
        { label: "carol at the band's low edge", txs: [optionLiquidation(carol, lowEdge)] },
        { label: "half of dave's calls", txs: [optionLiquidation(carol, markTicks, 50n)] },
        { label: "101 of dave's 100 calls", txs: [optionLiquidation(carol, markTicks, 101n)] },
      ]),
      mutate: false,
    },
    s("SETTLE", aliceLongFuture(), [{ type: TxType.SETTLE, accountId: alice.accountId, instrumentId: FUTURE }], AT_EXPIRY, [
      { label: "bob's side settled", txs: [{ type: TxType.SETTLE, accountId: bob.accountId, instrumentId: FUTURE }] },
      { label: "an account without a position settled", txs: [{ type: TxType.SETTLE, accountId: carol.accountId, instrumentId: FUTURE }] },
      { label: "the perpetual settled", txs: [{ type: TxType.SETTLE, accountId: alice.accountId, instrumentId: PERP }] },
      { label: "the future settled before its expiry", txs: [{ type: TxType.SETTLE, accountId: alice.accountId, instrumentId: FUTURE }], opts: OPTS },
    ]),
    s("TRANSFER", aliceLongPerpetual(), [transfer(alice, false, 1_000_000_000n, 1)], OPTS, [
      { label: "collateral out below initial margin", txs: [transfer(alice, false, 10_000_000_000n, 1)] },
      { label: "a used nonce", txs: [transfer(alice, false, 1_000_000_000n, 0)] },
      { label: "collateral in beyond the spot balance", txs: [transfer(alice, true, 1n, 1)] },
      { label: "alice's transfer signed by bob's key", txs: [transfer(alice, false, 1_000_000_000n, 1, bob.key)] },
    ]),
    s("REGISTER_INSTRUMENT", new ExchangeState(TEST_PARAMS), [{ type: TxType.REGISTER_INSTRUMENT, instrumentId: CALL, ...INSTRUMENTS[CALL] }], { ...OPTS, oracle: null }),
    // a reused id (DERIVATIVES.md "Reusing an id"): the future settled and both positions closed, so its id is free
    s("REGISTER_INSTRUMENT over a free id", freedFuture(), [relist(FUTURE, NEXT_FUTURE)], { ...AT_EXPIRY, oracle: null }, [
      { label: "over the perpetual (it never settles)", txs: [relist(PERP, INSTRUMENTS[PERP])] },
      { label: "a call over the settled call's id (settled, never held)", txs: [relist(CALL, { ...INSTRUMENTS[CALL], expiry: NEXT_FUTURE.expiry })] },
      { label: "over the free future's id, with the batch's oracle update", txs: [relist(FUTURE, NEXT_FUTURE)], opts: AT_EXPIRY },
    ]),
  ];
}

huntSuite("dishonest operator: derivatives slots", scenarios);
