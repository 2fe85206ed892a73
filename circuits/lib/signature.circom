pragma circom 2.1.0;

include "circomlib/circuits/eddsaposeidon.circom";
include "./curvePoint.circom";

/// Proves: if enabled, (R8, S) is a valid EdDSA-Poseidon signature of msg by the key (ax, ay), R8 is
/// on Baby Jubjub and S is below the subgroup order (circomlib's check). The key is not checked here:
/// every caller passes a key proven on the curve (a registered key was checked by the REGISTER_KEY
/// slot that stored it and the state root commits to it; the oracle key by OracleStep). With A and R8
/// on the curve, every addition the verifier makes is the group law (SPEC.md "Keys").
/// When disabled the verifier runs on the base point so that any witness is well-formed.
template SignatureIfEnabled() {
    signal input enabled;
    signal input ax;
    signal input ay;
    signal input sig[3]; // R8x, R8y, S
    signal input msg;
    var B8X = 5299619240641551281634865583518297030282874472190772894086521144482721001553;
    var B8Y = 16950150798460657717958625567821834550301663161624707787222815936182638968203;
    component r8OnCurve = OnCurveIfEnabled();
    r8OnCurve.enabled <== enabled;
    r8OnCurve.x <== sig[0];
    r8OnCurve.y <== sig[1];
    component v = EdDSAPoseidonVerifier();
    v.enabled <== enabled;
    v.Ax <== B8X + enabled * (ax - B8X);
    v.Ay <== B8Y + enabled * (ay - B8Y);
    v.R8x <== sig[0];
    v.R8y <== sig[1];
    v.S <== sig[2];
    v.M <== msg;
}
