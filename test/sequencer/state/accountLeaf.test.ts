/**
 * The account leaf (circuits/SPEC.md "State"): the quote token's balance (token 0) is a field of the leaf, the other
 * tokens are leaves of the balance tree, whose leaf 0 is never written; a rolled-back transaction restores both.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { accountDerivLeaf, accountLeafHash, ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { QuadTree } from "../../../sequencer/crypto/quadTree.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { QUOTE_TOKEN_ID } from "../../../sequencer/protocol/constants.ts";

describe("account leaf", () => {
  it("holds the quote balance as its own field: token 0 never reaches the balance tree, other tokens only reach it", () => {
    const state = new ExchangeState(TEST_PARAMS);
    const emptyTree = new QuadTree(TEST_PARAMS.balanceLevels).root;
    assert.equal(state.accountLeaf(1), ExchangeState.emptyAccountLeaf(TEST_PARAMS));

    state.setBalance(1, QUOTE_TOKEN_ID, 700n);
    const a = state.account(1);
    assert.equal(a.quote, 700n);
    assert.equal(a.balances.root, emptyTree, "the tree is untouched by token 0");
    assert.equal(a.balances.leaf(0), 0n);
    assert.equal(state.balance(1, QUOTE_TOKEN_ID), 700n);
    const leaf = (quote: bigint, balancesRoot: bigint) =>
      accountLeafHash({ pubKey: a.pubKey, nonce: a.nonce, quote, balancesRoot, ordersRoot: a.orders.root, derivLeaf: accountDerivLeaf(a) });
    assert.equal(state.accountLeaf(1), leaf(700n, emptyTree));
    assert.notEqual(state.accountLeaf(1), ExchangeState.emptyAccountLeaf(TEST_PARAMS));

    state.setBalance(1, 1, 5n);
    assert.equal(a.quote, 700n, "another token does not touch the quote field");
    assert.equal(a.balances.leaf(1), 5n);
    assert.equal(state.accountLeaf(1), leaf(700n, a.balances.root));
    assert.deepEqual(state.balances(1), [[0, 700n], [1, 5n]]);
  });

  it("rolls the quote balance back with the transaction that moved it", () => {
    const state = new ExchangeState(TEST_PARAMS);
    state.setBalance(2, QUOTE_TOKEN_ID, 10n);
    state.commitAccount(2);
    const root = state.root;
    const t = state.begin();
    state.setBalance(2, QUOTE_TOKEN_ID, 3n);
    state.commitAccount(2);
    assert.notEqual(state.root, root);
    t.rollback();
    assert.equal(state.balance(2, QUOTE_TOKEN_ID), 10n);
    assert.equal(state.root, root);
  });
});
