pragma circom 2.1.0;

include "../../generated/protocol.circom";

/// TRANSFER (DERIVATIVES.md "TRANSFER"): account A moves `amount` between its quote balance and its
/// collateral. Proves, when isTransfer (0 or 1): the request carries A's current nonce aNonce and
/// moves it on (nonceDelta); aCash = +amount into collateral (toCollateral = 1) or -amount out of
/// it, the quote balance moving the other way; fromCollateral = 1 for a transfer out, after which the
/// slot requires initial margin; msg is the message the transfer is signed over,
/// (DOMAIN_TRANSFER, accountId | nonce << 32 | toCollateral << 64, amount). All 0 otherwise. The slot
/// range-checks amount and nonce, checks toCollateral is a bit, checks A's signature and range-checks
/// the new balance and collateral.
template Transfer() {
    signal input isTransfer;
    signal input accountA;
    signal input nonce;
    signal input toCollateral;
    signal input amount;
    signal input aNonce;
    signal output msg[3];
    signal output aCash;
    signal output nonceDelta;
    signal output fromCollateral;
    isTransfer * (nonce - aNonce) === 0;
    nonceDelta <== isTransfer;
    signal wTransfer0 <== isTransfer * (accountA + nonce * (1 << 32) + toCollateral * (1 << 64));
    signal wTransfer1 <== isTransfer * amount;
    msg[0] <== isTransfer * DOMAIN_TRANSFER();
    msg[1] <== wTransfer0;
    msg[2] <== wTransfer1;
    signal transferSigned <== (2 * toCollateral - 1) * amount;
    signal aTransferCash <== isTransfer * transferSigned;
    aCash <== aTransferCash;
    signal transferOut <== isTransfer * (1 - toCollateral);
    fromCollateral <== transferOut;
}
