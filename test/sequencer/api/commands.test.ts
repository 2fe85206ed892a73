/**
 * CommandGateway, the shared write path of HTTP and WebSocket: every outcome maps to one code
 * (MALFORMED, UNSIGNED, the Sequencer's refusal, the engine's 422, RATE_LIMITED), refusals change
 * nothing, an account's rate limit is charged only for requests it signed, and batch items are
 * answered one by one.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CommandGateway, engineOutcome } from "../../../sequencer/api/commands.ts";
import { ApiError } from "../../../sequencer/api/errors.ts";
import { OrderIntake } from "../../../sequencer/api/orderIntake.ts";
import { toJson } from "../../../sequencer/api/schemas.ts";
import { Side } from "../../../sequencer/protocol/constants.ts";
import { signCancel, signWithdrawal } from "../../../sequencer/sdk/signing.ts";
import { order } from "../../helpers/traders.ts";
import { alice, bob, offlineSequencer } from "../../helpers/sequencer.ts";

/** A body as it arrives off the wire: bigints as decimal strings. */
const wire = (x: unknown): unknown => JSON.parse(toJson(x));

function gateway(limits?: ConstructorParameters<typeof CommandGateway>[2]) {
  const s = offlineSequencer();
  return { s, g: new CommandGateway(s, new OrderIntake(s), limits) };
}

const codeOf = async (p: Promise<unknown> | (() => unknown)) => {
  try {
    await (typeof p === "function" ? p() : p);
    return "ok";
  } catch (e) {
    assert.ok(e instanceof ApiError, String(e));
    return `${e.statusCode} ${e.code}`;
  }
};

describe("CommandGateway", () => {
  it("maps every refusal to its status and code, and changes nothing", async () => {
    const { s, g } = gateway();
    assert.equal(await codeOf(g.placeOrder(wire(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n })), "a")), "ok");
    const n = s.pendingTransactions;
    const book = s.engine.depth(0);
    assert.deepEqual(
      [
        await codeOf(g.placeOrder(wire({ accountId: 1 }), "a")),
        await codeOf(g.placeOrder(wire({ ...order(alice, { orderId: 1n, side: Side.BUY }), signature: undefined }), "a")),
        await codeOf(g.placeOrder(wire(order(bob, { orderId: 1n, side: Side.SELL })), "a")),
        await codeOf(g.placeOrder(wire(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 1n << 30n })), "a")),
        await codeOf(() => g.cancel(wire(signCancel(alice.key, { accountId: 1, orderId: 5n })), "a")),
        await codeOf(() => g.withdraw(wire(signWithdrawal(alice.key, { accountId: 1, tokenId: 0, amount: 1n, nonce: 3 })), "a")),
      ],
      ["400 MALFORMED", "400 UNSIGNED", "400 ORDER_ID_REUSED", "422 RISK_REJECTED", "422 UNKNOWN_ORDER", "400 BAD_NONCE"],
    );
    assert.equal(s.pendingTransactions, n);
    assert.deepEqual(s.engine.depth(0), book);
    assert.throws(() => engineOutcome([{ type: "rejected", accountId: 1, orderId: 1n, code: "WOULD_CROSS" }]), (e: ApiError) => e.statusCode === 422 && "events" in e.extra);
  });

  it("answers batch items one by one", async () => {
    const { g } = gateway();
    const { results } = await g.cancelBatch(wire({ cancels: [signCancel(bob.key, { accountId: 2, orderId: 1n }), signCancel(alice.key, { accountId: 2, orderId: 1n })] }), "a");
    assert.deepEqual(results.map((r) => [r.status, (r as { code?: string }).code]), [[422, "UNKNOWN_ORDER"], [400, "BAD_SIGNATURE"]]);
  });

  it("charges an account's rate limit only for requests it signed: junk sent in its name does not drain its allowance", async () => {
    const { s, g } = gateway({ perAccount: { perSecond: 0.001, burst: 1 }, perSource: null });
    const forged = <T extends object>(signed: T, by: { signature: unknown }) => wire({ ...signed, signature: by.signature });
    const other = order(alice, { orderId: 9n, side: Side.BUY });
    for (let i = 0; i < 3; i++) {
      assert.equal(await codeOf(g.placeOrder(forged(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n }), other), "mallory")), "400 BAD_SIGNATURE");
      assert.equal(await codeOf(() => g.cancel(forged(signCancel(bob.key, { accountId: 2, orderId: 1n }), other), "mallory")), "400 BAD_SIGNATURE");
      assert.equal(await codeOf(() => g.withdraw(forged(signWithdrawal(bob.key, { accountId: 2, tokenId: 0, amount: 1n, nonce: 0 }), other), "mallory")), "400 BAD_SIGNATURE");
    }
    const junkBatch = await g.placeOrderBatch(wire({ orders: [forged(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n }), other)] }), "mallory");
    assert.deepEqual(junkBatch.results.map((r) => r.status), [400]);
    assert.equal(await codeOf(g.placeOrder(wire(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n })), "a")), "ok", "bob's allowance is whole");
    assert.equal(await codeOf(g.placeOrder(wire(order(bob, { orderId: 2n, side: Side.SELL, priceTicks: 90n })), "a")), "429 RATE_LIMITED");
    const n = s.pendingTransactions;
    assert.equal(await codeOf(() => g.withdraw(wire(signWithdrawal(bob.key, { accountId: 2, tokenId: 0, amount: 1n, nonce: 0 })), "a")), "429 RATE_LIMITED");
    assert.deepEqual([s.withdrawalNonce(2), s.pendingTransactions], [0, n], "a rate-limited request changes nothing");
    // A batch is charged item by item once each signature holds: alice's order goes in, bob's is limited.
    const { results } = await g.placeOrderBatch(wire({ orders: [order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 10n }), order(bob, { orderId: 3n, side: Side.SELL, priceTicks: 99n })] }), "a");
    assert.deepEqual(results.map((r) => [r.status, (r as { code?: string }).code]), [[200, undefined], [429, "RATE_LIMITED"]]);
    assert.deepEqual(s.engine.openOrders(2).map((o) => o.orderId), [1n]);
  });
});
