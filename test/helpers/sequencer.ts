/**
 * A Sequencer for intake tests, with no chain and no prover (scripts/fixtures/offlineSequencer.ts, shared with the
 * benchmarks): market 0 (base token 1), alice (account 1) with 10,000,000 quote units and bob (account 2) with
 * 1,000,000 base units, admitted as on-chain requests. durableSequencer: the same over a SQLite store on a fresh
 * file, reopened as a restart would.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../../sequencer/persistence/sqliteStore.ts";
import { Sequencer, type SequencerOptions } from "../../sequencer/service/sequencer.ts";
import { admitFixtureRequests, offlineSequencerOptions } from "../../scripts/fixtures/offlineSequencer.ts";

export { admitFixtureRequests, alice, bob, offlineSequencer, offlineSequencerOptions } from "../../scripts/fixtures/offlineSequencer.ts";

const durableDirs: string[] = [];

/** Removes the files of every durableSequencer made so far (call it in afterEach). */
export function removeDurableSequencers(): void {
  for (const d of durableDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/**
 * A durable offline sequencer (the fixture's requests admitted) on a fresh file, with a clock that
 * counts up by one per read from 1,700,000,000 unless `overrides` has a clock; `reopen` drops it (the
 * store loses only what was not committed, as a crash) and recovers a new one over the same file.
 */
export function durableSequencer(overrides: Partial<SequencerOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "sequencer-durable-"));
  durableDirs.push(dir);
  const path = join(dir, "sequencer.db");
  let clock = 1_700_000_000;
  const options = (store: SqliteStore) => offlineSequencerOptions({ store, clock: () => clock++, ...overrides });
  let store = new SqliteStore(path);
  const first = admitFixtureRequests(new Sequencer(options(store)));
  return {
    path,
    sequencer: first,
    get store() {
      return store;
    },
    reopen(extra: Partial<SequencerOptions> = {}): Sequencer {
      store.close();
      store = new SqliteStore(path);
      return new Sequencer({ ...options(store), ...extra });
    },
  };
}
