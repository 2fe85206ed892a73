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

