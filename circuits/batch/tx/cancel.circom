pragma circom 2.1.0;

include "circomlib/circuits/comparators.circom";
include "../../generated/protocol.circom";

/// CANCEL (SPEC.md "CANCEL"). Proves: msg is the message a cancel is signed over,
/// (DOMAIN_CANCEL, accountId | orderId << 32, 0), all 0 when not isCancel. The slot applies it: the
/// signature by A's key, and OrderStorage's cancel of the order's slot (orderId is range-checked by
/// OrderWords there).
template Cancel() {
    signal input isCancel;
    signal input accountA;
    signal input orderId;
    signal output msg[3];
    signal wCancel0 <== isCancel * (accountA + orderId * (1 << 32));
    msg[0] <== isCancel * DOMAIN_CANCEL();
    msg[1] <== wCancel0;
    msg[2] <== 0;
}

/// OPERATOR_CANCEL (RULES.md OC1-OC3). Proves: when isOperatorCancel, account A has a trading key,
/// (aPubX, aPubY) != (0, 0) (`ExchangeState.hasKey`): an account that never registered one has signed no order,
/// so nothing of it is the operator's to cancel. Without it an operator could write cancelled ids into the order
/// slots of accounts nobody owns yet and burn them before their owners join (RULES.md G15's power over accounts that
/// cannot see it coming; found by the dishonest-operator hunt, seed 48, 2026-12-06). The slot applies the rest:
/// OrderStorage's cancel of A's order slot, no signature.
template OperatorCancel() {
    signal input isOperatorCancel;
    signal input aPubX;
    signal input aPubY;
    component xZero = IsZero();
    xZero.in <== aPubX;
    component yZero = IsZero();
    yZero.in <== aPubY;
    signal keyless <== xZero.out * yZero.out;
    isOperatorCancel * keyless === 0;
}
