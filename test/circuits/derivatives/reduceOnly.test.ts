/**
 * Reduce-only orders (circuits/DERIVATIVES.md, "Reduce-only orders"): a fill of an order whose signed
 * reduceOnly bit is set never increases its account's position nor flips it. The honest cases pass the
 * witness builder and the circuit; each attack is built the way a dishonest operator would build it (the
 * TypeScript checks off, public data hashed consistently) and must be refused at the rule's own
 * constraint (ReduceOnly, test/helpers/circuitRules.ts). The last part checks that TypeScript's packing
 * (messages.ts ORDER_WORD_FIELDS) and the circuit's (OrderWords, the generated PackOrderWords) put the
 * flag at the same bit: a signature over the TypeScript words verifies in the circuit only with the same
 * flag.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { BatchTx } from "../../../sequencer/protocol/transactions.ts";
import { Side, TriggerType, TxType } from "../../../sequencer/protocol/constants.ts";
import { ORDER_FIELD } from "../../../sequencer/protocol/layouts.ts";
import { orderFromWords, orderWords, type Order } from "../../../sequencer/protocol/messages.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { builderRefuses, loadBatchCircuit, refuses, rule, witnessFailure, type CircuitInput } from "../../helpers/circuitRules.ts";
import { aliceLongPerpetual, derivOrder, oracleUpdate, spotState, spotTrade, traders } from "../../helpers/derivatives.ts";
import type { TestTrader } from "../../helpers/traders.ts";

after(terminateSnarkjsCurve);
const { alice, bob, carol } = traders;
const PERP = 0;
const PRICE = 300_000n; // 3,000: the price alice bought her 15,000 lots at (aliceLongPerpetual: alice long, bob short)

/** A DERIV_TRADE of the perpetual at 3,000: `buyer` buys `lots` from `seller`; `reduce` says which order is reduce-only. */
function trade(buyer: TestTrader, seller: TestTrader, lots: bigint, reduce: { buy?: boolean; sell?: boolean }, orderId = 2n): BatchTx {
  const buy = derivOrder(buyer, PERP, { orderId, side: Side.BUY, priceTicks: PRICE, sizeLots: lots, ...(reduce.buy ? { reduceOnly: true } : {}) });
  const sell = derivOrder(seller, PERP, { orderId, side: Side.SELL, priceTicks: PRICE, sizeLots: lots, ...(reduce.sell ? { reduceOnly: true } : {}) });
  return { type: TxType.DERIV_TRADE, buy, sell, lots, priceTicks: PRICE, buyFeePpm: 500, sellFeePpm: 100 };
}

/** At 2,800 alice (long 15,000) is below maintenance margin; `liquidator` buys `lots` of her long with a reduce-only order. */
const DROPPED = { oracle: oracleUpdate({ prices: [280_000_000_000n] }) };
function liquidation(liquidator: TestTrader, lots: bigint): BatchTx {
  const o = derivOrder(liquidator, PERP, { orderId: 3n, side: Side.BUY, priceTicks: 280_000n, sizeLots: lots, reduceOnly: true });
  return { type: TxType.LIQUIDATE, liquidatedAccountId: alice.accountId, liquidator: o, lots, priceTicks: 280_000n, liquidatorFeePpm: 0 };
}

const size = (state: ExchangeState, t: TestTrader) => state.account(t.accountId).deriv.positions[PERP].size;


const REDUCE_A = [rule("ReduceOnly", "enabled * (1 - nonNeg - buyTerm) === 0"), rule("DerivSlot", "reduceA.nonNeg <== aAfterNonNeg.out")];
const REDUCE_B = [rule("ReduceOnly", "enabled * (1 - nonNeg - buyTerm) === 0"), rule("DerivSlot", "reduceB.nonNeg <== bAfterNonNeg.out")];

describe("reduce-only orders in the batch circuit", { timeout: 900_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });

  describe("honest fills pass the builder and the circuit", () => {
    it("a reduce-only buy of a short: part of it, then exactly the rest (flat)", async () => {
      const state = aliceLongPerpetual();
      assert.equal(await witnessFailure(state, [trade(bob, carol, 5_000n, { buy: true })]), null);
      assert.equal(size(state, bob), -10_000n);
      assert.equal(await witnessFailure(state, [trade(bob, carol, 10_000n, { buy: true }, 4n)]), null);
      assert.equal(size(state, bob), 0n);
    });

    it("a reduce-only sell of a long, and both sides reduce-only at once", async () => {
      const state = aliceLongPerpetual();
      assert.equal(await witnessFailure(state, [trade(bob, alice, 1_000n, { buy: true, sell: true })]), null);
      assert.deepEqual([size(state, alice), size(state, bob)], [14_000n, -14_000n]);
    });

    it("a liquidator's reduce-only order that reduces its own short", async () => {
      const state = aliceLongPerpetual();
      assert.equal(await witnessFailure(state, [liquidation(bob, 1_000n)], DROPPED), null);
      assert.deepEqual([size(state, alice), size(state, bob)], [14_000n, -14_000n]);
    });
  });

  describe("a dishonest operator's fills are refused at ReduceOnly", () => {
    // [test name, the fill, the refusing side's constraints, batch options]; the builder refuses each with REDUCE_ONLY_INCREASES
    const attacks: [string, () => BatchTx, string[], object?][] = [
      ["refuses a reduce-only buy that increases a long (A's side)", () => trade(alice, carol, 1_000n, { buy: true }), REDUCE_A],
      ["refuses a reduce-only buy that flips a short to a long (A's side)", () => trade(bob, carol, 16_000n, { buy: true }), REDUCE_A],
      ["refuses a reduce-only buy that opens a position from flat (A's side)", () => trade(carol, bob, 1_000n, { buy: true }), REDUCE_A],
      ["refuses a reduce-only sell that increases a short (B's side)", () => trade(carol, bob, 1_000n, { sell: true }), REDUCE_B],
      ["refuses a reduce-only sell that flips a long to a short (B's side)", () => trade(carol, alice, 16_000n, { sell: true }), REDUCE_B],
      ["refuses a liquidation filled by a reduce-only order that opens the liquidator's position", () => liquidation(carol, 1_000n), REDUCE_B, DROPPED],
    ];
    for (const [name, tx, expected, opts] of attacks) {
      it(name, async () => {
        builderRefuses(aliceLongPerpetual(), [tx()], "REDUCE_ONLY_INCREASES", opts);
        await refuses(aliceLongPerpetual(), [tx()], expected, opts);
      });
    }
  });

  describe("the flag's bit: TypeScript packing and the circuit agree", () => {
    const plain: Order = { accountId: 2, orderId: 7n, marketId: 0x8000, side: Side.BUY, type: 0, timeInForce: 0, priceTicks: 1n, sizeLots: 1n, maxFeePpm: 0, expiry: 1 };

    it("packs reduceOnly as bit 92 of word 0, every other field where it was; absent and false are 0", () => {
      const [w0, w1] = orderWords(plain);
      assert.deepEqual(orderWords({ ...plain, reduceOnly: true }), [w0 + (1n << 92n), w1]);
      assert.deepEqual(orderWords({ ...plain, reduceOnly: false }), [w0, w1]);
      assert.deepEqual(orderFromWords(w0 + (1n << 92n), w1), { ...plain, reduceOnly: true });
      assert.deepEqual(orderFromWords(w0, w1), plain);
      assert.throws(() => orderFromWords(w0 + (1n << 135n), w1), /word 0 has bits set above bit 134/);
    });

    it("verifies a reduce-only order's TypeScript signature in the circuit, and refuses it with the bit cleared or another order with the bit set", async () => {
      const honest = trade(bob, carol, 1_000n, { buy: true });
      assert.equal(await witnessFailure(aliceLongPerpetual(), [honest]), null, "the circuit's words are the signed ones");
      const setBit = (value: string) => (input: CircuitInput) => {
        (input.d_orderA as string[][])[0]![ORDER_FIELD.reduceOnly] = value;
      };
      // A's signature does not verify over the words the circuit packs (the EdDSA equation, for order A's message)
      const signature = [rule("EdDSAPoseidonVerifier", "eqCheckX.in[1] <== addRight.xout"), rule("DerivSlot", "sigCheckA.msg <== msgA.out")];
      // the same signed order presented without its flag: the signature is over the flagged words
      await refuses(aliceLongPerpetual(), [honest], signature, {}, setBit("0"));
      // an order signed without the flag presented as reduce-only
      await refuses(aliceLongPerpetual(), [trade(bob, carol, 1_000n, {})], signature, {}, setBit("1"));
      // the bit is a bit
      await refuses(aliceLongPerpetual(), [trade(bob, carol, 1_000n, {})], rule("OrderWords", "o[O_REDUCE()] * (o[O_REDUCE()] - 1) === 0"), {}, setBit("2"));
    });
  });

  describe("a stop order's trigger: signed in word 0, packed alike", () => {
    it("verifies the signature of an order with a trigger (a take-profit buy of a short, reduce-only, at the widest trigger price) in the circuit", async () => {
      const state = aliceLongPerpetual();
      // (a take-profit buy fires at a mark at or below its trigger: the mark, 3,000, has crossed it; TriggerFill)
      const takeProfit = { reduceOnly: true, triggerType: TriggerType.TAKE_PROFIT, triggerPriceTicks: (1n << 40n) - 1n };
      const buy = derivOrder(bob, PERP, { orderId: 2n, side: Side.BUY, priceTicks: PRICE, sizeLots: 1_000n, ...takeProfit });
      assert.equal(orderWords(buy)[0] >> 93n, 2n + (((1n << 40n) - 1n) << 2n), "type at bit 93, price at bit 95");
      const sell = derivOrder(carol, PERP, { orderId: 2n, side: Side.SELL, priceTicks: PRICE, sizeLots: 1_000n });
      assert.equal(await witnessFailure(state, [{ type: TxType.DERIV_TRADE, buy, sell, lots: 1_000n, priceTicks: PRICE, buyFeePpm: 500, sellFeePpm: 100 }]), null);
    });
  });

  describe("spot", () => {
    it("refuses a reduce-only order in a spot TRADE (builder and circuit)", async () => {
      const tx = spotTrade({ reduceOnly: true });
      builderRefuses(spotState(), [tx], "REDUCE_ONLY_SPOT", { oracle: null });
      await refuses(spotState(), [tx], rule("Trade", "isTrade * (orderA[O_REDUCE()] + orderB[O_REDUCE()]) === 0"), { oracle: null });
    });
  });
});
