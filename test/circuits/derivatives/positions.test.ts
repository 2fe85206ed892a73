/**
 * Position slots (circuits/DERIVATIVES.md "Positions"; circuits/lib/positions.circom): an account holds its
 * positions in `positionSlots` slots (3 at test size, for 4 instruments), a position opens in the lowest empty
 * slot and its slot empties when it goes flat. The honest cases pass the witness builder and the circuit; each
 * attack is built as a dishonest operator would build it (the TypeScript checks off, or the slot index changed in
 * a consistent witness) and must be refused at PositionWrite's own constraint. The leaf's hash is checked against
 * TypeScript's (positionSlots.ts) at several slot counts, so the chain over groups of five slots is one rule.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { poseidon } from "../../../sequencer/crypto/poseidon.ts";
import { Side, TxType } from "../../../sequencer/protocol/constants.ts";
import type { BatchTx } from "../../../sequencer/protocol/transactions.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import type { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { derivLeaf, emptyLayout, type PositionLayout } from "../../../sequencer/state/positionSlots.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { builderRefuses, loadBatchCircuit, refuses, rule, witnessFailure, type CircuitInput } from "../../helpers/circuitRules.ts";
import { aliceLongPerpetual, apply, dave, derivativesState, derivOrder, EXPIRY, oracleUpdate, registerDave, traders } from "../../helpers/derivatives.ts";
import type { TestTrader } from "../../helpers/traders.ts";
import { compileMain, fe, outputs } from "../fixed/compile.ts";

after(terminateSnarkjsCurve);
const { alice, bob, carol } = traders;
/** Test instruments (derivativesState): 0 perpetual, 1 future, 2 call, 3 put. */
const PRICES = [300_000n, 300_000n, 20_000n, 20_000n];
let nextOrderId = 1n;

/** `buyer` buys `lots` of `instrument` from `seller` (fresh order ids, the instrument's test price). */
function trade(buyer: TestTrader, seller: TestTrader, instrument: number, lots = 10n): BatchTx {
  const priceTicks = PRICES[instrument];
  const orderId = nextOrderId++;
  const buy = derivOrder(buyer, instrument, { orderId, side: Side.BUY, priceTicks, sizeLots: lots });
  const sell = derivOrder(seller, instrument, { orderId, side: Side.SELL, priceTicks, sizeLots: lots });
  return { type: TxType.DERIV_TRADE, buy, sell, lots, priceTicks, buyFeePpm: 0, sellFeePpm: 0 };
}

const layout = (state: ExchangeState, t: TestTrader) => [...state.account(t.accountId).positionSlots];
/** alice (and bob, on the other side) hold the instruments `ids`, opened in that order. */
function holding(...ids: number[]): ExchangeState {
  const state = derivativesState();
  apply(state, ids.map((id) => trade(alice, bob, id)));
  return state;
}
/** The witness with A's (or B's) slot index of the one derivatives slot set to `slot`. */
const target = (side: "a" | "b", slot: number) => (input: CircuitInput) => {
  input[`d_${side}PosTarget`] = [String(slot)];
};

const SLOT_OF_INSTRUMENT = rule("PositionWrite", "touch * (idAt.out - heldId) === 0");
const LOWEST_EMPTY = rule("PositionWrite", "below[k] * empty[k] === 0");
const A_WRITE = rule("DerivSlot", "aWrite.indexSel <== fundingSel.out");
const B_WRITE = rule("DerivSlot", "bWrite.indexSel <== fundingSel.out");
const A_LOOK = rule("DerivSlot", "aLook.fundingIndex <== fundingIndex");
const LOOKUP_ID = rule("PositionLookup", "decode[k].in <== id[k]");

describe("position slots in the batch circuit", { timeout: 900_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });

  describe("honest layouts pass the builder and the circuit", () => {
    it("opens each position in the lowest empty slot, empties a closed position's slot and reuses it", async () => {
      const state = holding(0, 1, 2);
      assert.deepEqual(layout(state, alice), [0, 1, 2]);
      assert.deepEqual(layout(state, bob), [0, 1, 2]);
      assert.equal(await witnessFailure(state, [trade(bob, alice, 1)]), null, "alice sells her future back: flat");
      assert.deepEqual(layout(state, alice), [0, null, 2]);
      assert.deepEqual(layout(state, bob), [0, null, 2]);
      assert.equal(await witnessFailure(state, [trade(alice, carol, 3)]), null, "alice buys the put: slot 1 again");
      assert.deepEqual(layout(state, alice), [0, 3, 2]);
      assert.deepEqual(layout(state, carol), [3, null, null]);
      assert.equal(state.account(alice.accountId).deriv.positions[3].size, 10n);
    });

    it("a settlement empties the settled position's slot", async () => {
      const state = holding(1, 2);
      const atExpiry = { oracle: oracleUpdate({ time: EXPIRY + 5 }), timestamp: EXPIRY + 10 };
      assert.equal(await witnessFailure(state, [{ type: TxType.SETTLE, accountId: alice.accountId, instrumentId: 1 }], atExpiry), null);
      assert.deepEqual(layout(state, alice), [null, 2, null]);
      assert.equal(await witnessFailure(state, [trade(alice, bob, 0)], atExpiry), null, "the perpetual opens in the emptied slot");
      assert.deepEqual(layout(state, alice), [0, 2, null]);
    });

    it("a trade in a held instrument stays in its slot with every slot taken", async () => {
      const state = holding(0, 1, 2);
      assert.equal(await witnessFailure(state, [trade(alice, bob, 2, 5n)]), null);
      assert.deepEqual(layout(state, alice), [0, 1, 2]);
      assert.equal(state.account(alice.accountId).deriv.positions[2].size, 15n);
    });
  });

  describe("a fourth position is refused (TOO_MANY_POSITIONS)", () => {
    it("refuses the buyer's fourth position at PositionWrite (A's side)", async () => {
      const state = holding(0, 1, 2);
      builderRefuses(state, [trade(alice, carol, 3)], "TOO_MANY_POSITIONS");
      await refuses(state, [trade(alice, carol, 3)], [SLOT_OF_INSTRUMENT, A_WRITE]);
    });

    it("refuses the seller's fourth position at PositionWrite (B's side)", async () => {
      const state = holding(0, 1, 2);
      builderRefuses(state, [trade(carol, bob, 3)], "TOO_MANY_POSITIONS");
      await refuses(state, [trade(carol, bob, 3)], [SLOT_OF_INSTRUMENT, B_WRITE]);
    });

    it("refuses a liquidator's fourth position at PositionWrite (B's side of a LIQUIDATE)", async () => {
      // alice long 15,000 perpetual lots is below maintenance margin at 2,800; carol holds the future and both options
      const state = aliceLongPerpetual();
      registerDave(state, 50_000_000_000n);
      apply(state, [1, 2, 3].map((id) => trade(carol, dave, id)));
      const liquidator = derivOrder(carol, 0, { orderId: nextOrderId++, side: Side.BUY, priceTicks: 280_000n, sizeLots: 1_000n });
      const liquidation: BatchTx = { type: TxType.LIQUIDATE, liquidatedAccountId: alice.accountId, liquidator, lots: 1_000n, priceTicks: 280_000n, liquidatorFeePpm: 0 };
      const dropped = { oracle: oracleUpdate({ prices: [280_000_000_000n] }) };
      builderRefuses(state, [liquidation], "TOO_MANY_POSITIONS", dropped);
      await refuses(state, [liquidation], [SLOT_OF_INSTRUMENT, B_WRITE], dropped);
    });
  });

  describe("a dishonest operator's slot witness is refused at PositionWrite and PositionLookup", () => {
    it("refuses opening a position above the lowest empty slot", async () => {
      await refuses(holding(0), [trade(alice, carol, 2)], [LOWEST_EMPTY, A_WRITE], {}, target("a", 2));
    });

    it("refuses opening a position over another instrument's slot", async () => {
      await refuses(holding(0), [trade(alice, carol, 2)], [SLOT_OF_INSTRUMENT, A_WRITE], {}, target("a", 0));
    });

    it("refuses a slot naming an instrument id beyond the table (id + 1 = 5 of 4 instruments) at PositionLookup", async () => {
      // alice holds the perpetual in slot 0: its id read as 5 instead of 1 (the leaf would not match either: the lookup refuses first)
      const beyond = (input: CircuitInput) => {
        (input.d_aPosId as string[][])[0][0] = "5";
      };
      await refuses(holding(0), [trade(alice, carol, 0)], [rule("OneHot", "sum === 1"), LOOKUP_ID, A_LOOK], {}, beyond);
    });

    it("refuses an empty slot carrying a size or a snapshot at PositionLookup", async () => {
      const set = (field: "PosSize" | "PosSnap") => (input: CircuitInput) => {
        (input[`d_a${field}`] as string[][])[0][2] = "7"; // alice's slot 2 is empty
      };
      await refuses(holding(0), [trade(alice, carol, 0)], [rule("PositionLookup", "empty[k] * posSize[k] === 0"), A_LOOK], {}, set("PosSize"));
      await refuses(holding(0), [trade(alice, carol, 0)], [rule("PositionLookup", "empty[k] * posSnap[k] === 0"), A_LOOK], {}, set("PosSnap"));
    });

    it("refuses a second slot for a held instrument", async () => {
      await refuses(holding(0), [trade(alice, carol, 0)], [SLOT_OF_INSTRUMENT, A_WRITE], {}, target("a", 1));
      await refuses(holding(0), [trade(carol, alice, 0, 5n)], [SLOT_OF_INSTRUMENT, B_WRITE], {}, target("b", 1));
    });
  });
});

describe("the derivatives leaf (DerivLeaf) is TypeScript's derivLeaf", { timeout: 600_000 }, () => {
  for (const k of [1, 5, 7, 11]) {
    it(`hashes ${k} slots as positionSlots.ts does`, async () => {
      const { wasm } = await compileMain(`derivLeaf${k}`, `component main = DerivLeaf(${k});`, "circuits/lib/positions.circom");
      // slots alternately held and empty, with negative sizes and snapshots
      const held: PositionLayout = Array.from({ length: k }, (_, s) => (s % 2 === 0 ? (s * 3) % 16 : null));
      const positions = Array.from({ length: 16 }, (_, id) => ({ size: BigInt(id * 7 - 40), snapshot: BigInt(5 - id * 1_000) }));
      const d = { collateral: -123_456_789n, positions };
      const input = {
        c: fe(d.collateral),
        id: held.map((id) => (id === null ? 0n : BigInt(id + 1))),
        size: held.map((id) => (id === null ? 0n : fe(positions[id].size))),
        snap: held.map((id) => (id === null ? 0n : fe(positions[id].snapshot))),
      };
      const [out] = await outputs(wasm, input);
      assert.equal(fe(out), derivLeaf(d, held));
    });
  }

  it("an account without positions hashes its collateral and empty slots", () => {
    const d = { collateral: 5n, positions: [] };
    assert.equal(derivLeaf(d, emptyLayout(3)), poseidon([5n, ...Array(9).fill(0n)]));
    assert.equal(derivLeaf(d, emptyLayout(0)), poseidon([5n]));
  });
});
