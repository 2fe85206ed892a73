/**
 * Signed messages: the API's stream-auth message is domain-separated from every message the circuit checks; the
 * order-time rule (orderTimeFault) keeps the liquidator's orders fillable.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { verifyMessage } from "../../../sequencer/crypto/babyjub.ts";
import { ApiDomain, Domain, IMMEDIATE_ORDER_TTL, MAX_ORACLE_AGE, OrderType, Side, TimeInForce } from "../../../sequencer/protocol/constants.ts";
import { cancelMessage, orderTimeFault, streamAuthMessage, type Order } from "../../../sequencer/protocol/messages.ts";
import { signStreamAuth } from "../../../sequencer/protocol/signing.ts";
import { testTrader } from "../../helpers/traders.ts";

describe("stream auth message", () => {
  it("uses a tag no circuit message uses, binds account and challenge, and its signature is no cancel", () => {
    const circuitTags = new Set<bigint>(Object.values(Domain));
    for (const tag of Object.values(ApiDomain)) assert.equal(circuitTags.has(tag), false);
    const t = testTrader(1);
    const auth = signStreamAuth(t.key, { accountId: 1, challenge: 5n });
    assert.equal(verifyMessage(streamAuthMessage(auth), auth.signature, t.pubKey), true);
    assert.equal(verifyMessage(streamAuthMessage({ accountId: 1, challenge: 6n }), auth.signature, t.pubKey), false);
    assert.equal(verifyMessage(streamAuthMessage({ accountId: 2, challenge: 5n }), auth.signature, t.pubKey), false);
    assert.equal(verifyMessage(cancelMessage({ accountId: 1, orderId: 5n }), auth.signature, t.pubKey), false);
    assert.throws(() => streamAuthMessage({ accountId: 1, challenge: 1n << 128n }), RangeError);
  });
});

describe("order time", () => {
  it("a liquidator's IOC order, expiring IMMEDIATE_ORDER_TTL after the update it acts on, is fillable at every stamp a batch using that update may have (MAX_ORACLE_AGE <= IMMEDIATE_ORDER_TTL)", () => {
    const updateTime = 1_700_000_000;
    const order: Order = {
      accountId: 3, orderId: 1n, marketId: 0x8000, side: Side.BUY, type: OrderType.LIMIT, timeInForce: TimeInForce.IOC,
      priceTicks: 1n, sizeLots: 1n, maxFeePpm: 0, expiry: updateTime + IMMEDIATE_ORDER_TTL,
    };
    for (let stamp = updateTime; stamp <= updateTime + MAX_ORACLE_AGE; stamp += 30) assert.equal(orderTimeFault(order, stamp), null, `stamp ${stamp}`);
    assert.equal(orderTimeFault(order, updateTime - 1)?.code, "IMMEDIATE_EXPIRY_TOO_FAR", "the window's other end: the rule can refuse");
    assert.ok(MAX_ORACLE_AGE <= IMMEDIATE_ORDER_TTL);
  });
});
