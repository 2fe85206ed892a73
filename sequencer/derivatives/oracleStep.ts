/**
 * The batch-level derivatives step (circuits/DERIVATIVES.md, "Oracle update"): checks the signed
 * oracle update, settles instruments that reached expiry (at the expiry the update names, or within the
 * settlement window at its price), computes every instrument's mark and margins
 * per lot, and applies a funding tick. Mirrors circuits/derivatives/oracleStep.circom; the rules are
 * checked here first so the sequencer never builds a batch the circuit refuses.
 */
import { compressPublicKey, publicKeyFault, verifyMessage } from "../crypto/babyjub.ts";
import { Bits, InstrumentKind, MAX_ORACLE_AGE, MAX_ORACLE_PRICE, MIN_ORACLE_PRICE, MIN_VOL_PPM, SETTLEMENT_WINDOW } from "../protocol/constants.ts";
import { instrumentInputs, type CircuitInputs } from "../protocol/layouts.ts";
import { oracleMessage, type OracleUpdate, type SignedOracleUpdate } from "../protocol/messages.ts";
import { unusedOracleSection, type OracleSection } from "../protocol/publicData.ts";
import type { CircuitParams } from "../protocol/params.ts";
import { sliceTableFault } from "../protocol/volSlices.ts";
import { buildMarking, markingLevels, markPath, type MarkEntry, type Marking } from "./marking.ts";
import { sliceInputs, unpricedOptions, volsByInstrument } from "./volSurface.ts";
import { freeInstrumentMask, fundingStep, isDated, isOption, lotRiskAt, NO_RISK, type Globals, type InstrumentState, type LotRisk } from "./formulas.ts";

/** An oracle update with the oracle's signature and key: protocol/messages.ts (the record decoder returns one), re-exported for the step's callers. */
export type { SignedOracleUpdate };

/**
 * What the oracle step reads and writes of the exchange state (state/exchangeState.ts's ExchangeState
 * satisfies it): the circuit's sizes, the batch-level globals and the instrument table.
 */
export interface OracleStepState {
  readonly params: CircuitParams;
  readonly globals: Readonly<Globals>;
  readonly instruments: readonly InstrumentState[];
  setInstrument(id: number, inst: InstrumentState): void;
  setGlobals(g: Globals): void;
}

/** Why an oracle update cannot be used by a batch. */
export class OracleRejected extends Error {
  constructor(readonly code: string, message: string) {
    super(`${code}: ${message}`);
  }
}

export type OracleStepResult = {
  /** The oracle section the batch's public data carries. */
  section: OracleSection;
  /** Mark and margins per lot of each instrument, for the derivatives slots. */
  risks: LotRisk[];
  /** The implied vol each instrument was marked at (volSurface.ts#volsByInstrument; 2^13 where none is read). */
  vols: bigint[];
  /**
   * Per instrument: an option the update must price and has no vol slice for (listed after it was signed), marked at
   * the floor vol: nothing fills it in this batch (the circuit's OracleStep.unpriced, Fill), and nobody may hold it.
   */
  unpriced: boolean[];
  /** Whether this batch applied a funding tick. */
  fundingTick: boolean;
  /** Circuit inputs of the oracle step. */
  inputs: CircuitInputs;
  /** The marking the step read its option marks from (section.marksKey is its key), null when it read none. */
  marking: Marking | null;
};

const RATE_OFFSET = 1n << BigInt(Bits.fundingRate - 1);

function inRange(v: bigint, lo: bigint, hi: bigint): boolean {
  return v >= lo && v < hi;
}

/** The oracle step's inputs of the marks it reads when it reads none (no update, or no live option): all 0. */
function noMarkInputs(p: CircuitParams): { marksRoot: bigint; optionMarks: bigint[]; markSiblings: bigint[][][] } {
  const levels = markingLevels(p);
  return {
    marksRoot: 0n,
    optionMarks: Array(p.optionInstruments).fill(0n),
    markSiblings: Array.from({ length: p.optionInstruments }, () => Array.from({ length: levels }, () => [0n, 0n, 0n])),
  };
}

/** The oracle step's inputs of the marks it reads from `marking` (`marks`: its marks by instrument id): its root, each option id's mark (0 if unread) and leaf path. */
function markInputs(marking: Marking, marks: ReadonlyMap<number, bigint>, p: CircuitParams): { marksRoot: bigint; optionMarks: bigint[]; markSiblings: bigint[][][] } {
  const first = p.instruments - p.optionInstruments;
  return {
    marksRoot: marking.marksRoot,
    optionMarks: Array.from({ length: p.optionInstruments }, (_, k) => marks.get(first + k) ?? 0n),
    markSiblings: Array.from({ length: p.optionInstruments }, (_, k) => markPath(marking, k)),
  };
}

/**
 * The marking a batch's oracle step reads (OracleStep, MarkRead): entry k is option id N - O + k of the settled table
 * when the step reads its mark (a live option, unsettled after the update, that the update prices), else null; null
 * when it reads none. With `enforce` off (a test playing a dishonest operator) an update the marking circuit cannot
 * mark gives no marking, so the circuit refuses the witness at its own checks.
 */
function stepMarking(update: OracleUpdate, settled: readonly InstrumentState[], unpriced: readonly boolean[], p: CircuitParams, enforce: boolean): Marking | null {
  const first = p.instruments - p.optionInstruments;
  const entries = settled.slice(first).map((instrument, k): MarkEntry | null =>
    isOption(instrument.kind) && instrument.settlePrice === 0n && !unpriced[first + k] ? { id: first + k, instrument } : null);
  if (!entries.some((e) => e)) return null;
  try {
    return buildMarking(update, entries, p);
  } catch (e) {
    if (enforce) throw e;
    return null;
  }
}

/**
 * The settlement price an update gives instrument `inst` (circuits/DERIVATIVES.md, "Expiry"; InstrumentState):
 * a registered dated instrument, unsettled, with `update.time >= expiry` settles at the price of its
 * underlying the update names for its expiry (whenever signed), or else at `price` (the update's own) when
 * signed within SETTLEMENT_WINDOW of the expiry; otherwise it keeps its settle price (0: unsettled, expired).
 */
export function settlementPrice(inst: InstrumentState, update: OracleUpdate, price: bigint): bigint {
  if (!isDated(inst.kind) || inst.settlePrice !== 0n || update.time < inst.expiry) return inst.settlePrice;
  if (update.settlement && update.settlement.expiry === inst.expiry) return update.settlement.prices[inst.underlying];
  return update.time <= inst.expiry + SETTLEMENT_WINDOW ? price : 0n;
}

/**
 * Applies the oracle step to `state` for a batch at `timestamp` (or the "no oracle" step when
 * `update` is null) and returns the marks and the circuit inputs. `enforce = false` skips the checks
 * (tests that play a dishonest operator); `verifySignature = false` skips only the signature check
 * (a replay of chain data, whose public data carries no signature: the proof vouched for it).
 */
export function applyOracleStep(
  state: OracleStepState,
  update: SignedOracleUpdate | null,
  timestamp: number,
  enforce = true,
  verifySignature = true,
): OracleStepResult {
  const p = state.params;
  const old = state.globals;
  const oldTable = state.instruments.map(instrumentInputs);
  const fail = (code: string, message: string) => {
    if (enforce) throw new OracleRejected(code, message);
  };
  const noSig = [0n, 1n, 0n];
  if (!update) {
    const section = { ...unusedOracleSection(p), freeInstruments: freeInstrumentMask(state.instruments) };
    return {
      section,
      risks: state.instruments.map(() => NO_RISK),
      vols: state.instruments.map(() => MIN_VOL_PPM),
      unpriced: state.instruments.map(() => false),
      fundingTick: false,
      marking: null,
      inputs: {
        oldInstruments: oldTable, oldInsurance: old.insuranceFund, oldOracleTime: BigInt(old.oracleTime), oldFundingEpoch: BigInt(old.fundingEpoch), oldBadDebt: old.badDebt, oldPooledQuote: old.pooledQuote,
        oracleUsed: 0n, oracleKeyX: 0n, oracleKeyY: 0n, oracleTime: 0n, fundingEpoch: 0n,
        prices: [...section.prices], ...sliceInputs(section.volSlices), rates: [...section.rates],
        settleExpiry: 0n, settlePrices: [...section.settlePrices], oracleSig: noSig,
        ...noMarkInputs(p),
      },
    };
  }
  if (update.prices.length !== p.underlyings || update.volSlices.length !== p.optionInstruments || update.rates.length !== p.instruments) {
    throw new OracleRejected(
      "BAD_ORACLE_SHAPE",
      `an update needs ${p.underlyings} prices (one per underlying), ${p.optionInstruments} vol slices (as many as option ids) and ${p.instruments} rates`,
    );
  }
  const named = update.settlement ?? null;
  if (named) {
    if (named.prices.length !== p.underlyings) throw new OracleRejected("BAD_ORACLE_SHAPE", `a named expiry needs ${p.underlyings} prices (one per underlying)`);
    if (!Number.isInteger(named.expiry) || named.expiry <= 0 || named.expiry >= 2 ** Bits.time) fail("BAD_ORACLE_SETTLEMENT", `named expiry ${named.expiry} outside (0, 2^32)`);
    named.prices.forEach((pr, u) => {
      if (!inRange(pr, MIN_ORACLE_PRICE, MAX_ORACLE_PRICE + 1n)) fail("BAD_ORACLE_SETTLEMENT", `settlement price[${u}] = ${pr} outside [2^16, 2^50)`);
    });
  }
  // The public data carries the key compressed (y and the sign of x): the circuit proves it on the curve.
  const keyFault = publicKeyFault(update.key);
  if (keyFault) fail("BAD_ORACLE_KEY", `the oracle key (${update.key[0]}, ${update.key[1]}) is ${keyFault}`);
  if (verifySignature && !verifyMessage(oracleMessage(update), update.signature, update.key)) fail("BAD_ORACLE_SIGNATURE", "the oracle update is not signed by its key");
  if (update.time > timestamp) fail("ORACLE_FROM_FUTURE", `oracle time ${update.time} is after the batch timestamp ${timestamp}`);
  if (timestamp - update.time > MAX_ORACLE_AGE) fail("STALE_ORACLE", `oracle time ${update.time} is more than ${MAX_ORACLE_AGE} s before ${timestamp}`);
  if (update.time < old.oracleTime) fail("ORACLE_WENT_BACK", `oracle time ${update.time} precedes the last one, ${old.oracleTime}`);
  update.prices.forEach((pr, u) => {
    if (!inRange(pr, MIN_ORACLE_PRICE, MAX_ORACLE_PRICE + 1n)) fail("BAD_ORACLE_PRICE", `price[${u}] = ${pr} outside [2^16, 2^50)`);
  });
  const sliceFault = sliceTableFault(update.volSlices, p.underlyings);
  if (sliceFault) fail("BAD_ORACLE_VOL", `vol slices: ${sliceFault}`);
  const epochDelta = update.fundingEpoch - old.fundingEpoch;
  if (epochDelta !== 0 && epochDelta !== 1) fail("BAD_FUNDING_EPOCH", `funding epoch ${update.fundingEpoch} after ${old.fundingEpoch}`);
  const fundingTick = epochDelta === 1;

  // Expiry, then vols (an option settled by this update needs none), marks and funding, per instrument.
  const settledTable = state.instruments.map((inst) => ({ ...inst, settlePrice: settlementPrice(inst, update, update.prices[inst.underlying] ?? 0n) }));
  // An option the update has no slice for (listed after it was signed) is marked at the floor vol (SliceVol).
  const vols = volsByInstrument(settledTable, update.prices, update.volSlices, update.time);
  const unpricedIds = new Set(unpricedOptions(settledTable, update.volSlices, update.time));
  const unpriced = state.instruments.map((_, i) => unpricedIds.has(i));
  // ...and a position is never valued at it: an update that misses the slice of an option somebody holds is refused
  // (OracleStep: `unpriced * (1 - notHeld) === 0`)
  for (const i of unpricedIds) {
    if (state.instruments[i].holders !== 0) fail("NO_VOL_SLICE", `no vol slice for option ${i}, which ${state.instruments[i].holders} accounts hold`);
  }
  const marking = stepMarking(update, settledTable, unpriced, p, enforce);
  const marks = new Map(marking?.marks.map((m) => [m.id, m.mark]));
  const risks: LotRisk[] = [];
  state.instruments.forEach((inst, i) => {
    const rate = update.rates[i];
    if (!inRange(rate, -RATE_OFFSET, RATE_OFFSET)) fail("BAD_FUNDING_RATE", `rate[${i}] = ${rate} out of range`);
    if (inst.kind !== InstrumentKind.PERPETUAL && rate !== 0n) fail("FUNDING_NOT_PERPETUAL", `instrument ${i} is not a perpetual but has rate ${rate}`);
    if (rate > inst.fundingCapPpm || -rate > inst.fundingCapPpm) fail("FUNDING_ABOVE_CAP", `rate ${rate} exceeds instrument ${i}'s cap ${inst.fundingCapPpm}`);
    const price = update.prices[inst.underlying] ?? 0n;
    const settled = settledTable[i];
    // a live option's mark is the marking's (the proof computed it at vols[i]); an unpriced one's is 0
    const risk = lotRiskAt(settled, price, () => marks.get(i) ?? 0n);
    risks.push(risk);
    const funded = fundingTick ? { ...settled, fundingIndex: settled.fundingIndex + fundingStep(rate, risk.mark) } : settled;
    // the circuit's range of the index (InstrumentMarks' SignedRange(64)): an update that would leave it refuses here,
    // at intake, instead of being accepted and refused by the prover at every batch (review of 2026-12-05)
    const indexBound = 1n << BigInt(Bits.fundingIndex - 1);
    if (!inRange(funded.fundingIndex, -indexBound, indexBound)) fail("FUNDING_INDEX_RANGE", `instrument ${i}'s funding index ${funded.fundingIndex} would leave the signed ${Bits.fundingIndex}-bit range`);
    if (funded.settlePrice !== inst.settlePrice || funded.fundingIndex !== inst.fundingIndex) state.setInstrument(i, funded);
  });
  state.setGlobals({ ...old, oracleTime: update.time, fundingEpoch: update.fundingEpoch });

  const section: OracleSection = {
    used: true, key: compressPublicKey(update.key), time: BigInt(update.time), fundingEpoch: BigInt(update.fundingEpoch),
    prices: [...update.prices], volSlices: [...update.volSlices], rates: [...update.rates],
    settleExpiry: BigInt(named?.expiry ?? 0), settlePrices: named ? [...named.prices] : Array(p.underlyings).fill(0n),
    marksKey: marking?.marksKey ?? 0n,
    freeInstruments: freeInstrumentMask(state.instruments), // the batch's slots may change it: its witness sets the final one
  };
  return {
    section,
    risks,
    vols,
    unpriced,
    fundingTick,
    marking,
    inputs: {
      oldInstruments: oldTable, oldInsurance: old.insuranceFund, oldOracleTime: BigInt(old.oracleTime), oldFundingEpoch: BigInt(old.fundingEpoch), oldBadDebt: old.badDebt, oldPooledQuote: old.pooledQuote,
      oracleUsed: 1n, oracleKeyX: update.key[0], oracleKeyY: update.key[1], oracleTime: BigInt(update.time),
      fundingEpoch: BigInt(update.fundingEpoch), prices: [...update.prices], ...sliceInputs(update.volSlices), rates: [...update.rates],
      settleExpiry: section.settleExpiry, settlePrices: [...section.settlePrices],
      oracleSig: [update.signature.r8x, update.signature.r8y, update.signature.s],
      ...(marking ? markInputs(marking, marks, p) : noMarkInputs(p)),
    },
  };
}
