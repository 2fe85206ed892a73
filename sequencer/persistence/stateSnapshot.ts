/**
 * The proven exchange state (ExchangeState) as a JSON-able value and back. Only non-empty leaves are
 * listed; restoring writes them through the state's own setters, so every tree is rehashed, and the
 * rebuilt root must equal the recorded one (a corrupt snapshot is refused, never half-used).
 */
import type { PublicKey } from "../crypto/babyjub.ts";
import { FIELD_MODULUS } from "../crypto/field.ts";
import { poseidonChain } from "../crypto/poseidon.ts";
import { INSTRUMENT_FIELDS } from "../protocol/layouts.ts";
import type { CircuitParams } from "../protocol/params.ts";
import { ExchangeState, type Market } from "../state/exchangeState.ts";
import { instrumentLeaf } from "../state/instrumentTable.ts";
import type { DerivAccount, Globals, InstrumentState } from "../derivatives/formulas.ts";

export type AccountSnapshot = {
  id: number;
  pubKey: PublicKey;
  nonce: number;
  /** [tokenId, balance] of non-zero balances. */
  balances: [number, bigint][];
  /** [slot, leaf] of non-empty order slots. */
  orders: [number, bigint][];
  /** Derivatives collateral and positions (circuits/DERIVATIVES.md). */
  deriv: DerivAccount;
  /** The instrument in each position slot (null: empty), the layout the derivatives leaf hashes. */
  positionSlots: (number | null)[];
};

export type ExchangeStateSnapshot = {
  root: bigint;
  feePool: bigint;
  accounts: AccountSnapshot[];
  markets: [number, Market][];
  instruments: InstrumentState[];
  globals: Globals;
};

export function snapshotExchangeState(state: ExchangeState): ExchangeStateSnapshot {
  return {
    root: state.root,
    feePool: state.feePool,
    accounts: state.accountIds().map((id) => {
      const a = state.account(id);
      return { id, pubKey: a.pubKey, nonce: a.nonce, balances: state.balances(id), orders: a.orders.leaves(), deriv: a.deriv, positionSlots: [...a.positionSlots] };
    }),
    markets: state.marketIds().map((id) => [id, state.market(id)!]),
    instruments: [...state.instruments],
    globals: { ...state.globals },
  };
}

/**
 * Why `s` is not a snapshot a state of `params` could have written, or null. Rehashing pins every value the root
 * hashes only modulo p, and not at all a position outside the account's slots; so a snapshot from somebody else (a
 * checkpoint, sequencer/verifier/checkpoint.ts) could hold the true root beside other balances (`v + p` hashes as `v`)
 * or positions the leaf does not hash. This refuses both: every value is a whole number of its type, a field element
 * stored whole (keys, order leaves) lies in [0, p), every other in (-2^252, 2^252) (two such values equal modulo p are
 * equal), ids lie within the trees, and an account's non-zero positions are exactly the instruments its slots name.
 */
export function snapshotFault(params: CircuitParams, s: ExchangeStateSnapshot): string | null {
  const field = (v: unknown) => typeof v === "bigint" && v >= 0n && v < FIELD_MODULUS;
  const value = (v: unknown) => typeof v === "bigint" && v > -(1n << 252n) && v < 1n << 252n;
  const small = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v);
  const id = (v: unknown, below: number) => small(v) && (v as number) >= 0 && (v as number) < below;
  const pair = (p: unknown, below: number, ok: (v: unknown) => boolean) => Array.isArray(p) && p.length === 2 && id(p[0], below) && ok(p[1]);
  const num = (v: unknown) => value(v) || small(v);
  if (!field(s.root)) return "root: not a field element";
  if (!value(s.feePool) || s.feePool < 0n) return "feePool: not a balance";
  if (!Array.isArray(s.accounts) || !Array.isArray(s.markets) || !Array.isArray(s.instruments)) return "accounts, markets and instruments must be lists";
  const seen = new Set<number>();
  for (const a of s.accounts) {
    const at = `account ${String(a?.id)}`;
    if (!id(a?.id, 4 ** params.accountLevels) || seen.has(a.id)) return `${at}: not an account id of the tree, or listed twice`;
    seen.add(a.id);
    if (!Array.isArray(a.pubKey) || a.pubKey.length !== 2 || !a.pubKey.every(field)) return `${at}: key coordinates must be field elements`;
    if (!small(a.nonce) || a.nonce < 0) return `${at}: nonce`;
    if (!Array.isArray(a.balances) || !a.balances.every((b) => pair(b, 4 ** params.balanceLevels, (v) => value(v) && (v as bigint) >= 0n))) return `${at}: balances`;
    if (!Array.isArray(a.orders) || !a.orders.every((o) => pair(o, 4 ** params.orderLevels, field))) return `${at}: order leaves`;
    const d = a.deriv;
    if (!d || !value(d.collateral) || !Array.isArray(d.positions) || d.positions.length !== params.instruments) return `${at}: derivatives collateral and one position per instrument`;
    if (!d.positions.every((p) => value(p?.size) && value(p?.snapshot))) return `${at}: positions`;
    const slots = a.positionSlots;
    if (!Array.isArray(slots) || slots.length !== params.positionSlots || !slots.every((k) => k === null || id(k, params.instruments))) return `${at}: position slots`;
    const named = slots.filter((k): k is number => k !== null);
    if (new Set(named).size !== named.length) return `${at}: an instrument in two slots`;
    const held = d.positions.flatMap((p, i) => (p.size !== 0n ? [i] : []));
    if (held.length !== named.length || !held.every((i) => named.includes(i))) return `${at}: its non-zero positions are not the instruments its slots name`;
  }
  for (const m of s.markets) {
    if (!pair(m, 4 ** params.marketLevels, (v) => typeof v === "object" && v !== null)) return "markets: [id, market] within the market tree";
    const { baseTokenId, sizeUnit, priceUnit } = m[1];
    if (!id(baseTokenId, 4 ** params.balanceLevels) || !value(sizeUnit) || !value(priceUnit)) return `market ${m[0]}: fields`;
  }
  if (s.instruments.length !== params.instruments) return `instruments: ${params.instruments} expected`;
  for (const [i, inst] of s.instruments.entries()) {
    for (const [f] of INSTRUMENT_FIELDS) if (!num((inst as Record<string, unknown>)?.[f])) return `instrument ${i}: ${f}`;
  }
  const g = s.globals as Record<string, unknown> | undefined;
  for (const f of ["insuranceFund", "oracleTime", "fundingEpoch", "badDebt", "pooledQuote"]) if (!num(g?.[f])) return `globals: ${f}`;
  return null;
}

/** Rebuilds the state of `snapshot`; throws if the rebuilt root is not the recorded one. */
export function restoreExchangeState(params: CircuitParams, snapshot: ExchangeStateSnapshot): ExchangeState {
  // a snapshot from before the pooled quote was part of the state root (2026-12-05) names a root no batch of this
  // code can continue from: said plainly rather than as a failed hash of a missing field
  if (typeof snapshot.globals.pooledQuote !== "bigint") {
    throw new Error("state snapshot: written before the pooled quote joined the state root (circuits/DERIVATIVES.md \"Pooled quote\"); this version cannot continue it: deploy afresh");
  }
  const state = new ExchangeState(params);
  for (const a of snapshot.accounts) {
    state.setKeyAndNonce(a.id, a.pubKey, a.nonce);
    for (const [token, value] of a.balances) state.setBalance(a.id, token, value);
    for (const [slot, leaf] of a.orders) state.setOrderLeaf(a.id, slot, leaf);
    state.setDeriv(a.id, a.deriv, a.positionSlots);
    state.commitAccount(a.id);
  }
  for (const [id, market] of snapshot.markets) state.setMarket(id, market);
  snapshot.instruments.forEach((inst, id) => state.setInstrument(id, inst));
  state.setGlobals(snapshot.globals);
  state.addFees(snapshot.feePool);
  if (state.root !== snapshot.root) {
    // a snapshot from before the table's commitment became a tree (2026-12-08) hashed the table as a Poseidon chain of
    // its leaves: said plainly rather than as a corrupt snapshot
    if (state.rootWith(poseidonChain(state.instruments.map(instrumentLeaf))) === snapshot.root) {
      throw new Error("state snapshot: written before the instrument table's commitment became a tree (circuits/DERIVATIVES.md H2a); this version cannot continue it: deploy afresh");
    }
    throw new Error(`state snapshot: rebuilt root ${state.root} is not the recorded ${snapshot.root}`);
  }
  return state;
}
