/**
 * Crash recovery of the sequencer process: a scripted trading run against a local Hardhat node (spot,
 * then derivatives: a perpetual and a call registered on the custodian, collateral transfers, signed
 * oracle updates, perpetual and option trades), with the sequencer (sequencer/process/main.ts, durable data directory, real proofs) SIGKILLed at many random
 * points (during intake, between a request and its reply, while batches are proved and posted) and at
 * each step of a batch's life (built, proved, sent, posted), restarted each time, the unanswered request
 * retried as a client would. Checks, against an uninterrupted in-process run of the same script:
 * - after every restart, every acknowledged order is still known;
 * - the chain ends with exactly the reference run's transactions, in order (nothing lost, nothing twice),
 *   every acknowledged fill among them, and the reference run's state root; every batch proof verifies;
 * - no batch was ever sent twice (as many submitBatch transactions as batches);
 * - the recovered books, balances, reservations, order slots and nonces equal the reference run's.
 *
 * CRASH_KILLS sets the number of kill points (default 24; 4 of them at batch stages), CRASH_SEED the seed.
 * The reference run is made after the crash run, from the oracle updates it signed as it went (an update
 * must be fresh when it is sent, so it is signed then, and a retry sends the same one).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeFunctionData, hexToBytes, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import { buildBatchCircuit } from "../../scripts/build/batchCircuit.ts";
import { buildMarkingCircuit, markingProcessFlags } from "../../scripts/build/markingCircuit.ts";
import { terminateSnarkjsCurve } from "../../scripts/setup/zkLibs.ts";
import { registerInstrument, setOracleKey } from "../../scripts/deploy/deployExchange.ts";
import type { LocalNode } from "../../scripts/devnet/localNode.ts";
import { custodianAbi } from "../../sequencer/chain/abi.ts";
import { compressPublicKey, publicKeyOf } from "../../sequencer/crypto/babyjub.ts";
import { signOracleUpdate } from "../../sequencer/derivatives/oracleSigner.ts";
import type { SignedOracleUpdate } from "../../sequencer/derivatives/oracleStep.ts";
import { fetchRequests } from "../../sequencer/chain/requests.ts";
import type { EngineEvent, FillEvent } from "../../sequencer/matching/index.ts";
import type { SequencerSnapshot } from "../../sequencer/service/snapshot.ts";
import { IMMEDIATE_ORDER_TTL, INSTRUMENT_MARKET_BASE, InstrumentKind, neverRests, OrderType, Side, TimeInForce, TxType } from "../../sequencer/protocol/constants.ts";
import type { Cancel, Order, Signed, Transfer, Withdrawal } from "../../sequencer/protocol/messages.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { decodePublicData, type SlotRecord } from "../../sequencer/protocol/publicData.ts";
import { ExchangeState } from "../../sequencer/state/exchangeState.ts";
import { Sequencer } from "../../sequencer/service/sequencer.ts";
import type { VerifiedProver } from "../../fpga-prover/prover.ts";
import { signCancel, signOrder, signTransfer, signWithdrawal } from "../../sequencer/protocol/signing.ts";
import { verifyChain } from "../../sequencer/verifier/chainVerifier.ts";
import { countingProver, FakeCustodian, recordingMarkings } from "../helpers/fakeCustodian.ts";
import { DIED, SequencerProcess } from "../helpers/sequencerProcess.ts";
import { fundTrader, startLocalExchange } from "../helpers/localExchange.ts";
import { watchStalls, type StallWatchdog } from "../helpers/stallWatchdog.ts";
import type { TestTrader } from "../helpers/traders.ts";
import { volSlices } from "../helpers/derivatives.ts";

const USDC = 10n ** 6n;
const ETH = 10n ** 18n;
const KILLS = Number(process.env.CRASH_KILLS ?? 24);
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);
const STAGES = ["proved", "sent", "posted", "built"] as const;
const ORACLE_KEY = new Uint8Array(32).fill(77);
const PERP = 0;
/** (the custodian gives an option one of the last TEST_PARAMS.optionInstruments ids) */
const CALL = TEST_PARAMS.instruments - TEST_PARAMS.optionInstruments;
/** The perpetual and the call (strike 3000, a month out) the admin registers: lots of 0.01 underlying, ticks of 0.01 quote. */
const linear = { underlying: 0, lotSizeE6: 10_000n, tickSizeE8: 1_000_000n, imPpm: 100_000, mmPpm: 50_000 };
/** The call's expiry, set when the admin lists it (the oracle's vol slice names it). */
let callExpiry = 0;
const instruments = (now: number) => [
  { ...linear, kind: InstrumentKind.PERPETUAL, strike: 0n, expiry: 0, fundingCapPpm: 1_000 },
  { ...linear, kind: InstrumentKind.CALL, strike: 3_000n * 10n ** 8n, expiry: now + 30 * 86_400, fundingCapPpm: 0 },
];
/**
 * The harness's steps and every line the sequencers print, timestamped, appended to a trace file: CRASH_TRACE's
 * (with the sequencers' own trace lines too), or a temporary one whose tail the stall watchdog prints.
 */
const TRACE = process.env.CRASH_TRACE;
const TRACE_FILE = TRACE ?? join(tmpdir(), `sequencer-crash-trace-${process.pid}.log`);
const trace = (line: string) => appendFileSync(TRACE_FILE, `${new Date().toISOString()} ${line}\n`);

/** mulberry32: a small seeded generator, so a failing run can be repeated with its CRASH_SEED. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One step of the script. `sync` (the harness's, not a request): wait until everything accepted is
 * posted (instruments trade once their registration is on chain). `oracle`: an update at `quote` per
 * underlying, signed when it is first sent (`update`), the same one on a retry.
 */
type Op =
  | { op: "orders"; orders: Signed<Order>[] }
  | { op: "cancel"; cancel: Signed<Cancel> }
  | { op: "withdraw"; withdrawal: Signed<Withdrawal> }
  | { op: "transfer"; transfer: Signed<Transfer> }
  | { op: "oracle"; quote: bigint; update?: SignedOracleUpdate }
  | { op: "sync" };

type Trader = TestTrader & { wallet: WalletClient };

/**
 * The trading run: spot (a maker ladder, crossing takers (6 fills), 2 cancels, resting taker orders, 2
 * withdrawals), then derivatives (an oracle update, collateral transfers, a perpetual and a call traded,
 * a second update moving the price, the perpetual traded back, a cancel).
 */
function script(maker: Trader, t1: Trader, t2: Trader, random: () => number): Op[] {
  const expiry = Math.floor(Date.now() / 1000) + 86_400;
  // an IOC order expires as late as intake allows (IMMEDIATE_ORDER_TTL after now: the script runs within that)
  const immediateExpiry = Math.floor(Date.now() / 1000) + IMMEDIATE_ORDER_TTL;
  const ids = new Map<number, bigint>();
  const order = (t: Trader, side: Side, priceTicks: bigint, sizeLots: bigint, timeInForce: TimeInForce = TimeInForce.GTC, marketId = 0) => {
    const orderId = (ids.get(t.accountId) ?? 0n) + 1n;
    ids.set(t.accountId, orderId);
    return signOrder(t.key, { accountId: t.accountId, orderId, marketId, side, type: OrderType.LIMIT, timeInForce, priceTicks, sizeLots, maxFeePpm: 1000, expiry: neverRests({ type: OrderType.LIMIT, timeInForce }) ? immediateExpiry : expiry });
  };
  // (the maker's derivatives orders take ids 15-17: order slots 15, 0 and 1, whose spot orders are gone by then)
  const deriv = (t: Trader, instrument: number, side: Side, priceTicks: bigint, sizeLots: bigint): Op =>
    ({ op: "orders", orders: [order(t, side, priceTicks, sizeLots, TimeInForce.GTC, INSTRUMENT_MARKET_BASE + instrument)] });
  const toCollateral = (t: Trader, amount: bigint, nonce: number): Op => ({ op: "transfer", transfer: signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount, nonce }) });
  const groups = (orders: Signed<Order>[]): Op[] => {
    const out: Op[] = [];
    for (let i = 0; i < orders.length; ) {
      const n = 1 + Math.floor(random() * 3);
      out.push({ op: "orders", orders: orders.slice(i, i + n) });
      i += n;
    }
    return out;
  };
  const ladder: Signed<Order>[] = [];
  for (let i = 0n; i < 7n; i++) {
    ladder.push(order(maker, Side.BUY, 299_900n - 100n * i, 200n, TimeInForce.POST_ONLY));
    ladder.push(order(maker, Side.SELL, 300_100n + 100n * i, 200n, TimeInForce.POST_ONLY));
  }
  const resting: Signed<Order>[] = [];
  for (let i = 0n; i < 6n; i++) resting.push(order(t1, Side.BUY, 299_000n - 10n * i, 10n), order(t2, Side.SELL, 301_000n + 10n * i, 10n));
  const takers = [
    order(t1, Side.BUY, 300_200n, 300n, TimeInForce.IOC), // fills 200 @ 300100, 100 @ 300200
    order(t2, Side.SELL, 299_800n, 250n, TimeInForce.IOC), // fills 200 @ 299900, 50 @ 299800
    order(t1, Side.BUY, 300_200n, 100n), // fills the rest of 300200
    order(t2, Side.SELL, 299_800n, 100n), // fills 100 of the rest of 299800
  ];
  return [
    ...groups(ladder),
    ...takers.map((o): Op => ({ op: "orders", orders: [o] })),
    { op: "cancel", cancel: signCancel(maker.key, { accountId: maker.accountId, orderId: 14n }) },
    { op: "cancel", cancel: signCancel(maker.key, { accountId: maker.accountId, orderId: 13n }) },
    ...groups(resting),
    { op: "withdraw", withdrawal: signWithdrawal(t1.key, { accountId: t1.accountId, tokenId: 1, amount: 100n * 10n ** 15n, nonce: 0 }) },
    { op: "withdraw", withdrawal: signWithdrawal(t2.key, { accountId: t2.accountId, tokenId: 0, amount: 500n * USDC, nonce: 0 }) },
    { op: "sync" },
    { op: "oracle", quote: 3_000n }, // (a transfer needs one: collateral is valued at its marks)
    toCollateral(maker, 100_000n * USDC, 0),
    toCollateral(t1, 20_000n * USDC, 1), // (t1's withdrawal took nonce 0)
    deriv(maker, PERP, Side.SELL, 300_000n, 100n),
    deriv(t1, PERP, Side.BUY, 300_000n, 60n), // fills 60
    deriv(maker, CALL, Side.SELL, 10_000n, 20n),
    deriv(t1, CALL, Side.BUY, 10_000n, 10n), // t1 buys 10 calls at a premium of 100 quote per underlying
    { op: "oracle", quote: 3_020n },
    deriv(maker, PERP, Side.BUY, 301_000n, 50n),
    deriv(t1, PERP, Side.SELL, 301_000n, 30n), // fills 30: t1 takes a profit on half its long
    { op: "cancel", cancel: signCancel(maker.key, { accountId: maker.accountId, orderId: 17n }) },
  ];
}

/** Signs `op`'s oracle update now (once: a retry sends the same update), strictly after `after`. */
async function signOracle(op: Extract<Op, { op: "oracle" }>, after: number): Promise<SignedOracleUpdate> {
  if (!op.update) {
    while (Math.floor(Date.now() / 1000) <= after) await new Promise((r) => setTimeout(r, 100));
    const time = Math.floor(Date.now() / 1000);
    op.update = signOracleUpdate(ORACLE_KEY, { time, fundingEpoch: 0, prices: [op.quote * 10n ** 8n], volSlices: volSlices(600_000n, 0n, callExpiry), rates: [0n, 0n, 0n, 0n] });
  }
  return op.update;
}

/**
 * The uninterrupted run: the same requests and script through an in-process Sequencer on the in-memory
 * custodian (no proofs), its clock at the script's start and then at each oracle update's time, as the
 * crash run signed them; everything accepted is posted at each `sync` and at the end.
 */
async function referenceRun(
  requests: Awaited<ReturnType<typeof fetchRequests>>, ops: Op[], start: number,
): Promise<{ sequencer: Sequencer; snapshot: SequencerSnapshot; records: SlotRecord[] }> {
  let now = start;
  const chain = new FakeCustodian(new ExchangeState(TEST_PARAMS).root);
  chain.blockTime = () => now;
  const context = chain.context();
  const records: SlotRecord[] = [];
  const write = context.walletClient.writeContract.bind(context.walletClient);
  context.walletClient.writeContract = ((req: { args: readonly [Hex, unknown] }) => {
    records.push(...decodePublicData(hexToBytes(req.args[0]), TEST_PARAMS).records.filter((r) => r.type !== TxType.NOOP));
    return write(req as never);
  }) as typeof context.walletClient.writeContract;
  const s = new Sequencer({
    params: TEST_PARAMS, keys: { wasm: "", zkey: "", vkey: null }, prover: countingProver(), chain: context, makerFeePpm: 100, takerFeePpm: 500, clock: () => now,
    markings: recordingMarkings(),
  });
  s.derivatives.setOracleKey(compressPublicKey(publicKeyOf(ORACLE_KEY)));
  for (const r of requests) s.acceptRequest(r.tx);
  for (const op of ops) {
    if (op.op === "orders") for (const o of op.orders) assert.ok(s.placeOrder(o).some((e) => e.type === "accepted"), "the script's orders are all valid");
    else if (op.op === "cancel") assert.ok(s.cancelOrder(op.cancel).some((e) => e.type === "cancelled"));
    else if (op.op === "withdraw") s.requestWithdrawal(op.withdrawal);
    else if (op.op === "transfer") s.requestTransfer(op.transfer);
    else if (op.op === "oracle") {
      assert.ok(op.update, "the crash run signed every oracle update");
      now = op.update.time;
      await s.acceptOracleUpdate(op.update);
    } else await drainBounded(s);
  }
  await drainBounded(s);
  return { sequencer: s, snapshot: s.snapshot(), records };
}

/**
 * `s.drain()`, bounded: yields to the event loop after each batch (the in-memory prover and custodian answer
 * at once, so an endless run of batches would otherwise hold the event loop, and the test's time limit with
 * it) and fails once 50 batches leave work pending (the script needs about 17).
 */
async function drainBounded(s: Sequencer): Promise<void> {
  for (let batches = 0; ; ) {
    const posted = await s.runBatches();
    if (!posted.length) return;
    batches += posted.length;
    trace(`reference: batches ${posted.map((b) => b.batchNumber).join(", ")} posted, ${s.pendingTransactions} transactions pending`);
    assert.ok(batches < 50, `the uninterrupted run posted ${batches} batches and still has ${s.pendingTransactions} transactions pending`);
    await new Promise((r) => setImmediate(r));
  }
}

/** A snapshot without what legitimately differs between runs: engine sequence numbers, times, batch numbering, the pending queue. */
function comparable(s: SequencerSnapshot): unknown {
  return {
    markets: s.markets, risk: s.risk, keys: s.keys, liveBySlot: s.liveBySlot, slotIds: s.slotIds, nextNonce: s.nextNonce,
    orders: s.engine.orders.map(({ seq: _seq, ...o }) => o), usedOrderIds: s.engine.usedOrderIds, stateRoot: s.state.root,
  };
}

/**
 * The time limit: 5 minutes, plus 45 s for each kill point (each costs a process start, about 5 s of CPU
 * for loading the sequencer's modules and curve tables: 20-45 s of wall time on a loaded 2-core machine).
 */
const TIME_LIMIT_MS = 300_000 + KILLS * 45_000;

describe("sequencer crash recovery (SIGKILL at random points)", { timeout: TIME_LIMIT_MS }, () => {
  let node: LocalNode;
  let publicClient: PublicClient;
  let custodian: Address;
  let operatorKey: string;
  let vkey: unknown;
  const traders: Trader[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), "sequencer-crash-"));
  /** The sequencer process running now: killed in `after`, so a failed or timed-out run leaves none behind. */
  let live: SequencerProcess | null = null;
  /** Kills the run, printing the trace's tail, if the main thread stalls (its own time limit could not fire). */
  let watchdog: StallWatchdog | null = null;
  /** The sequencer process's marking flags: the TEST_PARAMS marking circuit and the deployed marks registry (the call's marks). */
  let markingFlags: string[] = [];

  before(async () => {
    const circuit = await buildBatchCircuit(TEST_PARAMS);
    vkey = JSON.parse(readFileSync(circuit.vkey, "utf8"));
    const marking = await buildMarkingCircuit(TEST_PARAMS);
    const local = await startLocalExchange(circuit.verifierSol, undefined, marking.verifierSol);
    ({ node, publicClient, operatorKey } = local);
    const { as, operator, deployment: d } = local;
    markingFlags = markingProcessFlags(marking, d.marksRegistry);
    custodian = d.custodian;
    await setOracleKey(as(operator), custodian, publicKeyOf(ORACLE_KEY));
    const registered = [];
    const specs = instruments(Math.floor(Date.now() / 1000));
    callExpiry = specs[1].expiry;
    for (const spec of specs) registered.push(await registerInstrument(as(operator), custodian, spec));
    assert.deepEqual(registered, [PERP, CALL]);
    for (const [i, usdc, weth] of [[1, 1_000_000n * USDC, 100n * ETH], [2, 100_000n * USDC, 0n], [3, 0n, 50n * ETH]] as const) {
      traders.push(await fundTrader(local, i, [[0, usdc], [1, weth]]));
    }
  });

  after(async () => {
    if (live?.isAlive) live.kill();
    node?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await terminateSnarkjsCurve(); // the verifier's snarkjs workers would keep the process alive
    watchdog?.stop();
    if (!TRACE) rmSync(TRACE_FILE, { force: true });
  });

  it(`loses no acknowledged order or fill, duplicates nothing and reaches the uninterrupted run's root (${KILLS} kill points)`, async () => {
    console.log(`      crash run: seed ${SEED} (CRASH_SEED=${SEED} repeats it)`); // (printed first: a run that hangs has a seed too)
    watchdog = watchStalls({ label: `sequencer crash recovery, seed ${SEED}`, traceFile: TRACE_FILE, stallMs: 180_000 });
    const t0 = performance.now();
    const start = Math.floor(Date.now() / 1000);
    const random = rng(SEED);
    const ops = script(traders[0], traders[1], traders[2], random);
    const requests = await fetchRequests(publicClient, custodian, 0);

    // Kill plan: stage kills ride on the environment of successive starts; of the random ones, a quarter
    // wait up to 2.5 s after a request (batches are being proved and posted), the rest strike 0-6 ms after one.
    const stageQueue: string[] = [...STAGES].slice(0, Math.min(STAGES.length, KILLS));
    const randomKills = KILLS - stageQueue.length;
    const plan = new Map<number, { kind: "op" | "idle"; ms: number }[]>();
    for (let k = 0; k < randomKills; k++) {
      const at = Math.floor(random() * ops.length);
      const idle = k % 4 === 3;
      plan.set(at, [...(plan.get(at) ?? []), { kind: idle ? "idle" : "op", ms: idle ? random() * 2500 : random() * 6 }]);
    }

    let child: SequencerProcess | null = null;
    let stageArmed: string | null = null;
    const kills = { random: 0, stage: [] as string[], restarts: 0 };
    const acked = { orders: [] as [number, bigint][], fills: [] as FillEvent[] };
    const ensureRunning = async (): Promise<SequencerProcess> => {
      if (child?.isAlive) return child;
      if (child) {
        // Every sequencer that died did so by SIGKILL: its own at a batch stage, or one of ours.
        assert.equal(await child.exited, "SIGKILL", `the sequencer exited by itself:\n${child.output.slice(-30).join("\n")}`);
        if (stageArmed && child.output.some((l) => l.includes(`SEQUENCER_CRASH_AT=${stageArmed}`))) {
          kills.stage.push(stageArmed);
          stageQueue.shift();
        } else kills.random++;
        kills.restarts++;
      }
      stageArmed = stageQueue[0] ?? null;
      trace(`harness: start ${kills.restarts}${stageArmed ? ` (armed: ${stageArmed})` : ""}`);
      child = await SequencerProcess.start(
        { data: dataDir, rpc: node.url, custodian, operatorKey, env: { ...(stageArmed ? { SEQUENCER_CRASH_AT: stageArmed } : {}), ...(TRACE ? { SEQUENCER_TRACE: "1" } : {}) }, trace },
        ["--poll-ms", "100", "--max-wait-ms", "200", "--snapshot-every", "25", ...markingFlags],
      );
      live = child;
      // Requests are admitted by the batch loop; wait for all of them (the script needs the keys and deposits).
      try {
        for (let s = await child.call<{ requests: number }>("status"); s.requests < requests.length; s = await child.call("status")) await new Promise((r) => setTimeout(r, 50));
        const known = acked.orders.length ? await child.call<boolean[]>("known", { orders: acked.orders }) : [];
        const lost = acked.orders.filter((_, i) => !known[i]);
        assert.deepEqual(lost, [], `acknowledged orders lost after restart ${kills.restarts}`);
      } catch (e) {
        if (child.isAlive) throw e;
        return ensureRunning(); // killed while we waited (a stage kill): start again
      }
      return child;
    };
    // Strikes planned at a request that was acknowledged anyway, or that found the sequencer already dead,
    // carry over to the next request.
    const carry: { kind: "op" | "idle"; ms: number }[] = [];
    const killNow = (c: SequencerProcess, strike: (typeof carry)[number]) => {
      trace(`harness: ${c.isAlive ? "SIGKILL" : "already dead, strike carried over"} (${strike.kind} ${strike.ms.toFixed(1)} ms)`);
      if (c.isAlive) c.kill();
      else carry.push(strike);
    };

    /**
     * Waits until every transaction accepted is proven and posted; strikes carried over, and stage kills
     * still armed, land here, while batches are proved and posted. Returns the last status.
     */
    const settle = async (): Promise<{ pending: number; unposted: number | null; root: bigint }> => {
      let lastStatus = "";
      for (;;) {
        const c = await ensureRunning();
        const strike = carry.shift();
        if (strike) {
          await new Promise((res) => setTimeout(res, strike.ms));
          killNow(c, strike);
          continue;
        }
        const r = await c.request("status");
        if (r === DIED) continue;
        const seen = JSON.stringify({ ...(r.result as object), root: undefined });
        if (seen !== lastStatus) trace(`harness: settle status ${seen}`);
        lastStatus = seen;
        const status = r.result as { pending: number; unposted: number | null; root: bigint };
        if (status.pending === 0 && status.unposted === null) return status;
        await new Promise((res) => setTimeout(res, 200));
      }
    };

    let lastOracle = 0;
    for (const [i, op] of ops.entries()) {
      carry.push(...(plan.get(i) ?? []));
      if (op.op === "sync") {
        await settle();
        continue;
      }
      if (op.op === "oracle") lastOracle = (await signOracle(op, lastOracle)).time;
      for (;;) {
        const c = await ensureRunning();
        const strike = carry.shift();
        const reply = c.request(op.op, op);
        if (strike?.kind === "op") setTimeout(() => killNow(c, strike), strike.ms);
        trace(`harness: op ${i} ${op.op}${strike ? ` strike ${strike.kind} ${strike.ms.toFixed(1)} ms` : ""}`);
        const r = await reply;
        trace(`harness: op ${i} ${r === DIED ? "died" : "answered"}`);
        if (strike?.kind === "idle") {
          await new Promise((res) => setTimeout(res, strike.ms));
          killNow(c, strike);
        }
        if (r === DIED) continue; // not acknowledged: retry, as a client would
        assert.equal(r.error, undefined, `${op.op} failed: ${r.error}`);
        if (op.op === "orders") {
          (r.result as ({ events: EngineEvent[] } | { rejected: string })[]).forEach((o, k) => {
            // ORDER_ID_REUSED: an earlier, unanswered attempt was logged before the crash.
            if ("rejected" in o) assert.equal(o.rejected, "ORDER_ID_REUSED", `order refused: ${o.rejected}`);
            else {
              assert.ok(o.events.some((e) => e.type === "accepted"));
              acked.fills.push(...o.events.filter((e): e is FillEvent => e.type === "fill"));
            }
            acked.orders.push([op.orders[k].accountId, op.orders[k].orderId]);
          });
        } else if (op.op === "cancel") {
          // An earlier, unanswered attempt was logged: the order is no longer live.
          const events = (r.result as { events: EngineEvent[] }).events;
          assert.ok(events.some((e) => e.type === "cancelled" || (e.type === "rejected" && e.code === "UNKNOWN_ORDER")), `cancel: ${events.map((e) => e.type)}`);
        } else if (op.op === "oracle") {
          // (an earlier, unanswered attempt that was logged: the same update again changes nothing)
          assert.ok(!("rejected" in (r.result as object)), `oracle update refused: ${JSON.stringify(r.result)}`);
        } else {
          // An earlier, unanswered attempt was logged: its nonce is used.
          const res = r.result as { accepted?: true; rejected?: string };
          assert.ok(res.accepted || res.rejected === "BAD_NONCE", `${op.op} refused: ${res.rejected}`);
        }
        break;
      }
    }

    const status = await settle();
    const finalSnapshot = await (await ensureRunning()).call<SequencerSnapshot>("snapshot");
    await child!.stop();
    const seconds = (performance.now() - t0) / 1000;
    trace(`harness: the script ran in ${seconds.toFixed(0)} s; the uninterrupted run`);
    const reference = await referenceRun(requests, ops, start);
    trace("harness: the chain's check");

    // The chain: every proof, every root, and the transactions in order.
    const chainRecords: SlotRecord[] = [];
    const report = await verifyChain({ publicClient, custodian, params: TEST_PARAMS, vkey, transformRecords: (_n, records) => void chainRecords.push(...records.filter((r) => r.type !== TxType.NOOP)) });
    assert.deepEqual(report.mismatches, []);
    assert.equal(report.chainRoot, reference.sequencer.state.root, "final root equals the uninterrupted run's");
    assert.equal(status.root, report.chainRoot);
    assert.deepEqual(chainRecords, reference.records, "the chain holds exactly the uninterrupted run's transactions, in order");
    for (const f of acked.fills) {
      const [buy, sell] = f.makerSide === Side.BUY ? [[f.makerAccount, f.makerOrderId], [f.takerAccount, f.takerOrderId]] : [[f.takerAccount, f.takerOrderId], [f.makerAccount, f.makerOrderId]];
      // (a spot fill is a TRADE record in its market, a derivatives fill a DERIV_TRADE in its instrument)
      const onChain = chainRecords.some((r) => {
        if (r.type !== TxType.TRADE && r.type !== TxType.DERIV_TRADE) return false;
        const market = r.type === TxType.TRADE ? r.marketId === BigInt(f.marketId) : r.instrumentId === BigInt(f.marketId - INSTRUMENT_MARKET_BASE);
        return market && r.buyAccountId === BigInt(buy[0]) && r.buyOrderId === buy[1] && r.sellAccountId === BigInt(sell[0]) && r.sellOrderId === sell[1] && r.lots === f.lots && r.priceTicks === f.priceTicks;
      });
      assert.ok(onChain, `acknowledged fill ${JSON.stringify(f, (_k, v) => (typeof v === "bigint" ? String(v) : v))} is on chain`);
    }

    // No batch sent twice: one submitBatch transaction per batch, reverted ones included.
    let submits = 0;
    const latest = await publicClient.getBlockNumber();
    for (let b = 0n; b <= latest; b++) {
      for (const tx of (await publicClient.getBlock({ blockNumber: b, includeTransactions: true })).transactions) {
        if (tx.to?.toLowerCase() !== custodian.toLowerCase()) continue;
        try {
          if (decodeFunctionData({ abi: custodianAbi, data: tx.input }).functionName === "submitBatch") submits++;
        } catch {
          /* not a custodian call we know */
        }
      }
    }
    assert.equal(submits, report.batchesChecked, "every batch was sent exactly once");

    // The recovered sequencer's books, balances, reservations, slots and nonces.
    assert.deepEqual(comparable(finalSnapshot), comparable(reference.snapshot));
    assert.equal(acked.orders.length, ops.reduce((n, o) => n + (o.op === "orders" ? o.orders.length : 0), 0));

    const total = kills.random + kills.stage.length;
    console.log(`      crash run: ${total} kill points (${kills.random} random SIGKILLs, stage kills at ${kills.stage.join(", ") || "none"}), ${kills.restarts} restarts, ` +
      `${ops.length} requests, ${acked.fills.length} acknowledged fills, ${report.batchesChecked} batches, ${seconds.toFixed(0)} s, seed ${SEED}`);
    assert.ok(kills.random >= randomKills - 1, `random kills struck: ${kills.random} of ${randomKills}`);
    assert.ok(kills.stage.length >= 3, `stage kills happened: ${kills.stage.join(", ")}`);
  });
});
