/**
 * The independent verifier: rebuilds the exchange state from chain data alone and checks every batch.
 *
 * Inputs are only what any node serves: the custodian's BatchSubmitted and RequestQueued events, the
 * calldata of each submitBatch or submitBatches transaction (public data + proof), and a few views (stateRoot,
 * batchCount, processedRequests, capacities). For each batch, in order:
 *   - the batch number follows the previous one (event and header agree);
 *   - the header's old root is the root rebuilt so far (genesis: the empty state of `params`) and the
 *     header agrees with the event (roots, sha256 of the public data);
 *   - the Groth16 proof verifies against `vkey` for the public inputs, the public data in 31-byte chunks (publicInputsOf);
 *   - its request records are exactly the next queued requests, in order;
 *   - replaying every record (txFromRecord + buildBatch, the sequencer's own state transition)
 *     reproduces the header's new root and the same public data byte for byte.
 * At the end the rebuilt root must equal custodian.stateRoot().
 *
 * With a checkpoint (./checkpoint.ts: a state saved after batch n, from anybody) the rebuild starts at batch n + 1
 * from the checkpoint's state, rehashed and required to have batch n's posted root; the events are still read from
 * the start (the request count comes from them), the calldata and replays of batches 0..n are skipped.
 *
 * A mismatch never throws: it is recorded (with its batch number) and checking goes on; a batch whose
 * replay fails leaves the rebuilt state where it was, so later batches then report root mismatches too.
 * Only failures to read the chain at all (RPC errors, no contract at the address) are thrown.
 */
import * as snarkjs from "snarkjs";
import { bytesToHex, decodeFunctionData, hexToBytes, type Address, type Hash, type Hex, type PublicClient, type Transaction } from "viem";
import { custodianAbi } from "../chain/abi.ts";
import { DEFAULT_LOG_RANGE, logsInRanges } from "../chain/logs.ts";
import { REQUEST_TYPES, TxType } from "../protocol/constants.ts";
import { publicDataBytes, type CircuitParams } from "../protocol/params.ts";
import { decodePublicData, encodeRecord, publicDataDigest, publicInputsOf, queuedForm, requestsInQueueOrder, type BatchHeader, type OracleSection, type SlotRecord } from "../protocol/publicData.ts";
import { ExchangeState } from "../state/exchangeState.ts";
import { fromCalldataProof } from "../protocol/calldataProof.ts";
import { resumeFrom, type StateCheckpoint } from "./checkpoint.ts";
import { replayBatch } from "./publicDataReplay.ts";

/** Which check a mismatch comes from. */
export type MismatchCheck =
  | "params" // the custodian's capacities are not those of `params`
  | "genesis" // the custodian's genesis root is not the empty state's root
  | "events" // batch events out of sequence, or batchCount disagrees
  | "calldata" // the submitBatch calldata of a batch cannot be read
  | "publicData" // public data malformed, inconsistent with the event, or not what the replay re-encodes
  | "batchNumber"
  | "oldRoot" // the batch does not start from the rebuilt root
  | "proof" // the Groth16 proof does not verify
  | "requests" // the batch's request records are not the next queued requests
  | "replay" // a record cannot be applied to the rebuilt state
  | "newRoot" // the rebuilt root after the batch is not the header's new root
  | "marksKey" // the batch's oracle section names another marking (marksKey) than the replay reads its marks from
  | "finalRoot"; // the rebuilt root is not custodian.stateRoot() (or processedRequests disagrees)

export type Mismatch = {
  /** null for checks about the whole chain. */
  batchNumber: number | null;
  check: MismatchCheck;
  message: string;
};

export type BatchCheck = {
  batchNumber: number;
  txHash: Hash;
  blockNumber: bigint;
  header: BatchHeader | null;
  /** Non-NOOP records. */
  transactions: number;
  proofValid: boolean;
  /** The replay reproduced the header's new root. */
  rootMatches: boolean;
  ok: boolean;
  verifyMs: number;
};

export type VerifyProgress = { done: number; total: number; batch: BatchCheck };

/** Account id -> token id -> amount (non-zero balances only). */
export type Balances = Map<number, Map<number, bigint>>;

export type VerifyReport = {
  ok: boolean;
  batchesChecked: number;
  genesisRoot: bigint;
  /** Root of the rebuilt state after the last batch. */
  finalRoot: bigint;
  /** custodian.stateRoot() at `atBlock`. */
  chainRoot: bigint;
  /** The block verified: every view and event was read as of it. */
  atBlock: bigint;
  balances: Balances;
  feePool: bigint;
  batches: BatchCheck[];
  mismatches: Mismatch[];
  /** The rebuilt state itself. */
  state: ExchangeState;
  /** The checkpoint's batch when the rebuild resumed from one (`batches` then starts after it), else null. */
  resumedAfter: number | null;
  /** The last batch the custodian accepted (as of `atBlock`), whose new root `state` has when `ok`; null before any. */
  lastBatch: { batchNumber: number; blockNumber: bigint } | null;
};

export type VerifyOptions = {
  publicClient: PublicClient;
  custodian: Address;
  params: CircuitParams;
  /** The batch circuit's Groth16 verification key (snarkjs JSON). */
  vkey: unknown;
  /** Called after each batch is checked. */
  onProgress?: (p: VerifyProgress) => void;
  /** First block to read events from (the custodian's deployment block or earlier); default 0. */
  fromBlock?: bigint;
  /**
   * The block whose state is verified (default: the latest when the call starts). Every view and event is
   * read as of this block, so a batch posted while the verifier reads is not half seen.
   */
  atBlock?: bigint;
  /**
   * Most blocks one eth_getLogs call spans (default 10,000: public nodes refuse wider ranges). A range whose read
   * fails (a node capping the number of results) is read again in halves, down to single blocks (chain/logs.ts).
   */
  logRange?: bigint;
  /**
   * Test hook: sees each batch's decoded records and may return replacements, as a faulty decoder or
   * data source would. The replacements are what is checked against the request queue and replayed;
   * the proof and the public-data hash are always checked on the bytes from the chain.
   */
  transformRecords?: (batchNumber: number, records: SlotRecord[]) => SlotRecord[] | void;
  /** Test only, as transformRecords: replaces the decoded oracle section of a batch (a copy) before it is checked and replayed. */
  transformOracle?: (batchNumber: number, oracle: OracleSection) => OracleSection | void;
  /**
   * Resume from a state saved after an earlier batch (./checkpoint.ts) instead of genesis: the batches up to the
   * checkpoint's are neither fetched nor replayed (the custodian verified their proofs before accepting them), the
   * checkpoint's state is rehashed and must have the root its batch posted. A checkpoint that does not fit this
   * deployment or chain throws CheckpointError before any batch is read.
   */
  checkpoint?: StateCheckpoint;
};

const hex = (v: bigint) => `0x${v.toString(16).padStart(64, "0")}`;
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Verifies a Groth16 proof with snarkjs; an exception (malformed key or proof) counts as invalid. */
async function verifyProof(vkey: unknown, publicInputs: readonly bigint[], proof: readonly bigint[]): Promise<{ valid: boolean; error?: string }> {
  try {
    return { valid: await snarkjs.groth16.verify(vkey, publicInputs.map(String), fromCalldataProof(proof)) };
  } catch (e) {
    return { valid: false, error: errorText(e) };
  }
}

function accountsOf(record: SlotRecord): bigint[] {
  switch (record.type) {
    case TxType.REGISTER_KEY:
    case TxType.DEPOSIT:
    case TxType.WITHDRAW:
    case TxType.CANCEL:
    case TxType.OPERATOR_CANCEL:
    case TxType.TRANSFER: // moves value between the spot quote balance and the collateral
      return [record.accountId];
    case TxType.TRADE:
      return [record.buyAccountId, record.sellAccountId];
    default:
      return [];
  }
}

/** Non-zero balances of the given accounts in `state`. */
export function balancesOf(state: ExchangeState, accountIds: Iterable<number>): Balances {
  const out: Balances = new Map();
  const tokens = 4 ** state.params.balanceLevels;
  for (const id of [...new Set(accountIds)].sort((a, b) => a - b)) {
    if (id < 0 || id >= state.accountTree.capacity) continue;
    const row = new Map<number, bigint>();
    for (let t = 0; t < tokens; t++) {
      const v = state.balance(id, t);
      if (v !== 0n) row.set(t, v);
    }
    out.set(id, row);
  }
  return out;
}

/**
 * The public data and proof of one batch from the calldata of the transaction that posted it:
 * submitBatch(publicData, proof), or submitBatches(publicData[], proofs[]), whose entry is the one whose
 * sha256 is `publicDataHash` (the BatchSubmitted event's). Throws, saying why, for a transaction that is
 * not a direct call of either on the custodian, or a submitBatches call without that entry.
 */
async function postedCalldata(
  getTransaction: (hash: Hash) => Promise<Transaction>, custodian: Address, hash: Hash, publicDataHash: Hex,
): Promise<{ publicData: Uint8Array; proof: readonly bigint[] }> {
  const tx = await getTransaction(hash);
  if (tx.to?.toLowerCase() !== custodian.toLowerCase()) throw new Error(`transaction ${tx.hash} calls ${tx.to}, not the custodian (submitted through a contract?)`);
  const call = decodeFunctionData({ abi: custodianAbi, data: tx.input });
  if (call.functionName === "submitBatch") {
    const [data, words] = call.args as readonly [Hex, readonly bigint[]];
    return { publicData: hexToBytes(data), proof: words };
  }
  if (call.functionName !== "submitBatches") throw new Error(`transaction ${tx.hash} calls ${call.functionName}, not submitBatch or submitBatches`);
  const [datas, proofs] = call.args as readonly [readonly Hex[], readonly (readonly bigint[])[]];
  const i = datas.findIndex((d) => publicDataDigest(hexToBytes(d)) === publicDataHash.toLowerCase());
  if (i < 0 || !proofs[i]) throw new Error(`transaction ${tx.hash} (submitBatches) holds no public data hashing to ${publicDataHash}`);
  return { publicData: hexToBytes(datas[i]!), proof: proofs[i]! };
}

export async function verifyChain(opts: VerifyOptions): Promise<VerifyReport> {
  const { publicClient, custodian, params } = opts;
  const fromBlock = opts.fromBlock ?? 0n;
  const atBlock = opts.atBlock ?? (await publicClient.getBlockNumber({ cacheTime: 0 }));
  const logRange = opts.logRange ?? DEFAULT_LOG_RANGE;
  const mismatches: Mismatch[] = [];
  const report = (batchNumber: number | null, check: MismatchCheck, message: string) => mismatches.push({ batchNumber, check, message });
  const read = <T>(functionName: string): Promise<T> =>
    publicClient.readContract({ address: custodian, abi: custodianAbi, functionName, args: [], blockNumber: atBlock } as never) as Promise<T>;

  // ---- the chain's view ----------------------------------------------------------------------
  const readNumber = (functionName: string) => read<number | bigint>(functionName).then(Number);
  const [chainRoot, batchCount, processedRequests, slots, maxAccounts, maxTokens, maxMarkets, derivSlots, underlyings, instruments, optionInstruments, pdBytes] =
    await Promise.all([
      read<bigint>("stateRoot"),
      readNumber("batchCount"),
      readNumber("processedRequests"),
      read<bigint>("slots"),
      readNumber("maxAccounts"),
      readNumber("maxTokens"),
      readNumber("maxMarkets"),
      readNumber("derivSlots"),
      readNumber("underlyings"),
      readNumber("instruments"),
      readNumber("optionInstruments"),
      readNumber("publicDataBytes"),
    ]);
  const expected = {
    slots: BigInt(params.slots), maxAccounts: 4 ** params.accountLevels, maxTokens: 4 ** params.balanceLevels, maxMarkets: 4 ** params.marketLevels,
    derivSlots: params.derivSlots, underlyings: params.underlyings, instruments: params.instruments, optionInstruments: params.optionInstruments,
    publicDataBytes: publicDataBytes(params),
  };
  const actual = { slots, maxAccounts, maxTokens, maxMarkets, derivSlots, underlyings, instruments, optionInstruments, publicDataBytes: pdBytes };
  for (const k of Object.keys(expected) as (keyof typeof expected)[]) {
    if (expected[k] !== actual[k]) report(null, "params", `custodian ${k} is ${actual[k]}, the circuit parameters give ${expected[k]}`);
  }

  const batchLogs = (await logsInRanges(fromBlock, atBlock, logRange, (from, to) =>
    publicClient.getContractEvents({ address: custodian, abi: custodianAbi, eventName: "BatchSubmitted", fromBlock: from, toBlock: to, strict: true })))
    .sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
  const queue = (await logsInRanges(fromBlock, atBlock, logRange, (from, to) =>
    publicClient.getContractEvents({ address: custodian, abi: custodianAbi, eventName: "RequestQueued", fromBlock: from, toBlock: to, strict: true })))
    .map((l) => ({ index: Number(l.args.index), record: l.args.record.toLowerCase() as Hex }))
    .sort((a, b) => a.index - b.index);
  queue.forEach((q, i) => {
    if (q.index !== i) report(null, "events", `RequestQueued events skip from index ${i} to ${q.index}`);
  });
  if (batchLogs.length !== batchCount) report(null, "events", `custodian batchCount is ${batchCount}, found ${batchLogs.length} BatchSubmitted events`);

  // ---- genesis, or the checkpoint -----------------------------------------------------------
  let state = new ExchangeState(params);
  const genesisRoot = state.root;
  const chainGenesis = batchLogs.length > 0 ? batchLogs[0].args.oldRoot : chainRoot;
  if (chainGenesis !== genesisRoot) {
    report(null, "genesis", `the custodian's genesis root ${hex(chainGenesis)} is not the empty state's root ${hex(genesisRoot)}`);
  }

  // ---- batches -------------------------------------------------------------------------------
  // The transaction that posted each batch, fetched once for all the batches it carries (a submitBatches call's
  // events are consecutive in batchLogs' order, so the last one fetched is all that is kept).
  let lastTx: { hash: Hash; tx: Promise<Transaction> } | null = null;
  const getTransaction = (hash: Hash): Promise<Transaction> => {
    if (lastTx?.hash !== hash) lastTx = { hash, tx: publicClient.getTransaction({ hash }) };
    return lastTx.tx;
  };
  const batches: BatchCheck[] = [];
  const accounts = new Set<number>();
  let requestsConsumed = 0;
  let resumedAfter: number | null = null;
  if (opts.checkpoint) {
    const chainId = await publicClient.getChainId();
    state = resumeFrom(opts.checkpoint, { chainId, custodian, params }, batchLogs.map((l) => l.args.newRoot));
    resumedAfter = opts.checkpoint.batchNumber;
    for (const log of batchLogs.slice(0, resumedAfter + 1)) requestsConsumed += Number(log.args.requestsConsumed);
    // the accounts earlier records named: every one holding a key or a balance (a restored state also lists leaves only read)
    for (const id of state.accountIds()) if (state.hasKey(id) || state.balances(id).length > 0) accounts.add(id);
  }
  for (const [i, log] of batchLogs.entries()) {
    if (resumedAfter !== null && i <= resumedAfter) continue;
    const t0 = performance.now();
    const before = mismatches.length;
    const eventNumber = Number(log.args.batchNumber);
    const n = eventNumber;
    const check: BatchCheck = {
      batchNumber: n, txHash: log.transactionHash, blockNumber: log.blockNumber, header: null, transactions: 0,
      proofValid: false, rootMatches: false, ok: false, verifyMs: 0,
    };
    batches.push(check);
    const finish = () => {
      check.ok = mismatches.length === before;
      check.verifyMs = performance.now() - t0;
      opts.onProgress?.({ done: i - (resumedAfter ?? -1), total: batchLogs.length - (resumedAfter ?? -1) - 1, batch: check });
    };
    if (eventNumber !== i) report(n, "events", `BatchSubmitted #${i} carries batch number ${eventNumber}`);
    if (BigInt(requestsConsumed) + log.args.requestsConsumed > BigInt(queue.length)) {
      report(n, "events", `batch consumes ${log.args.requestsConsumed} requests from ${requestsConsumed}, only ${queue.length} were queued`);
    }

    // calldata: submitBatch(publicData, proof), or submitBatches(publicData[], proofs[]) posting several
    let publicData: Uint8Array;
    let proof: readonly bigint[];
    try {
      ({ publicData, proof } = await postedCalldata(getTransaction, custodian, log.transactionHash, log.args.publicDataHash));
    } catch (e) {
      report(n, "calldata", errorText(e));
      finish();
      continue;
    }
    const digest = publicDataDigest(publicData);
    if (digest !== log.args.publicDataHash.toLowerCase()) {
      report(n, "publicData", `sha256 of the calldata's public data is ${digest}, the event says ${log.args.publicDataHash}`);
    }
    if (publicData.length !== publicDataBytes(params)) {
      report(n, "publicData", `public data is ${publicData.length} bytes, the circuit parameters give ${publicDataBytes(params)}`);
    }

    // proof, on the bytes from the chain
    const { valid, error } = await verifyProof(opts.vkey, publicInputsOf(publicData), proof);
    check.proofValid = valid;
    if (!valid) report(n, "proof", `the Groth16 proof does not verify against the verification key${error ? ` (${error})` : ""}`);

    let header: BatchHeader;
    let records: SlotRecord[];
    let oracle: OracleSection;
    try {
      ({ header, records, oracle } = decodePublicData(publicData, params));
    } catch (e) {
      report(n, "publicData", `cannot decode public data: ${errorText(e)}`);
      finish();
      continue;
    }
    check.header = header;
    if (opts.transformRecords) {
      const copies = records.map((r) => ({ ...r }));
      records = opts.transformRecords(n, copies) ?? copies;
    }
    if (opts.transformOracle) {
      const copy = { ...oracle };
      oracle = opts.transformOracle(n, copy) ?? copy;
    }
    check.transactions = records.filter((r) => r.type !== TxType.NOOP).length;

    if (header.batchNumber !== BigInt(i)) report(n, "batchNumber", `header batch number is ${header.batchNumber}, expected ${i}`);
    if (header.oldRoot !== log.args.oldRoot || header.newRoot !== log.args.newRoot) {
      report(n, "publicData", "the header's roots differ from the BatchSubmitted event's");
    }
    if (header.oldRoot !== state.root) {
      report(n, "oldRoot", `the batch starts from ${hex(header.oldRoot)}, the rebuilt state is at ${hex(state.root)}`);
    }

    // request records: the next queued requests, in queue order (each slot class's in order, merged as the queue has them)
    try {
      const requests = records.filter((r) => REQUEST_TYPES.includes(r.type));
      const ordered = requestsInQueueOrder(records, params.slots, (k) => queue[requestsConsumed + k]?.record);
      if (!ordered) {
        const got = requests.map((r) => bytesToHex(queuedForm(encodeRecord(r)))); // as queued: a forced request's outcome byte cleared
        const want = queue.slice(requestsConsumed, requestsConsumed + requests.length).map((q) => `${q.index}: ${q.record}`);
        report(n, "requests", `the request records (${got.join(", ")}) are not the next queued requests (${want.join(", ") || `none: the queue has ${queue.length}`}) in any order the custodian accepts`);
      }
      if (BigInt(requests.length) !== log.args.requestsConsumed) {
        report(n, "requests", `the batch carries ${requests.length} request records, the event says ${log.args.requestsConsumed} were consumed`);
      }
      requestsConsumed += requests.length;
    } catch (e) {
      report(n, "requests", `cannot encode the request records: ${errorText(e)}`);
    }

    // replay with the sequencer's state transition
    try {
      const built = replayBatch(state, records, { batchNumber: Number(header.batchNumber), timestamp: Number(header.timestamp), oracle });
      for (const r of records) for (const a of accountsOf(r)) accounts.add(Number(a));
      check.rootMatches = built.header.newRoot === header.newRoot;
      // The marks a batch reads are vouched for by the marking recorded under its key: a key that is not the one of the
      // marks the replay computes is named on its own (the key does not enter the root).
      if (built.oracle.marksKey !== oracle.marksKey) {
        report(n, "marksKey", `the batch reads the marks of marking ${hex(oracle.marksKey)}, the replay those of ${built.oracle.marksKey === 0n ? "none (0)" : hex(built.oracle.marksKey)}`);
      }
      if (!check.rootMatches) {
        report(n, "newRoot", `replaying the batch gives root ${hex(built.header.newRoot)}, the batch claims ${hex(header.newRoot)}`);
      } else if (bytesToHex(built.publicData) !== bytesToHex(publicData)) {
        report(n, "publicData", "the replay re-encodes public data that differs from the batch's");
      }
    } catch (e) {
      report(n, "replay", `cannot replay the batch: ${errorText(e)}`);
    }
    finish();
  }

  // ---- final state ---------------------------------------------------------------------------
  if (state.root !== chainRoot) report(null, "finalRoot", `the rebuilt root ${hex(state.root)} is not the custodian's stateRoot ${hex(chainRoot)}`);
  if (requestsConsumed !== processedRequests) {
    report(null, "finalRoot", `batches consumed ${requestsConsumed} requests, the custodian's processedRequests is ${processedRequests}`);
  }

  return {
    ok: mismatches.length === 0,
    batchesChecked: batches.length,
    genesisRoot,
    finalRoot: state.root,
    chainRoot,
    atBlock,
    balances: balancesOf(state, accounts),
    feePool: state.feePool,
    batches,
    mismatches,
    state,
    resumedAfter,
    lastBatch: batchLogs.length === 0 ? null : { batchNumber: batchLogs.length - 1, blockNumber: batchLogs[batchLogs.length - 1].blockNumber },
  };
}
