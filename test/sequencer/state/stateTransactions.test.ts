/**
 * ExchangeState.begin: the state's transactions, which the batch pipeline keeps one per batch in flight
 * and commits oldest first as the chain takes them, while newer ones stay open.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";

const balance = (s: ExchangeState) => s.balance(1, 0);

describe("state transactions", () => {
  it("a rollback undoes exactly the writes made since its transaction began", () => {
    const s = new ExchangeState(TEST_PARAMS);
    s.setBalance(1, 0, 5n);
    const root = s.root;
    const t = s.begin();
    s.setBalance(1, 0, 7n);
    s.setBalance(2, 1, 9n);
    t.rollback();
    assert.equal(balance(s), 5n);
    assert.equal(s.balance(2, 1), 0n);
    assert.equal(s.root, root);
    assert.equal(s.openTransactions, 0);
  });

  it("committing the oldest transaction while a newer one is open makes its writes final; the newer one still rolls back only its own", () => {
    const s = new ExchangeState(TEST_PARAMS);
    const older = s.begin();
    s.setBalance(1, 0, 1n);
    const newer = s.begin();
    s.setBalance(1, 0, 2n);
    older.commit();
    assert.equal(s.openTransactions, 1);
    const third = s.begin();
    s.setBalance(1, 0, 3n);
    third.rollback();
    assert.equal(balance(s), 2n);
    newer.rollback();
    assert.equal(balance(s), 1n, "the committed write stays");
    assert.equal(s.openTransactions, 0);
  });

  it("committing a newer transaction hands its writes to the older one, which can still undo them", () => {
    const s = new ExchangeState(TEST_PARAMS);
    const older = s.begin();
    s.setBalance(1, 0, 1n);
    const newer = s.begin();
    s.setBalance(1, 0, 2n);
    newer.commit();
    older.rollback();
    assert.equal(balance(s), 0n);
  });

  it("rolling back an older transaction closes the newer ones with it: they throw when used", () => {
    const s = new ExchangeState(TEST_PARAMS);
    const older = s.begin();
    s.setBalance(1, 0, 1n);
    const newer = s.begin();
    s.setBalance(1, 0, 2n);
    older.rollback();
    assert.equal(balance(s), 0n);
    assert.equal(s.openTransactions, 0);
    assert.throws(() => newer.rollback(), /already closed/);
    assert.throws(() => newer.commit(), /already closed/);
    assert.throws(() => older.commit(), /already closed/);
    assert.equal(balance(s), 0n, "nothing changed by the refused calls");
  });

  it("a chain of transactions committed oldest first keeps no undo entries: a pipeline that never drains does not grow", () => {
    const s = new ExchangeState(TEST_PARAMS);
    const undoEntries = () => (s as unknown as { journal: unknown[] | null }).journal?.length ?? 0;
    let open = s.begin();
    for (let i = 1n; i <= 50n; i++) {
      s.setBalance(1, 0, i);
      const next = s.begin();
      assert.ok(undoEntries() > 0);
      open.commit();
      open = next;
      assert.equal(s.openTransactions, 1);
      assert.equal(undoEntries(), 0, "the committed transaction's undo entries are freed");
    }
    s.setBalance(1, 0, 99n);
    open.rollback();
    assert.equal(balance(s), 50n);
    assert.equal(undoEntries(), 0);
  });
});
