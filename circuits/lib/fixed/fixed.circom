pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";

// Q64 fixed-point gadgets (SPEC.md in this folder). A signed integer m is the field element m mod p;
// every value is range-checked so that no equation below wraps around the BN254 field, and every
// rounding is a floor (towards -infinity), exactly as sequencer/derivatives/blackScholes/fixedPoint.ts.

/// Witness helper (not a constraint): floor(n / d) for d > 0, n read as a signed integer.
function fxFloorDiv(n, d) {
    if (n < 0) {
        return -((-n + d - 1) \ d);
    }
    return n \ d;
}

/// Witness helper: floor(sqrt(n)) for 0 <= n < 2^250 (Newton iteration on integers).
function fxIsqrt(n) {
    if (n < 2) {
        return n;
    }
    var x = n;
    var y = (x + 1) \ 2;
    var done = 0;
    for (var i = 0; i < 400; i++) {
        if (done == 0) {
            if (y >= x) {
                done = 1;
            } else {
                x = y;
                y = (x + n \ x) \ 2;
            }
        }
    }
    return x;
}

/// Compile-time helper: the number of bits of v >= 0 (the n with v < 2^n, n >= 1), for Num2Bits widths.
function fxBitLength(v) {
    var n = 1;
    while ((1 << n) <= v) {
        n++;
    }
    return n;
}

/// Proves: in is an integer in [-2^(n-1), 2^(n-1)); nonNeg = 1 iff in >= 0.
template SignedRange(n) {
    signal input in;
    signal output nonNeg;
    component b = Num2Bits(n);  // inspect: a range check; only the top (sign) or the kept bits are used
    b.in <== in + (1 << (n - 1));
    nonNeg <== b.out[n - 1];
}

/// Proves: out = floor(in / 2^s), with in in [0, 2^n) (signed = 0) or in [-2^(n-1), 2^(n-1))
/// (signed = 1). Division by a power of two is the bit decomposition of in, so this is also in's
/// range check.
template ShiftRight(n, s, signed) {
    signal input in;
    signal output out;
    var off = signed == 1 ? 1 << (n - 1) : 0;
    component b = Num2Bits(n);  // inspect: a range check; only the top (sign) or the kept bits are used
    b.in <== in + off;
    var acc = 0;
    for (var i = s; i < n; i++) {
        acc += b.out[i] * (1 << (i - s));
    }
    out <== acc - (off >> s);
}

/// Proves: out = floor(a * b / 2^64) (FixedMul), with a * b in the n-bit range (signed or not).
template FixedMul(n, signed) {
    signal input a;
    signal input b;
    signal output out;
    signal prod <== a * b;
    component sh = ShiftRight(n, 64, signed);
    sh.in <== prod;
    out <== sh.out;
}

/// Proves: out = floor(c * a / 2^64) for the constant c, with c * a in the n-bit range (signed or not).
template FixedMulConst(c, n, signed) {
    signal input a;
    signal output out;
    component sh = ShiftRight(n, 64, signed);
    sh.in <== c * a;
    out <== sh.out;
}

/// Proves: num = q * den + r with 0 <= r < den (so den >= 1 and q = floor(num / den) as integers),
/// q in [0, 2^nq) (signedQ = 0) or [-2^(nq-1), 2^(nq-1)) (signedQ = 1), r < 2^nd, den < 2^(nd+1).
/// nq = 0: q's range check is left to the caller (who must make it, in the same circuit).
/// No wrap-around: the caller keeps |num| and 2^nq * 2^(nd+1) below 2^252.
/// q and r are inputs so that a test can feed a tampered quotient or remainder.
template DivCheck(nq, nd, signedQ) {
    signal input num;
    signal input den;
    signal input q;
    signal input r;
    num === q * den + r;
    component rBits = Num2Bits(nd);  // inspect: a range check; its bits are not used
    rBits.in <== r;
    component gap = Num2Bits(nd);  // inspect: a range check; its bits are not used
    gap.in <== den - 1 - r;
    if (nq > 0) {
        component qBits = Num2Bits(nq);  // inspect: a range check; its bits are not used
        qBits.in <== q + (signedQ == 1 ? 1 << (nq - 1) : 0);
    }
}

/// Proves: q = floor(num / den) (see DivCheck for the ranges); q and r are witness hints.
template DivFloor(nq, nd, signedQ) {
    signal input num;
    signal input den;
    signal output q;
    q <-- fxFloorDiv(num, den);
    signal r <-- num - q * den;  // inspect: a hint; DivCheck constrains it (num === q * den + r), <== would add a redundant constraint
    component c = DivCheck(nq, nd, signedQ);
    c.num <== num;
    c.den <== den;
    c.q <== q;
    c.r <== r;
}

/// Proves: out = floor(a * 2^64 / b) (FixedDiv): the Q64 quotient of two Q64 numbers, ranges as DivCheck.
template FixedDiv(nq, nd, signedQ) {
    signal input a;
    signal input b;
    signal output out;
    component d = DivFloor(nq, nd, signedQ);
    d.num <== a * (1 << 64);
    d.den <== b;
    out <== d.q;
}

/// Proves: root = floor(sqrt(in)), i.e. root^2 <= in < (root + 1)^2, for in < 2^(2n), root < 2^n.
/// root is an input so that a test can feed a wrong one.
template SqrtCheck(n) {
    signal input in;
    signal input root;
    component rootBits = Num2Bits(n);  // inspect: a range check; its bits are not used
    rootBits.in <== root;
    signal sq <== root * root;
    signal rem <== in - sq;
    component remBits = Num2Bits(n + 1);  // inspect: a range check; its bits are not used
    remBits.in <== rem;
    component gap = Num2Bits(n + 1);  // inspect: a range check; its bits are not used
    gap.in <== 2 * root - rem;
}

/// Proves: out = floor(sqrt(in)) for in < 2^(2n) (root is a witness hint checked by SqrtCheck).
template Sqrt(n) {
    signal input in;
    signal output out;
    out <-- fxIsqrt(in);
    component c = SqrtCheck(n);
    c.in <== in;
    c.root <== out;
}

/// Proves: out = 2^e where e = sum bits[i] 2^i (bits are boolean, checked by the caller).
template Pow2(n) {
    signal input bits[n];
    signal output out;
    signal acc[n];
    acc[0] <== 1 + bits[0];
    for (var i = 1; i < n; i++) {
        acc[i] <== acc[i - 1] * (1 + bits[i] * ((1 << (1 << i)) - 1));
    }
    out <== acc[n - 1];
}

/// Proves: out = table[j] where j = sum bits[i] 2^i (bits boolean, checked by the caller), as the
/// multilinear polynomial through the table: 2^n - n - 1 products of bits, then one linear sum.
template SelectConst(n, table) {
    signal input bits[n];
    signal output out;
    var size = 1 << n;
    // coefficient of the monomial prod_{i in mask} bits[i]: Moebius transform of the table
    var coef[size];
    for (var m = 0; m < size; m++) {
        coef[m] = table[m];
    }
    for (var i = 0; i < n; i++) {
        for (var m = 0; m < size; m++) {
            if (((m >> i) & 1) == 1) {
                coef[m] = coef[m] - coef[m ^ (1 << i)];
            }
        }
    }
    signal mono[size];
    mono[0] <== 1;
    var acc = coef[0];
    for (var m = 1; m < size; m++) {
        var top = 0;
        for (var i = 0; i < n; i++) {
            if (((m >> i) & 1) == 1) {
                top = i;
            }
        }
        var rest = m ^ (1 << top);
        if (rest == 0) {
            mono[m] <== bits[top];
        } else {
            mono[m] <== mono[rest] * bits[top];
        }
        acc += coef[m] * mono[m];
    }
    out <== acc;
}
