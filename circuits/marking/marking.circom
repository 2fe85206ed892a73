pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/poseidon.circom";
include "../generated/protocol.circom";
include "../lib/quadTree.circom";
include "../derivatives/oracleStep.circom";

// The marking proof (circuits/DERIVATIVES.md, "Marking proofs"): the Black-Scholes marks of up to C options under
// one signed oracle update, committed in a quad tree, proven once per update and read by path wherever a mark is
// needed, instead of pricing every option again in every batch that touches it.

/// Proves, for one option entry: leaf = 0 when unused; when used, leaf = Poseidon(id, generation, kind, underlying,
/// strike, expiry, lot, mark) (marking.ts#markLeaf) with kind a call or a put, underlying < U, strike in
/// [2^16, 2^50), expiry and lot within their registration widths, and mark = OptionValue's value of one lot at the
/// update's price of its underlying, its slice's vol at its strike, and max(expiry - oracleTime, 0) seconds left.
/// An option with time left whose (underlying, expiry) has no slice in the update cannot be marked: a mark is never
/// taken at the floor vol. id and generation are not read: they name the instrument, and a reader checks them
/// against its own leaf (with every term), so a mark serves only the instrument whose terms it was computed from.
template MarkedOption(O, U) {
    signal input used;
    signal input id;
    signal input generation;
    signal input kind;
    signal input underlying;
    signal input strike;
    signal input expiry;
    signal input lot;
    signal input oracleTime;    // 32 bits (the caller's range check)
    signal input prices[U];     // each in [2^16, 2^50) (the caller's range checks)
    signal input sliceUnderlying[O];
    signal input sliceExpiry[O];
    signal input sliceLevel[O];
    signal input sliceSlope[O];
    signal input sliceInUse[O];
    signal output mark;
    signal output leaf;

    used * (used - 1) === 0;
    // a call or a put: kind = PUT + isCall * (CALL - PUT)
    signal isCall;
    isCall <-- kind == KIND_CALL() ? 1 : 0;
    isCall * (isCall - 1) === 0;
    used * (kind - KIND_PUT() - isCall * (KIND_CALL() - KIND_PUT())) === 0;
    // its underlying, one-hot among U when used
    signal selU[U];
    signal priceTerm[U];
    var selSum = 0;
    var selValue = 0;
    var p = 0;
    for (var u = 0; u < U; u++) {
        selU[u] <-- (used == 1 && underlying == u) ? 1 : 0;
        selU[u] * (selU[u] - 1) === 0;
        selSum += selU[u];
        selValue += u * selU[u];
        priceTerm[u] <== selU[u] * prices[u];
        p += priceTerm[u];
    }
    selSum === used;
    used * (selValue - underlying) === 0;
    // its terms within their widths (BlackScholes' domain and OptionValue's requirements)
    component strikeHi = Num2Bits(BITS_ORACLEPRICE());  // inspect: a range check; its bits are not used
    strikeHi.in <== strike;
    component strikeLo = Num2Bits(BITS_ORACLEPRICE());  // inspect: a range check; its bits are not used
    strikeLo.in <== strike - used * MIN_ORACLE_PRICE();
    component expiryBits = Num2Bits(BITS_TIME());  // inspect: a range check; its bits are not used
    expiryBits.in <== expiry;
    component lotBits = Num2Bits(BITS_LOTSIZE());  // inspect: a range check; its bits are not used
    lotBits.in <== lot;
    // time left: 0 at or after the expiry
    component reached = LessEqThan(BITS_TIME());
    reached.in[0] <== expiry;
    reached.in[1] <== oracleTime;
    signal timeLeft <== (1 - reached.out) * (expiry - oracleTime);

    component value = OptionValue(O);
    value.useBS <== used;
    value.isCall <== isCall;
    value.timeLeft <== timeLeft;
    value.price <== p;
    value.strike <== strike;
    value.lot <== lot;
    value.optUnderlying <== underlying;
    value.optExpiry <== expiry;
    value.sliceUnderlying <== sliceUnderlying;
    value.sliceExpiry <== sliceExpiry;
    value.sliceLevel <== sliceLevel;
    value.sliceSlope <== sliceSlope;
    value.sliceInUse <== sliceInUse;
    // never at the floor vol
    value.unpriced === 0;
    mark <== value.value;

    component hash = Poseidon(8);
    hash.inputs <== [id, generation, kind, underlying, strike, expiry, lot, mark];
    leaf <== used * hash.out;
}

/// The marking proof. Public: messageHash, the oracle's signed message (OracleMessage, as the batch's oracle step
/// hashes it to check the signature), marksRoot, and marksKey = Poseidon(messageHash, marksRoot), the one word the marks
/// registry records and a batch that reads these marks will carry (marking.ts#marksKey). Proves: the private update (time, epoch, prices, vol table,
/// and the rate and settlement words, hashed but not read) hashes to messageHash, with time and epoch of 32 bits,
/// every price in [2^16, 2^50) and a well-formed vol table (VolSlices); and marksRoot is the root of the quad tree of
/// 4^levels leaves whose leaf c is MarkedOption's leaf of entry c under that update (0 for an unused entry). The
/// signature is not checked here: a mark is only ever read beside the batch's check of the same message's
/// signature, freshness and ranges (the message hash binds every word), so a marking proof for an unsigned update
/// marks nothing anybody can use.
template Marking(levels, O, U, N) {
    var C = 4 ** levels;
    signal input messageHash;
    signal input marksRoot;
    signal input marksKey;
    signal input oracleTime;
    signal input fundingEpoch;
    signal input prices[U];
    signal input sliceUnderlying[O];
    signal input sliceExpiry[O];
    signal input sliceLevel[O];
    signal input sliceSlope[O];
    signal input rateWords[N];
    signal input settleWord;
    signal input used[C];
    signal input id[C];
    signal input generation[C];
    signal input kind[C];
    signal input underlying[C];
    signal input strike[C];
    signal input expiry[C];
    signal input lot[C];

    component timeBits = Num2Bits(BITS_TIME());  // inspect: a range check; its bits are not used
    timeBits.in <== oracleTime;
    component epochBits = Num2Bits(BITS_TIME());  // inspect: a range check; its bits are not used
    epochBits.in <== fundingEpoch;
    component priceHi[U];  // inspect: a range check; its bits are not used
    component priceLo[U];  // inspect: a range check; its bits are not used
    for (var u = 0; u < U; u++) {
        priceHi[u] = Num2Bits(BITS_ORACLEPRICE());
        priceHi[u].in <== prices[u];
        priceLo[u] = Num2Bits(BITS_ORACLEPRICE());
        priceLo[u].in <== prices[u] - MIN_ORACLE_PRICE();
    }
    component slices = VolSlices(O, U);  // inspect: the slices' public-data bits are the batch's, not used here
    slices.used <== 1;
    slices.underlying <== sliceUnderlying;
    slices.expiry <== sliceExpiry;
    slices.level <== sliceLevel;
    slices.slope <== sliceSlope;
    component msg = OracleMessage(U, O, N);
    msg.oracleTime <== oracleTime;
    msg.fundingEpoch <== fundingEpoch;
    msg.prices <== prices;
    msg.sliceWords <== slices.word;
    msg.rateWords <== rateWords;
    msg.settleWord <== settleWord;
    msg.out === messageHash;

    component option[C];  // inspect: each entry's mark is in its leaf; the output itself is not used
    component tree = QuadRoot(levels);
    for (var c = 0; c < C; c++) {
        option[c] = MarkedOption(O, U);
        option[c].used <== used[c];
        option[c].id <== id[c];
        option[c].generation <== generation[c];
        option[c].kind <== kind[c];
        option[c].underlying <== underlying[c];
        option[c].strike <== strike[c];
        option[c].expiry <== expiry[c];
        option[c].lot <== lot[c];
        option[c].oracleTime <== oracleTime;
        option[c].prices <== prices;
        option[c].sliceUnderlying <== sliceUnderlying;
        option[c].sliceExpiry <== sliceExpiry;
        option[c].sliceLevel <== sliceLevel;
        option[c].sliceSlope <== sliceSlope;
        option[c].sliceInUse <== slices.inUse;
        tree.leaves[c] <== option[c].leaf;
    }
    tree.root === marksRoot;
    component key = Poseidon(2);
    key.inputs <== [messageHash, marksRoot];
    key.out === marksKey;
}
