pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";  // the generated record packers use Num2Bits
include "circomlib/circuits/poseidon.circom";
include "../generated/protocol.circom";

/// Proves: root is the root of the instrument tree (DERIVATIVES.md H2a; TypeScript: sequencer/state/instrumentTable.ts)
/// whose first N leaves are `leaves` and whose other leaves, up to 4^INSTRUMENT_LEVELS(N), hold the empty instrument:
/// a quad tree, node = Poseidon(c0, c1, c2, c3), leaf i at the i-th position of its level (the order QuadTree and
/// InstrumentSet's paths read). A subtree past the table holds no instrument, so it is the generated constant
/// EMPTY_INSTRUMENT_NODE of its height and costs no constraint; the tree hashes only the ceil(N / 4^(l+1)) nodes of each
/// level l + 1 that hold a leaf of the table. The batch reads the whole table through this until it reads its marked
/// set (instrumentSet.circom), which loads entries by their paths from the same root.
template InstrumentTableRoot(N) {
    signal input leaves[N];
    signal output root;
    var levels = INSTRUMENT_LEVELS(N);
    var hashes = 0;
    var live = N;
    for (var l = 0; l < levels; l++) {
        live = (live + 3) \ 4;
        hashes += live;
    }
    component h[hashes];
    var node[N];  // the current level's nodes that hold a leaf of the table (signals), the others empty
    for (var i = 0; i < N; i++) node[i] = leaves[i];
    var k = 0;
    live = N;
    for (var l = 0; l < levels; l++) {
        var up = (live + 3) \ 4;
        for (var j = 0; j < up; j++) {
            h[k] = Poseidon(4);
            for (var c = 0; c < 4; c++) h[k].inputs[c] <== 4 * j + c < live ? node[4 * j + c] : EMPTY_INSTRUMENT_NODE(l);
            node[j] = h[k].out;  // node 4j..4j+3 are read before node j is written, and later j read past it
            k++;
        }
        live = up;
    }
    root <== node[0];
}
