/**
 * Wire shapes of the network API, validated with zod. Only shapes and protocol widths are checked here
 * (sequencer/protocol/constants.ts Bits); matching, risk, signatures and nonces are the Sequencer's.
 *
 * Encoding: integers that are bigints in the protocol (order ids, prices, sizes, amounts, signature
 * parts) travel as decimal strings ("0" or no leading zero); the others (account, market and token
 * ids, side, type, time in force, fee rates, expiry, nonce) as JSON integers. Unknown keys are refused.
 */
import { z } from "zod";
import { Bits, FIELD_MODULUS } from "../protocol/constants.ts";
import type { Cancel, Order, Signed, Withdrawal } from "../protocol/messages.ts";
import type { Signature } from "../crypto/babyjub.ts";

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

/** Messages a stream client sends on /v1/stream. */
export const StreamRequestSchema = z.discriminatedUnion("op", [
  z
    .object({
      op: z.literal("subscribe"),
      marketId: uint(Bits.marketId),
      levels: z.number().int().min(1).max(MAX_BOOK_LEVELS).optional(),
    })
    .strict(),
  z.object({ op: z.literal("unsubscribe"), marketId: uint(Bits.marketId) }).strict(),
]);
export type StreamRequest = z.infer<typeof StreamRequestSchema>;

/** JSON.stringify replacer: bigints as decimal strings. */
export function bigintReplacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, bigintReplacer);
}
