/**
 * Which rules wrote the log (review of 2026-12-05, "Operations, Medium"). Replay rebuilds the state after the
 * latest snapshot by running the logged records through the running code's rules: intake (ExchangeCore), queue
 * order, batch selection and the batch builder. A `batch` record names only a count of pending entries and a hash,
 * so records written under other rules can rebuild other batches than were proven and posted (an obscure "does not
 * replay" deep in the log at best), and records no batch has taken yet, which no hash checks, rebuild other books
 * and another queue silently. The log therefore records the rules version its records were written under
 * (the store's header: RulesSegment), and a start refuses to replay records of another version (checkReplayRules).
 * A snapshot is state, not rules: a start with nothing to replay after it takes it whatever version wrote it (its
 * format has its own guard, SNAPSHOT_VERSION).
 *
 * Why a constant bumped by hand, and not something computed:
 * - A hash of the source files is fragile both ways: a comment, a reformatting or a moved helper changes it (every
 *   such edit would refuse a restart with a log tail), a rule in a file left off the list does not, it depends on
 *   how the code is laid out on disk (tsx from source or a bundle) and it costs file reads at every start.
 * - A hash of the circuit parameters and protocol constants adds nothing: the parameters are already bound to
 *   the store with the deployment (main.ts `store.bind`, STORE_MISMATCH), and a change of a protocol constant
 *   changes the circuit and the custodian, so a fresh deployment; the rules that decide replay (queue lanes,
 *   caps, selection, the builder's refusals) are code, which no hash of values sees.
 * - A constant is deterministic, free, names the change in review and in the refusal's message, and changes only
 *   when someone decides the rules changed. Its failure mode is a forgotten bump; the tests that restart from a
 *   store and compare (sequencerRecovery, derivativesRecovery) catch a replay that breaks, not one that differs.
 *
 * The value is the date and a word for the change, not a counter: two branches that each change the rules and
 * bump a counter from 3 to 4 merge without a conflict into one version for two rule sets, while two different
 * names conflict and make the merge choose a third.
 *
 * BUMP IT whenever a change can make the same records replay differently: the queue's order or lanes
 * (exchangeCore.ts, batchSelection.ts), what intake accepts or refuses and what an accepted record does (risk,
 * matching, oracle steps, forced-request judging), what a batch takes or the builder refuses or proves, what a
 * `reject`, `forced` or `abandon` record undoes. Not for changes that leave replay alone (the API, observers,
 * logging, posting and fees of the chain transaction, the prover).
 */
export const LOG_RULES_VERSION = "2026-12-07-rejected-trades-put-back-stranded-settled-post-only-sweeps";

/** The log's records from seq `fromSeq` on (until the next segment's) were written under rules `rules`. */
export type RulesSegment = { rules: string; fromSeq: number };

/** The log after the snapshot was written under other rules than the running code's (or under unknown ones). */
export class LogRulesMismatch extends Error {
  readonly code = "LOG_RULES_MISMATCH";
}

/** What the check reads of a store (SequencerStore): the version it writes under, its last seq and its header. */
export type RulesView = {
  readonly rules: string;
  readonly lastSeq: number;
  rulesSegments(): RulesSegment[];
};

/** A snapshot's position and the version it was written under (null: before snapshots recorded it). */
export type SnapshotRules = { seq: number; rules: string | null };

/**
 * The versions the records with seq in (afterSeq, lastSeq] were written under, oldest first, each once; null
 * stands for records older than the first segment (written before the log recorded its rules).
 */
export function rulesOfRecords(segments: readonly RulesSegment[], afterSeq: number, lastSeq: number): (string | null)[] {
  if (lastSeq <= afterSeq) return [];
  const first = afterSeq + 1;
  // the segment the first record falls in (the last one starting at or before it), then those starting inside the range
  const covering = segments.filter((s) => s.fromSeq <= first).at(-1);
  const inside = segments.filter((s) => s.fromSeq > first && s.fromSeq <= lastSeq);
  const versions = [covering?.rules ?? null, ...inside.map((s) => s.rules)];
  return versions.filter((v, i) => versions.indexOf(v) === i);
}

const show = (v: string | null) => (v === null ? "unknown (written before the log recorded its rules version)" : `"${v}"`);

/**
 * Before a restart replays anything: throws LogRulesMismatch, naming both versions and the upgrade procedure, when
 * the records after `snapshot` (all of them with no snapshot) were written under other rules than `store.rules`.
 * Reads only. Returns a line for the operator's log when it starts from a snapshot of another (or an unknown)
 * version with nothing to replay after it, else null.
 */
export function checkReplayRules(store: RulesView, snapshot: SnapshotRules | null): string | null {
  const afterSeq = snapshot?.seq ?? 0;
  const versions = rulesOfRecords(store.rulesSegments(), afterSeq, store.lastSeq);
  const foreign = versions.filter((v) => v !== store.rules);
  if (foreign.length > 0) {
    throw new LogRulesMismatch(
      `log records ${afterSeq + 1} to ${store.lastSeq} (after ${snapshot ? `the snapshot at ${snapshot.seq}` : "no snapshot"}) were written under log rules ` +
        `${foreign.map(show).join(" and ")}, and this code runs "${store.rules}": replaying them by other rules could rebuild other batches ` +
        "than were proven and posted. Nothing was changed. Start the version that wrote them on this data directory with --snapshot-every 1 " +
        "until every batch it logged is posted and a snapshot covers the whole log, stop it, then start this one " +
        '(docs/durability.md, "Upgrading")',
    );
  }
  if (snapshot && snapshot.rules !== store.rules && versions.length === 0) {
    return `starting from the snapshot at ${snapshot.seq}, written under log rules ${show(snapshot.rules)}, nothing after it to replay; this code runs "${store.rules}"`;
  }
  return null;
}
