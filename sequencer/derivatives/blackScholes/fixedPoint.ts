/**
 * Q64 fixed-point primitives with the exact integer semantics of circuits/lib/fixed/fixed.circom.
 * A Q64 number x stands for x / 2^64. Every rounding is a floor (towards -infinity), also for
 * negative values; see circuits/lib/fixed/SPEC.md.
 */

export const F = 64n;
export const ONE = 1n << F;

/** floor(a / b) for b > 0 (BigInt `/` truncates towards zero). */
export function floorDiv(a: bigint, b: bigint): bigint {
  if (b <= 0n) throw new RangeError("floorDiv: divisor must be positive");
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

/** floor(a * b / 2^64): the FixedMul of the circuit. */
export function mulQ(a: bigint, b: bigint): bigint {
  return (a * b) >> F; // >> on BigInt is an arithmetic shift: floor for negatives too
}

/** floor(a * 2^64 / b), b > 0: the FixedDiv of the circuit. */
export function divQ(a: bigint, b: bigint): bigint {
  return floorDiv(a << F, b);
}

/** floor(sqrt(n)) for n >= 0. */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError("isqrt: negative");
  if (n < 2n) return n;
  let x = 1n << BigInt((n.toString(2).length + 1) >> 1); // >= sqrt(n)
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** Throws unless lo <= v < hi: the input domain checks the circuit makes. */
export function requireRange(name: string, v: bigint, lo: bigint, hi: bigint): void {
  if (v < lo || v >= hi) throw new RangeError(`${name} = ${v} outside [${lo}, ${hi})`);
}

/** Q64 -> float64 (for reporting and the off-chain Greeks only). */
export function toFloat(x: bigint): number {
  const ip = x >> F;
  return Number(ip) + Number(x - (ip << F)) / 2 ** 64;
}
