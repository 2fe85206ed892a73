pragma circom 2.1.0;

include "circomlib/circuits/comparators.circom";
include "../../generated/protocol.circom";
include "../../lib/compare.circom";
include "../../lib/orderTime.circom";
include "../../lib/fixed/fixed.circom";
include "../../lib/ppm.circom";

/// DERIV_TRADE, and the fill of a LIQUIDATE (DERIVATIVES.md "DERIV_TRADE", "LIQUIDATE"; paper
/// Definition 1 for the orders, Protocol 2 for the liquidator's): account B's signed order is filled
/// against account A, `lots` at `priceTicks`, in the slot's instrument (one template: the two types
/// share B's order rules, the cash and the fees). Proves, when isTrade or isLiq (at most one, 0 or 1):
/// - the instrument is registered, not settled (notSettled), priced by the batch's update (not `unpriced`: an option
///   has its vol slice) and, if dated, before its expiry;
/// - DERIV_TRADE: order A is a buy by accountA, order B a sell by accountB; LIQUIDATE: order B is the
///   liquidator's (accountB) and takes the other side of A's position sizeA (B buys when A is long);
/// - both orders are for the instrument's marketId (INSTRUMENT_MARKET_BASE + instrumentId + N * generation, the
///   slot's: an order signed for an earlier instrument of a reused id never fills), the price is within each
///   filled order's limit, lots > 0, no filled order has expired, and one that never rests expires at most IMMEDIATE_ORDER_TTL after
///   the timestamp (OrderTime), and the fee rates are at most the
///   signed maxima (a liquidator's fee, in buyFeePpm, against B's maximum; a LIQUIDATE has no other
///   fee: sellFeePpm = sellFee = 0);
/// - cash = lots * priceTicks * tickValue and fee = ceil(cash * ppm / 10^6) (CeilPpmCheck).
/// Its part of the slot's output, all 0 otherwise: A's and B's position deltas (aDelta, bDelta) and
/// cash (aCash, bCash: the buyer pays cash + fee, the seller receives cash - fee; in a liquidation A
/// trades at cash and B pays its fee), the fee pool's gain (feeDelta); liqDir = +1 when A is long
/// (it sells), -1 when short; bBuys = 1 when B's order buys (a liquidation of a long); msg is the message order A of a DERIV_TRADE is signed over. The slot
/// checks the signatures, fills the orders' slots (OrderStorage), applies the deltas after funding
/// and checks the margins (Liquidate checks the rest of a liquidation).
template Fill() {
    signal input isTrade;
    signal input isLiq;
    signal input timestamp;
    signal input accountA;
    signal input accountB;
    signal input marketId;      // the instrument's market id (the slot's: base + id + N * generation)
    signal input orderA[ORDER_FIELDS()];  // inspect: the whole order is passed; its id, size, type and time in force are the slot's (OrderWords, OrderStorage)
    signal input orderB[ORDER_FIELDS()];  // inspect: the whole order is passed; its id, size, type and time in force are the slot's (OrderWords, OrderStorage)
    signal input wordsA[2];     // OrderWords(orderA).w0, .w1
    signal input lots;
    signal input priceTicks;
    signal input buyFeePpm;     // LIQUIDATE: the liquidator's fee
    signal input sellFeePpm;
    signal input buyFee;
    signal input sellFee;
    signal input tickValue;     // the instrument's fields at the batch's start
    signal input kindNone;
    signal input dated;
    signal input notSettled;
    signal input unpriced;      // 1: an option the batch's update has no vol slice for (OracleStep)
    signal input expiry;
    signal input sizeA;         // A's position in the instrument
    signal output msg[3];
    signal output liqDir;
    signal output bBuys;
    signal output aDelta;
    signal output aCash;
    signal output bDelta;
    signal output bCash;
    signal output feeDelta;
    signal fills <== isTrade + isLiq;
    // a LIQUIDATE has one fee rate, the liquidator's (in buyFeePpm)
    isLiq * sellFeePpm === 0;

    // ---- the instrument: registered, unsettled, priced, before a dated instrument's expiry
    fills * kindNone === 0;
    fills * (1 - notSettled) === 0;
    // priced by the batch's update: an option listed after the update was signed is marked at the floor vol, so
    // a fill there would be margined at it (review of 2026-12-06: a writer sold calls at the floor mark)
    fills * unpriced === 0;
    component beforeExpiry = LessThan(BITS_TIME());
    beforeExpiry.in[0] <== timestamp;
    beforeExpiry.in[1] <== expiry;
    signal datedFill <== fills * dated;
    datedFill * (1 - beforeExpiry.out) === 0;

    // ---- the liquidated position's direction (victimLong) and the fill's direction for each side
    component victimSign = SignedRange(BITS_POSITIONSIZE());
    victimSign.in <== sizeA;
    signal victimLong <== victimSign.nonNeg;
    bBuys <== isLiq * victimLong;
    signal bSells <== isTrade + isLiq - bBuys;
    liqDir <== 2 * victimLong - 1; // +1: the liquidated account is long and sells

    // ---- order rules
    isTrade * (orderA[O_ACCOUNT()] - accountA) === 0;
    isTrade * (orderA[O_MARKET()] - marketId) === 0;
    isTrade * orderA[O_SIDE()] === 0;
    fills * (orderB[O_ACCOUNT()] - accountB) === 0;
    fills * (orderB[O_MARKET()] - marketId) === 0;
    bSells * (1 - orderB[O_SIDE()]) === 0;
    bBuys * orderB[O_SIDE()] === 0;
    component buyPrice = RequireLessEq(BITS_PRICETICKS());
    buyPrice.enabled <== isTrade;
    buyPrice.a <== priceTicks;
    buyPrice.b <== orderA[O_PRICE()];
    component bBuyPrice = RequireLessEq(BITS_PRICETICKS());
    bBuyPrice.enabled <== bBuys;
    bBuyPrice.a <== priceTicks;
    bBuyPrice.b <== orderB[O_PRICE()];
    component sellPrice = RequireLessEq(BITS_PRICETICKS());
    sellPrice.enabled <== bSells;
    sellPrice.a <== orderB[O_PRICE()];
    sellPrice.b <== priceTicks;
    component lotsIsZero = IsZero();
    lotsIsZero.in <== lots;
    fills * lotsIsZero.out === 0;
    component timeA = OrderTime();
    timeA.enabled <== isTrade;
    timeA.timestamp <== timestamp;
    timeA.o <== orderA;
    component timeB = OrderTime();
    timeB.enabled <== fills;
    timeB.timestamp <== timestamp;
    timeB.o <== orderB;
    component maxFeeA = RequireLessEq(BITS_FEEPPM());
    maxFeeA.enabled <== isTrade;
    maxFeeA.a <== buyFeePpm;
    maxFeeA.b <== orderA[O_MAXFEE()];
    component maxFeeB = RequireLessEq(BITS_FEEPPM());
    maxFeeB.enabled <== fills;
    maxFeeB.a <== sellFeePpm + isLiq * buyFeePpm;
    maxFeeB.b <== orderB[O_MAXFEE()];

    // ---- cash and fees: cash = lots * priceTicks * tickValue, fee = ceil(cash * ppm / 10^6) (CeilPpmCheck)
    signal lotsTimesPrice <== lots * priceTicks;
    signal cash <== lotsTimesPrice * tickValue;
    component buyFeeRounding = CeilPpmCheck();
    buyFeeRounding.a <== cash;
    buyFeeRounding.ppm <== buyFeePpm;
    buyFeeRounding.q <== buyFee;
    component sellFeeRounding = CeilPpmCheck();
    sellFeeRounding.a <== cash;
    sellFeeRounding.ppm <== sellFeePpm;
    sellFeeRounding.q <== sellFee;
    // A LIQUIDATE carries one fee (the liquidator's, in buyFee). With sellFeePpm = 0 the rounding rule
    // alone leaves sellFee = r / 10^6 mod p for any r < 10^6, which would reach the fee pool charged to
    // no account: it must be 0.
    isLiq * sellFee === 0;
    feeDelta <== fills * (buyFee + sellFee);

    // ---- positions and cash of A (the buyer; the liquidated account) and B (the seller; the liquidator)
    signal liqDeltaA <== -liqDir * lots;
    signal tradeDelta <== isTrade * lots;
    signal liqDelta <== isLiq * liqDeltaA;
    aDelta <== tradeDelta + liqDelta;
    bDelta <== -tradeDelta - liqDelta;
    signal aTradeCash <== isTrade * (cash + buyFee);
    signal liqCash <== liqDir * cash;
    signal aLiqCash <== isLiq * liqCash;
    aCash <== aLiqCash - aTradeCash;
    signal bTradeCash <== isTrade * (cash - sellFee);
    signal bLiqCash <== isLiq * (-liqCash - buyFee);
    bCash <== bTradeCash + bLiqCash;

    // ---- the message order A is signed over (a DERIV_TRADE's; the liquidated account signs nothing)
    signal wTrade0 <== isTrade * wordsA[0];
    signal wTrade1 <== isTrade * wordsA[1];
    msg[0] <== isTrade * DOMAIN_ORDER();
    msg[1] <== wTrade0;
    msg[2] <== wTrade1;
}
