/** The proven state's snapshot rebuilds the same trees (same root, balances, order slots, markets); a corrupt one is refused. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { decodeJson, encodeJson } from "../../../sequencer/persistence/codec.ts";
import { restoreExchangeState, snapshotExchangeState, snapshotFault, type ExchangeStateSnapshot } from "../../../sequencer/persistence/stateSnapshot.ts";
import { FIELD_MODULUS } from "../../../sequencer/crypto/field.ts";
import { poseidon, poseidonChain } from "../../../sequencer/crypto/poseidon.ts";
import { instrumentLeaf } from "../../../sequencer/state/instrumentTable.ts";
import { Side, TxType } from "../../../sequencer/protocol/constants.ts";
import { DEVNET_PARAMS, TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { alice, bob, offlineSequencer } from "../../helpers/sequencer.ts";
import { order } from "../../helpers/traders.ts";
import { derivativesState, derivOrder, NOW, oracleUpdate, traders as derivTraders } from "../../helpers/derivatives.ts";

function tradedState(): ExchangeState {
  const s = offlineSequencer();
  s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n }));
  s.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, sizeLots: 4n }));
  const txs = s.peekPending();
  for (let i = 0; i < txs.length; i += TEST_PARAMS.slots) buildBatch(s.state, txs.slice(i, i + TEST_PARAMS.slots), { batchNumber: i, timestamp: 1 });
  return s.state;
}

/** derivativesState() after one perpetual trade between alice and bob with a funding tick (positions in slots). */
function derivedState(): ExchangeState {
  const state = derivativesState();
  const buy = derivOrder(derivTraders.alice, 0, { orderId: 1n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 10n });
  const sell = derivOrder(derivTraders.bob, 0, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 10n });
  buildBatch(state, [{ type: TxType.DERIV_TRADE, buy, sell, lots: 10n, priceTicks: 300_000n, buyFeePpm: 0, sellFeePpm: 0 }], {
    batchNumber: 50, timestamp: NOW, oracle: oracleUpdate({ fundingEpoch: 1, rates: [200n, 0n, 0n, 0n] }),
  });
  return state;
}

describe("exchange state snapshot", () => {
  it("restores the same root, keys, balances, order slots, markets and fee pool (through the log codec)", () => {
    const state = tradedState();
    const restored = restoreExchangeState(TEST_PARAMS, decodeJson(encodeJson(snapshotExchangeState(state))));
    assert.equal(restored.root, state.root);
    assert.ok(restored.feePool > 0n);
    assert.equal(restored.feePool, state.feePool);
    assert.deepEqual(restored.account(1).pubKey, alice.pubKey);
    assert.equal(restored.balance(2, 0), state.balance(2, 0));
    assert.deepEqual(restored.orderSlot(1, 1n), state.orderSlot(1, 1n));
    assert.deepEqual(restored.market(0), state.market(0));
    assert.deepEqual(snapshotExchangeState(restored), snapshotExchangeState(state));
  });

  it("restores derivatives state: collateral, positions, funding snapshots, instruments, insurance fund, oracle time", () => {
    const state = derivedState();
    const restored = restoreExchangeState(TEST_PARAMS, decodeJson(encodeJson(snapshotExchangeState(state))));
    assert.equal(restored.root, state.root);
    assert.deepEqual(restored.account(1).deriv, state.account(1).deriv);
    assert.deepEqual(restored.instruments, state.instruments);
    assert.deepEqual(restored.globals, state.globals);
  });

  it("snapshotFault passes the snapshots of states batches wrote (spot and derivatives) and names what a forgery changed", () => {
    const spot = snapshotExchangeState(tradedState());
    const deriv = decodeJson<ExchangeStateSnapshot>(encodeJson(snapshotExchangeState(derivedState())));
    assert.equal(snapshotFault(TEST_PARAMS, spot), null);
    assert.equal(snapshotFault(TEST_PARAMS, deriv), null);
    assert.ok(deriv.accounts.some((a) => a.positionSlots.some((k) => k !== null)), "the derivatives state holds positions in slots");
    const edits: [string, (s: ExchangeStateSnapshot) => void, RegExp][] = [
      ["a collateral one field modulus lower", (s) => (s.accounts[1].deriv.collateral -= FIELD_MODULUS), /account \d+: derivatives collateral/],
      ["a held position emptied, its slot kept", (s) => { const a = s.accounts.find((x) => x.positionSlots.some((k) => k !== null))!; a.deriv.positions[a.positionSlots.find((k) => k !== null)!].size = 0n; }, /non-zero positions are not the instruments its slots name/],
      ["an instrument in two slots", (s) => { const a = s.accounts.find((x) => x.positionSlots.some((k) => k !== null))!; a.positionSlots[a.positionSlots.indexOf(null)] = a.positionSlots.find((k) => k !== null)!; }, /an instrument in two slots/],
      ["a key coordinate past the field", (s) => (s.accounts[1].pubKey = [s.accounts[1].pubKey[0] + FIELD_MODULUS, s.accounts[1].pubKey[1]]), /key coordinates must be field elements/],
      ["an account listed twice", (s) => s.accounts.push(s.accounts[1]), /listed twice/],
      ["a nonce as text", (s) => ((s.accounts[1] as { nonce: unknown }).nonce = "1"), /nonce/],
      ["an instrument's strike as a float", (s) => ((s.instruments[0] as { strike: unknown }).strike = 0.5), /instrument 0: strike/],
      ["one instrument too few", (s) => s.instruments.pop(), /instruments: 4 expected/],
    ];
    for (const [what, edit, message] of edits) {
      const s = structuredClone(deriv);
      edit(s);
      assert.match(snapshotFault(TEST_PARAMS, s) ?? "(none)", message, what);
    }
  });

  it("refuses a snapshot whose leaves do not give its recorded root", () => {
    const snap: ExchangeStateSnapshot = snapshotExchangeState(tradedState());
    snap.accounts.find((a) => a.balances.length > 0)!.balances[0][1] += 1n;
    assert.throws(() => restoreExchangeState(TEST_PARAMS, snap), /rebuilt root/);
  });

  it("refuses, saying why, a snapshot written before the pooled quote joined the state root", () => {
    const snap = decodeJson(encodeJson(snapshotExchangeState(derivativesState()))) as ExchangeStateSnapshot;
    assert.ok(snap.globals.pooledQuote > 0n, "the collateral the three traders moved in");
    const { pooledQuote: _, ...older } = snap.globals;
    assert.throws(() => restoreExchangeState(TEST_PARAMS, { ...snap, globals: older as ExchangeStateSnapshot["globals"] }), /before the pooled quote joined the state root.*deploy afresh/);
  });

  it("refuses, saying why, a snapshot written before the instrument table's commitment became a tree", () => {
    // a table of 4 is one Poseidon of its leaves under both commitments; the devnet's 48 is not
    const state = new ExchangeState(DEVNET_PARAMS);
    derivedState().instruments.forEach((inst, id) => state.setInstrument(id * 15, inst)); // ids 0, 15, 30, 45
    const snap = decodeJson(encodeJson(snapshotExchangeState(state))) as ExchangeStateSnapshot;
    assert.ok(state.instruments.some((i) => i.holders > 0), "instruments registered and held");
    // the root as it was hashed until 2026-12-08: the table a Poseidon chain of its leaves
    const g = state.globals;
    const chained = poseidon([poseidonChain(state.instruments.map(instrumentLeaf)), g.insuranceFund, BigInt(g.oracleTime), BigInt(g.fundingEpoch), g.badDebt, g.pooledQuote]);
    const older = { ...snap, root: poseidon([state.accountTree.root, state.marketTree.root, state.feePool, chained]) };
    assert.notEqual(older.root, snap.root);
    assert.throws(() => restoreExchangeState(state.params, older), /before the instrument table's commitment became a tree.*deploy afresh/);
    assert.equal(restoreExchangeState(state.params, snap).root, state.root); // the same leaves under today's commitment restore
  });
});
