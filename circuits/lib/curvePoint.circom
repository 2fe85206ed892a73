pragma circom 2.1.0;

/// Proves: if enabled (0 or 1, the caller's flag), (x, y) is on Baby Jubjub, the twisted Edwards curve
/// a*x^2 + y^2 = 1 + d*x^2*y^2 with a = 168700, d = 168696 that circomlib's EdDSA uses (its BabyCheck,
/// gated). On the curve, a being a square and d a non-square make the Edwards addition law complete,
/// so circomlib's BabyAdd/BabyDbl compute the group law for every input (SPEC.md "Keys"). 4 constraints.
template OnCurveIfEnabled() {
    signal input enabled;
    signal input x;
    signal input y;
    signal xx <== x * x;
    signal yy <== y * y;
    signal dxxyy <== (168696 * xx) * yy;
    enabled * (168700 * xx + yy - 1 - dxxyy) === 0;
}
