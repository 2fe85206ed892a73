pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/poseidon.circom";
include "../generated/protocol.circom";
include "./quadTree.circom";

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

/// Proves: held[k] are the fields of the instrument at id posId[k] - 1 in the instrument tree of `root` (levels deep),
/// for every position slot k (lib/positions.circom: posId = instrument id + 1, 0 when empty), read by its path; an
/// empty slot reads id 0, so every slot's fields are the tree's whatever it holds; each id is below 4^levels (its bits
/// are the path). An empty slot holds size 0 and snapshot 0 (as PositionLookup proves), so its instrument adds nothing.
/// The exit circuit's read of an account's instruments: K paths instead of the whole table, so an exit costs the same
/// at any N. TypeScript: exitWitness.ts (ExchangeState#instrumentProof).
template HeldInstruments(K, levels) {
    signal input root;
    signal input posId[K];
    signal input posSize[K];
    signal input posSnap[K];
    signal input held[K][I_FIELDS()];
    signal input siblings[K][levels][3];
    component empty[K];
    component idBits[K];
    component leaf[K];
    component path[K];
    for (var k = 0; k < K; k++) {
        empty[k] = IsZero();
        empty[k].in <== posId[k];
        empty[k].out * posSize[k] === 0;
        empty[k].out * posSnap[k] === 0;
        idBits[k] = Num2Bits(2 * levels);
        idBits[k].in <== posId[k] - 1 + empty[k].out;
        leaf[k] = Poseidon(I_FIELDS());
        leaf[k].inputs <== held[k];
        path[k] = QuadPath(levels);
        path[k].leaf <== leaf[k].out;
        path[k].indexBits <== idBits[k].out;
        path[k].siblings <== siblings[k];
        path[k].root === root;
    }
}
