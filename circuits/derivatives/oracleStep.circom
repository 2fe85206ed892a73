pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/poseidon.circom";
include "../generated/protocol.circom";
include "../lib/compressedKey.circom";
include "../lib/fixed/fixed.circom";
include "../lib/fixed/blackScholes.circom";
include "../lib/ppm.circom";
include "../lib/curvePoint.circom";
include "../lib/signature.circom";
include "volSurface.circom";
include "../lib/poseidonChain.circom";
include "../lib/quadTree.circom";

/// Proves: out = floor(a * lotSizeE6 / 10^8), the quote value of one lot at price a, and out < 2^72. The
/// callers' a is an oracle price or a payoff (< 2^50) and lot < 2^40, so out < 2^72 holds for every honest batch.
template LotValue() {
    signal input a;
    signal input lot;
    signal output out;
    component d = DivFloor(72, 27, 0);
    d.num <== a * lot;
    d.den <== PRICE_SCALE();
    out <== d.q;
}

/// Proves: out is the oracle's signed message (messages.ts#oracleMessage), the Poseidon chain of
///   (DOMAIN_ORACLE, time + epoch << 32, prices[0..U), sliceWords[0..O), rateWords[0..N), settleWord),
/// where rateWords are the funding rates offset by 2^23 and settleWord the named expiry's packed word. The callers
/// range-check time and epoch (32 bits each, so the first word is injective) and whatever else they read.
/// Shared by the batch's oracle step and the marking proof (circuits/marking), so both hash one message.
template OracleMessage(U, O, N) {
    signal input oracleTime;
    signal input fundingEpoch;
    signal input prices[U];
    signal input sliceWords[O];
    signal input rateWords[N];
    signal input settleWord;
    signal output out;
    component msg = PoseidonChain(3 + U + O + N);  // more than 16 inputs chain (poseidon.ts#poseidonChain)
    msg.inputs[0] <== DOMAIN_ORACLE();
    msg.inputs[1] <== oracleTime + fundingEpoch * (1 << 32);
    for (var u = 0; u < U; u++) msg.inputs[2 + u] <== prices[u];
    for (var k = 0; k < O; k++) msg.inputs[2 + U + k] <== sliceWords[k];
    for (var i = 0; i < N; i++) msg.inputs[2 + U + O + i] <== rateWords[i];
    msg.inputs[2 + U + O + N] <== settleWord;
    out <== msg.out;
}

/// Proves, for one option: value = floor(BlackScholes(isCall, price, strike, vol, timeLeft) * lot / (2^64 * 10^8)),
/// the Black-Scholes value of one lot (formulas.ts#optionMark), where vol is the vol of its slice at its strike
/// (SliceVol over the update's table) when the option has time left, the floor 2^13 at its expiry (no time left: the
/// vol is not read). When useBS = 0 (not an option the update prices) it runs on a valid dummy point and value is 0.
/// unpriced = 1 when useBS, time is left, and the table has no slice for the option's (underlying, expiry).
/// Requires, when useBS: price and strike in [2^16, 2^50), lot < 2^40, timeLeft < 2^32 (the callers' range checks or
/// registration's). The marking proof's (MarkedOption): batches read its marks (MarkRead) instead of pricing options.
template OptionValue(O) {
    signal input useBS;
    signal input isCall;
    signal input timeLeft;
    signal input price;
    signal input strike;
    signal input lot;
    signal input optUnderlying;
    signal input optExpiry;
    signal input sliceUnderlying[O];
    signal input sliceExpiry[O];
    signal input sliceLevel[O];
    signal input sliceSlope[O];
    signal input sliceInUse[O];
    signal output value;
    signal output unpriced;

    // an option at its expiry (no time left) needs no slice
    component noTimeLeft = IsZero();
    noTimeLeft.in <== timeLeft;
    component vol = SliceVol(O);
    vol.need <== useBS * (1 - noTimeLeft.out);
    vol.underlying <== sliceUnderlying;
    vol.expiry <== sliceExpiry;
    vol.level <== sliceLevel;
    vol.slope <== sliceSlope;
    vol.inUse <== sliceInUse;
    vol.optUnderlying <== optUnderlying;
    vol.optExpiry <== optExpiry;
    vol.spot <== price;
    vol.strike <== strike;
    unpriced <== vol.need * (1 - vol.found);
    component bs = BlackScholes(RISK_FREE_RATE_PPM() == 0 ? 0 : 1);  // rate 0: no discount factor to prove
    bs.isCall <== isCall;
    bs.spot <== FX_PRICE_MIN() + useBS * (price - FX_PRICE_MIN());
    bs.strike <== FX_PRICE_MIN() + useBS * (strike - FX_PRICE_MIN());
    bs.volPpm <== vol.vol;
    bs.timeSeconds <== useBS * timeLeft;
    bs.ratePpm <== RISK_FREE_RATE_PPM();
    component lotValue = DivFloor(72, 91, 0);
    lotValue.num <== bs.price * lot;
    lotValue.den <== (1 << 64) * PRICE_SCALE();
    value <== lotValue.q;
}

/// Proves, for one instrument: its kind flags, the oracle price of its underlying, and its
/// expiry settlement (DERIVATIVES.md "Expiry"): a registered dated instrument not yet settled with
/// oracleTime >= expiry settles at the update's signed expiry price of its underlying when the update names
/// its expiry (settleExpiry, any time after the expiry), else at the update's price when signed within
/// SETTLEMENT_WINDOW of the expiry, else not at all (it stays unsettled, expired: marked at timeLeft = 0).
/// useBS = 1 when it is an unsettled option marked by Black-Scholes, at timeLeft seconds to expiry.
template InstrumentState(U) {
    signal input inst[I_FIELDS()];  // inspect: the whole leaf is passed; only some fields are used here
    signal input used;
    signal input oracleTime;
    signal input prices[U];
    signal input settleUsed;        // 1 when the update names an expiry (settleExpiry > 0)
    signal input settleExpiry;
    signal input settlePrices[U];
    signal output timeLeft;
    signal output settleOut;
    signal output settled;
    signal output registered;
    signal output isLinear;
    signal output isOpt;
    signal output isPerp;
    signal output isFuture;
    signal output isCall;
    signal output isPut;
    signal output price;
    signal output useBS;

    // kind, one-hot (the table's fields were range-checked when they were written)
    signal isKind[5];
    var kindSum = 0;
    var kindValue = 0;
    for (var k = 0; k < 5; k++) {
        isKind[k] <-- inst[I_KIND()] == k ? 1 : 0;
        isKind[k] * (isKind[k] - 1) === 0;
        kindSum += isKind[k];
        kindValue += k * isKind[k];
    }
    kindSum === 1;
    kindValue === inst[I_KIND()];
    registered <== 1 - isKind[KIND_NONE()];
    isPerp <== isKind[KIND_PERPETUAL()];
    isFuture <== isKind[KIND_FUTURE()];
    isCall <== isKind[KIND_CALL()];
    isPut <== isKind[KIND_PUT()];
    isLinear <== isPerp + isFuture;
    isOpt <== isCall + isPut;
    signal isDated <== isFuture + isOpt;

    signal selU[U];
    var selSum = 0;
    var selValue = 0;
    var p = 0;
    var sp = 0;
    signal priceTerm[U];
    signal settleTerm[U];
    for (var u = 0; u < U; u++) {
        selU[u] <-- inst[I_UNDERLYING()] == u ? 1 : 0;
        selU[u] * (selU[u] - 1) === 0;
        selSum += selU[u];
        selValue += u * selU[u];
        priceTerm[u] <== selU[u] * prices[u];
        p += priceTerm[u];
        settleTerm[u] <== selU[u] * settlePrices[u];
        sp += settleTerm[u];
    }
    selSum === 1;
    selValue === inst[I_UNDERLYING()];
    price <== p;

    component unsettled = IsZero();
    unsettled.in <== inst[I_SETTLE()];
    component reached = LessEqThan(BITS_TIME());
    reached.in[0] <== inst[I_EXPIRY()];
    reached.in[1] <== oracleTime;
    signal dueA <== used * isDated;
    signal dueB <== dueA * unsettled.out;
    signal expired <== dueB * reached.out;
    // Named (DERIVATIVES.md, "Expiry"): the update carries the oracle's signed prices at this expiry, so the
    // instrument settles at its underlying's, whenever the update is signed.
    component sameExpiry = IsEqual();
    sameExpiry.in[0] <== inst[I_EXPIRY()];
    sameExpiry.in[1] <== settleExpiry;
    signal named <== sameExpiry.out * settleUsed;
    signal settleNamed <== expired * named;
    // Otherwise the settlement window: the update's own price settles it only when signed at most
    // SETTLEMENT_WINDOW seconds after its expiry, so the operator cannot pick the settlement price among
    // the updates signed later. A later update leaves it unsettled (expired: untradable, marked at
    // timeLeft = 0) until an update names its expiry; it never blocks the update.
    component inWindow = LessEqThan(BITS_TIME() + 1);
    inWindow.in[0] <== oracleTime;
    inWindow.in[1] <== inst[I_EXPIRY()] + SETTLEMENT_WINDOW();
    signal unnamed <== expired - settleNamed;
    signal settleWindow <== unnamed * inWindow.out;
    signal namedValue <== settleNamed * sp;
    settleOut <== inst[I_SETTLE()] + namedValue + settleWindow * price;
    timeLeft <== (1 - reached.out) * (inst[I_EXPIRY()] - oracleTime);
    component notSettled = IsZero();
    notSettled.in <== settleOut;
    settled <== 1 - notSettled.out;
    signal liveOpt <== used * isOpt;
    useBS <== liveOpt * notSettled.out;
}

/// The levels of the marks tree a batch of O option ids reads (marking.ts#markingLevels): the smallest, at least one,
/// with a leaf per option id (option id N - O + k is leaf k).
function MARKING_LEVELS(O) {
    var levels = 1;
    while (4 ** levels < O) levels++;
    return levels;
}

/// Proves, for option `id` (instrument leaf `inst`) at leaf `index` of a marks tree (circuits/marking, MarkedOption):
/// when read = 1, Poseidon(id, generation, kind, underlying, strike, expiry, lot, mark) is the leaf at `index` under
/// `root`, so `mark` is the one a marking proof computed for exactly this instrument's terms and generation (the
/// marks registry vouches for the root, through the key the batch publishes); when read = 0, mark = 0 and the path is
/// not read. read must be a bit (the caller's).
template MarkRead(levels, index) {
    signal input read;
    signal input id;
    signal input inst[I_FIELDS()];  // inspect: the whole leaf is passed; only its terms and generation are used here
    signal input mark;
    signal input siblings[levels][3];
    signal input root;
    component leaf = Poseidon(8);
    leaf.inputs <== [id, inst[I_GENERATION()], inst[I_KIND()], inst[I_UNDERLYING()], inst[I_STRIKE()], inst[I_EXPIRY()], inst[I_LOT()], mark];
    component path = QuadPath(levels);
    path.leaf <== leaf.out;
    for (var b = 0; b < 2 * levels; b++) path.indexBits[b] <== (index >> b) & 1;
    path.siblings <== siblings;
    read * (path.root - root) === 0;
    (1 - read) * mark === 0;
}

/// Proves, for one instrument with its state flags (InstrumentState) and its Black-Scholes value per
/// lot (optionMark, 0 unless an option): its mark and margins per lot (DERIVATIVES.md) and its funding
/// index after this batch's funding tick, with the rate a perpetual's only and within its cap.
template InstrumentMarks() {
    signal input inst[I_FIELDS()];  // inspect: the whole leaf is passed; only some fields are used here
    signal input settleOut;
    signal input settled;
    signal input registered;
    signal input isLinear;
    signal input isOpt;
    signal input isPerp;
    signal input isFuture;
    signal input isCall;
    signal input isPut;
    signal input price;
    signal input optionMark;
    signal input tick;
    signal input rate;
    signal output fundingOut;
    signal output mark;
    signal output imLong;
    signal output imShort;
    signal output mmLong;
    signal output mmShort;

    component spot = LotValue();
    spot.a <== price;
    spot.lot <== inst[I_LOT()];
    component moneyness = SignedRange(52);
    moneyness.in <== settleOut - inst[I_STRIKE()];
    signal callIntrinsic <== moneyness.nonNeg * (settleOut - inst[I_STRIKE()]);
    signal putIntrinsic <== callIntrinsic - (settleOut - inst[I_STRIKE()]);
    signal futPart <== isFuture * settleOut;
    signal callPart <== isCall * callIntrinsic;
    signal putPart <== isPut * putIntrinsic;
    component payoff = LotValue();
    payoff.a <== futPart + callPart + putPart;
    payoff.lot <== inst[I_LOT()];

    // mark = payoff (settled), Black-Scholes (option), spot value (perpetual, future), 0 (none)
    signal liveLinear <== isLinear * spot.out;
    signal liveOption <== isOpt * optionMark;
    signal liveMark <== liveLinear + liveOption;
    signal settledMark <== settled * payoff.out;
    mark <== settledMark + (1 - settled) * liveMark;

    // margins per lot: on the underlying's value for linear positions and option writers. A live long
    // option's margins are its whole mark (Definition 6: the buyer pays the premium): its value never
    // counts towards margin, so it cannot be bought on credit against its own mark nor lend other
    // positions equity. Settled instruments count at their payoff (all margins 0).
    signal active <== registered * (1 - settled);
    component im = CeilPpm(73);  // ceil(a * ppm / 10^6) < 2^73 for a < 2^72, ppm < 2^20
    im.a <== spot.out;
    im.ppm <== inst[I_IM()];
    component mm = CeilPpm(73);
    mm.a <== spot.out;
    mm.ppm <== inst[I_MM()];
    imShort <== active * im.out;
    mmShort <== active * mm.out;
    signal optionLong <== (1 - settled) * liveOption;
    imLong <== isLinear * imShort + optionLong;
    mmLong <== isLinear * mmShort + optionLong;

    // funding: only perpetuals, within the cap; the index moves by floor(rate * mark / 10^6) on a tick
    (1 - isPerp) * rate === 0;
    component capHi = Num2Bits(25);  // inspect: a range check; its bits are not used
    capHi.in <== inst[I_CAP()] - rate;
    component capLo = Num2Bits(25);  // inspect: a range check; its bits are not used
    capLo.in <== inst[I_CAP()] + rate;
    component step = DivFloor(100, 20, 1);
    step.num <== rate * mark;
    step.den <== PPM();
    fundingOut <== inst[I_FUNDING()] + tick * step.q;
    component fundingRange = SignedRange(BITS_FUNDINGINDEX());  // inspect: a range check; its sign is not used
    fundingRange.in <== fundingOut;
}

/// Proves the batch-level oracle step of DERIVATIVES.md: if `used`, the update (time, epoch, prices per
/// underlying, a table of O vol slices (an implied vol and skew per (underlying, expiry): VolSlices), rates per
/// instrument, and optionally one expiry with the underlyings' prices at it) is signed by (keyX, keyY), is not stale,
/// from the future or older than the last one, and its values are in range; the funding tick happens iff
/// epoch = oldEpoch + 1 (epoch in {oldEpoch, oldEpoch + 1}); `instruments` is the table after expiry settlement and
/// funding, with per-lot marks and margins; `bits` is the oracle section of the public data. A live option's mark is
/// read from the marks tree `marksRoot` (MarkRead: proven by a marking proof under this update, for its own terms), and
/// the section's marksKey = Poseidon(message, marksRoot) names that tree when any mark is read (else 0). If not `used`,
/// every oracle field is 0 and the table is unchanged. `unpriced[i]` = 1 when instrument i is an option the update must
/// price (unsettled, before its expiry) and its vol table has no slice for it (listed after the update was signed):
/// marked 0, so no slot may fill it (Fill), and no account may hold it (refused here: a position is never valued
/// without its slice, DERIVATIVES.md "Vol slices").
template OracleStep(N, O, U) {
    signal input timestamp;
    signal input oldInstruments[N][I_FIELDS()];
    signal input oldOracleTime;
    signal input oldFundingEpoch;
    signal input oracleUsed;
    signal input oracleKeyX;
    signal input oracleKeyY;
    signal input oracleTime;
    signal input fundingEpoch;
    signal input prices[U];
    signal input sliceUnderlying[O];    // the vol table: O slices (as many as option ids)
    signal input sliceExpiry[O];
    signal input sliceLevel[O];
    signal input sliceSlope[O];
    signal input rates[N];
    signal input settleExpiry;      // 0, or an expiry the update names: settlePrices are the oracle's prices at it
    signal input settlePrices[U];
    signal input oracleSig[3];
    var levels = MARKING_LEVELS(O);
    signal input marksRoot;             // the marks tree the option marks are read from (MarkRead)
    signal input optionMarks[O];        // option id N - O + k's mark per lot (0 unless read)
    signal input markSiblings[O][levels][3];
    signal output instruments[N][I_FIELDS()];
    signal output mark[N];
    signal output imLong[N];
    signal output imShort[N];
    signal output mmLong[N];
    signal output mmShort[N];
    signal output unpriced[N];
    signal output newOracleTime;
    signal output newFundingEpoch;
    signal output bits[8 * ORACLE_CORE_BYTES(U, O, N)];

    oracleUsed * (oracleUsed - 1) === 0;
    signal unused <== 1 - oracleUsed;
    unused * oracleKeyX === 0;
    unused * oracleKeyY === 0;
    unused * oracleTime === 0;
    unused * fundingEpoch === 0;
    for (var u = 0; u < U; u++) {
        unused * prices[u] === 0;
    }
    for (var i = 0; i < N; i++) unused * rates[i] === 0;
    unused * settleExpiry === 0;

    // ranges
    component timeBits = Num2Bits(BITS_TIME());
    timeBits.in <== oracleTime;
    component epochBits = Num2Bits(BITS_TIME());
    epochBits.in <== fundingEpoch;
    component priceHi[U];
    component priceLo[U];  // inspect: a range check; its bits are not used
    for (var u = 0; u < U; u++) {
        priceHi[u] = Num2Bits(BITS_ORACLEPRICE());
        priceHi[u].in <== prices[u];
        priceLo[u] = Num2Bits(BITS_ORACLEPRICE());
        priceLo[u].in <== prices[u] - oracleUsed * MIN_ORACLE_PRICE();
    }
    // the vol table (every slice empty without an update)
    component slices = VolSlices(O, U);
    slices.used <== oracleUsed;
    slices.underlying <== sliceUnderlying;
    slices.expiry <== sliceExpiry;
    slices.level <== sliceLevel;
    slices.slope <== sliceSlope;
    // the named expiry: 0 (none; its prices 0) or an expiry with every underlying's price in range
    component settleBits = Num2Bits(BITS_TIME());
    settleBits.in <== settleExpiry;
    component noSettle = IsZero();
    noSettle.in <== settleExpiry;
    signal settleUsed <== 1 - noSettle.out;
    component settleHi[U];
    component settleLo[U];  // inspect: a range check; its bits are not used
    for (var u = 0; u < U; u++) {
        noSettle.out * settlePrices[u] === 0;
        settleHi[u] = Num2Bits(BITS_ORACLEPRICE());
        settleHi[u].in <== settlePrices[u];
        settleLo[u] = Num2Bits(BITS_ORACLEPRICE());
        settleLo[u].in <== settlePrices[u] - settleUsed * MIN_ORACLE_PRICE();
    }
    component rateBits[N];
    for (var i = 0; i < N; i++) {
        rateBits[i] = Num2Bits(BITS_FUNDINGRATE());
        rateBits[i].in <== rates[i] + (1 << (BITS_FUNDINGRATE() - 1));
    }

    // signature
    component msg = OracleMessage(U, O, N);
    msg.oracleTime <== oracleTime;
    msg.fundingEpoch <== fundingEpoch;
    msg.prices <== prices;
    msg.sliceWords <== slices.word;
    for (var i = 0; i < N; i++) msg.rateWords[i] <== rates[i] + (1 << (BITS_FUNDINGRATE() - 1));
    // the named expiry and its prices, packed (all range-checked above, U <= SETTLEMENT_MAX_UNDERLYINGS so
    // 32 + 50 U < 254 bits: injective)
    var settleWord = settleExpiry;
    for (var u = 0; u < U; u++) settleWord += settlePrices[u] * (1 << (BITS_TIME() + u * BITS_ORACLEPRICE()));
    msg.settleWord <== settleWord;
    // the oracle key is on the curve: the section carries it compressed (y and the sign of x), so x is
    // the operator's choice otherwise (SPEC.md "Keys"); the custodian checks y against the registered key
    component keyOnCurve = OnCurveIfEnabled();
    keyOnCurve.enabled <== oracleUsed;
    keyOnCurve.x <== oracleKeyX;
    keyOnCurve.y <== oracleKeyY;
    component sig = SignatureIfEnabled();
    sig.enabled <== oracleUsed;
    sig.ax <== oracleKeyX;
    sig.ay <== oracleKeyY;
    sig.sig <== oracleSig;
    sig.msg <== msg.out;

    // time window: timestamp - MAX_ORACLE_AGE <= oracleTime <= timestamp, oracleTime >= oldOracleTime
    component notFuture = Num2Bits(BITS_TIME());  // inspect: a range check; its bits are not used
    notFuture.in <== oracleUsed * (timestamp - oracleTime);
    component notStale = Num2Bits(BITS_TIME());  // inspect: a range check; its bits are not used
    notStale.in <== oracleUsed * (oracleTime + MAX_ORACLE_AGE() - timestamp);
    component notBack = Num2Bits(BITS_TIME());  // inspect: a range check; its bits are not used
    notBack.in <== oracleUsed * (oracleTime - oldOracleTime);
    newOracleTime <== oldOracleTime + oracleUsed * (oracleTime - oldOracleTime);

    // funding epoch: the same one (no tick) or the next one (tick)
    signal tick <== oracleUsed * (fundingEpoch - oldFundingEpoch);
    tick * (tick - 1) === 0;
    newFundingEpoch <== oldFundingEpoch + tick;

    component st[N];  // inspect: useBS and timeLeft feed the option marks, which only the option ids have
    component marks[N];
    component noTimeLeft[O];
    component slice[O];  // inspect: only `found` is used (whether the table has the option's slice)
    component markRead[O];
    component notHeld[O];
    signal needVol[O];
    signal read[O];
    signal noneRead[O + 1];  // noneRead[k]: no option before k reads a mark
    noneRead[0] <== 1;
    for (var i = 0; i < N; i++) {
        st[i] = InstrumentState(U);
        st[i].inst <== oldInstruments[i];
        st[i].used <== oracleUsed;
        st[i].oracleTime <== oracleTime;
        st[i].prices <== prices;
        st[i].settleUsed <== settleUsed;
        st[i].settleExpiry <== settleExpiry;
        st[i].settlePrices <== settlePrices;

        marks[i] = InstrumentMarks();
        marks[i].inst <== oldInstruments[i];
        marks[i].settleOut <== st[i].settleOut;
        marks[i].settled <== st[i].settled;
        marks[i].registered <== st[i].registered;
        marks[i].isLinear <== st[i].isLinear;
        marks[i].isOpt <== st[i].isOpt;
        marks[i].isPerp <== st[i].isPerp;
        marks[i].isFuture <== st[i].isFuture;
        marks[i].isCall <== st[i].isCall;
        marks[i].isPut <== st[i].isPut;
        marks[i].price <== st[i].price;
        marks[i].tick <== tick;
        marks[i].rate <== rates[i];
        if (i >= N - O) {
            // A live option (useBS) with time left needs its slice; without one it is unpriced (listed after the
            // update was signed). Every other live option reads its mark, proven once per update by a marking proof
            // (Black-Scholes at its underlying's price and its slice's vol at its strike, or its payoff at its expiry)
            // from the marks tree at leaf k; an unpriced option's mark is 0 (nothing fills it and nobody holds it).
            var k = i - (N - O);
            noTimeLeft[k] = IsZero();
            noTimeLeft[k].in <== st[i].timeLeft;
            needVol[k] <== st[i].useBS * (1 - noTimeLeft[k].out);
            slice[k] = SliceMatch(O);
            slice[k].underlying <== sliceUnderlying;
            slice[k].expiry <== sliceExpiry;
            slice[k].inUse <== slices.inUse;
            slice[k].optUnderlying <== oldInstruments[i][I_UNDERLYING()];
            slice[k].optExpiry <== oldInstruments[i][I_EXPIRY()];
            unpriced[i] <== needVol[k] * (1 - slice[k].found);
            // an option somebody holds is priced by every update that marks it (review of 2026-12-06: else its
            // positions were valued at the floor vol)
            notHeld[k] = IsZero();
            notHeld[k].in <== oldInstruments[i][I_HOLDERS()];
            unpriced[i] * (1 - notHeld[k].out) === 0;
            read[k] <== st[i].useBS - unpriced[i];
            markRead[k] = MarkRead(levels, k);
            markRead[k].read <== read[k];
            markRead[k].id <== i;
            markRead[k].inst <== oldInstruments[i];
            markRead[k].mark <== optionMarks[k];
            markRead[k].siblings <== markSiblings[k];
            markRead[k].root <== marksRoot;
            noneRead[k + 1] <== noneRead[k] * (1 - read[k]);
            marks[i].optionMark <== optionMarks[k];
        } else {
            st[i].isOpt === 0;
            marks[i].optionMark <== 0;
            unpriced[i] <== 0;
        }
        for (var f = 0; f < I_FIELDS(); f++) {
            if (f == I_SETTLE()) {
                instruments[i][f] <== st[i].settleOut;
            } else if (f == I_FUNDING()) {
                instruments[i][f] <== marks[i].fundingOut;
            } else {
                instruments[i][f] <== oldInstruments[i][f];
            }
        }
        mark[i] <== marks[i].mark;
        imLong[i] <== marks[i].imLong;
        imShort[i] <== marks[i].imShort;
        mmLong[i] <== marks[i].mmLong;
        mmShort[i] <== marks[i].mmShort;
    }

    // public-data section, most significant bit first
    for (var b = 0; b < 7; b++) bits[b] <== 0;
    bits[7] <== oracleUsed;
    component key = CompressedKeyBits();
    key.x <== oracleKeyX;
    key.y <== oracleKeyY;
    for (var b = 0; b < 256; b++) bits[8 + b] <== key.bits[b];
    for (var b = 0; b < 32; b++) {
        bits[264 + b] <== timeBits.out[31 - b];
        bits[296 + b] <== epochBits.out[31 - b];
    }
    var at = 328;
    for (var u = 0; u < U; u++) {
        for (var b = 0; b < 56; b++) bits[at + b] <== b < 6 ? 0 : priceHi[u].out[55 - b];
        at += 56;
    }
    for (var k = 0; k < O; k++) {
        for (var b = 0; b < 88; b++) bits[at + b] <== slices.bits[k][b];
        at += 88;
    }
    for (var i = 0; i < N; i++) {
        for (var b = 0; b < 24; b++) bits[at + b] <== rateBits[i].out[23 - b];
        at += 24;
    }
    for (var b = 0; b < 32; b++) bits[at + b] <== settleBits.out[31 - b];
    at += 32;
    for (var u = 0; u < U; u++) {
        for (var b = 0; b < 56; b++) bits[at + b] <== b < 6 ? 0 : settleHi[u].out[55 - b];
        at += 56;
    }
    // marksKey = Poseidon(message, marksRoot) when an option read its mark, else 0: the custodian refuses a batch whose
    // key its marks registry has not recorded, so the marks read are the ones a marking proof computed under this very
    // signed message (DERIVATIVES.md "Reading marks in the batch"). Strict bits: one encoding per key.
    component keyHash = Poseidon(2);
    keyHash.inputs <== [msg.out, marksRoot];
    signal marksKey <== (1 - noneRead[O]) * keyHash.out;
    component keyBits = Num2Bits_strict();
    keyBits.in <== marksKey;
    for (var b = 0; b < 256; b++) bits[at + b] <== b < 2 ? 0 : keyBits.out[255 - b];
}
