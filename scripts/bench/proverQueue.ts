/**
 * The prover queue's round-trip overhead on a tiny circuit (test/fixtures/circuits/tinyProduct.circom,
 * proofs of a few ms): the same proofs made locally (SnarkjsDevice, then verified) and through the queue
 * (a job engine and one worker process started here, QueueProver), one after another after a warm-up.
 * The difference is what the queue adds per proof: the worker's fetch polling, the prover's result
 * polling, and the round trips to PostgreSQL.
 *
 *   npx tsx scripts/bench/proverQueue.ts [--runs 10] [--worker-poll-ms 500] [--prover-poll-ms 200]
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as snarkjs from "snarkjs";
import { buildCircuit, REPO_ROOT } from "../build/circuitBuild.ts";
import { terminateSnarkjsCurve } from "../setup/zkLibs.ts";
import { spawnJobEngine } from "../proverQueue.ts";
import { SnarkjsDevice } from "../../fpga-prover/snarkjsDevice.ts";
import { QueueProver } from "../../fpga-prover/queue/queueProver.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "10" }, "worker-poll-ms": { type: "string", default: "500" }, "prover-poll-ms": { type: "string", default: "200" } } });
const runs = Number(values.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const build = await buildCircuit({
  name: "verifier_test_tiny_product",
  mainSource: await readFile(join(REPO_ROOT, "test", "fixtures", "circuits", "tinyProduct.circom"), "utf8"),
  setup: "dev",
  log: () => {},
});
const keys = { wasm: build.wasm, zkey: build.zkey, vkey: JSON.parse(await readFile(build.vkey, "utf8")) };
const job = (n: number) => {
  const factors = [n + 2, 3, 5, 7, 11, 13].map(BigInt);
  const product = factors.reduce((a, b) => a * b, 1n).toString();
  return { input: { product, factors: factors.map(String), k: String(n) }, expected: product };
};

const device = new SnarkjsDevice();
const local: number[] = [];
for (let n = 0; n <= runs; n++) {
  const t0 = performance.now();
  const r = await device.prove(keys, job(n).input);
  if (!(await snarkjs.groth16.verify(keys.vkey, r.publicSignals, r.proof))) throw new Error("local proof does not verify");
  if (n > 0) local.push(performance.now() - t0);
}

const engine = await spawnJobEngine();
const worker = spawn(process.execPath, ["--import", "tsx", "scripts/proverWorker.ts", "--queue", engine.url, "--device", "snarkjs", "--poll-ms", values["worker-poll-ms"]!], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
await new Promise<void>((done) => worker.stdout!.on("data", (b: Buffer) => b.toString().includes("ready on queue") && done()));
const prover = await QueueProver.connect(engine.url, { pollMs: Number(values["prover-poll-ms"]), log: console.error });
const queued: number[] = [];
const workerSide: number[] = [];
for (let n = 0; n <= runs; n++) {
  const t0 = performance.now();
  const r = await prover.prove(n, keys, job(n).input, [job(n).expected]);
  if (n > 0) queued.push(performance.now() - t0), workerSide.push(r.timings.witnessMs + r.timings.proveMs);
}
await prover.close();
worker.kill("SIGTERM");
await new Promise((r) => worker.once("exit", r));
await engine.stop();
await terminateSnarkjsCurve();

const f = (x: number) => `${x.toFixed(0)} ms`;
console.log(`tinyProduct, ${runs} proofs each, medians (worker polls every ${values["worker-poll-ms"]} ms, the prover every ${values["prover-poll-ms"]} ms):`);
console.log(`  local prove + verify:            ${f(median(local))}`);
console.log(`  through the queue (end to end):  ${f(median(queued))}   (worker's witness + prove: ${f(median(workerSide))})`);
console.log(`  queue overhead per proof:        ${f(median(queued) - median(local))}`);
