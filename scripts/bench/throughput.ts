/**
 * `npm run bench:throughput`: a sustained signed order flow through the real pipeline, end to end: the
 * Sequencer's intake (signature checks, matching, margin), batch selection, witness, proof, the proof
 * checked, submitBatch on an in-process Hardhat chain whose custodian verifies it with the circuit's
 * generated Groth16 verifier. Prints one table: proven trades per second, constraints per trade,
 * microseconds per constraint, order-to-on-chain latency p50/p99, gas per trade and how full the batches
 * were, for the native prover, and beside it the same flow continued with snarkjs as the prover (the
 * sequencer's prover is swapped between the rows; everything else is the same run).
 *
 *   npm run bench:throughput -- [--params=production|test] [--batches=4] [--snarkjs-batches=1] [--traders=16]
 *                               [--depth=2] [--per-post=3] [--workers=1,2] [--derivatives=1]
 *
 * --params: the circuit (default production: PRODUCTION_PARAMS, the largest batch this toolchain builds;
 * its first build compiles for ~5 minutes and sets up a dev key (INSECURE), then it is cached under
 * build/circuits/). --batches: full batches measured per native row; --snarkjs-batches: per snarkjs row (0:
 * no snarkjs row). Three native rows, in one run: the baseline (one batch at a time, each posted alone);
 * --depth batches in flight (SequencerOptions.pipelineDepth) with the witness of the next batch computed
 * while the current one is proven (WitnessAheadProver: the native prover's two stages overlapped, never
 * two proofs at once); and --per-post batches posted by one submitBatches transaction
 * (batchesPerPost, with one more batch in flight so the prover keeps working while a group waits).
 * --workers: a row per count of prover worker processes (comma-separated; 0 or empty: none): a job engine
 * (embedded PostgreSQL, scripts/proverQueue.ts) and that many `scripts/proverWorker.ts --device native`
 * processes are started, and the sequencer proves through the queue (QueueProver: every proof verified
 * before posting) with one batch more in flight than there are workers, so none waits for work. On one
 * machine the workers share its cores; on several machines the same row is what `--prover-queue` gives.
 *
 * The flow: --traders traders (half sell WETH, half buy it with USDC) register their keys and deposit on
 * the custodian; those requests settle in unmeasured warm-up batches. Then crossing limit orders, signed
 * with the native signer, keep the queue at two batches' worth of trades (a new pair of orders whenever
 * fewer are pending), and the sequencer proves and posts batch after batch (Sequencer.runBatch). Latency
 * of a trade: from the signed order that made it being accepted, to the receipt of the batch that settled
 * it. Proven trades per second: trades settled over the wall time of the measured batches.
 *
 * With --derivatives=1 (the default) the flow trades a perpetual in the derivatives slots beside the spot
 * market: the admin registers the oracle key and an ETH perpetual, every trader also moves USDC into
 * derivatives collateral (signed transfers, proven in the warm-up), and the orders come in cycles of one
 * batch: `slots` spot pairs, then `derivSlots` perpetual pairs (a batch applies its spot slots first, so
 * this is the order that fills both kinds: sequencer/service/batchSelection.ts). A signed oracle update
 * (index price, no funding tick) is accepted at the start of a cycle when the last one is a minute old, so
 * every batch's derivatives trades carry one update, never two. --derivatives=0 leaves the derivatives
 * slots empty (spot trades only, as the first runs of this bench did).
 *
 * The "stages" column says what each batch spent where (in the pipelined row the stages of successive
 * batches overlap). Gas per trade counts each transaction once, however many batches it posted.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { network } from "hardhat";
import type { PublicClient, WalletClient } from "viem";
import { buildBatchCircuit } from "../build/batchCircuit.ts";
import { REPO_ROOT } from "../build/circuitBuild.ts";
import { spawnJobEngine } from "../proverQueue.ts";
import { QueueProver } from "../../fpga-prover/queue/queueProver.ts";
import { DEMO_ETH_PERPETUAL, deployDemoExchange, readArtifact, registerInstrument, send, setOracleKey, type Clients } from "../deploy/deployExchange.ts";
import { NativeDevice } from "../../fpga-prover/nativeDevice.ts";
import { SnarkjsDevice } from "../../fpga-prover/snarkjsDevice.ts";
import { SingleDeviceProver, type VerifiedProver } from "../../fpga-prover/prover.ts";
import { WitnessAheadProver } from "../../fpga-prover/witnessAheadProver.ts";
import { messageSigner, type MessageSigner } from "../../sequencer/crypto/nativeSigning.ts";
import { publicKeyOf } from "../../sequencer/crypto/babyjub.ts";
import { signOracleUpdate } from "../../sequencer/derivatives/oracleSigner.ts";
import { OrderType, Side, TimeInForce, instrumentMarketId } from "../../sequencer/protocol/constants.ts";
import { orderMessage, type Order } from "../../sequencer/protocol/messages.ts";
import { signTransfer } from "../../sequencer/protocol/signing.ts";
import { sliceTable } from "../../sequencer/protocol/volSlices.ts";
import { PRODUCTION_PARAMS, TEST_PARAMS, paramsId, type CircuitParams } from "../../sequencer/protocol/params.ts";
import { deposit, registerTradingKey } from "../../sequencer/sdk/custodian.ts";
import { Sequencer, type SequencerOptions } from "../../sequencer/service/sequencer.ts";
import type { PostedBatch } from "../../sequencer/service/batchPipeline.ts";
import { terminateSnarkjsCurve } from "../setup/zkLibs.ts";
import { trader } from "./fixtures.ts";
import { dur, int, machineLine, percentile, progress, section, stats, table } from "./util.ts";

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? dflt;
const PARAMS: CircuitParams = flag("params", "production") === "test" ? TEST_PARAMS : PRODUCTION_PARAMS;
const BATCHES = Number(flag("batches", "4"));
const SNARKJS_BATCHES = Number(flag("snarkjs-batches", "1"));
const TRADERS = Number(flag("traders", "16"));
const DEPTH = Number(flag("depth", "2"));
const PER_POST = Number(flag("per-post", "3"));
const DERIVATIVES = flag("derivatives", "1") !== "0" && PARAMS.derivSlots > 0;
const WORKERS = flag("workers", "1,2").split(",").filter((w) => w.trim() !== "").map(Number).filter((n) => n > 0);
if (WORKERS.some((n) => !Number.isInteger(n) || n > 8)) throw new RangeError("--workers: counts from 1 to 8, comma-separated");
if (!(DEPTH >= 1 && PER_POST >= 1)) throw new RangeError("--depth and --per-post: at least 1");
if (TRADERS < 2 || TRADERS % 2 || TRADERS > 18) throw new RangeError("--traders: an even number from 2 to 18 (the in-process chain funds 20 wallets)");

const USDC = 10n ** 6n;
const ETH = 10n ** 18n;
const PRICE_TICKS = 300_000n; // 3,000 USDC per WETH
const EXPIRY = 4_000_000_000;
/** The perpetual's index and order price: 3,000 USDC per ETH (1e-8 quote per ETH; ticks of 0.01 USDC). */
const INDEX_E8 = 3_000n * 10n ** 8n;
const PERP_TICKS = 300_000n;
/** The devnet's perpetual: lots of 0.01 ETH, IM 10% / MM 5%, funding capped at 0.05% per period. */
const PERPETUAL = DEMO_ETH_PERPETUAL;
/** The bench oracle's key: a fixed development key, INSECURE. */
const ORACLE_KEY = new Uint8Array(32).fill(9);
/** USDC each trader moves into collateral (sellers deposit it besides their WETH). */
const COLLATERAL = 1_000_000n * USDC;
/** A new oracle update when the last one is this old (seconds); MAX_ORACLE_AGE bounds how long its trades can wait. */
const ORACLE_EVERY_S = 60;

/** One measured row: what the batches of one prover settled, and when. */
type Row = { prover: string; batches: PostedBatch[]; wallMs: number; latenciesMs: number[]; gas: bigint[] };

async function main(): Promise<void> {
  section(`Throughput: proven trades per second through the real pipeline (${paramsId(PARAMS)})`);
  console.log(machineLine());
  progress("throughput: building the batch circuit (cached after the first build)");
  const t0 = performance.now();
  const circuit = await buildBatchCircuit(PARAMS);
  progress(`throughput: circuit ${int(circuit.nConstraints)} constraints (${circuit.cached ? "cached" : `built in ${dur(performance.now() - t0)}`})`);

  const { viem } = await network.create();
  const publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
  const wallets = (await viem.getWalletClients()) as unknown as WalletClient[];
  const operator = wallets[0]!;
  const as = (w: WalletClient): Clients => ({ publicClient, walletClient: w });
  const d = await deployDemoExchange(as(operator), { params: PARAMS, verifierSol: circuit.verifierSol, operator: operator.account!.address, refuseExits: true });
  const token = readArtifact("test/TestToken.sol", "TestToken");

  const native = new SingleDeviceProver(new NativeDevice());
  const options: SequencerOptions = {
    params: PARAMS,
    keys: { wasm: circuit.wasm, zkey: circuit.zkey, vkey: JSON.parse(readFileSync(circuit.vkey, "utf8")) },
    prover: native,
    chain: { publicClient, walletClient: operator, custodian: d.custodian },
    makerFeePpm: 100,
    takerFeePpm: 500,
  };
  const sequencer = new Sequencer(options);

  // Onboarding (unmeasured): keys registered, WETH to sellers and USDC to buyers, settled in batches.
  progress(`throughput: onboarding ${TRADERS} traders (${TRADERS * 2} requests, proven in warm-up batches)`);
  const traders = Array.from({ length: TRADERS }, (_, i) => ({ ...trader(i + 1), wallet: wallets[i + 1]! }));
  for (const [i, t] of traders.entries()) {
    const id = await registerTradingKey(as(t.wallet), d.custodian, t.pubKey);
    if (id !== t.accountId) throw new Error(`trader ${i}: the custodian assigned account ${id}, expected ${t.accountId}`);
    const [address, tokenId, amount] = i % 2 === 0 ? [d.weth, 1, 1000n * ETH] : [d.usdc, 0, 10_000_000n * USDC];
    await send(as(operator), address, token.abi, "mint", [t.wallet.account!.address, amount]);
    await deposit(as(t.wallet), d.custodian, address, tokenId, amount);
    if (DERIVATIVES && i % 2 === 0) {
      await send(as(operator), d.usdc, token.abi, "mint", [t.wallet.account!.address, COLLATERAL]);
      await deposit(as(t.wallet), d.custodian, d.usdc, 0, COLLATERAL);
    }
  }
  let perpetual = -1;
  if (DERIVATIVES) {
    await setOracleKey(as(operator), d.custodian, publicKeyOf(ORACLE_KEY));
    perpetual = await registerInstrument(as(operator), d.custodian, PERPETUAL);
  }
  await sequencer.syncRequests();
  const w0 = performance.now();
  const warmup = await sequencer.drain();
  let lastOracle = 0;
  /** Signs and accepts an update at the index (no funding tick: the epoch stays 0, every rate 0). */
  const publishOracle = async () => {
    lastOracle = Math.floor(Date.now() / 1000);
    await sequencer.acceptOracleUpdate(signOracleUpdate(ORACLE_KEY, {
      time: lastOracle, fundingEpoch: 0, prices: Array.from({ length: PARAMS.underlyings }, () => INDEX_E8),
      volSlices: sliceTable([], PARAMS.optionInstruments), rates: Array.from({ length: PARAMS.instruments }, () => 0n), settlement: null,
    }));
  };
  if (DERIVATIVES) {
    await publishOracle();
    for (const t of traders) {
      const transfer = { accountId: t.accountId, toCollateral: true, amount: COLLATERAL, nonce: sequencer.withdrawalNonce(t.accountId) };
      sequencer.requestTransfer(signTransfer(t.key, transfer));
    }
    warmup.push(...(await sequencer.drain()));
  }
  progress(`throughput: onboarding settled in ${warmup.length} batches (${dur(performance.now() - w0)})${DERIVATIVES ? `; perpetual ${perpetual} listed, ${int(Number(COLLATERAL / USDC))} USDC of collateral per trader` : ""}`);

  // The flow: seller s sells one lot at PRICE_TICKS (resting), buyer s buys it (taking): one trade per pair;
  // in cycles of a batch's slots: `slots` pairs on the spot market, then `derivSlots` on the perpetual.
  const cycle = PARAMS.slots + (DERIVATIVES ? PARAMS.derivSlots : 0);
  const signers = new Map<number, MessageSigner>(traders.map((t) => [t.accountId, messageSigner(t.key)]));
  const nextOrderId = new Map<number, bigint>();
  let pair = 0;
  const tradeAcceptedAt: number[] = []; // per trade, in queue order
  const order = (accountId: number, side: Side, onPerpetual: boolean): Order => {
    const orderId = nextOrderId.get(accountId) ?? 1n;
    nextOrderId.set(accountId, orderId + 1n);
    return {
      accountId, orderId, side, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, sizeLots: 1n, maxFeePpm: 1000, expiry: EXPIRY,
      ...(onPerpetual ? { marketId: instrumentMarketId(perpetual, 0, PARAMS.instruments), priceTicks: PERP_TICKS } : { marketId: d.marketId, priceTicks: PRICE_TICKS }),
    };
  };
  const placePair = async (): Promise<void> => {
    const inCycle = pair % cycle;
    const onPerpetual = inCycle >= PARAMS.slots;
    if (DERIVATIVES && inCycle === 0 && Date.now() / 1000 - lastOracle >= ORACLE_EVERY_S) await publishOracle();
    const k = pair++ % (TRADERS / 2);
    const seller = traders[2 * k]!.accountId;
    const buyer = traders[2 * k + 1]!.accountId;
    const orders = [order(seller, Side.SELL, onPerpetual), order(buyer, Side.BUY, onPerpetual)].map((o) => ({ ...o, signature: signers.get(o.accountId)!.sign(orderMessage(o)) }));
    const outcomes = await sequencer.placeOrders(orders);
    const fills = outcomes.flatMap((o) => ("events" in o ? o.events : [])).filter((e) => e.type === "fill").length;
    if (fills !== 1) throw new Error(`pair ${pair}: expected one fill, got ${JSON.stringify(outcomes, (_, v) => (typeof v === "bigint" ? v.toString() : v))}`);
    tradeAcceptedAt.push(performance.now());
  };

  let settled = 0;
  /** Tells the row the batches just posted: their trades' latencies, and the transactions that posted them. */
  const record = (row: Row | null, posted: readonly PostedBatch[], hashes: Set<string>) => {
    const at = performance.now();
    for (const p of posted) {
      if (row) {
        row.batches.push(p);
        for (let i = 0; i < p.transactions; i++) row.latenciesMs.push(at - tradeAcceptedAt[settled + i]!);
        hashes.add(p.txHash!);
      }
      settled += p.transactions;
    }
  };
  const measure = async (label: string, prover: VerifiedProver, batches: number, depth: number, perPost: number): Promise<Row> => {
    Object.assign(options, { prover, pipelineDepth: depth, batchesPerPost: perPost });
    const row: Row = { prover: label, batches: [], wallMs: 0, latenciesMs: [], gas: [] };
    const target = (depth + 1) * cycle; // enough queued to keep every batch in flight full
    const hashes = new Set<string>();
    while (sequencer.pendingTransactions < target) await placePair();
    const start = performance.now();
    while (row.batches.length < batches) {
      const posted = await sequencer.runBatches();
      if (!posted.length) throw new Error("nothing was posted although trades were pending");
      record(row, posted, hashes);
      progress(`throughput: ${label}: batches ${posted.map((p) => p.batchNumber).join(", ")} in one transaction: ${posted.reduce((n, p) => n + p.transactions, 0)} trades, prove ${dur(posted[0]!.timings.proveMs)}`);
      while (sequencer.pendingTransactions < target) await placePair();
    }
    row.wallMs = performance.now() - start;
    // Unmeasured: what is still in flight is posted, so the next row starts from an empty pipeline.
    options.pipelineDepth = 1;
    while (sequencer.batchesInFlight > 0) record(null, await sequencer.runBatches(), hashes);
    for (const hash of hashes) row.gas.push((await publicClient.getTransactionReceipt({ hash: hash as `0x${string}` })).gasUsed);
    return row;
  };

  /** A row proven by `n` worker processes through a job queue of its own (the engine started here). */
  const measureQueue = async (n: number): Promise<Row> => {
    const engine = await spawnJobEngine();
    const queue = `bench-throughput-${n}`;
    const workers = Array.from({ length: n }, (_, i) => spawn(
      process.execPath,
      ["--import", "tsx", "scripts/proverWorker.ts", "--queue", engine.url, "--queue-name", queue, "--worker-id", `bench-${i + 1}`, "--device", "native", "--poll-ms", "100"],
      { cwd: REPO_ROOT, stdio: "ignore" },
    ));
    let stopping = false;
    const exited = workers.map((w) => new Promise<void>((done) => w.once("exit", () => done())));
    // a worker that dies while the row runs (no native prover built, say) would leave its jobs to expire: fail at once
    const died = new Promise<never>((_, fail) => workers.forEach((w, i) => w.once("exit", (code, signal) => {
      if (!stopping) fail(new Error(`prover worker bench-${i + 1} exited (${signal ?? code}) during the queue row; run \`npm run prover-worker -- --device native\` to see why`));
    })));
    died.catch(() => {});
    const prover = await QueueProver.connect(engine.url, { queue, pollMs: 100, log: () => {} });
    try {
      return await Promise.race([died, measure(`queue, ${n} worker process${n > 1 ? "es" : ""} (native), ${n + 1} in flight`, prover, BATCHES, n + 1, 1)]);
    } finally {
      stopping = true;
      await prover.close();
      for (const w of workers) w.kill("SIGTERM");
      await Promise.all(exited);
      await engine.stop();
    }
  };

  const ahead = new WitnessAheadProver(new NativeDevice());
  const rows = [
    await measure("native, one batch at a time", native, BATCHES, 1, 1),
    await measure(`native, witness ahead, ${DEPTH} in flight`, ahead, BATCHES, DEPTH, 1),
    await measure(`native, witness ahead, ${PER_POST + 1} in flight, ${PER_POST} per transaction`, ahead, BATCHES, PER_POST + 1, PER_POST),
  ];
  for (const n of WORKERS) rows.push(await measureQueue(n));
  if (SNARKJS_BATCHES > 0) rows.push(await measure("snarkjs (baseline), one at a time", new SingleDeviceProver(new SnarkjsDevice()), SNARKJS_BATCHES, 1, 1));

  const slots = PARAMS.slots + PARAMS.derivSlots;
  const q = (xs: readonly number[], p: number) => percentile([...xs].sort((a, b) => a - b), p);
  const flow = DERIVATIVES ? `each batch's orders: ${PARAMS.slots} spot trades, then ${PARAMS.derivSlots} on the perpetual` : "spot trades only (the derivatives slots empty)";
  console.log(`\n${int(circuit.nConstraints)} constraints per batch of ${PARAMS.slots} spot + ${PARAMS.derivSlots} derivatives slots; ${flow}; ${traders.length} traders; proofs verified by the custodian's generated Groth16 verifier on an in-process Hardhat chain.\n`);
  console.log(table(
    ["prover and pipeline", "batches", "trades", "proven trades/s", "constraints/trade", "us/constraint (prove)", "latency p50", "latency p99", "gas/trade", "slots used", "transactions", "stages per batch (build / witness / prove / verify / post)"],
    rows.map((r) => {
      const trades = r.batches.reduce((s, b) => s + b.transactions, 0);
      const mean = (f: (b: PostedBatch) => number) => stats(r.batches.map(f)).mean;
      const gas = r.gas.reduce((s, g) => s + g, 0n);
      return [
        r.prover, r.batches.length, trades, (trades / (r.wallMs / 1000)).toFixed(2), int(circuit.nConstraints / (trades / r.batches.length)),
        ((mean((b) => b.timings.proveMs) * 1000) / circuit.nConstraints).toFixed(2), dur(q(r.latenciesMs, 50)), dur(q(r.latenciesMs, 99)),
        int(Number(gas) / trades), `${trades}/${r.batches.length * slots}`, r.gas.length,
        ["buildMs", "witnessMs", "proveMs", "verifyMs", "postMs"].map((k) => dur(mean((b) => b.timings[k as keyof PostedBatch["timings"]]))).join(" / "),
      ];
    }),
  ));
}

await main();
await terminateSnarkjsCurve();
process.exit(0);
