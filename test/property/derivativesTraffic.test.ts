/**
 * Random derivatives traffic through the sequencer, seeded (property test; a helper session's hunt of 2026-12-06 made
 * into a test): orders of every kind a trader may send (limit and market, GTC, IOC, FOK, post-only, reduce-only, stop
 * and take-profit with the trigger at or near the mark, expiries that run out between intake and batch, sizes from 1
 * lot to 12,000) on a perpetual, a future, a call and a put (TEST_PARAMS: 3 position slots for 4 instruments),
 * cancels, transfers both ways, withdrawals, oracle updates with jumps of up to 30% and funding, time passing, the
 * future and options expiring and settling, and the on-chain requests (forced closes against anyone, forced collateral
 * withdrawals, forced withdrawals, deposits, key rotations) queued through the custodian's queue model, and the
 * timelock replacing the custodian's oracle key (which refuses batches under the old one). Every batch goes
 * through the real witness builder (every circuit rule checked in TypeScript); the sequencer restarts from its log or
 * a snapshot at random points. Asserted at every step: intake refuses only with RequestRejected, batch building never
 * throws, each batch consumes the custodian's next requests in its order, a restart rebuilds the live state exactly;
 * at the end, after fresh updates, nothing waits (settlement never stopped), every queued request was consumed, and
 * a replay of the whole log rebuilds the state. `TRAFFIC_SEEDS=1,2,3 TRAFFIC_STEPS=400` runs others. Seed 8 restarts
 * after the timelock replaced the oracle key and a rebase cleared the latest update: its snapshot once recorded the
 * key a live read had found, which replay (reads are not logged) does not (review of 2026-12-06).
 */
import { afterEach, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { INSTRUMENT_MARKET_BASE, OrderType, Side, TimeInForce, TriggerType, TxType } from "../../sequencer/protocol/constants.ts";
import { signCancel, signOrder, signTransfer, signWithdrawal } from "../../sequencer/protocol/signing.ts";
import { SqliteStore } from "../../sequencer/persistence/sqliteStore.ts";
import { RequestRejected, type Sequencer } from "../../sequencer/service/sequencer.ts";
import { compressPublicKey, publicKeyOf } from "../../sequencer/crypto/babyjub.ts";
import { NO_KEY_RECHECK_MS } from "../../sequencer/service/derivatives.ts";
import { EXPIRY, INSTRUMENTS, NOW, ORACLE_KEY, oracleUpdate, traders, dave } from "../helpers/derivatives.ts";
import { derivativesSequencer, openDerivativesSequencer } from "../helpers/derivativesSequencer.ts";
import { custodianQueue } from "../helpers/custodianQueue.ts";
import { prng } from "../helpers/prng.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});


type T = { accountId: number; key: Uint8Array; nextId: bigint; nonce: number };
const bi = (v: unknown) => (typeof v === "bigint" ? `${v}n` : v);
const J = (x: unknown) => JSON.stringify(x, (_k, v) => bi(v));

const SEEDS = (process.env.TRAFFIC_SEEDS ?? "403,404,411,8").split(",").map(Number);
const STEPS = Number(process.env.TRAFFIC_STEPS ?? 300);

for (const seed of SEEDS) {
  it(`seed ${seed}: ${STEPS} random steps never stop settlement, keep the custodian\'s order and replay exactly`, { timeout: 900_000 }, async () => {
    const r = prng(seed);
    const dir = mkdtempSync(join(tmpdir(), "traffic-")); dirs.push(dir);
    const path = join(dir, "s.db");
    const opts = { snapshotEvery: r.chance(0.5) ? 0 : 25 } as const;
    const logLines: string[] = [];
    const mk = (o: object) => ({ ...opts, ...o, log: (l: string) => logLines.push(l), onRejected: undefined });
    // the fake custodian answers its oracle key, which the timelock replaces now and then (a step below)
    let oracleKey = ORACLE_KEY;
    let rotations = 0;
    const { seq: s0, chain } = derivativesSequencer(NOW, mk({ store: new SqliteStore(path) }), compressPublicKey(publicKeyOf(oracleKey)));
    let seq: Sequencer = s0;
    const q = custodianQueue(seq);
    // option instruments 2 and 3
    INSTRUMENTS.slice(2).forEach((spec, k) => seq.acceptRequest({ type: TxType.REGISTER_INSTRUMENT, instrumentId: 2 + k, ...spec }));
    // dave
    seq.acceptRequest({ type: TxType.REGISTER_KEY, accountId: dave.accountId, pubKey: dave.pubKey });
    seq.acceptRequest({ type: TxType.DEPOSIT, accountId: dave.accountId, tokenId: 0, amount: 50_000_000_000n });
    let price = 300_000_000_000n;
    let epoch = 0;
    let lastOracle = 0;
    const oracle = async (p = price, fundingTick = false) => {
      const t = chain.now;
      if (t <= lastOracle) return;
      if (fundingTick) epoch++;
      const rates = [fundingTick ? BigInt(r.int(2001) - 1000) : 0n, 0n, 0n, 0n];
      try {
        await seq.acceptOracleUpdate(oracleUpdate({ time: t, prices: [p], fundingEpoch: epoch, rates }, oracleKey));
        lastOracle = t;
      } catch (e) {
        if (fundingTick) epoch--;
        if (!(e instanceof RequestRejected)) throw e;
      }
    };
    chain.now = NOW - 5;
    await oracle();
    await seq.drain();
    const ts: T[] = [traders.alice, traders.bob, traders.carol, dave].map((t) => ({ accountId: t.accountId, key: t.key, nextId: 1n, nonce: 0 }));
    for (const t of ts) {
      seq.requestTransfer(signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: 40_000_000_000n, nonce: t.nonce++ }));
    }
    await seq.drain();
    q.start();
    const steps: string[] = [];
    const fail = (what: string, e: unknown) => {
      const tail = steps.slice(-25).join("\n  ");
      throw new Error(`seed ${seed}: ${what}: ${(e as Error)?.stack ?? e}\nlast steps:\n  ${tail}\nlog tail:\n  ${logLines.slice(-30).join("\n  ")}`);
    };
    const markTicks = () => price / 1_000_000n; // perp/future ticks
    const live: { t: T; id: bigint }[] = [];
    let keySeed = 200;
    let nearExpiryDone = false;
    for (let step = 0; step < STEPS; step++) {
      chain.wallMs! += 1_000; // wall-clock time (it paces the sequencer's reads of the custodian's oracle key): a second a step
      const t = r.pick(ts);
      const roll = r.f();
      let what = "";
      try {
        if (roll < 0.55) {
          const inst = r.pick([0, 0, 1, 1, 2, 3]);
          const side = r.pick([Side.BUY, Side.SELL]);
          const risks = seq.derivatives.risk.risks;
          const mk0 = risks?.[inst]?.mark ?? 0n;
          const base = mk0 > 0n ? mk0 / 100n : inst < 2 ? markTicks() : 20_000n;
          const maker = r.chance(0.5);
          const sgn = (side === Side.BUY) === maker ? -1 : 1;
          const pct = maker ? r.f() * 0.02 : 0.005 + r.f() * 0.05;
          const priceTicks = BigInt(Math.max(1, Math.round(Number(base) * (1 + sgn * pct))));
          const tif = maker ? r.pick([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.POST_ONLY]) : r.pick([TimeInForce.GTC, TimeInForce.IOC, TimeInForce.IOC, TimeInForce.FOK]);
          const type = !maker && r.chance(0.2) ? OrderType.MARKET : OrderType.LIMIT;
          const sizeLots = r.pick([1n, 3n, 10n, 100n, 500n, 1_000n, 2_000n, 6_000n, 12_000n]);
          const trig = r.chance(0.25) ? r.pick([TriggerType.STOP, TriggerType.TAKE_PROFIT]) : TriggerType.NONE;
          const trigPrice = trig ? (r.chance(0.3) ? base : (base * BigInt(95 + r.int(11))) / 100n) : 0n;
          const immediate = type === OrderType.MARKET || tif === TimeInForce.IOC || tif === TimeInForce.FOK;
          const expiry = r.chance(0.2) ? chain.now + r.int(40) : immediate && !trig ? chain.now + 600 : chain.now + 100_000 * (1 + r.int(40));
          const id = t.nextId;
          t.nextId += r.chance(0.1) ? 17n : 1n;
          const o = signOrder(t.key, {
            accountId: t.accountId, orderId: id, marketId: INSTRUMENT_MARKET_BASE + inst, side, type, timeInForce: tif, priceTicks, sizeLots,
            maxFeePpm: 1000, expiry, ...(r.chance(0.15) ? { reduceOnly: true } : {}), ...(trig ? { triggerType: trig, triggerPriceTicks: trigPrice } : {}),
          });
          what = `order ${t.accountId}:${id} inst ${inst} ${side ? "S" : "B"} ${sizeLots}@${priceTicks} tif ${tif} type ${type} ro ${!!o.reduceOnly} trig ${trig}/${trigPrice} exp ${expiry - chain.now}`;
          const ev = seq.placeOrder(o);
          what += ` -> ${ev.map((e) => e.type + ("code" in e ? `(${e.code})` : "reason" in e ? `(${e.reason})` : "")).join(",")}`;
          live.push({ t, id });
        } else if (roll < 0.60) {
          const l = live.length ? live[r.int(live.length)] : null;
          if (l) {
            what = `cancel ${l.t.accountId}:${l.id}`;
            seq.cancelOrder(signCancel(l.t.key, { accountId: l.t.accountId, orderId: l.id }));
          }
        } else if (roll < 0.64) {
          const toCollateral = r.chance(0.5);
          const amount = r.pick([1n, 1_000_000n, 1_000_000_000n, 10_000_000_000n, 39_000_000_000n]);
          what = `transfer ${t.accountId} ${toCollateral ? "in" : "out"} ${amount}`;
          seq.requestTransfer(signTransfer(t.key, { accountId: t.accountId, toCollateral, amount, nonce: t.nonce }));
          t.nonce++;
        } else if (roll < 0.66) {
          const amount = r.pick([1n, 1_000_000n, 5_000_000_000n]);
          what = `withdraw ${t.accountId} ${amount}`;
          seq.requestWithdrawal(signWithdrawal(t.key, { accountId: t.accountId, tokenId: 0, amount, nonce: t.nonce }));
          t.nonce++;
        } else if (roll < 0.77) {
          const dt = r.pick([1, 5, 30, 60, 120, 200]);
          chain.now += dt;
          const move = r.chance(0.25) ? (r.f() - 0.5) * 0.6 : (r.f() - 0.5) * 0.04;
          price = BigInt(Math.max(1e9, Math.round(Number(price) * (1 + move))));
          what = `time +${dt}, oracle price ${price}`;
          await oracle(price, r.chance(0.2));
        } else if (roll < 0.785) {
          const cp = r.pick(ts.filter((x) => x !== t));
          const inst = r.pick([0, 1, 2, 3]);
          const lots = r.pick([1n, 10n, 100n, 1000n]);
          what = `forced close ${t.accountId} vs ${cp.accountId} inst ${inst} lots ${lots}`;
          q.request({ type: TxType.FORCED_CLOSE, accountId: t.accountId, counterpartyId: cp.accountId, instrumentId: inst, lots });
        } else if (roll < 0.80) {
          const amount = r.pick([1n, 1_000_000_000n, 20_000_000_000n]);
          what = `fcw ${t.accountId} ${amount}`;
          q.request({ type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: t.accountId, tokenId: 0, amount });
        } else if (roll < 0.81) {
          const amount = r.pick([1n, 1_000_000_000n]);
          what = `forced withdraw ${t.accountId} ${amount}`;
          q.request({ type: TxType.FORCED_WITHDRAW, accountId: t.accountId, tokenId: 0, amount });
        } else if (roll < 0.83) {
          what = `deposit ${t.accountId}`;
          q.request({ type: TxType.DEPOSIT, accountId: t.accountId, tokenId: 0, amount: 2_000_000_000n });
        } else if (roll < 0.845 && t.accountId !== traders.carol.accountId) {
          const key = new Uint8Array(32).fill(keySeed++ % 250);
          what = `rotate key ${t.accountId}`;
          q.request({ type: TxType.REGISTER_KEY, accountId: t.accountId, pubKey: publicKeyOf(key) });
          t.key = key;
        } else if (roll < 0.85 && rotations < 2) {
          rotations++;
          oracleKey = new Uint8Array(32).fill(200 + rotations);
          chain.oracleKey = compressPublicKey(publicKeyOf(oracleKey));
          what = `the timelock replaces the oracle key`;
        } else if (roll < 0.95) {
          what = `drain`;
          await seq.drain();
          what += ` -> pending ${seq.pendingTransactions}`;
        } else if (roll < 0.98) {
          what = `restart`;
          await seq.drain().catch((e) => fail("drain before restart", e));
          const snap = J(seq.snapshot());
          const from = opts.snapshotEvery > 0 && r.chance(0.6) && (new SqliteStore(path).latestSnapshot()?.seq ?? 0) > 0 ? "snapshot" : "log";
          what += ` from ${from}`;
          const again = openDerivativesSequencer(chain, mk({ store: new SqliteStore(path), recoverFrom: from }));
          q.attach(again);
          const snap2 = J(again.snapshot());
          if (snap !== snap2) fail("replay differs", new Error(diff(snap, snap2)));
          seq = again;
        } else if (!nearExpiryDone && step > STEPS / 3) {
          // jump to just before the future's / options' expiry, trade there, then past it
          nearExpiryDone = true;
          await seq.drain();
          chain.now = EXPIRY - 3 - r.int(3);
          what = `jump to expiry - ${EXPIRY - chain.now}`;
          await oracle(price, false);
        } else if (nearExpiryDone && chain.now < EXPIRY + 2) {
          chain.now = EXPIRY + r.int(3);
          what = `past expiry ${chain.now - EXPIRY}`;
          await oracle(price, false);
        }
      } catch (e) {
        if (e instanceof RequestRejected) what += ` refused ${e.code}`;
        else fail(`step ${step} ${what}`, e);
      }
      if (what) steps.push(`${step} t=${chain.now - NOW}: ${what}`);
      if (q.violations.length) fail("queue order", new Error(q.violations.join("; ")));
    }
    // settle everything: fresh oracle updates and drains
    for (let k = 0; k < 4; k++) {
      chain.now += 10;
      chain.wallMs! += NO_KEY_RECHECK_MS;
      await oracle(price, false);
      try { await seq.drain(); } catch (e) { fail(`final drain ${k}`, e); }
    }
    const left = seq.peekPending();
    const heldOut = (seq.snapshot() as unknown as { awaitingMarks?: unknown[] }).awaitingMarks ?? [];
    if (left.length || heldOut.length) fail("queue not empty", new Error(`pending ${left.map((x) => x.type).join(",")} held ${heldOut.length}`));
    assert.equal(q.consumed, q.queued, "every on-chain request consumed");
    const snap = J(seq.snapshot());
    const again = openDerivativesSequencer(chain, mk({ store: new SqliteStore(path), recoverFrom: "log" }));
    const snap2 = J(again.snapshot());
    if (snap !== snap2) fail("final replay differs", new Error(diff(snap, snap2)));
    console.log(`seed ${seed}: ${steps.length} steps, ${chain.posted} batches, ${logLines.filter((l) => l.startsWith("rejected")).length} entries rejected`);
    if (process.env.TRAFFIC_DEBUG) for (const l of steps) console.log("   ", l);
  });
}

function diff(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `at ${i}: live …${a.slice(Math.max(0, i - 300), i + 300)}…\nreplay …${b.slice(Math.max(0, i - 300), i + 300)}…`;
}
