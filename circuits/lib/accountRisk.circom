pragma circom 2.1.0;

include "../generated/protocol.circom";
include "./fixed/fixed.circom";

/// Proves: equity = c + sum size[i] * mark[i] and req = sum |size[i]| * (size[i] > 0 ? long[i] : short[i]);
/// every size is range-checked to BITS_POSITIONSIZE signed bits and c to BITS_COLLATERAL; cNonNeg is 1
/// exactly when c >= 0, sizeNonNeg[i] exactly when size[i] >= 0.
template AccountRisk(N) {
    signal input c;
    signal input size[N];
    signal input mark[N];
    signal input long[N];
    signal input short[N];
    signal output equity;
    signal output req;
    signal output cNonNeg;
    signal output sizeNonNeg[N];
    component cRange = SignedRange(BITS_COLLATERAL());
    cRange.in <== c;
    cNonNeg <== cRange.nonNeg;
    component sign[N];
    signal value[N];
    signal abs[N];
    signal rate[N];
    signal need[N];
    var e = c;
    var r = 0;
    for (var i = 0; i < N; i++) {
        sign[i] = SignedRange(BITS_POSITIONSIZE());
        sign[i].in <== size[i];
        sizeNonNeg[i] <== sign[i].nonNeg;
        value[i] <== size[i] * mark[i];
        abs[i] <== (2 * sign[i].nonNeg - 1) * size[i];
        rate[i] <== short[i] + sign[i].nonNeg * (long[i] - short[i]);
        need[i] <== abs[i] * rate[i];
        e += value[i];
        r += need[i];
    }
    equity <== e;
    req <== r;
}
