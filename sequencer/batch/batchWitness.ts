/**
 * Builds a batch: applies up to `slots` transactions to the state, pads with no-ops, and returns the
 * public data and the full input of the Batch circuit. All-or-nothing: if any transaction is
 * rejected, the state is rolled back and the error names the slot.
 */
import type { ExchangeState } from "../state/exchangeState.ts";
import { encodePublicData, publicInputOf, type BatchHeader, type SlotRecord } from "../protocol/publicData.ts";
import { applyTx, TxRejected, type SlotInputs } from "./slotWitness.ts";
import { NOOP, type BatchTx } from "./transactions.ts";

export type BuiltBatch = {
  header: BatchHeader;
  records: SlotRecord[];
  publicData: Uint8Array;
  publicInput: bigint;
  /** Input of circuits/batch/batch.circom, values as decimal strings. */
  circuitInput: Record<string, unknown>;
};

export type BatchOptions = {
  batchNumber: number;
  timestamp: number;
  verifySignatures?: boolean;
  /** See SlotContext.enforceRules: false only in tests that play a dishonest operator. */
  enforceRules?: boolean;
};

type Nested = bigint | Nested[];
function toStrings(v: Nested): unknown {
  return Array.isArray(v) ? v.map(toStrings) : v.toString();
}

export function buildBatch(state: ExchangeState, txs: readonly BatchTx[], opts: BatchOptions): BuiltBatch {
  const slots = state.params.slots;
  if (txs.length > slots) throw new RangeError(`${txs.length} transactions do not fit ${slots} slots`);
  const ctx = { timestamp: opts.timestamp, verifySignatures: opts.verifySignatures ?? true, enforceRules: opts.enforceRules };
  const oldAccountsRoot = state.accountTree.root;
  const oldMarketsRoot = state.marketTree.root;
  const oldFeePool = state.feePool;
  const oldRoot = state.root;
  const padded = [...txs, ...Array<BatchTx>(slots - txs.length).fill(NOOP)];

  const t = state.begin();
  const slotInputs: SlotInputs[] = [];
  const records: SlotRecord[] = [];
  try {
    padded.forEach((tx, i) => {
      try {
        const { inputs, record } = applyTx(state, tx, ctx);
        slotInputs.push(inputs);
        records.push(record);
      } catch (e) {
        if (e instanceof TxRejected) throw new TxRejected(e.code, `slot ${i}: ${e.message}`);
        throw e;
      }
    });
    t.commit();
  } catch (e) {
    t.rollback();
    throw e;
  }

  const header: BatchHeader = {
    oldRoot,
    newRoot: state.root,
    batchNumber: BigInt(opts.batchNumber),
    timestamp: BigInt(opts.timestamp),
  };
  const publicData = encodePublicData(header, records);
  const publicInput = publicInputOf(publicData);
  const circuitInput: Record<string, unknown> = {
    publicInput: publicInput.toString(),
    batchNumber: String(opts.batchNumber),
    timestamp: String(opts.timestamp),
    oldAccountsRoot: oldAccountsRoot.toString(),
    oldMarketsRoot: oldMarketsRoot.toString(),
    oldFeePool: oldFeePool.toString(),
  };
  for (const name of Object.keys(slotInputs[0])) {
    circuitInput[name] = slotInputs.map((s) => toStrings(s[name] as Nested));
  }
  return { header, records, publicData, publicInput, circuitInput };
}
