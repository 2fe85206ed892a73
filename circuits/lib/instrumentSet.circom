pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/poseidon.circom";
include "./quadTree.circom";
include "./select.circom";
include "../generated/protocol.circom";

// The batch's marked set over an instrument tree (DERIVATIVES.md "At exchange scale", build steps 1 and 3): the
// instrument table is a quad tree of 4^levels leaves, leaf i the Poseidon of instrument i's I_FIELDS() fields (as
// today's vector: `instrumentTable.ts#instrumentLeaf`), and a batch names the M instruments it reads, loads them by
// their paths and writes them back, chained, when its last slot is done. Every position of a touched account and
// every instrument a slot trades must be found in the set (PositionSetLookup), so an instrument the batch does not
// name costs it nothing. TypeScript mirror: `sequencer/state/instrumentSet.ts`.
// SetLookup and PositionSetLookup find exactly one entry only over the `ids` and `used` signals InstrumentSet constrains
// (bits, used ids distinct): the batch must wire the same signals into all three.
//
// Not yet read by the batch circuit: the gadgets are built and attacked on their own (test/circuits/lib/
// instrumentSet.test.ts), and the bench prices them at production depths. The tree is the state's commitment
// (instrumentTable.circom): the batch reads the whole table and computes the same root from it.

/// The id an unused entry of the set carries: 4^levels, no instrument's (ids are below 4^levels).
function EMPTY_SET_ID(levels) {
    return 4 ** levels;
}

/// Proves: the set (`ids`, `used`) is canonical and `newRoot` is `oldRoot` with each used entry's leaf written back:
/// - used entries come first and their ids strictly increase, each below 4^levels (`used` is a bit; one order rule
///   does both: an unused entry's id, 4^levels, is above every used one's, so a used entry after it is out of order):
///   no instrument is in the set twice, so a slot cannot move one copy of an instrument while another copy is written
///   back;
/// - entry k's fields `leaf[k]` are those of instrument ids[k] in the tree as the batch found it (its Poseidon is the
///   leaf at index ids[k] under the root the chain has reached, which holds the same leaf there since the ids before
///   it are other ids), and `after[k]` are the fields written there;
/// - an unused entry has id EMPTY_SET_ID(levels) (no lookup of a real id finds it) and every field 0 before and
///   after (KIND_NONE: nothing trades it, and a write to it cannot be dropped): it changes no root.
/// Per entry: QuadUpdate(levels), two Poseidon(I_FIELDS()), the id's bits and one comparison.
template InstrumentSet(levels, M) {
    signal input oldRoot;
    signal input ids[M];
    signal input used[M];
    signal input leaf[M][I_FIELDS()];
    signal input after[M][I_FIELDS()];
    signal input siblings[M][levels][3];
    signal output newRoot;

    var EMPTY = EMPTY_SET_ID(levels);
    signal root[M + 1];
    root[0] <== oldRoot;
    signal index[M];
    signal rootStep[M];
    component idBits[M];
    component ordered[M];
    component before[M];
    component written[M];
    component update[M];
    for (var k = 0; k < M; k++) {
        used[k] * (used[k] - 1) === 0;
        // unused: the reserved id, an empty leaf before and after
        (1 - used[k]) * (ids[k] - EMPTY) === 0;
        for (var f = 0; f < I_FIELDS(); f++) {
            (1 - used[k]) * leaf[k][f] === 0;
            (1 - used[k]) * after[k][f] === 0;
        }
        // used: an id below 4^levels (its bits are the path), after every used one before it
        index[k] <== used[k] * ids[k];
        idBits[k] = Num2Bits(2 * levels);
        idBits[k].in <== index[k];
        if (k > 0) {
            // ids[k - 1] < 4^levels, or 4^levels when unused: both sides below 2^(2 * levels + 1), so LessThan is exact
            ordered[k] = LessThan(2 * levels + 1);
            ordered[k].in <== [ids[k - 1], ids[k]];
            used[k] * (1 - ordered[k].out) === 0;
        }
        before[k] = Poseidon(I_FIELDS());
        before[k].inputs <== leaf[k];
        written[k] = Poseidon(I_FIELDS());
        written[k].inputs <== after[k];
        update[k] = QuadUpdate(levels);
        update[k].oldLeaf <== before[k].out;
        update[k].newLeaf <== written[k].out;
        update[k].indexBits <== idBits[k].out;
        update[k].siblings <== siblings[k];
        used[k] * (update[k].oldRoot - root[k]) === 0;
        rootStep[k] <== used[k] * (update[k].newRoot - root[k]);
        root[k + 1] <== root[k] + rootStep[k];
    }
    newRoot <== root[M];
}

/// Proves: match[m] = 1 exactly where `key` equals `keys[m]` and entry m is used, else 0; found is their sum. The
/// one matcher of SetLookup and PositionSetLookup: unused entries are never matched.
template SetMatch(M) {
    signal input key;
    signal input keys[M];
    signal input used[M];
    signal output match[M];
    signal output found;
    component eq[M];
    var sum = 0;
    for (var m = 0; m < M; m++) {
        eq[m] = IsEqual();
        eq[m].in <== [key, keys[m]];
        match[m] <== eq[m].out * used[m];
        sum += match[m];
    }
    found <== sum;
}

/// Proves: `out` is the fields of the set entry whose id is `id`, and a used entry has that id (found === 1). Unused
/// entries are never found (a match counts only where `used`), and used ids are distinct (InstrumentSet), so at most
/// one entry matches: an instrument the batch did not load has no witness. `index` is the entry's position in the set.
template SetLookup(M, F) {
    signal input id;
    signal input ids[M];
    signal input used[M];
    signal input fields[M][F];
    signal output out[F];
    signal output index;
    component entry = SetMatch(M);
    entry.key <== id;
    entry.keys <== ids;
    entry.used <== used;
    entry.found === 1;
    var at = 0;
    for (var m = 0; m < M; m++) at += m * entry.match[m];
    index <== at;
    component sel[F];
    for (var f = 0; f < F; f++) {
        sel[f] = Select(M);
        sel[f].sel <== entry.match;
        for (var m = 0; m < M; m++) sel[f].values[m] <== fields[m][f];
        out[f] <== sel[f].out;
    }
}

/// Proves (PositionLookup's statement over the set instead of the whole table): the K slots, read as a vector over
/// the M entries of the set: size[m] and snap[m] are the size and snapshot of the slot holding instrument ids[m] (0
/// when none does), every occupied slot's instrument is a used entry of the set (slot id = instrument id + 1, as
/// `positions.circom` stores it), an empty slot (id 0) holds size 0 and snapshot 0, and index[k] is the funding
/// index of slot k's instrument (0 for an empty slot); empty[k] = 1 when slot k is empty. With M = N and the set
/// 0..N-1 it is PositionLookup(K, N) (the build order's regression: the same outputs, tested on layouts, and the same
/// refusals, since a slot is then found exactly when id[k] <= N). Like PositionLookup it relies on the derivatives
/// leaf's invariant that an instrument sits in at most one slot (positions.circom); two slots of one instrument would
/// have their sizes summed.
template PositionSetLookup(K, M) {
    signal input id[K];
    signal input posSize[K];
    signal input posSnap[K];
    signal input ids[M];
    signal input used[M];
    signal input fundingIndex[M];
    signal output size[M];
    signal output snap[M];
    signal output index[K];
    signal output empty[K];
    component isEmpty[K];
    component slotMatch[K];
    signal sizeTerm[K][M];
    signal snapTerm[K][M];
    signal indexTerm[K][M];
    for (var k = 0; k < K; k++) {
        isEmpty[k] = IsZero();
        isEmpty[k].in <== id[k];
        empty[k] <== isEmpty[k].out;
        empty[k] * posSize[k] === 0;
        empty[k] * posSnap[k] === 0;
        // slot id = instrument id + 1: matched against the used entries' ids + 1
        slotMatch[k] = SetMatch(M);
        slotMatch[k].key <== id[k];
        for (var m = 0; m < M; m++) slotMatch[k].keys[m] <== ids[m] + 1;
        slotMatch[k].used <== used;
        empty[k] + slotMatch[k].found === 1;
        var idx = 0;
        for (var m = 0; m < M; m++) {
            sizeTerm[k][m] <== slotMatch[k].match[m] * posSize[k];
            snapTerm[k][m] <== slotMatch[k].match[m] * posSnap[k];
            indexTerm[k][m] <== slotMatch[k].match[m] * fundingIndex[m];
            idx += indexTerm[k][m];
        }
        index[k] <== idx;
    }
    for (var m = 0; m < M; m++) {
        var s = 0;
        var t = 0;
        for (var k = 0; k < K; k++) {
            s += sizeTerm[k][m];
            t += snapTerm[k][m];
        }
        size[m] <== s;
        snap[m] <== t;
    }
}
