/** Signed messages: the API's stream-auth message is domain-separated from every message the circuit checks. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { verifyMessage } from "../../../sequencer/crypto/babyjub.ts";
import { ApiDomain, Domain } from "../../../sequencer/protocol/constants.ts";
import { cancelMessage, streamAuthMessage } from "../../../sequencer/protocol/messages.ts";
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
