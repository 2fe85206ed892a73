/**
 * Circuit and state-tree sizes. Every tree is a quad tree (arity 4, Poseidon(4) per node), so a tree
 * of `levels` levels holds 4^levels leaves. One set of parameters = one circuit = one verifier contract.
 */
import { HEADER_BYTES, INSTRUMENT_MARKET_BASE, MAX_ACCOUNT_LEVELS, MAX_MARKET_LEVELS, MAX_TABLE_INSTRUMENTS, oracleSectionBytes, RECORD_BYTES, SETTLEMENT_MAX_UNDERLYINGS, type OracleShape } from "./constants.ts";
export type CircuitParams = {
  /** Quad levels of the account tree: 4^accountLevels accounts (account 0 is reserved, never assigned). */
  readonly accountLevels: number;
  /** Quad levels of each account's balance tree: 4^balanceLevels token ids (token 0 is the quote asset). */
  readonly balanceLevels: number;
  /** Quad levels of each account's order-fill tree: 4^orderLevels storage slots, slot = orderId mod size. */
  readonly orderLevels: number;
  /** Quad levels of the market tree: 4^marketLevels market ids. */
  readonly marketLevels: number;
  /** Spot transaction slots per batch (circuits/batch/slot.circom). */
  readonly slots: number;
  /** Derivatives transaction slots per batch, after the spot slots (circuits/derivatives/derivSlot.circom). */
  readonly derivSlots: number;
  /** Derivative instrument ids 0..instruments-1: the instrument table every batch marks (at most MAX_TABLE_INSTRUMENTS, 64). */
  readonly instruments: number;
  /**
   * Position slots per account (DERIVATIVES.md "Positions"): an account holds a non-zero position in at most this
   * many instruments at once, each slot `(instrumentId + 1, size, snapshot)` or empty.
   */
  readonly positionSlots: number;
  /**
   * The last `optionInstruments` ids are the only ones that may be options (one Black-Scholes each per batch). The
   * oracle signs as many vol slices (one per (underlying, expiry)), so every listed option finds its own.
   */
  readonly optionInstruments: number;
  /** Underlyings the oracle prices (an index price each; implied vols per (underlying, expiry): vol slices). */
  readonly underlyings: number;
};

/**
 * Small sizes for tests: 16 accounts, 4 tokens, 16 order slots, 4 markets, 2 spot slots and 1
 * derivatives slot per batch, 4 instruments (the last 2 may be options) on 1 underlying.
 */
export const TEST_PARAMS: CircuitParams = {
  accountLevels: 2,
  balanceLevels: 1,
  orderLevels: 2,
  marketLevels: 1,
  slots: 2,
  derivSlots: 1,
  instruments: 4,
  positionSlots: 3,
  optionInstruments: 2,
  underlyings: 1,
};

/**
 * Production sizes: 16M accounts, 64 tokens, 4096 live orders per account, 64 markets; 18 spot + 4 derivatives slots
 * per batch; a table of 16 instruments (8 option ids, so chains of several strikes and expiries) on 2 underlyings and
 * 16 positions per account: 1,025,867 constraints, 97.8% of one 2^20 Groth16 domain (circom2 --O2 of this Batch,
 * 2026-12-07). It is the largest batch this toolchain builds with 16 positions per account (19 + 4 would need a spot
 * slot's 42,153 more); since batches read option marks from marking proofs (the oracle step over 16 instruments went
 * from 104,485 to 32,274 constraints) the 16-instrument table fits beside 18 + 4 slots, where it took two spot slots
 * before (the 7-instrument table with 7 positions would carry 19 + 4 at 1,007,926: one trade more per proof, 4.5%,
 * traded for breadth). The public data is the public input, in 31-byte chunks, instead of its SHA-256 (which took
 * 11 + 4 from 1,024,951 to 711,117). README.md, "Production size", argues the choice.
 * Several batches go on chain in one transaction (Custodian.submitBatches).
 */
export const PRODUCTION_PARAMS: CircuitParams = {
  accountLevels: 12,
  balanceLevels: 3,
  orderLevels: 6,
  marketLevels: 3,
  slots: 18,
  derivSlots: 4,
  instruments: 16,
  positionSlots: 16,
  optionInstruments: 8,
  underlyings: 2,
};

/**
 * The devnet's default (`npm run devnet`): TEST_PARAMS' trees and slots, 256 order slots per account (the market
 * maker quotes a chain of forty options beside its spot ladder), 16 positions per account as at production, and a
 * table of 48 instruments (8 linear ids and 40 option ids, on 2 underlyings), so the main job lists a perpetual, two
 * dated futures and an option chain of 2 expiries x 10 strikes x call/put (issue 15's devnet chain), and a batch still
 * proves in seconds: 276,100 constraints (circom2 --O2, 2026-12-07), against 139,901 with a 16-instrument table
 * (scripts/bench/derivativesConstraints.ts), since every batch marks the whole table. Production keeps 16 instruments in its 2^20 proof: a table beyond that at production
 * size is the tree of circuits/DERIVATIVES.md "At exchange scale", not built.
 */
export const DEVNET_PARAMS: CircuitParams = {
  ...TEST_PARAMS,
  orderLevels: 4,
  instruments: 48,
  positionSlots: PRODUCTION_PARAMS.positionSlots,
  optionInstruments: 40,
  underlyings: PRODUCTION_PARAMS.underlyings,
};

/** The named parameter sets: the `--params` (`--size`) choices of the command-line tools and the web page's config. */
export const PARAMS_SETS = { test: TEST_PARAMS, devnet: DEVNET_PARAMS, production: PRODUCTION_PARAMS } as const;
export type ParamsName = keyof typeof PARAMS_SETS;
export const PARAMS_NAMES = Object.keys(PARAMS_SETS) as ParamsName[];

/** A short stable name for a parameter set, used in build-cache keys and contract names. */
export function paramsId(p: CircuitParams): string {
  return `a${p.accountLevels}b${p.balanceLevels}o${p.orderLevels}m${p.marketLevels}s${p.slots}d${p.derivSlots}i${p.instruments}k${p.positionSlots}x${p.optionInstruments}u${p.underlyings}`;
}

/**
 * Throws unless the derivatives sizes fit the encodings and the custodian's bounds (Custodian._checkDerivativesConfig:
 * at most MAX_TABLE_INSTRUMENTS instruments) and the account has 1..instruments position slots.
 */
export function checkParams(p: CircuitParams): void {
  if (p.instruments > MAX_TABLE_INSTRUMENTS) throw new RangeError(`instruments=${p.instruments}: the instrument table every batch marks holds at most ${MAX_TABLE_INSTRUMENTS} (the custodian's free-id mask; DERIVATIVES.md "At exchange scale")`);
  if (p.positionSlots > p.instruments || (p.instruments > 0 && p.positionSlots < 1)) throw new RangeError(`positionSlots=${p.positionSlots}: between 1 and the instruments (${p.instruments}; 0 without instruments)`);
  if (p.optionInstruments > p.instruments) throw new RangeError("optionInstruments exceeds instruments");
  if (p.underlyings > SETTLEMENT_MAX_UNDERLYINGS) throw new RangeError(`the oracle's settlement word packs at most ${SETTLEMENT_MAX_UNDERLYINGS} underlyings`);
  if (p.underlyings < 1) throw new RangeError("at least one underlying");
  if (p.accountLevels > MAX_ACCOUNT_LEVELS) throw new RangeError(`accountLevels=${p.accountLevels}: account ids (below 4^accountLevels) must fit REGISTER_KEY's 3-byte field (<= ${MAX_ACCOUNT_LEVELS})`);
  if (p.marketLevels > MAX_MARKET_LEVELS) throw new RangeError(`marketLevels=${p.marketLevels}: spot market ids (below 4^marketLevels) must stay below the instrument markets' ${INSTRUMENT_MARKET_BASE} (<= ${MAX_MARKET_LEVELS})`);
}

/** Total public-data bytes of one batch: header, oracle section, spot records, derivatives records. */
export function publicDataBytes(p: CircuitParams): number {
  return HEADER_BYTES + oracleSectionBytes(p) + (p.slots + p.derivSlots) * RECORD_BYTES;
}
