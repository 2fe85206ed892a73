/**
 * The one decoder of public data into what the state transition applies: a slot record back to its
 * batch transaction (`txFromRecord`), a batch's oracle section back to its oracle update
 * (`oracleFromSection`). The custodian's queued requests (chain/requests.ts) and the replay of posted
 * batches (verifier/publicDataReplay.ts) both decode through it, so `applyTx` / `applyDerivTx` /
 * `buildBatch` run with `verifySignatures: false` on exactly what the public data says.
 *
 * Public data carries everything that changes the state, but not the parts of a signed message that do
 * not: a TRADE's orders are rebuilt with limit price = the trade price, size = 2^40 - 1 (the order's
 * real size is private; the order-slot leaf only stores the cumulative fill), max fee = the fee charged,
 * no expiry and a dummy signature. What a record leaves out but the state knows (a WITHDRAW's or
 * TRANSFER's nonce, the side a LIQUIDATE's liquidator takes) is read from the state the record applies
 * to, so records must be decoded one at a time, each against the state the previous ones produced.
 * Request records (REGISTER_KEY, DEPOSIT, REGISTER_MARKET, REGISTER_INSTRUMENT) need no state.
 */
import { decompressPublicKey, type Signature } from "../crypto/babyjub.ts";
import { Bits, OrderType, instrumentMarketId, Side, TimeInForce, TxType, type InstrumentKind } from "./constants.ts";
import type { Order, Signed, SignedOracleUpdate } from "./messages.ts";
import type { OracleSection, SlotRecord } from "./publicData.ts";
import type { BatchTx } from "./transactions.ts";

/**
 * What decoding reads of the state a record applies to (ExchangeState satisfies it): the account's
 * nonce and its derivatives positions, and each instrument id's generation (the market id its orders sign).
 */
export type RecordState = {
  account(accountId: number): { readonly nonce: number; readonly deriv: { readonly positions: readonly { readonly size: bigint }[] } };
  readonly instruments: readonly { readonly generation: number }[];
};

const MAX_LOTS = (1n << BigInt(Bits.lots)) - 1n;
const NO_EXPIRY = 2 ** Bits.time - 1;
const DUMMY_SIGNATURE: Signature = { r8x: 0n, r8y: 1n, s: 0n };

/**
 * The transaction that `record` is the public data of, applicable to `state` without signatures.
 * `state` may be left out for request records; any other record that needs it throws.
 */
export function txFromRecord(record: SlotRecord, state?: RecordState): BatchTx {
  const needState = (): RecordState => {
    if (!state) throw new Error(`a record of type ${record.type} needs the state it applies to`);
    return state;
  };
  const stateOf = (accountId: number) => needState().account(accountId);
  // the market id the instrument's orders sign: its generation is the state's (a reused id's is not the first)
  const marketOf = (instrumentId: bigint) => {
    const table = needState().instruments;
    return instrumentMarketId(Number(instrumentId), table[Number(instrumentId)]?.generation ?? 0, table.length);
  };
  switch (record.type) {
    case TxType.NOOP:
      return { type: TxType.NOOP };
    case TxType.REGISTER_KEY:
      return { type: TxType.REGISTER_KEY, accountId: Number(record.accountId), pubKey: decompressPublicKey(record.pubKey) };
    case TxType.DEPOSIT:
      return { type: TxType.DEPOSIT, accountId: Number(record.accountId), tokenId: Number(record.tokenId), amount: record.amount };
    case TxType.REGISTER_MARKET:
      return {
        type: TxType.REGISTER_MARKET, marketId: Number(record.marketId), baseTokenId: Number(record.baseTokenId),
        sizeUnit: record.sizeUnit, priceUnit: record.priceUnit,
      };
    case TxType.TRADE:
    case TxType.DERIV_TRADE: {
      const marketId = record.type === TxType.TRADE ? Number(record.marketId) : marketOf(record.instrumentId);
      const order = (accountId: bigint, orderId: bigint, side: Side, feePpm: bigint): Signed<Order> =>
        replayOrder(accountId, orderId, marketId, side, record.priceTicks, feePpm);
      return {
        type: record.type,
        buy: order(record.buyAccountId, record.buyOrderId, Side.BUY, record.buyFeePpm),
        sell: order(record.sellAccountId, record.sellOrderId, Side.SELL, record.sellFeePpm),
        lots: record.lots,
        priceTicks: record.priceTicks,
        buyFeePpm: Number(record.buyFeePpm),
        sellFeePpm: Number(record.sellFeePpm),
      };
    }
    case TxType.WITHDRAW: {
      const accountId = Number(record.accountId);
      return {
        type: TxType.WITHDRAW,
        request: { accountId, tokenId: Number(record.tokenId), amount: record.amount, nonce: stateOf(accountId).nonce, signature: DUMMY_SIGNATURE },
      };
    }
    case TxType.CANCEL:
      return { type: TxType.CANCEL, request: { accountId: Number(record.accountId), orderId: record.orderId, signature: DUMMY_SIGNATURE } };
    case TxType.OPERATOR_CANCEL:
      return { type: TxType.OPERATOR_CANCEL, accountId: Number(record.accountId), orderId: record.orderId };
    case TxType.LIQUIDATE: {
      // The liquidator takes the other side of the liquidated position, whose sign the state holds.
      const victimLong = stateOf(Number(record.liquidatedAccountId)).deriv.positions[Number(record.instrumentId)]?.size > 0n;
      return {
        type: TxType.LIQUIDATE,
        liquidatedAccountId: Number(record.liquidatedAccountId),
        liquidator: replayOrder(
          record.liquidatorAccountId, record.liquidatorOrderId, marketOf(record.instrumentId),
          victimLong ? Side.BUY : Side.SELL, record.priceTicks, record.liquidatorFeePpm,
        ),
        lots: record.lots,
        priceTicks: record.priceTicks,
        liquidatorFeePpm: Number(record.liquidatorFeePpm),
      };
    }
    case TxType.SETTLE:
      return { type: TxType.SETTLE, accountId: Number(record.accountId), instrumentId: Number(record.instrumentId) };
    case TxType.DELEVERAGE:
      return {
        type: TxType.DELEVERAGE, deleveragedAccountId: Number(record.deleveragedAccountId), counterpartyAccountId: Number(record.counterpartyAccountId),
        instrumentId: Number(record.instrumentId), lots: record.lots, amount: record.amount,
      };
    case TxType.TRANSFER: {
      const accountId = Number(record.accountId);
      return {
        type: TxType.TRANSFER,
        request: { accountId, toCollateral: record.toCollateral === 1n, amount: record.amount, nonce: stateOf(accountId).nonce, signature: DUMMY_SIGNATURE },
      };
    }
    case TxType.REGISTER_INSTRUMENT:
      return {
        type: TxType.REGISTER_INSTRUMENT, instrumentId: Number(record.instrumentId), kind: Number(record.kind) as InstrumentKind,
        underlying: Number(record.underlying), lotSizeE6: record.lotSizeE6, tickValue: record.tickValue, imPpm: record.imPpm,
        mmPpm: record.mmPpm, strike: record.strike, expiry: Number(record.expiry), fundingCapPpm: record.fundingCapPpm,
      };
    case TxType.FORCED_WITHDRAW:
    case TxType.FORCED_COLLATERAL_WITHDRAW:
      // The outcome byte is not part of the request: applying the request decides it again.
      return { type: record.type, accountId: Number(record.accountId), tokenId: Number(record.tokenId), amount: record.amount };
    case TxType.FEE_WITHDRAW:
    case TxType.INSURANCE_WITHDRAW:
      // (accountId and tokenId are 0: the custodian queued them so, and the circuit pins them)
      return { type: record.type, amount: record.amount };
    case TxType.FORCED_CLOSE:
      // The outcome byte is not part of the request: applying the request decides it again.
      return {
        type: TxType.FORCED_CLOSE, accountId: Number(record.accountId), instrumentId: Number(record.instrumentId),
        counterpartyId: Number(record.counterpartyId), lots: record.lots,
      };
  }
}

/** The signed order a trade record implies: limit at the trade price, the widest size, the fee charged, no expiry, a dummy signature. */
function replayOrder(accountId: bigint, orderId: bigint, marketId: number, side: Side, priceTicks: bigint, feePpm: bigint): Signed<Order> {
  return {
    accountId: Number(accountId), orderId, marketId, side, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, priceTicks,
    sizeLots: MAX_LOTS, maxFeePpm: Number(feePpm), expiry: NO_EXPIRY, signature: DUMMY_SIGNATURE,
  };
}

/** The oracle update a batch's oracle section carries, without its signature (the proof vouched for it); null when unused. */
export function oracleFromSection(section: OracleSection): SignedOracleUpdate | null {
  if (!section.used) return null;
  return {
    time: Number(section.time), fundingEpoch: Number(section.fundingEpoch), prices: [...section.prices], volSlices: [...section.volSlices],
    rates: [...section.rates], key: decompressPublicKey(section.key), signature: DUMMY_SIGNATURE,
    settlement: section.settleExpiry === 0n ? null : { expiry: Number(section.settleExpiry), prices: [...section.settlePrices] },
  };
}
