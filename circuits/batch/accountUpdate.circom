pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/poseidon.circom";
include "../lib/quadTree.circom";

/// Proves: the account tree with root `rootIn` holds, at `accountId`, the leaf
/// Poseidon(oldPubX, oldPubY, oldNonce, balancesRoot, ordersRoot, derivOld) whose balance tree holds bal1Old at
/// bal1Token and (after bal1 is written) bal2Old at bal2Token, and whose order tree holds orderOldLeaf
/// at the slot given by orderSlotBits; `rootOut` is the account root after writing bal1New, then
/// bal2New, orderNewLeaf, the new key and nonce and the new derivatives leaf derivNew
/// (DERIVATIVES.md: Poseidon of collateral and positions). accountId < 4^accountLevels and token ids
/// < 4^balanceLevels are enforced here. New balances are range-checked by the caller.
template AccountUpdate(accountLevels, balanceLevels, orderLevels) {
    signal input rootIn;
    signal input accountId;
    signal input accountSiblings[accountLevels][3];
    signal input oldPubX;
    signal input oldPubY;
    signal input oldNonce;
    signal input newPubX;
    signal input newPubY;
    signal input newNonce;
    signal input bal1Token;
    signal input bal1Old;
    signal input bal1New;
    signal input bal1Siblings[balanceLevels][3];
    signal input bal2Token;
    signal input bal2Old;
    signal input bal2New;
    signal input bal2Siblings[balanceLevels][3];
    signal input orderSlotBits[2 * orderLevels];
    signal input orderOldLeaf;
    signal input orderNewLeaf;
    signal input orderSiblings[orderLevels][3];
    signal input derivOld;
    signal input derivNew;
    signal output rootOut;

    component accountBits = Num2Bits(2 * accountLevels);
    accountBits.in <== accountId;
    component token1Bits = Num2Bits(2 * balanceLevels);
    token1Bits.in <== bal1Token;
    component token2Bits = Num2Bits(2 * balanceLevels);
    token2Bits.in <== bal2Token;

    component bal1 = QuadUpdate(balanceLevels);
    bal1.oldLeaf <== bal1Old;
    bal1.newLeaf <== bal1New;
    bal1.indexBits <== token1Bits.out;
    bal1.siblings <== bal1Siblings;

    component bal2 = QuadUpdate(balanceLevels);
    bal2.oldLeaf <== bal2Old;
    bal2.newLeaf <== bal2New;
    bal2.indexBits <== token2Bits.out;
    bal2.siblings <== bal2Siblings;
    bal2.oldRoot === bal1.newRoot;

    component orders = QuadUpdate(orderLevels);
    orders.oldLeaf <== orderOldLeaf;
    orders.newLeaf <== orderNewLeaf;
    orders.indexBits <== orderSlotBits;
    orders.siblings <== orderSiblings;

    component oldLeaf = Poseidon(6);
    oldLeaf.inputs <== [oldPubX, oldPubY, oldNonce, bal1.oldRoot, orders.oldRoot, derivOld];
    component newLeaf = Poseidon(6);
    newLeaf.inputs <== [newPubX, newPubY, newNonce, bal2.newRoot, orders.newRoot, derivNew];

    component accounts = QuadUpdate(accountLevels);
    accounts.oldLeaf <== oldLeaf.out;
    accounts.newLeaf <== newLeaf.out;
    accounts.indexBits <== accountBits.out;
    accounts.siblings <== accountSiblings;
    accounts.oldRoot === rootIn;
    rootOut <== accounts.newRoot;
}
