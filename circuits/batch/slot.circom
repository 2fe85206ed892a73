pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/poseidon.circom";
include "../generated/protocol.circom";
include "../lib/orderStorage.circom";
include "../lib/orderWords.circom";
include "../lib/quadTree.circom";
include "../lib/signature.circom";
include "../lib/txType.circom";
include "../lib/select.circom";
include "./accountUpdate.circom";
include "./tx/cancel.circom";
include "./tx/depositWithdraw.circom";
include "./tx/feeWithdraw.circom";
include "./tx/forcedWithdraw.circom";
include "./tx/registerKey.circom";
include "./tx/registerMarket.circom";
include "./tx/trade.circom";

/// Proves the transaction of one batch slot, as SPEC.md states it for each type: the state moves from
/// (accountsRootIn, marketsRootIn, feePoolIn) to (accountsRootOut, marketsRootOut, feePoolOut) exactly
/// as the transaction selected by txType requires, and `record` is its public-data record.
/// The slot is the dispatcher: it decodes the type (one-hot), range-checks the slot's fields, reads
/// and writes the state (account A then account B with AccountUpdate, the market leaf with
/// QuadUpdate, the order slots with OrderStorage), checks the signatures and packs the record. What
/// each type proves is its own template in batch/tx/, gated by its type flag, whose outputs (all 0
/// when its flag is 0) are its part of the common slot output the slot sums: the words of the
/// message A signs, the balance deltas of A and B, the key, nonce and market-leaf deltas, the fee
/// pool delta. NOOP has no template: every delta is 0 and its record is all zero. `pooledQuote` is the
/// state's pooled quote before the slot (the Batch's running value: a spot slot moves it as the fee pool),
/// which a FEE_WITHDRAW must leave non-negative (FeeWithdraw).
template Slot(accountLevels, balanceLevels, orderLevels, marketLevels) {
    // Batch context
    signal input accountsRootIn;
    signal input marketsRootIn;
    signal input feePoolIn;
    signal input pooledQuote;
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
    signal input honoured;      // the outcome of FORCED_WITHDRAW and FEE_WITHDRAW, as their records carry it (their templates pin it; 0 for every other type)
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
    signal input aQuoteOld;   // the quote token's balance (token 0), a field of the account leaf
    signal input aBalOld;     // the balance of the slot's other token (balance tree)
    signal input aBalSiblings[balanceLevels][3];
    signal input aOrderLeaf[3]; // storedId, filled, cancelled
    signal input aOrderSiblings[orderLevels][3];
    signal input aDerivLeaf;    // derivatives leaf, unchanged by spot transactions
    signal input bPubX;
    signal input bPubY;
    signal input bNonce;
    signal input bSiblings[accountLevels][3];
    signal input bQuoteOld;   // the quote token's balance (token 0), a field of the account leaf
    signal input bBalOld;     // the balance of the slot's other token (balance tree)
    signal input bBalSiblings[balanceLevels][3];
    signal input bOrderLeaf[3];
    signal input bOrderSiblings[orderLevels][3];
    signal input bDerivLeaf;
    signal input marketOldLeaf;
    signal input marketSiblings[marketLevels][3];

    // ---- transaction type, one-hot over SPOT_TX_TYPE(k) (position k of constants.ts SPOT_TX_TYPES;
    // positions 0..6 are the type values NOOP..CANCEL, FORCED_WITHDRAW is position 7, FEE_WITHDRAW 8,
    // OPERATOR_CANCEL 9)
    component type = TxTypeOneHot(1);
    type.txType <== txType;
    signal isType[SPOT_TX_TYPES()] <== type.isType;
    signal isReg <== isType[TX_REGISTER_KEY()];
    signal isDeposit <== isType[TX_DEPOSIT()];
    signal isMarket <== isType[TX_REGISTER_MARKET()];
    signal isTrade <== isType[TX_TRADE()];
    signal isWithdraw <== isType[TX_WITHDRAW()];
    signal isCancel <== isType[TX_CANCEL()];
    signal isForced <== isType[7];
    signal isFee <== isType[8];
    signal isOperatorCancel <== isType[9]; // OPERATOR_CANCEL: A's order slot cancelled, no signature
    // the outcome byte belongs to the outcome requests: every other type's record is packed without it, and it is 0
    honoured * (1 - isForced - isFee) === 0;

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

    // ---- the market leaf: read by trades, written by registrations
    component marketBits = Num2Bits(2 * marketLevels);
    marketBits.in <== marketId;
    component marketLeaf = Poseidon(3);
    marketLeaf.inputs <== [baseTokenId, sizeUnit, priceUnit];

    // ---- the transaction types (batch/tx/), each gated by its flag
    component registerKey = RegisterKey();
    registerKey.isReg <== isReg;
    registerKey.pubKeyX <== pubKeyX;
    registerKey.pubKeyY <== pubKeyY;
    registerKey.aPubX <== aPubX;
    registerKey.aPubY <== aPubY;

    component move = DepositWithdraw();
    move.isDeposit <== isDeposit;
    move.isWithdraw <== isWithdraw;
    move.accountA <== accountA;
    move.tokenId <== tokenId;
    move.amount <== amount;
    move.nonce <== nonce;
    move.aNonce <== aNonce;

    // the quote token (token 0) is a field of the account leaf, every other token a leaf of the balance tree
    // ("balances" below); aTokenOld is A's balance of the deposit/withdraw token, wherever it lives
    component quoteToken = IsZero();
    quoteToken.in <== tokenId;
    signal aTokenOld <== aBalOld + quoteToken.out * (aQuoteOld - aBalOld);

    component forced = ForcedWithdraw();
    forced.isForced <== isForced;
    forced.balance <== aTokenOld;
    forced.amount <== amount;
    forced.honoured <== isForced * honoured;

    component fee = FeeWithdraw();
    fee.isFee <== isFee;
    fee.accountId <== accountA;
    fee.tokenId <== tokenId;
    fee.feePool <== feePoolIn;
    fee.pooled <== pooledQuote;
    fee.amount <== amount;
    fee.honoured <== isFee * honoured;

    component registerMarket = RegisterMarket();
    registerMarket.isMarket <== isMarket;
    registerMarket.baseTokenId <== baseTokenId;
    registerMarket.sizeUnit <== sizeUnit;
    registerMarket.priceUnit <== priceUnit;
    registerMarket.marketOldLeaf <== marketOldLeaf;
    registerMarket.marketLeaf <== marketLeaf.out;

    component trade = Trade();
    trade.isTrade <== isTrade;
    trade.timestamp <== timestamp;
    trade.accountA <== accountA;
    trade.accountB <== accountB;
    trade.marketId <== marketId;
    trade.orderA <== orderA;
    trade.orderB <== orderB;
    trade.wordsA <== [wordsA.w0, wordsA.w1];
    trade.lots <== lots;
    trade.priceTicks <== priceTicks;
    trade.buyFeePpm <== buyFeePpm;
    trade.sellFeePpm <== sellFeePpm;
    trade.buyFee <== buyFee;
    trade.sellFee <== sellFee;
    trade.sizeUnit <== sizeUnit;
    trade.priceUnit <== priceUnit;
    trade.marketOldLeaf <== marketOldLeaf;
    trade.marketLeaf <== marketLeaf.out;

    component cancel = Cancel();
    cancel.isCancel <== isCancel;
    cancel.accountA <== accountA;
    cancel.orderId <== orderA[O_ID()];
    component operatorCancel = OperatorCancel();
    operatorCancel.isOperatorCancel <== isOperatorCancel;
    operatorCancel.aPubX <== aPubX;
    operatorCancel.aPubY <== aPubY;

    // ---- signatures: A signs the order of a trade, a withdrawal or a cancel; B the order of a trade
    component msgA = Poseidon(3);
    for (var i = 0; i < 3; i++) msgA.inputs[i] <== trade.msg[i] + move.msg[i] + cancel.msg[i];
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

    // ---- market tree
    component markets = QuadUpdate(marketLevels);
    markets.oldLeaf <== marketOldLeaf;
    markets.newLeaf <== marketOldLeaf + registerMarket.leafDelta;
    markets.indexBits <== marketBits.out;
    markets.siblings <== marketSiblings;
    markets.oldRoot === marketsRootIn;
    marketsRootOut <== markets.newRoot;

    // ---- order storage: A's order slot fills in a trade or is cancelled (CANCEL signed by A; OPERATOR_CANCEL
    // unsigned: the operator may always decline to fill an order, this makes the refusal final), B's fills in a trade
    component storeA = OrderStorage();  // inspect: filledBefore serves a trigger's first fill (TriggerFill), and a spot order has no trigger
    storeA.orderId <== orderA[O_ID()];
    storeA.size <== orderA[O_SIZE()];
    storeA.lots <== lots;
    storeA.fill <== isTrade;
    storeA.cancel <== isCancel + isOperatorCancel;
    storeA.storedId <== aOrderLeaf[0];
    storeA.filled <== aOrderLeaf[1];
    storeA.cancelled <== aOrderLeaf[2];
    component storeB = OrderStorage();  // inspect: filledBefore serves a trigger's first fill (TriggerFill), and a spot order has no trigger
    storeB.orderId <== orderB[O_ID()];
    storeB.size <== orderB[O_SIZE()];
    storeB.lots <== lots;
    storeB.fill <== isTrade;
    storeB.cancel <== 0;
    storeB.storedId <== bOrderLeaf[0];
    storeB.filled <== bOrderLeaf[1];
    storeB.cancelled <== bOrderLeaf[2];

    // ---- balances: the quote token (token 0) is a field of the account leaf, every other token a leaf of the
    // account's balance tree, whose leaf 0 is never written (SPEC.md "State"). A's tree token is the
    // deposit/withdraw token or, in a trade, the market's base token (never 0: RegisterMarket); a move of token
    // 0 goes to the quote field. In a trade A (the buyer) and B (the seller) move quote and base; B is only
    // touched by trades.
    signal aTreeToken <== tokenId + isTrade * (baseTokenId - tokenId);
    signal moved <== move.delta + forced.delta;
    signal movedQuote <== quoteToken.out * moved;
    signal aQuoteNew <== aQuoteOld + movedQuote + trade.aQuoteDelta;
    signal aBalNew <== aBalOld + (moved - movedQuote) + trade.aBaseDelta;
    signal bQuoteNew <== bQuoteOld + trade.bQuoteDelta;
    signal bBalNew <== bBalOld + trade.bBaseDelta;
    component aQuoteRange = Num2Bits(BITS_BALANCE()); // inspect: range check only, its bits are not used
    aQuoteRange.in <== aQuoteNew;
    component aBalRange = Num2Bits(BITS_BALANCE()); // inspect: range check only, its bits are not used
    aBalRange.in <== aBalNew;
    component bQuoteRange = Num2Bits(BITS_BALANCE()); // inspect: range check only, its bits are not used
    bQuoteRange.in <== bQuoteNew;
    component bBalRange = Num2Bits(BITS_BALANCE()); // inspect: range check only, its bits are not used
    bBalRange.in <== bBalNew;
    feePoolOut <== feePoolIn + trade.feeDelta + fee.feeDelta;

    // ---- account updates, A then B
    component updateA = AccountUpdate(accountLevels, balanceLevels, orderLevels, 1);
    updateA.rootIn <== accountsRootIn;
    updateA.accountId <== accountA;
    updateA.accountSiblings <== aSiblings;
    updateA.oldPubX <== aPubX;
    updateA.oldPubY <== aPubY;
    updateA.oldNonce <== aNonce;
    updateA.newPubX <== aPubX + registerKey.keyDelta[0];
    updateA.newPubY <== aPubY + registerKey.keyDelta[1];
    updateA.newNonce <== aNonce + move.nonceDelta;
    updateA.quoteOld <== aQuoteOld;
    updateA.quoteNew <== aQuoteNew;
    updateA.balToken <== aTreeToken;
    updateA.balOld <== aBalOld;
    updateA.balNew <== aBalNew;
    updateA.balSiblings <== aBalSiblings;
    updateA.balancesRoot <== 0;
    for (var i = 0; i < 2 * orderLevels; i++) updateA.orderSlotBits[i] <== wordsA.idBits[i];
    updateA.orderOldLeaf <== storeA.oldLeaf;
    updateA.orderNewLeaf <== storeA.newLeaf;
    updateA.orderSiblings <== aOrderSiblings;
    updateA.derivOld <== aDerivLeaf;
    updateA.derivNew <== aDerivLeaf;

    component updateB = AccountUpdate(accountLevels, balanceLevels, orderLevels, 1);
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
    updateB.quoteNew <== bQuoteNew;
    updateB.balToken <== baseTokenId;
    updateB.balOld <== bBalOld;
    updateB.balNew <== bBalNew;
    updateB.balSiblings <== bBalSiblings;
    updateB.balancesRoot <== 0;
    for (var i = 0; i < 2 * orderLevels; i++) updateB.orderSlotBits[i] <== wordsB.idBits[i];
    updateB.orderOldLeaf <== storeB.oldLeaf;
    updateB.orderNewLeaf <== storeB.newLeaf;
    updateB.orderSiblings <== bOrderSiblings;
    updateB.derivOld <== bDerivLeaf;
    updateB.derivNew <== bDerivLeaf;
    accountsRootOut <== updateB.rootOut;

    // ---- public-data record (the generated packer selects the type's fields by isType)
    component pack = PackRecord();
    pack.isType <== isType;
    pack.REGISTER_KEY_accountId <== accountA;
    pack.REGISTER_KEY_pubKey_hi <== registerKey.hi;
    pack.REGISTER_KEY_pubKey_lo <== registerKey.lo;
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
    pack.FORCED_WITHDRAW_accountId <== accountA;
    pack.FORCED_WITHDRAW_tokenId <== tokenId;
    pack.FORCED_WITHDRAW_amount <== amount;
    pack.FORCED_WITHDRAW_honoured <== honoured;
    pack.FEE_WITHDRAW_accountId <== accountA;
    pack.FEE_WITHDRAW_tokenId <== tokenId;
    pack.FEE_WITHDRAW_amount <== amount;
    pack.FEE_WITHDRAW_honoured <== honoured;
    pack.OPERATOR_CANCEL_accountId <== accountA;
    pack.OPERATOR_CANCEL_orderId <== orderA[O_ID()];
    record <== pack.out;
}
