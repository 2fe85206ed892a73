/**
 * Exactly computable series coefficients (Q64, floor): the Taylor series of 2 atanh(z)/z in w = z^2
 * and of exp(f). Their term counts are chosen in circuits/lib/fixed/SPEC.md (truncation error bounds).
 */
import { ONE } from "./fixedPoint.ts";

/** Terms of 2 atanh(z)/z = sum_{k<ATANH_TERMS} 2 w^k / (2k+1); |z| <= 0.1716, truncation < 2^-56. */
export const ATANH_TERMS = 10;
/** Terms of exp(f) = sum_{i<EXP_TERMS} f^i / i!; 0 <= f < ln2/64, truncation < 2^-67. */
export const EXP_TERMS = 8;

/** floor(2^65 / (2k+1)). */
export const ATANH_COEFFS: readonly bigint[] = Array.from({ length: ATANH_TERMS }, (_, k) => (2n * ONE) / BigInt(2 * k + 1));

function factorial(n: number): bigint {
  let r = 1n;
  for (let i = 2; i <= n; i++) r *= BigInt(i);
  return r;
}
/** floor(2^64 / i!). */
export const EXP_COEFFS: readonly bigint[] = Array.from({ length: EXP_TERMS }, (_, i) => ONE / factorial(i));
