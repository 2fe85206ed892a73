/**
 * float64 reference Black-Scholes, independent of the fixed-point code: the standard normal CDF is
 * Marsaglia's series Phi(x) = 1/2 + phi(x) (x + x^3/3 + x^5/15 + ...) for |x| <= 3 and the
 * continued fraction Q(x) = phi(x) / (x + 1/(x + 2/(x + 3/(x + ...)))) (evaluated backwards,
 * 300 levels) for |x| > 3, so the tails keep their relative accuracy (about 1e-15).
 */
const INV_SQRT_2PI = 0.3989422804014327;

export function normPdf(x: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

export function normCdf(x: number): number {
  const a = Math.abs(x);
  if (a <= 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-18 * Math.abs(sum); n++) {
      term *= (x * x) / (2 * n + 1);
      sum += term;
    }
    return 0.5 + normPdf(x) * sum;
  }
  let cf = a;
  for (let n = 300; n >= 1; n--) cf = a + n / cf;
  const tail = normPdf(a) / cf;
  return x > 0 ? 1 - tail : tail;
}

export interface FloatOption {
  isCall: boolean;
  spot: number;
  strike: number;
  vol: number;
  years: number;
  rate: number;
}

/** Black-Scholes value in the spot's unit; T = 0 gives the intrinsic value. */
export function bsFloat(o: FloatOption): number {
  const { spot: s, strike: k, vol, years: t, rate: r } = o;
  if (t === 0) return Math.max(o.isCall ? s - k : k - s, 0);
  const sd = vol * Math.sqrt(t);
  const d1 = (Math.log(s / k) + (r + (vol * vol) / 2) * t) / sd;
  const d2 = d1 - sd;
  const disc = Math.exp(-r * t);
  return o.isCall ? s * normCdf(d1) - k * disc * normCdf(d2) : k * disc * normCdf(-d2) - s * normCdf(-d1);
}

/** Greeks per unit (quote units, per 1.00 vol, per year of calendar time). */
export function greeksFloat(o: FloatOption): { delta: number; gamma: number; vega: number; theta: number } {
  const { spot: s, strike: k, vol, years: t, rate: r } = o;
  const sd = vol * Math.sqrt(t);
  const d1 = (Math.log(s / k) + (r + (vol * vol) / 2) * t) / sd;
  const d2 = d1 - sd;
  const disc = Math.exp(-r * t);
  const pdf = normPdf(d1);
  const decay = (-s * pdf * vol) / (2 * Math.sqrt(t));
  return {
    delta: o.isCall ? normCdf(d1) : normCdf(d1) - 1,
    gamma: pdf / (s * sd),
    vega: s * pdf * Math.sqrt(t),
    theta: o.isCall ? decay - r * k * disc * normCdf(d2) : decay + r * k * disc * normCdf(-d2),
  };
}
