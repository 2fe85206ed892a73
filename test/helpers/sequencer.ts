/**
 * A Sequencer for intake tests, with no chain and no prover: market 0 (base token 1), alice (account 1)
 * with 10,000,000 quote units and bob (account 2) with 1,000,000 base units, admitted as on-chain requests.
 * durableSequencer: the same over a SQLite store on a fresh file, reopened as a restart would.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../../sequencer/persistence/sqliteStore.ts";
import type { ChainContext } from "../../sequencer/chain/custodianClient.ts";
import { TxType } from "../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { Sequencer, type SequencerOptions } from "../../sequencer/service/sequencer.ts";
import type { VerifiedProver } from "../../fpga-prover/prover.ts";
import { testTrader } from "./traders.ts";

export const alice = testTrader(1);
export const bob = testTrader(2);

/** The options of offlineSequencer (no chain, no prover, maker 100 ppm, taker 500 ppm) with `overrides`. */
export function offlineSequencerOptions(overrides: Partial<SequencerOptions> = {}): SequencerOptions {
  return {
    params: TEST_PARAMS,
    keys: { wasm: "", zkey: "", vkey: null },
    prover: {} as VerifiedProver,
    chain: {} as ChainContext,
    makerFeePpm: 100,
    takerFeePpm: 500,
    ...overrides,
  };
}

export function offlineSequencer(overrides: Partial<SequencerOptions> = {}): Sequencer {
  return admitFixtureRequests(new Sequencer(offlineSequencerOptions(overrides)));
}

/** Admits the fixture's market, keys and deposits (see the file comment) as on-chain requests. */
export function admitFixtureRequests(s: Sequencer): Sequencer {
  s.acceptRequest({ type: TxType.REGISTER_MARKET, marketId: 0, baseTokenId: 1, sizeUnit: 1000n, priceUnit: 10n });
  s.acceptRequest({ type: TxType.REGISTER_KEY, accountId: 1, pubKey: alice.pubKey });
  s.acceptRequest({ type: TxType.REGISTER_KEY, accountId: 2, pubKey: bob.pubKey });
  s.acceptRequest({ type: TxType.DEPOSIT, accountId: 1, tokenId: 0, amount: 10_000_000n });
  s.acceptRequest({ type: TxType.DEPOSIT, accountId: 2, tokenId: 1, amount: 1_000_000n });
  return s;
}

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
