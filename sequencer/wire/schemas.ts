/**
 * Wire shapes of the network API, validated with zod. Only shapes and protocol widths are checked here
 * (sequencer/protocol/constants.ts Bits); matching, risk, signatures and nonces are the Sequencer's.
 *
 * Encoding: integers that are bigints in the protocol (order ids, prices, sizes, amounts, signature
 * parts) travel as decimal strings ("0" or no leading zero); the others (account, market and token
 * ids, side, type, time in force, fee rates, expiry, nonce) as JSON integers. Unknown keys are refused.
 */
import { z } from "zod";
import { Bits, FIELD_MODULUS, SETTLEMENT_MAX_UNDERLYINGS, type OracleShape } from "../protocol/constants.ts";
import type { Cancel, Order, Signed, StreamAuth, Transfer, Withdrawal } from "../protocol/messages.ts";
import type { Signature } from "../crypto/babyjub.ts";
import type { SignedOracleUpdate } from "../derivatives/oracleStep.ts";

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** A decimal string holding an integer in [0, limit). */
function decimal(limit: bigint, what: string) {
  const maxDigits = limit.toString().length;
  return z
    .string()
    .max(maxDigits, `${what} has more digits than its width allows`)
    .regex(DECIMAL, `${what} must be a decimal string without sign or leading zeros`)
    .transform((s) => BigInt(s))
    .refine((v) => v < limit, `${what} must be below ${limit}`);
}

/** A decimal string of a `bits`-wide unsigned field. */
export const uintString = (bits: number, what: string) => decimal(1n << BigInt(bits), `${what} (${bits} bits)`);

/** A JSON integer of a `bits`-wide unsigned field (bits <= 32). */
export const uint = (bits: number) => z.number().int().min(0).max(2 ** bits - 1);

const fieldElement = (what: string) => decimal(FIELD_MODULUS, `${what} (field element)`);

export const SignatureSchema = z
  .object({ r8x: fieldElement("r8x"), r8y: fieldElement("r8y"), s: fieldElement("s") })
  .strict() satisfies z.ZodType<Signature, z.ZodTypeDef, unknown>;

export const OrderSchema = z
  .object({
    accountId: uint(Bits.accountId),
    orderId: uintString(Bits.orderId, "orderId"),
    marketId: uint(Bits.marketId),
    side: z.union([z.literal(0), z.literal(1)]),
    type: z.union([z.literal(0), z.literal(1)]),
    timeInForce: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]),
    priceTicks: uintString(Bits.priceTicks, "priceTicks"),
    sizeLots: uintString(Bits.lots, "sizeLots"),
    maxFeePpm: uint(Bits.feePpm),
    expiry: uint(Bits.time),
    /** Optional: absent or false is an ordinary order (messages.ts Order.reduceOnly). */
    reduceOnly: z.boolean().optional(),
    /** Optional: a stop (1) or take-profit (2) order's trigger (messages.ts Order.triggerType; docs/client.md 6.8). */
    triggerType: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional(),
    triggerPriceTicks: uintString(Bits.priceTicks, "triggerPriceTicks").optional(),
    signature: SignatureSchema,
  })
  .strict() satisfies z.ZodType<Signed<Order>, z.ZodTypeDef, unknown>;

export const CancelSchema = z
  .object({ accountId: uint(Bits.accountId), orderId: uintString(Bits.orderId, "orderId"), signature: SignatureSchema })
  .strict() satisfies z.ZodType<Signed<Cancel>, z.ZodTypeDef, unknown>;

export const WithdrawalSchema = z
  .object({
    accountId: uint(Bits.accountId),
    tokenId: uint(Bits.tokenId),
    amount: uintString(Bits.amount, "amount"),
    nonce: uint(Bits.nonce),
    signature: SignatureSchema,
  })
  .strict() satisfies z.ZodType<Signed<Withdrawal>, z.ZodTypeDef, unknown>;

/** A signed integer string within +-2^(bits-1) (funding rates). */
const intString = (bits: number, what: string) =>
  z.string().regex(/^-?(0|[1-9][0-9]*)$/, `${what}: a decimal integer`).transform((v) => BigInt(v))
    .refine((v) => v >= -(1n << BigInt(bits - 1)) && v < 1n << BigInt(bits - 1), `${what} (${bits}-bit signed) out of range`);

/** A vol slice (protocol/volSlices.ts): an implied vol and its skew for one (underlying, expiry); an unused entry is all zero. */
const VolSliceSchema = z
  .object({
    // below SETTLEMENT_MAX_UNDERLYINGS, what the slice's word in the oracle message packs (sliceWord; until 2026-12-07
    // 0..255 passed here and the hash threw: 500 INTERNAL)
    underlying: z.number().int().min(0).max(SETTLEMENT_MAX_UNDERLYINGS - 1),
    expiry: uint(Bits.time),
    levelPpm: uintString(Bits.volPpm, "vol level"),
    slopePpm: intString(Bits.volSlope, "vol slope"),
  })
  .strict();

/**
 * A signed oracle update (prices per underlying, a vol slice per option instrument id, funding rates per instrument,
 * optionally a named expiry's prices).
 */
export const OracleUpdateSchema = (params: OracleShape) =>
  z
    .object({
      time: uint(Bits.time),
      fundingEpoch: uint(Bits.time),
      prices: z.array(uintString(Bits.oraclePrice, "price")).length(params.underlyings),
      volSlices: z.array(VolSliceSchema).length(params.optionInstruments),
      rates: z.array(intString(Bits.fundingRate, "rate")).length(params.instruments),
      // an expiry the update names, with every underlying's index price at it (absent or null: none)
      settlement: z
        .object({ expiry: uint(Bits.time).refine((e) => e > 0, "settlement expiry: positive"), prices: z.array(uintString(Bits.oraclePrice, "settlement price")).length(params.underlyings) })
        .strict()
        .nullable()
        .optional(),
      key: z.tuple([fieldElement("key x"), fieldElement("key y")]),
      signature: SignatureSchema,
    })
    .strict() satisfies z.ZodType<SignedOracleUpdate, z.ZodTypeDef, unknown>;

export const TransferSchema = z
  .object({
    accountId: uint(Bits.accountId),
    toCollateral: z.boolean(),
    amount: uintString(Bits.amount, "amount"),
    nonce: uint(Bits.nonce),
    signature: SignatureSchema,
  })
  .strict() satisfies z.ZodType<Signed<Transfer>, z.ZodTypeDef, unknown>;

/** Path parameters and query strings arrive as strings. */
const idParam = (bits: number, what: string) => uintString(bits, what).transform((v) => Number(v));

export const MarketParamsSchema = z.object({ id: idParam(Bits.marketId, "market id") }).strict();
export const AccountParamsSchema = z.object({ id: idParam(Bits.accountId, "account id") }).strict();
export const AccountOrderParamsSchema = z
  .object({ id: idParam(Bits.accountId, "account id"), orderId: uintString(Bits.orderId, "orderId") })
  .strict();

export const MAX_BOOK_LEVELS = 100;
export const BookQuerySchema = z
  .object({
    levels: z
      .string()
      .regex(/^[1-9][0-9]{0,2}$/, "levels must be a positive integer")
      .transform((s) => Number(s))
      .refine((n) => n <= MAX_BOOK_LEVELS, `levels must be at most ${MAX_BOOK_LEVELS}`)
      .optional(),
  })
  .strict();

/** Most orders (or cancels) in one batch request; a batch is validated whole before any of it runs. */
export const MAX_BATCH_ITEMS = 100;
/**
 * 1 to MAX_BATCH_ITEMS items of `item`, the count checked before any item is: a body of tens of thousands of junk
 * items is refused at its length, not item by item (that cost seconds of the event loop and an error listing
 * hundreds of thousands of issues).
 */
const batchOf = <T extends z.ZodTypeAny>(item: T) => z.array(z.unknown()).min(1).max(MAX_BATCH_ITEMS).pipe(z.array(item));
export const OrderBatchSchema = z.object({ orders: batchOf(OrderSchema) }).strict();
export const CancelBatchSchema = z.object({ cancels: batchOf(CancelSchema) }).strict();

export const MAX_LIST_LIMIT = 1000;
const limitParam = z
  .string()
  .regex(/^[1-9][0-9]{0,3}$/, "limit must be a positive integer")
  .transform((s) => Number(s))
  .refine((n) => n <= MAX_LIST_LIMIT, `limit must be at most ${MAX_LIST_LIMIT}`);
export const OrdersQuerySchema = z
  .object({ status: z.enum(["open", "filled", "cancelled"]).optional(), limit: limitParam.optional() })
  .strict();
export const FillsQuerySchema = z
  .object({ limit: limitParam.optional(), before: uintString(53, "before").transform((v) => Number(v)).optional() })
  .strict();
export const BatchesQuerySchema = z.object({ limit: limitParam.optional() }).strict();
export const BatchParamsSchema = z.object({ n: idParam(32, "batch number") }).strict();
export const KeyQuerySchema = z.object({ keyIndex: idParam(32, "keyIndex").optional() }).strict();

export const StreamAuthSchema = z
  .object({ accountId: uint(Bits.accountId), challenge: uintString(128, "challenge"), signature: SignatureSchema })
  .strict() satisfies z.ZodType<Signed<StreamAuth>, z.ZodTypeDef, unknown>;

/** A client's request id on the stream, echoed in the answer. */
const requestId = z.union([z.string().min(1).max(64), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)]);

/** Messages a stream client sends on /v1/stream (stream.ts documents them). */
export const StreamRequestSchema = z.discriminatedUnion("op", [
  z
    .object({
      op: z.literal("subscribe"),
      channel: z.literal("market"),
      marketId: uint(Bits.marketId),
      levels: z.number().int().min(1).max(MAX_BOOK_LEVELS).optional(),
    })
    .strict(),
  z.object({ op: z.literal("unsubscribe"), channel: z.literal("market"), marketId: uint(Bits.marketId) }).strict(),
  z.object({ op: z.literal("snapshot"), marketId: uint(Bits.marketId) }).strict(),
  z.object({ op: z.literal("batches"), subscribe: z.boolean() }).strict(),
  z.object({ op: z.literal("auth"), accountId: uint(Bits.accountId), signature: z.unknown() }).strict(),
  z.object({ op: z.literal("order"), id: requestId, order: z.unknown() }).strict(),
  z.object({ op: z.literal("cancel"), id: requestId, cancel: z.unknown() }).strict(),
]);
export type StreamRequest = z.infer<typeof StreamRequestSchema>;

/** JSON.stringify replacer: bigints as decimal strings. */
export function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, bigintReplacer);
}
