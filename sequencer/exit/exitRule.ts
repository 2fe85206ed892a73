/**
 * THE exodus exit rule (issue 12; circuits/exit/EXIT.md): what one account may withdraw, once, from the
 * custodian's last verified root after exodus began. The exit circuit (circuits/exit/exit.circom) is
 * tested bit-exact against these functions (test/circuits/exit/).
 *
 * An exit claims two things apart:
 *   amount[t]        = spot balance of t, for every token id t (all 4^balanceLevels of them; token 0, the quote, included)
 *   derivativesClaim = max(0, equity)
 *   equity           = collateral
 *                    - sum_i size_i * (fundingIndex_i - snapshot_i)   (funding not yet settled, as a batch settles it)
 *                    + sum_i size_i * exitMark_i
 * with, for instrument i on underlying u, P = the claim's price[u] (the last proven index price, which the
 * custodian stores) and S = its settlePrice (0: not settled):
 *   perpetual:     lotValue(P)
 *   dated future:  lotValue(S) if settled, else lotValue(P)
 *   call:          lotValue(max(X - K, 0)),  put: lotValue(max(K - X, 0)),  X = S if settled, else P
 *   not registered: 0 (no account holds a position in it)
 * lotValue(X) = floor(X * lotSizeE6 / 10^8) (DERIVATIVES.md). Open options count at their intrinsic value
 * at the last proven price: no volatility or time input, so nobody can choose it. Negative equity gives
 * nothing: the debt is nobody's claim.
 *
 * The claim also carries the state's pooled quote (Globals.pooledQuote), the same for every exit from one root.
 * The custodian pays the spot amounts from what it holds (always in full: the batch circuit keeps the pooled
 * quote >= 0, so the spot balances are always backed) and the derivatives claims out of a pot of pooledQuote,
 * pro rata among the claims of the exodus claim window (circuits/exit/EXIT.md "Custody in exodus").
 */
import { Bits, InstrumentKind } from "../protocol/constants.ts";
import { exitTokenCount, type ExitClaim } from "../protocol/exitPublicData.ts";
import type { CircuitParams } from "../protocol/params.ts";
import { settledMark, settleFunding, type DerivAccount, type InstrumentState } from "../derivatives/formulas.ts";
import type { ExchangeState } from "../state/exchangeState.ts";

/** One position as the exit values it (quote units; signed). */
export type ExitPosition = {
  instrumentId: number;
  kind: number;
  size: bigint;
  /** The price the position is valued at: the settlement price if settled, else the claim's price (1e-8 quote). */
  price: bigint;
  settled: boolean;
  /** Value of one lot at `price` (exitMark). */
  mark: bigint;
  /** size * mark. */
  value: bigint;
  /** Funding settled into collateral by the exit: -size * (fundingIndex - snapshot). */
  funding: bigint;
};

/** The whole valuation of one account's exit, term by term, and the amounts it claims. */
export type ExitValuation = {
  accountId: number;
  /** Collateral as stored (before the unsettled funding). */
  collateral: bigint;
  /** Sum of the positions' funding (signed; added to collateral). */
  funding: bigint;
  positions: ExitPosition[];
  /** collateral + funding + sum of position values. */
  equity: bigint;
  /** max(0, equity): the derivatives claim, paid in token 0 out of the pooled quote's pot. */
  derivativesClaim: bigint;
  /** Spot balance per token id. */
  spot: bigint[];
  /** The claim's amount per token id: the spot balance (token 0 included, without the derivatives claim). */
  amounts: bigint[];
};

const AMOUNT_LIMIT = 1n << BigInt(Bits.balance);
const PRICE_LIMIT = 1n << BigInt(Bits.oraclePrice);

/** The price an instrument is valued at in an exit: its settlement price once settled, else `price`. */
export function exitPrice(inst: InstrumentState, price: bigint): bigint {
  return inst.settlePrice !== 0n ? inst.settlePrice : price;
}

/**
 * The exit value of one lot of `inst` when its underlying's last proven price is `price`: the payoff of
 * the instrument at exitPrice (a perpetual and a future at the underlying's value, options at intrinsic
 * value); 0 for an unregistered instrument.
 */
export function exitMark(inst: InstrumentState, price: bigint): bigint {
  if (inst.kind === InstrumentKind.NONE) return 0n;
  return settledMark({ ...inst, settlePrice: exitPrice(inst, price) });
}

/** Throws unless `prices` is one price per underlying in the range a proven batch can have used ([0, 2^50)). */
export function checkExitPrices(prices: readonly bigint[], p: CircuitParams): void {
  if (prices.length !== p.underlyings) throw new RangeError(`an exit needs ${p.underlyings} prices, got ${prices.length}`);
  prices.forEach((v, u) => {
    if (v < 0n || v >= PRICE_LIMIT) throw new RangeError(`price[${u}]=${v} is not a price a proven batch can have used ([0, 2^${Bits.oraclePrice}))`);
  });
}

/**
 * The exit rule on raw data: `spot` balances per token id, the derivatives account `deriv`, the instrument
 * table and the claim's prices. Throws RangeError when an amount or the derivatives claim would not fit the
 * claim (>= 2^128: no such claim can be proven).
 */
export function exitValuationOf(
  accountId: number, spot: readonly bigint[], deriv: DerivAccount, instruments: readonly InstrumentState[], prices: readonly bigint[],
): ExitValuation {
  const settled = settleFunding(deriv, instruments.map((i) => i.fundingIndex));
  const positions = deriv.positions.map((pos, i): ExitPosition => {
    const inst = instruments[i];
    const price = inst.kind === InstrumentKind.NONE ? 0n : exitPrice(inst, prices[inst.underlying]);
    const mark = exitMark(inst, prices[inst.underlying]);
    return {
      instrumentId: i, kind: inst.kind, size: pos.size, price, settled: inst.settlePrice !== 0n, mark,
      value: pos.size * mark, funding: -pos.size * (inst.fundingIndex - pos.snapshot),
    };
  });
  const funding = settled.collateral - deriv.collateral;
  const equity = positions.reduce((e, p) => e + p.value, settled.collateral);
  const derivativesClaim = equity > 0n ? equity : 0n;
  const amounts = [...spot];
  amounts.forEach((a, t) => {
    if (a < 0n || a >= AMOUNT_LIMIT) throw new RangeError(`amount[${t}]=${a} does not fit an exit claim (< 2^${Bits.balance})`);
  });
  if (derivativesClaim >= AMOUNT_LIMIT) throw new RangeError(`derivativesClaim=${derivativesClaim} does not fit an exit claim (< 2^${Bits.balance})`);
  return { accountId, collateral: deriv.collateral, funding, positions, equity, derivativesClaim, spot: [...spot], amounts };
}

/** The exit rule for account `accountId` of `state` (an account never written: all zero) at the claim's `prices`. */
export function exitValuation(state: ExchangeState, accountId: number, prices: readonly bigint[]): ExitValuation {
  checkExitPrices(prices, state.params);
  if (!Number.isInteger(accountId) || accountId < 0 || accountId >= 4 ** state.params.accountLevels) {
    throw new RangeError(`account ${accountId} is outside the account tree (${4 ** state.params.accountLevels} accounts)`);
  }
  const account = state.account(accountId);
  const spot = Array.from({ length: exitTokenCount(state.params) }, (_, t) => state.balance(accountId, t));
  return exitValuationOf(accountId, spot, account.deriv, state.instruments, prices);
}

/** The claim of `valuation` (exitValuation of `state`) against `state`'s root at `prices`: the state's pooled quote, the derivatives claim, the spot amounts. */
export function claimOf(state: ExchangeState, valuation: ExitValuation, prices: readonly bigint[]): ExitClaim {
  return {
    root: state.root, accountId: valuation.accountId, prices: [...prices], pooledQuote: state.globals.pooledQuote,
    derivativesClaim: valuation.derivativesClaim, amounts: valuation.amounts,
  };
}

/** The claim `accountId` makes against `state`'s root at `prices` (exitPublicData.ts's ExitClaim). */
export function exitClaim(state: ExchangeState, accountId: number, prices: readonly bigint[]): ExitClaim {
  return claimOf(state, exitValuation(state, accountId, prices), prices);
}
