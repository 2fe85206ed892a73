/**
 * Dishonest-operator generator, spot slots (issue 11, "Hunting the rest"): for each spot transaction
 * type (REGISTER_KEY, DEPOSIT, REGISTER_MARKET, TRADE, WITHDRAW, CANCEL, OPERATOR_CANCEL, FORCED_WITHDRAW, FEE_WITHDRAW) an honest batch is built, then
 * every value the operator chooses in the slot's circuit input is changed to wrong values and the
 * operator's other choices (other signed orders and requests, other quantities and prices) are tried;
 * test/helpers/dishonest.ts says how each candidate is judged. A test fails naming every soundness
 * hole (type, field, mutation, why); the log has one line per candidate with the constraint that
 * refused it. Sampling: HUNT_PER_FIELD (default 1), HUNT_SEED (default 1), HUNT=full for all of them.
 */
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import type { BatchTx } from "../../../sequencer/protocol/transactions.ts";
import { Side, TxType } from "../../../sequencer/protocol/constants.ts";
import type { Order } from "../../../sequencer/protocol/messages.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { signCancel, signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { huntSuite, type Scenario } from "../../helpers/dishonest.ts";
import { seedFeePool } from "../../helpers/derivatives.ts";
import { order, testTrader } from "../../helpers/traders.ts";

const [alice, bob, carol, dave] = [1, 2, 3, 4].map(testTrader);
const NOW = 1_700_000_000;
const OPTS = { batchNumber: 20, timestamp: NOW, oracle: null };

/** Keys for alice, bob and carol; market 0 (base token 1, 1000 base units and 10 quote units per lot and tick); alice and carol hold quote, bob base and quote. */
function spotState(): ExchangeState {
  const state = new ExchangeState(TEST_PARAMS);
  const setup: BatchTx[] = [
    ...[alice, bob, carol].map((t): BatchTx => ({ type: TxType.REGISTER_KEY, accountId: t.accountId, pubKey: t.pubKey })),
    { type: TxType.REGISTER_MARKET, marketId: 0, baseTokenId: 1, sizeUnit: 1000n, priceUnit: 10n },
    { type: TxType.DEPOSIT, accountId: alice.accountId, tokenId: 0, amount: 10_000_000n },
    { type: TxType.DEPOSIT, accountId: bob.accountId, tokenId: 1, amount: 1_000_000n },
    { type: TxType.DEPOSIT, accountId: bob.accountId, tokenId: 0, amount: 1_000_000n },
    { type: TxType.DEPOSIT, accountId: carol.accountId, tokenId: 0, amount: 10_000_000n },
  ];
  for (let i = 0; i < setup.length; i += TEST_PARAMS.slots) {
    buildBatch(state, setup.slice(i, i + TEST_PARAMS.slots), { batchNumber: i, timestamp: NOW - 100, oracle: null });
  }
  return state;
}

const buy = (t = alice, fields: Partial<Order> = {}) => order(t, { orderId: 1n, side: Side.BUY, priceTicks: 100n, ...fields });
const sell = (t = bob, fields: Partial<Order> = {}) => order(t, { orderId: 1n, side: Side.SELL, priceTicks: 90n, ...fields });
type Trade = Extract<BatchTx, { type: typeof TxType.TRADE }>;
const trade = (fields: Partial<Trade> = {}): Trade => ({
  type: TxType.TRADE, buy: buy(), sell: sell(), lots: 4n, priceTicks: 95n, buyFeePpm: 500, sellFeePpm: 1000, ...fields,
});
/** carol buys 2 lots from bob's order 2 at 93: a second trade, so the slot under test has another slot's values to take. */
const otherTrade = trade({ buy: buy(carol, { orderId: 2n }), sell: sell(bob, { orderId: 2n }), lots: 2n, priceTicks: 93n });
const withdrawal = (t: typeof alice, tokenId: number, amount: bigint, nonce = 0, key = t.key): BatchTx =>
  ({ type: TxType.WITHDRAW, request: signWithdrawal(key, { accountId: t.accountId, tokenId, amount, nonce }) });
const forcedWithdraw = (t: typeof alice, tokenId: number, amount: bigint): BatchTx => ({ type: TxType.FORCED_WITHDRAW, accountId: t.accountId, tokenId, amount });
const cancel = (t: typeof alice, orderId: bigint, key = t.key): BatchTx => ({ type: TxType.CANCEL, request: signCancel(key, { accountId: t.accountId, orderId }) });
const operatorCancel = (t: typeof alice, orderId: bigint): BatchTx => ({ type: TxType.OPERATOR_CANCEL, accountId: t.accountId, orderId });

/** spotState() whose fee pool holds `pool`. */
function withFees(pool: bigint): ExchangeState {
  const state = spotState();
  seedFeePool(state, pool);
  return state;
}

function scenarios(): Scenario[] {
  const s = (name: string, txs: BatchTx[], choices: Scenario["choices"] = []): Scenario =>
    ({ name, section: "spot", slot: 0, state: spotState(), txs, opts: OPTS, choices });
  const slots = BigInt(4 ** TEST_PARAMS.orderLevels);
  return [
    s("REGISTER_KEY", [
      { type: TxType.REGISTER_KEY, accountId: dave.accountId, pubKey: dave.pubKey },
      { type: TxType.DEPOSIT, accountId: dave.accountId, tokenId: 0, amount: 1_000n },
    ]),
    s("DEPOSIT", [
      { type: TxType.DEPOSIT, accountId: alice.accountId, tokenId: 0, amount: 5_000n },
      { type: TxType.DEPOSIT, accountId: bob.accountId, tokenId: 1, amount: 300n },
    ]),
    s("REGISTER_MARKET", [
      { type: TxType.REGISTER_MARKET, marketId: 1, baseTokenId: 2, sizeUnit: 100n, priceUnit: 1n },
      { type: TxType.DEPOSIT, accountId: carol.accountId, tokenId: 2, amount: 7n },
    ]),
    s("TRADE", [trade(), otherTrade], [
      { label: "fill beyond the buy order's size", txs: [trade({ lots: 11n }), otherTrade] },
      { label: "a price above the buyer's limit", txs: [trade({ priceTicks: 101n }), otherTrade] },
      { label: "the buyer's order against the seller's order for another market", txs: [trade({ sell: sell(bob, { marketId: 1 }) }), otherTrade] },
      { label: "an expired sell order", txs: [trade({ sell: sell(bob, { expiry: NOW - 1 }) }), otherTrade] },
      { label: "a fee above the buyer's signed maximum", txs: [trade({ buyFeePpm: 1001 }), otherTrade] },
      { label: "the orders swapped (a sell as the buy order)", txs: [trade({ buy: sell(), sell: buy() }), otherTrade] },
      { label: "a self-trade (bob's buy against bob's sell)", txs: [trade({ buy: buy(bob, { orderId: 5n }) }), otherTrade] },
      { label: "the same sell order filled twice past its size", txs: [trade({ lots: 6n }), trade({ buy: buy(carol, { orderId: 2n }), lots: 6n })] },
      { label: "a sell order whose storage slot a newer order holds", txs: [trade({ sell: sell(bob, { orderId: 1n + slots }), lots: 1n }), trade({ buy: buy(carol, { orderId: 2n }), lots: 1n })] },
      { label: "a trade the buyer cannot pay for", txs: [trade({ buy: buy(alice, { priceTicks: 1n << 39n }), priceTicks: 1n << 39n, lots: 10n }), otherTrade] },
    ]),
    s("WITHDRAW", [withdrawal(alice, 0, 1_000n), withdrawal(bob, 1, 10n)], [
      { label: "one signed withdrawal in both slots (a replayed nonce)", txs: [withdrawal(alice, 0, 1_000n), withdrawal(alice, 0, 1_000n)] },
      { label: "a withdrawal above the balance", txs: [withdrawal(alice, 0, 10_000_001n), withdrawal(bob, 1, 10n)] },
      { label: "alice's withdrawal signed by carol's key", txs: [withdrawal(alice, 0, 1_000n, 0, carol.key), withdrawal(bob, 1, 10n)] },
      { label: "a withdrawal of an account without a key", txs: [withdrawal(dave, 0, 1n), withdrawal(bob, 1, 10n)] },
    ]),
    // alice's is honoured (her balance covers it), bob's refused (one unit above his base balance): the outcome is the circuit's
    s("FORCED_WITHDRAW", [forcedWithdraw(alice, 0, 1_000n), forcedWithdraw(bob, 1, 1_000_001n)]),
    // the fee pool holds 1,000: 600 leave (honoured), then 1,000 more are refused (400 left); the outcome is the circuit's
    { ...s("FEE_WITHDRAW", [{ type: TxType.FEE_WITHDRAW, amount: 600n }, { type: TxType.FEE_WITHDRAW, amount: 1_000n }]), state: withFees(1_000n) },
    s("CANCEL", [cancel(alice, 7n), cancel(bob, 3n)], [
      { label: "a cancel signed by another key", txs: [cancel(alice, 7n, carol.key), cancel(bob, 3n)] },
      { label: "a cancel of an order whose slot a newer order holds", txs: [cancel(bob, 3n + slots), cancel(bob, 3n)] },
    ]),
    // the risk engine's cancel: unsigned (the operator may always decline to fill), only the order-slot rule binds it
    s("OPERATOR_CANCEL", [operatorCancel(alice, 7n), operatorCancel(bob, 3n)], [
      { label: "an operator's cancel of an order whose slot a newer order holds", txs: [operatorCancel(bob, 3n + slots), operatorCancel(bob, 3n)] },
    ]),
  ];
}

huntSuite("dishonest operator: spot slots", scenarios);
