pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "./fixed.circom";
include "./constants.circom";

// Black-Scholes in Q64 fixed point (SPEC.md in this folder). Bit-exact with
// sequencer/derivatives/blackScholes/blackScholes.ts: same steps, same floors.

/// Witness helper: j + 64 where j is the unique shift with 70/99 <= s / (k 2^j) < 140/99.
function fxLnShift(s, k) {
    var j = 0;
    var done = 0;
    for (var it = 0; it < 200; it++) {
        if (done == 0) {
            var a = s;
            var b = k;
            if (j >= 0) {
                b = k * (2 ** j);
            } else {
                a = s * (2 ** (-j));
            }
            if (99 * a < 70 * b) {
                j = j - 1;
            } else if (99 * a >= 140 * b) {
                j = j + 1;
            } else {
                done = 1;
            }
        }
    }
    return j + 64;
}

/// Proves: x = ln(s/k) in Q64 computed as x = (v - u) * LN2 + floor(z * P(w) / 2^64), where
/// - u, v in [0, 64), u * v = 0, A = s 2^u, B = k 2^v and 70/99 <= A/B < 140/99 (exact integer tests,
///   so (u, v) is unique and |z| < 0.1716);
/// - z = floor((A - B) 2^64 / (A + B)), w = floor(z^2 / 2^64);
/// - P(w) = 2 atanh(z)/z truncated to FX_ATANH_TERMS terms, by Horner with a floor at every step.
/// Requires s, k in [1, 2^50) (range-checked by the caller). u and v are inputs (hints of LnRatio).
template LnRatioCore() {
    signal input s;
    signal input k;
    signal input u;
    signal input v;
    signal output x;

    component ub = Num2Bits(6);
    ub.in <== u;
    component vb = Num2Bits(6);
    vb.in <== v;
    u * v === 0;
    component pu = Pow2(6);
    pu.bits <== ub.out;
    component pv = Pow2(6);
    pv.bits <== vb.out;
    signal a <== s * pu.out;
    signal b <== k * pv.out;
    // 70 B <= 99 A < 140 B; together these also bound A, B < 2^53.
    component lo = Num2Bits(58);  // inspect: a range check; its bits are not used
    lo.in <== 99 * a - 70 * b;
    component hi = Num2Bits(58);  // inspect: a range check; its bits are not used
    hi.in <== 140 * b - 99 * a - 1;

    component z = DivFloor(63, 52, 1);
    z.num <== (a - b) * (1 << 64);
    z.den <== a + b;

    component w = FixedMul(124, 0);
    w.a <== z.q;
    w.b <== z.q;

    var c[FX_ATANH_TERMS()] = FX_ATANH_COEFFS();
    var n = FX_ATANH_TERMS();
    component first = FixedMulConst(c[n - 1], 126, 0);
    first.a <== w.out;
    signal p[n - 1];
    p[n - 2] <== c[n - 2] + first.out;
    component step[n - 2];
    for (var i = n - 3; i >= 0; i--) {
        step[i] = FixedMul(126, 0);
        step[i].a <== p[i + 1];
        step[i].b <== w.out;
        p[i] <== c[i] + step[i].out;
    }
    component l = FixedMul(129, 1);
    l.a <== z.q;
    l.b <== p[0];
    x <== (v - u) * FX_LN2() + l.out;
}

/// Proves: x = ln(s/k) in Q64 as LnRatioCore states (u, v are witness hints).
template LnRatio() {
    signal input s;
    signal input k;
    signal output x;
    var j = fxLnShift(s, k) - 64;
    signal u <-- j < 0 ? -j : 0;
    signal v <-- j > 0 ? j : 0;
    component core = LnRatioCore();
    core.s <== s;
    core.k <== k;
    core.u <== u;
    core.v <== v;
    x <== core.x;
}

/// Proves: out = exp(y) in Q64 for y in [-4032 C, 64 C), C = LN2_64TH (about [-43.67, 0.693)):
/// - y = k C + f with 0 <= f < C and k in [-4032, 64) (so k = floor(y / C));
/// - k + 4032 = jj + 64 hi with jj, hi in [0, 64) (bit decomposition);
/// - E = sum_{i < FX_EXP_TERMS} f^i / i! by Horner with floors;
/// - P = floor(E * T[jj] / 2^64), T[jj] = 2^(jj/64) in Q64;
/// - out = floor(P * 2^hi / 2^63) = floor(P / 2^(63 - hi)).
/// Requires |y| < 2^70 (the caller's range). k is an input (the hint of Exp).
template ExpCore() {
    signal input y;
    signal input k;
    signal output out;

    var C = FX_LN2_64TH();
    component kb = Num2Bits(12);
    kb.in <== k + FX_EXP_K_OFFSET();
    signal f <== y - k * C;
    component fLo = Num2Bits(58);  // inspect: a range check; its bits are not used
    fLo.in <== f;
    component fHi = Num2Bits(58);  // inspect: a range check; its bits are not used
    fHi.in <== C - 1 - f;

    var c[FX_EXP_TERMS()] = FX_EXP_COEFFS();
    var n = FX_EXP_TERMS();
    component first = FixedMulConst(c[n - 1], 123, 0);
    first.a <== f;
    signal e[n - 1];
    e[n - 2] <== c[n - 2] + first.out;
    component step[n - 2];
    for (var i = n - 3; i >= 0; i--) {
        step[i] = FixedMul(123, 0);
        step[i].a <== e[i + 1];
        step[i].b <== f;
        e[i] <== c[i] + step[i].out;
    }

    component sel = SelectConst(6, FX_EXP2_64TH());
    for (var i = 0; i < 6; i++) {
        sel.bits[i] <== kb.out[i];
    }
    component p = FixedMul(130, 0);
    p.a <== e[0];
    p.b <== sel.out;

    component pw = Pow2(6);
    for (var i = 0; i < 6; i++) {
        pw.bits[i] <== kb.out[6 + i];
    }
    component sh = ShiftRight(128, 63, 0);
    sh.in <== p.out * pw.out;
    out <== sh.out;
}

/// Proves: out = exp(y) in Q64 as ExpCore states (k is a witness hint).
template Exp() {
    signal input y;
    signal output out;
    signal k <-- fxFloorDiv(y, FX_LN2_64TH());
    component core = ExpCore();
    core.y <== y;
    core.k <== k;
    out <== core.out;
}

/// Proves: pos = N(d) and neg = N(-d) = 2^64 - pos in Q64, for d in [-2^90, 2^90) (checked here):
/// a = |d|; if a >= 9 (FX_NORM_CUTOFF) the tail is 0, else
///   tail = floor(exp(-floor(a^2 / 2^65)) * G(t) / 2^64), t = floor(2^128 / (2^64 + floor(P a / 2^64))),
///   G(t) = sum c_j t^j (Horner, signed, floors), the fitted Q(a) exp(a^2/2);
/// pos = 2^64 - tail if d >= 0 else tail.
template NormCdf() {
    signal input d;
    signal output pos;
    signal output neg;
    var ONE = 1 << 64;

    component sr = SignedRange(91);
    sr.in <== d;
    signal a <== (2 * sr.nonNeg - 1) * d;
    component small = LessThan(91);
    small.in <== [a, FX_NORM_CUTOFF()];
    signal ac <== a * small.out;

    component half = ShiftRight(135, 65, 0);
    half.in <== ac * ac;
    component e = Exp();
    e.y <== -half.out;

    component pa = FixedMulConst(FX_NORM_P(), 130, 0);
    pa.a <== ac;
    component t = DivFloor(65, 66, 0);
    t.num <== ONE * ONE;
    t.den <== ONE + pa.out;

    var c[FX_NORM_TERMS()] = FX_NORM_COEFFS();
    var n = FX_NORM_TERMS();
    component first = FixedMulConst(c[n - 1], 131, 1);
    first.a <== t.q;
    signal g[n - 1];
    g[n - 2] <== c[n - 2] + first.out;
    component step[n - 2];
    for (var i = n - 3; i >= 0; i--) {
        step[i] = FixedMul(131, 1);
        step[i].a <== g[i + 1];
        step[i].b <== t.q;
        g[i] <== c[i] + step[i].out;
    }
    component tail = FixedMul(131, 0);
    tail.a <== e.out;
    tail.b <== g[0];
    signal tl <== tail.out * small.out;
    pos <== sr.nonNeg * (ONE - 2 * tl) + tl;
    neg <== ONE - pos;
}

/// Proves: price = max(V, 0) where V is the Black-Scholes value * 2^64 (1e-8 quote units) of a
/// European call (isCall = 1) or put (isCall = 0) computed by the fixed-point algorithm of SPEC.md:
///   x = ln(S/K), q = floor(vol^2 t 2^128 / (1e12 Y)), ss = floor(sqrt(q)) (sigma sqrt(T)),
///   h = floor(q / 2^65) (sigma^2 T / 2), rt = floor(r t 2^64 / (1e6 Y)), D = exp(-rt),
///   d1 = floor((x + rt + h) 2^64 / ss), d2 = d1 - ss,
///   call: V = S N(d1) - K floor(D N(d2) / 2^64); put: V = K floor(D N(-d2) / 2^64) - S N(-d1);
///   t = 0: V = +-(S - K) 2^64 (intrinsic value).
/// Inputs are range-checked to the domains of SPEC.md: S, K in [2^16, 2^50), vol in [2^13, 2^23) ppm,
/// t in [0, 2^26) s, r in [-2^16, 2^19 - 2^16) ppm, isCall boolean.
/// withRate = 0 is the same algorithm for r = 0 only (ratePpm must be 0): rT = 0 and D = exp(0) = 2^64 exactly,
/// so floor(D N / 2^64) = N and the discount's Exp, rT's division and the product by D are left out, bit-exact
/// with withRate = 1 at r = 0 (the exchange's rate, RISK_FREE_RATE_PPM, is 0: OracleStep uses this form).
template BlackScholes(withRate) {
    signal input isCall;
    signal input spot;
    signal input strike;
    signal input volPpm;
    signal input timeSeconds;
    signal input ratePpm;
    signal output price;
    var ONE = 1 << 64;

    // ---- input domains
    isCall * (isCall - 1) === 0;
    component sHi = Num2Bits(FX_PRICE_BITS());  // inspect: a range check; its bits are not used
    sHi.in <== spot;
    component sLo = Num2Bits(FX_PRICE_BITS());  // inspect: a range check; its bits are not used
    sLo.in <== spot - FX_PRICE_MIN();
    component kHi = Num2Bits(FX_PRICE_BITS());  // inspect: a range check; its bits are not used
    kHi.in <== strike;
    component kLo = Num2Bits(FX_PRICE_BITS());  // inspect: a range check; its bits are not used
    kLo.in <== strike - FX_PRICE_MIN();
    component volHi = Num2Bits(FX_VOL_BITS());  // inspect: a range check; its bits are not used
    volHi.in <== volPpm;
    component volLo = Num2Bits(FX_VOL_BITS());  // inspect: a range check; its bits are not used
    volLo.in <== volPpm - FX_VOL_MIN();
    component tBits = Num2Bits(FX_TIME_BITS());  // inspect: a range check; its bits are not used
    tBits.in <== timeSeconds;

    // ---- ln(S/K)
    component ln = LnRatio();
    ln.s <== spot;
    ln.k <== strike;

    // ---- variance and sigma sqrt(T): q < 2^136 (its range check is the shift below)
    signal vol2 <== volPpm * volPpm;
    signal vol2t <== vol2 * timeSeconds;
    component q = DivFloor(0, 65, 0);
    q.num <== vol2t * (1 << 128);
    q.den <== FX_VAR_DEN();
    component halfVar = ShiftRight(136, 65, 0);
    halfVar.in <== q.q;
    component ss = Sqrt(68);
    ss.in <== q.q;

    // ---- r T and the discount factor (withRate = 0: rT = 0, D = 1, applied below)
    signal rtq;
    component rBits;  // inspect: a range check of the rate (withRate = 1); its bits are not used
    component rt;
    component disc;
    if (withRate == 1) {
        rBits = Num2Bits(FX_RATE_BITS());
        rBits.in <== ratePpm + FX_RATE_OFFSET();
        rt = DivFloor(65, 45, 1);
        rt.num <== ratePpm * timeSeconds * ONE;
        rt.den <== FX_RATE_DEN();
        rtq <== rt.q;
        disc = Exp();
        disc.y <== -rt.q;
    } else {
        ratePpm === 0;
        rtq <== 0;
    }

    // ---- d1, d2 (t = 0: divide by 1.0 instead of 0; the value is replaced by the intrinsic one)
    component zeroT = IsZero();
    zeroT.in <== timeSeconds;
    component d1 = DivFloor(0, 68, 1); // d1's range check [-2^90, 2^90) is in NormCdf
    d1.num <== (ln.x + rtq + halfVar.out) * ONE;
    d1.den <== ss.out + zeroT.out * ONE;
    component n1 = NormCdf();
    n1.d <== d1.q;
    component n2 = NormCdf();
    n2.d <== d1.q - ss.out;

    // ---- value
    signal a1 <== isCall * (n1.pos - n1.neg) + n1.neg;
    signal a2 <== isCall * (n2.pos - n2.neg) + n2.neg;
    signal discounted;
    component da2;
    if (withRate == 1) {
        da2 = FixedMul(131, 0);
        da2.a <== disc.out;
        da2.b <== a2;
        discounted <== da2.out;
    } else {
        discounted <== a2;
    }
    signal sa1 <== spot * a1;
    signal kda2 <== strike * discounted;
    signal bs <== (2 * isCall - 1) * (sa1 - kda2);
    signal intrinsic <== (2 * isCall - 1) * (spot - strike);
    signal pre <== zeroT.out * (intrinsic * ONE - bs) + bs;
    component nonNeg = SignedRange(118);
    nonNeg.in <== pre;
    price <== pre * nonNeg.nonNeg;
}
