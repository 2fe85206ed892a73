pragma circom 2.1.0;

include "circomlib/circuits/comparators.circom";
include "../../generated/protocol.circom";
include "../../lib/compare.circom";

/// FORCED_CLOSE (DERIVATIVES.md "FORCED_CLOSE"): a close the account's owner queued on the custodian (no
/// signature: the custodian checked the owner) of `lots` of its position in the slot's instrument against the
/// account it names (accountB), at the instrument's mark. Proves, when isFC (0 or 1), honoured is 1 exactly when
/// - the counterparty is another account, and the instrument is registered (settled or not: a settled position
///   closes at its payoff per lot, as in a DELEVERAGE);
/// - `lots > 0`, A holds at least `lots` in its position's direction (`dir * sizeA >= lots`, dir = +1 when A is
///   long) and B at least `lots` on the other side (`-dir * sizeB >= lots`): both positions shrink, neither flips;
/// and 0 otherwise, so the operator chooses nothing; refused is 1 for a refused one (0 when not isFC). The slot
/// closes an honoured one with DeleverageClose (nothing paid on top: it pins amount to 0), settling both accounts'
/// funding first; a refused one writes both derivatives leaves back unchanged. No margin rule: at the mark neither
/// equity moves, and a smaller position never needs more margin. The slot proves the batch has an oracle update
/// (its marks), as for every type that touches an account.
/// Both comparisons are over BITS_POSITIONSIZE + 1 bits: sizes are below 2^BITS_POSITIONSIZE in magnitude and
/// lots below 2^BITS_LOTS, so every difference fits and every request is provable either way.
template ForcedClose() {
    signal input isFC;
    signal input accountA;
    signal input accountB;
    signal input lots;
    signal input kindNone;
    signal input sizeA;         // A's position in the instrument (funding moves no size)
    signal input sizeB;         // B's position in the instrument
    signal input dir;           // +1 when sizeA >= 0, -1 otherwise (Fill's liqDir)
    signal input honoured;
    signal output refused;

    component same = IsEqual();
    same.in <== [accountA, accountB];
    component noLots = IsZero();
    noLots.in <== lots;
    component aHolds = GreaterEq(BITS_POSITIONSIZE() + 1);
    aHolds.a <== dir * sizeA;
    aHolds.b <== lots;
    component bHolds = GreaterEq(BITS_POSITIONSIZE() + 1);
    bHolds.a <== 0 - dir * sizeB;
    bHolds.b <== lots;

    signal distinct <== (1 - same.out) * (1 - kindNone);
    signal sized <== distinct * (1 - noLots.out);
    signal withinA <== sized * aHolds.out;
    signal ok <== withinA * bHolds.out;
    honoured === isFC * ok;
    refused <== isFC - honoured;
}
