/**
 * `npm run bench:api`: signed orders through the network API from separate load-generator processes
 * (apiLoad.ts; half over the WebSocket, half over HTTP batch requests) on loopback, beside the
 * in-process throughput of the same orders measured in the same run (Sequencer.placeOrders with the
 * same verifier, and the matching engine alone). Prints accepted orders per second, latency p50/p99,
 * refusals by code and lost orders (sent without an answer, or answered "accepted" without the engine
 * having accepted it: must be 0).
 *
 *   npm run bench:api -- [--orders=5000] [--procs=2] [--window=48] [--batch=24]
 *                        [--verifier=native,none-unsafe-bench,js] [--js-orders=100] [--encoding=binary,json]
 *                        [--log=sqlite|sqlite-blocking|none] [--history=store,none] [--warmup=2000] [--repeat=3]
 *
 * --log: sqlite (default) logs every accepted order durably before it is acknowledged, as the service
 * does (SqliteStore with background sync, as sequencer/process/main.ts opens it: one commit per intake
 * group, the answer once the WAL is fsynced; in a temporary directory); sqlite-blocking opens it as the
 * service did before (fsync and SQLite's automatic checkpoints inside the commit, on the JavaScript
 * thread); none runs without a log (in-memory only), to show what durability costs. The log column is
 * the time the JavaScript thread spent in each commit (mean / max) during the measured runs.
 *
 * --history: store gives the server the trade-history store as the sequencer process does (`history.db`,
 * written once the commands behind the fills are durable, by a worker thread: sequencer/api/backgroundFillStore.ts);
 * none runs without it. Each listed mode is a row, so the default shows what keeping the history costs beside
 * not keeping it, in the same run; the history column is the time each write took on the JavaScript thread
 * (handing it to the worker). Snapshots are off: with no chain
 * here no batch ever drains the pending transactions, so a snapshot would carry every fill of the run,
 * which the service never does (their cost is in `npm run bench:log`).
 *
 * --warmup: before each verifier's measured runs, its first --warmup orders per generator go through the
 * API once, unmeasured, on a fresh sequencer (JIT compilation of the server's and the generators' paths
 * would otherwise land in a ~1 s run's p99). --repeat: each row is that many runs (a fresh sequencer each,
 * the same orders), summed: throughput over their total time, percentiles over all their orders. *
 * --encoding: how orders travel (apiLoad.ts): binary order records (WebSocket frames and HTTP bodies of
 * --batch orders), or JSON (one WebSocket message per order, HTTP batches of --batch orders); each
 * verifier runs once per encoding, so the rows compare them in the same run.
 *
 * --orders is per generator (signed before anything is measured, with the native signer: apiOrders.ts). Verifiers: js (the reference, ~20 ms per signature: run on --js-orders only),
 * native (sequencer/crypto/nativeSignatureVerifier.ts defaultSignatureVerifier(), when present), and
 * none-unsafe-bench, which ACCEPTS EVERY SIGNATURE: it exists only here, to measure the ceiling of the
 * API and engine without verification, and is never a security configuration.
 */
import { fork, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../../sequencer/persistence/sqliteStore.ts";
import { BackgroundFillStore } from "../../sequencer/api/backgroundFillStore.ts";
import { fileURLToPath } from "node:url";
import { createApiServer } from "../../sequencer/api/server.ts";
import type { ChainContext } from "../../sequencer/chain/custodianClient.ts";
import { jsSignatureVerifier, type SignatureVerifier } from "../../sequencer/crypto/signatureVerifier.ts";
import { TxType } from "../../sequencer/protocol/constants.ts";
import type { Order, Signed } from "../../sequencer/protocol/messages.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { Sequencer } from "../../sequencer/service/sequencer.ts";
import type { VerifiedProver } from "../../fpga-prover/prover.ts";
import { BENCH_MARKET, generatorAccounts, signedOrders } from "./apiOrders.ts";
import type { Encoding, Go, LoadConfig, LoadReport } from "./apiLoad.ts";
import { int, machineLine, percentile, progress, table } from "./util.ts";

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? dflt;
const ORDERS = Number(flag("orders", "5000"));
const PROCS = Number(flag("procs", "2"));
const WINDOW = Number(flag("window", "48"));
const BATCH = Number(flag("batch", "24"));
const JS_ORDERS = Number(flag("js-orders", "100"));
const VERIFIERS = flag("verifier", "native,none-unsafe-bench,js").split(",");
const ENCODINGS = flag("encoding", "binary,json").split(",") as Encoding[];
const LOG = flag("log", "sqlite");
const WARMUP = Number(flag("warmup", "2000"));
const REPEAT = Number(flag("repeat", "3"));
const HISTORIES = flag("history", "store,none").split(",") as History[];
type History = "store" | "none";
if (HISTORIES.some((h) => h !== "store" && h !== "none")) throw new Error(`--history=${HISTORIES.join(",")}: store, none or both`);
/** Milliseconds the JavaScript thread spent in each trade-history write since the last reset. */
let historyMs: number[] = [];
if (!["sqlite", "sqlite-blocking", "none"].includes(LOG)) throw new Error(`--log=${LOG}: sqlite, sqlite-blocking or none`);
/** Milliseconds the JavaScript thread spent in each log commit since the last reset. */
let commitMs: number[] = [];
const logDir = mkdtempSync(join(tmpdir(), "bench-api-"));
let logFiles = 0;

/** NOT A SECURITY CONFIGURATION: accepts every signature. Only for measuring the API + engine ceiling. */
const unsafeNoVerifier: SignatureVerifier = { name: "none-unsafe-bench", verifyBatch: (checks) => checks.map(() => true) };

async function verifierNamed(name: string): Promise<SignatureVerifier | string> {
  if (name === "js") return jsSignatureVerifier;
  if (name === "none-unsafe-bench") return unsafeNoVerifier;
  if (name === "native") {
    const path = "../../sequencer/crypto/nativeSignatureVerifier.ts";
    try {
      const m = (await import(path)) as { defaultSignatureVerifier: () => SignatureVerifier | Promise<SignatureVerifier> };
      return await m.defaultSignatureVerifier();
    } catch (e) {
      return `not available (${(e as Error).message.split("\n")[0]})`;
    }
  }
  throw new Error(`unknown verifier ${name} (js, native, none-unsafe-bench)`);
}

/** A fresh log as --log says, its commits timed into commitMs (or none). */
function benchStore(): SqliteStore | undefined {
  if (LOG === "none") return undefined;
  const store = new SqliteStore(join(logDir, `log-${logFiles++}.db`), LOG === "sqlite" ? { sync: "background" } : {});
  const commit = store.commit.bind(store);
  store.commit = (now?: boolean) => {
    const t = performance.now();
    commit(now);
    commitMs.push(performance.now() - t);
  };
  return store;
}

/** A chain-less sequencer with every generator's accounts registered and funded, on a fresh log (benchStore). */
function benchSequencer(verifier: SignatureVerifier): Sequencer {
  const store = benchStore();
  const s = new Sequencer({ params: TEST_PARAMS, keys: { wasm: "", zkey: "", vkey: null }, prover: {} as VerifiedProver, chain: {} as ChainContext, verifier, store, snapshotEvery: 0 });
  s.acceptRequest({ type: TxType.REGISTER_MARKET, ...BENCH_MARKET });
  for (let g = 0; g < PROCS; g++) {
    const { sellers, buyers } = generatorAccounts(g);
    for (const t of sellers) {
      s.acceptRequest({ type: TxType.REGISTER_KEY, accountId: t.accountId, pubKey: t.pubKey });
      s.acceptRequest({ type: TxType.DEPOSIT, accountId: t.accountId, tokenId: 1, amount: 10n ** 20n });
    }
    for (const t of buyers) {
      s.acceptRequest({ type: TxType.REGISTER_KEY, accountId: t.accountId, pubKey: t.pubKey });
      s.acceptRequest({ type: TxType.DEPOSIT, accountId: t.accountId, tokenId: 0, amount: 10n ** 24n });
    }
  }
  return s;
}


/** The same orders placed in-process (generators' orders interleaved), in groups like the API's. */
async function inProcess(verifier: SignatureVerifier, perGen: number): Promise<{ placeOrders: number; engine: number }> {
  const lists = Array.from({ length: PROCS }, (_, g) => signedOrders(g, perGen));
  const orders: Signed<Order>[] = [];
  for (let i = 0; i < perGen; i++) for (const l of lists) orders.push(l[i]!);
  const s = benchSequencer(verifier);
  let t = performance.now();
  for (let i = 0; i < orders.length; i += 1024) await s.placeOrders(orders.slice(i, i + 1024));
  const placeOrders = orders.length / ((performance.now() - t) / 1000);
  const e = benchSequencer(verifier).engine;
  const time = Math.floor(Date.now() / 1000);
  t = performance.now();
  for (const order of orders) e.execute({ kind: "place", time, order });
  return { placeOrders, engine: orders.length / ((performance.now() - t) / 1000) };
}

function startGenerators(): Promise<ChildProcess[]> {
  const script = fileURLToPath(new URL("./apiLoad.ts", import.meta.url));
  return Promise.all(
    Array.from({ length: PROCS }, (_, g) => {
      const config: LoadConfig = { g, count: ORDERS, transport: g % 2 === 0 ? "ws" : "http", window: WINDOW, batch: BATCH };
      const child = fork(script, [], { env: { ...process.env, BENCH_API_LOAD: JSON.stringify(config) }, execArgv: process.execArgv });
      return new Promise<ChildProcess>((resolve, reject) => {
        child.on("message", (m: { type: string; done?: number; count?: number }) => {
          if (m.type === "signing") progress(`generator ${g}: signing orders ${m.done}/${m.count} (cached for later runs)`);
          if (m.type === "ready") resolve(child);
        });
        child.once("exit", (code) => reject(new Error(`generator ${g} exited with ${code}`)));
      });
    }),
  );
}

/** A fresh trade-history store (in the bench's directory, as main.ts opens `history.db`: writes on a worker), the JavaScript thread's time in its writes timed into historyMs. */
function benchHistory(): BackgroundFillStore {
  const store = new BackgroundFillStore(join(logDir, `history-${logFiles++}.db`), (e) => {
    throw e;
  });
  const write = store.write.bind(store);
  store.write = (writes) => {
    const t = performance.now();
    write(writes);
    historyMs.push(performance.now() - t);
  };
  return store;
}

/** One run through the API on a fresh sequencer: every generator sends its first `perGen` orders. */
async function runOnce(verifier: SignatureVerifier, gens: ChildProcess[], perGen: number, encoding: Encoding, history: History) {
  const s = benchSequencer(verifier);
  let engineAccepted = 0;
  s.events.on("engine", (events) => {
    for (const e of events) if (e.type === "accepted") engineAccepted++;
  });
  const fillStore = history === "store" ? benchHistory() : undefined;
  const app = createApiServer(s, { rateLimits: { perSource: null }, stream: { snapshotIntervalMs: 0 }, fillStore });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  const cpu = process.cpuUsage();
  commitMs = [];
  historyMs = [];
  const reports = await Promise.all(
    gens.map((child) => new Promise<LoadReport>((resolve) => {
      const on = (m: { type: string; report: LoadReport }) => {
        if (m.type !== "done") return;
        child.off("message", on);
        resolve(m.report);
      };
      child.on("message", on);
      child.send({ type: "go", url, count: perGen, encoding } satisfies Go);
    })),
  );
  const used = process.cpuUsage(cpu);
  const run = {
    reports,
    engineAccepted,
    serverCpuMs: (used.user + used.system) / 1000,
    seconds: (Math.max(...reports.map((r) => r.endMs)) - Math.min(...reports.map((r) => r.startMs))) / 1000,
    groups: app.api.intake.groups,
    groupedOrders: app.api.intake.orders,
    commitMs,
    historyMs,
  };
  await app.close();
  await fillStore?.close();
  return run;
}

/** REPEAT runs, summed: orders per second over their total time, latency percentiles over every order. */
async function throughApi(verifier: SignatureVerifier, gens: ChildProcess[], perGen: number, encoding: Encoding, history: History, repeat = REPEAT) {
  const runs: Awaited<ReturnType<typeof runOnce>>[] = [];
  for (let i = 0; i < repeat; i++) runs.push(await runOnce(verifier, gens, perGen, encoding, history));
  const reports = runs.flatMap((r) => r.reports);
  const sum = (f: (x: (typeof runs)[number]) => number) => runs.reduce((a, r) => a + f(r), 0);
  const accepted = reports.reduce((a, r) => a + r.accepted, 0);
  const sent = reports.reduce((a, r) => a + r.sent, 0);
  const lost = reports.reduce((a, r) => a + r.lost, 0) + Math.abs(sum((r) => r.engineAccepted) - accepted);
  const refused: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.refused)) refused[k] = (refused[k] ?? 0) + v;
  const byTransport = (t: "ws" | "http") => {
    const lat = reports.filter((r) => r.transport === t).flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
    return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
  };
  const all = reports.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
  return {
    sent, accepted, lost, refused, seconds: sum((r) => r.seconds), p50: percentile(all, 50), p99: percentile(all, 99),
    ws: byTransport("ws"), http: byTransport("http"), groups: { groups: sum((r) => r.groups), orders: sum((r) => r.groupedOrders) },
    serverCpuMs: sum((r) => r.serverCpuMs), generatorCpuMs: reports.reduce((a, r) => a + r.cpuMs, 0),
    commitMs: runs.flatMap((r) => r.commitMs),
    historyMs: runs.flatMap((r) => r.historyMs),
  };
}

/** "mean / max" of durations in ms, or "-" for none. */
const meanMax = (ms: number[]) => (ms.length ? `${(ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(3)} / ${Math.max(...ms).toFixed(1)}` : "-");

async function main(): Promise<void> {
  console.log(`## API load (${machineLine()})\n`);
  if (WARMUP > 0) console.log(`Warm-up: ${int(WARMUP)} orders per generator through the API before each verifier's runs, not measured.`);
  const logs = {
    sqlite: "SQLite, every accepted order fsynced (background sync, checkpoints on a worker) before its answer (snapshots off)",
    "sqlite-blocking": "SQLite, fsync and checkpoints inside each commit on the JavaScript thread (snapshots off)",
    none: "none (in memory only)",
  };
  console.log(`Log: ${logs[LOG as keyof typeof logs]}.`);
  console.log(`${PROCS} generator processes (${Math.ceil(PROCS / 2)} WebSocket, ${Math.floor(PROCS / 2)} HTTP), batches and binary frames of ${BATCH} orders, ${WINDOW} orders in flight each, ${int(ORDERS)} signed orders per generator, ${REPEAT} runs per row.\n`);
  const gens = await startGenerators();
  const rows: string[][] = [];
  const notes: string[] = [];
  try {
    for (const name of VERIFIERS) {
      const v = await verifierNamed(name);
      if (typeof v === "string") {
        notes.push(`verifier ${name}: ${v}`);
        continue;
      }
      const perGen = name === "js" ? Math.min(JS_ORDERS, ORDERS) : ORDERS;
      progress(`verifier ${name}: in-process run (${int(perGen * PROCS)} orders)`);
      const local = await inProcess(v, perGen);
      if (WARMUP > 0) {
        progress(`verifier ${name}: warm-up through the API (${int(Math.min(WARMUP, perGen) * PROCS)} orders, not measured)`);
        for (const encoding of ENCODINGS) await throughApi(v, gens, Math.min(WARMUP, perGen), encoding, HISTORIES[0]!, 1);
      }
      for (const encoding of ENCODINGS) for (const history of HISTORIES) {
        progress(`verifier ${name}: through the API, ${encoding} orders, trade history ${history === "store" ? "stored" : "not stored"}`);
        const r = await throughApi(v, gens, perGen, encoding, history);
        const label = name === "none-unsafe-bench" ? "none-unsafe-bench (NO signature check: ceiling only, NOT secure)" : v.name;
        rows.push([
          label, encoding, history === "store" ? "history.db" : "none", int(r.sent), int(r.accepted), int(r.accepted / r.seconds), `${r.p50.toFixed(2)} / ${r.p99.toFixed(2)}`,
          `${r.ws.p50.toFixed(2)} / ${r.ws.p99.toFixed(2)}`, `${r.http.p50.toFixed(2)} / ${r.http.p99.toFixed(2)}`,
          String(r.lost), Object.entries(r.refused).map(([k, n]) => `${k} ${n}`).join(", ") || "-",
          (r.groups.orders / Math.max(1, r.groups.groups)).toFixed(0),
          `${((r.serverCpuMs * 1000) / r.accepted).toFixed(0)} / ${((r.generatorCpuMs * 1000) / r.accepted).toFixed(0)}`,
          meanMax(r.commitMs), meanMax(r.historyMs),
          int(local.placeOrders), int(local.engine),
        ]);
        if (r.lost !== 0) notes.push(`verifier ${name}, ${encoding}, history ${history}: ${r.lost} ORDERS LOST`);
      }
    }
  } finally {
    for (const g of gens) g.kill();
    rmSync(logDir, { recursive: true, force: true });
  }
  console.log(table(
    ["verifier", "orders as", "trade history", "sent", "accepted", "accepted/s (API)", "latency p50 / p99 ms", "WS p50 / p99", "HTTP batch p50 / p99", "lost", "refused", "orders per verify call", "CPU µs per order: server / generators", "log commit mean / max ms", "history write mean / max ms", "in-process placeOrders/s", "engine alone/s"],
    rows,
    ["l", "l", "l", "r", "r", "r", "r", "r", "r", "r", "l", "r", "r", "r", "r", "r", "r"],
  ));
  for (const n of notes) console.log(`\n- ${n}`);
  console.log("\nHTTP latency is per batch request, binary WebSocket latency per frame (every order in it gets its latency).");
  console.log("CPU: user + system time of the server process (every thread: API, verifier, log) and of the generators, per accepted order.");
}

await main();
