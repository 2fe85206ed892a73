/** The log's JSON encoding keeps bigints (any sign and size) and leaves every other value as it was. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeJson, encodeJson } from "../../../sequencer/persistence/codec.ts";

describe("log codec", () => {
  it("round-trips bigints nested in objects and arrays, and plain values unchanged", () => {
    const value = { a: 1n, b: [-5n, 0n, (1n << 253n) + 7n], c: { d: "123", e: "0xabc", f: 3, g: null, h: true }, i: "12n3" };
    assert.deepEqual(decodeJson(encodeJson(value)), value);
    assert.equal(encodeJson({ x: 10n }), '{"x":"10n"}');
  });

  it("throws on text that is not JSON", () => {
    assert.throws(() => decodeJson("{not json"), SyntaxError);
  });
});
