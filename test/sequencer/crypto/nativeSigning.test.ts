// The native signer against circomlibjs's signPoseidon (babyjub.ts#signMessage): the same signature, bit for
// bit, for many keys and messages (the edges 0 and p - 1 included), each accepted by the reference verifier;
// a key of the wrong length is refused. Skipped when the native addon is not built (`npm run build:native`).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { isNativeAvailable, nativeUnavailableReason } from "../../../fpga-prover/native/index.ts";
import { publicKeyOf, signMessage, verifyMessage } from "../../../sequencer/crypto/babyjub.ts";
import { nativeSigner } from "../../../sequencer/crypto/nativeSigning.ts";
import { FIELD_MODULUS } from "../../../sequencer/protocol/constants.ts";

const skip = isNativeAvailable() ? false : `${nativeUnavailableReason()}`;
const key = (i: number) => Uint8Array.from(createHash("sha256").update(`native signing key ${i}`).digest());
const message = (i: number) => BigInt(`0x${createHash("sha256").update(`message ${i}`).digest("hex")}`) % FIELD_MODULUS;

describe("nativeSigner", { skip }, () => {
  it("signs exactly as circomlibjs's signPoseidon, and the reference verifier accepts it", () => {
    for (let k = 0; k < 4; k++) {
      const signer = nativeSigner(key(k))!;
      assert.deepEqual(signer.publicKey, publicKeyOf(key(k)));
      for (const m of [0n, 1n, FIELD_MODULUS - 1n, message(k), message(k + 100)]) {
        const sig = signer.sign(m);
        assert.deepEqual(sig, signMessage(key(k), m), `key ${k}, message ${m}`);
        assert.ok(verifyMessage(m, sig, signer.publicKey));
      }
    }
  });

  it("gives different signatures to different messages, and one key's signature fails under another key", () => {
    const a = nativeSigner(key(1))!;
    const b = nativeSigner(key(2))!;
    const sig = a.sign(message(7));
    assert.notDeepEqual(sig, a.sign(message(8)));
    assert.equal(verifyMessage(message(7), sig, b.publicKey), false);
  });

  it("refuses a private key that is not 32 bytes", () => {
    assert.throws(() => nativeSigner(new Uint8Array(31)), /32 bytes/);
  });
});
