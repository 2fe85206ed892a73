/**
 * The marks registry (contracts/MarksRegistry.sol) from the sequencer's side: whether a marking's key
 * (Poseidon(oracle message hash, marks root)) is recorded, and recording it with its marking proof, once (a key the
 * registry already holds is never sent again).
 */
import type { Address, Hash, PublicClient, WalletClient } from "viem";
import type { Marking } from "../derivatives/marking.ts";
import type { CalldataProof } from "../protocol/calldataProof.ts";
import { marksRegistryAbi } from "./abi.ts";
import { contractRevert } from "./reverts.ts";
import { TransactionWatch, type PostingOptions } from "./sentTransactions.ts";

/** The public inputs of a marking proof, in the circuit's order: messageHash, marksRoot, marksKey (circuits/marking/marking.circom). */
export const MARKING_PUBLIC_INPUTS = 3;

/** What a recording sends of a marking: its three public inputs (the registry keeps the key). */
export type MarkingInputs = Pick<Marking, "messageHash" | "marksRoot" | "marksKey">;

/** What the marking recorder needs of a marks registry (chainMarksRegistry; tests fake it). */
export interface MarksRegistryPort {
  /** Whether the registry holds `marksKey`. */
  isRecorded(marksKey: bigint): Promise<boolean>;
  /** Records `marking` with its proof once mined: the hash, or null when the key was already recorded (recordMarks). */
  record(marking: MarkingInputs, proof: CalldataProof): Promise<Hash | null>;
}

/** The registry and the clients that read it and send to it. */
export type MarksRegistryChain = {
  publicClient: PublicClient;
  walletClient: WalletClient;
  registry: Address;
  /** How a sent recording is watched (confirmations, replacement with higher fees: sentTransactions.ts). */
  posting?: PostingOptions;
};

/** The registry refused a recording: `reason` is its custom error's name (IMarksRegistry), or "reverted" when mined. */
export class MarksRecordError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Whether the registry at `registry` holds `marksKey` (IMarksRegistry.isRecorded: the custodian's read). */
export function marksRecorded(publicClient: PublicClient, registry: Address, marksKey: bigint): Promise<boolean> {
  return publicClient.readContract({ address: registry, abi: marksRegistryAbi, functionName: "isRecorded", args: [marksKey] });
}

/**
 * Records `marking`'s key with its marking proof `proof` (calldata order, protocol/calldataProof.ts) and waits for it
 * to be mined and confirmed (`chain.posting`); resolves to the hash mined. Null, with nothing sent, when the registry
 * already holds the key (another prover was first: MarksAlreadyRecorded counts as done); null too when our
 * transaction reverted because another recording of the key was mined before it. Any other refusal of the
 * simulation (nothing sent) throws MarksRecordError with the registry's error name (InvalidMarkingProof,
 * NotAFieldElement); a mined revert for another reason throws MarksRecordError("reverted").
 */
export async function recordMarks(chain: MarksRegistryChain, marking: MarkingInputs, proof: CalldataProof): Promise<Hash | null> {
  const { publicClient, walletClient, registry } = chain;
  if (await marksRecorded(publicClient, registry, marking.marksKey)) return null;
  const label = `record(${marking.messageHash}, ${marking.marksRoot}, ${marking.marksKey})`;
  let request: unknown;
  try {
    ({ request } = await publicClient.simulateContract({
      address: registry, abi: marksRegistryAbi, functionName: "record", args: [marking.messageHash, marking.marksRoot, marking.marksKey, proof], account: walletClient.account!,
    } as never));
  } catch (e) {
    const revert = contractRevert(e);
    if (!revert) throw e;
    const name = revert.data?.errorName ?? "unknown";
    if (name === "MarksAlreadyRecorded") return null; // recorded between the read and the simulation
    throw new MarksRecordError(name, `${label} refused: ${name}(${(revert.data?.args ?? []).join(", ")})`);
  }
  const hash = await walletClient.writeContract(request as never);
  const mined = await new TransactionWatch(publicClient, walletClient, chain.posting).mined(hash);
  if (!mined) throw new Error(`${label}: transaction ${hash} not found: neither mined nor kept (dropped, or its nonce taken by another transaction)`);
  if (mined.status === "success") return mined.hash;
  if (await marksRecorded(publicClient, registry, marking.marksKey)) return null;
  throw new MarksRecordError("reverted", `${label} reverted in ${mined.hash}`);
}

/** The registry of `chain` as the marking recorder uses it (sequencer/service/markingRecorder.ts). */
export function chainMarksRegistry(chain: MarksRegistryChain): MarksRegistryPort {
  return { isRecorded: (key) => marksRecorded(chain.publicClient, chain.registry, key), record: (marking, proof) => recordMarks(chain, marking, proof) };
}
