/**
 * `npm run prover-worker -- --queue URL`: a prover worker. It takes proof jobs from the prover queue
 * (pg-boss on the URL `npm run prover-queue` printed), proves each with this machine's prover and
 * completes the job with the proof; the sequencer verifies every proof before posting it
 * (fpga-prover/queue/README.md).
 *
 *   npm run prover-worker -- --queue postgres://... [--worker-id ID] [--device auto|native|snarkjs]
 *                            [--queue-name prove-batch] [--poll-ms 500]
 *
 * One job at a time; one log line per job. An input the circuit refuses (its witness fails) is answered
 * as such (`inputRefused`), not retried: the sequencer finds the refused transaction itself. SIGTERM or Ctrl-C: the job in hand (if any) is handed back
 * to the queue at once, and the worker exits 0. A job that excludes this worker (it returned a bad proof
 * for it) is handed back too. The artifacts named in a job (wasm, zkey) must exist at the same paths here.
 *
 * --fault is a TEST FAULT INJECTOR (test/fpga-prover/proverQueue.test.ts), never for production; the
 * worker says so on every job it spoils:
 *   bad-proof     answers with a proof that does not verify (pi_a and pi_c swapped)
 *   projective    answers with its valid proof written with pi_a as a projective point (z = 2): snarkjs still
 *                 verifies it, the custodian would read another point
 *   false-refusal answers that the circuit refuses the input, whatever the input
 *   stall         proves, then waits --stall-ms before answering (its attempt expires meanwhile)
 *   die-mid-job   proves, then kills itself with SIGKILL before answering
 */
import { Command, Option } from "commander";
import { BASE_FIELD_MODULUS } from "../sequencer/crypto/field.ts";
import { hostname } from "node:os";
import type { Job, PgBoss } from "pg-boss";
import type { CircuitKeys, ProvingDevice } from "../fpga-prover/device.ts";
import { isNativeAvailable, nativeUnavailableReason, NativeDevice } from "../fpga-prover/nativeDevice.ts";
import { SnarkjsDevice } from "../fpga-prover/snarkjsDevice.ts";
import { isWitnessFailure } from "../fpga-prover/pool/index.ts";
import { connectBoss, DEFAULT_QUEUE } from "../fpga-prover/queue/jobEngine.ts";
import { PROOF_JOB_VERSION, type ProofAnswer, type ProofJob } from "../fpga-prover/queue/queueDevice.ts";

const FAULTS = ["bad-proof", "projective", "false-refusal", "stall", "die-mid-job"] as const;
type Fault = (typeof FAULTS)[number];

const opts = new Command("prover-worker")
  .description("prove jobs from the prover queue")
  .requiredOption("--queue <url>", "the prover queue's PostgreSQL URL (npm run prover-queue prints it)")
  .option("--worker-id <id>", "this worker's name in logs and answers", `${hostname()}-${process.pid}`)
  .addOption(new Option("--device <kind>", "prover backend (auto: native when built, else snarkjs)").choices(["auto", "native", "snarkjs"]).default("auto"))
  .option("--queue-name <name>", "pg-boss queue", DEFAULT_QUEUE)
  .option("--poll-ms <ms>", "wait between empty fetches", "500")
  .addOption(new Option("--fault <kind>", "TEST FAULT INJECTOR, never in production").choices([...FAULTS]))
  .option("--stall-ms <ms>", "with --fault stall: how long to stall", "10000")
  .parse()
  .opts<{ queue: string; workerId: string; device: string; queueName: string; pollMs: string; fault?: Fault; stallMs: string }>();

const me = opts.workerId;
const log = (line: string) => console.log(`[worker ${me}] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pollMs = Number(opts.pollMs);

function makeDevice(kind: string): ProvingDevice {
  if (kind === "snarkjs") return new SnarkjsDevice();
  if (isNativeAvailable()) return new NativeDevice();
  if (kind === "native") throw new Error(`--device native: ${nativeUnavailableReason()}`);
  log(`native prover unavailable (${nativeUnavailableReason()}); proving with snarkjs`);
  return new SnarkjsDevice();
}

const device = makeDevice(opts.device);
const boss: PgBoss = await connectBoss(opts.queue, { queue: opts.queueName, onError: (e) => log(`pg-boss: ${e.message}`) });
let stopping = false;
let inHand: Job<ProofJob> | undefined;

const stop = async (why: string) => {
  if (stopping) return;
  stopping = true;
  const job = inHand;
  if (job) await boss.fail(opts.queueName, { id: job.id, retryCount: job.retryCount }, { worker: me, error: `worker stopped (${why})` }).catch(() => {});
  log(`stopping (${why})${job ? `, job ${job.id} handed back` : ""}`);
  await boss.stop({ graceful: false, close: true }).catch(() => {});
  process.exit(0);
};
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGINT", () => void stop("SIGINT"));

const affected = (r: unknown) => (r as { affected?: number }).affected ?? 0;

async function handle(job: Job<ProofJob>): Promise<void> {
  const attempt = { id: job.id, retryCount: job.retryCount };
  const { data } = job;
  const name = `job ${job.id} (label ${data.label}, try ${job.retryCount})`;
  if (data.v !== PROOF_JOB_VERSION) {
    await boss.fail(opts.queueName, attempt, { worker: me, error: `job format v${String(data.v)}, this worker reads v${PROOF_JOB_VERSION}` });
    log(`${name}: refused, unknown job format`);
    return;
  }
  if (data.exclude.includes(me)) {
    await boss.fail(opts.queueName, attempt, { worker: me, error: "excluded: this worker's proof was refused" });
    log(`${name}: handed back, this worker is excluded from it`);
    await sleep(Math.max(2_000, 4 * pollMs)); // let another worker take it (each hand-back uses one of its retries)
    return;
  }
  log(`${name}: taken`);
  if (opts.fault === "false-refusal") {
    const accepted = affected(await boss.complete(opts.queueName, attempt, { worker: me, inputRefused: "TEST FAULT false-refusal: Assert Failed" })) === 1;
    log(`${name}: TEST FAULT false-refusal: answered that the circuit refuses the input, answer ${accepted ? "accepted" : "refused by the queue"}`);
    return;
  }
  const keys: CircuitKeys = { wasm: data.keys.wasm, zkey: data.keys.zkey, vkey: null };
  const t0 = performance.now();
  let answer: ProofAnswer;
  try {
    const r = await device.prove(keys, data.input);
    answer = { worker: me, proof: r.proof, publicSignals: r.publicSignals, timings: { witnessMs: r.timings.witnessMs, proveMs: r.timings.proveMs } };
  } catch (e) {
    const message = (e as Error).message;
    if (isWitnessFailure(message)) {
      // an answer, not a fault of this worker: the sequencer finds the refused transaction itself
      const accepted = affected(await boss.complete(opts.queueName, attempt, { worker: me, inputRefused: message })) === 1;
      log(`${name}: the circuit refuses the input (${message.split("\n")[0]}), answer ${accepted ? "accepted" : "refused by the queue"}`);
      return;
    }
    await boss.fail(opts.queueName, attempt, { worker: me, error: message });
    log(`${name}: proving failed: ${message}`);
    return;
  }
  const ms = Math.round(performance.now() - t0);
  if (opts.fault === "bad-proof") {
    answer.proof = { ...answer.proof, pi_a: answer.proof.pi_c, pi_c: answer.proof.pi_a };
    log(`${name}: TEST FAULT bad-proof: answering with a proof that does not verify`);
  } else if (opts.fault === "projective") {
    // (x, y, 1) as (4x, 8y, 2): the same point in Jacobian coordinates, mod the base field
    const Q = BASE_FIELD_MODULUS;
    const [x, y] = [BigInt(answer.proof.pi_a[0]!), BigInt(answer.proof.pi_a[1]!)];
    answer.proof = { ...answer.proof, pi_a: [String((4n * x) % Q), String((8n * y) % Q), "2"] };
    log(`${name}: TEST FAULT projective: answering with its proof's pi_a in projective coordinates`);
  } else if (opts.fault === "die-mid-job") {
    log(`${name}: TEST FAULT die-mid-job: SIGKILL before answering`);
    process.kill(process.pid, "SIGKILL");
    await sleep(60_000);
  } else if (opts.fault === "stall") {
    log(`${name}: TEST FAULT stall: answering in ${opts.stallMs} ms (the job expires after ${job.expireInSeconds} s)`);
    await sleep(Number(opts.stallMs));
  }
  const accepted = affected(await boss.complete(opts.queueName, attempt, answer)) === 1;
  log(`${name}: proved in ${ms} ms with ${device.name}, answer ${accepted ? "accepted" : "refused by the queue (this attempt expired; another worker has the job)"}`);
}

log(`ready on queue ${opts.queueName} (device ${device.name}${opts.fault ? `, TEST FAULT ${opts.fault}` : ""})`);
while (!stopping) {
  let jobs: Job<ProofJob>[];
  try {
    jobs = await boss.fetch<ProofJob>(opts.queueName, { batchSize: 1 });
  } catch (e) {
    if (stopping) break;
    log(`fetch failed: ${(e as Error).message}`);
    await sleep(pollMs);
    continue;
  }
  const job = jobs[0];
  if (!job) {
    await sleep(pollMs);
    continue;
  }
  inHand = job;
  try {
    await handle(job);
  } catch (e) {
    log(`job ${job.id}: ${(e as Error).message}`);
  }
  inHand = undefined;
}
