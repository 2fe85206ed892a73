/**
 * The shape of a Sequencer snapshot: everything intake and batching hold in memory at a moment when no
 * batch is being built or posted. Each part uses its owner's own snapshot format (engine, risk,
 * markets, proven state); maps are listed sorted by key so equal states give equal snapshots.
 */
import type { DerivativesSnapshot } from "./derivatives.ts";
import type { AwaitingRequest, PendingEntry } from "./batchSelection.ts";
import type { PublicKey } from "../crypto/babyjub.ts";
import type { EngineSnapshot } from "../matching/snapshot.ts";
import type { HeldOrder } from "../matching/triggers.ts";
import type { MarketParamsJson } from "../matching/markets.ts";
import type { Order, Signed } from "../protocol/messages.ts";
import type { SpotRiskSnapshot } from "../risk/spotRisk.ts";
import type { ExchangeStateSnapshot } from "../persistence/stateSnapshot.ts";

/** Version 2 added the derivatives service and the oracle tag of pending entries. */
export const SNAPSHOT_VERSION = 2;

export type SequencerSnapshot = {
  version: typeof SNAPSHOT_VERSION;
  markets: MarketParamsJson[];
  risk: SpotRiskSnapshot;
  engine: EngineSnapshot;
  state: ExchangeStateSnapshot;
  keys: [number, PublicKey][];
  /** [slot key "account:slot", live signed order]. */
  liveBySlot: [string, Signed<Order>][];
  /** [slot key, highest accepted order id]. */
  slotIds: [string, bigint][];
  nextNonce: [number, number][];
  pending: PendingEntry[];
  /**
   * On-chain requests held until an oracle update: a forced collateral withdrawal that arrived without a fresh one,
   * and every request the custodian queued after it (exchangeCore.ts, awaitingMarks); absent when none is held.
   */
  awaitingMarks?: AwaitingRequest[];
  /**
   * The time of the newest oracle update a batch found too old for a forced request judged at it (exchangeCore.ts,
   * staleOracleTime): such requests are never judged at it, or an older one, again; absent when none was.
   */
  staleOracleTime?: number;
  /**
   * A rejected transaction tagged with an oracle update left its effect in the derivatives view while other tagged
   * entries waited (exchangeCore.ts, rebaseOwed): the view is put back on the proven state once the last of them
   * leaves the queue: the newest oracle update time a rejected entry was tagged with (true in snapshots of before
   * 2026-12-05 evening: taken as any time); absent when nothing is owed.
   */
  rebaseOwed?: number | true;
  derivatives: DerivativesSnapshot;
  requestsSeen: number;
  /** Stop and take-profit orders held until their trigger, in arrival order (absent in snapshots taken before they existed). */
  triggers?: HeldOrder[];
  /** Proven cancels waiting outside the queue, by account (exchangeCore.ts QUEUED_CANCELS_PER_ACCOUNT); absent when none wait. */
  deferredCancels?: [number, PendingEntry[]][];
  /** Number the next batch will get. */
  batchNumber: number;
  /** A batch was abandoned since the last one posted: the next is stamped at chain time (batchPipeline.ts); absent when not. */
  abandonedSincePost?: boolean;
};

/** Entries of a map sorted by key (numbers numerically, strings lexically). */
export function sortedEntries<K extends number | string, V>(map: ReadonlyMap<K, V>): [K, V][] {
  return [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
