pragma circom 2.1.0;

include "circomlib/circuits/comparators.circom";

/// REGISTER_MARKET (SPEC.md "REGISTER_MARKET"). Proves: when isMarket (0 or 1), the market's leaf was
/// empty (a market is registered once), the base token, size unit and price unit are non-zero, and
/// leafDelta = marketLeaf (the slot's Poseidon(baseTokenId, sizeUnit, priceUnit)) is written into
/// the empty leaf; leafDelta = 0 otherwise. The slot range-checks the units.
template RegisterMarket() {
    signal input isMarket;
    signal input baseTokenId;
    signal input sizeUnit;
    signal input priceUnit;
    signal input marketOldLeaf;
    signal input marketLeaf;
    signal output leafDelta;
    isMarket * marketOldLeaf === 0;
    component baseIsZero = IsZero();
    baseIsZero.in <== baseTokenId;
    component sizeUnitIsZero = IsZero();
    sizeUnitIsZero.in <== sizeUnit;
    component priceUnitIsZero = IsZero();
    priceUnitIsZero.in <== priceUnit;
    isMarket * (baseIsZero.out + sizeUnitIsZero.out + priceUnitIsZero.out) === 0;
    leafDelta <== isMarket * marketLeaf;
}
