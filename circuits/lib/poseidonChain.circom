pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";

/// Proves: out = the Poseidon chain of n inputs (sequencer/crypto/poseidon.ts#poseidonChain): Poseidon(inputs) for
/// n <= 16; beyond, Poseidon of the first 16, then each further group of up to 15 hashed with the running hash first.
template PoseidonChain(n) {
    signal input inputs[n];
    signal output out;
    var first = n <= 16 ? n : 16;
    var steps = n <= 16 ? 0 : (n - 16 + 14) \ 15;
    component h[steps + 1];
    h[0] = Poseidon(first);
    for (var i = 0; i < first; i++) h[0].inputs[i] <== inputs[i];
    for (var s = 1; s <= steps; s++) {
        var from = 16 + (s - 1) * 15;
        var width = n - from < 15 ? n - from : 15;
        h[s] = Poseidon(width + 1);
        h[s].inputs[0] <== h[s - 1].out;
        for (var i = 0; i < width; i++) h[s].inputs[1 + i] <== inputs[from + i];
    }
    out <== h[steps].out;
}
