pragma circom 2.1.0;

/// Proves: out = sum sel[j] * values[j] (a one-hot selection).
template Select(N) {
    signal input sel[N];
    signal input values[N];
    signal output out;
    signal t[N];
    var acc = 0;
    for (var j = 0; j < N; j++) {
        t[j] <== sel[j] * values[j];
        acc += t[j];
    }
    out <== acc;
}

/// Proves: out is the one-hot encoding of in: every out[k] is 0 or 1, exactly one is 1, and
/// in = sum k * out[k] (so in < n; an in >= n has no witness).
template OneHot(n) {
    signal input in;
    signal output out[n];
    var sum = 0;
    var value = 0;
    for (var k = 0; k < n; k++) {
        out[k] <-- in == k ? 1 : 0;
        out[k] * (out[k] - 1) === 0;
        sum += out[k];
        value += k * out[k];
    }
    sum === 1;
    value === in;
}
