pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/poseidon.circom";
include "../lib/publicInputs.circom";
include "../generated/protocol.circom";
include "../lib/accountRisk.circom";
include "../lib/instrumentTable.circom";
include "../lib/positions.circom";
include "../lib/quadTree.circom";
include "../lib/select.circom";
include "../lib/fixed/fixed.circom";
include "../derivatives/oracleStep.circom";
include "../batch/batch.circom";

// The exodus exit circuit (EXIT.md in this folder): one account's claim on the custodian's frozen root.

/// Proves: mark is the exit value of one lot of the instrument whose leaf fields are `inst`, when the
/// last proven prices of the underlyings are `prices` (each < 2^50, range-checked by the caller): with
/// X = settlePrice if it is not 0, else prices[underlying], and K = strike,
///   perpetual, future: lotValue(X);  call: lotValue(max(X - K, 0));  put: lotValue(max(K - X, 0));
///   not registered: 0
/// (sequencer/exit/exitRule.ts exitMark). `price` is X.
template ExitMark(U) {
    signal input inst[I_FIELDS()];  // inspect: the whole leaf is passed; only kind, underlying, lot, strike and settlePrice are used
    signal input prices[U];
    signal output price;
    signal output mark;

    component kind = OneHot(5);  // inspect: the kind's one-hot flags; NONE is the kind that adds nothing
    kind.in <== inst[I_KIND()];
    component underlying = OneHot(U);
    underlying.in <== inst[I_UNDERLYING()];
    component p = Select(U);
    p.sel <== underlying.out;
    p.values <== prices;
    // X: the settlement price once settled (a payoff is fixed at expiry), else the last proven price
    component open = IsZero();
    open.in <== inst[I_SETTLE()];
    price <== inst[I_SETTLE()] + open.out * p.out;
    // the option's intrinsic value; |X - K| < 2^50 (prices and strikes are below 2^50)
    component moneyness = SignedRange(52);
    moneyness.in <== price - inst[I_STRIKE()];
    signal callIntrinsic <== moneyness.nonNeg * (price - inst[I_STRIKE()]);
    signal putIntrinsic <== callIntrinsic - (price - inst[I_STRIKE()]);
    signal linearPart <== (kind.out[KIND_PERPETUAL()] + kind.out[KIND_FUTURE()]) * price;
    signal callPart <== kind.out[KIND_CALL()] * callIntrinsic;
    signal putPart <== kind.out[KIND_PUT()] * putIntrinsic;
    component value = LotValue();
    value.a <== linearPart + callPart + putPart;
    value.lot <== inst[I_LOT()];
    mark <== value.out;
}

/// Proves the exodus exit claim of EXIT.md: the account `accountId` (< 4^accountLevels) has, under the
/// state root `root` (Poseidon(accountsRoot, marketsRoot, feePool, globalsHash), SPEC.md and
/// DERIVATIVES.md), the leaf Poseidon(pubKeyX, pubKeyY, nonce, balances[0], balancesRoot, ordersRoot, derivLeaf) with
/// balancesRoot the tree of `balances` with leaf 0 empty (token 0, the quote, is the leaf's own field) and derivLeaf the DerivLeaf of its collateral and K position slots,
/// each slot's instrument read from the instrument tree (the globals' instrumentsRoot, INSTRUMENT_LEVELS(N) deep) by its
/// path (HeldInstruments), not from the whole table; the claim is the rule's (sequencer/exit/exitRule.ts):
///   amount[t] = balances[t] (every token id, the quote token 0 included),
///   derivativesClaim = max(0, equity),
///   equity = collateral - sum_k size_k (fundingIndex_k - snap_k) + sum_k size_k * exitMark_k(prices), over the slots,
/// every amount, the derivatives claim and the state's pooledQuote (a field of the globals under `root`) below 2^128;
/// and publicInput is the public data root ++ accountId ++ price[0..U) ++ pooledQuote ++ derivativesClaim ++
/// amount[0..4^balanceLevels) (sequencer/protocol/exitPublicData.ts) cut into 31-byte big-endian chunks, the
/// batch's rule (PackPublicInputs; SPEC.md "Public input"). The prices are the claim's: the custodian puts its
/// stored last proven prices in the public data, so they are not the prover's choice.
template Exit(accountLevels, balanceLevels, N, K, U) {
    var T = 4 ** balanceLevels;
    var PRICE_BITS = 56;  // ORACLE_PRICE_BYTES * 8
    var AMOUNT_BITS = 128;  // EXIT_AMOUNT_BYTES * 8
    var TOTAL = 256 + 32 + U * PRICE_BITS + 2 * AMOUNT_BITS + T * AMOUNT_BITS;
    var AT_POOLED = 288 + U * PRICE_BITS;  // where pooledQuote's bits start, then derivativesClaim's, then the amounts'
    var AT_CLAIM = AT_POOLED + AMOUNT_BITS;
    var AT_AMOUNTS = AT_CLAIM + AMOUNT_BITS;
    var PUBLIC_INPUTS = (TOTAL + PUBLIC_INPUT_CHUNK_BITS() - 1) \ PUBLIC_INPUT_CHUNK_BITS();
    signal input publicInput[PUBLIC_INPUTS];
    // the claim (public data, rebuilt by the custodian)
    signal input root;
    signal input accountId;
    signal input prices[U];
    // the account leaf and its path
    signal input pubKeyX;
    signal input pubKeyY;
    signal input nonce;
    signal input ordersRoot;
    signal input balances[T];
    signal input collateral;
    signal input posId[K];      // the account's position slots (lib/positions.circom)
    signal input posSize[K];
    signal input posSnap[K];
    signal input siblings[accountLevels][3];
    // the rest of the state root
    signal input marketsRoot;
    signal input feePool;
    signal input instrumentsRoot;
    signal input held[K][I_FIELDS()];  // each position slot's instrument, read by its path (HeldInstruments)
    signal input heldSiblings[K][INSTRUMENT_LEVELS(N)][3];
    signal input insurance;
    signal input oracleTime;
    signal input fundingEpoch;
    signal input badDebt;
    signal input pooledQuote;
    signal amounts[T];

    // ---- the account's leaf under the root
    // the quote token's balance (token 0) is a field of the leaf; the balance tree holds the other tokens, and
    // its leaf 0 is never written (SPEC.md "State")
    component balancesRoot = QuadRoot(balanceLevels);
    balancesRoot.leaves[0] <== 0;
    for (var t = 1; t < T; t++) balancesRoot.leaves[t] <== balances[t];
    component deriv = DerivLeaf(K);
    deriv.c <== collateral;
    deriv.id <== posId;
    deriv.size <== posSize;
    deriv.snap <== posSnap;
    component leaf = Poseidon(7);
    leaf.inputs <== [pubKeyX, pubKeyY, nonce, balances[0], balancesRoot.root, ordersRoot, deriv.out];
    // accountId < 4^accountLevels: its bits are the path (a larger id would name another account's leaf)
    component idBits = Num2Bits(2 * accountLevels);
    idBits.in <== accountId;
    component path = QuadPath(accountLevels);
    path.leaf <== leaf.out;
    path.indexBits <== idBits.out;
    path.siblings <== siblings;
    component globals = GlobalsOverRoot();
    globals.instrumentsRoot <== instrumentsRoot;
    globals.insurance <== insurance;
    globals.oracleTime <== oracleTime;
    globals.fundingEpoch <== fundingEpoch;
    globals.badDebt <== badDebt;
    globals.pooledQuote <== pooledQuote;
    component stateRoot = Poseidon(4);
    stateRoot.inputs <== [path.root, marketsRoot, feePool, globals.out];
    root === stateRoot.out;

    // ---- the claim's prices: below 2^50, as every price a proven batch used (the custodian stores those)
    component priceBits[U];
    for (var u = 0; u < U; u++) {
        priceBits[u] = Num2Bits(BITS_ORACLEPRICE());
        priceBits[u].in <== prices[u];
    }

    // ---- equity: funding settled as a batch settles it (c -= size * (index - snap)), positions at exit marks,
    // slot by slot: each slot's instrument is read from the instrument tree by its path (HeldInstruments), so the
    // exit reads K instruments, not the table; an empty slot has size and snapshot 0 and adds nothing
    component heldRead = HeldInstruments(K, INSTRUMENT_LEVELS(N));
    heldRead.root <== instrumentsRoot;
    heldRead.posId <== posId;
    heldRead.posSize <== posSize;
    heldRead.posSnap <== posSnap;
    heldRead.held <== held;
    heldRead.siblings <== heldSiblings;
    component snapRange[K];  // inspect: range checks of the snapshots; their signs are not used
    component mark[K];  // inspect: each slot's exit mark; the price it was taken at is only for the witness
    signal funding[K];
    var paid = 0;
    for (var k = 0; k < K; k++) {
        snapRange[k] = SignedRange(BITS_FUNDINGINDEX());
        snapRange[k].in <== posSnap[k];
        funding[k] <== posSize[k] * (held[k][I_FUNDING()] - posSnap[k]);
        paid += funding[k];
        mark[k] = ExitMark(U);
        mark[k].inst <== held[k];
        mark[k].prices <== prices;
    }
    // AccountRisk range-checks the settled collateral (128 bits) and every size (48 bits) as a batch does,
    // and sums c + size_k * mark_k; no margin requirement applies in an exit
    component risk = AccountRisk(K);  // inspect: only its equity is used; an exit has no margin requirement (long = short = 0)
    risk.c <== collateral - paid;
    risk.size <== posSize;
    for (var k = 0; k < K; k++) risk.mark[k] <== mark[k].mark;
    for (var k = 0; k < K; k++) {
        risk.long[k] <== 0;
        risk.short[k] <== 0;
    }
    // |equity| < 2^127 + K 2^47 2^72 < 2^134 (DERIVATIVES.md, "Ranges"): its sign is exact
    component sign = SignedRange(135);
    sign.in <== risk.equity;
    signal claim <== sign.nonNeg * risk.equity;

    // ---- the claim's 16-byte fields, each below 2^128 (their bits are the public data's): the state's pooled
    // quote (the custodian's pot for derivatives claims; the batch keeps it in [0, 2^128)), the derivatives claim
    // and the spot amounts (token 0's without the claim: the custodian pays the two apart)
    component pooledBits = Num2Bits(BITS_BALANCE());
    pooledBits.in <== pooledQuote;
    component claimBits = Num2Bits(BITS_BALANCE());
    claimBits.in <== claim;
    component amountBits[T];
    for (var t = 0; t < T; t++) {
        amounts[t] <== balances[t];
        amountBits[t] = Num2Bits(BITS_BALANCE());
        amountBits[t].in <== amounts[t];
    }

    // ---- public data (exitPublicData.ts), most significant bit first, every bit 0 or 1 where it is made (the
    // Num2Bits outputs above and below, and constant zeros), as PackPublicInputs requires. The root is decomposed without the
    // alias check, as the batch's: a non-canonical encoding would only differ from the custodian's root.
    component rootBits = Num2Bits(254);
    rootBits.in <== root;
    component data = PackPublicInputs(TOTAL, PUBLIC_INPUT_CHUNK_BITS());
    for (var i = 0; i < 256; i++) data.bits[i] <== i < 2 ? 0 : rootBits.out[255 - i];
    for (var i = 0; i < 32; i++) data.bits[256 + i] <== i < 32 - 2 * accountLevels ? 0 : idBits.out[31 - i];
    for (var u = 0; u < U; u++) {
        for (var i = 0; i < PRICE_BITS; i++) {
            data.bits[288 + u * PRICE_BITS + i] <== i < PRICE_BITS - BITS_ORACLEPRICE() ? 0 : priceBits[u].out[PRICE_BITS - 1 - i];
        }
    }
    for (var i = 0; i < AMOUNT_BITS; i++) data.bits[AT_POOLED + i] <== pooledBits.out[AMOUNT_BITS - 1 - i];
    for (var i = 0; i < AMOUNT_BITS; i++) data.bits[AT_CLAIM + i] <== claimBits.out[AMOUNT_BITS - 1 - i];
    for (var t = 0; t < T; t++) {
        for (var i = 0; i < AMOUNT_BITS; i++) data.bits[AT_AMOUNTS + t * AMOUNT_BITS + i] <== amountBits[t].out[AMOUNT_BITS - 1 - i];
    }
    data.chunks <== publicInput;
}
