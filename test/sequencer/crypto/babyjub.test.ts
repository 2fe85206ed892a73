/** The one rule for trading and oracle keys (publicKeyFault), and what the circuit's verifier does with each kind of point. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { isValidPublicKey, publicKeyFault, publicKeyOf, type PublicKey } from "../../../sequencer/crypto/babyjub.ts";
import { FIELD_MODULUS as P } from "../../../sequencer/protocol/constants.ts";

const key = publicKeyOf(new Uint8Array(32).fill(5));

describe("publicKeyFault", () => {
  it("accepts a key derived from a private key, with either sign of x", () => {
    assert.equal(publicKeyFault(key), null);
    assert.equal(publicKeyFault([P - key[0], key[1]]), null);
    assert.equal(isValidPublicKey(key), true);
  });
  it("refuses an x off the curve with the key's y (the compressed record the same)", () => {
    assert.equal(publicKeyFault([key[0] + 1n, key[1]]), "not on Baby Jubjub");
    assert.equal(isValidPublicKey([key[0] + 1n, key[1]]), false);
  });
  it("refuses coordinates not below p, even when they reduce to the key", () => {
    assert.match(publicKeyFault([key[0] + P, key[1]])!, /canonical/);
    assert.match(publicKeyFault([key[0], key[1] + P])!, /canonical/);
    assert.match(publicKeyFault([-1n, key[1]])!, /canonical/);
  });
  it("refuses the identity and the points of small order", () => {
    assert.equal(publicKeyFault([0n, 1n]), "the identity");
    assert.match(publicKeyFault([0n, P - 1n])!, /small order/);
  });
  it("refuses a key of mixed order (the key plus the point of order 2)", () => {
    const mixed: PublicKey = [P - key[0], P - key[1]];
    assert.match(publicKeyFault(mixed)!, /mixed order/);
  });
});
