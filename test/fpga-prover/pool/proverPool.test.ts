// ProverPool with fake devices: Protocol 4 verification on a second device, tie-breaks, failover,
// stalls, hot spares, ordering under load, the prepare pipeline, health and metrics.
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ProverPool, ProverPoolError, percentile, type PoolProof, type ProverPoolOptions } from "../../../fpga-prover/pool/index.ts";
import { FakeDevice, isValidFake, KEYS, type FakeOptions } from "./fakeDevice.ts";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const input = (x: number) => ({ x });

let made: FakeDevice[] = [];
let pools: ProverPool[] = [];
function fakes(...specs: [string, FakeOptions?][]): FakeDevice[] {
  const ds = specs.map(([n, o]) => new FakeDevice(n, o ?? {}));
  made.push(...ds);
  return ds;
}
function pool(devices: FakeDevice[], opts: ProverPoolOptions = {}): ProverPool {
  const p = new ProverPool<Record<string, unknown>>(devices, opts);
  pools.push(p);
  return p;
}
function assertValid(r: PoolProof, x: number, sameDevice = false) {
  assert.deepEqual(r.publicSignals, [String(x)]);
  assert.ok(isValidFake(r.proof, r.publicSignals), "the returned proof is valid");
  if (!sameDevice) assert.ok(!r.verifiers.includes(r.prover), "verified on another device");
}

afterEach(async () => {
  for (const p of pools) await p.close();
  for (const d of made) d.dispose();
  pools = [];
  made = [];
});

describe("ProverPool", { timeout: 60_000 }, () => {
  it("proves on one device and verifies on a different one", async () => {
    const [a, b] = fakes(["A"], ["B"]);
    const p = pool([a!, b!]);
    const r = await p.prove("j1", KEYS, input(7), "7");
    assertValid(r, 7);
    assert.equal(r.prover, "A#0");
    assert.deepEqual(r.verifiers, ["B#1"]);
    assert.deepEqual(r.attempts.map((x) => `${x.op}:${x.device}:${x.outcome}`), ["verify:B#1:valid"]);
    assert.equal(a!.verifyCalls, 0);
    assert.equal(b!.proveCalls, 0);
  });

  it("needs two devices for Protocol 4 unless verifyOnDifferentDevice is false", async () => {
    const [a] = fakes(["A"]);
    assert.throws(() => new ProverPool([a!]), /at least two devices/);
    const p = pool([a!], { verifyOnDifferentDevice: false });
    const r = await p.prove(1, KEYS, input(3));
    assertValid(r, 3, true);
    assert.deepEqual(r.verifiers, ["A#0"]);
  });

  it("a device that throws is marked unhealthy and the job fails over", async () => {
    const [a, b, c] = fakes(["A", { prove: "throw" }], ["B"], ["C"]);
    const p = pool([a!, b!, c!]);
    const r = await p.prove("j", KEYS, input(5));
    assertValid(r, 5);
    assert.equal(r.prover, "B#1");
    assert.deepEqual(r.verifiers, ["C#2"]);
    assert.equal(r.attempts[0]!.device, "A#0");
    assert.equal(r.attempts[0]!.outcome, "error");
    const h = p.health()[0]!;
    assert.equal(h.state, "unhealthy");
    assert.equal(h.consecutiveFailures, 1);
    assert.match(h.lastError!.reason, /device error/);
    assert.equal(typeof h.lastError!.at, "number");
  });

  it("a proof that does not verify: verifier and tie-breaker both reject it, the prover is blamed, another device re-proves", async () => {
    const [a, b, c] = fakes(["A", { prove: "invalid" }], ["B"], ["C"]);
    const p = pool([a!, b!, c!]);
    const r = await p.prove("j", KEYS, input(9));
    assertValid(r, 9);
    assert.deepEqual(
      r.attempts.map((x) => `${x.op}:${x.device}:${x.outcome}`),
      ["verify:B#1:invalid", "tiebreak-verify:C#2:invalid", "verify:C#2:valid"],
    );
    assert.equal(r.prover, "B#1");
    const [ha, hb, hc] = p.health();
    assert.equal(ha!.unhealthy, true);
    assert.match(ha!.lastError!.reason, /rejected by B#1 and C#2/);
    assert.equal(ha!.counts.rejectedProofs, 1);
    assert.equal(hb!.unhealthy, false);
    assert.equal(hc!.unhealthy, false);
  });

  it("two devices disagree and a third breaks the tie against the lying verifier", async () => {
    const [a, b, c] = fakes(["A"], ["B", { verify: "reject-all" }], ["C"]);
    const p = pool([a!, b!, c!]);
    const r = await p.prove("j", KEYS, input(11));
    assertValid(r, 11);
    assert.equal(r.prover, "A#0");
    assert.deepEqual(r.verifiers, ["B#1", "C#2"]);
    assert.equal(a!.proveCalls, 1, "the proof was not re-proved");
    const [ha, hb] = p.health();
    assert.equal(ha!.unhealthy, false);
    assert.equal(hb!.unhealthy, true);
    assert.match(hb!.lastError!.reason, /rejected a valid proof .*outvoted by C#2/);
  });

  it("with no third device a disagreement blames nobody: prover and verifier swap roles", async () => {
    const [a, b] = fakes(["A", { prove: "invalid", faultyCalls: 1 }], ["B"]);
    const p = pool([a!, b!]);
    const r = await p.prove("j", KEYS, input(4));
    assertValid(r, 4);
    assert.equal(r.prover, "B#1");
    assert.deepEqual(r.verifiers, ["A#0"]);
    assert.ok(p.health().every((h) => !h.unhealthy));
  });

  it("a device that stalls past the deadline is marked unhealthy; its late answer is discarded", async () => {
    const [a, b, c] = fakes(["A", { prove: "stall", stallMs: 150 }], ["B"], ["C"]);
    const p = pool([a!, b!, c!], { deadlineMs: 40 });
    const r = await p.prove("j", KEYS, input(2));
    assertValid(r, 2);
    assert.equal(r.prover, "B#1");
    assert.equal(r.attempts[0]!.outcome, "timeout");
    let h = p.health()[0]!;
    assert.equal(h.stalled, true);
    assert.equal(h.state, "busy");
    assert.match(h.lastError!.reason, /no answer within 40 ms/);
    await sleep(200); // the stalled call rejects late: no unhandled rejection, the slot is freed
    h = p.health()[0]!;
    assert.equal(h.stalled, false);
    assert.equal(h.unhealthy, true, "still cooling down");
    assert.equal(p.metrics().completed, 1);
  });

  it("a stalled verifier fails over to another verifier", async () => {
    const [a, b, c] = fakes(["A"], ["B", { verify: "stall" }], ["C"]);
    const p = pool([a!, b!, c!], { deadlineMs: 40 });
    const r = await p.prove("j", KEYS, input(8));
    assertValid(r, 8);
    assert.deepEqual(r.verifiers, ["C#2"]);
    assert.equal(p.health()[1]!.unhealthy, true);
  });

  it("a proof for another public input: a re-prove on another device breaks the tie", async () => {
    const [a, b, c] = fakes(["A", { prove: "wrong-input" }], ["B"], ["C"]);
    const p = pool([a!, b!, c!]);
    const r = await p.prove("j", KEYS, input(6), ["6"]);
    assertValid(r, 6);
    assert.equal(r.prover, "B#1");
    assert.deepEqual(
      r.attempts.map((x) => `${x.op}:${x.device}:${x.outcome}`),
      ["prove:A#0:wrong-public-input", "verify:C#2:valid"],
    );
    const ha = p.health()[0]!;
    assert.equal(ha.unhealthy, true);
    assert.match(ha.lastError!.reason, /wrong public signals \(outvoted by B#1\)/);
  });

  it("when two devices agree against the expected public input, the job fails and no device is blamed", async () => {
    const [a, b, c] = fakes(["A"], ["B"], ["C"]);
    const p = pool([a!, b!, c!]);
    await assert.rejects(p.prove("j", KEYS, input(6), 999n), (e: unknown) => {
      assert.ok(e instanceof ProverPoolError);
      assert.match(e.message, /devices A#0 and B#1 agree on public signals \[6\] but \[999\] was expected/);
      assert.equal(e.attempts.length, 2);
      return true;
    });
    assert.ok(p.health().every((h) => !h.unhealthy));
  });

  it("a witness the circuit refuses on two devices rejects the job as the input's fault and marks no device unhealthy", async () => {
    const [a, b] = fakes(["A", { prove: "witness" }], ["B", { prove: "witness" }]);
    const p = pool([a!, b!]);
    await assert.rejects(p.prove("j", KEYS, input(4), "4"), (e: unknown) => {
      assert.ok(e instanceof ProverPoolError && e.inputRefused, String(e));
      assert.match(e.message, /the circuit refuses the job's input: its witness fails on A#0 and on B#1 \(no device blamed\)/);
      assert.deepEqual(e.attempts.map((x) => `${x.op}:${x.device}:${x.outcome}`), ["prove:A#0:input-refused", "prove:B#1:input-refused"]);
      return true;
    });
    assert.ok(p.health().every((h) => !h.unhealthy && h.counts.failures === 0), "both devices stay healthy");
    a!.opts = {};
    b!.opts = {};
    assertValid(await p.prove("next", KEYS, input(5), "5"), 5); // the next batch proves at once
  });

  it("a witness refused by one device but computed by another blames the first", async () => {
    const [a, b, c] = fakes(["A", { prove: "witness" }], ["B"], ["C"]);
    const p = pool([a!, b!, c!]);
    const r = await p.prove("j", KEYS, input(8), "8");
    assertValid(r, 8);
    assert.equal(r.prover, "B#1");
    assert.deepEqual(p.health().map((h) => h.unhealthy), [true, false, false]);
    assert.match(p.health()[0]!.lastError!.reason, /refused the witness of job j, which B#1 computed/);
  });

  it("a witness refused with no other device to try rejects the job without blaming the device", async () => {
    const [a] = fakes(["A", { prove: "witness" }]);
    const p = pool([a!], { verifyOnDifferentDevice: false });
    await assert.rejects(p.prove("j", KEYS, input(1), "1"), (e: unknown) => e instanceof ProverPoolError && e.inputRefused);
    assert.equal(p.health()[0]!.unhealthy, false);
  });

  it("hot spare stays idle while devices are healthy and takes over first on a failure", async () => {
    const [a, b, s] = fakes(["A", { prove: "throw", faultyCalls: 0 }], ["B"], ["S"]);
    const p = pool([a!, b!, s!], { hotSpares: 1 });
    const rs = await Promise.all([1, 2, 3, 4].map((x) => p.prove(x, KEYS, input(x))));
    rs.forEach((r, i) => assertValid(r, i + 1));
    assert.equal(s!.proveCalls + s!.verifyCalls, 0, "spare idle");
    assert.equal(p.health()[2]!.spare, true);
    a!.opts = { prove: "throw" };
    const r = await p.prove(5, KEYS, input(5));
    assertValid(r, 5);
    assert.equal(r.attempts[0]!.device, "A#0");
    assert.equal(r.prover, "S#2", "failover goes to the spare first");
    assert.deepEqual(r.verifiers, ["B#1"]);
  });

  it("all devices failing: a clear error naming every attempt", async () => {
    const [a, b, c] = fakes(["A", { prove: "throw" }], ["B", { prove: "throw" }], ["C", { prove: "throw" }]);
    const p = pool([a!, b!, c!]);
    await assert.rejects(p.prove("batch-1", KEYS, input(1)), (e: unknown) => {
      assert.ok(e instanceof ProverPoolError);
      assert.equal(e.jobId, "batch-1");
      assert.deepEqual(e.attempts.map((x) => x.device), ["A#0", "B#1", "C#2"]);
      for (const id of ["A#0", "B#1", "C#2"]) assert.match(e.message, new RegExp(`prove on ${id}: error \\(${id[0]}: device error\\)`));
      assert.match(e.message, /^job batch-1: /);
      return true;
    });
    assert.equal(p.metrics().failed, 1);
    // with every device cooling down, a new job fails at once instead of hanging
    await assert.rejects(p.prove("batch-2", KEYS, input(2)), /no healthy device to prove on/);
  });

  it("maxAttempts bounds the prove attempts", async () => {
    const [a, b, c, d] = fakes(["A", { prove: "throw" }], ["B", { prove: "throw" }], ["C"], ["D"]);
    const p = pool([a!, b!, c!, d!], { maxAttempts: 2 });
    await assert.rejects(p.prove("j", KEYS, input(1)), /all 2 prove attempts used/);
    assert.equal(c!.proveCalls, 0);
  });

  it("unhealthy devices are retried after the cool-down", async () => {
    const [a, b, c] = fakes(["A", { prove: "throw", faultyCalls: 1 }], ["B"], ["C"]);
    const p = pool([a!, b!, c!], { coolDownMs: 60 });
    await p.prove(1, KEYS, input(1));
    assert.equal(p.health()[0]!.unhealthy, true);
    await sleep(80);
    assert.equal(p.health()[0]!.unhealthy, false);
    const r = await p.prove(2, KEYS, input(2));
    assert.equal(r.prover, "A#0");
    assert.equal(p.health()[0]!.consecutiveFailures, 0);
    assert.equal(p.health()[0]!.counts.failures, 1);
  });

  it("many concurrent jobs: dispatched and resolved in submission order, each exactly once, one job per device", async () => {
    const dispatch: number[] = [];
    const ds = fakes(["A", { proveMs: 7 }], ["B", { proveMs: 3 }], ["C", { proveMs: 11 }], ["D", { proveMs: 5 }]);
    for (const d of ds) {
      const prove = d.prove.bind(d);
      d.prove = (k, i) => (dispatch.push(i.x as number), prove(k, i));
    }
    const p = pool(ds);
    const N = 60;
    const resolved: number[] = [];
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        p.prove(`job-${i}`, KEYS, input(i), String(i)).then((r) => {
          resolved.push(i);
          return r;
        }),
      ),
    );
    assert.deepEqual(resolved, Array.from({ length: N }, (_, i) => i), "resolved in order, each once");
    assert.deepEqual(dispatch, Array.from({ length: N }, (_, i) => i), "dispatched in order, nothing proved twice");
    results.forEach((r, i) => {
      assert.equal(r.jobId, `job-${i}`);
      assertValid(r, i);
    });
    for (const d of ds) assert.equal(d.maxActive, 1, `${d.name} ran one call at a time`);
    const m = p.metrics();
    assert.equal(m.completed, N);
    assert.equal(m.queueDepth, 0);
    assert.equal(m.inFlight, 0);
    assert.equal(m.devices.reduce((s, d) => s + d.counts.proofs, 0), N);
    assert.equal(m.devices.reduce((s, d) => s + d.counts.verifications, 0), N);
    assert.ok(ds.filter((d) => d.proveCalls > 0).length >= 3, "work spread over the devices");
  });

  it("faults under load: nothing lost or duplicated", async () => {
    const ds = fakes(["A", { prove: "throw", faultyCalls: 3 }], ["B", { prove: "invalid", faultyCalls: 2 }], ["C"], ["D"]);
    const p = pool(ds, { coolDownMs: 20, maxAttempts: 6 });
    const N = 30;
    const settled = new Map<number, number>();
    await Promise.allSettled(
      Array.from({ length: N }, (_, i) =>
        p.prove(i, KEYS, input(i)).then(
          (r) => (assertValid(r, i), settled.set(i, (settled.get(i) ?? 0) + 1)),
          () => settled.set(i, (settled.get(i) ?? 0) + 1),
        ),
      ),
    );
    assert.equal(settled.size, N);
    assert.ok([...settled.values()].every((n) => n === 1));
    const m = p.metrics();
    assert.equal(m.completed + m.failed, N);
  });

  it("duplicate pending job ids are refused", async () => {
    const [a, b] = fakes(["A", { proveMs: 20 }], ["B"]);
    const p = pool([a!, b!]);
    const first = p.prove("same", KEYS, input(1));
    await assert.rejects(p.prove("same", KEYS, input(1)), /already pending/);
    await first;
    await p.prove("same", KEYS, input(1)); // fine once the first has settled
  });

  it("prepare for job k+1 runs while job k proves (two-stage pipeline)", async () => {
    const events: string[] = [];
    const ds = fakes(["A", { proveMs: 40 }], ["B", { proveMs: 40 }]);
    for (const d of ds) {
      const prove = d.prove.bind(d);
      d.prove = async (k, i) => {
        events.push(`prove+${i.x}`);
        const r = await prove(k, i);
        events.push(`prove-${i.x}`);
        return r;
      };
    }
    const p = new ProverPool<number>(ds, {
      prepare: async (_id, n) => {
        events.push(`prep+${n}`);
        await sleep(30);
        events.push(`prep-${n}`);
        return { x: n };
      },
    });
    const t0 = performance.now();
    const rs = await Promise.all([0, 1, 2, 3].map((n) => p.prove(n, KEYS, n)));
    const elapsed = performance.now() - t0;
    rs.forEach((r, i) => assertValid(r, i));
    assert.ok(events.indexOf("prep+1") < events.indexOf("prove-0"), `job 1 prepared while job 0 proved: ${events.join(" ")}`);
    const preps = events.filter((e) => e.startsWith("prep+")).map((e) => Number(e.slice(5)));
    assert.deepEqual(preps, [0, 1, 2, 3], "prepared in order, one at a time");
    assert.ok(elapsed < 4 * (30 + 40), `pipelined: ${elapsed.toFixed(0)} ms`);
    const m = p.metrics();
    assert.equal(m.latencyMs.prepare.count, 4);
    assert.ok(m.latencyMs.prepare.p50 >= 25);
    await p.close();
  });

  it("a failing prepare rejects only its job", async () => {
    const ds = fakes(["A"], ["B"]);
    const p = new ProverPool<number>(ds, { prepare: (_id, n) => (n === 1 ? Promise.reject(new Error("bad witness")) : { x: n }) });
    const rs = await Promise.allSettled([0, 1, 2].map((n) => p.prove(n, KEYS, n)));
    assert.equal(rs[0]!.status, "fulfilled");
    assert.equal(rs[1]!.status, "rejected");
    assert.match(String((rs[1] as PromiseRejectedResult).reason), /prepare failed: bad witness/);
    assert.equal(rs[2]!.status, "fulfilled");
    assert.ok(p.health().every((h) => !h.unhealthy));
    await p.close();
  });

  it("metrics reflect what happened", async () => {
    const [a, b, c] = fakes(["A", { prove: "throw", faultyCalls: 1, proveMs: 10 }], ["B", { proveMs: 10 }], ["C", { proveMs: 10 }]);
    const p = pool([a!, b!, c!], { coolDownMs: 1 });
    await Promise.all([0, 1, 2, 3, 4, 5].map((x) => p.prove(x, KEYS, input(x))));
    const m = p.metrics();
    assert.deepEqual(Object.keys(m.latencyMs).sort(), ["prepare", "prove", "queueWait", "total", "verify"]);
    assert.equal(m.submitted, 6);
    assert.equal(m.completed, 6);
    assert.equal(m.failed, 0);
    assert.equal(m.queueDepth, 0);
    assert.equal(m.latencyMs.prove.count, 6, "successful prove calls");
    assert.equal(m.latencyMs.verify.count, 6);
    assert.equal(m.latencyMs.queueWait.count, 6);
    assert.equal(m.latencyMs.total.count, 6);
    assert.ok(m.latencyMs.prove.p50 >= 8 && m.latencyMs.prove.p50 <= m.latencyMs.prove.p90 && m.latencyMs.prove.p90 <= m.latencyMs.prove.p99);
    assert.ok(m.proofsPerSecond > 0);
    assert.equal(m.devices[0]!.counts.failures, 1);
    assert.equal(m.devices.reduce((s, d) => s + d.counts.proofs, 0), 6);
    assert.doesNotThrow(() => JSON.stringify(m), "a plain object");
  });

  it("percentile is nearest-rank", () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.equal(percentile(v, 50), 50);
    assert.equal(percentile(v, 90), 90);
    assert.equal(percentile(v, 99), 99);
    assert.equal(percentile([], 50), 0);
  });
});
