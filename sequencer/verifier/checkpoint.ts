/**
 * State checkpoints: a rebuilt state saved with the batch it follows, so a later rebuild (the verifier, an exit, a
 * forced close) replays only the batches posted since instead of every batch from genesis.
 *
 * Nothing in a checkpoint is trusted. Its state must be one a batch could have written (`snapshotFault`: every value in
 * its range, so one representative of its hash; no position outside the account's slots), is restored leaf by leaf
 * and every tree rehashed (`restoreExchangeState`), and the root that gives must be the one the custodian accepted for the checkpoint's
 * batch (its `BatchSubmitted` event's `newRoot`): a state the custodian accepted a proof for, and, Poseidon being
 * collision-resistant, the only state with that root. So a checkpoint from anybody (the trader's own earlier run, a
 * watchtower, the operator while it still answers) either resumes the rebuild exactly where a rebuild from genesis
 * would be, or is refused with the reason. What resuming skips is the re-check of the earlier batches' proofs and
 * transitions, which the custodian made on chain before accepting each of them.
 *
 * File format: the JSON of `encodeJson` (sequencer/persistence/codec.ts: bigints as "123n"), a `StateCheckpoint`.
 */
import { isAddressEqual, type Address } from "viem";
import { decodeJson, encodeJson } from "../persistence/codec.ts";
import { restoreExchangeState, snapshotExchangeState, snapshotFault, type ExchangeStateSnapshot } from "../persistence/stateSnapshot.ts";
import { paramsId, type CircuitParams } from "../protocol/params.ts";
import type { ExchangeState } from "../state/exchangeState.ts";

/** The version of the checkpoint format this code writes and reads. */
export const CHECKPOINT_VERSION = 1;

export type StateCheckpoint = {
  version: typeof CHECKPOINT_VERSION;
  /** The chain and custodian whose batches built the state. */
  chainId: number;
  custodian: Address;
  /** `paramsId` of the circuit parameters (the state's tree shapes). */
  params: string;
  /** The state is the one after this batch. */
  batchNumber: number;
  /** The block that holds the batch (informational: the rebuild checks the batch's root, not its block). */
  blockNumber: bigint;
  state: ExchangeStateSnapshot;
};

/** Where the checkpoint is to be used: the deployment being rebuilt. */
export type CheckpointTarget = { chainId: number; custodian: Address; params: CircuitParams };

/** A checkpoint refused: its message says why; nothing was changed. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(`checkpoint: ${message}`);
    this.name = "CheckpointError";
  }
}

/** A checkpoint of `state`, the state after batch `batchNumber` (mined in `blockNumber`) of `target`. */
export function checkpointOf(state: ExchangeState, batchNumber: number, blockNumber: bigint, target: CheckpointTarget): StateCheckpoint {
  return {
    version: CHECKPOINT_VERSION, chainId: target.chainId, custodian: target.custodian, params: paramsId(target.params),
    batchNumber, blockNumber, state: snapshotExchangeState(state),
  };
}

export function encodeCheckpoint(checkpoint: StateCheckpoint): string {
  return encodeJson(checkpoint);
}

/** The checkpoint in `text`; throws CheckpointError when it is not JSON or not a checkpoint of this version. */
export function decodeCheckpoint(text: string): StateCheckpoint {
  let value: unknown;
  try {
    value = decodeJson<unknown>(text);
  } catch (e) {
    throw new CheckpointError(`not JSON (${(e as Error).message})`);
  }
  const c = value as Partial<StateCheckpoint> | null;
  if (typeof c !== "object" || c === null) throw new CheckpointError("not a checkpoint (a JSON object is expected)");
  if (c.version !== CHECKPOINT_VERSION) throw new CheckpointError(`format version ${String(c.version)}, this code reads version ${CHECKPOINT_VERSION}`);
  const fields: [keyof StateCheckpoint, boolean][] = [
    ["chainId", Number.isSafeInteger(c.chainId)],
    ["custodian", typeof c.custodian === "string"],
    ["params", typeof c.params === "string"],
    ["batchNumber", Number.isSafeInteger(c.batchNumber) && c.batchNumber! >= 0],
    ["blockNumber", typeof c.blockNumber === "bigint"],
    ["state", typeof c.state === "object" && c.state !== null && Array.isArray(c.state.accounts)],
  ];
  const bad = fields.filter(([, ok]) => !ok).map(([k]) => k);
  if (bad.length > 0) throw new CheckpointError(`missing or malformed ${bad.join(", ")}`);
  return c as StateCheckpoint;
}

/**
 * The state `checkpoint` holds, checked against the deployment: same chain, custodian and parameters, a batch the
 * chain has (`batchRoots[n]` is the `newRoot` of batch n's event), and the rehashed state's root equal to that
 * batch's. Throws CheckpointError otherwise.
 */
export function resumeFrom(checkpoint: StateCheckpoint, target: CheckpointTarget, batchRoots: readonly bigint[]): ExchangeState {
  const hex = (v: bigint) => `0x${v.toString(16).padStart(64, "0")}`;
  if (checkpoint.chainId !== target.chainId) throw new CheckpointError(`made on chain ${checkpoint.chainId}, this node serves chain ${target.chainId}`);
  if (!isAddressEqual(checkpoint.custodian, target.custodian)) throw new CheckpointError(`made for custodian ${checkpoint.custodian}, not ${target.custodian}`);
  const params = paramsId(target.params);
  if (checkpoint.params !== params) throw new CheckpointError(`made with circuit parameters ${checkpoint.params}, rebuilding with ${params}`);
  const n = checkpoint.batchNumber;
  if (n >= batchRoots.length) throw new CheckpointError(`follows batch ${n}, the custodian has accepted ${batchRoots.length} batches`);
  // what rehashing does not pin: values beyond their range (v + p hashes as v), positions outside the slots
  const fault = snapshotFault(target.params, checkpoint.state);
  if (fault !== null) throw new CheckpointError(`its state is not one a batch could have written (${fault})`);
  let state: ExchangeState;
  try {
    state = restoreExchangeState(target.params, checkpoint.state);
  } catch (e) {
    throw new CheckpointError(`its state cannot be restored (${(e as Error).message})`);
  }
  if (state.root !== batchRoots[n]) {
    throw new CheckpointError(`its state's root ${hex(state.root)} is not the root batch ${n} posted (${hex(batchRoots[n])})`);
  }
  return state;
}
