/**
 * The durable store a Sequencer writes to: an append-only command log with group commit, plus the
 * latest snapshot. Appends are buffered in an open transaction until `commit`, which makes all of them
 * durable at once; a crash before `commit` loses exactly the uncommitted ones (none of which was
 * acknowledged). sqliteStore.ts is the embedded implementation.
 */
import type { RulesSegment } from "./logRules.ts";
import type { LoggedRecord, LogRecord } from "./records.ts";

/**
 * A snapshot covers every record with seq <= `seq`; `body` is the snapshotting component's JSON value; `rules` the
 * log rules version of the code that wrote it (logRules.ts; null: written before snapshots recorded it).
 */
export type StoredSnapshot<T = unknown> = { seq: number; body: T; rules: string | null };

export interface SequencerStore {
  /** Appends a record to the open group and returns its seq; durable only after `commit`. */
  append(record: LogRecord): number;
  /**
   * Ends the open group (no-op when nothing is pending). Its records are durable when `synced()`
   * resolves, or when this returns with `now` (and always, for a store that syncs in commit).
   */
  commit(now?: boolean): void;
  /** Resolves once every committed record is on stable storage. */
  synced(): Promise<void>;
  /** Committed records with seq > `afterSeq`, in order. */
  records(afterSeq?: number): Iterable<LoggedRecord>;
  /** Seq of the last appended record (0 for an empty log). */
  readonly lastSeq: number;
  /** Durably stores a snapshot covering records up to `seq` (committed ones only), replacing older ones. */
  saveSnapshot(seq: number, body: unknown): void;
  /** The latest snapshot, or null. */
  latestSnapshot(): StoredSnapshot | null;
  /** The log rules version appended records are written under (logRules.ts: the running code's). */
  readonly rules: string;
  /** Which rules version wrote which records, oldest first (records before the first segment: unknown). */
  rulesSegments(): RulesSegment[];
  close(): void;
}
