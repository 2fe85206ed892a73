pragma circom 2.1.0;

include "../../lib/compare.circom";

/// FORCED_WITHDRAW (SPEC.md "FORCED_WITHDRAW"): a withdrawal the account's owner queued on the custodian
/// (no signature: the custodian checked the owner). Proves, when isForced (0 or 1): honoured is 1
/// exactly when A's balance of the token, balance (A's balance of the token), is at least amount, and 0 otherwise, so
/// the operator chooses nothing; delta = -amount when honoured, 0 when refused (the state is then
/// unchanged: the slot moves no nonce, key, order or other balance for this type). When not isForced,
/// honoured and delta are 0. The slot range-checks amount (< 2^96); balance is a balance leaf,
/// below 2^128 (every write of a balance is range-checked), so |balance - amount| < 2^128.
template ForcedWithdraw() {
    signal input isForced;
    signal input balance;
    signal input amount;
    signal input honoured;
    signal output delta;
    component covered = GreaterEq(BITS_BALANCE());
    covered.a <== balance;
    covered.b <== amount;
    honoured === isForced * covered.out;
    delta <== -honoured * amount;
}
