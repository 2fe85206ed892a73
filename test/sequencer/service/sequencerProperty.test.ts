/**
 * Property tests of issue 11's rule "one accepted request must never stop settlement", over seeded
 * random traffic (test/helpers/sequencerTraffic.ts: orders of every type and time in force, fee edge
 * cases, cancels, withdrawals including zero and excessive ones, key rotations with orders resting,
 * deposits, transfers, perpetual orders, oracle updates and funding epochs) on an in-memory custodian
 * that checks every batch's root, number and timestamp window:
 *
 * 1. every batch builds, is accepted by the custodian, and (the first three batches with a trade of
 *    each run, or every batch with PROPERTY_CIRCUIT=all) its witness satisfies the compiled circuit at
 *    TEST_PARAMS; with the clock
 *    moving by seconds nothing accepted is ever rejected; with jumps beyond the custodian's window
 *    (a backlog, the devnet's clock) only what the stamp really makes unprovable is rejected (expired
 *    orders, stale oracle updates, and what spent their proceeds), and intake ends equal to the proven
 *    state either way;
 * 2. a sequencer restarted at random points (idle, while a batch is proven with more requests
 *    arriving, after a crash at each stage of a batch) answers every request as a twin that never
 *    restarts, reaches the same state and keeps producing batches.
 *
 * Sizes: PROPERTY_RUNS=n runs n times the seeds and steps of the default run (which `npm test` runs);
 * PROPERTY_SEED=s runs seed s alone: a failure names its seed. PROPERTY_DEBUG=1 prints each run's outcomes.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { compressPublicKey, publicKeyOf } from "../../../sequencer/crypto/babyjub.ts";
import { TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import type { BatchStage, Sequencer, SequencerOptions, TxRejection } from "../../../sequencer/service/sequencer.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { settleFunding } from "../../../sequencer/derivatives/formulas.ts";
import { countingProver, FakeCustodian } from "../../helpers/fakeCustodian.ts";
import { durableSequencer, offlineSequencer, removeDurableSequencers } from "../../helpers/sequencer.ts";
import { circuitProver, gatedProver } from "../../helpers/sequencerProvers.ts";
import { ACCOUNTS, applyRequest, prng, Traffic, trafficSetup, type TrafficOptions } from "../../helpers/sequencerTraffic.ts";
import { ORACLE_KEY } from "../../helpers/derivatives.ts";

afterEach(removeDurableSequencers);

const RUNS = Math.max(1, Number(process.env.PROPERTY_RUNS ?? 1));
const SEEDS = process.env.PROPERTY_SEED ? [Number(process.env.PROPERTY_SEED)] : Array.from({ length: 2 * RUNS }, (_, i) => 1 + i);
const STEPS = 60 * RUNS;
const CIRCUIT_ALL = process.env.PROPERTY_CIRCUIT === "all";
const T0 = 1_700_000_000;
/** Codes a rejection may have once the clock jumped beyond the custodian's window (nothing else is unprovable). */
const JUMP_CODES = new Set([
  "ORDER_EXPIRED", "STALE_ORACLE", "INSTRUMENT_EXPIRED", // the stamp passed an order's expiry, an update's age, an instrument's expiry
  "BAD_FUNDING_EPOCH", "ORACLE_WENT_BACK", // a later update whose predecessor's funding tick could not be proven
  "INSUFFICIENT_BALANCE", "NONCE_GAP", "BELOW_INITIAL_MARGIN", // what spent what a rejected transaction gave
]);

function fakeChain(clock: { now: number }): FakeCustodian {
  const chain = new FakeCustodian(new ExchangeState(TEST_PARAMS).root);
  chain.blockTime = () => clock.now;
  return chain;
}

/** Admits the traffic's setup requests, sets the oracle key and proves everything (instruments trade once proven). */
async function prepare(s: Sequencer, derivatives: boolean): Promise<void> {
  for (const tx of trafficSetup(derivatives)) s.acceptRequest(tx);
  s.derivatives.setOracleKey(compressPublicKey(publicKeyOf(ORACLE_KEY)));
  await s.drain();
}

function rejections(s: Sequencer): TxRejection[] {
  const seen: TxRejection[] = [];
  s.events.on("rejected", (r) => seen.push(r));
  return seen;
}

/** Once nothing is pending, intake's balances, fee pool and nonces are the proven state's (and the derivatives view too, when asked). */
function assertIntakeIsProven(s: Sequencer, derivatives: boolean, label: string): void {
  assert.equal(s.pendingTransactions, 0, `${label}: drained`);
  for (const a of ACCOUNTS) {
    for (const t of [0, 1, 2]) assert.equal(s.risk.balance(a, t), s.state.balance(a, t), `${label}: account ${a} token ${t}`);
    assert.equal(s.withdrawalNonce(a), s.state.account(a).nonce, `${label}: account ${a}'s nonce`);
    // (funding settled up to the proven indexes: intake may have settled it at an earlier touch, the state lazily later)
    const indexes = s.state.instruments.map((i) => i.fundingIndex);
    if (derivatives) assert.deepEqual(settleFunding(s.derivatives.risk.account(a), indexes), settleFunding(s.state.account(a).deriv, indexes), `${label}: account ${a}'s derivatives`);
  }
  // (the spot risk module counts spot fees only; derivatives trades pay into the same pool)
  if (derivatives) assert.ok(s.risk.feePool <= s.state.feePool, `${label}: fee pool`);
  else assert.equal(s.risk.feePool, s.state.feePool, `${label}: fee pool`);
}

/** A batch input with a trade in a slot (spot or derivatives). */
function hasTrade(input: Record<string, unknown>): boolean {
  const types = [...((input.txType as string[]) ?? []), ...((input.d_txType as string[]) ?? [])];
  return types.includes(String(TxType.TRADE)) || types.includes(String(TxType.DERIV_TRADE));
}

describe("property: every accepted request settles", { timeout: 600_000 * RUNS }, () => {
  const modes: (TrafficOptions & { name: string })[] = [
    { name: "clock by seconds", derivatives: true, clockJumps: false },
    { name: "clock jumps", derivatives: true, clockJumps: true },
  ];
  for (const mode of modes) {
    for (const seed of SEEDS) {
      it(`${mode.name}, seed ${seed}: ${STEPS} requests, every batch built and accepted, intake equal to the proven state`, async () => {
        const clock = { now: T0 };
        const chain = fakeChain(clock);
        let sampled = 0;
        const prover = circuitProver((_job, input) => CIRCUIT_ALL || (sampled < 3 && hasTrade(input) && ++sampled > 0));
        const s = offlineSequencer({ chain: chain.context(), prover, clock: () => clock.now });
        await prepare(s, mode.derivatives);
        const traffic = new Traffic(seed, clock, mode);
        const seen = rejections(s);
        let fills = 0;
        s.events.on("engine", (events) => (fills += events.filter((e) => e.type === "fill").length));
        const outcomes = new Map<string, number>();
        for (let i = 0; i < STEPS; i++) {
          traffic.tick();
          const code = await applyRequest(s, traffic.next(s));
          outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
          if (traffic.rng.chance(mode.clockJumps ? 10 : 20)) {
            const posted = await s.runBatch();
            if (posted) assert.equal(chain.root, s.state.root, `seed ${seed} step ${i}: the custodian holds the sequencer's root`);
          }
        }
        await s.drain();
        assert.equal(chain.root, s.state.root);
        assert.ok((outcomes.get("ok") ?? 0) > STEPS / 5, `seed ${seed}: enough traffic is accepted (${JSON.stringify([...outcomes])})`);
        if (!mode.clockJumps) assert.deepEqual(seen.map((r) => `${r.code}: ${r.message}`), [], `seed ${seed}: nothing accepted is rejected`);
        for (const r of seen) assert.ok(JUMP_CODES.has(r.code), `seed ${seed}: rejected ${r.code}: ${r.message}`);
        assertIntakeIsProven(s, mode.derivatives, `seed ${seed}`);
        assert.ok(prover.witnesses > 0 || !CIRCUIT_ALL, "witnesses checked against the circuit");
        if (process.env.PROPERTY_DEBUG) console.log(seed, mode.name, JSON.stringify([...outcomes]), "batches", chain.batches.length, "fills", fills, "witnesses", prover.witnesses, "rejections", seen.map((r) => r.code).join(","));
      });
    }
  }
});

describe("property: a restarted sequencer reaches the same state and keeps producing batches", { timeout: 600_000 * RUNS }, () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: ${STEPS} requests with restarts (idle, while proving with requests arriving, after a crash at each batch stage)`, async () => {
      const rng = prng(seed * 7919);
      const clock = { now: T0 };
      const chain = fakeChain(clock);
      let crashAt: BatchStage | null = null;
      const onBatchStage = (stage: BatchStage) => {
        if (stage === crashAt) {
          crashAt = null;
          throw new Error(`crash at ${stage}`);
        }
      };
      let prover = gatedProver();
      prover.open = true;
      const options: Partial<SequencerOptions> = { chain: chain.context(), prover, clock: () => clock.now, onBatchStage, snapshotEvery: rng.pick([0, 5, 40]) };
      const d = durableSequencer(options);
      const twinChain = fakeChain(clock);
      const twin = offlineSequencer({ chain: twinChain.context(), prover: countingProver(), clock: () => clock.now });
      let s = d.sequencer;
      await prepare(s, true);
      await prepare(twin, true);
      const traffic = new Traffic(seed, clock, { derivatives: true, clockJumps: false });
      const seen = [...rejections(s), ...rejections(twin)];
      let restarts = 0;
      const reopen = () => {
        prover = gatedProver();
        prover.open = true;
        s = d.reopen({ prover });
        s.derivatives.setOracleKey(compressPublicKey(publicKeyOf(ORACLE_KEY)));
        restarts++;
      };
      const both = async () => {
        traffic.tick();
        const req = traffic.next(twin);
        const [mine, theirs] = [await applyRequest(s, req), await applyRequest(twin, req)];
        assert.equal(mine, theirs, `seed ${seed}: the restarted sequencer answers ${req.kind} as the twin`);
      };
      for (let i = 0; i < STEPS; i++) {
        await both();
        const roll = rng.int(100);
        if (roll < 20) {
          await s.runBatch();
          await twin.runBatch();
        } else if (roll < 26) {
          const before = s.unpostedBatch === null ? s.snapshot() : null;
          reopen();
          if (before) assert.deepEqual(s.snapshot(), before, `seed ${seed} step ${i}: an idle restart recovers the same snapshot`);
        } else if (roll < 32 && s.pendingTransactions > 0 && s.unpostedBatch === null) {
          // A batch is proven while more requests arrive; then the process dies, before or after logging it.
          prover.open = false;
          const held = prover;
          const run = s.runBatch();
          const settled = run.then(() => true, () => true);
          if (await Promise.race([held.started().then(() => false), settled])) {
            reopen(); // nothing to prove (every pending transaction was rejected, or a proven batch was posted)
            continue;
          }
          for (let k = 1 + rng.int(3); k > 0; k--) await both();
          if (rng.chance(50)) {
            held.release();
            await run;
          }
          reopen();
        } else if (roll < 36 && s.pendingTransactions > 0) {
          crashAt = rng.pick(["built", "proved", "sent", "posted"] as const);
          await s.runBatch().catch((e: Error) => assert.match(e.message, /crash at/));
          crashAt = null;
          reopen();
        }
      }
      await s.drain();
      await twin.drain();
      assert.ok(restarts > 0, "the run restarted");
      assert.deepEqual(seen.map((r) => `${r.code}: ${r.message}`), [], "nothing accepted is rejected");
      assert.equal(chain.root, s.state.root, "the restarted sequencer's batches are all on chain");
      assert.equal(s.state.root, twin.state.root, "the same state as the twin");
      assert.deepEqual({ ...s.snapshot(), batchNumber: 0 }, { ...twin.snapshot(), batchNumber: 0 }, "the same books, reservations, nonces and derivatives");
      assertIntakeIsProven(s, true, `seed ${seed}`);
      if (process.env.PROPERTY_DEBUG) console.log(seed, "restarts", restarts, "batches", chain.batches.length, twinChain.batches.length);
    });
  }
});
