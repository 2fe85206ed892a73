/**
 * Proves and records the marking a batch reads its option marks from (DERIVATIVES.md "Reading marks in the batch"),
 * so that the custodian, which refuses a batch whose non-zero marksKey its marks registry does not hold
 * (MarksNotRecorded), takes the batch.
 *
 * Once per key: many batches of one oracle update and table read one marking, and its proof is asked for once
 * (`prepare`, called while the batch itself is proven, so the two proofs run side by side) and sent to the registry
 * once (`record`, called before the batch's own transaction is sent). Before proving, the registry is asked: a key it
 * holds (recorded before a restart, or by another prover) is neither proven nor sent again. A failure (the prover's,
 * the registry's read or its recording) is kept, never an unhandled rejection, and reported by `record` to the batch
 * attempt that awaited it; the next attempt starts again from what failed (a proof already made is not made again).
 */
import type { CircuitKeys } from "../../fpga-prover/device.ts";
import type { VerifiedProver } from "../../fpga-prover/prover.ts";
import type { Marking } from "../derivatives/marking.ts";
import { toCalldataProof, type CalldataProof } from "../protocol/calldataProof.ts";
import type { MarkingInputs, MarksRegistryPort } from "../chain/marksRegistry.ts";

/** What the batch pipeline asks of the marking its batch reads. */
export interface MarkingRecorder {
  /** Starts proving `marking` (prover job `jobId`) unless its key is recorded or its proof is known or under way; never throws. */
  prepare(jobId: number, marking: Marking): void;
  /**
   * Resolves once the registry holds `marking`'s key: proven (prepare's proof, started if none is) and recorded unless it
   * was already. Rejects with the failure of this attempt (proving, reading or recording); the next call tries again.
   */
  record(jobId: number, marking: Marking): Promise<void>;
  /**
   * The custodian refused a batch reading `marksKey` (MarksNotRecorded) although this recorder held it recorded (a
   * recording the chain dropped, or a registry the custodian does not read): the next `record` asks the registry again.
   */
  forget(marksKey: bigint): void;
}

/** A marking's proof as the recorder keeps it: the proof, the registry already holding the key, or the failure. */
type ProofOutcome = { ok: true; proof: CalldataProof | "recorded" } | { ok: false; error: unknown };

/** How a MarksRecorder is set up. */
export type MarksRecorderOptions = {
  registry: MarksRegistryPort;
  /** The prover, read at each proof (the sequencer's options may swap it). */
  prover: () => VerifiedProver;
  /** The marking circuit's artifacts (scripts/build/markingCircuit.ts for the parameters the batches are built with). */
  keys: CircuitKeys;
  log?: (line: string) => void;
};

/** The public signals a marking's proof must have: its messageHash, marksRoot and marksKey, in the circuit's order. */
export function markingSignals(m: MarkingInputs): string[] {
  return [m.messageHash, m.marksRoot, m.marksKey].map(String);
}

/** The prover job id of the marking proven for batch `batchNumber`: negative, so never a batch's own (a pool refuses two pending jobs of one id). */
export function markingJobId(batchNumber: number): number {
  return -(batchNumber + 1);
}

/** The recorder of the sequencer (see the module comment). */
export class MarksRecorder implements MarkingRecorder {
  readonly #o: MarksRecorderOptions;
  /** Per key, its proof being made or made and not yet recorded (a failed one is dropped when reported). */
  readonly #proofs = new Map<bigint, Promise<ProofOutcome>>();
  /** Per key, the attempt at recording it under way (two batches awaiting one key share it: one transaction). */
  readonly #recordings = new Map<bigint, Promise<void>>();
  /** The keys known recorded (checked or sent by this recorder). */
  readonly #recorded = new Set<bigint>();

  /** A recorder that has proven and recorded nothing yet. */
  constructor(opts: MarksRecorderOptions) {
    this.#o = opts;
  }

  prepare(jobId: number, marking: Marking): void {
    if (!this.#recorded.has(marking.marksKey)) this.#proof(jobId, marking);
  }

  async record(jobId: number, marking: Marking): Promise<void> {
    const key = marking.marksKey;
    if (this.#recorded.has(key)) return;
    let recording = this.#recordings.get(key);
    if (!recording) {
      recording = this.#recordOnce(jobId, marking).finally(() => this.#recordings.delete(key));
      this.#recordings.set(key, recording);
    }
    return recording;
  }

  forget(marksKey: bigint): void {
    this.#recorded.delete(marksKey);
  }

  /** One attempt at recording `marking`: its proof awaited (made unless the registry holds the key), then sent. */
  async #recordOnce(jobId: number, marking: Marking): Promise<void> {
    const key = marking.marksKey;
    const proving = this.#proof(jobId, marking);
    const outcome = await proving;
    if (!outcome.ok) {
      if (this.#proofs.get(key) === proving) this.#proofs.delete(key); // the next attempt proves again
      throw outcome.error;
    }
    if (outcome.proof !== "recorded") {
      const hash = await this.#o.registry.record(marking, outcome.proof); // a failure keeps the proof for the next attempt
      this.#o.log?.(`marks ${key}: ${hash ? `recorded in ${hash}` : "recorded by another transaction"}`);
    }
    this.#recorded.add(key);
    this.#proofs.delete(key);
  }

  /** The proof of `marking`'s key: the one under way or made, else a fresh one (after asking the registry). */
  #proof(jobId: number, marking: Marking): Promise<ProofOutcome> {
    const key = marking.marksKey;
    let proving = this.#proofs.get(key);
    if (!proving) {
      proving = this.#prove(jobId, marking).then((proof): ProofOutcome => ({ ok: true, proof }), (error: unknown): ProofOutcome => ({ ok: false, error }));
      this.#proofs.set(key, proving);
    }
    return proving;
  }

  /** Asks the registry, then proves `marking` unless it holds the key already. */
  async #prove(jobId: number, marking: Marking): Promise<CalldataProof | "recorded"> {
    if (await this.#o.registry.isRecorded(marking.marksKey)) return "recorded";
    const proved = await this.#o.prover().prove(jobId, this.#o.keys, marking.inputs, markingSignals(marking));
    this.#o.log?.(`marks ${marking.marksKey}: proven in ${Math.round(proved.timings.proveMs)} ms`);
    return toCalldataProof(proved.proof);
  }
}
