/**
 * The custodian's constructor arguments for one set of circuit parameters (contracts/Custodian.sol): the
 * capacities of the state trees, the slot counts and the derivatives sizes, all derived from `params` so
 * the deployment scripts and the tests build the same contract for the same circuit.
 */
import type { Address } from "viem";
import type { CircuitParams } from "../protocol/params.ts";

/** Who and what the custodian is deployed with, besides the circuit's sizes. */
export type CustodianRoles = {
  /** Groth16 verifier of the batch circuit. */
  verifier: Address;
  /** State root of the empty exchange for `params`. */
  genesisRoot: bigint;
  /** Registered as token 0. */
  quoteToken: Address;
  /** The quote token's minimum deposit, in its base units (non-zero; Custodian.minDeposit(0)). */
  quoteMinDeposit: bigint;
  /** DEFAULT_ADMIN_ROLE: tokens, markets, instruments, oracle key, operators (transferred in two steps). */
  admin: Address;
  /** OPERATOR_ROLE: submits batches. */
  operator: Address;
};

/** Custodian.DerivativesSizes, as viem encodes the tuple. */
export type DerivativesSizes = { derivSlots: bigint; underlyings: number; instruments: number; optionInstruments: number };

export function derivativesSizesOf(p: CircuitParams): DerivativesSizes {
  return { derivSlots: BigInt(p.derivSlots), underlyings: p.underlyings, instruments: p.instruments, optionInstruments: p.optionInstruments };
}

/** Constructor arguments, in order, of a custodian for circuit parameters `p`. */
export function custodianArgs(p: CircuitParams, r: CustodianRoles) {
  return [
    r.verifier, r.genesisRoot, r.quoteToken, r.quoteMinDeposit, r.admin, r.operator,
    4 ** p.accountLevels, 4 ** p.balanceLevels, 4 ** p.marketLevels, BigInt(p.slots), derivativesSizesOf(p),
  ] as const;
}
