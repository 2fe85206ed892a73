/**
 * withTransientSnarkjsCurve (scripts/setup/zkLibs.ts): a circuit build ends the snarkjs curve it started, so a
 * process that only built a circuit can exit, and never ends a curve that ran before it or that other work
 * still uses. The curve is a stand-in here (globalThis.curve_bn128 with a counting terminate): no snarkjs.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { withTransientSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";

type FakeCurve = { terminated: number; terminate(): Promise<void> };
const g = globalThis as { curve_bn128?: FakeCurve | null };

/** Starts a stand-in curve as snarkjs does (the process-wide singleton); terminate clears it, as ffjavascript's does. */
function startCurve(): FakeCurve {
  const curve: FakeCurve = {
    terminated: 0,
    async terminate() {
      this.terminated++;
      g.curve_bn128 = null;
    },
  };
  g.curve_bn128 = curve;
  return curve;
}

describe("withTransientSnarkjsCurve", () => {
  afterEach(() => {
    g.curve_bn128 = null;
  });

  it("ends the curve the work started, and returns the work's value", async () => {
    let curve: FakeCurve | undefined;
    const value = await withTransientSnarkjsCurve(async () => {
      curve = startCurve();
      return 42;
    });
    assert.equal(value, 42);
    assert.equal(curve!.terminated, 1);
    assert.equal(g.curve_bn128, null);
  });

  it("ends it also when the work throws, and passes the error on", async () => {
    let curve: FakeCurve | undefined;
    await assert.rejects(
      withTransientSnarkjsCurve(async () => {
        curve = startCurve();
        throw new Error("setup failed");
      }),
      /setup failed/,
    );
    assert.equal(curve!.terminated, 1);
  });

  it("leaves alone a curve that ran before the work", async () => {
    const curve = startCurve();
    await withTransientSnarkjsCurve(async () => {});
    assert.equal(curve.terminated, 0);
    assert.equal(g.curve_bn128, curve);
  });

  it("with overlapping work, ends the curve once, when the last one finishes", async () => {
    let curve: FakeCurve | undefined;
    let releaseFirst!: () => void;
    const first = withTransientSnarkjsCurve(async () => {
      curve = startCurve();
      await new Promise<void>((resolve) => (releaseFirst = resolve));
    });
    let releaseSecond!: () => void;
    const second = withTransientSnarkjsCurve(() => new Promise<void>((resolve) => (releaseSecond = resolve)));
    releaseFirst();
    await first;
    assert.equal(curve!.terminated, 0, "the second work still runs");
    releaseSecond();
    await second;
    assert.equal(curve!.terminated, 1);
  });
});
