pragma circom 2.1.0;

include "../../generated/protocol.circom";

/// DEPOSIT and WITHDRAW (SPEC.md "DEPOSIT", "WITHDRAW"): one token balance of account A moves by
/// `amount` (one template: the two share the product (isDeposit - isWithdraw) * amount). Proves:
/// delta is +amount for a deposit, -amount for a withdrawal, 0 otherwise (the slot range-checks the
/// new balance, so a withdrawal never overdraws); a withdrawal carries A's current nonce aNonce and
/// moves it on (nonceDelta); msg is the message a withdrawal is signed over,
/// (DOMAIN_WITHDRAW, accountId | tokenId << 32 | nonce << 48, amount), all 0 otherwise.
/// The slot range-checks amount, tokenId and nonce.
template DepositWithdraw() {
    signal input isDeposit;
    signal input isWithdraw;
    signal input accountA;
    signal input tokenId;
    signal input amount;
    signal input nonce;
    signal input aNonce;
    signal output msg[3];
    signal output delta;
    signal output nonceDelta;
    isWithdraw * (nonce - aNonce) === 0;
    nonceDelta <== isWithdraw;
    signal wWithdraw0 <== isWithdraw * (accountA + tokenId * (1 << 32) + nonce * (1 << 48));
    signal wWithdraw1 <== isWithdraw * amount;
    msg[0] <== isWithdraw * DOMAIN_WITHDRAW();
    msg[1] <== wWithdraw0;
    msg[2] <== wWithdraw1;
    signal depositDelta <== (isDeposit - isWithdraw) * amount;
    delta <== depositDelta;
}
