/**
 * The public data of an exodus exit claim (issue 12): what the exit circuit's public inputs carry and
 * what the custodian rebuilds from its own storage and the claim's calldata before verifying the proof.
 *
 *   exitPublicData = root(32) ++ accountId(4) ++ price[0..underlyings-1] (7 each) ++ pooledQuote(16)
 *                    ++ derivativesClaim(16) ++ amount[0..maxTokens-1] (16 each)
 *
 * - `root`: the custodian's last verified state root (frozen when exodus began).
 * - `accountId`: the exiting account; the custodian pays its registered owner, once.
 * - `price[u]`: the index price of underlying u in the last batch that used the oracle (the custodian stores
 *   them when it accepts such a batch; 0 before any). They value open positions (circuits/exit/EXIT.md).
 * - `pooledQuote`: the state's pooled quote (Globals.pooledQuote: every account's collateral, funding settled,
 *   plus the insurance fund and the fee pool), proven against the root: every exit from the frozen root carries
 *   the same value. The custodian pays derivatives claims out of a pot of this size, never out of the quote that
 *   backs spot balances.
 * - `derivativesClaim`: the account's derivatives equity floored at 0, paid in the quote token out of that pot.
 * - `amount[t]`: the account's spot balance of token t (token 0, the quote, included; no equity in it).
 * sequencer/exit/exitRule.ts states the rule. All integers are big-endian. The public inputs are the exit public data itself in 31-byte big-endian chunks, the
 * batch's rule (publicInputsOf): 36 at production size, 5 at test size.
 */
import { Bits, ORACLE_PRICE_BYTES } from "./constants.ts";
import type { CircuitParams } from "./params.ts";
import { publicInputCount, publicInputsOf } from "./publicData.ts";

/** Bytes of one claimed amount, of the pooled quote and of the derivatives claim: each is below 2^128 (the circuit range-checks them). */
export const EXIT_AMOUNT_BYTES = Bits.balance / 8;

/** What an exit claims, in the order the public data carries it. */
export type ExitClaim = {
  /** The frozen state root the claim is proven against. */
  root: bigint;
  accountId: number;
  /** Last proven index price per underlying (params.underlyings entries). */
  prices: readonly bigint[];
  /** The state's pooled quote under `root` (the pot every derivatives claim is paid from). */
  pooledQuote: bigint;
  /** max(0, derivatives equity): paid in token 0 out of the pot. */
  derivativesClaim: bigint;
  /** Spot balance per token id (4^params.balanceLevels entries). */
  amounts: readonly bigint[];
};

/** Number of token ids a claim covers: every leaf of the balance tree. */
export function exitTokenCount(p: CircuitParams): number {
  return 4 ** p.balanceLevels;
}

/** Exact byte length of an exit's public data for `p`. */
export function exitPublicDataBytes(p: CircuitParams): number {
  return 32 + 4 + p.underlyings * ORACLE_PRICE_BYTES + 2 * EXIT_AMOUNT_BYTES + exitTokenCount(p) * EXIT_AMOUNT_BYTES;
}

function put(out: Uint8Array, offset: number, bytes: number, value: bigint, name: string): number {
  if (value < 0n || value >= 1n << BigInt(8 * bytes)) throw new RangeError(`${name}=${value} does not fit in ${bytes} bytes`);
  for (let i = bytes - 1; i >= 0; i--) {
    out[offset + i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return offset + bytes;
}

/** Encodes `claim` for parameters `p`; throws when a count or a value does not fit. */
export function encodeExitPublicData(claim: ExitClaim, p: CircuitParams): Uint8Array {
  if (claim.prices.length !== p.underlyings) throw new RangeError(`an exit carries ${p.underlyings} prices, got ${claim.prices.length}`);
  const tokens = exitTokenCount(p);
  if (claim.amounts.length !== tokens) throw new RangeError(`an exit carries ${tokens} amounts, got ${claim.amounts.length}`);
  const out = new Uint8Array(exitPublicDataBytes(p));
  let o = put(out, 0, 32, claim.root, "root");
  o = put(out, o, 4, BigInt(claim.accountId), "accountId");
  claim.prices.forEach((v, u) => (o = put(out, o, ORACLE_PRICE_BYTES, v, `price[${u}]`)));
  o = put(out, o, EXIT_AMOUNT_BYTES, claim.pooledQuote, "pooledQuote");
  o = put(out, o, EXIT_AMOUNT_BYTES, claim.derivativesClaim, "derivativesClaim");
  claim.amounts.forEach((v, t) => (o = put(out, o, EXIT_AMOUNT_BYTES, v, `amount[${t}]`)));
  return out;
}

/** How many public inputs the exit circuit for `p` has (exitPublicInputs). */
export function exitPublicInputCount(p: CircuitParams): number {
  return publicInputCount(exitPublicDataBytes(p));
}

/** The exit circuit's public inputs: the exit public data in 31-byte big-endian chunks (publicInputsOf). */
export function exitPublicInputs(claim: ExitClaim, p: CircuitParams): bigint[] {
  return publicInputsOf(encodeExitPublicData(claim, p));
}
