pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";

/// Proves the order-storage rule of SPEC.md for one order-tree leaf
/// `leaf = storedId + filled * 2^40 + cancelled * 2^80`:
/// - oldLeaf decomposes into range-checked (storedId, filled, cancelled);
/// - when fill or cancel is set (at most one): storedId <= orderId; if storedId < orderId the slot
///   counts as empty (filled 0, not cancelled);
/// - fill: not cancelled, filled + lots <= size, newLeaf = (orderId, filled + lots, 0);
/// - cancel: newLeaf = (orderId, filled, 1);
/// - neither: newLeaf = oldLeaf.
/// filledBefore is what the order had filled before this slot (0 when the slot counts as empty): a
/// stop or take-profit order's first fill is the one with filledBefore = 0 (TriggerFill).
/// orderId, size and lots must be range-checked to 40 bits by the caller.
template OrderStorage() {
    signal input orderId;
    signal input size;
    signal input lots;
    signal input fill;
    signal input cancel;
    signal input storedId;
    signal input filled;
    signal input cancelled;
    signal output oldLeaf;
    signal output newLeaf;
    signal output filledBefore;

    component idBits = Num2Bits(40); // inspect: range check only, its bits are not used
    idBits.in <== storedId;
    component filledBits = Num2Bits(40); // inspect: range check only, its bits are not used
    filledBits.in <== filled;
    cancelled * (cancelled - 1) === 0;
    oldLeaf <== storedId + filled * (1 << 40) + cancelled * (1 << 80);

    signal active <== fill + cancel;
    component notNewer = LessEqThan(40);
    notNewer.in <== [storedId, orderId];
    active * (1 - notNewer.out) === 0;

    component same = IsEqual();
    same.in <== [storedId, orderId];
    signal effFilled <== same.out * filled;
    filledBefore <== effFilled;
    signal effCancelled <== same.out * cancelled;
    fill * effCancelled === 0;

    component within = LessEqThan(41);
    within.in <== [effFilled + lots, size];
    fill * (1 - within.out) === 0;

    var fillLeaf = orderId + (effFilled + lots) * (1 << 40);
    var cancelLeaf = orderId + effFilled * (1 << 40) + (1 << 80);
    signal fillDelta <== fill * (fillLeaf - oldLeaf);
    signal cancelDelta <== cancel * (cancelLeaf - oldLeaf);
    newLeaf <== oldLeaf + fillDelta + cancelDelta;
}
