/**
 * The protocol's shared encoding: transaction types, field widths, record layout, hash domains.
 * This file is the single source of truth. The circuit's constants (circuits/generated/protocol.circom)
 * and the contracts' (contracts/generated/ProtocolConstants.sol) are generated from it by
 * scripts/build/genCircomProtocol.ts; the Solidity decoder is tested against publicData.ts.
 */

/** BN254 scalar field (defined with the hashes and curves that live in it, sequencer/crypto/field.ts). */
export { FIELD_MODULUS } from "../crypto/field.ts";

/** Transaction type, the first byte of every slot record. */
export const TxType = {
  NOOP: 0,
  REGISTER_KEY: 1,
  DEPOSIT: 2,
  REGISTER_MARKET: 3,
  TRADE: 4,
  WITHDRAW: 5,
  CANCEL: 6,
  DERIV_TRADE: 7,
  LIQUIDATE: 8,
  SETTLE: 9,
  TRANSFER: 10,
  REGISTER_INSTRUMENT: 11,
  /** A forced withdrawal of a spot balance, queued on the custodian by the account's owner (issue 12). */
  FORCED_WITHDRAW: 12,
  /** A forced withdrawal of derivatives collateral (quote), queued like FORCED_WITHDRAW; a derivatives slot proves it. */
  FORCED_COLLATERAL_WITHDRAW: 13,
  /**
   * The fee pool paid out to the custodian's fee recipient: queued on the custodian by its operator, honoured
   * exactly when the pool covers the amount (a spot slot proves it; the custodian names the recipient).
   */
  FEE_WITHDRAW: 14,
  /**
   * The insurance fund paid out to the custodian's insurance recipient: queued like FEE_WITHDRAW, honoured
   * exactly when what the fund keeps still covers the open bad debt (a derivatives slot proves it).
   */
  INSURANCE_WITHDRAW: 15,
  /**
   * An order the exchange cancelled without the trader's signature: its risk engine found the account's
   * balance or margin no longer covers it (CancelReason UNCOVERED). Proven like CANCEL on the order's storage
   * slot, so the operator can never fill it later within its signed limits (issue 15); a spot slot proves it.
   */
  OPERATOR_CANCEL: 16,
  /**
   * Auto-deleveraging: a bankrupt account whose deficit the insurance fund cannot cover passes `lots` of a
   * position to an account on the other side at the mark, and that account pays `amount` of the deficit
   * (never more than what the fund cannot cover, never past its own solvency). Unsigned, chosen by the
   * operator within the proven rule (circuits/DERIVATIVES.md, "DELEVERAGE"); a derivatives slot proves it (issue 15).
   */
  DELEVERAGE: 17,
  /**
   * A forced close: the account's owner queues on the custodian a close of `lots` of its position in an instrument
   * against a named account holding the other side, at the batch's mark (circuits/DERIVATIVES.md, "FORCED_CLOSE").
   * Honoured exactly when both positions hold the lots; a derivatives slot proves it, in a batch with an oracle
   * update. So a trader whose closing orders the operator never matches can still leave its positions.
   */
  FORCED_CLOSE: 18,
} as const;
export type TxType = (typeof TxType)[keyof typeof TxType];

/** Types a spot slot proves (circuits/batch/slot.circom). */
export const SPOT_TX_TYPES = [
  TxType.NOOP, TxType.REGISTER_KEY, TxType.DEPOSIT, TxType.REGISTER_MARKET, TxType.TRADE, TxType.WITHDRAW, TxType.CANCEL, TxType.FORCED_WITHDRAW,
  TxType.FEE_WITHDRAW, TxType.OPERATOR_CANCEL,
] as const;
/** Types a derivatives slot proves (circuits/derivatives/derivSlot.circom); NOOP is both. */
export const DERIV_TX_TYPES = [
  TxType.NOOP, TxType.DERIV_TRADE, TxType.LIQUIDATE, TxType.SETTLE, TxType.TRANSFER, TxType.REGISTER_INSTRUMENT, TxType.FORCED_COLLATERAL_WITHDRAW,
  TxType.INSURANCE_WITHDRAW, TxType.DELEVERAGE, TxType.FORCED_CLOSE,
] as const;
export type SpotTxType = (typeof SPOT_TX_TYPES)[number];
export type DerivTxType = (typeof DERIV_TX_TYPES)[number];

/** Request types are queued on-chain and consumed in order by batches. */
export const REQUEST_TYPES: readonly TxType[] = [
  TxType.REGISTER_KEY, TxType.DEPOSIT, TxType.REGISTER_MARKET, TxType.REGISTER_INSTRUMENT, TxType.FORCED_WITHDRAW, TxType.FORCED_COLLATERAL_WITHDRAW,
  TxType.FEE_WITHDRAW, TxType.INSURANCE_WITHDRAW, TxType.FORCED_CLOSE,
];

/**
 * Requests with an outcome: forced withdrawals (queued by an account's owner on the custodian when the operator
 * does not serve it) and the treasury's withdrawals of the fee pool and the insurance fund (queued by the
 * custodian's operator, paid to the recipients the custodian names; accountId and tokenId 0). The queued record
 * carries `honoured = 0`; the batch's record carries the outcome the circuit proves (1: paid, 0: refused
 * because the state cannot honour it), and the custodian hashes the record into the request chain with that
 * byte cleared (FORCED_OUTCOME_OFFSET), so the outcome is the circuit's, never the operator's.
 */
export const FORCED_REQUEST_TYPES: readonly TxType[] = [
  TxType.FORCED_WITHDRAW, TxType.FORCED_COLLATERAL_WITHDRAW, TxType.FEE_WITHDRAW, TxType.INSURANCE_WITHDRAW, TxType.FORCED_CLOSE,
];
/**
 * The forced requests a derivatives slot judges at its batch's marks (FORCED_COLLATERAL_WITHDRAW, FORCED_CLOSE): the
 * circuit serves them only in a batch with an oracle update, so the sequencer holds them until a fresh one.
 */
export const JUDGED_AT_MARKS_TYPES: readonly TxType[] = [TxType.FORCED_COLLATERAL_WITHDRAW, TxType.FORCED_CLOSE];
/** The treasury's withdrawals (FEE_WITHDRAW, INSURANCE_WITHDRAW): outcome requests of no account. */
export const TREASURY_REQUEST_TYPES: readonly TxType[] = [TxType.FEE_WITHDRAW, TxType.INSURANCE_WITHDRAW];
/**
 * Byte offset of `honoured` in a forced request's record: type(1) accountId(4) tokenId(2) amount(12); FORCED_CLOSE's
 * record has the same shape (instrumentId(2) counterpartyId(4) lots(8) where tokenId and amount are).
 */
export const FORCED_OUTCOME_OFFSET = 19;

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
  // derivatives (circuits/DERIVATIVES.md); "signed" widths hold values in [-2^(n-1), 2^(n-1))
  instrumentId: 16,
  collateral: 128, // signed
  positionSize: 48, // signed
  fundingIndex: 64, // signed
  fundingRate: 24, // signed, ppm per funding period
  oraclePrice: 50, // 1e-8 quote per underlying, >= 2^16 when used
  volPpm: 23, // >= 2^13 when used
  volSlope: 24, // signed, ppm of vol per 1.00 of moneyness (a vol slice's skew)
  lotSize: 40, // 1e-6 underlying units per lot: up to about 1.1e6 whole units, REGISTER_INSTRUMENT's 5 bytes
  tickValue: 48,
  ppm: 20, // a rate in ppm, <= 10^6
  instrumentKind: 8,
  underlying: 8,
} as const;

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
/** Whether an order never rests in the book: a MARKET order, or an IOC or FOK one (the engine cancels or kills what it does not fill at once). */
export function neverRests(o: { type: OrderType; timeInForce: TimeInForce }): boolean {
  return o.type === OrderType.MARKET || o.timeInForce === TimeInForce.IOC || o.timeInForce === TimeInForce.FOK;
}

/**
 * An order's trigger (stop and take-profit orders, derivatives only): signed with the order, held by the
 * sequencer until the instrument's mark crosses the trigger price, then placed (docs/client.md 6.8).
 * STOP: a buy when the mark rises to the trigger or above, a sell when it falls to it or below;
 * TAKE_PROFIT: the other way round. Not proven by the circuit (circuits/DERIVATIVES.md, "Left out").
 */
export const TriggerType = { NONE: 0, STOP: 1, TAKE_PROFIT: 2 } as const;
export type TriggerType = (typeof TriggerType)[keyof typeof TriggerType];

/** Domain tags: the first Poseidon input of each signed message, so a signature of one kind is never valid as another. */
export const Domain = { ORDER: 1n, WITHDRAW: 2n, CANCEL: 3n, TRANSFER: 4n, ORACLE: 5n } as const;

/** Derivative instrument kinds (circuits/DERIVATIVES.md, "Instruments"). 0: not registered. */
export const InstrumentKind = { NONE: 0, PERPETUAL: 1, FUTURE: 2, CALL: 3, PUT: 4 } as const;
export type InstrumentKind = (typeof InstrumentKind)[keyof typeof InstrumentKind];

/**
 * Orders on derivative instrument i sign marketId = INSTRUMENT_MARKET_BASE + i + N * generation (spot ids are
 * below it), where N is the number of instrument ids and `generation` counts how often id i was registered
 * before (0 for its first instrument): an order signed for an instrument can never fill a later instrument
 * that reuses its id (DERIVATIVES.md "Reusing an id").
 */
export const INSTRUMENT_MARKET_BASE = 0x8000;
/** The largest market id an order can sign (16 bits): an id's generations stop where its market id would pass it. */
export const MAX_INSTRUMENT_MARKET_ID = 0xffff;

/** The market id orders on instrument `id` of generation `generation` sign, with `instruments` ids (INSTRUMENT_MARKET_BASE). */
export function instrumentMarketId(id: number, generation: number, instruments: number): number {
  return INSTRUMENT_MARKET_BASE + id + instruments * generation;
}

/** The instrument id and generation a derivatives market id names (`instrumentMarketId` inverted); null for a spot market id. */
export function marketInstrument(marketId: number, instruments: number): { id: number; generation: number } | null {
  if (marketId < INSTRUMENT_MARKET_BASE || instruments <= 0) return null;
  const offset = marketId - INSTRUMENT_MARKET_BASE;
  return { id: offset % instruments, generation: Math.floor(offset / instruments) };
}
/** The deepest market tree: its 4^7 = 2^14 ids stay below INSTRUMENT_MARKET_BASE. */
export const MAX_MARKET_LEVELS = 7;
/**
 * The deepest account tree: its 4^12 = 2^24 ids fit REGISTER_KEY's 3-byte account id (RECORD_LAYOUT; the record
 * also carries a 32-byte key). Other records carry 4-byte account ids (Bits.accountId).
 */
export const MAX_ACCOUNT_LEVELS = 12;
/** Parts per million: fee rates (of the quote notional, rounded up: never in the trader's favour), margin rates, funding rates and the liquidation constants below. */
export const PPM = 1_000_000n;
/** Oracle prices are in 1e-8 quote per whole underlying unit; lot sizes in 1e-6 underlying units. */
export const PRICE_SCALE = 100_000_000n;
/** An oracle update may be at most this many seconds older than the batch timestamp. */
export const MAX_ORACLE_AGE = 300;
/**
 * An order that never rests (MARKET, IOC or FOK) and carries no trigger is filled only in a batch stamped at most this
 * many seconds before its expiry (the circuit's OrderTime; intake refuses one whose expiry is further away than this
 * from its arrival, IMMEDIATE_EXPIRY_TOO_FAR). The engine cancels what such an order leaves unfilled without a proven
 * cancel (RULES.md G12): this bounds, in the proof, how long after its arrival the operator could still fill it.
 */
export const IMMEDIATE_ORDER_TTL = 600;
/** Bits of a value in [0, IMMEDIATE_ORDER_TTL]: the circuit's range check of `timestamp + IMMEDIATE_ORDER_TTL - expiry`. */
export const IMMEDIATE_ORDER_TTL_BITS = IMMEDIATE_ORDER_TTL.toString(2).length;
/** A liquidation's price per lot must be within this band around the mark. */
export const LIQ_BAND_PPM = 50_000n;
/** Penalty a liquidated account pays into the insurance fund, per lot, as a share of the mark. */
export const LIQ_PENALTY_PPM = 10_000n;
/** Risk-free rate of the Black-Scholes marks, ppm per year (configured: one value per circuit). */
export const RISK_FREE_RATE_PPM = 0n;
/**
 * A dated instrument settles at the first oracle update signed at or after its expiry that names the
 * expiry (carrying the oracle's prices at it, any time later), or else at an update's own price only when
 * signed at most this many seconds after the expiry (circuits/DERIVATIVES.md, "Expiry"). A later update
 * without the expiry named leaves the instrument unsettled and expired; it never blocks the update.
 */
export const SETTLEMENT_WINDOW = 3600;
/**
 * Seconds after exodus begins during which exits record their derivatives claims instead of being paid them: at
 * the window's end every recorded claim is paid `claim * min(1, pot / recorded claims)` (`claimDerivatives`), so
 * when accounts under water owe more than the insurance fund and the fee pool keep, every claimant of the window
 * takes the same share of the loss instead of the last ones all of it (circuits/exit/EXIT.md, "Custody in
 * exodus"). Spot balances are paid at once whatever the window. Fourteen days: an exit proof takes seconds on a
 * laptop, so the window is for noticing exodus and getting a transaction in, under congestion too; a longer one
 * delays every derivatives payout.
 */
export const EXODUS_CLAIM_WINDOW = 14 * 86400;
/**
 * The oracle message packs the named expiry and one settlement price per underlying into one field element
 * (expiry | price_u << (32 + 50u)): at most this many underlyings keep it below 2^254.
 */
export const SETTLEMENT_MAX_UNDERLYINGS = 4;
/**
 * The most instrument ids a circuit's table holds: every batch marks all of it, and the custodian keeps the free ids
 * in a 64-bit mask. The table is committed as a quad tree's root (state/instrumentTable.ts), so only the circuit's
 * size bounds a table below this (circuits/DERIVATIVES.md, "At exchange scale": a tree of 1,024 with a marked set is
 * the next step).
 */
export const MAX_TABLE_INSTRUMENTS = 64;
/** The smallest oracle price (and option strike) the circuit accepts: Black-Scholes' domain is [2^16, 2^50). */
export const MIN_ORACLE_PRICE = 1n << 16n;
/** The smallest implied volatility (ppm) the circuit accepts: Black-Scholes' domain is [2^13, 2^23). */
export const MIN_VOL_PPM = 1n << 13n;
/** The largest oracle price the circuit accepts (1e-8 quote per underlying). */
export const MAX_ORACLE_PRICE = (1n << BigInt(Bits.oraclePrice)) - 1n;
/** The funding index absorbs at least 2^FUNDING_HORIZON_BITS ticks at any rate within a cap and any oracle price. */
export const FUNDING_HORIZON_BITS = 20;
/**
 * Registration rule of every instrument: `fundingCapPpm * lotSizeE6 * MAX_ORACLE_PRICE < FUNDING_CAP_BOUND`,
 * i.e. the largest funding step, `cap * lotValue(MAX_ORACLE_PRICE) / 10^6`, is below
 * 2^(64 - 1 - FUNDING_HORIZON_BITS) = 2^43 in magnitude, so 2^20 worst-case ticks keep the signed 64-bit
 * index in range. The circuit (REGISTER_INSTRUMENT), the witness builder (fundingCapFits) and the
 * custodian (RegistrationRules.checkInstrument) apply it; test/circuits/derivatives/registrationRule.test.ts checks they agree.
 */
export const FUNDING_CAP_BOUND = (1n << BigInt(Bits.fundingIndex - 1 - FUNDING_HORIZON_BITS)) * PPM * PRICE_SCALE;

/**
 * Domain tags of messages a trading key signs for the API only, never verified in-circuit (so not in
 * `Domain`, from which the circuit's constants are generated): a signature of these is never valid as
 * an order, withdrawal or cancel, nor the other way round.
 */
export const ApiDomain = { STREAM_AUTH: 256n } as const;

/**
 * Bytes of one slot record in the public data (every slot has the same size): the longest layouts, REGISTER_KEY
 * (a 3-byte account id and a 32-byte key, so MAX_ACCOUNT_LEVELS) and REGISTER_INSTRUMENT, fill it after the type byte.
 * 36 rather than 37 lets 15 records (11 spot + 4 derivatives slots) and the production header and oracle section
 * fit 12 SHA-256 blocks (759 bytes; README.md "Production size").
 */
export const RECORD_BYTES = 36;
/** Bytes of the public-data header: oldRoot(32) newRoot(32) batchNumber(4) timestamp(4). */
export const HEADER_BYTES = 72;
/**
 * Oracle section: oracleUsed(1) oracleKey(32) oracleTime(4) fundingEpoch(4), then price(7) per underlying,
 * a vol slice(11) per option instrument id (underlying(1) expiry(4) levelPpm(3) slopePpm + 2^23 (3): the oracle's implied vol
 * per (underlying, expiry) with its skew, DERIVATIVES.md "Vol slices"), rate(3) per instrument,
 * then the named expiry settleExpiry(4) (0: none) and settlePrice(7) per underlying (the oracle's prices at it),
 * then marksKey(32) (0, or the marks registry's key of the marking proof whose marks the batch read: DERIVATIVES.md
 * "Reading marks in the batch"), then freeInstruments: ceil(N / 8) bytes, a big-endian mask whose bit i (value 2^i) is set when instrument id i
 * is free after the batch (never registered, or settled with no open position), which the custodian reads to
 * hand out ids again (freeMaskBytes).
 */
export const ORACLE_FIXED_BYTES = 41;
export const ORACLE_PRICE_BYTES = 7;
/** One vol slice: underlying(1) expiry(4) levelPpm(3) slopePpm + 2^23 (3), the big-endian bytes of its message word (volSurface.ts#sliceWord). */
export const ORACLE_SLICE_BYTES = 11;
export const ORACLE_RATE_BYTES = 3;
export const ORACLE_SETTLE_EXPIRY_BYTES = 4;
/** The oracle section's marksKey: Poseidon(messageHash, marksRoot) of the marking the batch read its option marks from, or 0. */
export const ORACLE_MARKS_KEY_BYTES = 32;
/**
 * A batch's public inputs, and an exit claim's, are its public data cut into chunks of this many bytes, each read as a big-endian integer
 * (the last chunk shorter when the length is not a multiple): 31 bytes (248 bits) is the most that always fits the
 * field. The circuit packs its public-data bits into them instead of hashing them (SHA-256 cost about 25,600
 * constraints per 64 bytes); the verifier pays one elliptic-curve multiplication per input per transaction.
 */
export const PUBLIC_INPUT_CHUNK_BYTES = 31;

/**
 * What sizes the oracle section and message: underlyings (a price each), option instrument ids (a vol slice each: the
 * oracle's table holds one per option id, so every listed option finds its (underlying, expiry)), instruments (a rate each).
 */
export type OracleShape = { readonly underlyings: number; readonly optionInstruments: number; readonly instruments: number };

/** Bytes of the oracle section of shape `s`. */
export function oracleSectionBytes(s: OracleShape): number {
  return oracleCoreBytes(s) + freeMaskBytes(s.instruments);
}

/** Bytes of the oracle section of shape `s` before its closing mask of free ids (what the circuit's OracleStep writes; linear in the shape). */
export function oracleCoreBytes(s: OracleShape): number {
  return ORACLE_FIXED_BYTES + s.underlyings * ORACLE_PRICE_BYTES + s.optionInstruments * ORACLE_SLICE_BYTES + s.instruments * ORACLE_RATE_BYTES
    + ORACLE_SETTLE_EXPIRY_BYTES + s.underlyings * ORACLE_PRICE_BYTES + ORACLE_MARKS_KEY_BYTES;
}

/** Bytes of the oracle section's closing mask of free instrument ids: ceil(instruments / 8). */
export function freeMaskBytes(instruments: number): number {
  return Math.ceil(instruments / 8);
}
