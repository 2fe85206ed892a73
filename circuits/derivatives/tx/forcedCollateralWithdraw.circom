pragma circom 2.1.0;

/// FORCED_COLLATERAL_WITHDRAW (DERIVATIVES.md "FORCED_COLLATERAL_WITHDRAW"): a withdrawal of quote
/// collateral the account's owner queued on the custodian (no signature: the custodian checked the owner).
/// Proves: tokenId is 0 (collateral is the quote token); when isForced (0 or 1), honoured is 1 exactly
/// when `fits`, 0 otherwise, so the operator chooses nothing. The slot supplies `fits`: the outcome of its
/// initial-margin rule (aIM, the one a signed TRANSFER out of collateral obeys) on A's funding-settled
/// collateral with `amount` taken out (the tentative move -isForced * amount in aPreC); on a refusal it writes
/// A's derivatives leaf back unchanged (no funding settled, no collateral moved). The slot also proves the
/// batch carries an oracle update (`(1 - oracleUsed) * activeA === 0`): without marks the request could only
/// be refused, a refusal the operator would choose by leaving the update out. An honoured one is provable only
/// while the collateral side covers it (the slot's `forcedHonoured * (1 - backed.out) === 0`, DERIVATIVES.md
/// "Pooled quote"): the outcome stays the account's own margin alone. The slot range-checks amount;
/// A's nonce, key, balances and order slots do not move for this type.
template ForcedCollateralWithdraw() {
    signal input isForced;
    signal input tokenId;
    signal input honoured;
    signal input fits;
    signal output refused;
    tokenId === 0;
    honoured === isForced * fits;
    refused <== isForced - honoured;
}
