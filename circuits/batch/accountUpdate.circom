pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/poseidon.circom";
include "../lib/quadTree.circom";

/// Proves: the account tree with root `rootIn` holds, at `accountId`, the leaf
/// Poseidon(oldPubX, oldPubY, oldNonce, quoteOld, balancesRoot, ordersRoot, derivOld) (SPEC.md "State": the
/// quote token's balance, token 0, is a field of the leaf; the balance tree holds the other tokens, its leaf 0
/// is never written) whose order tree holds orderOldLeaf at the slot given by orderSlotBits, and with
/// tokenPath = 1 whose balance tree holds balOld at balToken; `rootOut` is the account root after writing
/// quoteNew, balNew (tokenPath = 1), orderNewLeaf, the new key and nonce and the new derivatives leaf derivNew
/// (DERIVATIVES.md: Poseidon of collateral and positions). With tokenPath = 0 (a derivatives slot, which moves
/// no token but the quote) the balance tree is `balancesRoot`, unchanged, and balToken, balOld, balNew and
/// balSiblings are not read. accountId < 4^accountLevels and balToken < 4^balanceLevels are enforced here.
/// New balances are range-checked by the caller, which also keeps the tree's leaf 0 unwritten (it writes the
/// quote token's moves to quoteNew).
template AccountUpdate(accountLevels, balanceLevels, orderLevels, tokenPath) {
    signal input rootIn;
    signal input accountId;
    signal input accountSiblings[accountLevels][3];
    signal input oldPubX;
    signal input oldPubY;
    signal input oldNonce;
    signal input newPubX;
    signal input newPubY;
    signal input newNonce;
    signal input quoteOld;
    signal input quoteNew;
    signal input balToken;      // inspect: not read with tokenPath = 0
    signal input balOld;        // inspect: not read with tokenPath = 0
    signal input balNew;        // inspect: not read with tokenPath = 0
    signal input balSiblings[balanceLevels][3]; // inspect: not read with tokenPath = 0
    signal input balancesRoot;  // inspect: not read with tokenPath = 1
    signal input orderSlotBits[2 * orderLevels];
    signal input orderOldLeaf;
    signal input orderNewLeaf;
    signal input orderSiblings[orderLevels][3];
    signal input derivOld;
    signal input derivNew;
    signal output rootOut;

    component accountBits = Num2Bits(2 * accountLevels);
    accountBits.in <== accountId;

    signal balancesOld;
    signal balancesNew;
    component tokenBits;
    component bal;
    if (tokenPath == 1) {
        tokenBits = Num2Bits(2 * balanceLevels);
        tokenBits.in <== balToken;
        bal = QuadUpdate(balanceLevels);
        bal.oldLeaf <== balOld;
        bal.newLeaf <== balNew;
        bal.indexBits <== tokenBits.out;
        bal.siblings <== balSiblings;
        balancesOld <== bal.oldRoot;
        balancesNew <== bal.newRoot;
    } else {
        balancesOld <== balancesRoot;
        balancesNew <== balancesRoot;
    }

    component orders = QuadUpdate(orderLevels);
    orders.oldLeaf <== orderOldLeaf;
    orders.newLeaf <== orderNewLeaf;
    orders.indexBits <== orderSlotBits;
    orders.siblings <== orderSiblings;

    component oldLeaf = Poseidon(7);
    oldLeaf.inputs <== [oldPubX, oldPubY, oldNonce, quoteOld, balancesOld, orders.oldRoot, derivOld];
    component newLeaf = Poseidon(7);
    newLeaf.inputs <== [newPubX, newPubY, newNonce, quoteNew, balancesNew, orders.newRoot, derivNew];

    component accounts = QuadUpdate(accountLevels);
    accounts.oldLeaf <== oldLeaf.out;
    accounts.newLeaf <== newLeaf.out;
    accounts.indexBits <== accountBits.out;
    accounts.siblings <== accountSiblings;
    accounts.oldRoot === rootIn;
    rootOut <== accounts.newRoot;
}
