pragma circom 2.1.0;

include "circomlib/circuits/comparators.circom";

/// A reduce-only order's fill (DERIVATIVES.md, "Reduce-only orders"), one filled side of a DERIV_TRADE
/// or a LIQUIDATE's liquidator. Proves, when `enabled` (the order's signed reduceOnly bit times the fill
/// flag: 0 or 1): the position after the fill is on the reducing side of zero: `sizeAfter <= 0` when
/// the side buys (`buys` = 1), `sizeAfter >= 0` when it sells. With `lots > 0` (Fill) this is exactly
/// "the fill never increases the position's size nor flips it": a buy that ends at or below zero
/// started below zero by at least what it bought (`|after| < |before|`, same sign or flat), and
/// likewise for a sell. `nonNeg` must be 1 exactly when `sizeAfter >= 0` (the slot selects it from
/// AccountRisk's range check of the written position). Cost: 4 constraints (IsZero and the rule).
template ReduceOnly() {
    signal input enabled;
    signal input buys;
    signal input sizeAfter;
    signal input nonNeg;
    component flat = IsZero();
    flat.in <== sizeAfter;
    // reducing = nonNeg for a sell; for a buy, 1 - nonNeg + flat (below zero, or exactly flat)
    signal buyTerm <== buys * (1 - 2 * nonNeg + flat.out);
    enabled * (1 - nonNeg - buyTerm) === 0;
}
