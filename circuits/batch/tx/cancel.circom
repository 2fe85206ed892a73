pragma circom 2.1.0;

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
