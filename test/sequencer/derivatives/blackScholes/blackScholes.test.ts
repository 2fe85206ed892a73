/**
 * Fixed-point Black-Scholes (sequencer/derivatives/blackScholes) against the float64 reference of reference.ts.
 *
 * Stated accuracy: |price_fixed - price_float64| < 1e-6 * S over the whole domain of SPEC.md, where the
 * float64 reference's own rounding (about 2^-52 * (S + K) ulp-scale, which exceeds 1e-6 * S only when
 * K/S > 1e8) is added to the tolerance. On |ln(S/K)| <= ln(1000) the measured max error is ~2e-10 * S
 * (the normal-tail fit, relative error 1.1e-9, dominates); the test prints the max found.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { blackScholesTrace, greeks, normCdf, priceOption, priceToQuote, type OptionInput } from "../../../../sequencer/derivatives/blackScholes/blackScholes.ts";
import { ONE, toFloat } from "../../../../sequencer/derivatives/blackScholes/fixedPoint.ts";
import { CIRCOM_CONSTANTS_PATH, renderCircomConstants } from "../../../../sequencer/derivatives/blackScholes/genCircomConstants.ts";
import { bsFloat, greeksFloat, normCdf as normCdfFloat, type FloatOption } from "./reference.ts";

const TARGET = 1e-6;
const toFloatOption = (o: OptionInput): FloatOption => ({
  isCall: o.isCall,
  spot: Number(o.spot) / 1e8,
  strike: Number(o.strike) / 1e8,
  vol: Number(o.volPpm) / 1e6,
  years: Number(o.timeSeconds) / 31_536_000,
  rate: Number(o.ratePpm) / 1e6,
});

/** Error / S, and the tolerance / S (target plus the float64 reference's rounding). */
function check(o: OptionInput): { err: number; tol: number } {
  const f = toFloatOption(o);
  const fixed = priceToQuote(priceOption(o));
  const ref = bsFloat(f);
  const err = Math.abs(fixed - ref) / f.spot;
  const tol = TARGET + (4 * 2 ** -52 * (f.spot + f.strike)) / f.spot;
  return { err, tol };
}

let seed = 2024;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
function clampPrice(v: number): bigint {
  return BigInt(Math.max(65536, Math.min(2 ** 50 - 1, Math.round(v))));
}

const ATM: OptionInput = { isCall: true, spot: 100_00000000n, strike: 100_00000000n, volPpm: 200_000n, timeSeconds: 31_536_000n, ratePpm: 50_000n };

describe("fixed-point Black-Scholes", () => {
  it("matches textbook values", () => {
    assert.ok(Math.abs(priceToQuote(priceOption(ATM)) - 10.450583572185565) < 1e-8);
    assert.ok(Math.abs(priceToQuote(priceOption({ ...ATM, isCall: false })) - 5.573526022256971) < 1e-8);
  });

  it("N(d) matches the float64 CDF: |error| < 1.2e-9 * tail + 2^-60", () => {
    let worst = 0;
    for (let i = -1000; i <= 1000; i++) {
      const d = i / 100;
      const { pos, neg } = normCdf(BigInt(Math.round(d * 2 ** 40)) << 24n);
      assert.equal(pos + neg, ONE);
      const dq = Number(BigInt(Math.round(d * 2 ** 40))) / 2 ** 40;
      const tail = normCdfFloat(-Math.abs(dq));
      const got = toFloat(dq >= 0 ? neg : pos);
      worst = Math.max(worst, Math.max(0, Math.abs(got - tail) - 2 ** -60) / tail);
    }
    console.log(`N(d): max (|error| - 2^-60) / tail = ${worst.toExponential(2)}`);
    assert.ok(worst < 1.2e-9);
  });

  it(`grid and random samples: |fixed - float64| < ${TARGET} * S`, () => {
    let worst = 0;
    let worstModerate = 0;
    let worstCase: OptionInput | null = null;
    const record = (o: OptionInput): void => {
      const { err, tol } = check(o);
      assert.ok(err < tol, `error ${err} >= ${tol} for ${JSON.stringify(o, (_, v) => (typeof v === "bigint" ? v.toString() : v))}`);
      if (err > worst) {
        worst = err;
        worstCase = o;
      }
      const m = Math.abs(Math.log(Number(o.spot) / Number(o.strike)));
      if (m <= Math.log(1000)) worstModerate = Math.max(worstModerate, err);
    };
    // grid
    for (const spot of [1e5, 1e8, 1e11, 1e15 - 1])
      for (const m of [0.01, 0.5, 0.8, 0.95, 1, 1.05, 1.25, 2, 100])
        for (const vol of [8192, 10_000, 200_000, 1_000_000, 5_000_000])
          for (const days of [0, 1 / 86400, 1 / 24, 1, 30, 365, 730])
            for (const rate of [-50_000, 0, 200_000])
              for (const isCall of [true, false])
                record({
                  isCall,
                  spot: BigInt(spot),
                  strike: clampPrice(spot * m),
                  volPpm: BigInt(vol),
                  timeSeconds: BigInt(Math.round(days * 86400)),
                  ratePpm: BigInt(rate),
                });
    // random: log-uniform spot, strike near spot or anywhere in the domain
    for (let i = 0; i < 20_000; i++) {
      const spot = 1e5 * 10 ** (10 * rnd());
      const strike = rnd() < 0.7 ? spot * Math.exp((rnd() - 0.5) * 4) : 1e5 * 10 ** (10 * rnd());
      record({
        isCall: rnd() < 0.5,
        spot: clampPrice(spot),
        strike: clampPrice(strike),
        volPpm: BigInt(Math.round(1e4 + rnd() * (5e6 - 1e4))),
        timeSeconds: BigInt(Math.floor(rnd() * 63_072_000)),
        ratePpm: BigInt(Math.round(-50_000 + rnd() * 250_000)),
      });
    }
    console.log(`max |fixed - float64| / S: ${worst.toExponential(3)} (all), ${worstModerate.toExponential(3)} (K/S in [1e-3, 1e3])`);
    console.log("worst case:", worstCase);
    assert.ok(worstModerate < TARGET);
  });

  it("extreme K/S against a 50-digit reference (highPrecision.json): |error| < 1e-6 * S", () => {
    const cases = JSON.parse(readFileSync(new URL("./highPrecision.json", import.meta.url), "utf8")) as Record<string, string | boolean>[];
    let worst = 0;
    for (const c of cases) {
      const o: OptionInput = {
        isCall: c.isCall as boolean,
        spot: BigInt(c.spot as string),
        strike: BigInt(c.strike as string),
        volPpm: BigInt(c.volPpm as string),
        timeSeconds: BigInt(c.timeSeconds as string),
        ratePpm: BigInt(c.ratePpm as string),
      };
      const diff = priceOption(o) - BigInt(c.priceQ64 as string);
      const err = Math.abs(Number(diff)) / Number(o.spot * ONE);
      worst = Math.max(worst, err);
      assert.ok(err < TARGET, `error ${err} for ${JSON.stringify(c)}`);
    }
    console.log(`max |fixed - mpmath| / S over ${cases.length} extreme cases: ${worst.toExponential(3)}`);
  });

  it("put-call parity: C - P = S - K exp(-rT) within 2^-40 * (S + K)", () => {
    for (let i = 0; i < 2000; i++) {
      const spot = clampPrice(1e5 * 10 ** (10 * rnd()));
      const o: OptionInput = {
        isCall: true,
        spot,
        strike: clampPrice(Number(spot) * Math.exp((rnd() - 0.5) * 4)),
        volPpm: BigInt(Math.round(1e4 + rnd() * (5e6 - 1e4))),
        timeSeconds: BigInt(Math.floor(rnd() * 63_072_000)),
        ratePpm: BigInt(Math.round(-50_000 + rnd() * 250_000)),
      };
      const c = priceOption(o);
      const p = priceOption({ ...o, isCall: false });
      const forward = o.spot * ONE - o.strike * blackScholesTrace(o).discount;
      const slack = (o.spot + o.strike) * (ONE >> 40n);
      assert.ok(c - p - forward <= slack && forward - (c - p) <= slack, `parity off by ${c - p - forward}`);
    }
  });

  it("T = 0 gives the intrinsic value exactly", () => {
    const at0 = { ...ATM, timeSeconds: 0n };
    assert.equal(priceOption({ ...at0, strike: 90_00000000n }), 10_00000000n * ONE);
    assert.equal(priceOption({ ...at0, strike: 90_00000000n, isCall: false }), 0n);
    assert.equal(priceOption({ ...at0, strike: 110_00000000n, isCall: false }), 10_00000000n * ONE);
    assert.equal(priceOption(at0), 0n);
    assert.equal(priceOption({ ...at0, isCall: false }), 0n);
  });

  it("deep ITM / OTM and vol at its bounds", () => {
    // deep OTM: zero (never negative); deep ITM: S - K e^{-rT}
    const otm = priceOption({ ...ATM, strike: 1000_00000000n, volPpm: 10_000n });
    assert.equal(otm, 0n);
    const itm = { ...ATM, strike: 1_00000000n, volPpm: 10_000n };
    const expected = 100 - 1 * Math.exp(-0.05);
    assert.ok(Math.abs(priceToQuote(priceOption(itm)) - expected) < 1e-6 * 100);
    for (const volPpm of [8192n, 10_000n, 5_000_000n, (1n << 23n) - 1n])
      for (const isCall of [true, false]) {
        const { err, tol } = check({ ...ATM, volPpm, isCall });
        assert.ok(err < tol, `vol ${volPpm}: ${err}`);
      }
    // vol 500%, 2 years: the call tends to S
    assert.ok(priceToQuote(priceOption({ ...ATM, volPpm: 5_000_000n, timeSeconds: 63_072_000n })) > 99);
  });

  it("refuses inputs outside the domain", () => {
    for (const bad of [
      { spot: 65535n },
      { strike: 1n << 50n },
      { volPpm: 8191n },
      { timeSeconds: -1n },
      { timeSeconds: 1n << 26n },
      { ratePpm: -65537n },
    ])
      assert.throws(() => priceOption({ ...ATM, ...bad }), RangeError);
  });

  it("Greeks match the float64 formulas", () => {
    for (const o of [ATM, { ...ATM, isCall: false }, { ...ATM, strike: 120_00000000n, timeSeconds: 2_592_000n, volPpm: 600_000n }]) {
      const g = greeks(o);
      const r = greeksFloat(toFloatOption(o));
      for (const key of ["delta", "gamma", "vega", "theta"] as const) assert.ok(Math.abs(g[key] - r[key]) <= 1e-7 * Math.max(1, Math.abs(r[key])), `${key}: ${g[key]} vs ${r[key]}`);
    }
    const pos = greeks(ATM, -3);
    assert.ok(Math.abs(pos.delta + 3 * greeks(ATM).delta) < 1e-12);
    assert.deepEqual(greeks({ ...ATM, timeSeconds: 0n, strike: 90_00000000n }), { delta: 1, gamma: 0, vega: 0, theta: 0 });
  });

  it("circuits/lib/fixed/constants.circom is generated from the TypeScript constants", () => {
    const path = new URL(`../../../../${CIRCOM_CONSTANTS_PATH}`, import.meta.url);
    assert.equal(readFileSync(path, "utf8"), renderCircomConstants());
  });
});
