/**
 * Builds a batch: applies the oracle step, then up to `slots` spot transactions and up to
 * `derivSlots` derivatives transactions to the state, pads with no-ops, and returns the public data
 * and the full input of the Batch circuit. All-or-nothing: if any transaction is rejected, the state
 * is rolled back and the error names the slot.
 */
import { fieldOf } from "../crypto/field.ts";
import type { ExchangeState } from "../state/exchangeState.ts";
import { Bits, DERIV_TX_TYPES, TxType } from "../protocol/constants.ts";
import { encodePublicData, publicInputsOf, type BatchHeader, type OracleSection, type SlotRecord } from "../protocol/publicData.ts";
import { applyOracleStep, type SignedOracleUpdate } from "../derivatives/oracleStep.ts";
import { freeInstrumentMask, type ForcedClose } from "../derivatives/formulas.ts";
import type { Marking } from "../derivatives/marking.ts";
import { applyTx, TxRejected, type SlotInputs } from "./slotWitness.ts";
import { applyDerivTx } from "./derivSlotWitness.ts";
import { NOOP, type BatchTx, type DerivTx, type SpotTx } from "../protocol/transactions.ts";
import type { SignatureCheck } from "../crypto/signatureVerifier.ts";

/** True for the transactions that go into derivatives slots (NOOP goes into spot slots). */
export function isDerivTx(tx: BatchTx): tx is DerivTx {
  return tx.type !== TxType.NOOP && (DERIV_TX_TYPES as readonly number[]).includes(tx.type);
}

export type BuiltBatch = {
  header: BatchHeader;
  oracle: OracleSection;
  /** Records of the spot slots, then of the derivatives slots. */
  records: SlotRecord[];
  publicData: Uint8Array;
  /** The circuit's public inputs: the public data in PUBLIC_INPUT_CHUNK_BYTES chunks (publicInputsOf). */
  publicInputs: bigint[];
  /** Input of circuits/batch/batch.circom, values as decimal strings. */
  circuitInput: Record<string, unknown>;
  /** Each FORCED_CLOSE record's close as proven, in record order (null when refused): what intake follows (ExchangeCore). */
  forcedCloses: (ForcedClose | null)[];
  /**
   * The marking whose marks the batch's oracle step read (derivatives/marking.ts), null when it read none: its proof
   * must be recorded in the marks registry (under `oracle.marksKey`, the same key) before the batch is posted, or the
   * custodian refuses the batch (MarksNotRecorded).
   */
  marking: Marking | null;
};

export type BatchOptions = {
  batchNumber: number;
  timestamp: number;
  verifySignatures?: boolean;
  /**
   * With verifySignatures false: receives every signature check of every slot (`slot` numbered as
   * TxRejected.slot), for the caller to verify in one batch call (the sequencer, with the native verifier).
   */
  collectSignatures?: (slot: number, check: SignatureCheck) => void;
  /** See SlotContext.enforceRules: false only in tests that play a dishonest operator. */
  enforceRules?: boolean;
  /** See SlotContext.forcedOutcome: only with enforceRules false, in tests that play a dishonest operator. */
  forcedOutcome?: (honest: boolean) => boolean;
  /** The signed oracle update the batch uses; required when it has derivatives transactions. */
  oracle?: SignedOracleUpdate | null;
};

const POOL_LIMIT = 1n << BigInt(Bits.balance);

/**
 * The fee pool, the insurance fund, the open bad debt and the pooled quote stay below 2^128 (the Batch circuit's
 * `feePoolBits`, `insuranceBits`, `badDebtBits` and `pooledBits`, checked once at the batch's end). Checked after every
 * slot, so the refusal names the slot that took one past the bound (the pools grow by a slot's fees and
 * penalties and shrink only by what they cover; the debt by what an account's leaf carries). Refuses with
 * FEE_POOL_OVERFLOW, INSURANCE_OVERFLOW, BAD_DEBT_OVERFLOW or POOLED_QUOTE_RANGE.
 */
export function requirePoolsInRange(state: ExchangeState): void {
  if (state.feePool >= POOL_LIMIT) throw new TxRejected("FEE_POOL_OVERFLOW", `the fee pool would hold ${state.feePool}, not below 2^${Bits.balance}`);
  if (state.globals.insuranceFund >= POOL_LIMIT) throw new TxRejected("INSURANCE_OVERFLOW", `the insurance fund would hold ${state.globals.insuranceFund}, not below 2^${Bits.balance}`);
  if (state.globals.badDebt >= POOL_LIMIT) throw new TxRejected("BAD_DEBT_OVERFLOW", `the open bad debt would be ${state.globals.badDebt}, not below 2^${Bits.balance}`);
  const pooled = state.globals.pooledQuote;
  if (pooled < 0n || pooled >= POOL_LIMIT) throw new TxRejected("POOLED_QUOTE_RANGE", `the pooled quote would be ${pooled}, not in [0, 2^${Bits.balance})`);
}

type Nested = bigint | Nested[];
function toStrings(v: Nested): unknown {
  return Array.isArray(v) ? v.map(toStrings) : fieldOf(v).toString();
}

function collect(into: Record<string, unknown>, prefix: string, rows: SlotInputs[]): void {
  for (const name of Object.keys(rows[0] ?? {})) into[prefix + name] = rows.map((s) => toStrings(s[name] as Nested));
}

/** Transactions for the two sections of a batch, in slot order (a NOOP may sit between others). */
export type BatchSections = { spot: readonly SpotTx[]; deriv: readonly DerivTx[] };

/**
 * Builds the batch of `txs`: a list (spot transactions go to the spot slots, derivatives ones to the
 * derivatives slots, each in order) or explicit sections (replays, which must keep every slot's place).
 * A transaction that breaks a rule throws TxRejected with its slot (spot slots 0..slots-1, then the
 * derivatives slots), and the state is left as it was.
 */
export function buildBatch(state: ExchangeState, txs: readonly BatchTx[] | BatchSections, opts: BatchOptions): BuiltBatch {
  const { slots, derivSlots } = state.params;
  const spot = "spot" in txs ? txs.spot : txs.filter((t): t is SpotTx => !isDerivTx(t));
  const deriv = "spot" in txs ? txs.deriv : txs.filter(isDerivTx);
  if (spot.length > slots) throw new RangeError(`${spot.length} spot transactions do not fit ${slots} slots`);
  if (deriv.length > derivSlots) throw new RangeError(`${deriv.length} derivatives transactions do not fit ${derivSlots} slots`);
  const enforce = opts.enforceRules ?? true;
  const ctx = { timestamp: opts.timestamp, verifySignatures: opts.verifySignatures ?? true, enforceRules: opts.enforceRules, forcedOutcome: opts.forcedOutcome };
  const oldAccountsRoot = state.accountTree.root;
  const oldMarketsRoot = state.marketTree.root;
  const oldFeePool = state.feePool;
  const oldRoot = state.root;

  const t = state.begin();
  const spotInputs: SlotInputs[] = [];
  const derivInputs: SlotInputs[] = [];
  const records: SlotRecord[] = [];
  const forcedCloses: (ForcedClose | null)[] = [];
  let oracleInputs: SlotInputs;
  let oracle: OracleSection;
  let marking: Marking | null;
  const slotError = (i: number, e: unknown) => (e instanceof TxRejected ? new TxRejected(e.code, `slot ${i}: ${e.message}`, i) : e);
  const sink = opts.collectSignatures;
  const slotCtx = <C extends typeof ctx>(c: C, i: number): C => (sink ? { ...c, collectSignature: (check: SignatureCheck) => sink(i, check) } : c);
  try {
    const step = applyOracleStep(state, opts.oracle ?? null, opts.timestamp, opts.enforceRules ?? true, ctx.verifySignatures);
    oracleInputs = step.inputs;
    oracle = step.section;
    marking = step.marking;
    [...spot, ...Array<SpotTx>(slots - spot.length).fill(NOOP)].forEach((tx, i) => {
      try {
        const { inputs, record } = applyTx(state, tx, slotCtx(ctx, i));
        if (enforce) requirePoolsInRange(state);
        spotInputs.push(inputs);
        records.push(record);
      } catch (e) {
        throw slotError(i, e);
      }
    });
    const dctx = { ...ctx, oracleUsed: step.section.used, startInstruments: [...state.instruments], risks: step.risks, unpriced: step.unpriced, forcedCloses };
    [...deriv, ...Array<DerivTx>(derivSlots - deriv.length).fill(NOOP)].forEach((tx, i) => {
      try {
        const { inputs, record } = applyDerivTx(state, tx, slotCtx(dctx, slots + i));
        if (enforce) requirePoolsInRange(state);
        derivInputs.push(inputs);
        records.push(record);
      } catch (e) {
        throw slotError(slots + i, e);
      }
    });
    // the section closes with the ids free after the batch, from its final table (the circuit's freeEnd)
    oracle = { ...oracle, freeInstruments: freeInstrumentMask(state.instruments) };
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
  const publicData = encodePublicData(header, oracle, records);
  const publicInputs = publicInputsOf(publicData);
  const circuitInput: Record<string, unknown> = {
    publicInput: publicInputs.map(String),
    batchNumber: String(opts.batchNumber),
    timestamp: String(opts.timestamp),
    oldAccountsRoot: oldAccountsRoot.toString(),
    oldMarketsRoot: oldMarketsRoot.toString(),
    oldFeePool: oldFeePool.toString(),
  };
  for (const [name, value] of Object.entries(oracleInputs)) circuitInput[name] = toStrings(value as Nested);
  collect(circuitInput, "", spotInputs);
  collect(circuitInput, "d_", derivInputs);
  return { header, oracle, records, publicData, publicInputs, circuitInput, forcedCloses, marking };
}
