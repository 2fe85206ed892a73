pragma circom 2.1.0;

/// FORCED_COLLATERAL_WITHDRAW (DERIVATIVES.md "FORCED_COLLATERAL_WITHDRAW"): a withdrawal of quote
/// collateral the account's owner queued on the custodian (no signature: the custodian checked the owner).
/// Proves: tokenId is 0 (collateral is the quote token); when isForced (0 or 1), honoured is 1 exactly
/// when the batch has an oracle update (oracleUsed) and `fits`, 0 otherwise, so the operator chooses
/// nothing; refused is 1 for a refused one (0 when not isForced). Without an oracle update there are no
/// marks to judge margin by: the request is proven refused, so it never blocks the queue (a spot-only
/// exchange has no oracle at all). The slot supplies `fits`: the outcome of its initial-margin rule (aIM, the one a signed
/// TRANSFER out of collateral obeys) on A's funding-settled collateral with `amount` taken out (the
/// tentative move -isForced * amount in aPreC); on a refusal it writes A's derivatives leaf back unchanged
/// (no funding settled, no collateral moved). The slot range-checks amount; A's nonce, key, balances and
/// order slots do not move for this type.
template ForcedCollateralWithdraw() {
    signal input isForced;
    signal input oracleUsed;
    signal input tokenId;
    signal input honoured;
    signal input fits;
    signal output refused;
    tokenId === 0;
    signal judged <== isForced * oracleUsed;
    honoured === judged * fits;
    refused <== isForced - honoured;
}
