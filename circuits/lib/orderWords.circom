pragma circom 2.1.0;

include "circomlib/circuits/bitify.circom";
include "../generated/protocol.circom";

/// Proves: every order field is range-checked to its width on its own (ORDER_FIELD_BITS; the reduce-only flag is a bit), w0/w1 are the packed words
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
    // first fill (TriggerFill; a spot Trade refuses any). Each field is range-checked on its own (type < 4,
    // price < 2^40): the signed word packs `type + 4 * price`, and a check of that sum alone would let the operator
    // present another (type, price) pair with the same sum (a stop as a take-profit a quarter tick lower, or a
    // "no trigger" type that cancels against a field-negative price), which TriggerFill, OrderTime and Trade read apart
    component trigType = Num2Bits(ORDER_FIELD_BITS(O_TRIGTYPE())); // inspect: range check only; w0 packs the field itself
    trigType.in <== o[O_TRIGTYPE()];
    component trigPrice = Num2Bits(ORDER_FIELD_BITS(O_TRIGPRICE())); // inspect: range check only; w0 packs the field itself
    trigPrice.in <== o[O_TRIGPRICE()];
    component pack = PackOrderWords();
    pack.o <== o;
    w0 <== pack.w[0];
    w1 <== pack.w[1];
}
