pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "../generated/protocol.circom";
include "../lib/fixed/fixed.circom";

/// Proves that the oracle's vol table (DERIVATIVES.md "Vol slices") is well formed, and gives each slice's signed
/// word and public-data bits. A slice is empty (level 0, and then every field 0) or in use: underlying < U,
/// expiry in [1, 2^32), level in [2^13, 2^23), slope in [-2^23, 2^23). The slices in use come first, strictly
/// increasing by (underlying, expiry), so no (underlying, expiry) has two slices: an option's slice is a
/// function of the signed table, never the operator's choice. Without an update (used = 0) every slice is empty.
/// word = underlying << 80 | expiry << 48 | level << 24 | (slope + 2^23), whose 88 bits, most significant
/// first, are the slice's 11 bytes of public data (volSlices.ts#sliceWord).
template VolSlices(E, U) {
    signal input used;
    signal input underlying[E];
    signal input expiry[E];
    signal input level[E];
    signal input slope[E];
    signal output inUse[E];
    signal output word[E];
    signal output bits[E][88];

    component uBits[E];
    component expBits[E];
    component levelHi[E];
    component levelLo[E];  // inspect: a range check; its bits are not used
    component slopeBits[E];
    component empty[E];
    component noExpiry[E];
    component ordered[E];
    signal uIn[E][U];
    for (var e = 0; e < E; e++) {
        (1 - used) * level[e] === 0;
        empty[e] = IsZero();
        empty[e].in <== level[e];
        inUse[e] <== 1 - empty[e].out;
        empty[e].out * underlying[e] === 0;
        empty[e].out * expiry[e] === 0;
        empty[e].out * slope[e] === 0;

        // underlying in {0, .., U - 1} (U <= 4: two bits)
        uBits[e] = Num2Bits(2);
        uBits[e].in <== underlying[e];
        uIn[e][0] <== underlying[e];
        for (var u = 1; u < U; u++) uIn[e][u] <== uIn[e][u - 1] * (underlying[e] - u);
        if (U < 4) uIn[e][U - 1] === 0;
        expBits[e] = Num2Bits(BITS_TIME());
        expBits[e].in <== expiry[e];
        noExpiry[e] = IsZero();
        noExpiry[e].in <== expiry[e];
        inUse[e] * noExpiry[e].out === 0;
        levelHi[e] = Num2Bits(BITS_VOLPPM());
        levelHi[e].in <== level[e];
        levelLo[e] = Num2Bits(BITS_VOLPPM());
        levelLo[e].in <== level[e] - inUse[e] * MIN_VOL_PPM();
        slopeBits[e] = Num2Bits(BITS_VOLSLOPE());
        slopeBits[e].in <== slope[e] + (1 << (BITS_VOLSLOPE() - 1));

        // in use first, then strictly increasing keys
        if (e > 0) {
            inUse[e] * (1 - inUse[e - 1]) === 0;
            ordered[e] = LessThan(BITS_TIME() + 2);
            ordered[e].in[0] <== underlying[e - 1] * (1 << BITS_TIME()) + expiry[e - 1];
            ordered[e].in[1] <== underlying[e] * (1 << BITS_TIME()) + expiry[e];
            inUse[e] * (1 - ordered[e].out) === 0;
        }

        word[e] <== underlying[e] * (1 << 80) + expiry[e] * (1 << 48) + level[e] * (1 << 24) + slope[e] + (1 << (BITS_VOLSLOPE() - 1));
        for (var b = 0; b < 8; b++) bits[e][b] <== b < 6 ? 0 : uBits[e].out[7 - b];
        for (var b = 0; b < 32; b++) bits[e][8 + b] <== expBits[e].out[31 - b];
        bits[e][40] <== 0;
        for (var b = 0; b < 23; b++) bits[e][41 + b] <== levelHi[e].out[22 - b];
        for (var b = 0; b < 24; b++) bits[e][64 + b] <== slopeBits[e].out[23 - b];
    }
}

/// Proves: match[e] = 1 exactly when slice e is in use and names (optUnderlying, optExpiry), and found = the number of
/// such slices (0 or 1 over VolSlices' table, whose order rule leaves at most one per (underlying, expiry)). Requires
/// optExpiry and every expiry < 2^32 (registration's and VolSlices' range checks), so the packed pair is injective.
template SliceMatch(E) {
    signal input underlying[E];
    signal input expiry[E];
    signal input inUse[E];
    signal input optUnderlying;
    signal input optExpiry;
    signal output match[E];
    signal output found;
    component same[E];
    var matches = 0;
    for (var e = 0; e < E; e++) {
        same[e] = IsEqual();
        same[e].in[0] <== underlying[e] * (1 << BITS_TIME()) + expiry[e];
        same[e].in[1] <== optUnderlying * (1 << BITS_TIME()) + optExpiry;
        match[e] <== inUse[e] * same[e].out;
        matches += match[e];
    }
    found <== matches;
}

/// Proves, for one option id: vol is the vol its slice gives it (volSurface.ts#sliceVol),
///   vol = clamp(level + floor(slope * (strike - spot) / spot), 2^13, 2^23 - 1),
/// where its slice is the slice in use naming the option's underlying and expiry (found here, not a hint: the
/// table is VolSlices', so at most one matches), when `need` (an unsettled option before its expiry, priced by
/// Black-Scholes with time left) and the table has its slice; otherwise vol = 2^13, the floor (an option listed
/// after the update was signed, until an update prices it; the sequencer refuses updates that miss a live option).
/// found = 1 when the table has the option's slice (0 or 1: the table's order rule leaves at most one): the oracle
/// step refuses a trade on an option it needs and lacks (OracleStep's `unpriced`).
template SliceVol(E) {
    signal input need;
    signal input underlying[E];
    signal input expiry[E];
    signal input level[E];
    signal input slope[E];
    signal input inUse[E];
    signal input optUnderlying;
    signal input optExpiry;
    signal input spot;      // in [2^16, 2^50) when need (an oracle price)
    signal input strike;    // in [2^16, 2^50) when need (a registered option's)
    signal output vol;
    signal output found;

    component slice = SliceMatch(E);
    slice.underlying <== underlying;
    slice.expiry <== expiry;
    slice.inUse <== inUse;
    slice.optUnderlying <== optUnderlying;
    slice.optExpiry <== optExpiry;
    signal levelTerm[E];
    signal slopeTerm[E];
    var lv = 0;
    var sl = 0;
    for (var e = 0; e < E; e++) {
        levelTerm[e] <== slice.match[e] * level[e];
        slopeTerm[e] <== slice.match[e] * slope[e];
        lv += levelTerm[e];
        sl += slopeTerm[e];
    }
    found <== slice.found;
    signal use <== need * found;

    // without use: spot = strike = 2^16 and level = slope = 0, so the raw vol is 0, clamped to 2^13
    signal spotV <== MIN_ORACLE_PRICE() + use * (spot - MIN_ORACLE_PRICE());
    signal strikeV <== MIN_ORACLE_PRICE() + use * (strike - MIN_ORACLE_PRICE());
    signal slopeV <== use * sl;
    signal levelV <== use * lv;
    // |slope| < 2^23, |strike - spot| < 2^50, spot >= 2^16: |q| < 2^57
    component skew = DivFloor(58, BITS_ORACLEPRICE(), 1);
    skew.num <== slopeV * (strikeV - spotV);
    skew.den <== spotV;
    signal raw <== levelV + skew.q;
    // clamp: |raw| < 2^58, so raw + 2^58 is in [0, 2^59)
    component below = LessThan(59);
    below.in[0] <== raw + (1 << 58);
    below.in[1] <== MIN_VOL_PPM() + (1 << 58);
    component above = LessThan(59);
    above.in[0] <== (1 << BITS_VOLPPM()) - 1 + (1 << 58);
    above.in[1] <== raw + (1 << 58);
    signal keep <== (1 - below.out - above.out) * raw;
    vol <== keep + below.out * MIN_VOL_PPM() + above.out * ((1 << BITS_VOLPPM()) - 1);
}
