pragma circom 2.1.0;

include "circomlib/circuits/comparators.circom";
include "../../generated/protocol.circom";
include "../../lib/compare.circom";

/// The close of a DELEVERAGE (DERIVATIVES.md "DELEVERAGE"): `lots` of A's position in the instrument pass to B
/// at the instrument's mark, and B pays `amount` of A's deficit on top. Its part of the slot's output, all 0
/// unless isDel: aDelta = -dir * lots, bDelta = dir * lots (dir = +1 when A is long: A sells), A's cash
/// dir * lots * mark + amount, B's the opposite. At the mark a close moves no equity; `amount` moves exactly
/// itself (Deleverage bounds it).
template DeleverageClose() {
    signal input isDel;
    signal input lots;
    signal input amount;
    signal input instrumentMark;
    signal input dir;
    signal output aDelta;
    signal output aCash;
    signal output bDelta;
    signal output bCash;
    signal move <== isDel * lots;
    aDelta <== -dir * move;
    bDelta <== dir * move;
    signal atMark <== move * instrumentMark;
    signal paid <== isDel * amount;
    aCash <== dir * atMark + paid;
    bCash <== -dir * atMark - paid;
}

/// DELEVERAGE's rule (DERIVATIVES.md "DELEVERAGE"): the loss the insurance fund cannot cover goes to the
/// traders on the other side of the bankrupt account's positions (auto-deleveraging, as StarkEx and Lighter
/// do). Proves, when isDel (0 or 1):
/// - the counterparty (accountB) is another account, and the instrument is registered (settled or not: at
///   expiry, before SETTLE pays it out, a settled position closes at its mark, the payoff per lot, so a deficit
///   an expiry leaves beyond the fund goes to the holders of the other side as any other does);
/// - A is bankrupt beyond the fund: its equity at the marks after funding (preEquity) plus the insurance
///   fund (insuranceIn) is negative, so no liquidation and no fund can make it whole;
/// - `0 < lots <= |sizeA|` and B holds at least `lots` on the other side (`-dir * sizeB >= lots`, dir = +1
///   when A is long): both positions shrink toward zero and neither flips;
/// - or `lots = 0` and A holds no position at all (aFlat: every size 0), the last resort ("socialised"): once
///   A is flat nobody is on the other side of its deficit, so any other account may pay it, no position moves;
/// - B pays no more than the shortfall beyond the fund: preEquity + amount + insuranceIn <= 0 (amount >= 0
///   is the slot's range check), so the fund still pays first and nobody gains from the deficit;
/// - B stays solvent: its equity after the close (bPostEquity) is >= 0.
/// No signature (the rule, not a trader, decides it; the operator chooses B, lots and amount within it), no
/// fee, no penalty. The slot settles both accounts' funding first, applies DeleverageClose, and lets BadDebt
/// cover what is left of A's deficit once A holds nothing.
template Deleverage() {
    signal input isDel;
    signal input accountA;
    signal input accountB;
    signal input lots;
    signal input amount;
    signal input kindNone;
    signal input sizeA;         // A's position in the instrument
    signal input sizeB;         // B's position in the instrument
    signal input aFlat;         // 1 when A holds no position in any instrument (BadDebt's flat; with lots = 0 nothing moves, so before = after)
    signal input dir;           // +1 when sizeA >= 0, -1 otherwise (Fill's liqDir)
    signal input preEquity;     // A's equity at the marks, after funding, before the close
    signal input insuranceIn;
    signal input bPostEquity;   // B's equity after the close
    signal output socialised;   // 1 for a socialised one (isDel and lots = 0): no position moves, so the slot writes none of B's (DerivSlot's bWrite)

    // another account; a registered instrument
    component same = IsEqual();
    same.in <== [accountA, accountB];
    isDel * same.out === 0;
    isDel * kindNone === 0;

    // bankrupt beyond the fund: -(preEquity + insuranceIn) >= 1
    component bankrupt = RequireGreaterEq(136);
    bankrupt.enabled <== isDel;
    bankrupt.a <== 0 - insuranceIn - preEquity;
    bankrupt.b <== 1;

    // 0 < lots <= |sizeA| and lots <= B's opposite position; or lots = 0 when A holds nothing (socialised)
    component noLots = IsZero();
    noLots.in <== lots;
    socialised <== isDel * noLots.out;
    socialised * (1 - aFlat) === 0;
    component withinA = RequireGreaterEq(BITS_POSITIONSIZE());
    withinA.enabled <== isDel;
    withinA.a <== dir * sizeA;
    withinA.b <== lots;
    component withinB = RequireGreaterEq(BITS_POSITIONSIZE());
    withinB.enabled <== isDel - socialised;
    withinB.a <== 0 - dir * sizeB;
    withinB.b <== lots;

    // B pays at most the shortfall beyond the fund
    component withinShortfall = RequireGreaterEq(136);
    withinShortfall.enabled <== isDel;
    withinShortfall.a <== 0 - insuranceIn - preEquity;
    withinShortfall.b <== amount;
    // B stays solvent
    component bSolvent = RequireGreaterEq(136);
    bSolvent.enabled <== isDel;
    bSolvent.a <== bPostEquity;
    bSolvent.b <== 0;
}
