/**
 * FORCED_WITHDRAW (issue 12): a spot withdrawal the account's owner queued on the custodian. The batch
 * proves it honoured (balance >= amount: the balance moves) or refused (the state is unchanged), and the
 * outcome is the circuit's, never the operator's. The attacks play a dishonest operator (circuitRules.ts
 * `refuses`: TypeScript checks off, public data hashed consistently) and are refused at the rule's own line.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import { TxType } from "../../sequencer/protocol/constants.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { loadBatchCircuit, refuses, rule, witnessFailure } from "../helpers/circuitRules.ts";
import { NOW } from "../helpers/derivatives.ts";
import { testTrader } from "../helpers/traders.ts";

const alice = testTrader(1);
const BALANCE = 1_000_000n;
const SPOT = { oracle: null } as const;
const OUTCOME = rule("ForcedWithdraw", "honoured === isForced * covered.out");

/** alice (account 1) holds BALANCE of token 1 and her nonce is 0. */
function state(): ExchangeState {
  const s = new ExchangeState(TEST_PARAMS);
  buildBatch(s, [
    { type: TxType.REGISTER_KEY, accountId: 1, pubKey: alice.pubKey },
    { type: TxType.DEPOSIT, accountId: 1, tokenId: 1, amount: BALANCE },
  ], { batchNumber: 0, timestamp: NOW });
  return s;
}

const forced = (amount: bigint, tokenId = 1): BatchTx => ({ type: TxType.FORCED_WITHDRAW, accountId: 1, tokenId, amount });

describe("FORCED_WITHDRAW in the batch circuit", { timeout: 600_000 }, () => {
  before(async () => void (await loadBatchCircuit()));

  it("honours amount = balance: the balance goes to 0, the record says honoured, the nonce and key do not move", async () => {
    assert.equal(await witnessFailure(state(), [forced(BALANCE)], SPOT), null);
    const s = state();
    const nonce = s.account(1).nonce;
    const b = buildBatch(s, [forced(BALANCE)], { batchNumber: 1, timestamp: NOW });
    assert.deepEqual(b.records[0], { type: TxType.FORCED_WITHDRAW, accountId: 1n, tokenId: 1n, amount: BALANCE, honoured: 1n });
    assert.equal(s.balance(1, 1), 0n);
    assert.equal(s.account(1).nonce, nonce);
  });

  it("refuses amount = balance + 1 as a proven refusal: the record says refused and the state root is unchanged", async () => {
    assert.equal(await witnessFailure(state(), [forced(BALANCE + 1n)], SPOT), null);
    const s = state();
    const root = s.root;
    const b = buildBatch(s, [forced(BALANCE + 1n)], { batchNumber: 1, timestamp: NOW });
    assert.equal(b.records[0].type === TxType.FORCED_WITHDRAW && b.records[0].honoured, 0n);
    assert.equal(b.header.newRoot, root);
    assert.equal(s.balance(1, 1), BALANCE);
  });

  it("proves a forced withdrawal of a token the account never held as refused", async () => {
    assert.equal(await witnessFailure(state(), [forced(1n, 2)], SPOT), null);
  });

  it("attack: honoured flipped to 1 when the balance is short", async () => {
    await refuses(state(), [forced(BALANCE + 1n)], OUTCOME, { ...SPOT, forcedOutcome: () => true });
  });

  it("attack: honoured flipped to 0 when the balance suffices (the state left unchanged)", async () => {
    await refuses(state(), [forced(BALANCE)], OUTCOME, { ...SPOT, forcedOutcome: () => false });
  });

  it("attack: the balance decreased while the record says refused", async () => {
    // The witness debits the balance (the honoured state) and the record claims refused.
    await refuses(state(), [forced(BALANCE)], OUTCOME, SPOT, (input) => {
      (input.honoured as string[])[0] = "0";
    });
  });
});
