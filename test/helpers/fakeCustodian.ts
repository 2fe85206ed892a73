/**
 * An in-memory stand-in for the custodian's chain, enough for CustodianClient.submitBatch(es) and the
 * sequencer's recovery: it accepts a batch whose header continues its root and count (and, with a
 * block clock `blockTime`, whose timestamp is in the custodian's window: not before the last one, at
 * most maxAge before the block's time, at most maxFutureDrift after it; the simulation before a send
 * refuses a stamp outside it with the custodian's BadTimestamp, as the node's eth_call would), and can
 * drop the next transaction (sent, never mined) or refuse the next send, as a flaky node would. Every
 * send counts.
 */
import { createHash } from "node:crypto";
import { ContractFunctionRevertedError, TransactionNotFoundError, TransactionReceiptNotFoundError, encodeErrorResult, hexToBytes, type Hash, type Hex } from "viem";
import { custodianAbi } from "../../sequencer/chain/abi.ts";
import type { ChainContext } from "../../sequencer/chain/custodianClient.ts";
import { decodeHeader } from "../../sequencer/protocol/publicData.ts";
import type { ExpectedSignals, VerifiedProof, VerifiedProver } from "../../fpga-prover/prover.ts";
import type { MarkingRecorder } from "../../sequencer/service/markingRecorder.ts";

/**
 * A marking recorder for a chain without a marks registry contract (SequencerOptions.markings): each marking a batch
 * reads counts as proven and recorded at once, its key added to `recorded` (a fake custodian may refuse the others).
 */
export function recordingMarkings(recorded: Set<bigint> = new Set()): MarkingRecorder {
  return { prepare: () => {}, record: async (_job, marking) => void recorded.add(marking.marksKey), forget: () => {} };
}

export class FakeCustodian {
  root: bigint;
  /** sha256 of each accepted batch's public data, by batch number. */
  readonly batches: string[] = [];
  lastTimestamp = 0;
  /** The custodian's MAX_BATCH_AGE and MAX_FUTURE_DRIFT (seconds). */
  maxBatchAge = 600;
  maxFutureDrift = 900;
  /** The block's time (unix seconds), also the chain's time the sequencer reads (the pending block's); unset: timestamps are not checked against it, and the chain's time is the wall clock. */
  blockTime: (() => number) | undefined = undefined;
  /** Seconds the chain's time the node reports (its pending block) lags the time of the block a transaction lands in. */
  pendingLag = 0;
  /** submitBatch transactions sent (dropped ones included). */
  sends = 0;
  dropNext = false;
  refuseNextSend = false;
  /** The simulation of the next submitBatch(es) reverts with InvalidProof (the custodian's verifier refuses its proof). */
  refuseNextProof = false;
  /**
   * The simulation of a submitBatch(es) carrying this batch number reverts with OracleKeyMismatch, `times` times (its
   * oracle update is under a key the custodian no longer has; the sequencer then builds it again without the update).
   */
  refuseOracleKey: { batchNumber: number; times: number } | undefined = undefined;
  /** The posting options' replaceAfterMs (ms): how long a dropped transaction, never served, is waited for. */
  replaceAfterMs = 100;
  /** How many batches each mined transaction posted (submitBatches: several). */
  readonly posts: number[] = [];
  private readonly mined = new Map<string, "success">();

  constructor(genesisRoot: bigint) {
    this.root = genesisRoot;
  }

  context(): ChainContext {
    const read = ({ functionName }: { functionName: string }) => {
      if (functionName === "batchCount") return this.batches.length;
      if (functionName === "stateRoot") return this.root;
      if (functionName === "lastTimestamp") return this.lastTimestamp;
      if (functionName === "MAX_BATCH_AGE") return BigInt(this.maxBatchAge);
      if (functionName === "MAX_FUTURE_DRIFT") return BigInt(this.maxFutureDrift);
      throw new Error(`fake custodian: no ${functionName}`);
    };
    // As viem's clients answer for a hash the node does not know: TransactionReceiptNotFoundError, TransactionNotFoundError.
    const receipt = ({ hash }: { hash: string }) => {
      const status = this.mined.get(hash);
      if (!status) throw new TransactionReceiptNotFoundError({ hash: hash as Hash });
      return { status };
    };
    const publicClient = {
      readContract: async (a: { functionName: string }) => read(a),
      getBlock: async () => ({ timestamp: BigInt((this.blockTime?.() ?? Math.floor(Date.now() / 1000)) - this.pendingLag) }),
      getContractEvents: async ({ args }: { args: { batchNumber: number } }) =>
        this.batches[args.batchNumber] ? [{ args: { publicDataHash: this.batches[args.batchNumber] } }] : [],
      simulateContract: async ({ args }: { args: readonly [Hex | Hex[], unknown] }) => {
        if (this.refuseNextProof) {
          this.refuseNextProof = false;
          throw new ContractFunctionRevertedError({ abi: custodianAbi, functionName: "submitBatch", data: encodeErrorResult({ abi: custodianAbi, errorName: "InvalidProof" }) });
        }
        const refusal = this.refuseOracleKey;
        if (refusal && refusal.times > 0 && [args[0]].flat().some((data) => decodeHeader(hexToBytes(data)).batchNumber === BigInt(refusal.batchNumber))) {
          refusal.times--;
          throw new ContractFunctionRevertedError({ abi: custodianAbi, functionName: "submitBatch", data: encodeErrorResult({ abi: custodianAbi, errorName: "OracleKeyMismatch", args: [1n, 2n] }) });
        }
        for (const data of [args[0]].flat()) {
          const ts = Number(decodeHeader(hexToBytes(data)).timestamp);
          if (!this.stampFits(ts)) {
            throw new ContractFunctionRevertedError({ abi: custodianAbi, functionName: "submitBatch", data: encodeErrorResult({ abi: custodianAbi, errorName: "BadTimestamp", args: [ts] }) });
          }
        }
        return { request: { args } };
      },
      waitForTransactionReceipt: async (a: { hash: string }) => receipt(a),
      getTransactionReceipt: async (a: { hash: string }) => receipt(a),
      getTransaction: async ({ hash }: { hash: string }) => {
        if (!this.mined.has(hash)) throw new TransactionNotFoundError({ hash: hash as Hash });
        return { hash };
      },
    };
    const walletClient = {
      account: { address: "0x0000000000000000000000000000000000000001" },
      writeContract: async ({ args }: { args: readonly [Hex | Hex[], unknown] }) => {
        if (this.refuseNextSend) {
          this.refuseNextSend = false;
          throw new Error("node unreachable");
        }
        const hash = `0x${(++this.sends).toString(16).padStart(64, "0")}`;
        if (this.dropNext) {
          this.dropNext = false;
          return hash;
        }
        // submitBatch posts one public data, submitBatches several, all or none
        const all = [args[0]].flat().map((data) => hexToBytes(data));
        let root = this.root;
        let last = this.lastTimestamp;
        all.forEach((data, i) => {
          const header = decodeHeader(data); // the header leads the public data
          if (header.oldRoot !== root || header.batchNumber !== BigInt(this.batches.length + i)) throw new Error("fake custodian: stale batch");
          if (!this.stampFits(Number(header.timestamp), last)) throw new Error(`fake custodian: BadTimestamp(${header.timestamp})`);
          root = header.newRoot;
          last = Number(header.timestamp);
        });
        for (const data of all) this.batches.push(`0x${createHash("sha256").update(data).digest("hex")}`);
        this.root = root;
        this.lastTimestamp = last;
        this.posts.push(all.length);
        this.mined.set(hash, "success");
        return hash;
      },
    };
    // A dropped transaction is never served: the watch gives it up as never sent after replaceAfterMs, kept short here.
    const posting = { replaceAfterMs: this.replaceAfterMs };
    return { publicClient, walletClient, custodian: "0x0000000000000000000000000000000000000002", posting } as unknown as ChainContext;
  }

  /** The custodian's timestamp rule for a batch in the next block. */
  private stampFits(ts: number, after = this.lastTimestamp): boolean {
    const block = this.blockTime?.();
    return ts >= after && (block === undefined || (ts <= block + this.maxFutureDrift && ts + this.maxBatchAge >= block));
  }
}

/** A well-formed dummy proof of the public signals `expected` (the fake chain checks no proof). */
export function dummyProof(expected: ExpectedSignals): VerifiedProof {
  const proof = { pi_a: ["1", "2", "1"], pi_b: [["3", "4"], ["5", "6"], ["1", "0"]], pi_c: ["7", "8", "1"], protocol: "groth16", curve: "bn128" };
  return { proof, publicSignals: [...expected], timings: { witnessMs: 0, proveMs: 0, verifyMs: 0 } } as VerifiedProof;
}

/** A prover that returns a dummy proof at once and counts its calls. */
export function countingProver(): VerifiedProver & { calls: number } {
  const prover = {
    calls: 0,
    async prove(_job: number, _keys: unknown, _input: unknown, expected: ExpectedSignals) {
      prover.calls++;
      return dummyProof(expected);
    },
  };
  return prover as unknown as VerifiedProver & { calls: number };
}
