/**
 * Circuit and state-tree sizes. Every tree is a quad tree (arity 4, Poseidon(4) per node), so a tree
 * of `levels` levels holds 4^levels leaves. One set of parameters = one circuit = one verifier contract.
 */
export type CircuitParams = {
  /** Quad levels of the account tree: 4^accountLevels accounts (account 0 is reserved, never assigned). */
  readonly accountLevels: number;
  /** Quad levels of each account's balance tree: 4^balanceLevels token ids (token 0 is the quote asset). */
  readonly balanceLevels: number;
  /** Quad levels of each account's order-fill tree: 4^orderLevels storage slots, slot = orderId mod size. */
  readonly orderLevels: number;
  /** Quad levels of the market tree: 4^marketLevels market ids. */
  readonly marketLevels: number;
  /** Transaction slots per batch. */
  readonly slots: number;
};

/** Small sizes for tests: 16 accounts, 4 tokens, 16 order slots, 4 markets, 2 slots per batch. */
export const TEST_PARAMS: CircuitParams = {
  accountLevels: 2,
  balanceLevels: 1,
  orderLevels: 2,
  marketLevels: 1,
  slots: 2,
};

/** Production sizes: 16M accounts, 64 tokens, 4096 live orders per account, 64 markets. */
export const PRODUCTION_PARAMS: CircuitParams = {
  accountLevels: 12,
  balanceLevels: 3,
  orderLevels: 6,
  marketLevels: 3,
  slots: 32,
};

/** A short stable name for a parameter set, used in build-cache keys and contract names. */
export function paramsId(p: CircuitParams): string {
  return `a${p.accountLevels}b${p.balanceLevels}o${p.orderLevels}m${p.marketLevels}s${p.slots}`;
}
