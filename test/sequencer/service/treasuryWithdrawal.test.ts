/**
 * The treasury's withdrawals in the sequencer (issue 12), on a fake custodian: a FEE_WITHDRAW or
 * INSURANCE_WITHDRAW the custodian's operator queued enters the core like any request, waits behind everything
 * pending (so the batch judges it on the state intake has when it arrives), and is proven honoured or refused
 * by the rule the circuit proves; a refused one never blocks settlement, and intake's view of the insurance fund
 * stays the proven one.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Side, TxType } from "../../../sequencer/protocol/constants.ts";
import { signTransfer } from "../../../sequencer/protocol/signing.ts";
import type { BatchTx } from "../../../sequencer/protocol/transactions.ts";
import { derivOrder, NOW, oracleUpdate, traders } from "../../helpers/derivatives.ts";
import { derivativesSequencer, DEPOSIT } from "../../helpers/derivativesSequencer.ts";

const { alice, bob, carol } = traders;
const PERP = 0;
const fee = (amount: bigint): BatchTx => ({ type: TxType.FEE_WITHDRAW, amount });
const insurance = (amount: bigint): BatchTx => ({ type: TxType.INSURANCE_WITHDRAW, amount });

/** A derivatives sequencer whose traders hold all their deposit as collateral, at the oracle update of NOW. */
async function funded() {
  const { seq, chain } = derivativesSequencer(NOW);
  await seq.acceptOracleUpdate(oracleUpdate({ time: NOW }));
  await seq.drain();
  for (const t of [alice, bob, carol]) seq.requestTransfer(signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: DEPOSIT, nonce: 0 }));
  await seq.drain();
  return { seq, chain };
}

/** alice buys `lots` perpetual lots from bob at 3,000 (taker and maker fees into the pool). */
function trade(seq: Awaited<ReturnType<typeof funded>>["seq"], lots: bigint, orderId: bigint): void {
  seq.placeOrder(derivOrder(bob, PERP, { orderId, side: Side.SELL, priceTicks: 300_000n, sizeLots: lots }));
  const events = seq.placeOrder(derivOrder(alice, PERP, { orderId, side: Side.BUY, priceTicks: 300_000n, sizeLots: lots }));
  assert.equal(events.filter((e) => e.type === "fill").length, 1);
}

describe("treasury withdrawals in the sequencer", () => {
  it("pays the fee pool out when it covers the amount, judged after the trades queued before it; refuses more, settlement going on", async () => {
    const { seq } = await funded();
    trade(seq, 100n, 1n);
    await seq.drain();
    const pool = seq.state.feePool;
    assert.ok(pool > 0n, "the trade's fees are in the pool");

    seq.acceptRequest(fee(pool + 1n));
    await seq.drain();
    assert.equal(seq.state.feePool, pool, "refused: the pool is unchanged");
    assert.equal(seq.pendingTransactions, 0, "the refusal was proven: nothing waits");

    // A second trade is pending when the request arrives: the request waits behind it, so its fees count.
    trade(seq, 100n, 2n);
    seq.acceptRequest(fee(2n * pool));
    assert.equal(seq.peekPending().at(-1)?.type, TxType.FEE_WITHDRAW, "queued behind the pending trade");
    await seq.drain();
    assert.equal(seq.state.feePool, 0n, "honoured: both trades' fees paid out");
  });

  it("pays the insurance fund out only as far as it holds; a deficit beyond it draws the fund first, then is deleveraged; intake's view stays the proven one", async () => {
    const { seq, chain } = await funded();
    trade(seq, 15_000n, 1n);
    chain.now = NOW + 10;
    assert.deepEqual((await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 10, prices: [280_000_000_000n] }))).liquidations, [[alice.accountId, PERP, 15_000n]]);
    await seq.drain();
    const fund = seq.state.globals.insuranceFund;
    assert.ok(fund > 1_000_000n, "alice's penalty funds the insurance fund");
    assert.equal(seq.state.globals.badDebt, 0n);

    seq.acceptRequest(insurance(fund + 1n));
    seq.acceptRequest(insurance(1_000_000n));
    assert.equal(seq.derivatives.risk.insuranceFund, fund - 1_000_000n, "intake predicts: the first refused, the second honoured");
    await seq.drain();
    assert.equal(seq.state.globals.insuranceFund, fund - 1_000_000n, "proven: the same");

    // A gap to 3,400 leaves bob (short the 15,000 lots he sold alice) under water by more than the fund holds:
    // carol, who took alice's long, takes his short at the mark and pays what the fund does not (DELEVERAGE).
    // (The withdrawal rule with open bad debt left, fund >= amount + badDebt, is test/circuits/treasuryWithdraw.test.ts's.)
    chain.now = NOW + 20;
    const outcome = await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 20, prices: [340_000_000_000n] }));
    assert.deepEqual([outcome.liquidations, outcome.deleveraged], [[], [[bob.accountId, carol.accountId, PERP, 15_000n]]]);
    await seq.drain();
    const bobAfter = seq.state.account(bob.accountId).deriv;
    assert.ok(bobAfter.collateral === 0n && bobAfter.positions.every((p) => p.size === 0n), "bob is flat and made whole");
    assert.equal(seq.state.globals.insuranceFund, 0n, "the fund paid all it held, first");
    assert.equal(seq.state.globals.badDebt, 0n, "nothing is left as open bad debt");
    assert.equal(seq.derivatives.risk.badDebt, seq.state.globals.badDebt, "intake sees the same debt");

    seq.acceptRequest(insurance(1n));
    await seq.drain();
    assert.equal(seq.state.globals.insuranceFund, 0n, "refused: the fund is empty");
    assert.equal(seq.derivatives.risk.insuranceFund, seq.state.globals.insuranceFund);
    assert.equal(seq.pendingTransactions, 0);
  });
});
