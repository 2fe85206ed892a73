pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "../generated/protocol.circom";

/// The protocol's one rounding of a rate in parts per million (sequencer/protocol/fees.ts feeAmount,
/// derivatives/formulas.ts ceilDiv): amounts charged at a ppm rate (trade fees, margins, the
/// liquidation penalty) round up, never in the trader's favour.
///
/// Proves: 0 <= q * 10^6 - a * ppm < 10^6 in the field (two 20-bit range checks of the remainder:
/// 2^20 > 10^6), i.e. q = ceil(a * ppm / 10^6) as integers when a * ppm and q * 10^6 are below 2^252.
/// a and ppm are range-checked by the caller; so is q, or it must be pinned otherwise: unchecked,
/// q = (a * ppm + r) / 10^6 mod p passes for every r < 10^6 (see DerivSlot's `isLiq * sellFee === 0`).
/// q is an input so that a slot checks the fee its witness carries (and a test can feed a wrong one).
template CeilPpmCheck() {
    signal input a;
    signal input ppm;
    signal input q;
    signal rem <== q * PPM() - a * ppm;
    component remBits = Num2Bits(20);  // inspect: a range check (rem >= 0); its bits are not used
    remBits.in <== rem;
    component gapBits = Num2Bits(20);  // inspect: a range check (rem < 10^6); its bits are not used
    gapBits.in <== PPM() - 1 - rem;
}

/// Proves: out = ceil(a * ppm / 10^6) (CeilPpmCheck) and out in [0, 2^nq); out is a witness hint.
template CeilPpm(nq) {
    signal input a;
    signal input ppm;
    signal output out;
    out <-- (a * ppm + PPM() - 1) \ PPM();
    component outBits = Num2Bits(nq);  // inspect: a range check; its bits are not used
    outBits.in <== out;
    component check = CeilPpmCheck();
    check.a <== a;
    check.ppm <== ppm;
    check.q <== out;
}
