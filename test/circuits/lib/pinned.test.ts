/**
 * The dishonest prover's first move against a gadget: change one signal of an honest witness and keep every
 * constraint. For the circuits/lib gadgets that compute a function of their inputs (key compression, ppm
 * rounding, comparisons, one-hot decoding, order packing, Merkle updates, EdDSA), no wire may be changeable alone:
 * each is pinned by some constraint (test/helpers/r1cs.ts, checked against circom's own .r1cs in JavaScript,
 * not by the witness calculator, which only runs the circuit's assignments). Hints (`<--`) are where a slip
 * would show: OneHot's bits, CeilPpm's quotient, the key's sign decomposition. What this does not find: a hint
 * with two valid values whose dependent signals move with it (a change of several wires at once); the
 * gadgets' own refusal tests and the dishonest-operator hunts try those. An input the gadget leaves to
 * its caller may be free on a witness by design (a requirement's `enabled` when the requirement holds anyway),
 * and so is circomlib IsZero's inverse hint when its input is 0: each such signal is named with why, and
 * nothing else may be free.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { publicKeyOf, signMessage } from "../../../sequencer/crypto/babyjub.ts";
import { Side, TimeInForce } from "../../../sequencer/protocol/constants.ts";
import { orderInputs } from "../../../sequencer/protocol/layouts.ts";
import { compileMain, fe, witness } from "../fixed/compile.ts";
import { broken, freeWires, loadR1cs, wireNames } from "../../helpers/r1cs.ts";
import { order, testTrader } from "../../helpers/traders.ts";

type Case = {
  name: string; include: string; main: string; input: () => Record<string, bigint | bigint[] | bigint[][]>;
  /** Signals free by design on this witness (names as circom's .sym gives them), and why. */
  free?: { signals: string[]; why: string };
};

const secret = randomBytes(32);
const key = publicKeyOf(secret);
const message = 123_456_789_012_345n;
const signature = signMessage(secret, message);
const cases: Case[] = [
  { name: "CompressedKeyBits", include: "circuits/lib/compressedKey.circom", main: "component main = CompressedKeyBits();", input: () => ({ x: key[0], y: key[1] }) },
  { name: "CeilPpm(64)", include: "circuits/lib/ppm.circom", main: "component main = CeilPpm(64);", input: () => ({ a: 123_456_789n, ppm: 250n }) },
  {
    name: "GreaterEqRequiredWhen(64)", include: "circuits/lib/compare.circom", main: "component main = GreaterEqRequiredWhen(64);", input: () => ({ enabled: 1n, a: 10n, b: 3n }),
    free: { signals: ["main.enabled"], why: "the caller's 0/1 selector; with a >= b the requirement holds whatever it is" },
  },
  { name: "GreaterEqRequiredWhen(64), a < b", include: "circuits/lib/compare.circom", main: "component main = GreaterEqRequiredWhen(64);", input: () => ({ enabled: 0n, a: 3n, b: 10n }) },
  { name: "GreaterEq(64), a < b", include: "circuits/lib/compare.circom", main: "component main = GreaterEq(64);", input: () => ({ a: 3n, b: 10n }) },
  {
    name: "SignatureIfEnabled, a valid signature", include: "circuits/lib/signature.circom", main: "component main = SignatureIfEnabled();",
    input: () => ({ enabled: 1n, ax: key[0], ay: key[1], sig: [signature.r8x, signature.r8y, signature.s], msg: message }),
    free: {
      signals: ["main.v.eqCheckX.isz.inv", "main.v.eqCheckY.isz.inv"],
      why: "circomlib EdDSAPoseidonVerifier's final equality checks are IsZero of the difference: with a valid signature the difference is 0 and its inverse hint is free; the outputs are pinned",
    },
  },
  {
    name: "QuadUpdate(3), leaf 45", include: "circuits/lib/quadTree.circom", main: "component main = QuadUpdate(3);",
    input: () => ({ oldLeaf: 11n, newLeaf: 12n, indexBits: [1n, 1n, 1n, 0n, 0n, 1n], siblings: [[1n, 2n, 3n], [4n, 5n, 6n], [7n, 8n, 9n]] }),
  },
  { name: "OneHot(8)", include: "circuits/lib/select.circom", main: "component main = OneHot(8);", input: () => ({ in: 5n }) },
  ...([
    ["BlackScholes, call at the money", { isCall: 1n, spot: 100_00000000n, strike: 100_00000000n, volPpm: 200_000n, timeSeconds: 31_536_000n, ratePpm: 50_000n }],
    ["BlackScholes, put out of the money, negative rate", { isCall: 0n, spot: 3_000_00000000n, strike: 2_500_00000000n, volPpm: 800_000n, timeSeconds: 86_400n, ratePpm: -20_000n }],
    ["BlackScholes, expired (t = 0)", { isCall: 1n, spot: 3_000_00000000n, strike: 2_500_00000000n, volPpm: 800_000n, timeSeconds: 0n, ratePpm: 50_000n }],
    ["BlackScholes(0), put in the money (the exchange's rate of 0)", { isCall: 0n, spot: 2_500_00000000n, strike: 3_000_00000000n, volPpm: 600_000n, timeSeconds: 2_592_000n, ratePpm: 0n }],
  ] as const).map(([name, input]): Case => ({
    name, include: "circuits/lib/fixed/blackScholes.circom", main: `component main = BlackScholes(${name.startsWith("BlackScholes(0)") ? 0 : 1});`,
    input: () => Object.fromEntries(Object.entries(input).map(([k, v]) => [k, fe(v)])),
    ...(input.timeSeconds === 0n
      ? { free: { signals: ["main.zeroT.inv"], why: "circomlib IsZero's inverse hint, free when its input (t) is 0: its output is 1 whatever the hint" } }
      : {}),
  })),
  {
    name: "OrderWords", include: "circuits/lib/orderWords.circom", main: "component main = OrderWords();",
    input: () => ({ o: orderInputs(order(testTrader(1), { orderId: 77n, side: Side.SELL, priceTicks: 123_456n, sizeLots: 9n, reduceOnly: true })) }),
  },
  {
    name: "OrderTime, an IOC order inside its window", include: "circuits/lib/orderTime.circom", main: "component main = OrderTime();",
    input: () => ({ enabled: 1n, timestamp: 1_700_000_000n, o: orderInputs(order(testTrader(1), { orderId: 77n, side: Side.BUY, timeInForce: TimeInForce.IOC, expiry: 1_700_000_300 })) }),
    free: {
      signals: ["main.o[4]", "main.o[5]", "main.noTrigger.inv"],
      why: "the rule reads only whether the order never rests, which a MARKET type (o[4] 0 -> 1) and FOK (o[5] 1 -> 2) share with this IOC order: the slot's OrderWords pins both fields to the signed words; and circomlib IsZero's inverse hint, free when its input (the trigger type) is 0. The fields it does not read are no wires of this circuit",
    },
  },
];

describe("circuits/lib gadgets: every signal pinned", { timeout: 600_000 }, () => {
  for (const c of cases) {
    it(`${c.name}: no wire of an honest witness${c.free ? ` but ${c.free.signals.join(", ")}` : ""} can be changed alone`, async () => {
      const file = c.main.replace(/^component main = /, "").replace(/[^A-Za-z0-9]/g, ""); // one build per circuit
      const { wasm, r1cs: path, sym } = await compileMain(`pinned_${file}`, c.main, c.include, { sym: true });
      const r1cs = await loadR1cs(path);
      const names = wireNames(sym!);
      const w = await witness(wasm, c.input());
      assert.deepEqual(broken(r1cs, w), [], "the honest witness holds every constraint");
      const free = freeWires(r1cs, w).map((k) => names.get(k) ?? `wire ${k}`);
      const expected = c.free?.signals ?? [];
      assert.deepEqual(free, expected, c.free ? `free by design: ${c.free.why}; the other ${w.length - 1 - expected.length} wires pinned` : `all ${w.length - 1} wires pinned`);
    });
  }
});
