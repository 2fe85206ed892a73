/**
 * Positions larger than one record can move (review of 2026-12-05): a position may grow to 2^47 lots over several
 * fills, while a LIQUIDATE's or DELEVERAGE's lots and the liquidator order's size and price are 40-bit fields. An
 * update that must liquidate or deleverage such a position closes at most MAX_CLOSE_LOTS per record (the rest at
 * later passes), and a mark beyond the highest price an order can name is not liquidated by order (logged): the
 * update is accepted, logged and proven, and nothing is rejected. Before, the liquidator's order threw a RangeError
 * out of intake after the update was half applied and never logged (a restart could not replay the batches that
 * followed), and a deleverage of the whole position was refused by the builder (BAD_QUANTITY) at every update.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InstrumentKind, Side, TxType } from "../../../sequencer/protocol/constants.ts";
import { signTransfer } from "../../../sequencer/protocol/signing.ts";
import type { InstrumentSpec } from "../../../sequencer/protocol/transactions.ts";
import { MAX_CLOSE_LOTS } from "../../../sequencer/service/derivatives.ts";
import type { Sequencer } from "../../../sequencer/service/sequencer.ts";
import { derivOrder, NOW, oracleUpdate, traders } from "../../helpers/derivatives.ts";
import { openDerivativesSequencer } from "../../helpers/derivativesSequencer.ts";

const { alice, bob, carol } = traders;
// A perpetual on a $1 underlying with lots of 1e-5 units (lotSizeE6 = 10), tick value 1: a lot is worth 10 quote
// units. The custodian's registration rules accept it (lot size in (0, 2^40), an exact tick value).
const CHEAP = {
  kind: InstrumentKind.PERPETUAL, underlying: 0, lotSizeE6: 10n, tickValue: 1n, imPpm: 100_000n, mmPpm: 50_000n, strike: 0n, expiry: 0, fundingCapPpm: 1_000n,
} as InstrumentSpec;
const ONE_DOLLAR = 100_000_000n;
const COLLATERAL = 3_000_000_000_000n;
const FILLS = [1n << 39n, (1n << 39n) + (1n << 38n)]; // each order below 2^40 lots; together 2^40 + 2^38

type Chain = { now: number; posted: number; lastTimestamp: number };

/** Alice long and Bob short `fills` lots together (proven) at `price`, Alice's collateral down to her initial margin. */
async function bigPosition(spec: InstrumentSpec, price: bigint, priceTicks: bigint, fills: bigint[]): Promise<{ seq: Sequencer; chain: Chain; rejected: string[] }> {
  const chain = { now: NOW, posted: 0, lastTimestamp: 0 };
  const seq = openDerivativesSequencer(chain);
  const rejected: string[] = [];
  seq.events.on("rejected", (r: { code: string; tx: { type: number } }) => rejected.push(`${r.tx.type}:${r.code}`));
  for (const t of [alice, bob, carol]) seq.acceptRequest({ type: TxType.REGISTER_KEY, accountId: t.accountId, pubKey: t.pubKey });
  for (const t of [alice, bob, carol]) seq.acceptRequest({ type: TxType.DEPOSIT, accountId: t.accountId, tokenId: 0, amount: COLLATERAL });
  seq.acceptRequest({ type: TxType.REGISTER_INSTRUMENT, instrumentId: 0, ...spec });
  await seq.acceptOracleUpdate(oracleUpdate({ time: NOW, prices: [price] }));
  await seq.drain();
  for (const t of [alice, bob, carol]) seq.requestTransfer(signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: COLLATERAL, nonce: 0 }));
  fills.forEach((sizeLots, k) => seq.placeOrder(derivOrder(bob, 0, { orderId: BigInt(k + 1), side: Side.SELL, priceTicks, sizeLots })));
  fills.forEach((sizeLots, k) => seq.placeOrder(derivOrder(alice, 0, { orderId: BigInt(k + 1), side: Side.BUY, priceTicks, sizeLots })));
  await seq.drain();
  const m = seq.derivatives.risk.margin(alice.accountId)!;
  seq.requestTransfer(signTransfer(alice.key, { accountId: alice.accountId, toCollateral: false, amount: m.equity - m.im - 1000n, nonce: 1 }));
  await seq.drain();
  assert.equal(seq.state.account(alice.accountId).deriv.positions[0].size, fills.reduce((x, y) => x + y));
  return { seq, chain, rejected };
}

describe("positions beyond what one LIQUIDATE or DELEVERAGE moves (2^40 lots)", () => {
  it("an update that must liquidate a position of 2^40 + 2^38 lots is accepted; the liquidation takes at most 2^40 - 1 lots and is proven", async () => {
    const { seq, chain, rejected } = await bigPosition(CHEAP, ONE_DOLLAR, 10n, FILLS);
    chain.now = NOW + 60;
    const out = await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 60, prices: [95_000_000n] }));
    assert.ok(out.liquidations.length > 0, "alice is liquidated");
    for (const [, , lots] of out.liquidations) assert.ok(lots <= MAX_CLOSE_LOTS, `liquidated ${lots} lots in one record`);
    const before = seq.state.account(alice.accountId).deriv.positions[0].size;
    await seq.drain();
    assert.deepEqual(rejected, []);
    assert.equal(seq.state.globals.oracleTime, NOW + 60, "the update is proven");
    assert.ok(seq.state.account(alice.accountId).deriv.positions[0].size < before, "the proven position shrank");
  });

  it("a bankruptcy beyond the fund deleverages such a position in records of at most 2^40 - 1 lots, each proven, none refused", async () => {
    const { seq, chain, rejected } = await bigPosition(CHEAP, ONE_DOLLAR, 10n, FILLS);
    chain.now = NOW + 60;
    const out = await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 60, prices: [85_000_000n] }));
    const moved = out.deleveraged.filter(([, , , lots]) => lots > 0n);
    assert.ok(moved.length > 0, "alice's position is deleveraged");
    for (const [, , , lots] of moved) assert.ok(lots <= MAX_CLOSE_LOTS, `deleveraged ${lots} lots in one record`);
    await seq.drain();
    assert.deepEqual(rejected, [], "no DELEVERAGE refused (BAD_QUANTITY)");
    assert.equal(seq.state.globals.oracleTime, NOW + 60);
    assert.equal(seq.derivatives.latest?.time, NOW + 60, "intake keeps the update");
  });

  it("a position whose mark is beyond the highest price an order can name (2^40 ticks) is not liquidated by order: the update is accepted, logged and proven", async () => {
    // lots of 100 units, tick value 1: at 12,000 quote per unit a lot is marked at 1.2e12 ticks
    const FINE = { ...CHEAP, lotSizeE6: 100_000_000n } as InstrumentSpec;
    const P = 1_200_000_000_000n;
    const { seq, chain, rejected } = await bigPosition(FINE, P, (1n << 40n) - 1n, [1n]);
    chain.now = NOW + 60;
    const out = await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 60, prices: [(P * 94n) / 100n] }));
    assert.deepEqual(out.liquidations, []);
    assert.equal(seq.derivatives.latest?.time, NOW + 60, "intake uses the update");
    // a transfer judged at it is proven with it
    seq.requestTransfer(signTransfer(carol.key, { accountId: carol.accountId, toCollateral: false, amount: 1_000n, nonce: 1 }));
    await seq.drain();
    assert.deepEqual(rejected, []);
    assert.equal(seq.state.globals.oracleTime, NOW + 60, "the update is proven");
  });
});
