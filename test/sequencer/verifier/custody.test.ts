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
import { custodyClaims, pendingRemainders } from "../../../sequencer/verifier/custody.ts";
import { aliceLongPerpetual, dave, GAP_UPDATE, NOW, registerDave, traders } from "../../helpers/derivatives.ts";

it("holdings equal the claims before exodus, after each exit and after each derivatives claim is paid its share of the pooled quote", () => {
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
  // within the claim window: each exit is credited its spot part (owed until pulled); its derivatives claim waits
  const claims = ids.map((id) => exitValuation(state, id, prices).derivativesClaim);
  for (const id of ids) {
    owed += exitValuation(state, id, prices).amounts[0];
    left.splice(left.indexOf(id), 1);
    assert.equal(custodyClaims(state, 0, left, owed, paidOfPot).claims, holdings, `after account ${id}'s exit`);
  }
  // after it: each claim its share of the pot (Custodian.claimDerivatives), credited and owed until pulled
  const pot = state.globals.pooledQuote;
  const windowClaims = claims.reduce((a, b) => a + b, 0n);
  assert.ok(windowClaims > pot, "the scenario's claims exceed the pot");
  for (const [i, claim] of claims.entries()) {
    const share = (claim * pot) / windowClaims;
    paidOfPot += share;
    owed += share;
    assert.equal(custodyClaims(state, 0, [], owed, paidOfPot).claims, holdings, `after account ${ids[i]}'s claim is paid`);
  }
  assert.ok(pot - paidOfPot < BigInt(claims.length), "the pot is paid out but for rounding");
  assert.equal(custodyClaims(state, 1, ids, 0n, 0n).pooled, 0n, "only the quote token is pooled");
});

it("an exit's spot remainder stays a claim until it is paid (pendingRemainders from the custodian's events): without it the sum understated what is owed", () => {
  const state = aliceLongPerpetual();
  registerDave(state);
  buildBatch(state, [{ type: TxType.DEPOSIT, accountId: dave.accountId, tokenId: 0, amount: 10_000_000_000n }], { batchNumber: 20, timestamp: NOW });
  const ids = [traders.bob.accountId, traders.carol.accountId, traders.alice.accountId, dave.accountId];
  const holdings = ids.reduce((s, id) => s + state.balance(id, 0), 0n) + state.globals.pooledQuote;
  // dave exits while the custodian reads only part of his spot quote free: it pays what it can and records the rest
  const spot = state.balance(dave.accountId, 0);
  assert.equal(spot, 10_000_000_000n);
  const unpaid = spot / 3n;
  const owed = spot - unpaid;
  const left = ids.filter((id) => id !== dave.accountId);
  const recorded = [{ tokenId: 0, amount: unpaid }, { tokenId: 1, amount: 5n }];
  const waiting = pendingRemainders(recorded, []);
  assert.deepEqual([waiting.get(0), waiting.get(1)], [unpaid, 5n]);
  assert.equal(custodyClaims(state, 0, left, owed, 0n).claims, holdings - unpaid, "the remainder left out: a false surplus");
  assert.equal(custodyClaims(state, 0, left, owed, 0n, waiting.get(0)).claims, holdings, "with it, holdings equal the claims");
  // claimExitRemainder pays it (ExitRemainderPaid): credited, so owed until pulled, and no longer waiting
  const after = pendingRemainders(recorded, [{ tokenId: 0, amount: unpaid }]);
  assert.equal(after.get(0), 0n);
  assert.equal(custodyClaims(state, 0, left, owed + unpaid, 0n, after.get(0)).claims, holdings);
});
