pragma circom 2.1.0;

/// Proves: chunks[c] is chunk c of the bit string `bits` (most significant bit first) read as a big-endian
/// integer: bits [c * chunkBits, min((c + 1) * chunkBits, nBits)). The batch's public inputs are its public data
/// cut this way (PUBLIC_INPUT_CHUNK_BITS, SPEC.md "Public input"), so with chunkBits <= 253 each chunk is below the
/// field's modulus and the map from bits to chunks is injective; the caller must constrain every bit to 0 or 1.
/// One linear constraint per chunk.
template PackPublicInputs(nBits, chunkBits) {
    var n = (nBits + chunkBits - 1) \ chunkBits;
    signal input bits[nBits];
    signal input chunks[n];
    for (var c = 0; c < n; c++) {
        var lo = c * chunkBits;
        var hi = lo + chunkBits < nBits ? lo + chunkBits : nBits;
        var acc = 0;
        for (var i = lo; i < hi; i++) acc += bits[i] * (1 << (hi - 1 - i));
        chunks[c] === acc;
    }
}
