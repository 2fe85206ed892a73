pragma circom 2.1.0;

include "circomlib/circuits/poseidon.circom";
include "./select.circom";

// An account's derivatives positions live in K position slots (DERIVATIVES.md "Positions"): slot k holds
// (id_k, size_k, snap_k) with id_k = instrumentId + 1, or (0, 0, 0) when empty. The layout is canonical, so
// anyone replaying the public data rebuilds the same leaf: a position opens in the lowest empty slot and its
// slot empties when it goes flat. Invariant of every derivatives leaf of the state (by induction from the empty
// leaf, since PositionWrite is the only template that writes one): an instrument is in at most one slot, and a
// slot is occupied exactly when its size is not 0.

/// Proves: out is the account's derivatives leaf, Poseidon(...Poseidon(Poseidon(c, slots 0..4), slots 5..9)...)
/// over the slots' (id, size, snap), five slots per Poseidon (`formulas.ts`-side: `positionSlots.ts#derivLeaf`).
template DerivLeaf(K) {
    signal input c;
    signal input id[K];
    signal input size[K];
    signal input snap[K];
    signal output out;
    var chunks = K == 0 ? 1 : (K + 4) \ 5;
    component h[chunks];
    signal acc[chunks + 1];
    acc[0] <== c;
    for (var q = 0; q < chunks; q++) {
        var first = 5 * q;
        var n = K - first < 5 ? K - first : 5;
        h[q] = Poseidon(1 + 3 * n);
        h[q].inputs[0] <== acc[q];
        for (var k = 0; k < n; k++) {
            h[q].inputs[1 + 3 * k] <== id[first + k];
            h[q].inputs[2 + 3 * k] <== size[first + k];
            h[q].inputs[3 + 3 * k] <== snap[first + k];
        }
        acc[q + 1] <== h[q].out;
    }
    out <== acc[chunks];
}

/// Proves: the K slots, read as a vector over the N instruments of the table: size[j] and snap[j] are the
/// size and snapshot of the slot holding instrument j (0 when none does), every slot's id is in 0..N (so every
/// occupied slot finds its instrument), an empty slot holds size 0 and snapshot 0, and fundingIndex_k is
/// the funding index of slot k's instrument (0 for an empty slot); empty[k] = 1 when slot k is empty.
template PositionLookup(K, N) {
    signal input id[K];
    signal input posSize[K];
    signal input posSnap[K];
    signal input fundingIndex[N];
    signal output size[N];
    signal output snap[N];
    signal output index[K];
    signal output empty[K];
    signal match[K][N];  // 1 when slot k holds instrument j
    component decode[K];
    signal sizeTerm[K][N];
    signal snapTerm[K][N];
    signal indexTerm[K][N];
    for (var k = 0; k < K; k++) {
        decode[k] = OneHot(N + 1);
        decode[k].in <== id[k];
        empty[k] <== decode[k].out[0];
        empty[k] * posSize[k] === 0;
        empty[k] * posSnap[k] === 0;
        var idx = 0;
        for (var j = 0; j < N; j++) {
            match[k][j] <== decode[k].out[j + 1];
            sizeTerm[k][j] <== match[k][j] * posSize[k];
            snapTerm[k][j] <== match[k][j] * posSnap[k];
            indexTerm[k][j] <== match[k][j] * fundingIndex[j];
            idx += indexTerm[k][j];
        }
        index[k] <== idx;
    }
    for (var j = 0; j < N; j++) {
        var s = 0;
        var t = 0;
        for (var k = 0; k < K; k++) {
            s += sizeTerm[k][j];
            t += snapTerm[k][j];
        }
        size[j] <== s;
        snap[j] <== t;
    }
}

/// Proves the slots an account's derivatives leaf is written with, when a slot moves the account's position in
/// instrument `instrumentId` by `delta` (`touch` = 1) and settles its funding (`active` = 1):
/// - the position's slot is `target`: when the account held the instrument (`held`), the slot holding it;
///   otherwise an empty slot, the lowest one (the canonical layout). With every slot taken by other
///   instruments there is none: opening a (K+1)-th position is unprovable (TOO_MANY_POSITIONS);
/// - the target's size moves by delta; its id is instrumentId + 1 and its snapshot the instrument's funding
///   index `indexSel`, or (0, 0) when the position is flat after (`flatAfter`): its slot empties;
/// - every other slot keeps its id and size, and takes its instrument's funding index when `active`
///   (lazy funding settles every position: DERIVATIVES.md "Touching an account").
/// With `touch` = 0 no slot's id or size moves and `target` is free (any index below K).
template PositionWrite(K) {
    signal input id[K];
    signal input posSize[K];
    signal input posSnap[K];
    signal input empty[K];
    signal input index[K];
    signal input target;
    signal input touch;
    signal input active;
    signal input held;
    signal input instrumentId;
    signal input delta;
    signal input flatAfter;
    signal input indexSel;
    signal output newId[K];
    signal output newSize[K];
    signal output newSnap[K];

    component at = OneHot(K);
    at.in <== target;
    component idAt = Select(K);
    idAt.sel <== at.out;
    idAt.values <== id;
    // the slot: the one holding the instrument, or an empty one
    signal heldId <== held * (instrumentId + 1);
    touch * (idAt.out - heldId) === 0;
    // an opening takes the lowest empty slot: no empty slot below the target
    signal opening <== touch * (1 - held);
    signal below[K];
    var after = 0;
    for (var k = K - 1; k >= 0; k--) {
        below[k] <== opening * after;  // slot k is below the target of an opening
        below[k] * empty[k] === 0;
        after += at.out[k];
    }
    signal moved[K];
    signal wantId <== (1 - flatAfter) * (instrumentId + 1);
    signal wantSnap <== (1 - flatAfter) * indexSel;
    signal keptSnap[K];
    for (var k = 0; k < K; k++) {
        moved[k] <== touch * at.out[k];
        newSize[k] <== posSize[k] + moved[k] * delta;
        newId[k] <== id[k] + moved[k] * (wantId - id[k]);
        keptSnap[k] <== posSnap[k] + active * (index[k] - posSnap[k]);
        newSnap[k] <== keptSnap[k] + moved[k] * (wantSnap - keptSnap[k]);
    }
}
