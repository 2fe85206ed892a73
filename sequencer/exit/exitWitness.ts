/**
 * The exit circuit's witness (circuits/exit/exit.circom) for one account of a state: the claim the
 * custodian will check (exitPublicData.ts), the circuit input (the account's leaf fields, all its
 * balance leaves, its derivatives leaf preimage, its path, each position slot's instrument with its path in the
 * instrument tree, the rest of the state root's preimage and the claim's prices) and the valuation that explains the amounts (exitRule.ts), position by position.
 */
import { exitPublicInputs, type ExitClaim } from "../protocol/exitPublicData.ts";
import { instrumentInputs } from "../protocol/layouts.ts";
import type { CircuitParams } from "../protocol/params.ts";
import { fieldOf } from "../crypto/field.ts";
import type { ExchangeState } from "../state/exchangeState.ts";
import { slotValues } from "../state/positionSlots.ts";
import { claimOf, exitValuation, type ExitValuation } from "./exitRule.ts";

/** The exit circuit's input: decimal strings (signed values as field elements), named as Exit's signals. */
export type ExitInput = Record<string, string | string[] | string[][] | string[][][]>;

/** `publicInputs`: the circuit's public inputs for the claim (exitPublicInputs), what the custodian recomputes. */
export type ExitWitness = { claim: ExitClaim; publicInputs: bigint[]; input: ExitInput; valuation: ExitValuation };

const dec = (v: bigint) => fieldOf(v).toString();

/**
 * The exit of account `accountId` from `state` (its root is the claim's: the custodian's frozen root) at
 * the claim's `prices` (the custodian's last proven index price per underlying). Throws RangeError, and
 * changes nothing, when the parameters differ from the state's, a price or the account id is out of
 * range, or an amount does not fit a claim (exitRule.ts).
 */
export function exitWitness(state: ExchangeState, accountId: number, prices: readonly bigint[], params: CircuitParams = state.params): ExitWitness {
  if (JSON.stringify(params) !== JSON.stringify(state.params)) throw new RangeError("exitWitness: the parameters are not the state's");
  const valuation = exitValuation(state, accountId, prices);
  const claim: ExitClaim = claimOf(state, valuation, prices);
  const publicInputs = exitPublicInputs(claim, params);
  const account = state.account(accountId);
  const g = state.globals;
  const slots = slotValues(account.deriv, account.positionSlots);
  const heldIds = account.positionSlots.map((id) => id ?? 0);
  const input: ExitInput = {
    publicInput: publicInputs.map(String),
    root: claim.root.toString(),
    accountId: String(accountId),
    prices: prices.map(dec),
    pubKeyX: dec(account.pubKey[0]),
    pubKeyY: dec(account.pubKey[1]),
    nonce: String(account.nonce),
    ordersRoot: dec(account.orders.root),
    balances: valuation.spot.map(dec),
    collateral: dec(account.deriv.collateral),
    posId: slots.id.map(dec),
    posSize: slots.size.map(dec),
    posSnap: slots.snap.map(dec),
    siblings: state.accountTree.proof(accountId).map((level) => level.map(dec)),
    marketsRoot: dec(state.marketTree.root),
    feePool: dec(state.feePool),
    instrumentsRoot: dec(state.instrumentsHash()),
    // each slot's instrument and its path (an empty slot reads id 0: HeldInstruments)
    held: heldIds.map((id) => instrumentInputs(state.instruments[id]).map(dec)),
    heldSiblings: heldIds.map((id) => state.instrumentProof(id).map((level) => level.map(dec))),
    insurance: dec(g.insuranceFund),
    oracleTime: String(g.oracleTime),
    fundingEpoch: String(g.fundingEpoch),
    badDebt: dec(g.badDebt),
    pooledQuote: dec(g.pooledQuote),
  };
  return { claim, publicInputs, input, valuation };
}
