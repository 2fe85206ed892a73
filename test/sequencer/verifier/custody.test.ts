/**
 * The custody check a verifier shows (verifier/custody.ts, the explorer's custody table): what the custodian holds
 * against the spot balances of the accounts still to exit, the pooled quote less what exits paid of it, and what it
 * owes outside the state. Through every exit of exodus (the review's scenario: a gap leaves alice under water, bob
 * claims his gain, dave holds only spot quote) the holdings stay exactly the claims: no false shortfall or surplus.
 */
import { it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { exitValuation } from "../../../sequencer/exit/exitRule.ts";
import { TxType } from "../../../sequencer/protocol/constants.ts";
import { custodyClaims } from "../../../sequencer/verifier/custody.ts";
import { aliceLongPerpetual, dave, GAP_UPDATE, NOW, registerDave, traders } from "../../helpers/derivatives.ts";

it("holdings equal the claims before exodus and after each exit, derivatives claims paid out of the pooled quote", () => {
  const state = aliceLongPerpetual();
  registerDave(state);
  buildBatch(state, [{ type: TxType.DEPOSIT, accountId: dave.accountId, tokenId: 0, amount: 10_000_000_000n }], { batchNumber: 20, timestamp: NOW });
  buildBatch(state, [], { batchNumber: 21, timestamp: NOW, oracle: GAP_UPDATE() });
  const prices = [260_000_000_000n];
  const ids = [traders.bob.accountId, traders.carol.accountId, traders.alice.accountId, dave.accountId];
  // what the custodian holds for this state: the spot balances and the pooled quote (test/contracts/exodus.test.ts)
  const holdings = ids.reduce((s, id) => s + state.balance(id, 0), 0n) + state.globals.pooledQuote;
  assert.equal(custodyClaims(state, 0, ids, 0n, 0n).claims, holdings);
  // the raw collateral, which the table summed before, is not what the accounts are owed: alice's is negative
  assert.ok(state.account(traders.alice.accountId).deriv.collateral < 0n);
  let owed = 0n;
  let paidOfPot = 0n;
  const left = [...ids];
  for (const id of ids) {
    const v = exitValuation(state, id, prices);
    const fromPot = v.derivativesClaim < state.globals.pooledQuote - paidOfPot ? v.derivativesClaim : state.globals.pooledQuote - paidOfPot;
    paidOfPot += fromPot;
    owed += v.amounts[0] + fromPot; // credited to the owner's withdrawable: owed until pulled
    left.splice(left.indexOf(id), 1);
    assert.equal(custodyClaims(state, 0, left, owed, paidOfPot).claims, holdings, `after account ${id}'s exit`);
  }
  assert.equal(custodyClaims(state, 1, ids, 0n, 0n).pooled, 0n, "only the quote token is pooled");
});
