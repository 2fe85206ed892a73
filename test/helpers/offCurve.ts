/**
 * Off-curve Baby Jubjub "keys" for the dishonest-operator hunt (issue 11, finding 1).
 *
 * circomlib's EdDSAPoseidonVerifier multiplies the key A by the cofactor with three BabyDbl (Edwards
 * formulas, only meaningful on the curve), refuses when 4A has x = 0, and hands 8A to EscalarMulAny,
 * which treats a point with x = 0 as the identity. For an off-curve A' = (x', y) whose third doubling has
 * x = 0 but whose second has not, h * 8A' is the identity for every h, and S * B8 == R8 holds with
 * S = 0, R8 = (0, 1) for ANY message: the key signs everything. The doubling formulas give
 * 8A'.x = 0 <=> 4A'.y = 0 <=> y2^2 = a x2^2 for 2A' = (x2, y2); with t = x'^2 and Y = y^2 that is the
 * quartic (Y - a t)^2 (1 + d Y t)^2 = 4 a Y t (1 - d Y t)^2, solved here over the field. Both square
 * roots of a root t work, so the forged x' can be given the honest x's sign, and the compressed key
 * (y | signX << 255) the public data and the custodian see does not change.
 */
import { FIELD_MODULUS as P } from "../../sequencer/protocol/constants.ts";
import { isOnCurve, sqrtMod } from "../contracts/helpers.ts";

const A = 168700n;
const D = 168696n;
const HALF = (P - 1n) / 2n;

const mod = (v: bigint) => ((v % P) + P) % P;
function pow(b: bigint, e: bigint): bigint {
  let r = 1n;
  b = mod(b);
  for (; e > 0n; e >>= 1n, b = (b * b) % P) if (e & 1n) r = (r * b) % P;
  return r;
}
const inv = (v: bigint) => pow(v, P - 2n);
/** The sign bit of the compressed form: 1 iff x > (p-1)/2. */
export const signOf = (x: bigint) => (x > HALF ? 1 : 0);

/** circomlib's BabyAdd on arbitrary field points (null where a denominator is 0: the circuit has no witness). */
export function babyAdd([x1, y1]: readonly [bigint, bigint], [x2, y2]: readonly [bigint, bigint]): [bigint, bigint] | null {
  const beta = (x1 * y2) % P;
  const gamma = (y1 * x2) % P;
  const delta = mod((-A * x1 + y1) * (x2 + y2));
  const tau = (beta * gamma) % P;
  const dx = mod(1n + D * tau);
  const dy = mod(1n - D * tau);
  if (dx === 0n || dy === 0n) return null;
  return [mod((beta + gamma) * inv(dx)), mod((delta + A * beta - gamma) * inv(dy))];
}

/** True when the verifier's cofactor step turns (x, y) into a point EscalarMulAny takes for the identity (see the file comment). */
export function signsEverything(key: readonly [bigint, bigint]): boolean {
  const p2 = babyAdd(key, key);
  const p4 = p2 && babyAdd(p2, p2);
  const p8 = p4 && babyAdd(p4, p4);
  return !!p8 && p4![0] !== 0n && p8[0] === 0n;
}

// ---- polynomials over the field: coefficient arrays, index = degree, no trailing zeros
type Poly = bigint[];
const trim = (a: Poly): Poly => {
  const r = a.map(mod);
  while (r.length && r[r.length - 1] === 0n) r.pop();
  return r;
};
function mul(a: Poly, b: Poly): Poly {
  if (!a.length || !b.length) return [];
  const r: Poly = Array(a.length + b.length - 1).fill(0n);
  a.forEach((x, i) => b.forEach((y, j) => (r[i + j] = (r[i + j] + x * y) % P)));
  return trim(r);
}
const sub = (a: Poly, b: Poly): Poly => trim(Array.from({ length: Math.max(a.length, b.length) }, (_, i) => (a[i] ?? 0n) - (b[i] ?? 0n)));
function divmod(a: Poly, b: Poly): [Poly, Poly] {
  let r = trim(a);
  const q: Poly = Array(Math.max(r.length - b.length + 1, 0)).fill(0n);
  const lead = inv(b[b.length - 1]);
  while (r.length >= b.length) {
    const c = (r[r.length - 1] * lead) % P;
    const k = r.length - b.length;
    q[k] = c;
    r = sub(r, [...Array(k).fill(0n), ...b.map((v) => v * c)]);
  }
  return [trim(q), r];
}
const rem = (a: Poly, b: Poly) => divmod(a, b)[1];
function gcd(a: Poly, b: Poly): Poly {
  while (b.length) [a, b] = [b, rem(a, b)];
  const l = inv(a[a.length - 1]);
  return a.map((v) => (v * l) % P);
}
function powmod(base: Poly, e: bigint, m: Poly): Poly {
  let r: Poly = [1n];
  let b = rem(base, m);
  for (; e > 0n; e >>= 1n, b = rem(mul(b, b), m)) if (e & 1n) r = rem(mul(r, b), m);
  return r;
}

/** The distinct roots in the field of `f` (Cantor-Zassenhaus; deterministic choice of splitting shifts). */
function roots(f: Poly): bigint[] {
  const g = gcd(f, sub(powmod([0n, 1n], P, f), [0n, 1n])); // product of (x - r) over the roots
  const out: bigint[] = [];
  const split = (h: Poly, shift: bigint): void => {
    if (h.length <= 1) return;
    if (h.length === 2) {
      out.push(mod(-h[0] * inv(h[1])));
      return;
    }
    for (let delta = shift; ; delta++) {
      const k = gcd(h, sub(powmod([delta, 1n], HALF, h), [1n]));
      if (k.length > 1 && k.length < h.length) {
        split(k, delta + 1n);
        split(divmod(h, k)[0], delta + 1n);
        return;
      }
    }
  };
  split(g, 1n);
  return out;
}

/**
 * An x' with the given sign such that (x', y) is off the curve and signs every message (see the file
 * comment), or null when this y has none.
 */
export function forgingX(y: bigint, sign: 0 | 1): bigint | null {
  const Y = (y * y) % P;
  const lhs = mul(mul([Y, -A], [Y, -A]), mul([1n, D * Y], [1n, D * Y]));
  const rhs = mul([0n, 4n * A * Y], mul([1n, -D * Y], [1n, -D * Y]));
  for (const t of roots(sub(lhs, rhs))) {
    const r = sqrtMod(t);
    if (r === undefined || r === 0n) continue;
    for (const x of [r, P - r]) {
      if (signOf(x) === sign && !isOnCurve([x, y]) && signsEverything([x, y])) return x;
    }
  }
  return null;
}

/** A pseudo-random x' with the given sign, (x', y) off the curve (from `random`, a source of field elements). */
export function offCurveX(y: bigint, sign: 0 | 1, random: () => bigint): bigint {
  for (;;) {
    const x = random() % P;
    if (signOf(x) === sign && !isOnCurve([x, y])) return x;
  }
}
