pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/compconstant.circom";

/// Proves: (hi, lo) is the compressed Baby Jubjub key y | signX << 255 of (x, y), split as
/// lo = its low loBits bits and hi = the rest, with signX = 1 iff x > (p-1)/2 (x decomposed canonically).
template CompressedKey(loBits) {
    signal input x;
    signal input y;
    signal output hi;
    signal output lo;
    component xBits = Num2Bits_strict();
    xBits.in <== x;
    component xSign = CompConstant(10944121435919637611123202872628637544274182200208017171849102093287904247808);
    xSign.in <== xBits.out;
    component yBits = Num2Bits(254);
    yBits.in <== y;
    var keyLo = 0;
    var keyHi = 0;
    for (var k = 0; k < loBits; k++) keyLo += yBits.out[k] * (1 << k);
    for (var k = loBits; k < 254; k++) keyHi += yBits.out[k] * (1 << (k - loBits));
    keyHi += xSign.out * (1 << (255 - loBits));
    hi <== keyHi;
    lo <== keyLo;
}

/// Proves: bits[0..256) (most significant first) are the compressed key y | signX << 255 of (x, y).
template CompressedKeyBits() {
    signal input x;
    signal input y;
    signal output bits[256];
    component key = CompressedKey(48);
    key.x <== x;
    key.y <== y;
    component hiBits = Num2Bits(208);
    hiBits.in <== key.hi;
    component loBits = Num2Bits(48);
    loBits.in <== key.lo;
    for (var i = 0; i < 208; i++) bits[i] <== hiBits.out[207 - i];
    for (var i = 0; i < 48; i++) bits[208 + i] <== loBits.out[47 - i];
}
