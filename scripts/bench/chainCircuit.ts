/**
 * The synthetic baseline circuit of the benchmarks: `nConstraints` multiplication constraints in a chain,
 * one public input. Every wire is a full-size field element (no 0/1 values), the hardest case for an MSM.
 */
export function chainCircuit(nConstraints: number): string {
  return `pragma circom 2.1.0;

// Synthetic benchmark circuit: ${nConstraints} multiplication constraints.
template Chain(N) {
    signal input a;
    signal input b;
    signal output out;
    signal x[N];
    x[0] <== a * b;
    x[1] <== x[0] * b;
    for (var i = 2; i < N; i++) x[i] <== x[i - 1] * x[i - 2];
    out <== x[N - 1] * a;
}

component main { public [a] } = Chain(${nConstraints - 1});
`;
}
