pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/poseidon.circom";
include "../generated/protocol.circom";
include "../lib/accountRisk.circom";
include "../lib/compare.circom";
include "../lib/fixed/fixed.circom";
include "../lib/orderStorage.circom";
include "../lib/orderWords.circom";
include "../lib/ppm.circom";
include "../lib/select.circom";
include "../lib/signature.circom";
include "../batch/accountUpdate.circom";

/// Proves the derivatives transaction of one derivatives slot as DERIVATIVES.md states it for each
/// type (NOOP, DERIV_TRADE, LIQUIDATE, SETTLE, TRANSFER, REGISTER_INSTRUMENT): the state moves from
/// (accountsRootIn, feePoolIn, insuranceIn, tableIn) to the outputs exactly as the type requires, with
/// the batch's marks and margins (from OracleStep) and the instrument table at the batch's start
/// (`start`); `record` is its public-data record.
template DerivSlot(accountLevels, balanceLevels, orderLevels, N, O, U) {
    // Batch context
    signal input accountsRootIn;
    signal input feePoolIn;
    signal input insuranceIn;
    signal input tableIn[N][I_FIELDS()];
    signal input timestamp;
    signal input oracleUsed;
    signal input start[N][I_FIELDS()];
    signal input mark[N];
    signal input imLong[N];
    signal input imShort[N];
    signal input mmLong[N];
    signal input mmShort[N];
    signal output accountsRootOut;
    signal output feePoolOut;
    signal output insuranceOut;
    signal output tableOut[N][I_FIELDS()];
    signal output record[RECORD_BITS()];

    // Transaction
    signal input txType;
    signal input accountA;      // buyer; the liquidated account; the account of SETTLE and TRANSFER
    signal input accountB;      // seller; the liquidator
    signal input instrumentId;
    signal input lots;
    signal input priceTicks;
    signal input buyFeePpm;     // LIQUIDATE: the liquidator's fee
    signal input sellFeePpm;
    signal input buyFee;
    signal input sellFee;
    signal input amount;
    signal input toCollateral;
    signal input nonce;
    signal input penalty;
    signal input orderA[ORDER_FIELDS()];
    signal input orderB[ORDER_FIELDS()];
    signal input sigA[3];
    signal input sigB[3];
    signal input reg[I_SPEC_FIELDS()]; // REGISTER_INSTRUMENT: the instrument's registered fields

    // State witness
    signal input aPubX;
    signal input aPubY;
    signal input aNonce;
    signal input aSiblings[accountLevels][3];
    signal input aBal1Old;
    signal input aBal1Siblings[balanceLevels][3];
    signal input aBal2Old;
    signal input aBal2Siblings[balanceLevels][3];
    signal input aOrderLeaf[3];
    signal input aOrderSiblings[orderLevels][3];
    signal input aCollateral;
    signal input aSize[N];
    signal input aSnap[N];
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
    signal input bCollateral;
    signal input bSize[N];
    signal input bSnap[N];

    // ---- transaction type, one-hot over DERIV_TX_TYPE(k)
    signal isType[DERIV_TX_TYPES()];
    var typeSum = 0;
    var typeValue = 0;
    for (var k = 0; k < DERIV_TX_TYPES(); k++) {
        var typeK = DERIV_TX_TYPE(k); // (a function call inside <-- breaks circom 2.2.3's wasm generator)
        isType[k] <-- txType == typeK ? 1 : 0;
        isType[k] * (isType[k] - 1) === 0;
        typeSum += isType[k];
        typeValue += typeK * isType[k];
    }
    typeSum === 1;
    typeValue === txType;
    signal isTrade <== isType[1];
    signal isLiq <== isType[2];
    signal isSettle <== isType[3];
    signal isTransfer <== isType[4];
    signal isReg <== isType[5];
    signal fills <== isTrade + isLiq;
    signal activeA <== fills + isSettle + isTransfer;
    (1 - oracleUsed) * activeA === 0;

    // ---- range checks of the transaction's own fields
    component lotsBits = Num2Bits(BITS_LOTS());  // inspect: a range check; its bits are not used
    lotsBits.in <== lots;
    component priceBits = Num2Bits(BITS_PRICETICKS());  // inspect: a range check; its bits are not used
    priceBits.in <== priceTicks;
    component buyFeePpmBits = Num2Bits(BITS_FEEPPM());  // inspect: a range check; its bits are not used
    buyFeePpmBits.in <== buyFeePpm;
    component sellFeePpmBits = Num2Bits(BITS_FEEPPM());  // inspect: a range check; its bits are not used
    sellFeePpmBits.in <== sellFeePpm;
    component amountBits = Num2Bits(BITS_AMOUNT());  // inspect: a range check; its bits are not used
    amountBits.in <== amount;
    toCollateral * (toCollateral - 1) === 0;
    component nonceBits = Num2Bits(BITS_NONCE());  // inspect: a range check; its bits are not used
    nonceBits.in <== nonce;
    component penaltyBits = Num2Bits(BITS_BALANCE());  // inspect: a range check; its bits are not used
    penaltyBits.in <== penalty;
    isLiq * sellFeePpm === 0;

    // ---- the instrument: one-hot id, its fields at the batch's start, its marks
    signal sel[N];
    var selSum = 0;
    var selValue = 0;
    for (var j = 0; j < N; j++) {
        sel[j] <-- instrumentId == j ? 1 : 0;
        sel[j] * (sel[j] - 1) === 0;
        selSum += sel[j];
        selValue += j * sel[j];
    }
    selSum === 1;
    selValue === instrumentId;
    component field[I_FIELDS()];  // inspect: a slot uses only some of the selected instrument's fields
    for (var f = 0; f < I_FIELDS(); f++) {
        field[f] = Select(N);
        field[f].sel <== sel;
        for (var j = 0; j < N; j++) field[f].values[j] <== start[j][f];
    }
    component markSel = Select(N);
    markSel.sel <== sel;
    markSel.values <== mark;
    signal tickValue <== field[I_TICK()].out;
    signal settlePrice <== field[I_SETTLE()].out;
    signal kindIs[5];
    var kSum = 0;
    var kValue = 0;
    for (var k = 0; k < 5; k++) {
        kindIs[k] <-- field[I_KIND()].out == k ? 1 : 0;
        kindIs[k] * (kindIs[k] - 1) === 0;
        kSum += kindIs[k];
        kValue += k * kindIs[k];
    }
    kSum === 1;
    kValue === field[I_KIND()].out;
    signal dated <== kindIs[KIND_FUTURE()] + kindIs[KIND_CALL()] + kindIs[KIND_PUT()];
    component notSettled = IsZero();
    notSettled.in <== settlePrice;
    // Trades and liquidations need a registered, unsettled instrument, before its expiry.
    fills * kindIs[KIND_NONE()] === 0;
    fills * (1 - notSettled.out) === 0;
    component beforeExpiry = LessThan(BITS_TIME());
    beforeExpiry.in[0] <== timestamp;
    beforeExpiry.in[1] <== field[I_EXPIRY()].out;
    signal datedFill <== fills * dated;
    datedFill * (1 - beforeExpiry.out) === 0;
    // SETTLE needs a settled instrument.
    isSettle * notSettled.out === 0;

    // ---- orders and signatures
    component wordsA = OrderWords();  // inspect: idBits above the 2 * orderLevels of the order slot are not needed here
    wordsA.o <== orderA;
    component wordsB = OrderWords();  // inspect: idBits above the 2 * orderLevels of the order slot are not needed here
    wordsB.o <== orderB;
    signal wTrade0 <== isTrade * wordsA.w0;
    signal wTransfer0 <== isTransfer * (accountA + nonce * (1 << 32) + toCollateral * (1 << 64));
    signal wTrade1 <== isTrade * wordsA.w1;
    signal wTransfer1 <== isTransfer * amount;
    component msgA = Poseidon(3);
    msgA.inputs[0] <== isTrade * DOMAIN_ORDER() + isTransfer * DOMAIN_TRANSFER();
    msgA.inputs[1] <== wTrade0 + wTransfer0;
    msgA.inputs[2] <== wTrade1 + wTransfer1;
    component msgB = Poseidon(3);
    msgB.inputs[0] <== DOMAIN_ORDER();
    msgB.inputs[1] <== wordsB.w0;
    msgB.inputs[2] <== wordsB.w1;
    component sigCheckA = SignatureIfEnabled();
    sigCheckA.enabled <== isTrade + isTransfer;
    sigCheckA.ax <== aPubX;
    sigCheckA.ay <== aPubY;
    sigCheckA.sig <== sigA;
    sigCheckA.msg <== msgA.out;
    component sigCheckB = SignatureIfEnabled();
    sigCheckB.enabled <== fills;
    sigCheckB.ax <== bPubX;
    sigCheckB.ay <== bPubY;
    sigCheckB.sig <== sigB;
    sigCheckB.msg <== msgB.out;
    isTransfer * (nonce - aNonce) === 0;

    // ---- the liquidated position's direction (victimLong) and the fill's direction for each side
    component sizeA = Select(N);
    sizeA.sel <== sel;
    sizeA.values <== aSize;
    component victimSign = SignedRange(BITS_POSITIONSIZE());
    victimSign.in <== sizeA.out;
    signal victimLong <== victimSign.nonNeg;
    signal bBuys <== isLiq * victimLong;
    signal bSells <== isTrade + isLiq - bBuys;
    signal liqDir <== 2 * victimLong - 1; // +1: the liquidated account is long and sells

    // ---- order rules (Definition 1 for the orders; Protocol 2 for the liquidator's)
    signal marketId <== INSTRUMENT_MARKET_BASE() + instrumentId;
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
    component expiryA = RequireLessEq(BITS_TIME());
    expiryA.enabled <== isTrade;
    expiryA.a <== timestamp;
    expiryA.b <== orderA[O_EXPIRY()];
    component expiryB = RequireLessEq(BITS_TIME());
    expiryB.enabled <== fills;
    expiryB.a <== timestamp;
    expiryB.b <== orderB[O_EXPIRY()];
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
    feePoolOut <== feePoolIn + fills * (buyFee + sellFee);

    // ---- liquidation: the liquidator is another account, the liquidated one is below maintenance
    // margin, the fill reduces its position, the price is within the band around the mark. (With
    // accountA = accountB the position would be sold and bought straight back in one slot while the
    // insurance fund covered the deficit of the flat state in between.)
    component selfLiquidation = IsEqual();
    selfLiquidation.in[0] <== accountA;
    selfLiquidation.in[1] <== accountB;
    isLiq * selfLiquidation.out === 0;
    component absLots = Num2Bits(BITS_POSITIONSIZE());  // inspect: a range check; its bits are not used
    signal absVictim <== liqDir * sizeA.out;
    absLots.in <== isLiq * (absVictim - lots);
    signal perLot <== priceTicks * tickValue;
    component bandLo = RequireGreaterEq(120);
    bandLo.enabled <== isLiq;
    bandLo.a <== perLot * PPM();
    bandLo.b <== markSel.out * (PPM() - LIQ_BAND_PPM());
    component bandHi = RequireGreaterEq(120);
    bandHi.enabled <== isLiq;
    bandHi.a <== markSel.out * (PPM() + LIQ_BAND_PPM());
    bandHi.b <== perLot * PPM();

    // ---- account A: funding settles on every position, then the transaction applies
    signal aFunding[N];
    var aFund = 0;
    signal aSnapNew[N];
    for (var j = 0; j < N; j++) {
        aFunding[j] <== aSize[j] * (start[j][I_FUNDING()] - aSnap[j]);
        aFund += aFunding[j];
        aSnapNew[j] <== aSnap[j] + activeA * (start[j][I_FUNDING()] - aSnap[j]);
    }
    signal aFundPaid <== activeA * aFund;
    signal aSettledC <== aCollateral - aFundPaid;
    // position change of A in the selected instrument
    signal liqDeltaA <== -liqDir * lots;
    signal settlePayoff <== sizeA.out * markSel.out;
    signal tradeDelta <== isTrade * lots;
    signal liqDelta <== isLiq * liqDeltaA;
    signal settleDelta <== isSettle * sizeA.out;
    signal aDelta <== tradeDelta + liqDelta - settleDelta;
    signal aSizeNew[N];
    for (var j = 0; j < N; j++) aSizeNew[j] <== aSize[j] + sel[j] * aDelta;
    // cash of A before any penalty
    signal aTradeCash <== isTrade * (cash + buyFee);
    signal liqCash <== liqDir * cash;
    signal aLiqCash <== isLiq * liqCash;
    signal aSettleCash <== isSettle * settlePayoff;
    signal transferSigned <== (2 * toCollateral - 1) * amount;
    signal aTransferCash <== isTransfer * transferSigned;
    signal aPreC <== aSettledC - aTradeCash + aLiqCash + aSettleCash + aTransferCash;

    component aPre = AccountRisk(N);
    aPre.c <== aSettledC;
    aPre.size <== aSize;
    aPre.mark <== mark;
    aPre.long <== mmLong;
    aPre.short <== mmShort;
    component belowMM = RequireGreaterEq(135);
    belowMM.enabled <== isLiq;
    belowMM.a <== aPre.req;
    belowMM.b <== aPre.equity + 1;

    component aPostTrade = AccountRisk(N);  // inspect: only its equity is used (penalty and bad debt); req is checked on aPost
    aPostTrade.c <== aPreC;
    aPostTrade.size <== aSizeNew;
    aPostTrade.mark <== mark;
    aPostTrade.long <== imLong;
    aPostTrade.short <== imShort;
    // penalty = min(ceil(lots * mark * LIQ_PENALTY_PPM / 10^6), max(equity after the fill, 0)), 0 unless LIQUIDATE
    component fullPenalty = CeilPpm(114);
    fullPenalty.a <== lots * markSel.out;
    fullPenalty.ppm <== LIQ_PENALTY_PPM();
    component eqSign = SignedRange(135);
    eqSign.in <== aPostTrade.equity;
    signal eqPos <== eqSign.nonNeg * aPostTrade.equity;
    component capped = LessThan(134);
    capped.in[0] <== eqPos;
    capped.in[1] <== fullPenalty.out;
    signal penaltyIfLiq <== fullPenalty.out + capped.out * (eqPos - fullPenalty.out);
    penalty === isLiq * penaltyIfLiq;
    // A fill that leaves A under water may lower A's equity by less than one tick per lot (the price is
    // in ticks, the mark is not): the band lets the operator sell a solvent account's position below the
    // mark, never push it (further) into a debt nobody can collect, which the liquidator would pocket.
    signal liqUnderwater <== isLiq * (1 - eqSign.nonNeg);
    signal lotsTick <== lots * tickValue;
    component noNewDebt = RequireGreaterEq(136);
    noNewDebt.enabled <== liqUnderwater;
    noNewDebt.a <== aPostTrade.equity + lotsTick;
    noNewDebt.b <== aPre.equity;
    // bad debt: a LIQUIDATE or a SETTLE that leaves A with no position and negative equity (so no
    // penalty) is covered by the insurance fund, cover = min(-equity, insuranceIn); what the fund cannot
    // cover stays on A
    var flatCount = 0;
    component flat[N];
    for (var j = 0; j < N; j++) {
        flat[j] = IsZero();
        flat[j].in <== aSizeNew[j];
        flatCount += flat[j].out;
    }
    component allFlat = IsEqual();
    allFlat.in[0] <== flatCount;
    allFlat.in[1] <== N;
    signal underwater <== (isLiq + isSettle) * (1 - eqSign.nonNeg);
    signal deficitCase <== underwater * allFlat.out;
    signal deficit <== deficitCase * (0 - aPostTrade.equity);
    component fundShort = LessThan(134);
    fundShort.in[0] <== insuranceIn;
    fundShort.in[1] <== deficit;
    signal cover <== deficit + fundShort.out * (insuranceIn - deficit);
    insuranceOut <== insuranceIn + penalty - cover;
    signal aNewC <== aPreC - penalty + cover;

    component aPost = AccountRisk(N);
    aPost.c <== aNewC;
    aPost.size <== aSizeNew;
    aPost.mark <== mark;
    aPost.long <== imLong;
    aPost.short <== imShort;
    component aIM = RequireGreaterEq(135);
    signal transferOut <== isTransfer * (1 - toCollateral);
    aIM.enabled <== isTrade + transferOut;
    aIM.a <== aPost.equity;
    aIM.b <== aPost.req;

    // ---- account B: funding, then the opposite fill
    signal bFunding[N];
    var bFund = 0;
    signal bSnapNew[N];
    for (var j = 0; j < N; j++) {
        bFunding[j] <== bSize[j] * (start[j][I_FUNDING()] - bSnap[j]);
        bFund += bFunding[j];
        bSnapNew[j] <== bSnap[j] + fills * (start[j][I_FUNDING()] - bSnap[j]);
    }
    signal bSizeNew[N];
    signal bDelta <== -tradeDelta - liqDelta;
    for (var j = 0; j < N; j++) bSizeNew[j] <== bSize[j] + sel[j] * bDelta;
    signal bTradeCash <== isTrade * (cash - sellFee);
    signal bLiqCash <== isLiq * (-liqCash - buyFee);
    signal bFundPaid <== fills * bFund;
    signal bNewC <== bCollateral - bFundPaid + bTradeCash + bLiqCash;
    component bPost = AccountRisk(N);
    bPost.c <== bNewC;
    bPost.size <== bSizeNew;
    bPost.mark <== mark;
    bPost.long <== imLong;
    bPost.short <== imShort;
    component bIM = RequireGreaterEq(135);
    bIM.enabled <== fills;
    bIM.a <== bPost.equity;
    bIM.b <== bPost.req;

    // ---- derivatives leaves
    component aOldLeaf = Poseidon(2 * N + 1);
    component aNewLeaf = Poseidon(2 * N + 1);
    component bOldLeaf = Poseidon(2 * N + 1);
    component bNewLeaf = Poseidon(2 * N + 1);
    aOldLeaf.inputs[0] <== aCollateral;
    aNewLeaf.inputs[0] <== aNewC;
    bOldLeaf.inputs[0] <== bCollateral;
    bNewLeaf.inputs[0] <== bNewC;
    for (var j = 0; j < N; j++) {
        aOldLeaf.inputs[1 + 2 * j] <== aSize[j];
        aOldLeaf.inputs[2 + 2 * j] <== aSnap[j];
        aNewLeaf.inputs[1 + 2 * j] <== aSizeNew[j];
        aNewLeaf.inputs[2 + 2 * j] <== aSnapNew[j];
        bOldLeaf.inputs[1 + 2 * j] <== bSize[j];
        bOldLeaf.inputs[2 + 2 * j] <== bSnap[j];
        bNewLeaf.inputs[1 + 2 * j] <== bSizeNew[j];
        bNewLeaf.inputs[2 + 2 * j] <== bSnapNew[j];
    }

    // ---- order storage: A fills in a trade, B (seller or liquidator) in a trade or liquidation
    component storeA = OrderStorage();
    storeA.orderId <== orderA[O_ID()];
    storeA.size <== orderA[O_SIZE()];
    storeA.lots <== lots;
    storeA.fill <== isTrade;
    storeA.cancel <== 0;
    storeA.storedId <== aOrderLeaf[0];
    storeA.filled <== aOrderLeaf[1];
    storeA.cancelled <== aOrderLeaf[2];
    component storeB = OrderStorage();
    storeB.orderId <== orderB[O_ID()];
    storeB.size <== orderB[O_SIZE()];
    storeB.lots <== lots;
    storeB.fill <== fills;
    storeB.cancel <== 0;
    storeB.storedId <== bOrderLeaf[0];
    storeB.filled <== bOrderLeaf[1];
    storeB.cancelled <== bOrderLeaf[2];

    // ---- account updates, A then B. A's quote balance moves in a TRANSFER.
    signal aBal1New <== aBal1Old - aTransferCash;
    component aBal1Range = Num2Bits(BITS_BALANCE());  // inspect: a range check; its bits are not used
    aBal1Range.in <== aBal1New;
    component updateA = AccountUpdate(accountLevels, balanceLevels, orderLevels);
    updateA.rootIn <== accountsRootIn;
    updateA.accountId <== accountA;
    updateA.accountSiblings <== aSiblings;
    updateA.oldPubX <== aPubX;
    updateA.oldPubY <== aPubY;
    updateA.oldNonce <== aNonce;
    updateA.newPubX <== aPubX;
    updateA.newPubY <== aPubY;
    updateA.newNonce <== aNonce + isTransfer;
    updateA.bal1Token <== 0;
    updateA.bal1Old <== aBal1Old;
    updateA.bal1New <== aBal1New;
    updateA.bal1Siblings <== aBal1Siblings;
    updateA.bal2Token <== 0;
    updateA.bal2Old <== aBal2Old;
    updateA.bal2New <== aBal2Old;
    updateA.bal2Siblings <== aBal2Siblings;
    for (var i = 0; i < 2 * orderLevels; i++) updateA.orderSlotBits[i] <== wordsA.idBits[i];
    updateA.orderOldLeaf <== storeA.oldLeaf;
    updateA.orderNewLeaf <== storeA.newLeaf;
    updateA.orderSiblings <== aOrderSiblings;
    updateA.derivOld <== aOldLeaf.out;
    updateA.derivNew <== aNewLeaf.out;

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
    updateB.bal1New <== bBal1Old;
    updateB.bal1Siblings <== bBal1Siblings;
    updateB.bal2Token <== 0;
    updateB.bal2Old <== bBal2Old;
    updateB.bal2New <== bBal2Old;
    updateB.bal2Siblings <== bBal2Siblings;
    for (var i = 0; i < 2 * orderLevels; i++) updateB.orderSlotBits[i] <== wordsB.idBits[i];
    updateB.orderOldLeaf <== storeB.oldLeaf;
    updateB.orderNewLeaf <== storeB.newLeaf;
    updateB.orderSiblings <== bOrderSiblings;
    updateB.derivOld <== bOldLeaf.out;
    updateB.derivNew <== bNewLeaf.out;
    accountsRootOut <== updateB.rootOut;

    // ---- REGISTER_INSTRUMENT: an empty entry receives the registered fields
    signal regKind[5];
    var rSum = 0;
    var rValue = 0;
    for (var k = 0; k < 5; k++) {
        regKind[k] <-- reg[I_KIND()] == k ? 1 : 0;
        regKind[k] * (regKind[k] - 1) === 0;
        rSum += regKind[k];
        rValue += k * regKind[k];
    }
    rSum === 1;
    rValue === reg[I_KIND()];
    isReg * regKind[KIND_NONE()] === 0;
    signal regOpt <== regKind[KIND_CALL()] + regKind[KIND_PUT()];
    signal regPerp <== regKind[KIND_PERPETUAL()];
    var optionId = 0;
    for (var j = N - O; j < N; j++) optionId += sel[j];
    signal regOption <== isReg * regOpt;
    signal regOther <== isReg - regOption;
    signal regPerpetual <== isReg * regPerp;
    signal regDated <== isReg - regPerpetual;
    regOption * (1 - optionId) === 0;
    component regUnderlyingBits = Num2Bits(BITS_UNDERLYING());  // inspect: a range check; its bits are not used
    regUnderlyingBits.in <== reg[I_UNDERLYING()];
    component regImBits = Num2Bits(BITS_PPM());  // inspect: a range check; its bits are not used
    regImBits.in <== reg[I_IM()];
    component regMmBits = Num2Bits(BITS_PPM());  // inspect: a range check; its bits are not used
    regMmBits.in <== reg[I_MM()];
    component regCapBits = Num2Bits(BITS_PPM());  // inspect: a range check; its bits are not used
    regCapBits.in <== reg[I_CAP()];
    component regUnderlying = LessThan(BITS_UNDERLYING());
    regUnderlying.in[0] <== reg[I_UNDERLYING()];
    regUnderlying.in[1] <== U;
    isReg * (1 - regUnderlying.out) === 0;
    component regLot = Num2Bits(BITS_LOTSIZE());  // inspect: a range check; its bits are not used
    regLot.in <== reg[I_LOT()];
    component regTick = Num2Bits(BITS_TICKVALUE());  // inspect: a range check; its bits are not used
    regTick.in <== reg[I_TICK()];
    component lotZero = IsZero();
    lotZero.in <== reg[I_LOT()];
    component tickZero = IsZero();
    tickZero.in <== reg[I_TICK()];
    component mmZero = IsZero();
    mmZero.in <== reg[I_MM()];
    isReg * (lotZero.out + tickZero.out + mmZero.out) === 0;
    component imAboveMm = Num2Bits(BITS_PPM());  // inspect: a range check; its bits are not used
    imAboveMm.in <== isReg * (reg[I_IM()] - reg[I_MM()]);
    component imAtMost = Num2Bits(BITS_PPM());  // inspect: a range check; its bits are not used
    imAtMost.in <== isReg * (PPM() - reg[I_IM()]);
    component strikeHi = Num2Bits(BITS_ORACLEPRICE());  // inspect: a range check; its bits are not used
    strikeHi.in <== reg[I_STRIKE()];
    component strikeLo = Num2Bits(BITS_ORACLEPRICE());  // inspect: a range check; its bits are not used
    strikeLo.in <== reg[I_STRIKE()] - regOption * MIN_ORACLE_PRICE();
    regOther * reg[I_STRIKE()] === 0;
    component regExpiry = Num2Bits(BITS_TIME());  // inspect: a range check; its bits are not used
    regExpiry.in <== reg[I_EXPIRY()];
    component expiryZero = IsZero();
    expiryZero.in <== reg[I_EXPIRY()];
    regPerpetual * (1 - expiryZero.out) === 0;
    regDated * expiryZero.out === 0;
    component capAtMost = Num2Bits(BITS_PPM());  // inspect: a range check; its bits are not used
    capAtMost.in <== isReg * (PPM() - reg[I_CAP()]);
    regDated * reg[I_CAP()] === 0;
    // Funding horizon (DERIVATIVES.md): fundingCapPpm * lotSizeE6 * MAX_ORACLE_PRICE < FUNDING_CAP_BOUND,
    // so a tick moves the index by less than 2^43 in magnitude at any signed rate and oracle price, and
    // the 64-bit signed index absorbs at least 2^20 ticks: every tick of the instrument is provable.
    signal regCapLot <== reg[I_CAP()] * reg[I_LOT()];
    component fundingHorizon = Num2Bits(fxBitLength(FUNDING_CAP_BOUND()));  // inspect: a range check; its bits are not used
    fundingHorizon.in <== isReg * (FUNDING_CAP_BOUND() - 1 - regCapLot * MAX_ORACLE_PRICE());
    component wasEmpty = Select(N);
    wasEmpty.sel <== sel;
    for (var j = 0; j < N; j++) wasEmpty.values[j] <== tableIn[j][I_KIND()];
    isReg * wasEmpty.out === 0;
    signal regSel[N];
    for (var j = 0; j < N; j++) {
        regSel[j] <== isReg * sel[j];
        for (var f = 0; f < I_FIELDS(); f++) {
            if (f < I_SPEC_FIELDS()) {
                tableOut[j][f] <== tableIn[j][f] + regSel[j] * reg[f];
            } else {
                tableOut[j][f] <== tableIn[j][f];
            }
        }
    }

    // ---- public-data record
    component expiryParts = Num2Bits(32);
    expiryParts.in <== reg[I_EXPIRY()];
    var expiryLo = 0;
    var expiryHi = 0;
    for (var b = 0; b < 24; b++) expiryLo += expiryParts.out[b] * (1 << b);
    for (var b = 24; b < 32; b++) expiryHi += expiryParts.out[b] * (1 << (b - 24));
    component pack = PackDerivRecord();
    pack.isType <== isType;
    pack.DERIV_TRADE_buyAccountId <== accountA;
    pack.DERIV_TRADE_buyOrderId <== orderA[O_ID()];
    pack.DERIV_TRADE_sellAccountId <== accountB;
    pack.DERIV_TRADE_sellOrderId <== orderB[O_ID()];
    pack.DERIV_TRADE_instrumentId <== instrumentId;
    pack.DERIV_TRADE_lots <== lots;
    pack.DERIV_TRADE_priceTicks <== priceTicks;
    pack.DERIV_TRADE_buyFeePpm <== buyFeePpm;
    pack.DERIV_TRADE_sellFeePpm <== sellFeePpm;
    pack.LIQUIDATE_liquidatedAccountId <== accountA;
    pack.LIQUIDATE_liquidatorAccountId <== accountB;
    pack.LIQUIDATE_liquidatorOrderId <== orderB[O_ID()];
    pack.LIQUIDATE_instrumentId <== instrumentId;
    pack.LIQUIDATE_lots <== lots;
    pack.LIQUIDATE_priceTicks <== priceTicks;
    pack.LIQUIDATE_liquidatorFeePpm <== buyFeePpm;
    pack.SETTLE_accountId <== accountA;
    pack.SETTLE_instrumentId <== instrumentId;
    pack.TRANSFER_accountId <== accountA;
    pack.TRANSFER_toCollateral <== toCollateral;
    pack.TRANSFER_amount <== amount;
    pack.REGISTER_INSTRUMENT_instrumentId <== instrumentId;
    pack.REGISTER_INSTRUMENT_kind <== reg[I_KIND()];
    pack.REGISTER_INSTRUMENT_underlying <== reg[I_UNDERLYING()];
    pack.REGISTER_INSTRUMENT_lotSizeE6 <== reg[I_LOT()];
    pack.REGISTER_INSTRUMENT_tickValue <== reg[I_TICK()];
    pack.REGISTER_INSTRUMENT_imPpm <== reg[I_IM()];
    pack.REGISTER_INSTRUMENT_mmPpm <== reg[I_MM()];
    pack.REGISTER_INSTRUMENT_strike <== reg[I_STRIKE()];
    pack.REGISTER_INSTRUMENT_expiry_hi <== expiryHi;
    pack.REGISTER_INSTRUMENT_expiry_lo <== expiryLo;
    pack.REGISTER_INSTRUMENT_fundingCapPpm <== reg[I_CAP()];
    record <== pack.out;
}
