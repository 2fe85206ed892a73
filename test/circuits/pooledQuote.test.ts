/**
 * The pooled quote (DERIVATIVES.md "Pooled quote"): the state keeps what it holds of the quote token outside the
 * spot balances (every account's collateral, the insurance fund and the fee pool), and quote leaves the collateral
 * side only while that side (the pooled quote less the fee pool) covers it. The attack it stops: a price gap leaves
 * alice under water, nobody liquidates her, and bob takes his whole gain out of collateral, which alice's collateral
 * cannot pay: before this rule the quote came out of the spot balances (the custodian holds one pool of the quote
 * token), so a spot-only user could no longer withdraw in full, in normal operation or in exodus. Each rule is shown
 * at its limit (the honest builder proves the amount the side holds and refuses one unit more), then broken by a
 * dishonest operator (circuitRules.ts `refuses`: rules off, public data hashed consistently) and refused at its own
 * constraint.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import { Side, TxType } from "../../sequencer/protocol/constants.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import { encodePublicData, publicInputsOf } from "../../sequencer/protocol/publicData.ts";
import { signTransfer } from "../../sequencer/protocol/signing.ts";
import type { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { builderRefuses, inputFailure, loadBatchCircuit, refuses, rule, witnessFailure } from "../helpers/circuitRules.ts";
import { aliceLongPerpetual, DEPOSITS, derivOrder, NOW, oracleUpdate, setInsuranceFund, traders } from "../helpers/derivatives.ts";

const { bob, carol } = traders;
/** A gap to 2,000: alice's 15,000-lot long (aliceLongPerpetual) is 100,000 quote under water, bob's short as much up. */
const CRASH = { oracle: oracleUpdate({ prices: [200_000_000_000n] }) };
const TRANSFER_BACKED = rule("DerivSlot", "transfer.fromCollateral * (1 - backed.out) === 0");
const FORCED_OUTCOME = rule("ForcedCollateralWithdraw", "honoured === isForced * fits");
const FORCED_BACKED = rule("DerivSlot", "forcedHonoured * (1 - backed.out) === 0");
const INSURANCE_OUTCOME = rule("InsuranceWithdraw", "honoured === isIns * bothCover");
const FEE_OUTCOME = rule("FeeWithdraw", "honoured === isFee * bothCover");

/** The collateral side: the pooled quote less the fee pool (every account's funding-settled collateral plus the fund). */
const side = (s: ExchangeState) => s.globals.pooledQuote - s.feePool;
const transferOut = (s: ExchangeState, t: typeof bob, amount: bigint): BatchTx => ({
  type: TxType.TRANSFER, request: signTransfer(t.key, { accountId: t.accountId, toCollateral: false, amount, nonce: s.account(t.accountId).nonce }),
});
const forced = (t: typeof carol, amount: bigint): BatchTx => ({ type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: t.accountId, tokenId: 0, amount });
const insurance = (amount: bigint): BatchTx => ({ type: TxType.INSURANCE_WITHDRAW, amount });
const fee = (amount: bigint): BatchTx => ({ type: TxType.FEE_WITHDRAW, amount });

/** aliceLongPerpetual() after bob took all but `left` of the collateral side out of his collateral, at the crash's marks. */
function drained(left: bigint): ExchangeState {
  const s = aliceLongPerpetual();
  buildBatch(s, [transferOut(s, bob, side(s) - left)], { batchNumber: 10, timestamp: NOW, ...CRASH });
  return s;
}

describe("the pooled quote: quote leaves the collateral side only while the side holds it", { timeout: 600_000 }, () => {
  before(async () => void (await loadBatchCircuit()));

  it("is every deposit moved into collateral (the trade's fees moved inside it), and a transfer out leaves it, proven in the state root", async () => {
    const s = aliceLongPerpetual();
    assert.equal(s.globals.pooledQuote, DEPOSITS, "all three deposits are collateral; the trade's fees moved inside (collateral to fee pool)");
    assert.ok(s.feePool > 0n);
    const t = transferOut(s, carol, 1_000_000_000n);
    assert.equal(await witnessFailure(s, [t]), null);
    assert.equal(s.globals.pooledQuote, DEPOSITS - 1_000_000_000n, "a transfer out leaves the pool, into carol's spot balance");
  });

  it("the gap: bob's margin allows more than the side holds; the side's whole holding is proven, one unit more is refused (DERIVATIVES_SHORTFALL)", async () => {
    const s = aliceLongPerpetual();
    const held = side(s);
    builderRefuses(aliceLongPerpetual(), [transferOut(s, bob, held + 1n)], "DERIVATIVES_SHORTFALL", CRASH);
    // one unit more passes bob's own margin: only the side stops it (at the crash's marks bob's equity is above 199,000 quote)
    assert.ok(held + 1n < 160_000_000_000n);
    assert.equal(await witnessFailure(s, [transferOut(s, bob, held)], CRASH), null);
    assert.equal(side(s), 0n);
    assert.equal(s.globals.pooledQuote, s.feePool, "what is left outside the spot balances is the fee pool");
  });

  it("attack: a transfer out beyond the side (bob paid out of the spot balances' quote)", async () => {
    const s = aliceLongPerpetual();
    await refuses(s, [transferOut(s, bob, side(s) + 1n)], TRANSFER_BACKED, CRASH);
  });

  it("attack: the operator's new root keeps the pooled quote as it was before the transfer out (the next withdrawal would see quote that left)", async () => {
    const s = aliceLongPerpetual();
    const before = s.globals.pooledQuote;
    const batch = buildBatch(s, [transferOut(s, bob, 1_000_000_000n)], { batchNumber: 10, timestamp: NOW, ...CRASH });
    s.setGlobals({ ...s.globals, pooledQuote: before });
    batch.circuitInput.publicInput = publicInputsOf(encodePublicData({ ...batch.header, newRoot: s.root }, batch.oracle, batch.records)).map(String);
    const failure = await inputFailure(batch.circuitInput);
    assert.ok(failure?.includes(rule("Batch", "pub.chunks <== publicInput")), `refused at ${failure?.join(" < ")}`);
  });

  it("a forced collateral withdrawal is honoured up to the side; beyond it, its margin holding, no batch can serve it (it waits, its deadline running)", async () => {
    const left = 10_000_000_000n;
    assert.equal(await witnessFailure(drained(left), [forced(carol, left)], CRASH), null);
    builderRefuses(drained(left), [forced(carol, left + 1n)], "DERIVATIVES_SHORTFALL", CRASH);
    // its outcome is carol's own margin alone: neither honoured out of the spot balances' quote nor refused
    await refuses(drained(left), [forced(carol, left + 1n)], FORCED_BACKED, CRASH);
    await refuses(drained(left), [forced(carol, left + 1n)], FORCED_OUTCOME, { ...CRASH, forcedOutcome: () => false });
    await refuses(drained(left), [forced(carol, left)], FORCED_OUTCOME, { ...CRASH, forcedOutcome: () => false });
  });

  it("a forced collateral withdrawal beyond the account's own margin is still a proven refusal, whatever the side holds", async () => {
    const s = drained(0n);
    const root = s.root;
    const b = buildBatch(s, [forced(carol, 50_000_000_001n)], { batchNumber: 11, timestamp: NOW, ...CRASH });
    const r = b.records[s.params.slots];
    assert.equal(r.type === TxType.FORCED_COLLATERAL_WITHDRAW && r.honoured, 0n, "carol holds 50,000");
    assert.equal(b.header.newRoot, root);
  });

  it("an insurance withdrawal the fund covers waits for the side: refused while the side is short, flipping it is refused", async () => {
    const fundedThenDrained = () => {
      const s = aliceLongPerpetual();
      setInsuranceFund(s, 5_000_000_000n);
      buildBatch(s, [transferOut(s, bob, side(s) - 1_000_000_000n)], { batchNumber: 10, timestamp: NOW, ...CRASH });
      return s;
    };
    const s = fundedThenDrained();
    const b = buildBatch(s, [insurance(1_000_000_001n)], { batchNumber: 11, timestamp: NOW });
    const r = b.records[s.params.slots];
    assert.equal(r.type === TxType.INSURANCE_WITHDRAW && r.honoured, 0n, "the fund holds 5,000 quote, the side 1,000");
    assert.equal(await witnessFailure(fundedThenDrained(), [insurance(1_000_000_000n)], { oracle: null }), null, "the side's holding is paid");
    await refuses(fundedThenDrained(), [insurance(1_000_000_001n)], INSURANCE_OUTCOME, { oracle: null, forcedOutcome: () => true });
  });

  it("a fee withdrawal the pool covers is refused when the pooled quote does not (fees taken from a drained side); flipping it is refused", async () => {
    // After the side is drained, a perpetual trade's fees move collateral into the fee pool: the pool then holds more
    // than the pooled quote (the side is negative by the fees), and paying the whole pool would take spot quote.
    const poolAboveTotal = () => {
      const s = drained(0n);
      const buy = derivOrder(carol, 0, { orderId: 5n, side: Side.BUY, priceTicks: 200_000n, sizeLots: 10n });
      const sell = derivOrder(bob, 0, { orderId: 5n, side: Side.SELL, priceTicks: 200_000n, sizeLots: 10n });
      buildBatch(s, [{ type: TxType.DERIV_TRADE, buy, sell, lots: 10n, priceTicks: 200_000n, buyFeePpm: 500, sellFeePpm: 100 }], { batchNumber: 11, timestamp: NOW, ...CRASH });
      assert.ok(s.feePool > s.globals.pooledQuote);
      return s;
    };
    const s = poolAboveTotal();
    const b = buildBatch(s, [fee(s.feePool)], { batchNumber: 12, timestamp: NOW });
    assert.equal(b.records[0].type === TxType.FEE_WITHDRAW && b.records[0].honoured, 0n);
    const t = poolAboveTotal();
    assert.equal(await witnessFailure(t, [fee(t.globals.pooledQuote)], { oracle: null }), null, "what the pooled quote holds is paid");
    assert.equal(t.globals.pooledQuote, 0n);
    const u = poolAboveTotal();
    await refuses(u, [fee(u.feePool)], FEE_OUTCOME, { oracle: null, forcedOutcome: () => true });
  });
});
