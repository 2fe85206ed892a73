/**
 * The log records which rules wrote it (sequencer/persistence/logRules.ts): a restart refuses to replay records
 * written under another rules version than the running code's, naming both and the upgrade procedure, and changes
 * nothing on disk; the same log replays under its own version; a directory whose snapshot covers the whole log starts
 * under any version. "A" and "B" stand for the code before and after an upgrade (SqliteStore's `rules` option).
 */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "../../../sequencer/persistence/sqlite.ts";
import { LOG_RULES_VERSION, LogRulesMismatch, rulesOfRecords } from "../../../sequencer/persistence/logRules.ts";
import { SqliteStore } from "../../../sequencer/persistence/sqliteStore.ts";
import { Side } from "../../../sequencer/protocol/constants.ts";
import { signCancel, signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import { Sequencer, type SequencerOptions } from "../../../sequencer/service/sequencer.ts";
import { admitFixtureRequests, alice, bob, offlineSequencerOptions } from "../../helpers/sequencer.ts";
import { order } from "../../helpers/traders.ts";

const A = "2026-01-01-before";
const B = "2026-02-01-after";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A data directory whose log was written by the code of version `rules`: the fixture's requests and some trading, closed. */
function writtenUnder(rules: string, snapshotEvery: number) {
  const dir = mkdtempSync(join(tmpdir(), "log-rules-"));
  dirs.push(dir);
  const path = join(dir, "sequencer.db");
  let clock = 1_700_000_000;
  const options = (store: SqliteStore, extra: Partial<SequencerOptions> = {}) => offlineSequencerOptions({ store, clock: () => clock++, snapshotEvery, ...extra });
  const store = new SqliteStore(path, { rules });
  const s = admitFixtureRequests(new Sequencer(options(store)));
  s.placeOrder(order(bob, { orderId: 1n, side: Side.SELL, priceTicks: 90n, sizeLots: 10n }));
  s.placeOrder(order(alice, { orderId: 1n, side: Side.BUY, priceTicks: 100n, sizeLots: 4n }));
  s.placeOrder(order(alice, { orderId: 2n, side: Side.BUY, priceTicks: 80n, sizeLots: 3n }));
  s.cancelOrder(signCancel(alice.key, { accountId: 1, orderId: 2n }));
  s.requestWithdrawal(signWithdrawal(alice.key, { accountId: 1, tokenId: 1, amount: 1000n, nonce: 0 }));
  const written = s.snapshot();
  store.close();
  return {
    dir,
    path,
    written,
    /** A restart under `rules` (its log lines collected); throws as the constructor does. */
    start(under: string, extra: Partial<SequencerOptions> = {}) {
      const again = new SqliteStore(path, { rules: under });
      const lines: string[] = [];
      try {
        return { sequencer: new Sequencer(options(again, { log: (l) => lines.push(l), ...extra })), store: again, lines };
      } catch (e) {
        again.close();
        throw e;
      }
    },
  };
}

/** Every file of the directory and a hash of its bytes. */
function files(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).sort().map((f) => [f, createHash("sha256").update(readFileSync(join(dir, f))).digest("hex")]));
}

/** Removes the rules the log and its snapshot recorded, as a store written before they were recorded. */
function forgetRules(path: string): void {
  const db = new DatabaseSync(path);
  db.prepare("DELETE FROM meta WHERE key IN ('rules', 'snapshotRules')").run();
  db.close();
}

describe("log rules version", () => {
  it("refuses to replay a log tail written under other rules, naming both versions and the procedure, and changes nothing on disk", () => {
    const d = writtenUnder(A, 0);
    const before = files(d.dir);
    assert.throws(
      () => d.start(B),
      (e: unknown) =>
        e instanceof LogRulesMismatch && e.code === "LOG_RULES_MISMATCH" && e.message.includes(`"${A}"`) && e.message.includes(`"${B}"`) &&
        /records 1 to \d+ \(after no snapshot\)/.test(e.message) && /snapshot-every 1/.test(e.message) && e.message.includes('docs/durability.md, "Upgrading"'),
    );
    assert.deepEqual(files(d.dir), before, "the data directory is byte for byte as it was");
    // the same log replays under the rules that wrote it
    const { sequencer, store } = d.start(A);
    assert.deepEqual(sequencer.snapshot(), d.written);
    store.close();
  });

  it("refuses the tail after a snapshot, and replays it under its own version", () => {
    const d = writtenUnder(A, 4);
    const db = new SqliteStore(d.path, { rules: A });
    const snap = db.latestSnapshot()!;
    assert.ok(snap.seq > 0 && snap.seq < db.lastSeq, "a snapshot covers part of the log");
    assert.equal(snap.rules, A, "the snapshot records the rules that wrote it");
    db.close();
    const before = files(d.dir);
    assert.throws(() => d.start(B), (e: unknown) => e instanceof LogRulesMismatch && e.message.includes(`after the snapshot at ${snap.seq}`));
    assert.deepEqual(files(d.dir), before);
    const { sequencer, store } = d.start(A);
    assert.deepEqual(sequencer.snapshot(), d.written);
    store.close();
  });

  it("starts under other rules from a snapshot that covers the whole log, and records the new version from its first record", () => {
    const d = writtenUnder(A, 1);
    const { sequencer, store, lines } = d.start(B, { snapshotEvery: 0 });
    assert.equal(store.latestSnapshot()!.seq, store.lastSeq, "nothing after the snapshot");
    assert.deepEqual(sequencer.snapshot(), d.written);
    assert.ok(lines.some((l) => l.includes(`written under log rules "${A}"`) && l.includes(`this code runs "${B}"`)), lines.join("\n"));
    const first = store.lastSeq + 1;
    sequencer.placeOrder(order(bob, { orderId: 2n, side: Side.SELL, priceTicks: 95n, sizeLots: 1n }));
    assert.deepEqual(store.rulesSegments(), [{ rules: A, fromSeq: 1 }, { rules: B, fromSeq: first }]);
    store.close();
    // B's records are no more A's to replay than A's were B's (a downgrade), and the whole log mixes both
    assert.throws(() => d.start(A), (e: unknown) => e instanceof LogRulesMismatch && e.message.includes(`"${B}"`) && e.message.includes(`runs "${A}"`));
    assert.throws(() => d.start(B, { recoverFrom: "log" }), (e: unknown) => e instanceof LogRulesMismatch && e.message.includes(`"${A}"`));
    d.start(B).store.close();
  });

  it("takes a log written before it recorded its rules as of unknown rules: refused with a tail, started from a snapshot covering it", () => {
    const tail = writtenUnder(LOG_RULES_VERSION, 0);
    forgetRules(tail.path);
    const before = files(tail.dir);
    assert.throws(() => tail.start(LOG_RULES_VERSION), (e: unknown) => e instanceof LogRulesMismatch && /unknown \(written before the log recorded its rules version\)/.test(e.message));
    assert.deepEqual(files(tail.dir), before);

    const covered = writtenUnder(LOG_RULES_VERSION, 1);
    forgetRules(covered.path);
    const { sequencer, store, lines } = covered.start(LOG_RULES_VERSION);
    assert.deepEqual(sequencer.snapshot(), covered.written);
    assert.ok(lines.some((l) => /written under log rules unknown/.test(l)), lines.join("\n"));
    store.close();
  });

  it("attributes each record to the segment it falls in", () => {
    const segments = [{ rules: A, fromSeq: 5 }, { rules: B, fromSeq: 9 }];
    assert.deepEqual(rulesOfRecords(segments, 0, 0), []);
    assert.deepEqual(rulesOfRecords(segments, 8, 8), []);
    assert.deepEqual(rulesOfRecords(segments, 0, 4), [null]);
    assert.deepEqual(rulesOfRecords(segments, 2, 6), [null, A]);
    assert.deepEqual(rulesOfRecords(segments, 4, 8), [A]);
    assert.deepEqual(rulesOfRecords(segments, 4, 9), [A, B]);
    assert.deepEqual(rulesOfRecords(segments, 8, 20), [B]);
  });
});
