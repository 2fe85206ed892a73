pragma circom 2.1.0;

include "../generated/protocol.circom";

/// Proves: isType is the one-hot encoding of txType over the slot's types (spot = 1: SPOT_TX_TYPE(k),
/// k < SPOT_TX_TYPES(); spot = 0: DERIV_TX_TYPE(k), k < DERIV_TX_TYPES()): every isType[k] is 0 or 1,
/// exactly one is 1, and txType = sum TYPE(k) * isType[k] (so a type the slot does not prove has no
/// witness). Position k of the one-hot is the type's position in constants.ts SPOT_TX_TYPES /
/// DERIV_TX_TYPES, not its value.
template TxTypeOneHot(spot) {
    var n = spot == 1 ? SPOT_TX_TYPES() : DERIV_TX_TYPES();
    signal input txType;
    signal output isType[n];
    var typeSum = 0;
    var typeValue = 0;
    for (var k = 0; k < n; k++) {
        // (a function call inside <-- breaks circom 2.2.3's wasm generator)
        var typeK = spot == 1 ? SPOT_TX_TYPE(k) : DERIV_TX_TYPE(k);
        isType[k] <-- txType == typeK ? 1 : 0;
        isType[k] * (isType[k] - 1) === 0;
        typeSum += isType[k];
        typeValue += typeK * isType[k];
    }
    typeSum === 1;
    typeValue === txType;
}
