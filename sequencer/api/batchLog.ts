/**
 * The batches this sequencer posted, newest kept (bounded), from its `batch` events: what
 * GET /v1/batches and the stream's batch channel report (number, transaction hash, proof, timings).
 */
import type { CalldataProof } from "../protocol/calldataProof.ts";
import type { PostedBatch } from "../service/sequencer.ts";

/** A posted batch as the API reports it (persistence/records.ts's BatchRecord is the journal's record of one). */
export type PostedBatchView = PostedBatch & { status: "posted"; proof: CalldataProof; postedAt: number };

export class BatchLog {
  readonly #batches = new Map<number, PostedBatchView>();
  readonly #max: number;

  readonly #clock: () => number;

  /** `clock`: the time `postedAt` is stamped with, unix seconds (the sequencer's clock, Sequencer.now; default the wall clock). */
  constructor(opts: { maxBatches?: number; clock?: () => number } = {}) {
    this.#max = opts.maxBatches ?? 1000;
    this.#clock = opts.clock ?? (() => Math.floor(Date.now() / 1000));
  }

  /** Records a posted batch and returns its record. */
  record(batch: PostedBatch & { proof: CalldataProof }): PostedBatchView {
    const rec: PostedBatchView = { ...batch, status: "posted", postedAt: this.#clock() };
    this.#batches.set(rec.batchNumber, rec);
    if (this.#batches.size > this.#max) this.#batches.delete(this.#batches.keys().next().value!);
    return rec;
  }

  get(batchNumber: number): PostedBatchView | undefined {
    return this.#batches.get(batchNumber);
  }

  /** Newest first. */
  list(limit = 20): PostedBatchView[] {
    return [...this.#batches.values()].reverse().slice(0, limit);
  }
}
