pragma circom 2.1.0;

include "circomlib/circuits/comparators.circom";

/// Bad debt of a LIQUIDATE or a SETTLE (DERIVATIVES.md "Insurance fund"). Proves: cover =
/// min(-equity, insuranceIn) when isLiq or isSettle (at most one, 0 or 1) leaves account A with no
/// position (every aSizeNew is 0) and negative equity (solvent = 0), and cover = 0 otherwise. What
/// the fund cannot cover stays on A. equity is A's equity after the transaction, before penalty and
/// cover (a liquidation's penalty is 0 when equity < 0); the slot pays cover from the fund to A.
template BadDebt(N) {
    signal input isLiq;
    signal input isSettle;
    signal input equity;
    signal input solvent;
    signal input aSizeNew[N];
    signal input insuranceIn;
    signal output cover;
    var flatCount = 0;
    component flat[N];
    for (var j = 0; j < N; j++) {
        flat[j] = IsZero();
        flat[j].in <== aSizeNew[j];
        flatCount += flat[j].out;
    }
    component allFlat = IsEqual();
    allFlat.in[0] <== flatCount;
    allFlat.in[1] <== N;
    signal underwater <== (isLiq + isSettle) * (1 - solvent);
    signal deficitCase <== underwater * allFlat.out;
    signal deficit <== deficitCase * (0 - equity);
    component fundShort = LessThan(134);
    fundShort.in[0] <== insuranceIn;
    fundShort.in[1] <== deficit;
    cover <== deficit + fundShort.out * (insuranceIn - deficit);
}
