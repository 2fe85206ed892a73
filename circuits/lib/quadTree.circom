pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";

/// Proves: c[0..4) are the children of a quad node where `x` sits at position p = b0 + 2*b1 and the
/// three siblings fill the other positions in ascending order. b0, b1 must be bits (the caller's
/// Num2Bits guarantees it). 6 constraints; the position flags are shared by QuadUpdate.
template QuadChildren() {
    signal input x;
    signal input s[3];
    signal input e[4]; // one-hot position flags
    signal output c[4];
    signal t1;
    signal t2;
    c[0] <== s[0] + e[0] * (x - s[0]);
    c[3] <== s[2] + e[3] * (x - s[2]);
    t1 <== e[0] * (s[0] - s[1]);
    c[1] <== s[1] + t1 + e[1] * (x - s[1]);
    t2 <== (e[0] + e[1]) * (s[1] - s[2]);
    c[2] <== s[2] + t2 + e[2] * (x - s[2]);
}

/// Proves: oldRoot is the root of a quad tree with `oldLeaf` at the leaf whose index has the
/// little-endian bits `indexBits` (two per level, the leaf level first) and the given siblings,
/// and newRoot is the root of the same tree with `newLeaf` written at that index.
template QuadUpdate(levels) {
    signal input oldLeaf;
    signal input newLeaf;
    signal input indexBits[2 * levels];
    signal input siblings[levels][3];
    signal output oldRoot;
    signal output newRoot;

    component oldKids[levels];
    component newKids[levels];
    component oldHash[levels];
    component newHash[levels];
    signal both[levels];
    signal oldNode[levels + 1];
    signal newNode[levels + 1];
    oldNode[0] <== oldLeaf;
    newNode[0] <== newLeaf;
    for (var l = 0; l < levels; l++) {
        var b0 = indexBits[2 * l];
        var b1 = indexBits[2 * l + 1];
        both[l] <== b0 * b1;
        oldKids[l] = QuadChildren();
        newKids[l] = QuadChildren();
        oldKids[l].x <== oldNode[l];
        newKids[l].x <== newNode[l];
        oldKids[l].s <== siblings[l];
        newKids[l].s <== siblings[l];
        oldKids[l].e <== [1 - b0 - b1 + both[l], b0 - both[l], b1 - both[l], both[l]];
        newKids[l].e <== [1 - b0 - b1 + both[l], b0 - both[l], b1 - both[l], both[l]];
        oldHash[l] = Poseidon(4);
        newHash[l] = Poseidon(4);
        oldHash[l].inputs <== oldKids[l].c;
        newHash[l].inputs <== newKids[l].c;
        oldNode[l + 1] <== oldHash[l].out;
        newNode[l + 1] <== newHash[l].out;
    }
    oldRoot <== oldNode[levels];
    newRoot <== newNode[levels];
}

/// Proves: root is the root of a quad tree with `leaf` at the index whose little-endian bits are
/// `indexBits` (two per level, the leaf level first; each a bit, the caller's Num2Bits) and `siblings`
/// on its path (QuadUpdate's membership half: the same QuadChildren order).
template QuadPath(levels) {
    signal input leaf;
    signal input indexBits[2 * levels];
    signal input siblings[levels][3];
    signal output root;
    component kids[levels];
    component hash[levels];
    signal both[levels];
    signal node[levels + 1];
    node[0] <== leaf;
    for (var l = 0; l < levels; l++) {
        var b0 = indexBits[2 * l];
        var b1 = indexBits[2 * l + 1];
        both[l] <== b0 * b1;
        kids[l] = QuadChildren();
        kids[l].x <== node[l];
        kids[l].s <== siblings[l];
        kids[l].e <== [1 - b0 - b1 + both[l], b0 - both[l], b1 - both[l], both[l]];
        hash[l] = Poseidon(4);
        hash[l].inputs <== kids[l].c;
        node[l + 1] <== hash[l].out;
    }
    root <== node[levels];
}

/// Proves: root is the root of the quad tree whose 4^levels leaves are `leaves` (index order).
template QuadRoot(levels) {
    signal input leaves[4 ** levels];
    signal output root;
    var W = 4 ** levels;
    var inner = (W - 1) \ 3;
    component hash[inner];
    signal node[W + inner];  // the leaves, then each level's nodes, the root last
    for (var i = 0; i < W; i++) node[i] <== leaves[i];
    var from = 0;
    var to = W;
    var width = W;
    var k = 0;
    for (var l = 0; l < levels; l++) {
        width = width \ 4;
        for (var i = 0; i < width; i++) {
            hash[k] = Poseidon(4);
            for (var c = 0; c < 4; c++) hash[k].inputs[c] <== node[from + 4 * i + c];
            node[to + i] <== hash[k].out;
            k++;
        }
        from = to;
        to += width;
    }
    root <== node[from];
}
