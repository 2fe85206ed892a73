pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "../../generated/protocol.circom";
include "../../lib/fixed/fixed.circom";
include "../../lib/select.circom";

/// Proves: out = 1 exactly when an instrument entry is free for a registration: never registered (kind NONE;
/// then every field is 0), or settled (settlePrice != 0) with no account holding a position in it
/// (holders = 0); neverRegistered = 1 when kind is NONE. out is 0 or 1 for any inputs. The custodian hands out an id again only when the
/// latest accepted batch published it free (the oracle section's freeInstruments, Batch).
template FreeInstrument() {
    signal input kind;
    signal input settlePrice;
    signal input holders;
    signal output out;
    signal output neverRegistered;
    component none = IsZero();
    none.in <== kind;
    neverRegistered <== none.out;
    component unsettled = IsZero();
    unsettled.in <== settlePrice;
    component held = IsZero();
    held.in <== holders;
    // out = held AND (never registered OR settled), 0 or 1 whatever the inputs: it is a bit of the public data,
    // which the public inputs pack linearly (PackPublicInputs), so it must never be another value
    signal registeredUnsettled <== (1 - none.out) * unsettled.out;
    out <== held.out * (1 - registeredUnsettled);
}

/// REGISTER_INSTRUMENT (DERIVATIVES.md "REGISTER_INSTRUMENT", "Instrument registration"). Proves,
/// when isReg (0 or 1): the registered fields reg are a valid instrument (a kind other than NONE; an
/// underlying below U; lot size and tick value non-zero and within their widths; 0 < mmPpm <= imPpm
/// <= 10^6; an option (CALL, PUT) has a strike in [MIN_ORACLE_PRICE, 2^BITS_ORACLEPRICE) and an option
/// id (the last O of the N), any other kind strike 0; a perpetual has expiry 0, a dated instrument a
/// non-zero expiry and funding cap 0; fundingCapPpm <= 10^6 and the funding horizon
/// fundingCapPpm * lotSizeE6 * MAX_ORACLE_PRICE < FUNDING_CAP_BOUND), the selected entry sel of the
/// table tableIn is free (FreeInstrument: never registered, or settled with no holder), and tableOut is
/// tableIn with that entry replaced: the registered fields are reg, the funding index and the settle price
/// 0, the holders kept (0: free), the generation one more than before if the id was registered before
/// (so the market id its orders sign moves on: DERIVATIVES.md "Reusing an id"). tableOut = tableIn
/// otherwise.
/// The same rule is the custodian's and the witness builder's (registrationRule.test.ts).
template RegisterInstrument(N, O, U) {
    signal input isReg;
    signal input reg[I_SPEC_FIELDS()];
    signal input sel[N];
    signal input tableIn[N][I_FIELDS()];
    signal output tableOut[N][I_FIELDS()];
    component regKind = OneHot(5);  // inspect: the kind's one-hot flags; only some kinds have rules of their own
    regKind.in <== reg[I_KIND()];
    isReg * regKind.out[KIND_NONE()] === 0;
    signal regOpt <== regKind.out[KIND_CALL()] + regKind.out[KIND_PUT()];
    signal regPerp <== regKind.out[KIND_PERPETUAL()];
    var optionId = 0;
    for (var j = N - O; j < N; j++) optionId += sel[j];
    signal regOption <== isReg * regOpt;
    signal regOther <== isReg - regOption;
    signal regPerpetual <== isReg * regPerp;
    signal regDated <== isReg - regPerpetual;
    regOption * (1 - optionId) === 0;
    component regUnderlyingBits = Num2Bits(BITS_UNDERLYING());  // inspect: a range check; its bits are not used
    regUnderlyingBits.in <== reg[I_UNDERLYING()];
    component regImBits = Num2Bits(BITS_PPM());  // inspect: a range check; its bits are not used
    regImBits.in <== reg[I_IM()];
    component regMmBits = Num2Bits(BITS_PPM());  // inspect: a range check; its bits are not used
    regMmBits.in <== reg[I_MM()];
    component regCapBits = Num2Bits(BITS_PPM());  // inspect: a range check; its bits are not used
    regCapBits.in <== reg[I_CAP()];
    component regUnderlying = LessThan(BITS_UNDERLYING());
    regUnderlying.in[0] <== reg[I_UNDERLYING()];
    regUnderlying.in[1] <== U;
    isReg * (1 - regUnderlying.out) === 0;
    component regLot = Num2Bits(BITS_LOTSIZE());  // inspect: a range check; its bits are not used
    regLot.in <== reg[I_LOT()];
    component regTick = Num2Bits(BITS_TICKVALUE());  // inspect: a range check; its bits are not used
    regTick.in <== reg[I_TICK()];
    component lotZero = IsZero();
    lotZero.in <== reg[I_LOT()];
    component tickZero = IsZero();
    tickZero.in <== reg[I_TICK()];
    component mmZero = IsZero();
    mmZero.in <== reg[I_MM()];
    isReg * (lotZero.out + tickZero.out + mmZero.out) === 0;
    component imAboveMm = Num2Bits(BITS_PPM());  // inspect: a range check; its bits are not used
    imAboveMm.in <== isReg * (reg[I_IM()] - reg[I_MM()]);
    component imAtMost = Num2Bits(BITS_PPM());  // inspect: a range check; its bits are not used
    imAtMost.in <== isReg * (PPM() - reg[I_IM()]);
    component strikeHi = Num2Bits(BITS_ORACLEPRICE());  // inspect: a range check; its bits are not used
    strikeHi.in <== reg[I_STRIKE()];
    component strikeLo = Num2Bits(BITS_ORACLEPRICE());  // inspect: a range check; its bits are not used
    strikeLo.in <== reg[I_STRIKE()] - regOption * MIN_ORACLE_PRICE();
    regOther * reg[I_STRIKE()] === 0;
    component regExpiry = Num2Bits(BITS_TIME());  // inspect: a range check; its bits are not used
    regExpiry.in <== reg[I_EXPIRY()];
    component expiryZero = IsZero();
    expiryZero.in <== reg[I_EXPIRY()];
    regPerpetual * (1 - expiryZero.out) === 0;
    regDated * expiryZero.out === 0;
    component capAtMost = Num2Bits(BITS_PPM());  // inspect: a range check; its bits are not used
    capAtMost.in <== isReg * (PPM() - reg[I_CAP()]);
    regDated * reg[I_CAP()] === 0;
    // Funding horizon (DERIVATIVES.md): fundingCapPpm * lotSizeE6 * MAX_ORACLE_PRICE < FUNDING_CAP_BOUND,
    // so a tick moves the index by less than 2^43 in magnitude at any signed rate and oracle price, and
    // the 64-bit signed index absorbs at least 2^20 ticks: every tick of the instrument is provable.
    signal regCapLot <== reg[I_CAP()] * reg[I_LOT()];
    component fundingHorizon = Num2Bits(fxBitLength(FUNDING_CAP_BOUND()));  // inspect: a range check; its bits are not used
    fundingHorizon.in <== isReg * (FUNDING_CAP_BOUND() - 1 - regCapLot * MAX_ORACLE_PRICE());
    // the selected entry's kind, settle price and holders: what FreeInstrument judges
    var JUDGED[3] = [I_KIND(), I_SETTLE(), I_HOLDERS()];
    component old[3];
    for (var k = 0; k < 3; k++) {
        old[k] = Select(N);
        old[k].sel <== sel;
        for (var j = 0; j < N; j++) old[k].values[j] <== tableIn[j][JUDGED[k]];
    }
    component free = FreeInstrument();
    free.kind <== old[0].out;
    free.settlePrice <== old[1].out;
    free.holders <== old[2].out;
    isReg * (1 - free.out) === 0;
    signal regSel[N];
    for (var j = 0; j < N; j++) {
        regSel[j] <== isReg * sel[j];
        for (var f = 0; f < I_FIELDS(); f++) {
            if (f < I_SPEC_FIELDS()) {
                tableOut[j][f] <== tableIn[j][f] + regSel[j] * (reg[f] - tableIn[j][f]);
            } else if (f == I_FUNDING() || f == I_SETTLE()) {
                tableOut[j][f] <== tableIn[j][f] - regSel[j] * tableIn[j][f];
            } else if (f == I_GENERATION()) {
                tableOut[j][f] <== tableIn[j][f] + regSel[j] * (1 - free.neverRegistered);
            } else {
                tableOut[j][f] <== tableIn[j][f];
            }
        }
    }

}
