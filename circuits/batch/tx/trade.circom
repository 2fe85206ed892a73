pragma circom 2.1.0;

include "circomlib/circuits/comparators.circom";
include "../../generated/protocol.circom";
include "../../lib/compare.circom";
include "../../lib/orderTime.circom";
include "../../lib/ppm.circom";

/// TRADE (SPEC.md "TRADE", paper Definition 1). Proves, when isTrade (0 or 1): order A is a buy by
/// accountA and order B a sell by accountB, both for the slot's market, which is registered with
/// (sizeUnit, priceUnit) (marketLeaf = marketOldLeaf); buy limit >= priceTicks >= sell limit; lots > 0;
/// neither order has expired at `timestamp`, and one that never rests expires at most IMMEDIATE_ORDER_TTL after
/// it (OrderTime); both fee rates are at most the orders' signed maxima; the
/// fees are the protocol's rounding fee = ceil(quote * ppm / 10^6) (CeilPpmCheck); neither order is
/// reduce-only (a spot market has no position to reduce: DERIVATIVES.md, "Reduce-only orders") and neither carries
/// a trigger (stop and take-profit orders trigger on a mark, which spot markets lack). Its part of the
/// slot's output, all 0 when not isTrade: the buyer pays quote + buyFee and receives base, the seller
/// receives quote - sellFee and gives base, the fee pool gains both fees (base = lots * sizeUnit,
/// quote = lots * priceTicks * priceUnit); msg is the message order A is signed over (DOMAIN_ORDER,
/// w0, w1 of OrderWords). The slot checks both signatures, fills both orders' slots (OrderStorage)
/// and range-checks the fields, the fees and every new balance.
template Trade() {
    signal input isTrade;
    signal input timestamp;
    signal input accountA;
    signal input accountB;
    signal input marketId;
    signal input orderA[ORDER_FIELDS()];  // inspect: the whole order is passed; its id, size, type and time in force are the slot's (OrderWords, OrderStorage)
    signal input orderB[ORDER_FIELDS()];  // inspect: the whole order is passed; its id, size, type and time in force are the slot's (OrderWords, OrderStorage)
    signal input wordsA[2];     // OrderWords(orderA).w0, .w1
    signal input lots;
    signal input priceTicks;
    signal input buyFeePpm;
    signal input sellFeePpm;
    signal input buyFee;
    signal input sellFee;
    signal input sizeUnit;
    signal input priceUnit;
    signal input marketOldLeaf;
    signal input marketLeaf;
    signal output msg[3];
    signal output aQuoteDelta;   // the buyer's quote token
    signal output aBaseDelta;   // the buyer's base token
    signal output bQuoteDelta;   // the seller's quote token
    signal output bBaseDelta;   // the seller's base token
    signal output feeDelta;

    isTrade * (marketOldLeaf - marketLeaf) === 0;
    isTrade * (orderA[O_ACCOUNT()] - accountA) === 0;
    isTrade * (orderB[O_ACCOUNT()] - accountB) === 0;
    isTrade * (orderA[O_MARKET()] - marketId) === 0;
    isTrade * (orderB[O_MARKET()] - marketId) === 0;
    isTrade * orderA[O_SIDE()] === 0;
    isTrade * (1 - orderB[O_SIDE()]) === 0;
    isTrade * (orderA[O_REDUCE()] + orderB[O_REDUCE()]) === 0;  // no reduce-only order on spot (both bits boolean: OrderWords)
    // no stop or take-profit order on spot (no mark to trigger on): every trigger field 0 (each range-checked by OrderWords)
    isTrade * (orderA[O_TRIGTYPE()] + orderA[O_TRIGPRICE()] + orderB[O_TRIGTYPE()] + orderB[O_TRIGPRICE()]) === 0;
    component buyPrice = RequireLessEq(BITS_PRICETICKS());
    buyPrice.enabled <== isTrade;
    buyPrice.a <== priceTicks;
    buyPrice.b <== orderA[O_PRICE()];
    component sellPrice = RequireLessEq(BITS_PRICETICKS());
    sellPrice.enabled <== isTrade;
    sellPrice.a <== orderB[O_PRICE()];
    sellPrice.b <== priceTicks;
    component lotsIsZero = IsZero();
    lotsIsZero.in <== lots;
    isTrade * lotsIsZero.out === 0;
    component buyTime = OrderTime();
    buyTime.enabled <== isTrade;
    buyTime.timestamp <== timestamp;
    buyTime.o <== orderA;
    component sellTime = OrderTime();
    sellTime.enabled <== isTrade;
    sellTime.timestamp <== timestamp;
    sellTime.o <== orderB;
    component buyMaxFee = RequireLessEq(BITS_FEEPPM());
    buyMaxFee.enabled <== isTrade;
    buyMaxFee.a <== buyFeePpm;
    buyMaxFee.b <== orderA[O_MAXFEE()];
    component sellMaxFee = RequireLessEq(BITS_FEEPPM());
    sellMaxFee.enabled <== isTrade;
    sellMaxFee.a <== sellFeePpm;
    sellMaxFee.b <== orderB[O_MAXFEE()];

    // Amounts: base = lots * sizeUnit, quote = lots * priceTicks * priceUnit,
    // fee = ceil(quote * ppm / 10^6) (CeilPpmCheck; the slot range-checks the fees).
    signal baseAmount <== lots * sizeUnit;
    signal lotsTimesPrice <== lots * priceTicks;
    signal quoteAmount <== lotsTimesPrice * priceUnit;
    component buyFeeRounding = CeilPpmCheck();
    buyFeeRounding.a <== quoteAmount;
    buyFeeRounding.ppm <== buyFeePpm;
    buyFeeRounding.q <== buyFee;
    component sellFeeRounding = CeilPpmCheck();
    sellFeeRounding.a <== quoteAmount;
    sellFeeRounding.ppm <== sellFeePpm;
    sellFeeRounding.q <== sellFee;

    signal buyerPays <== isTrade * (quoteAmount + buyFee);
    signal baseMoved <== isTrade * baseAmount;
    signal sellerGets <== isTrade * (quoteAmount - sellFee);
    signal feesCollected <== isTrade * (buyFee + sellFee);
    aQuoteDelta <== -buyerPays;
    aBaseDelta <== baseMoved;
    bQuoteDelta <== sellerGets;
    bBaseDelta <== -baseMoved;
    feeDelta <== feesCollected;

    signal wTrade0 <== isTrade * wordsA[0];
    signal wTrade1 <== isTrade * wordsA[1];
    msg[0] <== isTrade * DOMAIN_ORDER();
    msg[1] <== wTrade0;
    msg[2] <== wTrade1;
}
