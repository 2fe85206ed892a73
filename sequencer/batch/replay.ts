/**
 * Replay of public data: turns a decoded slot record back into a transaction that `applyTx` /
 * `buildBatch` apply with `verifySignatures: false`, so anyone rebuilding the state from chain data
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
import type { SpotTx } from "./transactions.ts";

const MAX_LOTS = (1n << BigInt(Bits.lots)) - 1n;
const NO_EXPIRY = 2 ** Bits.time - 1;
const DUMMY_SIGNATURE: Signature = { r8x: 0n, r8y: 1n, s: 0n };

/** The transaction that `record` is the public data of, applicable to `state` without signatures. */
export function txFromRecord(record: SlotRecord, state: ExchangeState): SpotTx {
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
    case TxType.TRADE: {
      const order = (accountId: bigint, orderId: bigint, side: Side, feePpm: bigint): Signed<Order> => ({
        accountId: Number(accountId), orderId, marketId: Number(record.marketId), side, type: OrderType.LIMIT,
        timeInForce: TimeInForce.GTC, priceTicks: record.priceTicks, sizeLots: MAX_LOTS, maxFeePpm: Number(feePpm),
        expiry: NO_EXPIRY, signature: DUMMY_SIGNATURE,
      });
      return {
        type: TxType.TRADE,
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
    default:
      // Derivatives records replay with the batch's oracle section; not built yet (circuits/DERIVATIVES.md).
      throw new Error(`replay of ${record.type} records is not supported yet`);
  }
}
