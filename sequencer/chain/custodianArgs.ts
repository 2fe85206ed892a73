/**
 * The custodian's constructor arguments for one set of circuit parameters (contracts/Custodian.sol): the
 * capacities of the state trees, the slot counts and the derivatives sizes, all derived from `params` so
 * the deployment scripts and the tests build the same contract for the same circuit, with the marks registry
 * beside the derivatives sizes; then the exit configuration (request deadline, exit verifier, admin timelock,
 * treasury).
 */
import { zeroAddress, type Address } from "viem";
import type { CircuitParams } from "../protocol/params.ts";

/**
 * Seconds a queued request may wait before anyone may switch the custodian to exodus (Custodian.requestDeadline):
 * 7 days for deployments (the custodian accepts (0, 30 days]; tests use shorter ones).
 */
export const DEFAULT_REQUEST_DEADLINE = 7 * 24 * 3600;

/**
 * The external libraries Custodian is linked with (code moved out of it for the EIP-170 size limit), as source
 * path under contracts/ and name: each is deployed first and its address linked into Custodian's bytecode
 * (scripts/deploy/deployExchange.ts deployCustodian; test/contracts/helpers.ts deployCustodianContract).
 */
export const CUSTODIAN_LIBRARIES = [
  ["libraries/CustodianPayouts.sol", "CustodianPayouts"],
  ["libraries/RegistrationRules.sol", "RegistrationRules"],
  ["libraries/BatchRecords.sol", "BatchRecords"],
  ["libraries/RequestQueue.sol", "RequestQueue"],
] as const;

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
  /** Seconds before an unconsumed request makes exodus available (default DEFAULT_REQUEST_DEADLINE). */
  requestDeadline?: number | bigint;
  /** Groth16 verifier of the exit circuit. */
  exitVerifier: Address;
  /**
   * An AdminTimelock (contracts/governance/AdminTimelock.sol: OpenZeppelin's TimelockController that keeps its roles
   * and never goes below its deployment's delay) whose floor (`minDelayFloor()`) exceeds the request deadline (a
   * plain TimelockController has no floor: the custodian's constructor reverts): it alone grants and revokes OPERATOR_ROLE, replaces the oracle key and changes the
   * treasury's recipients.
   */
  timelock: Address;
  /**
   * The first recipient of the treasury's withdrawals, both the fee pool's (Custodian.feeRecipient) and the
   * insurance fund's (Custodian.insuranceRecipient); later changed only through the timelock. Default: `admin`.
   */
  treasury?: Address;
  /**
   * The registry of verified markings (contracts/MarksRegistry.sol, Custodian.marksRegistry) a batch's non-zero marks
   * key must be recorded in. Default: the zero address, no registry (every batch that reads marks is refused).
   */
  marksRegistry?: Address;
};

/** Custodian.ExitConfig, as viem encodes the tuple. */
export type ExitConfig = { requestDeadline: bigint; exitVerifier: Address; timelock: Address; treasury: Address };

/** Custodian.DerivativesConfig, as viem encodes the tuple: the circuit's derivatives sizes and the marks registry. */
export type DerivativesConfig = {
  derivSlots: bigint; underlyings: number; instruments: number; optionInstruments: number; marksRegistry: Address;
};

/** The custodian's derivatives configuration for circuit parameters `p`, with `marksRegistry` (default: none, the zero address). */
export function derivativesConfigOf(p: CircuitParams, marksRegistry: Address = zeroAddress): DerivativesConfig {
  return {
    derivSlots: BigInt(p.derivSlots), underlyings: p.underlyings, instruments: p.instruments, optionInstruments: p.optionInstruments,
    marksRegistry,
  };
}

/** Constructor arguments, in order, of a custodian for circuit parameters `p`. */
export function custodianArgs(p: CircuitParams, r: CustodianRoles) {
  return [
    r.verifier, r.genesisRoot, r.quoteToken, r.quoteMinDeposit, r.admin, r.operator,
    4 ** p.accountLevels, 4 ** p.balanceLevels, 4 ** p.marketLevels, BigInt(p.slots), derivativesConfigOf(p, r.marksRegistry),
    {
      requestDeadline: BigInt(r.requestDeadline ?? DEFAULT_REQUEST_DEADLINE), exitVerifier: r.exitVerifier, timelock: r.timelock,
      treasury: r.treasury ?? r.admin,
    } satisfies ExitConfig,
  ] as const;
}
