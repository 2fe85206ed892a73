/**
 * Durability of the derivatives side: a sequencer over a store accepts oracle updates (a funding tick,
 * a drop that liquidates, cancellations for want of margin), transfers and instrument trades, with
 * derivatives transactions still pending (tagged with their oracle update). A new sequencer over the
 * same store, from the whole log or from a snapshot plus the log after it, must hold exactly the same
 * snapshot (books, risk view, instrument table, latest update, pending entries and their tags), and
 * then prove the same batches to the same root as a twin that never crashed.
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../../../sequencer/persistence/sqliteStore.ts";
import { Side, TriggerType, TxType } from "../../../sequencer/protocol/constants.ts";
import { ORACLE_FRESHNESS } from "../../../sequencer/service/derivatives.ts";
import { signTransfer, signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import { jsSignatureVerifier, type SignatureVerifier } from "../../../sequencer/crypto/signatureVerifier.ts";
import type { Sequencer } from "../../../sequencer/service/sequencer.ts";
import { derivOrder, NOW, oracleUpdate, traders } from "../../helpers/derivatives.ts";
import { derivativesSequencer, openDerivativesSequencer, type FakeChain } from "../../helpers/derivativesSequencer.ts";

const { alice, bob, carol } = traders;
const PERP = 0;
const FUTURE = 1;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Trading that leaves every kind of derivatives record in the log and derivatives transactions pending. */
async function trade(seq: Sequencer, chain: FakeChain): Promise<void> {
  await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
  await seq.drain(); // keys, deposits, instruments: tradable once proven
  for (const t of [alice, bob, carol]) seq.requestTransfer(signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: 50_000_000_000n, nonce: 0 }));
  seq.requestTransfer(signTransfer(bob.key, { accountId: bob.accountId, toCollateral: false, amount: 1_000_000n, nonce: 1 }));
  seq.placeOrder(derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 15_000n }));
  seq.placeOrder(derivOrder(alice, PERP, { orderId: 2n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 15_000n }));
  seq.placeOrder(derivOrder(bob, FUTURE, { orderId: 2n, side: Side.BUY, priceTicks: 250_000n, sizeLots: 10n })); // rests
  await seq.runBatch(); // transfers and the trade proven; nothing else
  chain.now = NOW + 10;
  await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 10, fundingEpoch: 1, rates: [100n, 0n, 0n, 0n] }));
  chain.now = NOW + 20;
  const drop = await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + 20, fundingEpoch: 1, prices: [280_000_000_000n] }));
  assert.deepEqual(drop.liquidations, [[alice.accountId, PERP, 15_000n]], "the scenario liquidates alice");
  // The liquidation used carol's order id 1: her own orders must go above it.
  assert.throws(() => seq.placeOrder(derivOrder(carol, FUTURE, { orderId: 1n, side: Side.SELL, priceTicks: 250_000n, sizeLots: 4n })), /ORDER_ID_REUSED/);
  seq.placeOrder(derivOrder(carol, FUTURE, { orderId: 2n, side: Side.SELL, priceTicks: 250_000n, sizeLots: 4n }));
}

function durableDerivatives(snapshotEvery: number, options: Parameters<typeof derivativesSequencer>[1] = {}) {
  const dir = mkdtempSync(join(tmpdir(), "deriv-recovery-"));
  dirs.push(dir);
  const path = join(dir, "sequencer.db");
  const store = new SqliteStore(path);
  const { seq, chain } = derivativesSequencer(NOW, { store, snapshotEvery, ...options });
  return {
    seq,
    chain,
    reopen(recoverFrom: "log" | "snapshot"): Sequencer {
      const again = new SqliteStore(path);
      if (recoverFrom === "snapshot") assert.ok((again.latestSnapshot()?.seq ?? 0) > 0, "a snapshot was taken");
      return openDerivativesSequencer(chain, { store: again, snapshotEvery, recoverFrom });
    },
    /** A sequencer restarted from a copy of the store as it is now (a process killed here and started again), which then goes its own way. */
    restartedCopy(extra: Parameters<typeof openDerivativesSequencer>[1] = {}): Sequencer {
      const copy = mkdtempSync(join(tmpdir(), "deriv-recovery-copy-"));
      dirs.push(copy);
      for (const suffix of ["", "-wal", "-shm"]) if (existsSync(path + suffix)) copyFileSync(path + suffix, join(copy, `sequencer.db${suffix}`));
      const store = new SqliteStore(join(copy, "sequencer.db"));
      assert.ok((store.latestSnapshot()?.seq ?? 0) > 0, "a snapshot was taken");
      return openDerivativesSequencer(chain, { store, snapshotEvery: 0, ...extra });
    },
    /** The seq of the latest snapshot in the store. */
    snapshotAt: () => new SqliteStore(path).latestSnapshot()?.seq ?? 0,
    /** No snapshot after this one (as with the default 10,000 records between them): the restart replays what follows. */
    stopSnapshots(): void {
      (seq as unknown as { opts: { snapshotEvery: number } }).opts.snapshotEvery = 0;
    },
  };
}

describe("derivatives recovery from the log", () => {
  for (const [what, every, from] of [["the whole log", 0, "log"], ["a snapshot and the log after it", 7, "snapshot"]] as const) {
    it(`rebuilds oracle updates, transfers, liquidations, positions and tagged pending transactions from ${what}`, async () => {
      const d = durableDerivatives(every);
      await trade(d.seq, d.chain);
      assert.ok(d.seq.pendingTransactions > 1, "derivatives transactions are pending at the crash");
      const recovered = d.reopen(from);
      assert.deepEqual(recovered.snapshot(), d.seq.snapshot());
      assert.equal(recovered.state.root, d.seq.state.root);
      assert.deepEqual(recovered.derivatives.risk.account(carol.accountId), d.seq.derivatives.risk.account(carol.accountId));

      // A twin without a store, fed the same commands, then proves the same batches as the recovered one.
      const twin = derivativesSequencer(NOW);
      await trade(twin.seq, twin.chain);
      assert.deepEqual(twin.seq.snapshot(), recovered.snapshot());
      const batches = (await twin.seq.drain()).length;
      assert.equal((await recovered.drain()).length, batches);
      assert.equal(recovered.state.root, twin.seq.state.root);
      assert.equal(recovered.state.account(carol.accountId).deriv.positions[PERP].size, 15_000n);
    });

    it(`keeps the requests held until an oracle update (a forced collateral withdrawal and a deposit after it) across a restart from ${what}, and the next update releases them`, async () => {
      const d = durableDerivatives(every === 0 ? 0 : 1);
      await d.seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
      await d.seq.drain();
      d.seq.requestTransfer(signTransfer(alice.key, { accountId: alice.accountId, toCollateral: true, amount: 1_000_000_000n, nonce: 0 }));
      await d.seq.drain();
      d.chain.now += ORACLE_FRESHNESS + 1;
      d.seq.acceptRequest({ type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: alice.accountId, tokenId: 0, amount: 1_000n });
      d.seq.acceptRequest({ type: TxType.DEPOSIT, accountId: bob.accountId, tokenId: 0, amount: 7n });
      const recovered = d.reopen(from);
      assert.deepEqual(recovered.snapshot().awaitingMarks?.map((h) => h.tx.type), [TxType.FORCED_COLLATERAL_WITHDRAW, TxType.DEPOSIT]);
      assert.deepEqual(recovered.snapshot(), d.seq.snapshot());
      const collateral = recovered.state.account(alice.accountId).deriv.collateral;
      await recovered.acceptOracleUpdate(oracleUpdate({ time: d.chain.now - 5 }));
      await recovered.drain();
      assert.equal(recovered.pendingTransactions, 0);
      assert.equal(recovered.state.account(alice.accountId).deriv.collateral, collateral - 1_000n);
    });
  }

  it("queues the margin cancellations of an oracle update in account order, not in the order accounts first reserved margin: the same live and after a restart from a snapshot", async () => {
    const d = durableDerivatives(1);
    await d.seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
    await d.seq.drain();
    for (const t of [carol, alice]) d.seq.requestTransfer(signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: 50_000_000_000n, nonce: 0 }));
    await d.seq.drain();
    // carol (3) reserves margin before alice (1): resting buys the next update's price drop leaves uncovered
    for (const t of [carol, alice]) d.seq.placeOrder(derivOrder(t, PERP, { orderId: 5n, side: Side.BUY, priceTicks: 290_000n, sizeLots: 15_000n }));
    await d.seq.drain();
    const recovered = d.restartedCopy();
    const drop = oracleUpdate({ time: NOW + 1, prices: [150_000_000_000n] });
    d.chain.now = NOW + 2;
    await d.seq.acceptOracleUpdate(drop);
    await recovered.acceptOracleUpdate(drop);
    const cancels = (s: Sequencer) => s.peekPending().filter((t) => t.type === TxType.OPERATOR_CANCEL).map((t) => (t as { accountId: number }).accountId);
    assert.deepEqual(cancels(d.seq), [alice.accountId, carol.accountId]);
    assert.deepEqual(cancels(recovered), cancels(d.seq));
    await d.seq.drain();
    assert.doesNotThrow(() => d.reopen("log"), "the log replays");
  });

  it("an oracle update arriving while a batch is built (its signature check) releases a held forced request ahead of what the batch took: the batch is built again on the queue as it is, every request is proven, and the log replays", async () => {
    let during: (() => Promise<void>) | null = null;
    const d = durableDerivatives(0, {
      verifier: {
        name: "hooked",
        async verifyBatch(checks) {
          const hook = during;
          during = null;
          await hook?.();
          return jsSignatureVerifier.verifyBatch(checks);
        },
      } as SignatureVerifier,
    });
    await d.seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
    await d.seq.drain();
    d.seq.requestTransfer(signTransfer(alice.key, { accountId: alice.accountId, toCollateral: true, amount: 1_000_000_000n, nonce: 0 }));
    await d.seq.drain();
    d.chain.now += ORACLE_FRESHNESS + 1;
    d.seq.acceptRequest({ type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: alice.accountId, tokenId: 0, amount: 1_000n }); // held: no fresh update
    d.seq.requestWithdrawal(signWithdrawal(bob.key, { accountId: bob.accountId, tokenId: 0, amount: 1n, nonce: 0 }));
    d.seq.requestWithdrawal(signWithdrawal(carol.key, { accountId: carol.accountId, tokenId: 0, amount: 1n, nonce: 0 }));
    const rejected: string[] = [];
    d.seq.events.on("rejected", (r) => rejected.push(r.code));
    during = async () => {
      await d.seq.acceptOracleUpdate(oracleUpdate({ time: d.chain.now - 5 }));
      assert.equal(d.seq.peekPending()[0]!.type, TxType.FORCED_COLLATERAL_WITHDRAW, "released ahead of the withdrawals the batch took");
    };
    await d.seq.drain();
    assert.equal(during, null, "the update came during the build");
    assert.deepEqual(rejected, []);
    assert.equal(d.seq.pendingTransactions, 0);
    assert.equal(d.seq.state.account(alice.accountId).deriv.collateral, 1_000_000_000n - 1_000n, "the forced withdrawal was proven");
    for (const t of [bob, carol]) assert.equal(d.seq.state.account(t.accountId).nonce, 1, "both withdrawals were proven");
    const recovered = d.reopen("log");
    assert.equal(recovered.state.root, d.seq.state.root);
  });

  it("every field the exchange core keeps is in the sequencer's snapshot (rebaseOwed and staleOracleTime were left out, found 2026-12-05)", async () => {
    const d = durableDerivatives(0);
    await trade(d.seq, d.chain);
    const core = (d.seq as unknown as { core: { snapshot(): object } }).core;
    const own = core.snapshot.bind(core);
    core.snapshot = () => ({ ...own(), staleOracleTime: 7, rebaseOwed: 8 }); // whatever the core keeps, set or not
    const snap = d.seq.snapshot() as unknown as Record<string, unknown>;
    assert.equal(snap.staleOracleTime, 7);
    assert.equal(snap.rebaseOwed, 8);
    for (const [k, v] of Object.entries(own())) assert.deepEqual(snap[k], v, k);
  });

  it("a rebase still owed at a snapshot (a stale trade rejected while a tagged one waits) is done after a restart from it: the sequencer starts, and the restarted view is the live one", async () => {
    const d = durableDerivatives(1);
    const { seq, chain } = d;
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
    await seq.drain();
    for (const t of [alice, bob, carol]) seq.requestTransfer(signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: 50_000_000_000n, nonce: 0 }));
    await seq.drain();
    seq.placeOrder(derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 10n }));
    seq.placeOrder(derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 10n })); // its update grows too old
    chain.now += 1_000;
    await seq.acceptOracleUpdate(oracleUpdate({ time: chain.now - 5 }));
    seq.placeOrder(derivOrder(carol, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 6n, expiry: chain.now + 3600 }));
    for (const id of [2n, 3n]) seq.placeOrder(derivOrder(bob, PERP, { orderId: id, side: Side.BUY, priceTicks: 300_000n, sizeLots: 3n, expiry: chain.now + 3600 }));
    await seq.runBatch(); // the stale trade rejected while a tagged one waits: the rebase owed; a snapshot
    assert.ok(seq.snapshot().rebaseOwed, "owed at the snapshot");
    d.stopSnapshots();
    await seq.drain(); // the last tagged trade leaves: rebased, alice flat in intake's view
    assert.equal(seq.derivatives.risk.account(alice.accountId).positions[PERP].size, 0n);
    seq.placeOrder(derivOrder(carol, PERP, { orderId: 2n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 10n, expiry: chain.now + 3600 }));
    const reduce = seq.placeOrder(derivOrder(alice, PERP, { orderId: 2n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 10n, reduceOnly: true, expiry: chain.now + 3600 }));
    assert.deepEqual(reduce.map((e) => e.type), ["rejected", "done"], "alice holds nothing to reduce (it filled against the phantom position after a restart)");
    await seq.drain();
    const restarted = d.restartedCopy();
    assert.equal(restarted.state.root, seq.state.root);
    assert.deepEqual(restarted.snapshot(), seq.snapshot());
  });

  it("the newest update found too old for a forced request (staleOracleTime) survives a snapshot: the request is not judged at it again after a restart", async () => {
    let clock = NOW;
    const d = durableDerivatives(1, { clock: () => clock });
    const { seq, chain } = d;
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
    await seq.drain();
    for (const t of [alice, bob, carol]) seq.requestTransfer(signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: 50_000_000_000n, nonce: 0 }));
    seq.placeOrder(derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 1_000n }));
    seq.placeOrder(derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 1_000n }));
    await seq.drain();
    chain.now = NOW + 10_000;
    clock = chain.now;
    await seq.acceptOracleUpdate(oracleUpdate({ time: clock - 5 }));
    seq.placeOrder(derivOrder(carol, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 10n, expiry: clock + 3600 }));
    seq.placeOrder(derivOrder(bob, PERP, { orderId: 2n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 10n, expiry: clock + 3600 }));
    await seq.drain(); // the update is the proven state's
    clock += 100;
    chain.now = clock + 700; // the chain's clock runs ahead: the update is too old for the next batch's stamp
    seq.acceptRequest({ type: TxType.FORCED_CLOSE, accountId: alice.accountId, instrumentId: PERP, counterpartyId: bob.accountId, lots: 400n });
    await seq.drain();
    seq.acceptRequest({ type: TxType.DEPOSIT, accountId: carol.accountId, tokenId: 0, amount: 5n }); // a commit: a snapshot
    assert.ok(seq.snapshot().staleOracleTime, "kept at the snapshot");
    d.stopSnapshots();
    const at = d.snapshotAt();
    seq.acceptRequest({ type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: carol.accountId, tokenId: 0, amount: 1_000_000n }); // held: no update newer than the stale one
    // the close left the queue when its update was found too old (no newer one to judge it), and the requests queued
    // on chain after it wait behind it, in the custodian's order
    assert.deepEqual(seq.snapshot().awaitingMarks?.map((h) => h.tx.type), [TxType.FORCED_CLOSE, TxType.DEPOSIT, TxType.FORCED_COLLATERAL_WITHDRAW]);
    clock = chain.now; // a fresh update judges both
    await seq.acceptOracleUpdate(oracleUpdate({ time: clock - 5 }));
    await seq.drain();
    assert.equal(d.snapshotAt(), at, "the restart replays from that snapshot");
    const restarted = d.restartedCopy({ clock: () => clock });
    assert.equal(restarted.state.root, seq.state.root);
    assert.deepEqual(restarted.snapshot(), seq.snapshot());
  });

  it("stop and take-profit orders placed and then held again when the mark moves back are held again in the same order after a restart from a snapshot (by account and order id), so the same one fills", async () => {
    const d = durableDerivatives(1);
    const { seq, chain } = d;
    const update = async (dt: number, ticks: bigint) => {
      chain.now = NOW + dt;
      await seq.acceptOracleUpdate(oracleUpdate({ time: NOW + dt, prices: [ticks * 1_000_000n] }));
    };
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW - 5 }));
    await seq.drain();
    for (const t of [alice, bob, carol]) seq.requestTransfer(signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount: 50_000_000_000n, nonce: 0 }));
    await seq.drain();
    // order ids 10 then 2: slots "1:10" and "1:2" (a snapshot restores its slots sorted as strings, "1:10" first)
    for (const id of [10n, 2n]) {
      seq.placeOrder(derivOrder(alice, PERP, { orderId: id, side: Side.BUY, priceTicks: 290_000n, sizeLots: 100n, triggerType: TriggerType.TAKE_PROFIT, triggerPriceTicks: 290_000n }));
    }
    await update(10, 289_000n); // both placed
    await seq.drain();
    seq.requestTransfer(signTransfer(carol.key, { accountId: carol.accountId, toCollateral: false, amount: 1n, nonce: 1 })); // a commit: a snapshot
    d.stopSnapshots();
    await seq.drain();
    await update(20, 295_000n); // both held again
    await update(30, 289_500n); // both placed again, in the order they were held
    const fills = seq.placeOrder(derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 290_000n, sizeLots: 100n })).flatMap((e) => (e.type === "fill" ? [e.makerOrderId] : []));
    assert.deepEqual(fills, [2n], "the order with the lower id was held again first");
    await seq.drain();
    const restarted = d.restartedCopy();
    assert.equal(restarted.state.root, seq.state.root);
    assert.deepEqual(restarted.snapshot(), seq.snapshot());
  });
});
