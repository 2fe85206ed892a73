pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";

/// A stop or take-profit order's fill (DERIVATIVES.md, "Stop and take-profit orders"; RULES.md TG1-TG2): one
/// filled order of a DERIV_TRADE (A's, B's) or a LIQUIDATE (the liquidator's). Proves, when `fill` (0 or 1):
/// - the signed trigger is one intake accepts (messages.ts triggerFault): none (type 0, price 0), or a stop (1)
///   or a take-profit (2) with a price above 0;
/// - the order's first fill (`filledBefore` = 0, OrderStorage's count of its earlier fills) happens at a mark
///   that has crossed its trigger (triggers.ts triggerCrossed): at = triggerPrice * tickValue quote units per
///   lot; a stop buy and a take-profit sell need mark >= at, a stop sell and a take-profit buy mark <= at.
///   Once filled in part, the order rests as a plain limit order: later fills need nothing more.
/// OrderWords range-checks the trigger (type < 4, price < 2^40); tickValue < 2^48 and every mark is a 72-bit
/// quotient (LotValue, the option values' DivFloor), so |mark - at| < 2^88 and the 89-bit range check below
/// decides the comparison.
/// `sells` is the order's side (O_SIDE: 1 sells). Cost: about 105 constraints.
template TriggerFill() {
    signal input fill;
    signal input filledBefore;
    signal input triggerType;
    signal input triggerPrice;
    signal input sells;
    signal input tickValue;
    signal input mark;

    // the trigger types intake accepts: 0, 1, 2; type 0 with no price, the others with one
    signal type01 <== triggerType * (triggerType - 1);
    signal fillType01 <== fill * type01;
    fillType01 * (triggerType - 2) === 0;
    component none = IsZero();
    none.in <== triggerType;
    component noPrice = IsZero();
    noPrice.in <== triggerPrice;
    fill * (none.out - noPrice.out) === 0;

    // a trigger at the first fill: the mark has crossed it
    component first = IsZero();
    first.in <== filledBefore;
    signal firstFill <== fill * first.out;
    signal enabled <== firstFill * (1 - none.out);
    // rising = 1 for a stop buy (type 1, sells 0) and a take-profit sell (type 2, sells 1), 0 for the other two
    signal stopBuy <== (2 - triggerType) * (1 - sells);
    signal at <== triggerPrice * tickValue;
    // (2 * rising - 1) * (mark - at) >= 0, with rising = triggerType + sells - 2 + 2 * stopBuy
    signal beyond <== (2 * (triggerType + sells - 2 + 2 * stopBuy) - 1) * (mark - at);
    component crossed = Num2Bits(89);  // inspect: a range check; its bits are not used
    crossed.in <== enabled * beyond;
}
