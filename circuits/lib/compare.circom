pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";

/// Proves: when enabled (0 or 1), a <= b, for a, b < 2^n (the caller range-checks both; circomlib LessEqThan).
template RequireLessEq(n) {
    signal input enabled;
    signal input a;
    signal input b;
    component le = LessEqThan(n);
    le.in <== [a, b];
    enabled * (1 - le.out) === 0;
}

/// Proves: when enabled (0 or 1), 0 <= a - b < 2^n, i.e. a >= b for values whose difference is below
/// p - 2^n in magnitude (the callers' range-checked values are far smaller).
template RequireGreaterEq(n) {
    signal input enabled;
    signal input a;
    signal input b;
    component d = Num2Bits(n);  // inspect: a range check; its bits are not used
    d.in <== enabled * (a - b);
}
