/**
 * Black-Scholes in Q64 fixed point: the exact integer algorithm that circuits/lib/fixed/blackScholes.circom
 * proves. Same steps, same floors, bit-exact: priceOption(...) equals the circuit's `price` output.
 * Format, domains and error analysis: circuits/lib/fixed/SPEC.md.
 *
 * Units
 *   spot, strike   integers, 1e-8 quote units per unit of underlying (PRICE_DECIMALS = 8)
 *   volPpm         implied vol sigma in parts per million (250000 = 25%)
 *   timeSeconds    time to expiry in seconds; a year is YEAR_SECONDS (365 days)
 *   ratePpm        continuously compounded rate r in ppm per year, signed
 *   result         option value * 2^64, in 1e-8 quote units (i.e. Q64 of the spot's unit)
 */
import { ATANH_COEFFS, EXP_COEFFS } from "./series.ts";
import { EXP2_64TH, LN2, LN2_64TH, NORM_P, NORM_TAIL_COEFFS } from "./constants.ts";
import { F, ONE, divQ, floorDiv, isqrt, mulQ, requireRange, toFloat } from "./fixedPoint.ts";
import { PPM } from "../../protocol/constants.ts";

export const PRICE_DECIMALS = 8;
export const YEAR_SECONDS = 31_536_000n;

/** Input domains (each is one or two range checks in the circuit). */
export const Domain = {
  /** spot and strike in [2^16, 2^50): [6.6e-4, 1.1e7] quote units. */
  priceMin: 1n << 16n,
  priceBits: 50,
  /** volPpm in [2^13, 2^23): sigma in [0.82%, 839%]. */
  volMin: 1n << 13n,
  volBits: 23,
  /** timeSeconds in [0, 2^26): up to 776 days. */
  timeBits: 26,
  /** ratePpm in [-2^16, 2^19 - 2^16): r in [-6.55%, 45.9%]. */
  rateOffset: 1n << 16n,
  rateBits: 19,
} as const;

/** |d| >= NORM_CUTOFF (Q64 of 9): N(d) is taken as exactly 0 or 1 (true tail < 1.2e-19). */
export const NORM_CUTOFF = 9n << F;

export interface OptionInput {
  isCall: boolean;
  spot: bigint;
  strike: bigint;
  volPpm: bigint;
  timeSeconds: bigint;
  ratePpm: bigint;
}

/** ln(S/K) = j ln2 + 2 atanh(z), z = (A - B)/(A + B), A = S 2^u, B = K 2^v, j = v - u. */
export interface LnTrace {
  u: number;
  v: number;
  z: bigint;
  x: bigint;
}

/**
 * The unique reduction: u, v in [0, 64) with u * v = 0 such that 70/99 <= A/B < 140/99
 * (exact integer tests 99A - 70B >= 0 and 140B - 99A > 0), so |z| <= 29/169 < 0.1716.
 */
export function lnReduction(spot: bigint, strike: bigint): { u: number; v: number } {
  let j = spot.toString(2).length - strike.toString(2).length;
  const ab = (jj: number): [bigint, bigint] =>
    jj >= 0 ? [spot, strike << BigInt(jj)] : [spot << BigInt(-jj), strike];
  for (;;) {
    const [a, b] = ab(j);
    if (99n * a < 70n * b) j -= 1;
    else if (99n * a >= 140n * b) j += 1;
    else break;
  }
  return j >= 0 ? { u: 0, v: j } : { u: -j, v: 0 };
}

/** ln(S/K) in Q64 (LnRatio of the circuit). */
export function lnRatio(spot: bigint, strike: bigint): LnTrace {
  const { u, v } = lnReduction(spot, strike);
  const a = spot << BigInt(u);
  const b = strike << BigInt(v);
  const z = floorDiv((a - b) << F, a + b);
  const w = mulQ(z, z);
  let p = ATANH_COEFFS[ATANH_COEFFS.length - 1]!;
  for (let k = ATANH_COEFFS.length - 2; k >= 0; k--) p = ATANH_COEFFS[k]! + mulQ(p, w);
  const x = BigInt(v - u) * LN2 + mulQ(z, p);
  return { u, v, z, x };
}

/** Range reduction of exp: y = k * LN2_64TH + f, 0 <= f < LN2_64TH (k = floor(y / LN2_64TH)). */
export const EXP_K_MIN = -4032n; // k = 64 m + j with m >= -63: y >= -43.67
export const EXP_K_MAX = 64n; // exclusive: y < ln 2

/** exp(y) in Q64 for y in [-4032 * LN2_64TH, 64 * LN2_64TH) (Exp of the circuit). */
export function expQ(y: bigint): bigint {
  const k = floorDiv(y, LN2_64TH);
  requireRange("exp k", k, EXP_K_MIN, EXP_K_MAX);
  const f = y - k * LN2_64TH;
  let e = EXP_COEFFS[EXP_COEFFS.length - 1]!;
  for (let i = EXP_COEFFS.length - 2; i >= 0; i--) e = EXP_COEFFS[i]! + mulQ(e, f);
  const uk = k - EXP_K_MIN; // 12 bits: j = low 6 bits, hi = high 6 bits = m + 63
  const j = Number(uk & 63n);
  const hi = uk >> 6n;
  const p = mulQ(e, EXP2_64TH[j]!);
  return (p << hi) >> 63n;
}

/** N(d) and N(-d) = 2^64 - N(d) in Q64 (NormCdf of the circuit). */
export function normCdf(d: bigint): { pos: bigint; neg: bigint } {
  const a = d < 0n ? -d : d;
  let tail = 0n;
  if (a < NORM_CUTOFF) {
    const h = (a * a) >> (F + 1n); // a^2 / 2
    const e = expQ(-h);
    const t = floorDiv(ONE << F, ONE + mulQ(NORM_P, a));
    let g = NORM_TAIL_COEFFS[NORM_TAIL_COEFFS.length - 1]!;
    for (let k = NORM_TAIL_COEFFS.length - 2; k >= 0; k--) g = NORM_TAIL_COEFFS[k]! + mulQ(g, t);
    tail = mulQ(e, g);
  }
  const pos = d >= 0n ? ONE - tail : tail;
  return { pos, neg: ONE - pos };
}

export interface BsTrace {
  /** ln(S/K), Q64. */
  x: bigint;
  /** sigma^2 T * 2^128 (floor), sigma^2 T / 2 and sigma sqrt(T) in Q64. */
  q: bigint;
  halfVar: bigint;
  volSqrtT: bigint;
  /** r T and exp(-r T), Q64. */
  rt: bigint;
  discount: bigint;
  d1: bigint;
  d2: bigint;
  n1: { pos: bigint; neg: bigint };
  n2: { pos: bigint; neg: bigint };
  /** Value before the clamp at 0 (Q64, 1e-8 quote units). */
  raw: bigint;
  price: bigint;
}

export function checkDomain(o: OptionInput): void {
  const maxP = 1n << BigInt(Domain.priceBits);
  requireRange("spot", o.spot, Domain.priceMin, maxP);
  requireRange("strike", o.strike, Domain.priceMin, maxP);
  requireRange("volPpm", o.volPpm, Domain.volMin, 1n << BigInt(Domain.volBits));
  requireRange("timeSeconds", o.timeSeconds, 0n, 1n << BigInt(Domain.timeBits));
  requireRange("ratePpm", o.ratePpm, -Domain.rateOffset, (1n << BigInt(Domain.rateBits)) - Domain.rateOffset);
}

/** Every intermediate of the fixed-point pricing (the circuit's witness, in the same order). */
export function blackScholesTrace(o: OptionInput): BsTrace {
  checkDomain(o);
  const { spot: s, strike: k, volPpm, timeSeconds: t, ratePpm } = o;
  const x = lnRatio(s, k).x;
  // sigma^2 T = vol^2 t / (1e12 Y); q = floor(sigma^2 T * 2^128); sqrt(q) = sigma sqrt(T) in Q64.
  const q = floorDiv(volPpm * volPpm * t << (2n * F), PPM * PPM * YEAR_SECONDS);
  const halfVar = q >> (F + 1n);
  const volSqrtT = isqrt(q);
  const rt = floorDiv(ratePpm * t << F, PPM * YEAR_SECONDS);
  const discount = expQ(-rt);
  const zeroT = t === 0n;
  const den = zeroT ? ONE : volSqrtT;
  const d1 = divQ(x + rt + halfVar, den);
  const d2 = d1 - volSqrtT;
  const n1 = normCdf(d1);
  const n2 = normCdf(d2);
  const a1 = o.isCall ? n1.pos : n1.neg;
  const a2 = o.isCall ? n2.pos : n2.neg;
  const sign = o.isCall ? 1n : -1n;
  const bs = sign * (s * a1 - k * mulQ(discount, a2));
  const raw = zeroT ? sign * (s - k) * ONE : bs;
  const price = raw > 0n ? raw : 0n;
  return { x, q, halfVar, volSqrtT, rt, discount, d1, d2, n1, n2, raw, price };
}

/** Option value * 2^64 in 1e-8 quote units, bit-exact with the circuit's BlackScholes().price. */
export function priceOption(o: OptionInput): bigint {
  return blackScholesTrace(o).price;
}

/** Option value in quote units as float64 (reporting only). */
export function priceToQuote(price: bigint): number {
  return toFloat(price) / 10 ** PRICE_DECIMALS;
}

/**
 * Greeks per unit of underlying, float64, derived from the fixed-point d1, d2, N(d1), N(d2), exp(-rT)
 * (off-chain only, not proven). Units: quote units (not 1e-8) and years.
 *   delta  dV/dS, dimensionless (call in [0, 1], put in [-1, 0])
 *   gamma  d2V/dS2, per quote unit of spot
 *   vega   dV/dsigma, quote units per 1.00 of vol (divide by 100 for one vol point)
 *   theta  dV/dt of calendar time, quote units per year (negative: time decay; divide by 365 per day)
 * At T = 0: delta is the intrinsic step (1/2 at the money), gamma = vega = theta = 0.
 * `quantity` (signed, in units of underlying) scales all four: the Greeks of a position.
 */
export interface Greeks {
  delta: number;
  gamma: number;
  vega: number;
  theta: number;
}

export function greeks(o: OptionInput, quantity = 1): Greeks {
  const tr = blackScholesTrace(o);
  const scale = 10 ** PRICE_DECIMALS;
  const s = Number(o.spot) / scale;
  const k = Number(o.strike) / scale;
  const r = Number(o.ratePpm) / 1e6;
  if (o.timeSeconds === 0n) {
    const step = o.spot > o.strike ? 1 : o.spot === o.strike ? 0.5 : 0;
    const delta = o.isCall ? step : step - 1;
    return { delta: delta * quantity, gamma: 0, vega: 0, theta: 0 };
  }
  const sqrtT = Math.sqrt(Number(o.timeSeconds) / Number(YEAR_SECONDS));
  const volSqrtT = toFloat(tr.volSqrtT);
  const d1 = toFloat(tr.d1);
  const pdf = Math.exp((-d1 * d1) / 2) / Math.sqrt(2 * Math.PI);
  const disc = toFloat(tr.discount);
  const nd1 = toFloat(tr.n1.pos);
  const nd2 = toFloat(o.isCall ? tr.n2.pos : tr.n2.neg);
  const delta = o.isCall ? nd1 : nd1 - 1;
  const gamma = pdf / (s * volSqrtT);
  const vega = s * pdf * sqrtT;
  const decay = (-s * pdf * volSqrtT) / (2 * sqrtT * sqrtT);
  const theta = o.isCall ? decay - r * k * disc * nd2 : decay + r * k * disc * nd2;
  return { delta: delta * quantity, gamma: gamma * quantity, vega: vega * quantity, theta: theta * quantity };
}
