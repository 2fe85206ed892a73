// Fixed-base scalar multiplication on worker threads (the bulk of devSetup) against the wasm engine's
// own double-and-add, including edge scalars (0, 1, r - 1, r, values >= r, top bits set).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Bn128Wasm, loadBn128Engine, FR_BYTES, G1_AFFINE, G1_JACOBIAN, G2_AFFINE, G2_JACOBIAN } from "../../../scripts/setup/bn128Wasm.ts";
import { FixedBasePool, chooseWindow, type Group } from "../../../scripts/setup/fixedBase.ts";
import { bigintToLE } from "../../../scripts/setup/zkeyFile.ts";
import { BN128_R } from "../../../scripts/setup/devSetup.ts";

const R = BN128_R;

function scalarList(): bigint[] {
  const list = [0n, 1n, 2n, 3n, 65535n, 65536n, R - 1n, R, R + 1n, (1n << 253n) + 12345n, (1n << 254n) - 1n, 1n << 200n];
  for (let i = 0; i < 40; i++) list.push(BigInt("0x" + randomBytes(32).toString("hex")) % R);
  return list;
}

describe("fixed-base scalar multiplication (worker pool)", { timeout: 60_000 }, () => {
  let w: Bn128Wasm;
  let pG1gen: number;
  let pG2gen: number;
  let pool: FixedBasePool;

  before(async () => {
    const { curve, module } = await loadBn128Engine();
    pG1gen = curve.tm.pG1gen;
    pG2gen = curve.tm.pG2gen;
    w = await Bn128Wasm.create(module);
    pool = await FixedBasePool.start(module, pG1gen, pG2gen, 2);
  });

  after(async () => {
    await pool?.terminate();
  });

  /** k * G by the engine's double-and-add (timesScalarAffine), affine Montgomery LE. */
  function reference(group: Group, k: bigint): Uint8Array {
    const g1 = group === "G1";
    const sA = g1 ? G1_AFFINE : G2_AFFINE;
    const saved = w.freePointer;
    const pGa = w.alloc(sA);
    const pK = w.alloc(FR_BYTES);
    const pJ = w.alloc(g1 ? G1_JACOBIAN : G2_JACOBIAN);
    const pre = g1 ? "g1m_" : "g2m_";
    w.ex[pre + "toAffine"]!(g1 ? pG1gen : pG2gen, pGa);
    w.write(pK, bigintToLE(k % R, FR_BYTES));
    w.ex[pre + "timesScalarAffine"]!(pGa, pK, FR_BYTES, pJ);
    w.ex[pre + "toAffine"]!(pJ, pJ);
    const out = w.read(pJ, sA);
    w.freePointer = saved;
    return out;
  }

  for (const group of ["G1", "G2"] as const) {
    for (const b of [3, 7, 11]) {
      it(`${group}, ${b}-bit windows, uneven chunks`, async () => {
        const ks = scalarList();
        await pool.prepareTable(group, { b, nWindows: Math.ceil(254 / b) });
        const buf = new Uint8Array(ks.length * FR_BYTES);
        ks.forEach((k, i) => buf.set(bigintToLE(k, FR_BYTES), i * FR_BYTES));
        const pts = await pool.mulAll(group, buf, ks.length, 5);
        const sA = group === "G1" ? G1_AFFINE : G2_AFFINE;
        ks.forEach((k, i) => {
          const got = pts.subarray(i * sA, (i + 1) * sA);
          assert.deepEqual(got, reference(group, k), `scalar #${i} (${k})`);
        });
        // the zero point is all-zero bytes, as snarkjs writes it
        assert.ok(pts.subarray(0, sA).every((x) => x === 0));
        assert.ok(pts.subarray(7 * sA, 8 * sA).every((x) => x === 0), "r * G = 0");
      });
    }
  }

  it("chooses wider windows for more points, capped at 16 bits", () => {
    assert.ok(chooseWindow(100).b < chooseWindow(100_000).b);
    assert.equal(chooseWindow(1e9).b, 16);
    for (const n of [1, 10, 1e3, 1e6]) {
      const c = chooseWindow(n);
      assert.equal(c.nWindows, Math.ceil(254 / c.b));
    }
  });
});
