/**
 * The timelock replaces the custodian's oracle key (Custodian.setOracleKey: the recovery from a lost or compromised
 * key). From then on the custodian refuses every batch whose update is under the old key (OracleKeyMismatch). The
 * sequencer must follow: read the custodian's key again (DerivativesService.checkOracleKey, refreshOracleKey), take the
 * new oracle's updates and refuse the old key's, and take back what waits on an update under the old key when its
 * batch is built (BatchPipeline: RETIRED_ORACLE_KEY, as for an update grown too old), so settlement goes on. Before
 * (review of 2026-12-06, Medium) it read the key once and kept it for good, restarts included: the new oracle's
 * updates were refused, the old key's batched and refused on chain, until exodus.
 *
 * The fake custodian answers its key and refuses batches under another one, as Custodian._submitBatch does
 * (test/helpers/derivativesSequencer.ts, FakeChain.oracleKey). Wall-clock time, which paces the sequencer's reads of
 * the key, is the fake chain's (`wallMs`: the sequencer's `wallClockMs` option; a global Date mock would leak into
 * the tests the runner runs beside these).
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compressPublicKey, publicKeyOf } from "../../../sequencer/crypto/babyjub.ts";
import { Side, TxType } from "../../../sequencer/protocol/constants.ts";
import type { BatchTx } from "../../../sequencer/protocol/transactions.ts";
import { SqliteStore } from "../../../sequencer/persistence/sqliteStore.ts";
import { NO_KEY_RECHECK_MS, ORACLE_KEY_RECHECK_MS } from "../../../sequencer/service/derivatives.ts";
import { jsSignatureVerifier, type SignatureVerifier } from "../../../sequencer/crypto/signatureVerifier.ts";
import { signTransfer, signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import type { TxRejection } from "../../../sequencer/service/exchangeCore.ts";
import type { Sequencer } from "../../../sequencer/service/sequencer.ts";
import { derivOrder, NOW, ORACLE_KEY, oracleUpdate, traders } from "../../helpers/derivatives.ts";
import { assertInSync, derivativesSequencer, fundCollateral, openDerivativesSequencer } from "../../helpers/derivativesSequencer.ts";
import { custodianQueue } from "../../helpers/custodianQueue.ts";

const { alice, bob, carol } = traders;
const PERP = 0;
const OLD = compressPublicKey(publicKeyOf(ORACLE_KEY));
const NEW_ORACLE_KEY = new Uint8Array(32).fill(7);
const NEW = compressPublicKey(publicKeyOf(NEW_ORACLE_KEY));

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const fcw = (accountId: number, amount: bigint): BatchTx => ({ type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId, tokenId: 0, amount });

/** The code `seq` refuses oracle update `u` with, or "accepted". */
async function verdict(seq: Sequencer, u: ReturnType<typeof oracleUpdate>): Promise<string> {
  try {
    await seq.acceptOracleUpdate(u);
    return "accepted";
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
}

/** alice buys 10 perpetual lots from bob at 3,000 (order ids `id`): accepted, filled, waiting for a batch. */
function trade(seq: Sequencer, id: bigint): void {
  seq.placeOrder(derivOrder(bob, PERP, { orderId: id, side: Side.SELL, priceTicks: 300_000n, sizeLots: 10n }));
  const events = seq.placeOrder(derivOrder(alice, PERP, { orderId: id, side: Side.BUY, priceTicks: 300_000n, sizeLots: 10n }));
  assert.equal(events.filter((e) => e.type === "fill").length, 1);
}

/** A sequencer on a custodian whose oracle key is ORACLE_KEY's, with collateral funded (an update under it proven). */
async function started() {
  const logs: string[] = [];
  const { seq, chain } = derivativesSequencer(NOW, { log: (line) => logs.push(line) }, OLD);
  await fundCollateral(seq, [alice, bob]);
  const rejections: TxRejection[] = [];
  seq.events.on("rejected", (r: TxRejection) => rejections.push(r));
  const q = custodianQueue(seq);
  q.start();
  return { seq, chain, q, logs, rejections };
}

describe("the timelock replaces the oracle key", () => {
  it("the new oracle's first update is taken once the key is read again (paced: one read per NO_KEY_RECHECK_MS for foreign keys), the old key's refused from then on; a trade and a forced collateral withdrawal waiting on the old key's update are taken back when their batch is built, the withdrawal judged again at the new update and proven honoured", async () => {
    const { seq, chain, q, logs, rejections } = await started();
    trade(seq, 1n);
    q.request(fcw(alice.accountId, 1_000n));
    chain.oracleKey = NEW; // the timelock's setOracleKey
    chain.now = NOW + 10;
    assert.equal(await verdict(seq, oracleUpdate({ time: NOW + 10 }, NEW_ORACLE_KEY)), "BAD_ORACLE_KEY", "the key was read less than NO_KEY_RECHECK_MS ago: not read again for a foreign key");
    chain.wallMs! += NO_KEY_RECHECK_MS;
    assert.equal(await verdict(seq, oracleUpdate({ time: NOW + 10 }, NEW_ORACLE_KEY)), "accepted");
    assert.ok(logs.some((l) => l.startsWith("the custodian's oracle key changed")), logs.slice(-5).join("\n"));
    assert.equal(await verdict(seq, oracleUpdate({ time: NOW + 11 })), "BAD_ORACLE_KEY", "the retired key's update is refused");

    await seq.drain();
    assert.equal(seq.pendingTransactions, 0, "nothing stays behind");
    assert.deepEqual(rejections.map((r) => [r.code, r.tx.type]), [["RETIRED_ORACLE_KEY", TxType.DERIV_TRADE]], "the trade taken back");
    assert.equal(seq.state.account(alice.accountId).deriv.positions[PERP].size, 0n, "no position proven");
    assert.deepEqual(q.recordsOf(TxType.FORCED_COLLATERAL_WITHDRAW).map((r) => [r.record.type === TxType.FORCED_COLLATERAL_WITHDRAW && r.record.honoured, r.oracleTime]), [[1n, BigInt(NOW + 10)]], "proven honoured at the new update");
    assert.ok(q.batches.every((b) => !b.oracle.used || b.oracle.key === NEW), "every batch on chain since is under the new key");
    assert.deepEqual(q.violations, []);
    assertInSync(seq);
  });

  it("a batch built with the old key's update before the sequencer saw the change is refused by the custodian (OracleKeyMismatch): the key is read again, the batch abandoned and built again without the update, the trade taken back; the new oracle's update is then taken at once and trading goes on under it", async () => {
    const { seq, chain, q, logs, rejections } = await started();
    trade(seq, 1n);
    chain.oracleKey = NEW;
    const posted = chain.posted;
    await seq.drain();
    assert.ok(logs.some((l) => /abandoned: .*OracleKeyMismatch/.test(l)), logs.slice(-6).join("\n"));
    assert.deepEqual(rejections.map((r) => [r.code, r.tx.type]), [["RETIRED_ORACLE_KEY", TxType.DERIV_TRADE]]);
    assert.equal(chain.posted, posted, "nothing under the old key reached the chain");
    assert.equal(seq.pendingTransactions, 0);
    assertInSync(seq);

    chain.now = NOW + 10;
    assert.equal(await verdict(seq, oracleUpdate({ time: NOW + 10 }, NEW_ORACLE_KEY)), "accepted", "the key was read when the custodian refused the batch");
    trade(seq, 2n);
    await seq.drain();
    assert.equal(seq.state.account(alice.accountId).deriv.positions[PERP].size, 10n, "proven under the new key");
    assert.ok(q.batches.length > 0 && q.batches.every((b) => !b.oracle.used || b.oracle.key === NEW));
    assert.deepEqual(q.violations, []);
    assertInSync(seq);
  });

  it("a forced close judged at the old key's update leaves the queue when its batch is built (RETIRED_ORACLE_KEY): carol's spot withdrawal behind it is proven meanwhile, and the new oracle's first update serves the close (review of stop 46: it stopped every batch until then)", async () => {
    const { seq, chain, q, rejections } = await started();
    trade(seq, 1n);
    await seq.drain();
    assert.equal(seq.state.account(alice.accountId).deriv.positions[PERP].size, 10n);
    const carolQuote = seq.state.balance(carol.accountId, 0);
    q.request({ type: TxType.FORCED_CLOSE, accountId: alice.accountId, instrumentId: PERP, counterpartyId: bob.accountId, lots: 5n });
    assert.equal(seq.derivatives.risk.account(alice.accountId).positions[PERP].size, 5n, "judged honoured at the old key's update");
    chain.oracleKey = NEW; // the timelock's setOracleKey
    seq.requestWithdrawal(signWithdrawal(carol.key, { accountId: carol.accountId, tokenId: 0, amount: 1_000n, nonce: 0 }));
    await seq.drain();
    assert.equal(seq.state.balance(carol.accountId, 0), carolQuote - 1_000n, "carol's withdrawal proven while the close waits");
    assert.equal(seq.state.account(alice.accountId).deriv.positions[PERP].size, 10n, "the close is not served without a usable update");
    assert.deepEqual(seq.snapshot().awaitingMarks?.map((h) => h.tx.type), [TxType.FORCED_CLOSE], "held out of the queue");
    assert.deepEqual(rejections, [], "an on-chain request is never rejected");
    chain.now = NOW + 10;
    assert.equal(await verdict(seq, oracleUpdate({ time: NOW + 10 }, NEW_ORACLE_KEY)), "accepted");
    await seq.drain();
    assert.equal(seq.pendingTransactions, 0);
    assert.equal(seq.state.account(alice.accountId).deriv.positions[PERP].size, 5n, "served with the new oracle's update");
    assert.deepEqual(q.recordsOf(TxType.FORCED_CLOSE).map((r) => r.oracleTime), [BigInt(NOW + 10)]);
    assert.deepEqual(q.violations, []);
    assertInSync(seq);
  });

  it("a sequencer restarted after the change reads the key at its first update (it does not keep the one its log or snapshot had)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "oracle-key-"));
    dirs.push(dir);
    const path = join(dir, "sequencer.db");
    const { seq, chain } = derivativesSequencer(NOW, { store: new SqliteStore(path), snapshotEvery: 3 }, OLD);
    await fundCollateral(seq, [alice, bob]);
    chain.oracleKey = NEW;
    const reopened = openDerivativesSequencer(chain, { store: new SqliteStore(path), recoverFrom: "snapshot" });
    chain.now = NOW + 10;
    assert.equal(await verdict(reopened, oracleUpdate({ time: NOW + 10 }, NEW_ORACLE_KEY)), "accepted");
    assert.equal(await verdict(reopened, oracleUpdate({ time: NOW + 11 })), "BAD_ORACLE_KEY");
    trade(reopened, 1n);
    await reopened.drain();
    assert.equal(reopened.state.account(alice.accountId).deriv.positions[PERP].size, 10n);
  });

  it("reads of the custodian's key are shared and paced: 50 updates at once under foreign keys cost one read; a failed read keeps the key known (the oracle's updates go on), and the next read waits", async () => {
    const { seq, chain, logs } = await started();
    let reads = 0;
    let failing = false;
    Object.assign(seq.custodian, {
      oracleKey: async () => {
        reads++;
        await new Promise((r) => setImmediate(r));
        if (failing) throw new Error("node down");
        return chain.oracleKey ?? null;
      },
    });
    chain.wallMs! += NO_KEY_RECHECK_MS;
    chain.now = NOW + 10;
    const foreign = Array.from({ length: 50 }, (_, k) => verdict(seq, oracleUpdate({ time: NOW + 10 }, new Uint8Array(32).fill(20 + k))));
    assert.deepEqual(new Set(await Promise.all(foreign)), new Set(["BAD_ORACLE_KEY"]));
    assert.equal(reads, 1, "one read for the burst");
    chain.wallMs! += ORACLE_KEY_RECHECK_MS;
    failing = true;
    assert.equal(await verdict(seq, oracleUpdate({ time: NOW + 10 })), "accepted", "the node fails: the key known serves the oracle's update");
    assert.ok(logs.some((l) => l.startsWith("reading the custodian's oracle key failed")));
    chain.now = NOW + 11;
    assert.equal(await verdict(seq, oracleUpdate({ time: NOW + 11 })), "accepted");
    assert.equal(reads, 2, "and is not read again at once");
  });

  it("an update under the old key whose signature is being checked when a read learns the new key is refused (BAD_ORACLE_KEY): it does not put the old key back", async () => {
    let open: () => void = () => {};
    let gate: Promise<void> | null = null;
    const verifier: SignatureVerifier = {
      name: "waits when told",
      verifyBatch: async (checks) => {
        if (gate) await gate;
        return jsSignatureVerifier.verifyBatch(checks);
      },
    };
    const logs: string[] = [];
    const { seq, chain } = derivativesSequencer(NOW, { log: (line) => logs.push(line), verifier }, OLD);
    await fundCollateral(seq, [alice, bob]);
    chain.now = NOW + 10;
    gate = new Promise((r) => (open = r));
    const old = verdict(seq, oracleUpdate({ time: NOW + 10 }));
    chain.oracleKey = NEW;
    await seq.derivatives.refreshOracleKey();
    open();
    assert.equal(await old, "BAD_ORACLE_KEY");
    gate = null;
    chain.now = NOW + 11;
    assert.equal(await verdict(seq, oracleUpdate({ time: NOW + 11 }, NEW_ORACLE_KEY)), "accepted", "the new key stays known");
  });

  it("once the new key is known, a derivatives order or a transfer on the old key's latest update is refused (RETIRED_ORACLE_KEY) and changes nothing, until the new oracle's first update; spot requests go on", async () => {
    const { seq, chain } = await started();
    chain.oracleKey = NEW;
    await seq.derivatives.refreshOracleKey();
    const pending = seq.pendingTransactions;
    const code = (f: () => unknown) => { try { f(); return "accepted"; } catch (e) { return (e as { code?: string }).code; } };
    assert.equal(code(() => seq.placeOrder(derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 10n }))), "RETIRED_ORACLE_KEY");
    assert.equal(code(() => seq.requestTransfer(signTransfer(alice.key, { accountId: alice.accountId, toCollateral: true, amount: 1n, nonce: 1 }))), "RETIRED_ORACLE_KEY");
    assert.equal(seq.pendingTransactions, pending, "nothing queued");
    assert.equal(seq.engine.openOrders(bob.accountId).length, 0, "nothing rests");
    assert.equal(code(() => seq.requestWithdrawal(signWithdrawal(carol.key, { accountId: carol.accountId, tokenId: 0, amount: 1n, nonce: 0 }))), "accepted", "a spot withdrawal is not the oracle's");
    chain.now = NOW + 10;
    assert.equal(await verdict(seq, oracleUpdate({ time: NOW + 10 }, NEW_ORACLE_KEY)), "accepted");
    trade(seq, 2n);
    await seq.drain();
    assert.equal(seq.state.account(alice.accountId).deriv.positions[PERP].size, 10n);
  });

  it("a sequencer restarted once it knew the new key, before the new oracle's first update: its first batch with the old key's update reads the key before it is built, so what waits on it is taken back without a proof the custodian refuses; after a read (as the process does at start) intake refuses at once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "oracle-key-"));
    dirs.push(dir);
    const path = join(dir, "sequencer.db");
    const { seq, chain } = derivativesSequencer(NOW, { store: new SqliteStore(path), snapshotEvery: 3 }, OLD);
    await fundCollateral(seq, [alice, bob]);
    chain.oracleKey = NEW;
    await seq.derivatives.refreshOracleKey();
    const code = (s: Sequencer, f: () => unknown) => { try { f(); return "accepted"; } catch (e) { return (e as { code?: string }).code; } };
    assert.equal(code(seq, () => seq.placeOrder(derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 10n }))), "RETIRED_ORACLE_KEY");

    const logs: string[] = [];
    const reopened = openDerivativesSequencer(chain, { store: new SqliteStore(path), recoverFrom: "log", log: (l) => logs.push(l) });
    const rejections: TxRejection[] = [];
    reopened.events.on("rejected", (r: TxRejection) => rejections.push(r));
    // the node is slow: the read intake starts answers only while the batch is being selected
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const read = reopened.custodian.oracleKey.bind(reopened.custodian);
    Object.assign(reopened.custodian, { oracleKey: async () => { await gate; return read(); } });
    trade(reopened, 1n); // taken: the read intake started has not answered yet
    const posted = chain.posted;
    const drained = reopened.drain();
    setTimeout(release, 20);
    await drained;
    assert.deepEqual(rejections.map((r) => [r.code, r.tx.type]), [["RETIRED_ORACLE_KEY", TxType.DERIV_TRADE]]);
    assert.ok(!logs.some((l) => /OracleKeyMismatch/.test(l)), "no batch under the old key was sent");
    assert.equal(chain.posted, posted);

    const again = openDerivativesSequencer(chain, { store: new SqliteStore(path), recoverFrom: "log" });
    await again.derivatives.refreshOracleKey();
    assert.equal(code(again, () => again.placeOrder(derivOrder(bob, PERP, { orderId: 2n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 10n }))), "RETIRED_ORACLE_KEY");
  });
});
