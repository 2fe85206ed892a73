/**
 * The sequencer's journal (LMAX style): the durable log of everything that changed the exchange, the
 * clock that is the time input of intake, snapshots, and replay.
 *
 * - Persist: a record is appended as its command takes effect and committed at once (the "each" policy,
 *   or `now`), at the end of the enclosing group (`grouped`: one commit for a whole intake call), or by
 *   the deferred commit of this event-loop turn (the "deferred" policy: group commit under load).
 *   `durable()` resolves once everything appended is committed and on stable storage.
 * - Clock: `now()` is the wall clock (or the configured one) live, and the record's logged time while
 *   that record is replayed, so replay reads no clock.
 * - Snapshots: once `snapshotEvery` records have piled up, at a commit, the owner's snapshot is saved
 *   (when it can take one: no batch half-way), bounding the replay at restart.
 * - Replay: a loop over the log after a sequence number that hands each record to `apply`, with the
 *   clock set to the record's time; nothing is persisted meanwhile (the records are already there).
 *
 * Without a store the journal only keeps the clock: nothing is written and `durable()` resolves at once.
 */
import type { LogRecord } from "../persistence/records.ts";
import type { SequencerStore } from "../persistence/store.ts";

/** The journal's settings (the sequencer's own options object: SequencerOptions documents each), read at each use. */
export type JournalSettings = {
  /** The durable log; without one nothing is written. */
  store?: SequencerStore;
  /** "each" (default): every record outside a group is committed before `persist` returns; "deferred": once per event-loop turn. */
  commit?: "each" | "deferred";
  /** Snapshot after this many records (default 10,000; 0: never). */
  snapshotEvery?: number;
  /** The live time input, unix seconds (default: the wall clock). */
  clock?: () => number;
};

/** The durable log, the clock, snapshots and replay of one sequencer (see the module comment). */
export class Journal {
  readonly #opts: JournalSettings;
  /** The owner's snapshot body, or null when none can be taken now (a batch half-way). */
  readonly #snapshot: () => unknown;
  #replaying = false;
  /** The logged time of the record being replayed: the time input of everything it runs. */
  #replayTime: number | null = null;
  #groupDepth = 0;
  #recordsSinceSnapshot = 0;
  /** The deferred commit of this event-loop turn, if one is scheduled. */
  #scheduledCommit: Promise<void> | null = null;

  /** A journal over `settings.store` (nothing is read until replay), saving what `snapshot` returns (null: not now). */
  constructor(settings: JournalSettings, snapshot: () => unknown) {
    this.#opts = settings;
    this.#snapshot = snapshot;
  }

  /** The time input: the replayed record's logged time during replay, else the clock (unix seconds). */
  now(): number {
    if (this.#replayTime !== null) return this.#replayTime;
    return this.#opts.clock ? this.#opts.clock() : Math.floor(Date.now() / 1000);
  }

  /**
   * Appends a record of something that just changed the state (nothing during replay). It is committed
   * at once (`now`, or the "each" policy), at the end of the enclosing group, or by the deferred commit
   * of this event-loop turn.
   */
  persist(record: LogRecord, now = false): void {
    const store = this.#opts.store;
    if (!store || this.#replaying) return;
    store.append(record);
    this.#recordsSinceSnapshot++;
    if (now || (this.#groupDepth === 0 && this.#opts.commit !== "deferred")) this.#commit(now);
    else if (this.#groupDepth === 0) this.#scheduledCommit ??= this.#deferCommit();
  }

  /** Schedules the commit of this event-loop turn's records (the "deferred" policy). */
  #deferCommit(): Promise<void> {
    return new Promise((resolve, reject) =>
      setImmediate(() => {
        this.#scheduledCommit = null;
        try {
          this.#commit();
          resolve();
        } catch (e) {
          reject(e);
        }
      }),
    );
  }

  /**
   * Resolves once every record appended so far is durable: committed (at once with the "each" policy)
   * and on stable storage (at once with a store that syncs in commit). Answer a request only after it.
   */
  async durable(): Promise<void> {
    if (this.#scheduledCommit) await this.#scheduledCommit;
    await this.#opts.store?.synced();
  }

  /** Runs `fn` with its records committed together at its end (group commit), before it returns. */
  grouped<T>(fn: () => T): T {
    this.#groupDepth++;
    try {
      return fn();
    } finally {
      if (--this.#groupDepth === 0) this.#commit();
    }
  }

  /** Commits the appended records, then snapshots if due. */
  #commit(now = false): void {
    this.#opts.store?.commit(now);
    this.maybeSnapshot();
  }

  /** Saves a snapshot when enough records have piled up and the owner can take one (no batch half-way). */
  maybeSnapshot(): void {
    const store = this.#opts.store;
    const every = this.#opts.snapshotEvery ?? 10_000;
    if (!store || every <= 0 || this.#recordsSinceSnapshot < every) return;
    const body = this.#snapshot();
    if (body === null) return;
    store.saveSnapshot(store.lastSeq, body);
    this.#recordsSinceSnapshot = 0;
  }

  /**
   * Replay: hands every logged record after `afterSeq` to `apply`, in order, with the clock set to the
   * record's logged time (records without one, batch steps, see the live clock). A record that does not
   * apply stops the replay with its sequence number.
   */
  replay(afterSeq: number, apply: (record: LogRecord) => void): void {
    const store = this.#opts.store;
    if (!store) return;
    this.#replaying = true;
    try {
      for (const { seq, record } of store.records(afterSeq)) {
        try {
          this.#replayTime = "time" in record ? record.time : null;
          apply(record);
        } catch (e) {
          throw new Error(`log record ${seq} (${record.t}) does not replay: ${(e as Error).message}`);
        } finally {
          this.#replayTime = null;
        }
        this.#recordsSinceSnapshot++;
      }
    } finally {
      this.#replaying = false;
    }
  }
}
