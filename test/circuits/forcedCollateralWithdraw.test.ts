/**
 * FORCED_COLLATERAL_WITHDRAW (issue 12): a withdrawal of quote collateral the account's owner queued on the
 * custodian. The derivatives slot proves it honoured exactly when a signed TRANSFER out of collateral of the
 * same amount would pass its initial-margin rule (funding settled the same way), else refused with the state
 * unchanged; its token is 0. The attacks play a dishonest operator (circuitRules.ts `refuses`) and are
 * refused at the rule's own line.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import { accountRisk } from "../../sequencer/derivatives/formulas.ts";
import { applyOracleStep } from "../../sequencer/derivatives/oracleStep.ts";
import { TxType } from "../../sequencer/protocol/constants.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import { settleFunding } from "../../sequencer/derivatives/formulas.ts";
import type { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { loadBatchCircuit, refuses, rule, witnessFailure } from "../helpers/circuitRules.ts";
import { aliceLongPerpetual, NOW, oracleUpdate, traders } from "../helpers/derivatives.ts";

const { alice, carol } = traders;
const OUTCOME = rule("ForcedCollateralWithdraw", "honoured === isForced * fits");
/** A forced collateral withdrawal is served only in a batch with an oracle update (its marks judge it). */
const NEEDS_MARKS = rule("DerivSlot", "(1 - oracleUsed) * activeA === 0");

const forced = (accountId: number, amount: bigint, tokenId = 0): BatchTx => ({ type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId, tokenId, amount });

/** What the account can take out of collateral at the default oracle update: its equity (funding settled) above initial margin. */
function free(state: ExchangeState, accountId: number): bigint {
  const t = state.begin();
  try {
    const { risks } = applyOracleStep(state, oracleUpdate(), NOW, true, false);
    const r = accountRisk(settleFunding(state.account(accountId).deriv, state.instruments.map((i) => i.fundingIndex)), risks);
    return r.equity - r.im;
  } finally {
    t.rollback();
  }
}

const honouredOf = (state: ExchangeState, tx: BatchTx): bigint => {
  const b = buildBatch(state, [tx], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() });
  const r = b.records[state.params.slots];
  assert.equal(r.type, TxType.FORCED_COLLATERAL_WITHDRAW);
  return r.type === TxType.FORCED_COLLATERAL_WITHDRAW ? r.honoured : -1n;
};

describe("FORCED_COLLATERAL_WITHDRAW in the batch circuit", { timeout: 600_000 }, () => {
  before(async () => void (await loadBatchCircuit()));

  it("honours exactly what leaves equity at initial margin (alice, long a perpetual): collateral goes down by the amount", async () => {
    const amount = free(aliceLongPerpetual(), alice.accountId);
    assert.ok(amount > 0n && amount < 50_000_000_000n, `alice can take ${amount} out`);
    assert.equal(await witnessFailure(aliceLongPerpetual(), [forced(alice.accountId, amount)]), null);
    const s = aliceLongPerpetual();
    const c = s.account(alice.accountId).deriv.collateral;
    const nonce = s.account(alice.accountId).nonce;
    const balance = s.balance(alice.accountId, 0);
    assert.equal(honouredOf(s, forced(alice.accountId, amount)), 1n);
    assert.equal(s.account(alice.accountId).deriv.collateral, c - amount);
    assert.equal(s.account(alice.accountId).nonce, nonce);
    assert.equal(s.balance(alice.accountId, 0), balance, "the custodian pays it out: the spot balance does not move");
  });

  it("refuses one unit more as a proven refusal: the record says refused and the account is unchanged", async () => {
    const amount = free(aliceLongPerpetual(), alice.accountId) + 1n;
    assert.equal(await witnessFailure(aliceLongPerpetual(), [forced(alice.accountId, amount)]), null);
    const s = aliceLongPerpetual();
    const before = structuredClone(s.account(alice.accountId).deriv);
    assert.equal(honouredOf(s, forced(alice.accountId, amount)), 0n);
    assert.deepEqual(s.account(alice.accountId).deriv, before);
  });

  it("honours all of a flat account's collateral (carol), and refuses one unit more", async () => {
    const all = aliceLongPerpetual().account(carol.accountId).deriv.collateral;
    assert.equal(await witnessFailure(aliceLongPerpetual(), [forced(carol.accountId, all)]), null);
    assert.equal(await witnessFailure(aliceLongPerpetual(), [forced(carol.accountId, all + 1n)]), null);
    assert.equal(honouredOf(aliceLongPerpetual(), forced(carol.accountId, all)), 1n);
    assert.equal(honouredOf(aliceLongPerpetual(), forced(carol.accountId, all + 1n)), 0n);
  });

  it("attack: honoured flipped to 1 when the margin rule fails (collateral withdrawn past initial margin)", async () => {
    const s = aliceLongPerpetual();
    await refuses(s, [forced(alice.accountId, free(s, alice.accountId) + 1n)], OUTCOME, { forcedOutcome: () => true });
  });

  it("attack: a flat account's collateral withdrawn past what it holds", async () => {
    const s = aliceLongPerpetual();
    await refuses(s, [forced(carol.accountId, s.account(carol.accountId).deriv.collateral + 1n)], OUTCOME, { forcedOutcome: () => true });
  });

  it("attack: honoured flipped to 0 when the margin rule holds (the account left unchanged)", async () => {
    const s = aliceLongPerpetual();
    await refuses(s, [forced(alice.accountId, free(s, alice.accountId))], OUTCOME, { forcedOutcome: () => false });
  });

  it("attack: collateral decreased while the record says refused", async () => {
    const s = aliceLongPerpetual();
    await refuses(s, [forced(alice.accountId, free(s, alice.accountId))], OUTCOME, {}, (input) => {
      (input.d_honoured as string[])[0] = "0";
    });
  });

  it("is not built in a batch without an oracle update: without marks it could only be refused, and the operator chooses whether a batch carries one", () => {
    const s = aliceLongPerpetual();
    const root = s.root;
    assert.throws(() => buildBatch(s, [forced(carol.accountId, 1n)], { batchNumber: 9, timestamp: NOW, oracle: null }), /NO_ORACLE/);
    assert.equal(s.root, root, "nothing changed");
  });

  it("attack: refused in a batch that leaves the oracle update out (the operator refusing a withdrawal the margin allows)", async () => {
    const s = aliceLongPerpetual();
    assert.ok(free(s, alice.accountId) >= 1n, "the margin allows it at the update's marks");
    await refuses(s, [forced(alice.accountId, 1n)], NEEDS_MARKS, { oracle: null });
  });

  it("attack: honoured without an oracle update", async () => {
    await refuses(aliceLongPerpetual(), [forced(carol.accountId, 1n)], NEEDS_MARKS, { oracle: null, forcedOutcome: () => true });
  });

  it("attack: a token other than 0", async () => {
    await refuses(aliceLongPerpetual(), [forced(carol.accountId, 1n, 1)], rule("ForcedCollateralWithdraw", "tokenId === 0"));
  });
});
