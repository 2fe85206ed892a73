/**
 * FORCED_CLOSE: a close of `lots` of the requester's position against an account it names on the other side, at
 * the batch's mark, queued on the custodian by the account's owner. The derivatives slot proves it honoured
 * exactly when both positions hold the lots (neither flips), else refused with both accounts unchanged. So the
 * operator, who may never match a trader's closing orders, cannot keep the trader in a position either. The
 * attacks play a dishonest operator (circuitRules.ts `refuses`) and are refused at the rule's own line.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import { accountRisk, settleFunding } from "../../sequencer/derivatives/formulas.ts";
import { applyOracleStep } from "../../sequencer/derivatives/oracleStep.ts";
import { TxType } from "../../sequencer/protocol/constants.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import type { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { builderRefuses, loadBatchCircuit, refuses, rule, witnessFailure } from "../helpers/circuitRules.ts";
import { aliceLongPerpetual, NOW, oracleUpdate, traders } from "../helpers/derivatives.ts";

const { alice, bob, carol } = traders;
const PERP = 0;
const OUTCOME = rule("ForcedClose", "honoured === isFC * ok");
const NEEDS_MARKS = rule("DerivSlot", "(1 - oracleUsed) * activeA === 0");

const close = (accountId: number, counterpartyId: number, lots: bigint, instrumentId = PERP): BatchTx =>
  ({ type: TxType.FORCED_CLOSE, accountId, instrumentId, counterpartyId, lots });

/** The batch's record of `tx` on `state` (which it moves), honest. */
function recordOf(state: ExchangeState, tx: BatchTx) {
  const b = buildBatch(state, [tx], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() });
  const r = b.records[state.params.slots];
  assert.equal(r.type, TxType.FORCED_CLOSE);
  return r.type === TxType.FORCED_CLOSE ? r : assert.fail("not a forced close");
}

/** Each account's equity at the default update's marks, funding settled (what a close at the mark leaves alone). */
function equities(state: ExchangeState, ids: number[]): bigint[] {
  const t = state.begin();
  try {
    const { risks } = applyOracleStep(state, oracleUpdate(), NOW, true, false);
    return ids.map((id) => accountRisk(settleFunding(state.account(id).deriv, state.instruments.map((i) => i.fundingIndex)), risks).equity);
  } finally {
    t.rollback();
  }
}

describe("FORCED_CLOSE in the batch circuit", { timeout: 600_000 }, () => {
  before(async () => void (await loadBatchCircuit()));

  it("honours a close against the holder of the other side: the lots pass at the mark, neither equity moves", async () => {
    assert.equal(await witnessFailure(aliceLongPerpetual(), [close(alice.accountId, bob.accountId, 6_000n)]), null);
    const s = aliceLongPerpetual();
    const before = equities(s, [alice.accountId, bob.accountId]);
    const r = recordOf(s, close(alice.accountId, bob.accountId, 6_000n));
    assert.equal(r.honoured, 1n);
    assert.equal(s.account(alice.accountId).deriv.positions[PERP].size, 9_000n);
    assert.equal(s.account(bob.accountId).deriv.positions[PERP].size, -9_000n);
    assert.deepEqual(equities(s, [alice.accountId, bob.accountId]), before, "closed at the mark");
  });

  it("honours the whole position: the requester leaves it, and the instrument's holders fall by two", async () => {
    assert.equal(await witnessFailure(aliceLongPerpetual(), [close(alice.accountId, bob.accountId, 15_000n)]), null);
    const s = aliceLongPerpetual();
    const holders = s.instruments[PERP].holders;
    assert.equal(recordOf(s, close(alice.accountId, bob.accountId, 15_000n)).honoured, 1n);
    assert.equal(s.account(alice.accountId).deriv.positions[PERP].size, 0n);
    assert.equal(s.instruments[PERP].holders, holders - 2);
  });

  it("refuses, as a proven refusal, more lots than either side holds, a counterparty on the same side or holding nothing, and itself: nothing moves", async () => {
    for (const tx of [
      close(alice.accountId, bob.accountId, 15_001n), // more than both hold
      close(bob.accountId, carol.accountId, 1n), // carol holds nothing
      close(alice.accountId, alice.accountId, 1n), // itself
      close(carol.accountId, bob.accountId, 1n), // the requester holds nothing
      close(alice.accountId, bob.accountId, 1n, 1), // an instrument neither holds
    ]) {
      assert.equal(await witnessFailure(aliceLongPerpetual(), [tx]), null);
      const s = aliceLongPerpetual();
      const root = s.root;
      assert.equal(recordOf(s, tx).honoured, 0n);
      assert.equal(s.root, root, "a refused close changes no account");
    }
  });

  it("the builder refuses what the custodian never queues (BadForcedClose): an account, counterparty or instrument beyond the slot's fields, lots beyond 40 bits; nothing changes", () => {
    const s = aliceLongPerpetual();
    const beyond = s.accountTree.capacity;
    builderRefuses(s, [close(beyond, bob.accountId, 1n)], "BAD_ACCOUNT");
    builderRefuses(s, [close(alice.accountId, beyond, 1n)], "BAD_ACCOUNT");
    builderRefuses(s, [close(alice.accountId, -1, 1n)], "BAD_ACCOUNT");
    builderRefuses(s, [close(alice.accountId, bob.accountId, 1n, s.params.instruments)], "UNKNOWN_INSTRUMENT");
    builderRefuses(s, [close(alice.accountId, bob.accountId, 1n << 40n)], "BAD_QUANTITY");
    builderRefuses(s, [close(alice.accountId, bob.accountId, -1n)], "BAD_QUANTITY");
  });

  it("attack: honoured when the counterparty holds fewer lots than closed (its position would flip)", async () => {
    await refuses(aliceLongPerpetual(), [close(alice.accountId, bob.accountId, 15_001n)], OUTCOME, { forcedOutcome: () => true });
  });

  it("attack: honoured against an account with nothing on the other side (a position forced on a bystander)", async () => {
    await refuses(aliceLongPerpetual(), [close(alice.accountId, carol.accountId, 1n)], OUTCOME, { forcedOutcome: () => true });
  });

  it("attack: refused when both positions hold the lots (the operator keeping the trader in its position)", async () => {
    await refuses(aliceLongPerpetual(), [close(alice.accountId, bob.accountId, 6_000n)], OUTCOME, { forcedOutcome: () => false });
  });

  it("attack: refused in a batch that leaves the oracle update out", async () => {
    await refuses(aliceLongPerpetual(), [close(alice.accountId, bob.accountId, 6_000n)], NEEDS_MARKS, { oracle: null });
  });

  it("attack: the counterparty pays something on top of the close (the slot's amount set)", async () => {
    await refuses(aliceLongPerpetual(), [close(alice.accountId, bob.accountId, 6_000n)], rule("DerivSlot", "isFC * amount === 0"), {}, (input) => {
      (input.d_amount as string[])[0] = "5";
    });
  });

  it("attack: the record says refused while the positions moved", async () => {
    await refuses(aliceLongPerpetual(), [close(alice.accountId, bob.accountId, 6_000n)], OUTCOME, {}, (input) => {
      (input.d_honoured as string[])[0] = "0";
    });
  });
});
