/**
 * circuits/lib/fixed: the BlackScholes(1) witness equals the TypeScript priceOption bit for bit (and BlackScholes(0),
 * the form for the exchange's rate of 0, equals it at r = 0), and
 * tampered hints (division quotient/remainder, sqrt root, ln reduction, exp reduction) or inputs
 * outside the domain leave no valid witness. Also reports the constraint count of every template.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { blackScholesTrace, lnReduction, priceOption, type OptionInput } from "../../../sequencer/derivatives/blackScholes/blackScholes.ts";
import { floorDiv, isqrt } from "../../../sequencer/derivatives/blackScholes/fixedPoint.ts";
import { LN2_64TH } from "../../../sequencer/derivatives/blackScholes/constants.ts";
import { accepts, compileMain, fe, outputs, type Compiled } from "./compile.ts";

function bsInput(o: OptionInput): Record<string, bigint> {
  return {
    isCall: o.isCall ? 1n : 0n,
    spot: o.spot,
    strike: o.strike,
    volPpm: o.volPpm,
    timeSeconds: o.timeSeconds,
    ratePpm: fe(o.ratePpm),
  };
}

let seed = 0x5eed;
function rnd(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
function randomOption(): OptionInput {
  const spot = BigInt(Math.round(1e5 * 10 ** (10 * rnd())));
  const strike = BigInt(Math.max(65536, Math.min(2 ** 50 - 1, Math.round(Number(spot) * Math.exp((rnd() - 0.5) * 3)))));
  return {
    isCall: rnd() < 0.5,
    spot,
    strike,
    volPpm: BigInt(Math.round(1e4 + rnd() * (5e6 - 1e4))),
    timeSeconds: BigInt(Math.floor(rnd() * 63_072_000)),
    ratePpm: BigInt(Math.round(-50_000 + rnd() * 250_000)),
  };
}

const ATM: OptionInput = { isCall: true, spot: 100_00000000n, strike: 100_00000000n, volPpm: 200_000n, timeSeconds: 31_536_000n, ratePpm: 50_000n };

describe("fixed-point Black-Scholes circuit", () => {
  let bs: Compiled;
  before(async () => {
    bs = await compileMain("BlackScholes", "component main = BlackScholes(1);");
  });

  it("BlackScholes(0) equals priceOption at r = 0 bit for bit, and refuses any other rate", async () => {
    const zero = await compileMain("BlackScholesZeroRate", "component main = BlackScholes(0);");
    const cases: OptionInput[] = Array.from({ length: 12 }, () => ({ ...randomOption(), ratePpm: 0n }));
    cases.push({ ...ATM, ratePpm: 0n }, { ...ATM, ratePpm: 0n, isCall: false }, { ...ATM, ratePpm: 0n, timeSeconds: 0n, strike: 90_00000000n });
    for (const o of cases) {
      const [price] = await outputs(zero.wasm, bsInput(o));
      assert.equal(price, priceOption(o), JSON.stringify(o, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
      assert.deepEqual(await outputs(bs.wasm, bsInput(o)), [price], "the general form agrees at r = 0");
    }
    assert.equal(await accepts(zero.wasm, bsInput({ ...ATM, ratePpm: 1n })), false, "a rate is refused");
    assert.equal(await accepts(zero.wasm, bsInput({ ...ATM, ratePpm: -1n })), false, "a negative rate is refused");
    assert.ok(zero.constraints < bs.constraints - 1_000, `BlackScholes(0) ${zero.constraints} vs BlackScholes(1) ${bs.constraints}`);
    console.log("constraints: BlackScholes(1)", bs.constraints, "BlackScholes(0)", zero.constraints);
  });

  it("witness output equals priceOption bit for bit (20 random cases + edge cases)", async () => {
    const cases: OptionInput[] = Array.from({ length: 20 }, randomOption);
    cases.push(
      ATM,
      { ...ATM, isCall: false },
      { ...ATM, timeSeconds: 0n, strike: 90_00000000n },
      { ...ATM, timeSeconds: 0n, isCall: false },
      { ...ATM, timeSeconds: 1n, volPpm: 8192n },
      { ...ATM, strike: 1n << 49n, spot: 65536n, volPpm: (1n << 23n) - 1n, timeSeconds: (1n << 26n) - 1n },
      { ...ATM, isCall: false, strike: 65536n, ratePpm: -65536n },
    );
    for (const o of cases) {
      const [price] = await outputs(bs.wasm, bsInput(o));
      assert.equal(price, priceOption(o), JSON.stringify(o, (_, v) => (typeof v === "bigint" ? v.toString() : v)));
    }
  });

  it("refuses inputs outside the domain", async () => {
    assert.ok(await accepts(bs.wasm, bsInput(ATM)));
    const bad: Record<string, bigint>[] = [
      { ...bsInput(ATM), isCall: 2n },
      { ...bsInput(ATM), spot: 1n << 50n },
      { ...bsInput(ATM), spot: 65535n },
      { ...bsInput(ATM), strike: 0n },
      { ...bsInput(ATM), volPpm: 8191n },
      { ...bsInput(ATM), volPpm: 1n << 23n },
      { ...bsInput(ATM), timeSeconds: 1n << 26n },
      { ...bsInput(ATM), ratePpm: fe(-65537n) },
      { ...bsInput(ATM), ratePpm: (1n << 19n) - (1n << 16n) },
    ];
    for (const input of bad) assert.equal(await accepts(bs.wasm, input), false, JSON.stringify(input, (_, v) => String(v)));
  });

  it("DivCheck refuses a wrong quotient or remainder", async () => {
    const c = await compileMain("DivCheck", "component main = DivCheck(63, 52, 1);");
    const num = -(12345678901n << 64n);
    const den = 98765432109n;
    const q = floorDiv(num, den);
    const r = num - q * den;
    const ok = { num: fe(num), den, q: fe(q), r };
    assert.ok(await accepts(c.wasm, ok));
    assert.equal(await accepts(c.wasm, { ...ok, q: fe(q + 1n), r: r - den }), false, "r < 0");
    assert.equal(await accepts(c.wasm, { ...ok, q: fe(q - 1n), r: r + den }), false, "r >= den");
    assert.equal(await accepts(c.wasm, { ...ok, r: r + 1n }), false, "num != q den + r");
    // a quotient off by a multiple of p / den (the field inverse) would satisfy the equation: range check
    assert.equal(await accepts(c.wasm, { ...ok, q: fe(q + (1n << 62n)), r: fe(r - (1n << 62n) * den) }), false);
  });

  it("SqrtCheck refuses a wrong root", async () => {
    const c = await compileMain("SqrtCheck", "component main = SqrtCheck(68);");
    const n = (123456789n << 100n) + 987654321n;
    const root = isqrt(n);
    assert.ok(await accepts(c.wasm, { in: n, root }));
    assert.equal(await accepts(c.wasm, { in: n, root: root + 1n }), false);
    assert.equal(await accepts(c.wasm, { in: n, root: root - 1n }), false);
  });

  it("LnRatioCore refuses a wrong range reduction", async () => {
    const c = await compileMain("LnRatioCore", "component main = LnRatioCore();");
    const s = 123_45678901n;
    const k = 7_00000000n;
    const { u, v } = lnReduction(s, k);
    assert.deepEqual([u, v], [0, 4]);
    const [x] = await outputs(c.wasm, { s, k, u: BigInt(u), v: BigInt(v) });
    assert.equal(x, blackScholesTrace({ ...ATM, spot: s, strike: k }).x);
    for (const [uu, vv] of [[0, 3], [0, 5], [1, 5], [2, 6]]) {
      assert.equal(await accepts(c.wasm, { s, k, u: BigInt(uu!), v: BigInt(vv!) }), false, `u=${uu} v=${vv}`);
    }
  });

  it("ExpCore refuses a wrong range reduction", async () => {
    const c = await compileMain("ExpCore", "component main = ExpCore();");
    const y = -(3n << 64n) - 12345n;
    const k = floorDiv(y, LN2_64TH);
    assert.ok(await accepts(c.wasm, { y: fe(y), k: fe(k) }));
    assert.equal(await accepts(c.wasm, { y: fe(y), k: fe(k + 1n) }), false);
    assert.equal(await accepts(c.wasm, { y: fe(y), k: fe(k - 1n) }), false);
    // outside the domain [-43.67, ln 2): no k exists
    const big = 1n << 64n;
    assert.equal(await accepts(c.wasm, { y: big, k: fe(floorDiv(big, LN2_64TH)) }), false);
  });

  it("reports constraints per template", async () => {
    const mains: [string, string][] = [
      ["FixedMul", "component main = FixedMul(128, 1);"],
      ["FixedDiv", "component main = FixedDiv(65, 66, 0);"],
      ["Sqrt", "component main = Sqrt(68);"],
      ["LnRatio", "component main = LnRatio();"],
      ["Exp", "component main = Exp();"],
      ["NormCdf", "component main = NormCdf();"],
    ];
    const counts: Record<string, number> = {};
    for (const [name, main] of mains) counts[name] = (await compileMain(name, main)).constraints;
    counts["BlackScholes"] = bs.constraints;
    console.log("constraints:", counts);
    assert.ok(bs.constraints < 12_000, `BlackScholes: ${bs.constraints} constraints`);
  });
});
