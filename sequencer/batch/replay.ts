/**
 * Replay of public data: turns a decoded slot record back into a transaction that `applyTx` /
 * `applyDerivTx` / `buildBatch` apply with `verifySignatures: false`, so anyone rebuilding the state from chain data
 * runs the exact state-transition code the sequencer runs.
 *
 * Public data carries everything that changes the state, but not the parts of a signed order that do
 * not: a TRADE's orders are rebuilt with limit price = the trade price, size = 2^40 - 1 (the order's
 * real size is private; the order-slot leaf only stores the cumulative fill), max fee = the fee charged,
 * no expiry and a dummy signature. A WITHDRAW's nonce is the account's current nonce in `state`, so
 * records must be converted one at a time, each against the state the previous ones produced.
 */
import { Bits, OrderType, Side, TimeInForce, TxType } from "../protocol/constants.ts";
import type { Order, Signed } from "../protocol/messages.ts";
import type { SlotRecord } from "../protocol/publicData.ts";
import type { ExchangeState } from "../state/exchangeState.ts";
import { decompressPublicKey } from "../chain/requests.ts";
import type { Signature } from "../crypto/babyjub.ts";
import { INSTRUMENT_MARKET_BASE, type InstrumentKind } from "../protocol/constants.ts";
import type { OracleSection } from "../protocol/publicData.ts";
import type { SignedOracleUpdate } from "../derivatives/oracleStep.ts";
import type { BatchTx, SpotTx } from "../protocol/transactions.ts";

const MAX_LOTS = (1n << BigInt(Bits.lots)) - 1n;
const NO_EXPIRY = 2 ** Bits.time - 1;
const DUMMY_SIGNATURE: Signature = { r8x: 0n, r8y: 1n, s: 0n };

/** The transaction that `record` is the public data of, applicable to `state` without signatures. */
export function txFromRecord(record: SlotRecord, state: ExchangeState): BatchTx {
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
      const marketId = record.type === TxType.TRADE ? Number(record.marketId) : INSTRUMENT_MARKET_BASE + Number(record.instrumentId);
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
        request: { accountId, tokenId: Number(record.tokenId), amount: record.amount, nonce: state.account(accountId).nonce, signature: DUMMY_SIGNATURE },
      };
    }
    case TxType.CANCEL:
      return { type: TxType.CANCEL, request: { accountId: Number(record.accountId), orderId: record.orderId, signature: DUMMY_SIGNATURE } };
    case TxType.LIQUIDATE: {
      // The liquidator takes the other side of the liquidated position, whose sign the state holds.
      const victimLong = state.account(Number(record.liquidatedAccountId)).deriv.positions[Number(record.instrumentId)]?.size > 0n;
      return {
        type: TxType.LIQUIDATE,
        liquidatedAccountId: Number(record.liquidatedAccountId),
        liquidator: replayOrder(
          record.liquidatorAccountId, record.liquidatorOrderId, INSTRUMENT_MARKET_BASE + Number(record.instrumentId),
          victimLong ? Side.BUY : Side.SELL, record.priceTicks, record.liquidatorFeePpm,
        ),
        lots: record.lots,
        priceTicks: record.priceTicks,
        liquidatorFeePpm: Number(record.liquidatorFeePpm),
      };
    }
    case TxType.SETTLE:
      return { type: TxType.SETTLE, accountId: Number(record.accountId), instrumentId: Number(record.instrumentId) };
    case TxType.TRANSFER: {
      const accountId = Number(record.accountId);
      return {
        type: TxType.TRANSFER,
        request: { accountId, toCollateral: record.toCollateral === 1n, amount: record.amount, nonce: state.account(accountId).nonce, signature: DUMMY_SIGNATURE },
      };
    }
    case TxType.REGISTER_INSTRUMENT:
      return {
        type: TxType.REGISTER_INSTRUMENT, instrumentId: Number(record.instrumentId), kind: Number(record.kind) as InstrumentKind,
        underlying: Number(record.underlying), lotSizeE6: record.lotSizeE6, tickValue: record.tickValue, imPpm: record.imPpm,
        mmPpm: record.mmPpm, strike: record.strike, expiry: Number(record.expiry), fundingCapPpm: record.fundingCapPpm,
      };
  }
}

function replayOrder(accountId: bigint, orderId: bigint, marketId: number, side: Side, priceTicks: bigint, feePpm: bigint): Signed<Order> {
  return {
    accountId: Number(accountId), orderId, marketId, side, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, priceTicks,
    sizeLots: MAX_LOTS, maxFeePpm: Number(feePpm), expiry: NO_EXPIRY, signature: DUMMY_SIGNATURE,
  };
}

/** The oracle update a batch's oracle section carries, without its signature (the proof vouched for it). */
export function oracleFromSection(section: OracleSection): SignedOracleUpdate | null {
  if (!section.used) return null;
  return {
    time: Number(section.time), fundingEpoch: Number(section.fundingEpoch), prices: [...section.prices], vols: [...section.vols],
    rates: [...section.rates], key: decompressPublicKey(section.key), signature: DUMMY_SIGNATURE,
  };
}
