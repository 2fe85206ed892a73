pragma circom 2.1.0;

/// SETTLE (DERIVATIVES.md "SETTLE"). Proves, when isSettle (0 or 1): the instrument has settled
/// (notSettled = 0), A's position sizeA closes (aDelta = -sizeA) and A is paid its payoff
/// aCash = sizeA * instrumentMark (a settled instrument's mark is its payoff per lot); both 0
/// otherwise. No signature: expiry is not optional. Bad debt it leaves is BadDebt's.
template Settle() {
    signal input isSettle;
    signal input notSettled;
    signal input sizeA;
    signal input instrumentMark;
    signal output aDelta;
    signal output aCash;
    isSettle * notSettled === 0;
    signal settlePayoff <== sizeA * instrumentMark;
    signal aSettleCash <== isSettle * settlePayoff;
    signal settleDelta <== isSettle * sizeA;
    aCash <== aSettleCash;
    aDelta <== -settleDelta;
}
