pragma circom 2.1.0;

include "../../lib/compare.circom";

/// FEE_WITHDRAW (SPEC.md "FEE_WITHDRAW"): the fee pool paid out to the custodian's fee recipient, a request
/// the custodian's operator queued (no signature: the custodian checked the role and names the recipient).
/// Proves, when isFee (0 or 1): the record names no account and token (accountId = tokenId = 0, as the
/// custodian queued it); honoured is 1 exactly when the fee pool, feePool, is at least amount, and 0
/// otherwise, so the operator chooses nothing; feeDelta = -amount when honoured, 0 when refused (nothing
/// else moves for this type). When not isFee, honoured (the slot passes it gated) and feeDelta are 0.
/// Width: the slot range-checks amount (< 2^96); the pool is below 2^128 at every batch's end and grows
/// inside a batch by at most two range-checked fees (< 2^128) per slot, with at most 2^10 slots, and only
/// shrinks by what it covers, so it stays a non-negative integer below 2^139 and |feePool - amount| < 2^140.
template FeeWithdraw() {
    signal input isFee;
    signal input accountId;
    signal input tokenId;
    signal input feePool;
    signal input pooled;
    signal input amount;
    signal input honoured;
    signal output feeDelta;
    isFee * accountId === 0;
    isFee * tokenId === 0;
    component covered = GreaterEq(BITS_BALANCE() + 12);
    covered.a <== feePool;
    covered.b <== amount;
    component backed = GreaterEq(BITS_BALANCE() + 12);
    backed.a <== pooled;
    backed.b <== amount;
    signal bothCover <== covered.out * backed.out;
    honoured === isFee * bothCover;
    feeDelta <== -honoured * amount;
}
