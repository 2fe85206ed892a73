/**
 * The protocol's shared encoding: transaction types, field widths, record layout, hash domains.
 * This file is the single source of truth. The circuit's constants are generated from it
 * (scripts/build/genCircomConstants.ts) and the Solidity decoder is tested against it.
 */

/** BN254 scalar field: the field of circuit signals and of Baby Jubjub coordinates. */
export const FIELD_MODULUS =
  21888242871839275222246405745257275088548364400416034343698204186575808495617n;

/** Transaction type, the first byte of every slot record. */
export const TxType = {
  NOOP: 0,
  REGISTER_KEY: 1,
  DEPOSIT: 2,
  REGISTER_MARKET: 3,
  TRADE: 4,
  WITHDRAW: 5,
  CANCEL: 6,
} as const;
export type TxType = (typeof TxType)[keyof typeof TxType];

/** Request types are queued on-chain and consumed in order by batches. */
export const REQUEST_TYPES: readonly TxType[] = [TxType.REGISTER_KEY, TxType.DEPOSIT, TxType.REGISTER_MARKET];

/** Bit widths of every integer field. Each is range-checked in the circuit. */
export const Bits = {
  accountId: 32,
  tokenId: 16,
  marketId: 16,
  orderId: 40,
  lots: 40,
  priceTicks: 40,
  feePpm: 16,
  amount: 96,
  balance: 128,
  unit: 64,
  nonce: 32,
  time: 32,
  batchNumber: 32,
} as const;

/** Fees are expressed in parts per million of the quote notional, rounded up (never in the trader's favour). */
export const FEE_DENOMINATOR = 1_000_000n;

/** Token id of the quote asset: every market is BASE/QUOTE, fees are paid in it. */
export const QUOTE_TOKEN_ID = 0;

/** Order side. */
export const Side = { BUY: 0, SELL: 1 } as const;
export type Side = (typeof Side)[keyof typeof Side];

/** Order type: a market order is an IOC order whose limit price is the trader's protection price. */
export const OrderType = { LIMIT: 0, MARKET: 1 } as const;
export type OrderType = (typeof OrderType)[keyof typeof OrderType];

/** Time in force. Signed with the order; enforced by the matching engine. */
export const TimeInForce = { GTC: 0, IOC: 1, FOK: 2, POST_ONLY: 3 } as const;
export type TimeInForce = (typeof TimeInForce)[keyof typeof TimeInForce];

/** Domain tags: the first Poseidon input of each signed message, so a signature of one kind is never valid as another. */
export const Domain = { ORDER: 1n, WITHDRAW: 2n, CANCEL: 3n } as const;

/**
 * Domain tags of messages a trading key signs for the API only, never verified in-circuit (so not in
 * `Domain`, from which the circuit's constants are generated): a signature of these is never valid as
 * an order, withdrawal or cancel, nor the other way round.
 */
export const ApiDomain = { STREAM_AUTH: 256n } as const;

/** Bytes of one slot record in the public data (every slot has the same size). */
export const RECORD_BYTES = 37;
/** Bytes of the public-data header: oldRoot(32) newRoot(32) batchNumber(4) timestamp(4). */
export const HEADER_BYTES = 72;
/** The public input is sha256(publicData) with its 3 low bits dropped, so it fits the field. */
export const PUBLIC_INPUT_SHIFT = 3;

/** Total public-data bytes for a batch of `slots` slots. */
export function publicDataBytes(slots: number): number {
  return HEADER_BYTES + slots * RECORD_BYTES;
}
