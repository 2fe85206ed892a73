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

/// Proves: out = 1 when a >= b, else 0, for |a - b| < 2^n (the caller range-checks a and b; the bit
/// decomposition of a - b + 2^n has no witness otherwise, so out is never wrong, at worst unprovable).
template GreaterEq(n) {
    signal input a;
    signal input b;
    signal output out;
    component d = Num2Bits(n + 1);  // inspect: a range check; only the top bit (the sign of a - b) is used
    d.in <== a - b + (1 << n);
    out <== d.out[n];
}

/// Proves: out = 1 when a >= b, else 0 (GreaterEq), and, when enabled (0 or 1), a >= b. A rule that
/// both requires the comparison of some transactions and reports it for others (the derivatives slot's
/// initial-margin rule: required by trades and transfers out, reported as a forced withdrawal's
/// outcome) uses this one gadget for both.
template GreaterEqRequiredWhen(n) {
    signal input enabled;
    signal input a;
    signal input b;
    signal output out;
    component ge = GreaterEq(n);
    ge.a <== a;
    ge.b <== b;
    out <== ge.out;
    enabled * (1 - out) === 0;
}
