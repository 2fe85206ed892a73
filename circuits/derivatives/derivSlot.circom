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
include "../lib/positions.circom";
include "../lib/select.circom";
include "../lib/signature.circom";
include "../lib/txType.circom";
include "../batch/accountUpdate.circom";
include "./tx/badDebt.circom";
include "./tx/deleverage.circom";
include "./tx/fill.circom";
include "./tx/forcedClose.circom";
include "./tx/forcedCollateralWithdraw.circom";
include "./tx/insuranceWithdraw.circom";
include "./tx/liquidate.circom";
include "./tx/reduceOnly.circom";
include "./tx/registerInstrument.circom";
include "./tx/settle.circom";
include "./tx/transfer.circom";
include "./tx/trigger.circom";

/// Proves the derivatives transaction of one derivatives slot as DERIVATIVES.md states it for each
/// type (NOOP, DERIV_TRADE, LIQUIDATE, SETTLE, TRANSFER, REGISTER_INSTRUMENT, FORCED_COLLATERAL_WITHDRAW,
/// INSURANCE_WITHDRAW, DELEVERAGE, FORCED_CLOSE): the state moves from (accountsRootIn, feePoolIn, insuranceIn, badDebtIn, tableIn)
/// to the outputs exactly as the type requires, with
/// the batch's marks and margins (from OracleStep) and the instrument table at the batch's start
/// (`start`); `record` is its public-data record.
/// The slot is the dispatcher: it decodes the type (one-hot) and the instrument (one-hot id, its
/// fields at the batch's start, its mark), range-checks the slot's fields, checks the signatures,
/// reads each account's position slots as per-instrument vectors (PositionLookup) and writes them back with the
/// moved position in its canonical slot (PositionWrite: the slot holding the instrument, else the lowest empty
/// one; none is a (K+1)-th position, unprovable), settles funding on every position of each account it touches, applies the margin rule every type
/// shares (equity >= IM after a DERIV_TRADE for both sides, after a LIQUIDATE for the liquidator and
/// after a TRANSFER out of collateral; a DELEVERAGE's counterparty needs equity >= 0 only: Deleverage), the reduce-only rule of each filled order that carries the flag
/// (ReduceOnly), and reads and writes the state (derivatives leaves, order slots
/// with OrderStorage, accounts A then B with AccountUpdate, the instrument table), and packs the record.
/// What each type proves is its own template in derivatives/tx/, gated by its type flag, whose outputs
/// (all 0 when its flag is 0) are its part of the common slot output the slot sums: the words of the
/// message A signs, A's and B's position and cash deltas, the fee pool delta, the nonce delta, the
/// cover of bad debt, the table written. NOOP has no template: nothing moves and its record is zero.
/// badDebtOut keeps the state's open bad debt (the sum of OpenDebt over all accounts): badDebtIn plus, for
/// A and B, the debt of the leaf written minus the debt of the leaf read. pooledOut keeps the state's pooled
/// quote (DERIVATIVES.md "Pooled quote": the quote held outside spot balances, collateral, fund and pool):
/// pooledIn plus a TRANSFER's move into collateral, minus what a TRANSFER out, an honoured
/// FORCED_COLLATERAL_WITHDRAW or an honoured INSURANCE_WITHDRAW takes out; each of those needs
/// pooledIn - feePoolIn >= amount (`backed`: a TRANSFER out and an honoured FORCED_COLLATERAL_WITHDRAW are
/// unprovable without it, an INSURANCE_WITHDRAW is refused), so the pooled quote never goes negative and the spot
/// balances stay backed.
template DerivSlot(accountLevels, balanceLevels, orderLevels, N, K, O, U) {
    // Batch context
    signal input accountsRootIn;
    signal input feePoolIn;
    signal input insuranceIn;
    signal input badDebtIn;
    signal input pooledIn;
    signal input tableIn[N][I_FIELDS()];
    signal input timestamp;
    signal input oracleUsed;
    signal input start[N][I_FIELDS()];
    signal input mark[N];
    signal input imLong[N];
    signal input imShort[N];
    signal input mmLong[N];
    signal input mmShort[N];
    signal input unpriced[N];   // OracleStep's: options the batch's update has no vol slice for
    signal output accountsRootOut;
    signal output feePoolOut;
    signal output insuranceOut;
    signal output badDebtOut;
    signal output pooledOut;
    signal output tableOut[N][I_FIELDS()];
    signal output record[RECORD_BITS()];

    // Transaction
    signal input txType;
    signal input accountA;      // buyer; the liquidated or deleveraged account; the account of SETTLE and TRANSFER
    signal input accountB;      // seller; the liquidator; a DELEVERAGE's or a FORCED_CLOSE's counterparty
    signal input instrumentId;
    signal input lots;
    signal input priceTicks;
    signal input buyFeePpm;     // LIQUIDATE: the liquidator's fee
    signal input sellFeePpm;
    signal input buyFee;
    signal input sellFee;
    signal input amount;
    signal input tokenId;       // FORCED_COLLATERAL_WITHDRAW's token: always 0 (ForcedCollateralWithdraw)
    signal input honoured;      // the outcome of FORCED_COLLATERAL_WITHDRAW, INSURANCE_WITHDRAW and FORCED_CLOSE, as their records carry it (pinned there; 0 for every other type)
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
    signal input aQuoteOld;   // the quote token's balance (token 0), a field of the account leaf
    signal input aBalancesRoot; // the root of the account's balance tree (the other tokens), which this slot never moves
    signal input aOrderLeaf[3];
    signal input aOrderSiblings[orderLevels][3];
    signal input aCollateral;
    signal input aPosId[K];     // A's position slots (lib/positions.circom): instrument id + 1, or 0 when empty
    signal input aPosSize[K];
    signal input aPosSnap[K];
    signal input aPosTarget;    // the slot of A's position in the slot's instrument (PositionWrite pins it)
    signal input bPubX;
    signal input bPubY;
    signal input bNonce;
    signal input bSiblings[accountLevels][3];
    signal input bQuoteOld;   // the quote token's balance (token 0), a field of the account leaf
    signal input bBalancesRoot; // the root of the account's balance tree (the other tokens), which this slot never moves
    signal input bOrderLeaf[3];
    signal input bOrderSiblings[orderLevels][3];
    signal input bCollateral;
    signal input bPosId[K];
    signal input bPosSize[K];
    signal input bPosSnap[K];
    signal input bPosTarget;

    // ---- transaction type, one-hot over DERIV_TX_TYPE(k)
    component type = TxTypeOneHot(0);
    type.txType <== txType;
    signal isType[DERIV_TX_TYPES()] <== type.isType;
    signal isTrade <== isType[1];
    signal isLiq <== isType[2];
    signal isSettle <== isType[3];
    signal isTransfer <== isType[4];
    signal isReg <== isType[5];
    signal isForced <== isType[6];
    signal isIns <== isType[7];
    signal isDel <== isType[8];
    signal isFC <== isType[9];
    // the outcome byte belongs to the outcome requests: every other type's record is packed without it, and it is 0
    honoured * (1 - isForced - isIns - isFC) === 0;
    signal fcHonoured <== isFC * honoured;  // an honoured FORCED_CLOSE: DeleverageClose moves the lots
    isFC * amount === 0;  // nothing is paid on top of a forced close
    signal fills <== isTrade + isLiq;
    // A forced collateral withdrawal settles A's funding like a transfer (a refused one writes A back as it was)
    signal activeA <== fills + isSettle + isTransfer + isForced + isDel + isFC;
    // B moves in a fill, a DELEVERAGE and a FORCED_CLOSE (a refused forced close writes both leaves back as they were)
    signal activeB <== fills + isDel + isFC;
    // every type that touches an account needs the batch's marks: without an oracle update only NOOP,
    // REGISTER_INSTRUMENT and INSURANCE_WITHDRAW. A forced collateral withdrawal too: judged without marks it
    // could only be refused, and the operator, who chooses whether a batch carries an update, would choose
    // the refusal; so it is served only in a batch with an update (DERIVATIVES.md "FORCED_COLLATERAL_WITHDRAW")
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

    // ---- the instrument: one-hot id, its fields at the batch's start, its mark
    component instrument = OneHot(N);
    instrument.in <== instrumentId;
    signal sel[N] <== instrument.out;
    component field[I_FIELDS()];  // inspect: a slot uses only some of the selected instrument's fields
    for (var f = 0; f < I_FIELDS(); f++) {
        field[f] = Select(N);
        field[f].sel <== sel;
        for (var j = 0; j < N; j++) field[f].values[j] <== start[j][f];
    }
    component markSel = Select(N);
    markSel.sel <== sel;
    markSel.values <== mark;
    component unpricedSel = Select(N);
    unpricedSel.sel <== sel;
    unpricedSel.values <== unpriced;
    signal tickValue <== field[I_TICK()].out;
    signal settlePrice <== field[I_SETTLE()].out;
    component kind = OneHot(5);  // inspect: the kind's one-hot flags; a fill needs only NONE and the dated kinds
    kind.in <== field[I_KIND()].out;
    component notSettled = IsZero();
    notSettled.in <== settlePrice;
    // A's and B's positions read as vectors over the instrument table
    signal fundingIndex[N];
    for (var j = 0; j < N; j++) fundingIndex[j] <== start[j][I_FUNDING()];
    component aLook = PositionLookup(K, N);
    aLook.id <== aPosId;
    aLook.posSize <== aPosSize;
    aLook.posSnap <== aPosSnap;
    aLook.fundingIndex <== fundingIndex;
    signal aSize[N] <== aLook.size;
    signal aSnap[N] <== aLook.snap;
    component bLook = PositionLookup(K, N);
    bLook.id <== bPosId;
    bLook.posSize <== bPosSize;
    bLook.posSnap <== bPosSnap;
    bLook.fundingIndex <== fundingIndex;
    signal bSize[N] <== bLook.size;
    signal bSnap[N] <== bLook.snap;
    component fundingSel = Select(N);
    fundingSel.sel <== sel;
    fundingSel.values <== fundingIndex;
    // A's and B's positions in the instrument
    component sizeA = Select(N);
    sizeA.sel <== sel;
    sizeA.values <== aSize;
    component sizeB = Select(N);
    sizeB.sel <== sel;
    sizeB.values <== bSize;

    // ---- the transaction types (derivatives/tx/), each gated by its flag; Liquidate, Deleverage and
    // BadDebt follow below, once the equities after the fill or close are known
    component wordsA = OrderWords();  // inspect: idBits above the 2 * orderLevels of the order slot are not needed here
    wordsA.o <== orderA;
    component wordsB = OrderWords();  // inspect: idBits above the 2 * orderLevels of the order slot are not needed here
    wordsB.o <== orderB;
    component fill = Fill();
    fill.isTrade <== isTrade;
    fill.isLiq <== isLiq;
    fill.timestamp <== timestamp;
    fill.accountA <== accountA;
    fill.accountB <== accountB;
    // the market id orders on this instrument sign: a reused id's generation moves it past every earlier
    // instrument's (DERIVATIVES.md "Reusing an id"), so an order signed for one can never fill another
    fill.marketId <== INSTRUMENT_MARKET_BASE() + instrumentId + N * field[I_GENERATION()].out;
    fill.orderA <== orderA;
    fill.orderB <== orderB;
    fill.wordsA <== [wordsA.w0, wordsA.w1];
    fill.lots <== lots;
    fill.priceTicks <== priceTicks;
    fill.buyFeePpm <== buyFeePpm;
    fill.sellFeePpm <== sellFeePpm;
    fill.buyFee <== buyFee;
    fill.sellFee <== sellFee;
    fill.tickValue <== tickValue;
    fill.kindNone <== kind.out[KIND_NONE()];
    fill.dated <== kind.out[KIND_FUTURE()] + kind.out[KIND_CALL()] + kind.out[KIND_PUT()];
    fill.notSettled <== notSettled.out;
    fill.unpriced <== unpricedSel.out;
    fill.expiry <== field[I_EXPIRY()].out;
    fill.sizeA <== sizeA.out;

    component settle = Settle();
    settle.isSettle <== isSettle;
    settle.notSettled <== notSettled.out;
    settle.sizeA <== sizeA.out;
    settle.instrumentMark <== markSel.out;

    component close = DeleverageClose();  // a DELEVERAGE's close, and an honoured FORCED_CLOSE's (amount 0)
    close.isDel <== isDel + fcHonoured;
    close.lots <== lots;
    close.amount <== amount;
    close.instrumentMark <== markSel.out;
    close.dir <== fill.liqDir;

    component transfer = Transfer();
    transfer.isTransfer <== isTransfer;
    transfer.accountA <== accountA;
    transfer.nonce <== nonce;
    transfer.toCollateral <== toCollateral;
    transfer.amount <== amount;
    transfer.aNonce <== aNonce;

    // ---- signatures: A signs the order of a DERIV_TRADE or a transfer; B the order of a fill
    component msgA = Poseidon(3);
    for (var i = 0; i < 3; i++) msgA.inputs[i] <== fill.msg[i] + transfer.msg[i];
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
    feePoolOut <== feePoolIn + fill.feeDelta;

    // ---- account A: funding settles on every position, then the transaction applies
    signal aFunding[N];
    var aFund = 0;
    for (var j = 0; j < N; j++) {
        aFunding[j] <== aSize[j] * (start[j][I_FUNDING()] - aSnap[j]);
        aFund += aFunding[j];
    }
    signal aFundPaid <== activeA * aFund;
    signal aSettledC <== aCollateral - aFundPaid;
    signal aDelta <== fill.aDelta + settle.aDelta + close.aDelta;
    signal aSizeNew[N];
    for (var j = 0; j < N; j++) aSizeNew[j] <== aSize[j] + sel[j] * aDelta;
    // cash of A before any penalty or cover; its equity at the marks (and the sign of it) is what
    // Liquidate and BadDebt judge
    signal forcedCash <== -isForced * amount;  // a forced collateral withdrawal, tentatively: aIM decides it
    signal aPreC <== aSettledC + fill.aCash + settle.aCash + close.aCash + transfer.aCash + forcedCash;
    component aPostTrade = AccountRisk(N);  // inspect: only its equity is used (penalty and bad debt); req is checked on aPost
    aPostTrade.c <== aPreC;
    aPostTrade.size <== aSizeNew;
    aPostTrade.mark <== mark;
    aPostTrade.long <== imLong;
    aPostTrade.short <== imShort;
    component eqSign = SignedRange(135);
    eqSign.in <== aPostTrade.equity;

    component liquidate = Liquidate(N);
    liquidate.isLiq <== isLiq;
    liquidate.accountA <== accountA;
    liquidate.accountB <== accountB;
    liquidate.lots <== lots;
    liquidate.priceTicks <== priceTicks;
    liquidate.tickValue <== tickValue;
    liquidate.instrumentMark <== markSel.out;
    liquidate.sizeA <== sizeA.out;
    liquidate.liqDir <== fill.liqDir;
    liquidate.aSettledC <== aSettledC;
    liquidate.aSize <== aSize;
    liquidate.mark <== mark;
    liquidate.mmLong <== mmLong;
    liquidate.mmShort <== mmShort;
    liquidate.postTradeEquity <== aPostTrade.equity;
    liquidate.postTradeSolvent <== eqSign.nonNeg;
    liquidate.penalty <== penalty;

    component badDebt = BadDebt(N);
    badDebt.closing <== isLiq + isSettle + isDel;
    badDebt.equity <== aPostTrade.equity;
    badDebt.solvent <== eqSign.nonNeg;
    badDebt.aSizeNew <== aSizeNew;
    badDebt.insuranceIn <== insuranceIn;
    // what takes quote out of the collateral side (a TRANSFER out, a forced collateral withdrawal, an
    // insurance withdrawal) needs the side's aggregate, the pooled quote less the fee pool (every account's
    // funding-settled collateral plus the fund), to cover it (DERIVATIVES.md "Pooled quote"); the widths:
    // pooledIn < 2^140 (FeeWithdraw's argument), amount + feePoolIn < 2^97 + 2^139
    component backed = GreaterEq(BITS_BALANCE() + 12);
    backed.a <== pooledIn;
    backed.b <== amount + feePoolIn;
    component insurancePaid = InsuranceWithdraw();
    insurancePaid.backed <== backed.out;
    insurancePaid.isIns <== isIns;
    insurancePaid.accountId <== accountA;
    insurancePaid.insurance <== insuranceIn;
    insurancePaid.badDebt <== badDebtIn;
    insurancePaid.amount <== amount;
    insurancePaid.honoured <== isIns * honoured;
    insuranceOut <== insuranceIn + penalty - badDebt.cover + insurancePaid.fundDelta;
    signal aNewC <== aPreC - penalty + badDebt.cover;

    component aPost = AccountRisk(N);
    aPost.c <== aNewC;
    aPost.size <== aSizeNew;
    aPost.mark <== mark;
    aPost.long <== imLong;
    aPost.short <== imShort;
    // the initial-margin rule: required after a trade and a transfer out of collateral, and the outcome of
    // a forced collateral withdrawal (one gadget for both)
    component aIM = GreaterEqRequiredWhen(135);
    aIM.enabled <== isTrade + transfer.fromCollateral;
    aIM.a <== aPost.equity;
    aIM.b <== aPost.req;
    component forced = ForcedCollateralWithdraw();
    forced.isForced <== isForced;
    forced.tokenId <== tokenId;
    signal forcedHonoured <== isForced * honoured;
    forced.honoured <== forcedHonoured;
    forced.fits <== aIM.out;
    // a transfer out of collateral, and a forced collateral withdrawal its margin rule honours, are provable only
    // while the collateral side covers them: the operator can neither pay them out of the spot balances' quote nor
    // refuse the forced one (whose outcome is the account's own margin alone): it waits, its deadline running
    transfer.fromCollateral * (1 - backed.out) === 0;
    forcedHonoured * (1 - backed.out) === 0;
    signal forcedPaid <== forcedHonoured * amount;
    pooledOut <== pooledIn + transfer.aCash - forcedPaid + insurancePaid.fundDelta;

    // ---- account B: funding, then the opposite fill
    signal bFunding[N];
    var bFund = 0;
    for (var j = 0; j < N; j++) {
        bFunding[j] <== bSize[j] * (start[j][I_FUNDING()] - bSnap[j]);
        bFund += bFunding[j];
    }
    signal bSizeNew[N];
    signal bDelta <== fill.bDelta + close.bDelta;
    for (var j = 0; j < N; j++) bSizeNew[j] <== bSize[j] + sel[j] * bDelta;
    signal bFundPaid <== activeB * bFund;
    signal bNewC <== bCollateral - bFundPaid + fill.bCash + close.bCash;
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

    // ---- DELEVERAGE's rule (its close is DeleverageClose's): A bankrupt beyond the fund, both positions
    // shrink, B pays at most the shortfall beyond the fund and stays solvent
    component deleverage = Deleverage();
    deleverage.isDel <== isDel;
    deleverage.accountA <== accountA;
    deleverage.accountB <== accountB;
    deleverage.lots <== lots;
    deleverage.amount <== amount;
    deleverage.kindNone <== kind.out[KIND_NONE()];
    deleverage.sizeA <== sizeA.out;
    deleverage.sizeB <== sizeB.out;
    deleverage.aFlat <== badDebt.aFlat;
    deleverage.dir <== fill.liqDir;
    deleverage.preEquity <== liquidate.preEquity;
    deleverage.insuranceIn <== insuranceIn;
    deleverage.bPostEquity <== bPost.equity;

    // ---- FORCED_CLOSE's outcome (its close is DeleverageClose's): both positions hold the lots
    component forcedClose = ForcedClose();
    forcedClose.isFC <== isFC;
    forcedClose.accountA <== accountA;
    forcedClose.accountB <== accountB;
    forcedClose.lots <== lots;
    forcedClose.kindNone <== kind.out[KIND_NONE()];
    forcedClose.sizeA <== sizeA.out;
    forcedClose.sizeB <== sizeB.out;
    forcedClose.dir <== fill.liqDir;
    forcedClose.honoured <== fcHonoured;

    // ---- reduce-only orders (ReduceOnly): A's order of a DERIV_TRADE (A buys), B's order of any fill;
    // the sign of the written position is AccountRisk's (aPost, bPost), selected
    component aAfterNonNeg = Select(N);
    aAfterNonNeg.sel <== sel;
    aAfterNonNeg.values <== aPost.sizeNonNeg;
    component reduceA = ReduceOnly();
    reduceA.enabled <== isTrade * orderA[O_REDUCE()];
    reduceA.buys <== 1;
    reduceA.sizeAfter <== sizeA.out + aDelta;
    reduceA.nonNeg <== aAfterNonNeg.out;
    component bAfterNonNeg = Select(N);
    bAfterNonNeg.sel <== sel;
    bAfterNonNeg.values <== bPost.sizeNonNeg;
    component bAfter = Select(N);
    bAfter.sel <== sel;
    bAfter.values <== bSizeNew;
    component reduceB = ReduceOnly();
    reduceB.enabled <== fills * orderB[O_REDUCE()];
    reduceB.buys <== fill.bBuys;
    reduceB.sizeAfter <== bAfter.out;
    reduceB.nonNeg <== bAfterNonNeg.out;

    // ---- derivatives leaves: the position slots written (PositionWrite: the moved position's slot, every
    // other slot's funding snapshot), A's moved by A's delta (a fill, a liquidation, a settlement or a
    // deleverage), B's by B's (a fill or a deleverage)
    component aWasFlat = IsZero();
    aWasFlat.in <== sizeA.out;
    component aIsFlat = IsZero();
    aIsFlat.in <== sizeA.out + aDelta;
    component bWasFlat = IsZero();
    bWasFlat.in <== sizeB.out;
    component bIsFlat = IsZero();
    bIsFlat.in <== bAfter.out;
    component aWrite = PositionWrite(K);
    aWrite.id <== aPosId;
    aWrite.posSize <== aPosSize;
    aWrite.posSnap <== aPosSnap;
    aWrite.empty <== aLook.empty;
    aWrite.index <== aLook.index;
    aWrite.target <== aPosTarget;
    aWrite.touch <== fills + isSettle + isDel + fcHonoured;
    aWrite.active <== activeA;
    aWrite.held <== 1 - aWasFlat.out;
    aWrite.instrumentId <== instrumentId;
    aWrite.delta <== aDelta;
    aWrite.flatAfter <== aIsFlat.out;
    aWrite.indexSel <== fundingSel.out;
    component bWrite = PositionWrite(K);
    bWrite.id <== bPosId;
    bWrite.posSize <== bPosSize;
    bWrite.posSnap <== bPosSnap;
    bWrite.empty <== bLook.empty;
    bWrite.index <== bLook.index;
    bWrite.target <== bPosTarget;
    // a socialised DELEVERAGE moves none of B's positions: B need hold the instrument in no slot (with every slot
    // holding another instrument, the slot rule could not be met, and the payer's deficit share would be unprovable)
    bWrite.touch <== fills + isDel - deleverage.socialised + fcHonoured;
    bWrite.active <== activeB;
    bWrite.held <== 1 - bWasFlat.out;
    bWrite.instrumentId <== instrumentId;
    bWrite.delta <== bDelta;
    bWrite.flatAfter <== bIsFlat.out;
    bWrite.indexSel <== fundingSel.out;
    component aOldLeaf = DerivLeaf(K);
    aOldLeaf.c <== aCollateral;
    aOldLeaf.id <== aPosId;
    aOldLeaf.size <== aPosSize;
    aOldLeaf.snap <== aPosSnap;
    component aNewLeaf = DerivLeaf(K);
    aNewLeaf.c <== aNewC;
    aNewLeaf.id <== aWrite.newId;
    aNewLeaf.size <== aWrite.newSize;
    aNewLeaf.snap <== aWrite.newSnap;
    component bOldLeaf = DerivLeaf(K);
    bOldLeaf.c <== bCollateral;
    bOldLeaf.id <== bPosId;
    bOldLeaf.size <== bPosSize;
    bOldLeaf.snap <== bPosSnap;
    component bNewLeaf = DerivLeaf(K);
    bNewLeaf.c <== bNewC;
    bNewLeaf.id <== bWrite.newId;
    bNewLeaf.size <== bWrite.newSize;
    bNewLeaf.snap <== bWrite.newSnap;

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

    // ---- stop and take-profit orders (TriggerFill): each filled order's trigger is valid, and crossed by the
    // instrument's mark at its first fill
    component triggerA = TriggerFill();
    triggerA.fill <== isTrade;
    triggerA.filledBefore <== storeA.filledBefore;
    triggerA.triggerType <== orderA[O_TRIGTYPE()];
    triggerA.triggerPrice <== orderA[O_TRIGPRICE()];
    triggerA.sells <== orderA[O_SIDE()];
    triggerA.tickValue <== tickValue;
    triggerA.mark <== markSel.out;
    component triggerB = TriggerFill();
    triggerB.fill <== fills;
    triggerB.filledBefore <== storeB.filledBefore;
    triggerB.triggerType <== orderB[O_TRIGTYPE()];
    triggerB.triggerPrice <== orderB[O_TRIGPRICE()];
    triggerB.sells <== orderB[O_SIDE()];
    triggerB.tickValue <== tickValue;
    triggerB.mark <== markSel.out;

    // ---- account updates, A then B. A's quote balance moves in a TRANSFER.
    signal aQuoteNew <== aQuoteOld - transfer.aCash;
    component aQuoteRange = Num2Bits(BITS_BALANCE());  // inspect: a range check; its bits are not used
    aQuoteRange.in <== aQuoteNew;
    component updateA = AccountUpdate(accountLevels, balanceLevels, orderLevels, 0);
    updateA.rootIn <== accountsRootIn;
    updateA.accountId <== accountA;
    updateA.accountSiblings <== aSiblings;
    updateA.oldPubX <== aPubX;
    updateA.oldPubY <== aPubY;
    updateA.oldNonce <== aNonce;
    updateA.newPubX <== aPubX;
    updateA.newPubY <== aPubY;
    updateA.newNonce <== aNonce + transfer.nonceDelta;
    updateA.quoteOld <== aQuoteOld;
    updateA.quoteNew <== aQuoteNew;
    updateA.balancesRoot <== aBalancesRoot;
    updateA.balToken <== 0;
    updateA.balOld <== 0;
    updateA.balNew <== 0;
    for (var i = 0; i < balanceLevels; i++) updateA.balSiblings[i] <== [0, 0, 0];
    for (var i = 0; i < 2 * orderLevels; i++) updateA.orderSlotBits[i] <== wordsA.idBits[i];
    updateA.orderOldLeaf <== storeA.oldLeaf;
    updateA.orderNewLeaf <== storeA.newLeaf;
    updateA.orderSiblings <== aOrderSiblings;
    updateA.derivOld <== aOldLeaf.out;
    // a refused forced withdrawal or forced close writes the old leaf (no funding settled, nothing moved)
    signal aKept <== forced.refused + forcedClose.refused;
    signal aLeafKept <== aKept * (aOldLeaf.out - aNewLeaf.out);
    updateA.derivNew <== aNewLeaf.out + aLeafKept;

    component updateB = AccountUpdate(accountLevels, balanceLevels, orderLevels, 0);
    updateB.rootIn <== updateA.rootOut;
    updateB.accountId <== accountB;
    updateB.accountSiblings <== bSiblings;
    updateB.oldPubX <== bPubX;
    updateB.oldPubY <== bPubY;
    updateB.oldNonce <== bNonce;
    updateB.newPubX <== bPubX;
    updateB.newPubY <== bPubY;
    updateB.newNonce <== bNonce;
    updateB.quoteOld <== bQuoteOld;
    updateB.quoteNew <== bQuoteOld;
    updateB.balancesRoot <== bBalancesRoot;
    updateB.balToken <== 0;
    updateB.balOld <== 0;
    updateB.balNew <== 0;
    for (var i = 0; i < balanceLevels; i++) updateB.balSiblings[i] <== [0, 0, 0];
    for (var i = 0; i < 2 * orderLevels; i++) updateB.orderSlotBits[i] <== wordsB.idBits[i];
    updateB.orderOldLeaf <== storeB.oldLeaf;
    updateB.orderNewLeaf <== storeB.newLeaf;
    updateB.orderSiblings <== bOrderSiblings;
    updateB.derivOld <== bOldLeaf.out;
    signal bLeafKept <== forcedClose.refused * (bOldLeaf.out - bNewLeaf.out);  // a refused forced close writes the old leaf
    updateB.derivNew <== bNewLeaf.out + bLeafKept;
    accountsRootOut <== updateB.rootOut;

    // ---- the open bad debt: what A's and B's written leaves carry minus what their read leaves carried
    // (a refused forced withdrawal or forced close writes the old leaves back: no change)
    // (the written collaterals' signs come from aPost and bPost, which range-check them)
    component aOldSign = SignedRange(BITS_COLLATERAL());
    aOldSign.in <== aCollateral;
    component aDebtOld = OpenDebt(N);
    aDebtOld.c <== aCollateral;
    aDebtOld.cNonNeg <== aOldSign.nonNeg;
    aDebtOld.size <== aSize;
    component aDebtNew = OpenDebt(N);
    aDebtNew.c <== aNewC;
    aDebtNew.cNonNeg <== aPost.cNonNeg;
    aDebtNew.size <== aSizeNew;
    component bOldSign = SignedRange(BITS_COLLATERAL());
    bOldSign.in <== bCollateral;
    component bDebtOld = OpenDebt(N);
    bDebtOld.c <== bCollateral;
    bDebtOld.cNonNeg <== bOldSign.nonNeg;
    bDebtOld.size <== bSize;
    component bDebtNew = OpenDebt(N);
    bDebtNew.c <== bNewC;
    bDebtNew.cNonNeg <== bPost.cNonNeg;
    bDebtNew.size <== bSizeNew;
    signal aDebtDelta <== (1 - aKept) * (aDebtNew.debt - aDebtOld.debt);
    signal bDebtDelta <== (1 - forcedClose.refused) * (bDebtNew.debt - bDebtOld.debt);
    badDebtOut <== badDebtIn + aDebtDelta + bDebtDelta;

    // ---- REGISTER_INSTRUMENT writes the instrument table
    component register = RegisterInstrument(N, O, U);
    register.isReg <== isReg;
    register.reg <== reg;
    register.sel <== sel;
    register.tableIn <== tableIn;
    // ---- holders: the instrument's count of accounts with a non-zero position (A's and B's change here, in
    // the slot's instrument only), kept exactly so that a settled instrument nobody holds is provably free
    signal holdersDelta <== aWasFlat.out - aIsFlat.out + bWasFlat.out - bIsFlat.out;
    for (var j = 0; j < N; j++) {
        for (var f = 0; f < I_FIELDS(); f++) {
            if (f == I_HOLDERS()) {
                tableOut[j][f] <== register.tableOut[j][f] + sel[j] * holdersDelta;
            } else {
                tableOut[j][f] <== register.tableOut[j][f];
            }
        }
    }

    // ---- public-data record
    component expiryParts = Num2Bits(32);
    expiryParts.in <== reg[I_EXPIRY()];
    // The expiry spans the record's chunk boundary: its low RECORD_LO_BITS_REGISTER_INSTRUMENT_expiry() bits go to _lo.
    var expiryLoBits = RECORD_LO_BITS_REGISTER_INSTRUMENT_expiry();
    var expiryLo = 0;
    var expiryHi = 0;
    for (var b = 0; b < expiryLoBits; b++) expiryLo += expiryParts.out[b] * (1 << b);
    for (var b = expiryLoBits; b < 32; b++) expiryHi += expiryParts.out[b] * (1 << (b - expiryLoBits));
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
    pack.DELEVERAGE_deleveragedAccountId <== accountA;
    pack.DELEVERAGE_counterpartyAccountId <== accountB;
    pack.DELEVERAGE_instrumentId <== instrumentId;
    pack.DELEVERAGE_lots <== lots;
    pack.DELEVERAGE_amount <== amount;
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
    pack.FORCED_COLLATERAL_WITHDRAW_accountId <== accountA;
    pack.FORCED_COLLATERAL_WITHDRAW_tokenId <== tokenId;
    pack.FORCED_COLLATERAL_WITHDRAW_amount <== amount;
    pack.FORCED_COLLATERAL_WITHDRAW_honoured <== honoured;
    pack.INSURANCE_WITHDRAW_accountId <== accountA;
    pack.INSURANCE_WITHDRAW_tokenId <== tokenId;
    pack.INSURANCE_WITHDRAW_amount <== amount;
    pack.INSURANCE_WITHDRAW_honoured <== honoured;
    pack.FORCED_CLOSE_accountId <== accountA;
    pack.FORCED_CLOSE_instrumentId <== instrumentId;
    pack.FORCED_CLOSE_counterpartyId <== accountB;
    pack.FORCED_CLOSE_lots <== lots;
    pack.FORCED_CLOSE_honoured <== honoured;
    record <== pack.out;
}
