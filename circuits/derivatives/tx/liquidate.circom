pragma circom 2.1.0;

include "circomlib/circuits/comparators.circom";
include "../../generated/protocol.circom";
include "../../lib/accountRisk.circom";
include "../../lib/compare.circom";
include "../../lib/ppm.circom";

/// LIQUIDATE (DERIVATIVES.md "LIQUIDATE", paper Protocol 2), what the fill (Fill) does not cover.
/// Proves, when isLiq (0 or 1): the liquidator (accountB) is another account; A is below maintenance
/// margin after funding (equity < MM of aSettledC and aSize at the marks); the fill reduces A's
/// position and never flips it (0 < lots <= |sizeA|); the price per lot is within LIQ_BAND_PPM of
/// the instrument's mark, give or take one tick, and at least one tick (Fill proves that the liquidator's fee is the only one); a fill that
/// leaves A under water lowers A's equity by at most one tick per lot (no new bad debt); and
/// penalty = min(ceil(lots * mark * LIQ_PENALTY_PPM / 10^6), max(equity after the fill, 0)). When
/// not isLiq, penalty = 0. postTradeEquity and postTradeSolvent (equity >= 0) are A's after the fill,
/// before penalty and bad debt (the slot's aPostTrade). The slot moves the penalty into the insurance
/// fund and covers bad debt (BadDebt). preEquity is A's equity at the marks after funding, before the
/// fill, whatever the type (Deleverage reads it too).
template Liquidate(N) {
    signal input isLiq;
    signal input accountA;
    signal input accountB;
    signal input lots;
    signal input priceTicks;
    signal input tickValue;
    signal input instrumentMark;
    signal input sizeA;
    signal input liqDir;
    signal input aSettledC;
    signal input aSize[N];
    signal input mark[N];
    signal input mmLong[N];
    signal input mmShort[N];
    signal input postTradeEquity;
    signal input postTradeSolvent;
    signal input penalty;
    signal output preEquity;

    // The liquidator is another account, the liquidated one is below maintenance margin, the fill
    // reduces its position, the price is within the band around the mark. (With accountA = accountB the
    // position would be sold and bought straight back in one slot while the insurance fund covered the
    // deficit of the flat state in between.)
    component selfLiquidation = IsEqual();
    selfLiquidation.in[0] <== accountA;
    selfLiquidation.in[1] <== accountB;
    isLiq * selfLiquidation.out === 0;
    component absLots = Num2Bits(BITS_POSITIONSIZE());  // inspect: a range check; its bits are not used
    signal absVictim <== liqDir * sizeA;
    absLots.in <== isLiq * (absVictim - lots);
    signal perLot <== priceTicks * tickValue;
    // The band, widened by one tick each way: mark (1 - band) <= perLot + tick and perLot <= mark (1 + band) + tick.
    // Without the tick, an instrument whose mark per lot is a few ticks or less (a deep out-of-the-money option) had
    // no price inside the band, and an account below maintenance margin through it could never be liquidated
    // (review of 2026-12-06). Both sides stay below 2^110 (perLot < 2^88, mark < 2^72, tick < 2^48).
    component bandLo = RequireGreaterEq(120);
    bandLo.enabled <== isLiq;
    bandLo.a <== (perLot + tickValue) * PPM();
    bandLo.b <== instrumentMark * (PPM() - LIQ_BAND_PPM());
    component bandHi = RequireGreaterEq(120);
    bandHi.enabled <== isLiq;
    bandHi.a <== instrumentMark * (PPM() + LIQ_BAND_PPM()) + tickValue * PPM();
    bandHi.b <== perLot * PPM();
    // A price is at least one tick: with the widened band a mark under about a tick would otherwise let the
    // liquidator take a long position for nothing (review of 2026-12-06).
    component freeFill = IsZero();
    freeFill.in <== priceTicks;
    isLiq * freeFill.out === 0;

    component aPre = AccountRisk(N);  // inspect: its equity and requirement are used; the sign of its cash is not
    aPre.c <== aSettledC;
    aPre.size <== aSize;
    aPre.mark <== mark;
    aPre.long <== mmLong;
    aPre.short <== mmShort;
    component belowMM = RequireGreaterEq(135);
    belowMM.enabled <== isLiq;
    belowMM.a <== aPre.req;
    belowMM.b <== aPre.equity + 1;
    preEquity <== aPre.equity;

    // penalty = min(ceil(lots * mark * LIQ_PENALTY_PPM / 10^6), max(equity after the fill, 0)), 0 unless LIQUIDATE
    component fullPenalty = CeilPpm(114);
    fullPenalty.a <== lots * instrumentMark;
    fullPenalty.ppm <== LIQ_PENALTY_PPM();
    signal eqPos <== postTradeSolvent * postTradeEquity;
    component capped = LessThan(134);
    capped.in[0] <== eqPos;
    capped.in[1] <== fullPenalty.out;
    signal penaltyIfLiq <== fullPenalty.out + capped.out * (eqPos - fullPenalty.out);
    penalty === isLiq * penaltyIfLiq;
    // A fill that leaves A under water may lower A's equity by at most one tick per lot (the price is
    // in ticks, the mark is not): the band lets the operator sell a solvent account's position below the
    // mark, never push it (further) into a debt nobody can collect, which the liquidator would pocket.
    signal liqUnderwater <== isLiq * (1 - postTradeSolvent);
    signal lotsTick <== lots * tickValue;
    component noNewDebt = RequireGreaterEq(136);
    noNewDebt.enabled <== liqUnderwater;
    noNewDebt.a <== postTradeEquity + lotsTick;
    noNewDebt.b <== aPre.equity;
}
