/** The SDK's JSON: protocol bigints round-trip through decimal strings; other strings and numbers stay as they are. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fromJson, toJson } from "../../../sequencer/sdk/wire.ts";

describe("sdk wire encoding", () => {
  it("revives only the protocol's bigint fields", () => {
    const v = { orderId: 12n, priceTicks: 0n, accountId: 3, txHash: "0x12", status: "open", levels: [{ priceTicks: 5n, lots: 2n, orders: 1 }] };
    const text = toJson(v);
    assert.equal(text.includes('"orderId":"12"'), true);
    assert.deepEqual(fromJson(text), v);
    assert.deepEqual(fromJson('{"orderId":"x1","code":"7"}'), { orderId: "x1", code: "7" }, "not a decimal, or not a bigint field: kept");
  });
});
