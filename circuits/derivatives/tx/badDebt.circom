pragma circom 2.1.0;

include "circomlib/circuits/comparators.circom";

/// Bad debt of a LIQUIDATE, a SETTLE or a DELEVERAGE (DERIVATIVES.md "Insurance fund"). Proves: cover =
/// min(-equity, insuranceIn) when one of them (closing: 0 or 1) leaves account A with no
/// position (every aSizeNew is 0) and negative equity (solvent = 0), and cover = 0 otherwise. What
/// the fund cannot cover stays on A. equity is A's equity after the transaction, before penalty and
/// cover (a liquidation's penalty is 0 when equity < 0); the slot pays cover from the fund to A.
template BadDebt(N) {
    signal input closing;
    signal input equity;
    signal input solvent;
    signal input aSizeNew[N];
    signal input insuranceIn;
    signal output cover;
    signal output aFlat;        // 1 when every aSizeNew is 0
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
    aFlat <== allFlat.out;
    signal underwater <== closing * (1 - solvent);
    signal deficitCase <== underwater * allFlat.out;
    signal deficit <== deficitCase * (0 - equity);
    component fundShort = LessThan(134);
    fundShort.in[0] <== insuranceIn;
    fundShort.in[1] <== deficit;
    cover <== deficit + fundShort.out * (insuranceIn - deficit);
}

/// The open bad debt one account carries (DERIVATIVES.md "Insurance fund"): debt = -c when the account holds
/// no position (every size[j] is 0) and its collateral c is negative, and 0 otherwise. A LIQUIDATE or a
/// SETTLE whose deficit the fund cannot cover leaves such an account; the state's badDebt is the sum of
/// this over all accounts, which the derivatives slot keeps by adding, for each account it writes, the
/// debt after minus the debt before. The caller proves cNonNeg, c's sign (1 exactly when c >= 0): with
/// SignedRange, or AccountRisk's cNonNeg where it already range-checks c.
template OpenDebt(N) {
    signal input c;
    signal input cNonNeg;
    signal input size[N];
    signal output debt;
    var flatCount = 0;
    component flat[N];
    for (var j = 0; j < N; j++) {
        flat[j] = IsZero();
        flat[j].in <== size[j];
        flatCount += flat[j].out;
    }
    component allFlat = IsEqual();
    allFlat.in[0] <== flatCount;
    allFlat.in[1] <== N;
    signal flatShort <== allFlat.out * (1 - cNonNeg);
    debt <== flatShort * (0 - c);
}
