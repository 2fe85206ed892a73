pragma circom 2.1.0;

include "../../lib/compare.circom";

/// INSURANCE_WITHDRAW (DERIVATIVES.md "INSURANCE_WITHDRAW"): the insurance fund paid out to the custodian's
/// insurance recipient, a request the custodian's operator queued (no signature: the custodian checked the
/// role and names the recipient). Proves, when isIns (0 or 1): the record names no account
/// (accountId = 0; the slot pins tokenId to 0 for every type); honoured is 1 exactly when what the fund
/// keeps still covers the open bad debt, insurance >= amount + badDebt, and the collateral side (the state's pooled
/// quote less the fee pool) covers the amount (`backed`, the slot's comparison: DERIVATIVES.md "Pooled quote"), and 0 otherwise, so the operator
/// chooses nothing; fundDelta = -amount when honoured, 0 when refused (nothing else moves for this type).
/// When not isIns, honoured (the slot passes it gated) and fundDelta are 0.
/// Width: amount < 2^96 (the slot's range check); the fund is below 2^128 at every batch's end, grows
/// inside a batch by range-checked penalties (< 2^128, one per slot, at most 2^10 slots) and only shrinks by
/// what it covers, so it stays a non-negative integer below 2^139; the open bad debt is below 2^128 at
/// every batch's end and grows by at most two accounts' collateral (< 2^127 each) per slot; so
/// |insurance - amount - badDebt| < 2^140.
template InsuranceWithdraw() {
    signal input isIns;
    signal input accountId;
    signal input insurance;
    signal input badDebt;
    signal input amount;
    signal input backed;
    signal input honoured;
    signal output fundDelta;
    isIns * accountId === 0;
    component covered = GreaterEq(BITS_BALANCE() + 12);
    covered.a <== insurance;
    covered.b <== amount + badDebt;
    signal bothCover <== covered.out * backed;
    honoured === isIns * bothCover;
    fundDelta <== -honoured * amount;
}
