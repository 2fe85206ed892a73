pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/poseidon.circom";
include "../lib/publicInputs.circom";
include "../lib/instrumentTable.circom";
include "./slot.circom";
include "../derivatives/oracleStep.circom";
include "../derivatives/derivSlot.circom";

/// Proves: out = Poseidon(instrumentsRoot, insurance, oracleTime, fundingEpoch, badDebt, pooledQuote), the globals hash
/// of DERIVATIVES.md over the instrument tree's root (the exit circuit's, which reads instruments by path).
template GlobalsOverRoot() {
    signal input instrumentsRoot;
    signal input insurance;
    signal input oracleTime;
    signal input fundingEpoch;
    signal input badDebt;
    signal input pooledQuote;
    signal output out;
    component h = Poseidon(6);
    h.inputs <== [instrumentsRoot, insurance, oracleTime, fundingEpoch, badDebt, pooledQuote];
    out <== h.out;
}

/// Proves: out is GlobalsOverRoot's hash with instrumentsRoot the root of the instrument tree over leaf_0..leaf_{N-1},
/// leaf_i the Poseidon of instrument i's fields (InstrumentTableRoot): the batch reads the whole table.
template GlobalsHash(N) {
    signal input instruments[N][I_FIELDS()];
    signal input insurance;
    signal input oracleTime;
    signal input fundingEpoch;
    signal input badDebt;
    signal input pooledQuote;
    signal output out;
    component leaf[N];
    component table = InstrumentTableRoot(N);
    for (var i = 0; i < N; i++) {
        leaf[i] = Poseidon(I_FIELDS());
        leaf[i].inputs <== instruments[i];
        table.leaves[i] <== leaf[i].out;
    }
    component h = GlobalsOverRoot();
    h.instrumentsRoot <== table.root;
    h.insurance <== insurance;
    h.oracleTime <== oracleTime;
    h.fundingEpoch <== fundingEpoch;
    h.badDebt <== badDebt;
    h.pooledQuote <== pooledQuote;
    out <== h.out;
}

/// Proves: starting from the state committed by oldRoot = Poseidon(oldAccountsRoot, oldMarketsRoot,
/// oldFeePool, oldGlobalsHash), the oracle step (OracleStep), then the `slots` spot transactions in
/// order (Slot), then the `derivSlots` derivatives transactions in order (DerivSlot) yield newRoot,
/// every transaction obeys its rules, and publicInput is the public data oldRoot ++ newRoot ++ batchNumber ++
/// timestamp ++ oracle section (its closing mask of free instrument ids from the final table) ++ record[0] ++ ... ++
/// record[slots+derivSlots-1] cut into big-endian chunks of PUBLIC_INPUT_CHUNK_BITS (PackPublicInputs; SPEC.md
/// "Public input", DERIVATIVES.md "Oracle update").
template Batch(accountLevels, balanceLevels, orderLevels, marketLevels, slots, derivSlots, N, K, O, U) {
    var PUBLIC_BITS = 576 + 8 * ORACLE_CORE_BYTES(U, O, N) + 8 * ((N + 7) \ 8) + (slots + derivSlots) * RECORD_BITS();
    var PUBLIC_INPUTS = (PUBLIC_BITS + PUBLIC_INPUT_CHUNK_BITS() - 1) \ PUBLIC_INPUT_CHUNK_BITS();
    signal input publicInput[PUBLIC_INPUTS];
    signal input batchNumber;
    signal input timestamp;
    signal input oldAccountsRoot;
    signal input oldMarketsRoot;
    signal input oldFeePool;

    signal input txType[slots];
    signal input accountA[slots];
    signal input accountB[slots];
    signal input tokenId[slots];
    signal input amount[slots];
    signal input honoured[slots];
    signal input pubKeyX[slots];
    signal input pubKeyY[slots];
    signal input marketId[slots];
    signal input baseTokenId[slots];
    signal input sizeUnit[slots];
    signal input priceUnit[slots];
    signal input lots[slots];
    signal input priceTicks[slots];
    signal input buyFeePpm[slots];
    signal input sellFeePpm[slots];
    signal input buyFee[slots];
    signal input sellFee[slots];
    signal input nonce[slots];
    signal input orderA[slots][ORDER_FIELDS()];
    signal input orderB[slots][ORDER_FIELDS()];
    signal input sigA[slots][3];
    signal input sigB[slots][3];
    signal input aPubX[slots];
    signal input aPubY[slots];
    signal input aNonce[slots];
    signal input aSiblings[slots][accountLevels][3];
    signal input aQuoteOld[slots];
    signal input aBalOld[slots];
    signal input aBalSiblings[slots][balanceLevels][3];
    signal input aOrderLeaf[slots][3];
    signal input aOrderSiblings[slots][orderLevels][3];
    signal input bPubX[slots];
    signal input bPubY[slots];
    signal input bNonce[slots];
    signal input bSiblings[slots][accountLevels][3];
    signal input bQuoteOld[slots];
    signal input bBalOld[slots];
    signal input bBalSiblings[slots][balanceLevels][3];
    signal input bOrderLeaf[slots][3];
    signal input bOrderSiblings[slots][orderLevels][3];
    signal input marketOldLeaf[slots];
    signal input marketSiblings[slots][marketLevels][3];
    signal input aDerivLeaf[slots];
    signal input bDerivLeaf[slots];

    // Derivatives: batch-level oracle step inputs
    signal input oldInstruments[N][I_FIELDS()];
    signal input oldInsurance;
    signal input oldOracleTime;
    signal input oldFundingEpoch;
    signal input oldBadDebt;
    signal input oldPooledQuote;
    signal input oracleUsed;
    signal input oracleKeyX;
    signal input oracleKeyY;
    signal input oracleTime;
    signal input fundingEpoch;
    signal input prices[U];
    signal input sliceUnderlying[O];    // the oracle's vol table: O slices (DERIVATIVES.md "Vol slices")
    signal input sliceExpiry[O];
    signal input sliceLevel[O];
    signal input sliceSlope[O];
    signal input rates[N];
    signal input settleExpiry;  // an expiry the update names (0: none), with the underlyings' prices at it
    signal input settlePrices[U];
    signal input oracleSig[3];
    signal input marksRoot;             // the marks tree the oracle step reads option marks from (OracleStep, MarkRead)
    signal input optionMarks[O];
    signal input markSiblings[O][MARKING_LEVELS(O)][3];
    // Derivatives slots (DerivSlot's inputs, prefixed d_)
    signal input d_txType[derivSlots];
    signal input d_accountA[derivSlots];
    signal input d_accountB[derivSlots];
    signal input d_instrumentId[derivSlots];
    signal input d_lots[derivSlots];
    signal input d_priceTicks[derivSlots];
    signal input d_buyFeePpm[derivSlots];
    signal input d_sellFeePpm[derivSlots];
    signal input d_buyFee[derivSlots];
    signal input d_sellFee[derivSlots];
    signal input d_amount[derivSlots];
    signal input d_tokenId[derivSlots];
    signal input d_honoured[derivSlots];
    signal input d_toCollateral[derivSlots];
    signal input d_nonce[derivSlots];
    signal input d_penalty[derivSlots];
    signal input d_orderA[derivSlots][ORDER_FIELDS()];
    signal input d_orderB[derivSlots][ORDER_FIELDS()];
    signal input d_sigA[derivSlots][3];
    signal input d_sigB[derivSlots][3];
    signal input d_reg[derivSlots][I_SPEC_FIELDS()];
    signal input d_aPubX[derivSlots];
    signal input d_aPubY[derivSlots];
    signal input d_aNonce[derivSlots];
    signal input d_aSiblings[derivSlots][accountLevels][3];
    signal input d_aQuoteOld[derivSlots];
    signal input d_aBalancesRoot[derivSlots];
    signal input d_aOrderLeaf[derivSlots][3];
    signal input d_aOrderSiblings[derivSlots][orderLevels][3];
    signal input d_aCollateral[derivSlots];
    signal input d_aPosId[derivSlots][K];
    signal input d_aPosSize[derivSlots][K];
    signal input d_aPosSnap[derivSlots][K];
    signal input d_aPosTarget[derivSlots];
    signal input d_bPubX[derivSlots];
    signal input d_bPubY[derivSlots];
    signal input d_bNonce[derivSlots];
    signal input d_bSiblings[derivSlots][accountLevels][3];
    signal input d_bQuoteOld[derivSlots];
    signal input d_bBalancesRoot[derivSlots];
    signal input d_bOrderLeaf[derivSlots][3];
    signal input d_bOrderSiblings[derivSlots][orderLevels][3];
    signal input d_bCollateral[derivSlots];
    signal input d_bPosId[derivSlots][K];
    signal input d_bPosSize[derivSlots][K];
    signal input d_bPosSnap[derivSlots][K];
    signal input d_bPosTarget[derivSlots];

    component batchBits = Num2Bits(BITS_BATCHNUMBER());
    batchBits.in <== batchNumber;
    component timeBits = Num2Bits(BITS_TIME());
    timeBits.in <== timestamp;

    component slot[slots];
    for (var s = 0; s < slots; s++) {
        slot[s] = Slot(accountLevels, balanceLevels, orderLevels, marketLevels);
        slot[s].accountsRootIn <== s == 0 ? oldAccountsRoot : slot[s - 1].accountsRootOut;
        slot[s].marketsRootIn <== s == 0 ? oldMarketsRoot : slot[s - 1].marketsRootOut;
        slot[s].feePoolIn <== s == 0 ? oldFeePool : slot[s - 1].feePoolOut;
        // a spot slot moves the pooled quote exactly as it moves the fee pool (spot fees in, FEE_WITHDRAW out)
        slot[s].pooledQuote <== s == 0 ? oldPooledQuote : oldPooledQuote + slot[s - 1].feePoolOut - oldFeePool;
        slot[s].timestamp <== timestamp;
        slot[s].txType <== txType[s];
        slot[s].accountA <== accountA[s];
        slot[s].accountB <== accountB[s];
        slot[s].tokenId <== tokenId[s];
        slot[s].amount <== amount[s];
        slot[s].honoured <== honoured[s];
        slot[s].pubKeyX <== pubKeyX[s];
        slot[s].pubKeyY <== pubKeyY[s];
        slot[s].marketId <== marketId[s];
        slot[s].baseTokenId <== baseTokenId[s];
        slot[s].sizeUnit <== sizeUnit[s];
        slot[s].priceUnit <== priceUnit[s];
        slot[s].lots <== lots[s];
        slot[s].priceTicks <== priceTicks[s];
        slot[s].buyFeePpm <== buyFeePpm[s];
        slot[s].sellFeePpm <== sellFeePpm[s];
        slot[s].buyFee <== buyFee[s];
        slot[s].sellFee <== sellFee[s];
        slot[s].nonce <== nonce[s];
        slot[s].orderA <== orderA[s];
        slot[s].orderB <== orderB[s];
        slot[s].sigA <== sigA[s];
        slot[s].sigB <== sigB[s];
        slot[s].aPubX <== aPubX[s];
        slot[s].aPubY <== aPubY[s];
        slot[s].aNonce <== aNonce[s];
        slot[s].aSiblings <== aSiblings[s];
        slot[s].aQuoteOld <== aQuoteOld[s];
        slot[s].aBalOld <== aBalOld[s];
        slot[s].aBalSiblings <== aBalSiblings[s];
        slot[s].aOrderLeaf <== aOrderLeaf[s];
        slot[s].aOrderSiblings <== aOrderSiblings[s];
        slot[s].bPubX <== bPubX[s];
        slot[s].bPubY <== bPubY[s];
        slot[s].bNonce <== bNonce[s];
        slot[s].bSiblings <== bSiblings[s];
        slot[s].bQuoteOld <== bQuoteOld[s];
        slot[s].bBalOld <== bBalOld[s];
        slot[s].bBalSiblings <== bBalSiblings[s];
        slot[s].bOrderLeaf <== bOrderLeaf[s];
        slot[s].bOrderSiblings <== bOrderSiblings[s];
        slot[s].marketOldLeaf <== marketOldLeaf[s];
        slot[s].marketSiblings <== marketSiblings[s];
        slot[s].aDerivLeaf <== aDerivLeaf[s];
        slot[s].bDerivLeaf <== bDerivLeaf[s];
    }

    // ---- derivatives: the oracle step, then the derivatives slots
    component oracle = OracleStep(N, O, U);
    oracle.timestamp <== timestamp;
    oracle.oldInstruments <== oldInstruments;
    oracle.oldOracleTime <== oldOracleTime;
    oracle.oldFundingEpoch <== oldFundingEpoch;
    oracle.oracleUsed <== oracleUsed;
    oracle.oracleKeyX <== oracleKeyX;
    oracle.oracleKeyY <== oracleKeyY;
    oracle.oracleTime <== oracleTime;
    oracle.fundingEpoch <== fundingEpoch;
    oracle.prices <== prices;
    oracle.sliceUnderlying <== sliceUnderlying;
    oracle.sliceExpiry <== sliceExpiry;
    oracle.sliceLevel <== sliceLevel;
    oracle.sliceSlope <== sliceSlope;
    oracle.rates <== rates;
    oracle.settleExpiry <== settleExpiry;
    oracle.settlePrices <== settlePrices;
    oracle.oracleSig <== oracleSig;
    oracle.marksRoot <== marksRoot;
    oracle.optionMarks <== optionMarks;
    oracle.markSiblings <== markSiblings;

    component dslot[derivSlots];
    for (var s = 0; s < derivSlots; s++) {
        dslot[s] = DerivSlot(accountLevels, balanceLevels, orderLevels, N, K, O, U);
        dslot[s].accountsRootIn <== s == 0 ? slot[slots - 1].accountsRootOut : dslot[s - 1].accountsRootOut;
        dslot[s].feePoolIn <== s == 0 ? slot[slots - 1].feePoolOut : dslot[s - 1].feePoolOut;
        dslot[s].insuranceIn <== s == 0 ? oldInsurance : dslot[s - 1].insuranceOut;
        dslot[s].badDebtIn <== s == 0 ? oldBadDebt : dslot[s - 1].badDebtOut;
        dslot[s].pooledIn <== s == 0 ? oldPooledQuote + slot[slots - 1].feePoolOut - oldFeePool : dslot[s - 1].pooledOut;
        for (var i = 0; i < N; i++) {
            for (var f = 0; f < I_FIELDS(); f++) dslot[s].tableIn[i][f] <== s == 0 ? oracle.instruments[i][f] : dslot[s - 1].tableOut[i][f];
        }
        dslot[s].timestamp <== timestamp;
        dslot[s].oracleUsed <== oracleUsed;
        dslot[s].start <== oracle.instruments;
        dslot[s].mark <== oracle.mark;
        dslot[s].imLong <== oracle.imLong;
        dslot[s].imShort <== oracle.imShort;
        dslot[s].mmLong <== oracle.mmLong;
        dslot[s].mmShort <== oracle.mmShort;
        dslot[s].unpriced <== oracle.unpriced;
        dslot[s].txType <== d_txType[s];
        dslot[s].accountA <== d_accountA[s];
        dslot[s].accountB <== d_accountB[s];
        dslot[s].instrumentId <== d_instrumentId[s];
        dslot[s].lots <== d_lots[s];
        dslot[s].priceTicks <== d_priceTicks[s];
        dslot[s].buyFeePpm <== d_buyFeePpm[s];
        dslot[s].sellFeePpm <== d_sellFeePpm[s];
        dslot[s].buyFee <== d_buyFee[s];
        dslot[s].sellFee <== d_sellFee[s];
        dslot[s].amount <== d_amount[s];
        dslot[s].tokenId <== d_tokenId[s];
        dslot[s].honoured <== d_honoured[s];
        dslot[s].toCollateral <== d_toCollateral[s];
        dslot[s].nonce <== d_nonce[s];
        dslot[s].penalty <== d_penalty[s];
        dslot[s].orderA <== d_orderA[s];
        dslot[s].orderB <== d_orderB[s];
        dslot[s].sigA <== d_sigA[s];
        dslot[s].sigB <== d_sigB[s];
        dslot[s].reg <== d_reg[s];
        dslot[s].aPubX <== d_aPubX[s];
        dslot[s].aPubY <== d_aPubY[s];
        dslot[s].aNonce <== d_aNonce[s];
        dslot[s].aSiblings <== d_aSiblings[s];
        dslot[s].aQuoteOld <== d_aQuoteOld[s];
        dslot[s].aBalancesRoot <== d_aBalancesRoot[s];
        dslot[s].aOrderLeaf <== d_aOrderLeaf[s];
        dslot[s].aOrderSiblings <== d_aOrderSiblings[s];
        dslot[s].aCollateral <== d_aCollateral[s];
        dslot[s].aPosId <== d_aPosId[s];
        dslot[s].aPosSize <== d_aPosSize[s];
        dslot[s].aPosSnap <== d_aPosSnap[s];
        dslot[s].aPosTarget <== d_aPosTarget[s];
        dslot[s].bPubX <== d_bPubX[s];
        dslot[s].bPubY <== d_bPubY[s];
        dslot[s].bNonce <== d_bNonce[s];
        dslot[s].bSiblings <== d_bSiblings[s];
        dslot[s].bQuoteOld <== d_bQuoteOld[s];
        dslot[s].bBalancesRoot <== d_bBalancesRoot[s];
        dslot[s].bOrderLeaf <== d_bOrderLeaf[s];
        dslot[s].bOrderSiblings <== d_bOrderSiblings[s];
        dslot[s].bCollateral <== d_bCollateral[s];
        dslot[s].bPosId <== d_bPosId[s];
        dslot[s].bPosSize <== d_bPosSize[s];
        dslot[s].bPosSnap <== d_bPosSnap[s];
        dslot[s].bPosTarget <== d_bPosTarget[s];
    }
    signal accountsRootEnd <== derivSlots == 0 ? slot[slots - 1].accountsRootOut : dslot[derivSlots - 1].accountsRootOut;
    signal feePoolEnd <== derivSlots == 0 ? slot[slots - 1].feePoolOut : dslot[derivSlots - 1].feePoolOut;
    signal insuranceEnd <== derivSlots == 0 ? oldInsurance : dslot[derivSlots - 1].insuranceOut;
    signal badDebtEnd <== derivSlots == 0 ? oldBadDebt : dslot[derivSlots - 1].badDebtOut;
    signal pooledEnd <== derivSlots == 0 ? oldPooledQuote + slot[slots - 1].feePoolOut - oldFeePool : dslot[derivSlots - 1].pooledOut;

    // The fee pool and the insurance fund grow by range-checked amounts and shrink only by what they
    // cover (bad debt the fund holds, withdrawals the pool or the fund covers), so they stay non-negative:
    // checking them once at the end bounds them. The open bad debt is a sum of non-negative account debts.
    component feePoolBits = Num2Bits(BITS_BALANCE()); // inspect: range check only, its bits are not used
    feePoolBits.in <== feePoolEnd;
    component insuranceBits = Num2Bits(BITS_BALANCE()); // inspect: range check only, its bits are not used
    insuranceBits.in <== insuranceEnd;
    component badDebtBits = Num2Bits(BITS_BALANCE()); // inspect: range check only, its bits are not used
    badDebtBits.in <== badDebtEnd;
    // The pooled quote (collateral, fund and pool: what the state holds outside spot balances) grows by
    // range-checked transfers and fees and shrinks only by what it covers (PooledQuote), so it stays
    // non-negative; checking it at the end bounds it below 2^128 for the next batch's comparisons.
    component pooledBits = Num2Bits(BITS_BALANCE()); // inspect: range check only, its bits are not used
    pooledBits.in <== pooledEnd;

    component oldGlobals = GlobalsHash(N);
    oldGlobals.instruments <== oldInstruments;
    oldGlobals.insurance <== oldInsurance;
    oldGlobals.oracleTime <== oldOracleTime;
    oldGlobals.fundingEpoch <== oldFundingEpoch;
    oldGlobals.badDebt <== oldBadDebt;
    oldGlobals.pooledQuote <== oldPooledQuote;
    signal tableEnd[N][I_FIELDS()];
    for (var i = 0; i < N; i++) {
        for (var f = 0; f < I_FIELDS(); f++) {
            tableEnd[i][f] <== derivSlots == 0 ? oracle.instruments[i][f] : dslot[derivSlots - 1].tableOut[i][f];
        }
    }
    component newGlobals = GlobalsHash(N);
    newGlobals.instruments <== tableEnd;
    // the ids free after the batch (never registered, or settled with no holder), published for the custodian,
    // which hands an id out again only when the latest batch shows it free (DERIVATIVES.md "Reusing an id")
    component freeEnd[N];  // inspect: only out is used; neverRegistered is the registration's (RegisterInstrument)
    for (var i = 0; i < N; i++) {
        freeEnd[i] = FreeInstrument();
        freeEnd[i].kind <== tableEnd[i][I_KIND()];
        freeEnd[i].settlePrice <== tableEnd[i][I_SETTLE()];
        freeEnd[i].holders <== tableEnd[i][I_HOLDERS()];
    }
    newGlobals.insurance <== insuranceEnd;
    newGlobals.oracleTime <== oracle.newOracleTime;
    newGlobals.fundingEpoch <== oracle.newFundingEpoch;
    newGlobals.badDebt <== badDebtEnd;
    newGlobals.pooledQuote <== pooledEnd;
    component oldRoot = Poseidon(4);
    oldRoot.inputs <== [oldAccountsRoot, oldMarketsRoot, oldFeePool, oldGlobals.out];
    component newRoot = Poseidon(4);
    newRoot.inputs <== [accountsRootEnd, slot[slots - 1].marketsRootOut, feePoolEnd, newGlobals.out];

    // Public data bits, most significant bit first. Roots are decomposed without the alias check:
    // a non-canonical encoding would only make the header differ from the custodian's root.
    var HEADER_BITS = 576;
    var FREE_BITS = 8 * ((N + 7) \ 8);  // the oracle section's closing mask: bit i (2^i) of a big-endian integer for id i
    var ORACLE_BITS = 8 * ORACLE_CORE_BYTES(U, O, N) + FREE_BITS;
    var RECORDS_AT = HEADER_BITS + ORACLE_BITS;
    var TOTAL_BITS = RECORDS_AT + (slots + derivSlots) * RECORD_BITS();
    assert(TOTAL_BITS == PUBLIC_BITS);
    component pub = PackPublicInputs(TOTAL_BITS, PUBLIC_INPUT_CHUNK_BITS());
    component oldRootBits = Num2Bits(254);
    oldRootBits.in <== oldRoot.out;
    component newRootBits = Num2Bits(254);
    newRootBits.in <== newRoot.out;
    for (var i = 0; i < 256; i++) {
        pub.bits[i] <== i < 2 ? 0 : oldRootBits.out[255 - i];
        pub.bits[256 + i] <== i < 2 ? 0 : newRootBits.out[255 - i];
    }
    for (var i = 0; i < 32; i++) {
        pub.bits[512 + i] <== batchBits.out[31 - i];
        pub.bits[544 + i] <== timeBits.out[31 - i];
    }
    for (var i = 0; i < ORACLE_BITS - FREE_BITS; i++) pub.bits[HEADER_BITS + i] <== oracle.bits[i];
    for (var i = 0; i < FREE_BITS; i++) pub.bits[HEADER_BITS + ORACLE_BITS - 1 - i] <== i < N ? freeEnd[i].out : 0;
    for (var s = 0; s < slots; s++) {
        for (var i = 0; i < RECORD_BITS(); i++) pub.bits[RECORDS_AT + s * RECORD_BITS() + i] <== slot[s].record[i];
    }
    for (var s = 0; s < derivSlots; s++) {
        for (var i = 0; i < RECORD_BITS(); i++) pub.bits[RECORDS_AT + (slots + s) * RECORD_BITS() + i] <== dslot[s].record[i];
    }
    // last, so that a refusal of the public inputs names this line (test/helpers/circuitRules.ts)
    pub.chunks <== publicInput;
}
