/**
 * Stop and take-profit orders in the batch circuit (circuits/DERIVATIVES.md, "Stop and take-profit orders";
 * RULES.md TG1-TG3): a filled order's signed trigger is one intake accepts, and an order carrying one fills for
 * the first time only at a mark that has crossed it (TriggerFill); a spot TRADE fills no order with a trigger.
 * The honest fills pass the witness builder and the circuit; each attack is built the way a dishonest operator
 * would build it (the TypeScript checks off, public data hashed consistently) and is refused at the rule's own
 * constraint, after the builder (every rule on) refused it first with its code and changed nothing.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import type { BatchTx } from "../../../sequencer/protocol/transactions.ts";
import { Side, TriggerType, TxType } from "../../../sequencer/protocol/constants.ts";
import type { Order } from "../../../sequencer/protocol/messages.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { builderRefuses, loadBatchCircuit, refuses, rule, witnessFailure } from "../../helpers/circuitRules.ts";
import { FIELD_MODULUS } from "../../../sequencer/crypto/field.ts";
import { ORDER_FIELD } from "../../../sequencer/protocol/layouts.ts";
import { derivativesState, derivOrder, NOW, oracleUpdate, spotState, spotTrade, traders } from "../../helpers/derivatives.ts";
import type { TestTrader } from "../../helpers/traders.ts";

after(terminateSnarkjsCurve);
const { alice, bob, carol } = traders;
const PERP = 0;
/** The default update's mark of the perpetual: 3,000 per underlying, 300,000 ticks of 100 quote units per lot. */
const MARK_TICKS = 300_000n;
const STOP = TriggerType.STOP;
const TRIG_TYPE = ORDER_FIELD.triggerType;
const TRIG_PRICE = ORDER_FIELD.triggerPriceTicks;
const TAKE_PROFIT = TriggerType.TAKE_PROFIT;

type Trigger = Pick<Order, "triggerType" | "triggerPriceTicks">;
const trigger = (triggerType: TriggerType, triggerPriceTicks: bigint): Trigger => ({ triggerType, triggerPriceTicks });

/** A DERIV_TRADE of the perpetual at 3,000: `buyer` buys `lots` from `seller`, each order with its trigger (if any) and size. */
function trade(buyer: TestTrader, seller: TestTrader, lots: bigint, t: { buy?: Trigger; sell?: Trigger; size?: bigint; orderId?: bigint } = {}): BatchTx {
  const orderId = t.orderId ?? 2n;
  const sizeLots = t.size ?? lots;
  const buy = derivOrder(buyer, PERP, { orderId, side: Side.BUY, priceTicks: MARK_TICKS, sizeLots, ...t.buy });
  const sell = derivOrder(seller, PERP, { orderId, side: Side.SELL, priceTicks: MARK_TICKS, sizeLots, ...t.sell });
  return { type: TxType.DERIV_TRADE, buy, sell, lots, priceTicks: MARK_TICKS, buyFeePpm: 500, sellFeePpm: 100 };
}

/** An update at `ticks` per underlying (the mark per lot is ticks * 100). */
const at = (ticks: bigint) => ({ oracle: oracleUpdate({ prices: [ticks * 1_000_000n] }) });


const CROSSED_A = [rule("TriggerFill", "crossed.in <== enabled * beyond"), rule("DerivSlot", "triggerA.mark <== markSel.out")];
const CROSSED_B = [rule("TriggerFill", "crossed.in <== enabled * beyond"), rule("DerivSlot", "triggerB.mark <== markSel.out")];
const TYPE_B = [rule("TriggerFill", "fillType01 * (triggerType - 2) === 0"), rule("DerivSlot", "triggerB.mark <== markSel.out")];
const PRICE_A = [rule("TriggerFill", "fill * (none.out - noPrice.out) === 0"), rule("DerivSlot", "triggerA.mark <== markSel.out")];

describe("stop and take-profit orders in the batch circuit", { timeout: 900_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });

  describe("honest fills pass the builder and the circuit", () => {
    it("a stop buy at exactly the mark and a take-profit sell below it: both first fills at a crossing mark", async () => {
      const tx = trade(alice, bob, 100n, { buy: trigger(STOP, MARK_TICKS), sell: trigger(TAKE_PROFIT, MARK_TICKS - 1_000n) });
      assert.equal(await witnessFailure(derivativesState(), [tx]), null);
    });

    it("a take-profit buy above the mark and a stop sell above it (both fire on a falling mark)", async () => {
      const tx = trade(alice, bob, 100n, { buy: trigger(TAKE_PROFIT, MARK_TICKS + 1n), sell: trigger(STOP, (1n << 40n) - 1n) });
      assert.equal(await witnessFailure(derivativesState(), [tx]), null);
    });

    it("a partly filled stop buy fills again after the mark falls back below its trigger: only the first fill is judged", async () => {
      const state = derivativesState();
      const stop = trigger(STOP, MARK_TICKS);
      buildBatch(state, [trade(alice, bob, 100n, { buy: stop, size: 300n })], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() });
      // at 2,990 the stop's trigger (3,000) is no longer crossed; the rest of the same order (id 2) fills from carol
      const rest = trade(alice, carol, 200n, { buy: stop, size: 300n });
      assert.equal(await witnessFailure(state, [rest], { batchNumber: 10, ...at(299_000n) }), null);
      assert.equal(state.account(alice.accountId).deriv.positions[PERP].size, 300n);
    });
  });

  describe("a dishonest operator's fills are refused at TriggerFill", () => {
    // [test name, the fill, builder code, the refusing constraints, batch options]
    const attacks: [string, () => BatchTx, string, string[], object?][] = [
      ["refuses a stop buy filled before the mark reaches its trigger (A's order)", () => trade(alice, bob, 100n, { buy: trigger(STOP, MARK_TICKS + 1n) }), "TRIGGER_NOT_CROSSED", CROSSED_A],
      ["refuses a take-profit buy filled above its trigger (A's order)", () => trade(alice, bob, 100n, { buy: trigger(TAKE_PROFIT, MARK_TICKS - 1n) }), "TRIGGER_NOT_CROSSED", CROSSED_A],
      ["refuses a stop sell filled before the mark falls to its trigger (B's order)", () => trade(alice, bob, 100n, { sell: trigger(STOP, MARK_TICKS - 1n) }), "TRIGGER_NOT_CROSSED", CROSSED_B],
      ["refuses a take-profit sell filled below its trigger (B's order)", () => trade(alice, bob, 100n, { sell: trigger(TAKE_PROFIT, MARK_TICKS + 1n) }), "TRIGGER_NOT_CROSSED", CROSSED_B],
      ["refuses a stop buy's first fill after the mark fell back below its trigger", () => trade(alice, bob, 100n, { buy: trigger(STOP, MARK_TICKS) }), "TRIGGER_NOT_CROSSED", CROSSED_A, at(299_999n)],
      ["refuses an order whose trigger type is none of the three (3)", () => trade(alice, bob, 100n, { sell: trigger(3 as TriggerType, MARK_TICKS) }), "BAD_TRIGGER", TYPE_B],
      ["refuses an order with a trigger price and no trigger type", () => trade(alice, bob, 100n, { buy: trigger(TriggerType.NONE, MARK_TICKS) }), "BAD_TRIGGER", PRICE_A],
      ["refuses a stop order with no trigger price", () => trade(alice, bob, 100n, { buy: trigger(STOP, 0n) }), "BAD_TRIGGER", PRICE_A],
    ];
    for (const [name, tx, code, expected, opts] of attacks) {
      it(name, async () => {
        builderRefuses(derivativesState(), [tx()], code, opts);
        await refuses(derivativesState(), [tx()], expected, opts);
      });
    }

    it("refuses a liquidation filled by a liquidator's stop order whose trigger the mark has not crossed", async () => {
      // alice long 15,000 at 3,000; at 2,800 she is below maintenance; carol's stop buy triggers at 2,900 (not crossed)
      const state = () => {
        const s = derivativesState();
        buildBatch(s, [trade(alice, bob, 15_000n, { orderId: 1n })], { batchNumber: 8, timestamp: NOW, oracle: oracleUpdate() });
        return s;
      };
      const liquidator = derivOrder(carol, PERP, { orderId: 3n, side: Side.BUY, priceTicks: 280_000n, sizeLots: 1_000n, ...trigger(STOP, 290_000n) });
      const tx: BatchTx = { type: TxType.LIQUIDATE, liquidatedAccountId: alice.accountId, liquidator, lots: 1_000n, priceTicks: 280_000n, liquidatorFeePpm: 0 };
      builderRefuses(state(), [tx], "TRIGGER_NOT_CROSSED", at(280_000n));
      await refuses(state(), [tx], CROSSED_B, at(280_000n));
    });
  });

  describe("spot", () => {
    it("refuses a spot TRADE of an order with a trigger (builder TRIGGER_SPOT, circuit Trade)", async () => {
      const tx = spotTrade(trigger(STOP, 95n));
      builderRefuses(spotState(), [tx], "TRIGGER_SPOT", { oracle: null });
      await refuses(spotState(), [tx], rule("Trade", "isTrade * (orderA[O_TRIGTYPE()] + orderA[O_TRIGPRICE()]"), { oracle: null });
    });
  });

  // The signed word packs `triggerType + 4 * triggerPriceTicks`: another (type, price) pair of field elements with
  // the same sum keeps the message and the signature. Each field's own range check refuses such a pair (OrderWords),
  // before TriggerFill, OrderTime or Trade could read it apart (review of 2026-12-05).
  describe("attack: a trigger presented as another (type, price) pair with the same packed value", () => {
    const P = FIELD_MODULUS;
    const neg = (x: bigint) => (P - x) % P;
    const QUARTER = (P + 1n) * 3n / 4n; // 4 * QUARTER = 1 (mod p)
    const AT_OWN_RANGE = [rule("OrderWords", "trigType.in <=="), rule("OrderWords", "trigPrice.in <==")];
    const refusedAtRange = (failure: string[] | null) => {
      assert.notEqual(failure, null, "the circuit accepted the aliased trigger");
      assert.ok(AT_OWN_RANGE.some((at) => failure!.includes(at)), `refused at ${failure!.join(" < ")}, not at OrderWords' trigger range checks`);
    };
    const DISHONEST = { enforceRules: false, verifySignatures: false };
    assert.equal((4n * QUARTER) % P, 1n);

    it("refuses a stop sell the mark has not reached presented as a take-profit a quarter tick lower (the stop-loss filled early)", async () => {
      // bob's stop sell at 250,000 ticks may first fill at a mark at or below it; the mark is 300,000
      const tx = trade(alice, bob, 100n, { sell: trigger(STOP, 250_000n) });
      builderRefuses(derivativesState(), [tx], "TRIGGER_NOT_CROSSED");
      const failure = await witnessFailure(derivativesState(), [tx], DISHONEST, (input) => {
        const slot = (input.d_txType as string[]).findIndex((t) => t === String(TxType.DERIV_TRADE));
        const o = (input.d_orderB as string[][])[slot]!;
        o[TRIG_TYPE] = String(TAKE_PROFIT); // 2 + 4 * (250,000 - 1/4) = 1 + 4 * 250,000: the signed value
        o[TRIG_PRICE] = String((250_000n + neg(QUARTER)) % P);
      });
      refusedAtRange(failure);
    });

    it("refuses a spot trade whose orders carry no signed trigger presented as (1, -1/4) and (-1, 1/4): the never-resting window skipped", async () => {
      const tx = spotTrade({});
      const failure = await witnessFailure(spotState(), [tx], { oracle: null, ...DISHONEST }, (input) => {
        const slot = (input.txType as string[]).findIndex((t) => t === String(TxType.TRADE));
        const a = (input.orderA as string[][])[slot]!;
        const b = (input.orderB as string[][])[slot]!;
        [a[TRIG_TYPE], a[TRIG_PRICE]] = ["1", String(neg(QUARTER))];
        [b[TRIG_TYPE], b[TRIG_PRICE]] = [String(neg(1n)), String(QUARTER)];
      });
      refusedAtRange(failure);
    });
  });
});
