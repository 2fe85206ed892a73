/**
 * Off-curve "keys" an operator could put in a witness when the circuit does not prove that a key is on
 * Baby Jubjub (issue 11, finding 1). The public data carries a key compressed as `y | signX << 255`, so
 * any x with the honest key's sign gives the same record.
 *
 * circomlib's EdDSAPoseidonVerifier computes 8A with three Edwards doublings (BabyDbl), refuses
 * x(4A) = 0, and hands 8A to EscalarMulAny, which treats any point with x = 0 as the identity: then
 * `h * 8A` is the identity for every h, and `S * B8 == R8` is all a signature has to satisfy
 * (FORGED_SIGNATURE). For A' = (x', y) off the curve the doubling formulas still compute something:
 * with 2A' = (u, v) and 4A' = (X, Y),
 *   Y = (v^2 - a u^2) / (1 - d u^2 v^2) = 0   gives   8A' = (2XY / (...), ...) = (0, -a X^2),
 * and v^2 = a u^2 is, in t = x'^2, the quartic
 *   (y^2 - a t)^2 (1 + d y^2 t)^2 - 4 a y^2 t (1 - d y^2 t)^2 = 0.
 * A root t that is a square gives x' = +-sqrt(t), one of which has the honest key's sign. About 60% of
 * honest keys have one (forgeableX's test counts them).
 */
import type { PublicKey, Signature } from "../../sequencer/crypto/babyjub.ts";
import { FIELD_MODULUS as P } from "../../sequencer/protocol/constants.ts";

const A = 168700n;
const D = 168696n;
const HALF = (P - 1n) / 2n;
/** circomlib's base point B8 (the generator of the prime-order subgroup its EdDSA uses). */
export const B8: PublicKey = [
  5299619240641551281634865583518297030282874472190772894086521144482721001553n,
  16950150798460657717958625567821834550301663161624707787222815936182638968203n,
];
/** S = 1, R8 = 1 * B8: satisfies S * B8 == R8 + h * 8A for every message when h * 8A is taken as the identity. */
export const FORGED_SIGNATURE: Signature = { r8x: B8[0], r8y: B8[1], s: 1n };

const mod = (x: bigint) => ((x % P) + P) % P;
function pow(b: bigint, e: bigint): bigint {
  let r = 1n;
  b = mod(b);
  for (; e > 0n; e >>= 1n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
  }
  return r;
}
const inv = (x: bigint) => pow(x, P - 2n);
const isSquare = (t: bigint) => pow(t, HALF) === 1n;

/** Whether (x, y) satisfies a x^2 + y^2 = 1 + d x^2 y^2. */
export function onCurve([x, y]: PublicKey): boolean {
  const xx = (x * x) % P;
  const yy = (y * y) % P;
  return mod(A * xx + yy - 1n - D * xx * yy) === 0n;
}

/** BabyDbl as the circuit computes it (the Edwards formulas, valid on the curve only). */
export function edwardsDouble([x, y]: PublicKey): PublicKey {
  const xy = (x * y) % P;
  const t = (xy * xy) % P;
  return [mod(2n * xy * inv(1n + D * t)), mod((y * y - A * x * x) * inv(1n - D * t))];
}

/** The point with x of the same sign (x > (p-1)/2 or not) as `like`'s. */
function withSign(x: bigint, like: bigint): bigint {
  return x > HALF === like > HALF ? x : mod(-x);
}

// ---- polynomials over F_p (coefficients lowest degree first), for the quartic's roots
type Poly = bigint[];
const trim = (a: Poly): Poly => {
  const r = a.map(mod);
  while (r.length && r[r.length - 1] === 0n) r.pop();
  return r;
};
const mul = (a: Poly, b: Poly): Poly => {
  const r: Poly = Array(a.length + b.length - 1).fill(0n);
  a.forEach((x, i) => b.forEach((y, j) => (r[i + j] = (r[i + j] + x * y) % P)));
  return trim(r);
};
const sub = (a: Poly, b: Poly): Poly => trim(Array.from({ length: Math.max(a.length, b.length) }, (_, i) => (a[i] ?? 0n) - (b[i] ?? 0n)));
function divmod(a: Poly, b: Poly): [Poly, Poly] {
  let r = trim(a);
  const q: Poly = Array(Math.max(0, r.length - b.length + 1)).fill(0n);
  const lead = inv(b[b.length - 1]);
  while (r.length >= b.length) {
    const c = (r[r.length - 1] * lead) % P;
    const s = r.length - b.length;
    q[s] = c;
    r = trim(r.map((x, i) => (i >= s ? x - c * b[i - s] : x)));
  }
  return [trim(q), r];
}
function gcd(a: Poly, b: Poly): Poly {
  let [x, y] = [trim(a), trim(b)];
  while (y.length) [x, y] = [y, divmod(x, y)[1]];
  const lead = inv(x[x.length - 1]);
  return x.map((c) => (c * lead) % P);
}
function powMod(base: Poly, e: bigint, f: Poly): Poly {
  let r: Poly = [1n];
  let b = divmod(base, f)[1];
  for (; e > 0n; e >>= 1n) {
    if (e & 1n) r = divmod(mul(r, b), f)[1];
    b = divmod(mul(b, b), f)[1];
  }
  return r;
}
/** The roots in F_p of f (gcd with t^p - t, then Cantor-Zassenhaus splitting). */
function roots(f: Poly): bigint[] {
  const out: bigint[] = [];
  const split = (h: Poly): void => {
    if (h.length <= 1) return;
    if (h.length === 2) {
      out.push(mod(-h[0] * inv(h[1])));
      return;
    }
    for (let r = 1n; ; r++) {
      const k = gcd(h, sub(powMod([r, 1n], HALF, h), [1n]));
      if (k.length > 1 && k.length < h.length) {
        split(k);
        split(divmod(h, k)[0]);
        return;
      }
    }
  };
  split(gcd(f, sub(powMod([0n, 1n], P, f), [0n, 1n])));
  return out;
}
function sqrt(n: bigint): bigint {
  // Tonelli-Shanks
  let q = P - 1n;
  let s = 0n;
  while (q % 2n === 0n) [q, s] = [q / 2n, s + 1n];
  let z = 2n;
  while (isSquare(z)) z++;
  let [m, c, t, r] = [s, pow(z, q), pow(n, q), pow(n, (q + 1n) / 2n)];
  while (t !== 1n) {
    let i = 0n;
    for (let tt = t; tt !== 1n; tt = (tt * tt) % P) i++;
    const b = pow(c, 1n << (m - i - 1n));
    [m, c, t, r] = [i, (b * b) % P, (t * b * b) % P, (r * b) % P];
  }
  return r;
}

/**
 * An x' with the sign of `key`'s x such that, for A' = (x', key.y), the circuit's x(4A') != 0 and
 * x(8A') = 0 (see the file comment); null when the key's y has none.
 */
export function forgeableX(key: PublicKey): bigint | null {
  const c = (key[1] * key[1]) % P;
  const quartic = sub(
    mul(mul([c, -A], [c, -A]), mul([1n, D * c], [1n, D * c])),
    mul([0n, 4n * A * c], mul([1n, -D * c], [1n, -D * c])),
  );
  for (const t of roots(quartic)) {
    if (t === 0n || !isSquare(t)) continue;
    const x = withSign(sqrt(t), key[0]);
    const four = edwardsDouble(edwardsDouble([x, key[1]]));
    if (four[0] !== 0n && edwardsDouble(four)[0] === 0n) return x;
  }
  return null;
}

/** An off-curve x' with the sign of `key`'s x (no forgery: it only changes the committed key). */
export function offCurveX(key: PublicKey): bigint {
  for (let delta = 1n; ; delta++) {
    const x = withSign(mod(key[0] + delta), key[0]);
    if (!onCurve([x, key[1]])) return x;
  }
}

/**
 * A point of order 8 (8T is the identity, 4T = (0, -1)): 2T has order 4 so y(2T) = 0, i.e. y^2 = a x^2,
 * and on the curve 2a x^2 = 1 + a d x^4.
 */
export function pointOfOrder8(): PublicKey {
  const root = sqrt(mod(A * A - A * D));
  for (const u of [mod((A + root) * inv(A * D)), mod((A - root) * inv(A * D))]) {
    if (!isSquare(u)) continue;
    const x = sqrt(u);
    return [x, (sqrt(A) * x) % P];
  }
  throw new Error("no point of order 8");
}
