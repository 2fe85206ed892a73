pragma circom 2.1.0;

include "../../generated/protocol.circom";
include "../../lib/compressedKey.circom";
include "../../lib/curvePoint.circom";

/// REGISTER_KEY (SPEC.md "REGISTER_KEY", "Keys"). Proves: when isReg (0 or 1), the key written for
/// account A is (pubKeyX, pubKeyY) and it is on Baby Jubjub; keyDelta is what the slot adds to A's stored
/// key (aPubX, aPubY), 0 when not isReg. (hi, lo) is the record's compressed key y | signX << 255, which
/// binds only y and the sign of x: the curve check is what stops the operator choosing x. y is
/// decomposed without the alias check: y + p would give a record other than the custodian's queued
/// one (its key has y < p), which the custodian refuses.
template RegisterKey() {
    signal input isReg;
    signal input pubKeyX;
    signal input pubKeyY;
    signal input aPubX;
    signal input aPubY;
    signal output keyDelta[2];
    signal output hi;
    signal output lo;
    component keyOnCurve = OnCurveIfEnabled();
    keyOnCurve.enabled <== isReg;
    keyOnCurve.x <== pubKeyX;
    keyOnCurve.y <== pubKeyY;
    component key = CompressedKey(RECORD_LO_BITS_REGISTER_KEY_pubKey());
    key.x <== pubKeyX;
    key.y <== pubKeyY;
    hi <== key.hi;
    lo <== key.lo;
    keyDelta[0] <== isReg * (pubKeyX - aPubX);
    keyDelta[1] <== isReg * (pubKeyY - aPubY);
}
