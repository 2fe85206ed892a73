pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "../generated/protocol.circom";

/// Proves: every order field is range-checked to its width (ORDER_FIELD_BITS; the reduce-only flag is a bit), w0/w1 are the packed words
/// that the order message Poseidon(DOMAIN_ORDER, w0, w1) signs (SPEC.md, "Signed messages"; the packing is
/// generated from messages.ts ORDER_WORD_FIELDS), and idBits are the order id's bits.
/// The account and market ids are range-checked where they are tied to the slot's ids.
template OrderWords() {
    signal input o[ORDER_FIELDS()];
    signal output w0;
    signal output w1;
    signal output idBits[ORDER_FIELD_BITS(O_ID())];
    component id = Num2Bits(ORDER_FIELD_BITS(O_ID()));
    id.in <== o[O_ID()];
    idBits <== id.out;
    o[O_SIDE()] * (o[O_SIDE()] - 1) === 0;
    o[O_TYPE()] * (o[O_TYPE()] - 1) === 0;
    o[O_REDUCE()] * (o[O_REDUCE()] - 1) === 0;
    component tif = Num2Bits(ORDER_FIELD_BITS(O_TIF())); // inspect: range check only; w0/w1 pack the field itself
    tif.in <== o[O_TIF()];
    component price = Num2Bits(ORDER_FIELD_BITS(O_PRICE())); // inspect: range check only; w0/w1 pack the field itself
    price.in <== o[O_PRICE()];
    component size = Num2Bits(ORDER_FIELD_BITS(O_SIZE())); // inspect: range check only; w0/w1 pack the field itself
    size.in <== o[O_SIZE()];
    component fee = Num2Bits(ORDER_FIELD_BITS(O_MAXFEE())); // inspect: range check only; w0/w1 pack the field itself
    fee.in <== o[O_MAXFEE()];
    component expiry = Num2Bits(ORDER_FIELD_BITS(O_EXPIRY())); // inspect: range check only; w0/w1 pack the field itself
    expiry.in <== o[O_EXPIRY()];
    // the trigger of a stop or take-profit order: signed, held and released by the sequencer, and proven at the order's
    // first fill (TriggerFill; a spot Trade refuses any); its two fields are range-checked as one value (type < 4,
    // price < 2^40) so the packing stays injective
    component trigger = Num2Bits(ORDER_FIELD_BITS(O_TRIGTYPE()) + ORDER_FIELD_BITS(O_TRIGPRICE())); // inspect: range check only; w0 packs the fields themselves
    trigger.in <== o[O_TRIGTYPE()] + o[O_TRIGPRICE()] * (1 << ORDER_FIELD_BITS(O_TRIGTYPE()));
    component pack = PackOrderWords();
    pack.o <== o;
    w0 <== pack.w[0];
    w1 <== pack.w[1];
}
