/**
 * The treasury's withdrawals (issue 12): FEE_WITHDRAW (spot slot) pays the fee pool out and INSURANCE_WITHDRAW
 * (derivatives slot) the insurance fund, to the recipients the custodian names, as requests its operator queues.
 * The batch proves each honoured (the pool covers the amount; the fund keeps at least the open bad debt after
 * it) or refused (the state unchanged), and the outcome is the circuit's, never the operator's. The open bad
 * debt (the negative collateral of flat accounts, which a LIQUIDATE or SETTLE leaves when the fund is short) is
 * state the derivatives slot keeps. The attacks play a dishonest operator (circuitRules.ts `refuses`: rules off,
 * public data hashed consistently) and are refused at the rule's own line.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import { TxType } from "../../sequencer/protocol/constants.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { encodePublicData, publicInputsOf } from "../../sequencer/protocol/publicData.ts";
import { signTransfer } from "../../sequencer/protocol/signing.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { inputFailure, loadBatchCircuit, refuses, rule, witnessFailure } from "../helpers/circuitRules.ts";
import { aliceLongPerpetual, GAP_UPDATE, liquidateAlice, NOW, openDebtState, traders, seedFeePool, setInsuranceFund } from "../helpers/derivatives.ts";
import { testTrader } from "../helpers/traders.ts";

const POOL = 7_000_000n;
const SPOT = { oracle: null } as const;
const FEE_OUTCOME = rule("FeeWithdraw", "honoured === isFee * bothCover");
const INSURANCE_OUTCOME = rule("InsuranceWithdraw", "honoured === isIns * bothCover");
const fee = (amount: bigint): BatchTx => ({ type: TxType.FEE_WITHDRAW, amount });
const insurance = (amount: bigint): BatchTx => ({ type: TxType.INSURANCE_WITHDRAW, amount });

/** A spot state whose fee pool holds POOL (account 1 registered). */
function feeState(): ExchangeState {
  const s = new ExchangeState(TEST_PARAMS);
  buildBatch(s, [{ type: TxType.REGISTER_KEY, accountId: 1, pubKey: testTrader(1).pubKey }], { batchNumber: 0, timestamp: NOW });
  seedFeePool(s, POOL);
  return s;
}

const GAP = { oracle: GAP_UPDATE() };
const SHORT_FUND = 4_000_000_000n;
/** What stays open: alice's negative collateral once flat (the deficit less the fund's cover). */
const OPEN_DEBT = -openDebtState().account(traders.alice.accountId).deriv.collateral;
const withFund = openDebtState;
const inDebt = () => openDebtState();

describe("FEE_WITHDRAW and INSURANCE_WITHDRAW in the batch circuit", { timeout: 600_000 }, () => {
  before(async () => void (await loadBatchCircuit()));

  describe("FEE_WITHDRAW", () => {
    it("honours amount = pool: the pool goes to 0 and the record (account 0, token 0) says honoured", async () => {
      assert.equal(await witnessFailure(feeState(), [fee(POOL)], SPOT), null);
      const s = feeState();
      const b = buildBatch(s, [fee(POOL)], { batchNumber: 1, timestamp: NOW });
      assert.deepEqual(b.records[0], { type: TxType.FEE_WITHDRAW, accountId: 0n, tokenId: 0n, amount: POOL, honoured: 1n });
      assert.equal(s.feePool, 0n);
    });

    it("refuses amount = pool + 1 as a proven refusal: the record says refused and the state root is unchanged", async () => {
      assert.equal(await witnessFailure(feeState(), [fee(POOL + 1n)], SPOT), null);
      const s = feeState();
      const root = s.root;
      const b = buildBatch(s, [fee(POOL + 1n)], { batchNumber: 1, timestamp: NOW });
      assert.equal(b.records[0].type === TxType.FEE_WITHDRAW && b.records[0].honoured, 0n);
      assert.equal(b.header.newRoot, root);
    });

    it("attack: honoured flipped to 1 when the pool is short (the operator pays itself what was never collected)", async () => {
      await refuses(feeState(), [fee(POOL + 1n)], FEE_OUTCOME, { ...SPOT, forcedOutcome: () => true });
    });

    it("attack: honoured flipped to 0 when the pool covers it (the pool kept, the request consumed)", async () => {
      await refuses(feeState(), [fee(POOL)], FEE_OUTCOME, { ...SPOT, forcedOutcome: () => false });
    });

    it("attack: the record names an account (the slot's account A set to 1)", async () => {
      await refuses(feeState(), [fee(POOL)], rule("FeeWithdraw", "isFee * accountId === 0"), SPOT, (input) => {
        (input.accountA as string[])[0] = "1";
      });
    });

    it("attack: an outcome byte on a transaction that has none (a deposit's honoured set to 1)", async () => {
      const deposit: BatchTx = { type: TxType.DEPOSIT, accountId: 1, tokenId: 0, amount: 5n };
      await refuses(feeState(), [deposit], rule("Slot", "honoured * (1 - isForced - isFee) === 0"), SPOT, (input) => {
        (input.honoured as string[])[0] = "1";
      });
    });
  });

  describe("the open bad debt and INSURANCE_WITHDRAW", () => {
    it("a liquidation the fund cannot cover leaves its uncovered part as open bad debt, proven in the state root", async () => {
      const s = aliceLongPerpetual();
      setInsuranceFund(s, SHORT_FUND);
      assert.equal(s.globals.badDebt, 0n);
      assert.equal(await witnessFailure(s, [liquidateAlice(15_000n, 260_000n)], GAP), null);
      const alice = s.account(traders.alice.accountId).deriv;
      assert.ok(alice.positions.every((p) => p.size === 0n) && alice.collateral < -6_000_000_000n, "alice is flat, more than 6,000 short");
      assert.equal(s.globals.badDebt, -alice.collateral);
      assert.equal(s.globals.insuranceFund, 0n, "the fund paid what it held");
    });

    it("attack: the operator's root leaves the uncovered debt out of the state (badDebt kept at 0)", async () => {
      const s = aliceLongPerpetual();
      setInsuranceFund(s, SHORT_FUND);
      const batch = buildBatch(s, [liquidateAlice(15_000n, 260_000n)], { batchNumber: 9, timestamp: NOW, ...GAP });
      s.setGlobals({ ...s.globals, badDebt: 0n });
      const claimed = encodePublicData({ ...batch.header, newRoot: s.root }, batch.oracle, batch.records);
      batch.circuitInput.publicInput = publicInputsOf(claimed).map(String);
      const failure = await inputFailure(batch.circuitInput);
      assert.ok(failure?.includes(rule("Batch", "pub.chunks <== publicInput")), `refused at ${failure?.join(" < ")}`);
    });

    it("a transfer into the flat account's collateral repays its debt: the open bad debt falls by the amount", async () => {
      const s = inDebt();
      const alice = traders.alice;
      const repay = 1_000_000_000n;
      buildBatch(s, [{ type: TxType.DEPOSIT, accountId: alice.accountId, tokenId: 0, amount: repay }], { batchNumber: 10, timestamp: NOW });
      const transfer: BatchTx = {
        type: TxType.TRANSFER, request: signTransfer(alice.key, { accountId: alice.accountId, toCollateral: true, amount: repay, nonce: s.account(alice.accountId).nonce }),
      };
      assert.equal(await witnessFailure(s, [transfer]), null);
      assert.equal(s.globals.badDebt, OPEN_DEBT - repay);
    });

    it("honours what leaves the fund exactly at the open bad debt: the fund goes down by the amount", async () => {
      const fund = OPEN_DEBT + 3_000_000n;
      assert.equal(await witnessFailure(withFund(fund), [insurance(3_000_000n)], { oracle: null }), null);
      const s = withFund(fund);
      const b = buildBatch(s, [insurance(3_000_000n)], { batchNumber: 10, timestamp: NOW });
      assert.deepEqual(b.records[s.params.slots], { type: TxType.INSURANCE_WITHDRAW, accountId: 0n, tokenId: 0n, amount: 3_000_000n, honoured: 1n });
      assert.equal(s.globals.insuranceFund, OPEN_DEBT);
      assert.equal(s.globals.badDebt, OPEN_DEBT);
    });

    it("refuses one unit more as a proven refusal: the fund would fall below the open bad debt; the root is unchanged", async () => {
      const fund = OPEN_DEBT + 3_000_000n;
      assert.equal(await witnessFailure(withFund(fund), [insurance(3_000_001n)], { oracle: null }), null);
      const s = withFund(fund);
      const root = s.root;
      const b = buildBatch(s, [insurance(3_000_001n)], { batchNumber: 10, timestamp: NOW });
      const r = b.records[s.params.slots];
      assert.equal(r.type === TxType.INSURANCE_WITHDRAW && r.honoured, 0n);
      assert.equal(b.header.newRoot, root);
    });

    it("attack: honoured flipped to 1 when the fund would fall below the open bad debt", async () => {
      await refuses(withFund(OPEN_DEBT + 3_000_000n), [insurance(3_000_001n)], INSURANCE_OUTCOME, { oracle: null, forcedOutcome: () => true });
    });

    it("attack: honoured flipped to 0 when the fund covers it", async () => {
      await refuses(withFund(OPEN_DEBT + 3_000_000n), [insurance(3_000_000n)], INSURANCE_OUTCOME, { oracle: null, forcedOutcome: () => false });
    });

    it("attack: the record names an account (the slot's account A set to 1)", async () => {
      await refuses(withFund(OPEN_DEBT + 3_000_000n), [insurance(3_000_000n)], rule("InsuranceWithdraw", "isIns * accountId === 0"), { oracle: null }, (input) => {
        (input.d_accountA as string[])[0] = "1";
      });
    });

    it("attack: an outcome byte on a derivatives transaction that has none (a liquidation's honoured set to 1)", async () => {
      const s = aliceLongPerpetual();
      await refuses(s, [liquidateAlice(15_000n, 260_000n)], rule("DerivSlot", "honoured * (1 - isForced - isIns - isFC) === 0"), GAP, (input) => {
        (input.d_honoured as string[])[0] = "1";
      });
    });
  });
});
