pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/sha256/sha256.circom";
include "./slot.circom";

/// Proves: applying the `slots` transactions in order to the state committed by
/// oldRoot = Poseidon(oldAccountsRoot, oldMarketsRoot, oldFeePool) yields newRoot, every transaction
/// obeys its rules (Slot), and publicInput = sha256(oldRoot ++ newRoot ++ batchNumber ++ timestamp
/// ++ record[0] ++ ... ++ record[slots-1]) >> 3 (SPEC.md, "Public input").
template Batch(accountLevels, balanceLevels, orderLevels, marketLevels, slots) {
    signal input publicInput;
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
    signal input aBal1Old[slots];
    signal input aBal1Siblings[slots][balanceLevels][3];
    signal input aBal2Old[slots];
    signal input aBal2Siblings[slots][balanceLevels][3];
    signal input aOrderLeaf[slots][3];
    signal input aOrderSiblings[slots][orderLevels][3];
    signal input bPubX[slots];
    signal input bPubY[slots];
    signal input bNonce[slots];
    signal input bSiblings[slots][accountLevels][3];
    signal input bBal1Old[slots];
    signal input bBal1Siblings[slots][balanceLevels][3];
    signal input bBal2Old[slots];
    signal input bBal2Siblings[slots][balanceLevels][3];
    signal input bOrderLeaf[slots][3];
    signal input bOrderSiblings[slots][orderLevels][3];
    signal input marketOldLeaf[slots];
    signal input marketSiblings[slots][marketLevels][3];

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
        slot[s].timestamp <== timestamp;
        slot[s].txType <== txType[s];
        slot[s].accountA <== accountA[s];
        slot[s].accountB <== accountB[s];
        slot[s].tokenId <== tokenId[s];
        slot[s].amount <== amount[s];
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
        slot[s].aBal1Old <== aBal1Old[s];
        slot[s].aBal1Siblings <== aBal1Siblings[s];
        slot[s].aBal2Old <== aBal2Old[s];
        slot[s].aBal2Siblings <== aBal2Siblings[s];
        slot[s].aOrderLeaf <== aOrderLeaf[s];
        slot[s].aOrderSiblings <== aOrderSiblings[s];
        slot[s].bPubX <== bPubX[s];
        slot[s].bPubY <== bPubY[s];
        slot[s].bNonce <== bNonce[s];
        slot[s].bSiblings <== bSiblings[s];
        slot[s].bBal1Old <== bBal1Old[s];
        slot[s].bBal1Siblings <== bBal1Siblings[s];
        slot[s].bBal2Old <== bBal2Old[s];
        slot[s].bBal2Siblings <== bBal2Siblings[s];
        slot[s].bOrderLeaf <== bOrderLeaf[s];
        slot[s].bOrderSiblings <== bOrderSiblings[s];
        slot[s].marketOldLeaf <== marketOldLeaf[s];
        slot[s].marketSiblings <== marketSiblings[s];
    }

    // The fee pool only grows by range-checked fees: checking it once at the end bounds it.
    component feePoolBits = Num2Bits(BITS_BALANCE());
    feePoolBits.in <== slot[slots - 1].feePoolOut;

    component oldRoot = Poseidon(3);
    oldRoot.inputs <== [oldAccountsRoot, oldMarketsRoot, oldFeePool];
    component newRoot = Poseidon(3);
    newRoot.inputs <== [slot[slots - 1].accountsRootOut, slot[slots - 1].marketsRootOut, slot[slots - 1].feePoolOut];

    // Public data bits, most significant bit first. Roots are decomposed without the alias check:
    // a non-canonical encoding would only make the header differ from the custodian's root.
    var HEADER_BITS = 576;
    var TOTAL_BITS = HEADER_BITS + slots * RECORD_BITS();
    component sha = Sha256(TOTAL_BITS);
    component oldRootBits = Num2Bits(254);
    oldRootBits.in <== oldRoot.out;
    component newRootBits = Num2Bits(254);
    newRootBits.in <== newRoot.out;
    for (var i = 0; i < 256; i++) {
        sha.in[i] <== i < 2 ? 0 : oldRootBits.out[255 - i];
        sha.in[256 + i] <== i < 2 ? 0 : newRootBits.out[255 - i];
    }
    for (var i = 0; i < 32; i++) {
        sha.in[512 + i] <== batchBits.out[31 - i];
        sha.in[544 + i] <== timeBits.out[31 - i];
    }
    for (var s = 0; s < slots; s++) {
        for (var i = 0; i < RECORD_BITS(); i++) sha.in[HEADER_BITS + s * RECORD_BITS() + i] <== slot[s].record[i];
    }
    var digest = 0;
    for (var i = 0; i < 253; i++) digest += sha.out[i] * (1 << (252 - i));
    publicInput === digest;
}
