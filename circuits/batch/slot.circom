pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/compconstant.circom";
include "circomlib/circuits/poseidon.circom";
include "../generated/protocol.circom";
include "../lib/compare.circom";
include "../lib/compressedKey.circom";
include "../lib/curvePoint.circom";
include "../lib/orderStorage.circom";
include "../lib/orderWords.circom";
include "../lib/ppm.circom";
include "../lib/quadTree.circom";
include "../lib/signature.circom";
include "./accountUpdate.circom";

/// Proves the transaction of one batch slot, as SPEC.md states it for each type: the state moves from
/// (accountsRootIn, marketsRootIn, feePoolIn) to (accountsRootOut, marketsRootOut, feePoolOut) exactly
/// as the transaction selected by txType requires, and `record` is its public-data record.
template Slot(accountLevels, balanceLevels, orderLevels, marketLevels) {
    // Batch context
    signal input accountsRootIn;
    signal input marketsRootIn;
    signal input feePoolIn;
    signal input timestamp;
    signal output accountsRootOut;
    signal output marketsRootOut;
    signal output feePoolOut;
    signal output record[RECORD_BITS()];

    // Transaction
    signal input txType;
    signal input accountA;      // buyer, or the account of a single-account transaction
    signal input accountB;      // seller
    signal input tokenId;
    signal input amount;
    signal input pubKeyX;
    signal input pubKeyY;
    signal input marketId;
    signal input baseTokenId;
    signal input sizeUnit;
    signal input priceUnit;
    signal input lots;
    signal input priceTicks;
    signal input buyFeePpm;
    signal input sellFeePpm;
    signal input buyFee;
    signal input sellFee;
    signal input nonce;
    signal input orderA[ORDER_FIELDS()];
    signal input orderB[ORDER_FIELDS()];
    signal input sigA[3];
    signal input sigB[3];

    // State witness: account A (a*) and account B (b*) before the transaction, market leaf.
    signal input aPubX;
    signal input aPubY;
    signal input aNonce;
    signal input aSiblings[accountLevels][3];
    signal input aBal1Old;
    signal input aBal1Siblings[balanceLevels][3];
    signal input aBal2Old;
    signal input aBal2Siblings[balanceLevels][3];
    signal input aOrderLeaf[3]; // storedId, filled, cancelled
    signal input aOrderSiblings[orderLevels][3];
    signal input aDerivLeaf;    // derivatives leaf, unchanged by spot transactions
    signal input bPubX;
    signal input bPubY;
    signal input bNonce;
    signal input bSiblings[accountLevels][3];
    signal input bBal1Old;
    signal input bBal1Siblings[balanceLevels][3];
    signal input bBal2Old;
    signal input bBal2Siblings[balanceLevels][3];
    signal input bOrderLeaf[3];
    signal input bOrderSiblings[orderLevels][3];
    signal input bDerivLeaf;
    signal input marketOldLeaf;
    signal input marketSiblings[marketLevels][3];

    // ---- transaction type, one-hot
    signal isType[SPOT_TX_TYPES()];
    var typeSum = 0;
    var typeValue = 0;
    for (var t = 0; t < SPOT_TX_TYPES(); t++) {
        isType[t] <-- txType == t ? 1 : 0;
        isType[t] * (isType[t] - 1) === 0;
        typeSum += isType[t];
        typeValue += t * isType[t];
    }
    typeSum === 1;
    typeValue === txType;
    signal isReg <== isType[TX_REGISTER_KEY()];
    signal isDeposit <== isType[TX_DEPOSIT()];
    signal isMarket <== isType[TX_REGISTER_MARKET()];
    signal isTrade <== isType[TX_TRADE()];
    signal isWithdraw <== isType[TX_WITHDRAW()];
    signal isCancel <== isType[TX_CANCEL()];

    // ---- range checks of the transaction's own fields (ids are range-checked by the tree gadgets)
    component amountBits = Num2Bits(BITS_AMOUNT()); // inspect: range check only, its bits are not used
    amountBits.in <== amount;
    component sizeUnitBits = Num2Bits(BITS_UNIT()); // inspect: range check only, its bits are not used
    sizeUnitBits.in <== sizeUnit;
    component priceUnitBits = Num2Bits(BITS_UNIT()); // inspect: range check only, its bits are not used
    priceUnitBits.in <== priceUnit;
    component lotsBits = Num2Bits(BITS_LOTS()); // inspect: range check only, its bits are not used
    lotsBits.in <== lots;
    component priceBits = Num2Bits(BITS_PRICETICKS()); // inspect: range check only, its bits are not used
    priceBits.in <== priceTicks;
    component buyFeePpmBits = Num2Bits(BITS_FEEPPM()); // inspect: range check only, its bits are not used
    buyFeePpmBits.in <== buyFeePpm;
    component sellFeePpmBits = Num2Bits(BITS_FEEPPM()); // inspect: range check only, its bits are not used
    sellFeePpmBits.in <== sellFeePpm;
    component buyFeeBits = Num2Bits(BITS_BALANCE()); // inspect: range check only, its bits are not used
    buyFeeBits.in <== buyFee;
    component sellFeeBits = Num2Bits(BITS_BALANCE()); // inspect: range check only, its bits are not used
    sellFeeBits.in <== sellFee;
    component nonceBits = Num2Bits(BITS_NONCE()); // inspect: range check only, its bits are not used
    nonceBits.in <== nonce;

    component wordsA = OrderWords(); // inspect: idBits beyond the low 2*orderLevels (the order slot) only range-check the id
    wordsA.o <== orderA;
    component wordsB = OrderWords(); // inspect: idBits beyond the low 2*orderLevels (the order slot) only range-check the id
    wordsB.o <== orderB;

    // ---- signatures
    signal wTrade0 <== isTrade * wordsA.w0;
    signal wWithdraw0 <== isWithdraw * (accountA + tokenId * (1 << 32) + nonce * (1 << 48));
    signal wCancel0 <== isCancel * (accountA + orderA[O_ID()] * (1 << 32));
    signal wTrade1 <== isTrade * wordsA.w1;
    signal wWithdraw1 <== isWithdraw * amount;
    component msgA = Poseidon(3);
    msgA.inputs <== [
        isTrade * DOMAIN_ORDER() + isWithdraw * DOMAIN_WITHDRAW() + isCancel * DOMAIN_CANCEL(),
        wTrade0 + wWithdraw0 + wCancel0,
        wTrade1 + wWithdraw1
    ];
    component msgB = Poseidon(3);
    msgB.inputs <== [DOMAIN_ORDER(), wordsB.w0, wordsB.w1];

    component sigCheckA = SignatureIfEnabled();
    sigCheckA.enabled <== isTrade + isWithdraw + isCancel;
    sigCheckA.ax <== aPubX;
    sigCheckA.ay <== aPubY;
    sigCheckA.sig <== sigA;
    sigCheckA.msg <== msgA.out;
    component sigCheckB = SignatureIfEnabled();
    sigCheckB.enabled <== isTrade;
    sigCheckB.ax <== bPubX;
    sigCheckB.ay <== bPubY;
    sigCheckB.sig <== sigB;
    sigCheckB.msg <== msgB.out;

    // ---- market: read for trades, written by registrations
    component marketBits = Num2Bits(2 * marketLevels);
    marketBits.in <== marketId;
    component marketLeaf = Poseidon(3);
    marketLeaf.inputs <== [baseTokenId, sizeUnit, priceUnit];
    isTrade * (marketOldLeaf - marketLeaf.out) === 0;
    isMarket * marketOldLeaf === 0;
    component baseIsZero = IsZero();
    baseIsZero.in <== baseTokenId;
    component sizeUnitIsZero = IsZero();
    sizeUnitIsZero.in <== sizeUnit;
    component priceUnitIsZero = IsZero();
    priceUnitIsZero.in <== priceUnit;
    isMarket * (baseIsZero.out + sizeUnitIsZero.out + priceUnitIsZero.out) === 0;
    component markets = QuadUpdate(marketLevels);
    markets.oldLeaf <== marketOldLeaf;
    markets.newLeaf <== marketOldLeaf + isMarket * marketLeaf.out;
    markets.indexBits <== marketBits.out;
    markets.siblings <== marketSiblings;
    markets.oldRoot === marketsRootIn;
    marketsRootOut <== markets.newRoot;

    // ---- trade rules (paper Definition 1)
    isTrade * (orderA[O_ACCOUNT()] - accountA) === 0;
    isTrade * (orderB[O_ACCOUNT()] - accountB) === 0;
    isTrade * (orderA[O_MARKET()] - marketId) === 0;
    isTrade * (orderB[O_MARKET()] - marketId) === 0;
    isTrade * orderA[O_SIDE()] === 0;
    isTrade * (1 - orderB[O_SIDE()]) === 0;
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
    component buyExpiry = RequireLessEq(BITS_TIME());
    buyExpiry.enabled <== isTrade;
    buyExpiry.a <== timestamp;
    buyExpiry.b <== orderA[O_EXPIRY()];
    component sellExpiry = RequireLessEq(BITS_TIME());
    sellExpiry.enabled <== isTrade;
    sellExpiry.a <== timestamp;
    sellExpiry.b <== orderB[O_EXPIRY()];
    component buyMaxFee = RequireLessEq(BITS_FEEPPM());
    buyMaxFee.enabled <== isTrade;
    buyMaxFee.a <== buyFeePpm;
    buyMaxFee.b <== orderA[O_MAXFEE()];
    component sellMaxFee = RequireLessEq(BITS_FEEPPM());
    sellMaxFee.enabled <== isTrade;
    sellMaxFee.a <== sellFeePpm;
    sellMaxFee.b <== orderB[O_MAXFEE()];

    // Amounts: base = lots * sizeUnit, quote = lots * priceTicks * priceUnit,
    // fee = ceil(quote * ppm / 10^6) (CeilPpmCheck; the fees are range-checked above).
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

    // ---- order storage
    component storeA = OrderStorage();
    storeA.orderId <== orderA[O_ID()];
    storeA.size <== orderA[O_SIZE()];
    storeA.lots <== lots;
    storeA.fill <== isTrade;
    storeA.cancel <== isCancel;
    storeA.storedId <== aOrderLeaf[0];
    storeA.filled <== aOrderLeaf[1];
    storeA.cancelled <== aOrderLeaf[2];
    component storeB = OrderStorage();
    storeB.orderId <== orderB[O_ID()];
    storeB.size <== orderB[O_SIZE()];
    storeB.lots <== lots;
    storeB.fill <== isTrade;
    storeB.cancel <== 0;
    storeB.storedId <== bOrderLeaf[0];
    storeB.filled <== bOrderLeaf[1];
    storeB.cancelled <== bOrderLeaf[2];

    // ---- balances: A's bal1 is the deposit/withdraw token or, in a trade, the buyer's quote;
    // bal2 is the market's base token. B is only touched by trades.
    signal aBal1Token <== (1 - isTrade) * tokenId;
    signal depositDelta <== (isDeposit - isWithdraw) * amount;
    signal buyerPays <== isTrade * (quoteAmount + buyFee);
    signal aBal1New <== aBal1Old + depositDelta - buyerPays;
    signal baseMoved <== isTrade * baseAmount;
    signal aBal2New <== aBal2Old + baseMoved;
    signal sellerGets <== isTrade * (quoteAmount - sellFee);
    signal bBal1New <== bBal1Old + sellerGets;
    signal bBal2New <== bBal2Old - baseMoved;
    component aBal1Range = Num2Bits(BITS_BALANCE()); // inspect: range check only, its bits are not used
    aBal1Range.in <== aBal1New;
    component aBal2Range = Num2Bits(BITS_BALANCE()); // inspect: range check only, its bits are not used
    aBal2Range.in <== aBal2New;
    component bBal1Range = Num2Bits(BITS_BALANCE()); // inspect: range check only, its bits are not used
    bBal1Range.in <== bBal1New;
    component bBal2Range = Num2Bits(BITS_BALANCE()); // inspect: range check only, its bits are not used
    bBal2Range.in <== bBal2New;
    signal feesCollected <== isTrade * (buyFee + sellFee);
    feePoolOut <== feePoolIn + feesCollected;

    // ---- withdrawal nonce
    isWithdraw * (nonce - aNonce) === 0;

    // ---- account updates, A then B
    component updateA = AccountUpdate(accountLevels, balanceLevels, orderLevels);
    updateA.rootIn <== accountsRootIn;
    updateA.accountId <== accountA;
    updateA.accountSiblings <== aSiblings;
    updateA.oldPubX <== aPubX;
    updateA.oldPubY <== aPubY;
    updateA.oldNonce <== aNonce;
    updateA.newPubX <== aPubX + isReg * (pubKeyX - aPubX);
    updateA.newPubY <== aPubY + isReg * (pubKeyY - aPubY);
    updateA.newNonce <== aNonce + isWithdraw;
    updateA.bal1Token <== aBal1Token;
    updateA.bal1Old <== aBal1Old;
    updateA.bal1New <== aBal1New;
    updateA.bal1Siblings <== aBal1Siblings;
    updateA.bal2Token <== baseTokenId;
    updateA.bal2Old <== aBal2Old;
    updateA.bal2New <== aBal2New;
    updateA.bal2Siblings <== aBal2Siblings;
    for (var i = 0; i < 2 * orderLevels; i++) updateA.orderSlotBits[i] <== wordsA.idBits[i];
    updateA.orderOldLeaf <== storeA.oldLeaf;
    updateA.orderNewLeaf <== storeA.newLeaf;
    updateA.orderSiblings <== aOrderSiblings;
    updateA.derivOld <== aDerivLeaf;
    updateA.derivNew <== aDerivLeaf;

    component updateB = AccountUpdate(accountLevels, balanceLevels, orderLevels);
    updateB.rootIn <== updateA.rootOut;
    updateB.accountId <== accountB;
    updateB.accountSiblings <== bSiblings;
    updateB.oldPubX <== bPubX;
    updateB.oldPubY <== bPubY;
    updateB.oldNonce <== bNonce;
    updateB.newPubX <== bPubX;
    updateB.newPubY <== bPubY;
    updateB.newNonce <== bNonce;
    updateB.bal1Token <== 0;
    updateB.bal1Old <== bBal1Old;
    updateB.bal1New <== bBal1New;
    updateB.bal1Siblings <== bBal1Siblings;
    updateB.bal2Token <== baseTokenId;
    updateB.bal2Old <== bBal2Old;
    updateB.bal2New <== bBal2New;
    updateB.bal2Siblings <== bBal2Siblings;
    for (var i = 0; i < 2 * orderLevels; i++) updateB.orderSlotBits[i] <== wordsB.idBits[i];
    updateB.orderOldLeaf <== storeB.oldLeaf;
    updateB.orderNewLeaf <== storeB.newLeaf;
    updateB.orderSiblings <== bOrderSiblings;
    updateB.derivOld <== bDerivLeaf;
    updateB.derivNew <== bDerivLeaf;
    accountsRootOut <== updateB.rootOut;

    // ---- public-data record. The registered key is compressed as y | signX << 255. The record binds
    // only y and the sign of x: the key must be proven on the curve, or the operator picks x (SPEC.md
    // "Keys"). y is decomposed without the alias check: y + p would give a record other than the
    // custodian's queued one (its key has y < p), which the custodian refuses.
    component keyOnCurve = OnCurveIfEnabled();
    keyOnCurve.enabled <== isReg;
    keyOnCurve.x <== pubKeyX;
    keyOnCurve.y <== pubKeyY;
    component key = CompressedKey();
    key.x <== pubKeyX;
    key.y <== pubKeyY;

    component pack = PackRecord();
    pack.isType <== isType;
    pack.REGISTER_KEY_accountId <== accountA;
    pack.REGISTER_KEY_pubKey_hi <== key.hi;
    pack.REGISTER_KEY_pubKey_lo <== key.lo;
    pack.DEPOSIT_accountId <== accountA;
    pack.DEPOSIT_tokenId <== tokenId;
    pack.DEPOSIT_amount <== amount;
    pack.REGISTER_MARKET_marketId <== marketId;
    pack.REGISTER_MARKET_baseTokenId <== baseTokenId;
    pack.REGISTER_MARKET_sizeUnit <== sizeUnit;
    pack.REGISTER_MARKET_priceUnit <== priceUnit;
    pack.TRADE_buyAccountId <== accountA;
    pack.TRADE_buyOrderId <== orderA[O_ID()];
    pack.TRADE_sellAccountId <== accountB;
    pack.TRADE_sellOrderId <== orderB[O_ID()];
    pack.TRADE_marketId <== marketId;
    pack.TRADE_lots <== lots;
    pack.TRADE_priceTicks <== priceTicks;
    pack.TRADE_buyFeePpm <== buyFeePpm;
    pack.TRADE_sellFeePpm <== sellFeePpm;
    pack.WITHDRAW_accountId <== accountA;
    pack.WITHDRAW_tokenId <== tokenId;
    pack.WITHDRAW_amount <== amount;
    pack.CANCEL_accountId <== accountA;
    pack.CANCEL_orderId <== orderA[O_ID()];
    record <== pack.out;
}
