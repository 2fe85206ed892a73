/**
 * Public data of a batch: a 72-byte header followed by one fixed-size record per slot.
 * All integers are big-endian. The layouts below are the single source of truth for the
 * circuit (which hashes these bytes) and the custodian contract (which parses them).
 */
import { createHash } from "node:crypto";
import { bytesToHex, concatBytes, hexToBytes, keccak256, type Hex } from "viem";
import {
  HEADER_BYTES, ORACLE_FIXED_BYTES, ORACLE_PRICE_BYTES, ORACLE_RATE_BYTES, ORACLE_SETTLE_EXPIRY_BYTES, ORACLE_SLICE_BYTES, ORACLE_MARKS_KEY_BYTES, PUBLIC_INPUT_CHUNK_BYTES, RECORD_BYTES,
  TxType, Bits, freeMaskBytes, oracleSectionBytes, type OracleShape, FORCED_OUTCOME_OFFSET, FORCED_REQUEST_TYPES, REQUEST_TYPES,
} from "./constants.ts";
import { EMPTY_SLICE, SLOPE_OFFSET, sliceOfWord, type VolSlice } from "./volSlices.ts";

/** Field name and byte width, in record order, after the 1-byte type. */
export type FieldLayout = readonly (readonly [name: string, bytes: number])[];

export const RECORD_LAYOUT = {
  [TxType.NOOP]: [],
  [TxType.REGISTER_KEY]: [["accountId", 3], ["pubKey", 32]],
  [TxType.DEPOSIT]: [["accountId", 4], ["tokenId", 2], ["amount", 12]],
  [TxType.REGISTER_MARKET]: [["marketId", 2], ["baseTokenId", 2], ["sizeUnit", 8], ["priceUnit", 8]],
  [TxType.TRADE]: [
    ["buyAccountId", 4], ["buyOrderId", 5], ["sellAccountId", 4], ["sellOrderId", 5], ["marketId", 2],
    ["lots", 5], ["priceTicks", 5], ["buyFeePpm", 2], ["sellFeePpm", 2],
  ],
  [TxType.WITHDRAW]: [["accountId", 4], ["tokenId", 2], ["amount", 12]],
  [TxType.CANCEL]: [["accountId", 4], ["orderId", 5]],
  [TxType.DERIV_TRADE]: [
    ["buyAccountId", 4], ["buyOrderId", 5], ["sellAccountId", 4], ["sellOrderId", 5], ["instrumentId", 2],
    ["lots", 5], ["priceTicks", 5], ["buyFeePpm", 2], ["sellFeePpm", 2],
  ],
  [TxType.LIQUIDATE]: [
    ["liquidatedAccountId", 4], ["liquidatorAccountId", 4], ["liquidatorOrderId", 5], ["instrumentId", 2],
    ["lots", 5], ["priceTicks", 5], ["liquidatorFeePpm", 2],
  ],
  [TxType.SETTLE]: [["accountId", 4], ["instrumentId", 2]],
  [TxType.TRANSFER]: [["accountId", 4], ["toCollateral", 1], ["amount", 12]],
  [TxType.REGISTER_INSTRUMENT]: [
    ["instrumentId", 2], ["kind", 1], ["underlying", 1], ["lotSizeE6", 5], ["tickValue", 6], ["imPpm", 3],
    ["mmPpm", 3], ["strike", 7], ["expiry", 4], ["fundingCapPpm", 3],
  ],
  [TxType.FORCED_WITHDRAW]: [["accountId", 4], ["tokenId", 2], ["amount", 12], ["honoured", 1]],
  [TxType.FORCED_COLLATERAL_WITHDRAW]: [["accountId", 4], ["tokenId", 2], ["amount", 12], ["honoured", 1]],
  [TxType.FEE_WITHDRAW]: [["accountId", 4], ["tokenId", 2], ["amount", 12], ["honoured", 1]],
  [TxType.INSURANCE_WITHDRAW]: [["accountId", 4], ["tokenId", 2], ["amount", 12], ["honoured", 1]],
  [TxType.OPERATOR_CANCEL]: [["accountId", 4], ["orderId", 5]],
  [TxType.DELEVERAGE]: [["deleveragedAccountId", 4], ["counterpartyAccountId", 4], ["instrumentId", 2], ["lots", 5], ["amount", 12]],
  // an outcome request: the custodian queues it as an amount record (tokenId = instrumentId, amount = counterpartyId << 64 | lots)
  [TxType.FORCED_CLOSE]: [["accountId", 4], ["instrumentId", 2], ["counterpartyId", 4], ["lots", 8], ["honoured", 1]],
} as const satisfies Record<TxType, FieldLayout>;

type FieldsOf<L extends FieldLayout> = { [K in L[number][0]]: bigint };

/** A decoded slot record. `pubKey` is the compressed Baby Jubjub key (see babyjub.compressPubKey). */
export type SlotRecord = {
  [T in TxType]: { type: T } & FieldsOf<(typeof RECORD_LAYOUT)[T]>;
}[TxType];

export type BatchHeader = {
  oldRoot: bigint;
  newRoot: bigint;
  batchNumber: bigint;
  timestamp: bigint;
};

function writeUint(out: Uint8Array, offset: number, bytes: number, value: bigint, name: string): void {
  if (value < 0n || value >= 1n << BigInt(8 * bytes)) {
    throw new RangeError(`${name}=${value} does not fit in ${bytes} bytes`);
  }
  for (let i = bytes - 1; i >= 0; i--) {
    out[offset + i] = Number(value & 0xffn);
    value >>= 8n;
  }
}

function readUint(data: Uint8Array, offset: number, bytes: number): bigint {
  let v = 0n;
  for (let i = 0; i < bytes; i++) v = (v << 8n) | BigInt(data[offset + i]);
  return v;
}

/** Encodes one slot record to exactly RECORD_BYTES bytes. */
export function encodeRecord(record: SlotRecord): Uint8Array {
  const out = new Uint8Array(RECORD_BYTES);
  out[0] = record.type;
  let offset = 1;
  const values = record as unknown as Record<string, bigint>;
  for (const [name, bytes] of RECORD_LAYOUT[record.type]) {
    writeUint(out, offset, bytes, values[name], name);
    offset += bytes;
  }
  return out;
}

/** Decodes one slot record; throws on an unknown type or non-zero padding. */
export function decodeRecord(data: Uint8Array): SlotRecord {
  if (data.length !== RECORD_BYTES) throw new RangeError(`record must be ${RECORD_BYTES} bytes`);
  const type = data[0] as TxType;
  const layout: FieldLayout | undefined = RECORD_LAYOUT[type];
  if (layout === undefined) throw new Error(`unknown transaction type ${type}`);
  const record: Record<string, bigint | number> = { type };
  let offset = 1;
  for (const [name, bytes] of layout) {
    record[name] = readUint(data, offset, bytes);
    offset += bytes;
  }
  for (; offset < RECORD_BYTES; offset++) {
    if (data[offset] !== 0) throw new Error(`non-zero padding in record of type ${type}`);
  }
  return record as unknown as SlotRecord;
}

export function encodeHeader(h: BatchHeader): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  writeUint(out, 0, 32, h.oldRoot, "oldRoot");
  writeUint(out, 32, 32, h.newRoot, "newRoot");
  writeUint(out, 64, 4, h.batchNumber, "batchNumber");
  writeUint(out, 68, 4, h.timestamp, "timestamp");
  return out;
}

export function decodeHeader(data: Uint8Array): BatchHeader {
  return {
    oldRoot: readUint(data, 0, 32),
    newRoot: readUint(data, 32, 32),
    batchNumber: readUint(data, 64, 4),
    timestamp: readUint(data, 68, 4),
  };
}

/**
 * The oracle section of a batch (circuits/DERIVATIVES.md, "Oracle update"): the signed prices (one per
 * underlying), vol slices (the oracle's table, protocol/volSlices.ts) and funding rates (one per instrument) the batch used.
 * `used = false` means a batch without derivatives activity; every other field is then 0. Rates are signed
 * ppm, encoded as rate + 2^23.
 */
export type OracleSection = {
  used: boolean;
  /** Compressed oracle key, y | signX << 255. */
  key: bigint;
  time: bigint;
  fundingEpoch: bigint;
  prices: bigint[];
  volSlices: VolSlice[];
  rates: bigint[];
  /** The expiry the update names (0: none) and every underlying's price at it (0s when none). */
  settleExpiry: bigint;
  settlePrices: bigint[];
  /**
   * Not the oracle's: 0, or the key under which the marks registry recorded the marking proof the batch read its option
   * marks from (derivatives/marking.ts#marksKey: Poseidon(oracle message hash, marks root)). The custodian refuses a
   * batch whose key is not 0 and not recorded (DERIVATIVES.md "Reading marks in the batch").
   */
  marksKey: bigint;
  /**
   * Not the oracle's: the instrument ids free after the batch, bit i (2^i) for id i (never registered, or settled
   * with no open position; `freeInstrumentMask`), which the custodian hands out again. Proven from the batch's final
   * instrument table.
   */
  freeInstruments: bigint;
};

const RATE_OFFSET = 1n << BigInt(Bits.fundingRate - 1);

/** The oracle section of a batch that uses no oracle, of shape `s`. */
export function unusedOracleSection(s: OracleShape): OracleSection {
  return {
    used: false, key: 0n, time: 0n, fundingEpoch: 0n,
    prices: Array(s.underlyings).fill(0n), volSlices: Array.from({ length: s.optionInstruments }, () => EMPTY_SLICE), rates: Array(s.instruments).fill(0n),
    settleExpiry: 0n, settlePrices: Array(s.underlyings).fill(0n), marksKey: 0n, freeInstruments: (1n << BigInt(s.instruments)) - 1n,
  };
}

/** The shape of section `o`: its array lengths. */
function shapeOf(o: OracleSection): OracleShape {
  return { underlyings: o.prices.length, optionInstruments: o.volSlices.length, instruments: o.rates.length };
}

export function encodeOracleSection(o: OracleSection): Uint8Array {
  const out = new Uint8Array(oracleSectionBytes(shapeOf(o)));
  out[0] = o.used ? 1 : 0;
  writeUint(out, 1, 32, o.key, "oracleKey");
  writeUint(out, 33, 4, o.time, "oracleTime");
  writeUint(out, 37, 4, o.fundingEpoch, "fundingEpoch");
  let at = ORACLE_FIXED_BYTES;
  o.prices.forEach((p, u) => {
    writeUint(out, at, ORACLE_PRICE_BYTES, p, `price[${u}]`);
    at += ORACLE_PRICE_BYTES;
  });
  // A slice's bytes are its signed word, sliceWord (underlying(1) expiry(4) level(3) slope + 2^23 (3)), field by field
  // so that a value past its signed width still encodes (the circuit refuses it, not the encoder).
  o.volSlices.forEach((v, e) => {
    writeUint(out, at, 1, BigInt(v.underlying), `volSlice[${e}].underlying`);
    writeUint(out, at + 1, 4, BigInt(v.expiry), `volSlice[${e}].expiry`);
    writeUint(out, at + 5, 3, v.levelPpm, `volSlice[${e}].level`);
    writeUint(out, at + 8, 3, v.slopePpm + SLOPE_OFFSET, `volSlice[${e}].slope`);
    at += ORACLE_SLICE_BYTES;
  });
  o.rates.forEach((r, i) => {
    if (r < -RATE_OFFSET || r >= RATE_OFFSET) throw new RangeError(`rate[${i}]=${r} does not fit ${Bits.fundingRate} signed bits`);
    writeUint(out, at, ORACLE_RATE_BYTES, r + RATE_OFFSET, `rate[${i}]`);
    at += ORACLE_RATE_BYTES;
  });
  if (o.settlePrices.length !== o.prices.length) throw new RangeError("a settlement price per underlying");
  writeUint(out, at, ORACLE_SETTLE_EXPIRY_BYTES, o.settleExpiry, "settleExpiry");
  at += ORACLE_SETTLE_EXPIRY_BYTES;
  o.settlePrices.forEach((p, u) => {
    writeUint(out, at, ORACLE_PRICE_BYTES, p, `settlePrice[${u}]`);
    at += ORACLE_PRICE_BYTES;
  });
  writeUint(out, at, ORACLE_MARKS_KEY_BYTES, o.marksKey, "marksKey");
  at += ORACLE_MARKS_KEY_BYTES;
  if (o.freeInstruments >= 1n << BigInt(o.rates.length)) throw new RangeError(`freeInstruments=${o.freeInstruments} names an id beyond ${o.rates.length}`);
  writeUint(out, at, freeMaskBytes(o.rates.length), o.freeInstruments, "freeInstruments");
  return out;
}

export function decodeOracleSection(data: Uint8Array, s: OracleShape): OracleSection {
  if (data.length !== oracleSectionBytes(s)) throw new RangeError("oracle section of the wrong length");
  if (data[0] > 1) throw new Error(`oracleUsed byte is ${data[0]}`);
  let at = ORACLE_FIXED_BYTES;
  const read = (count: number, bytes: number): bigint[] =>
    Array.from({ length: count }, () => {
      const v = readUint(data, at, bytes);
      at += bytes;
      return v;
    });
  const prices = read(s.underlyings, ORACLE_PRICE_BYTES);
  const volSlices = read(s.optionInstruments, ORACLE_SLICE_BYTES).map(sliceOfWord);
  const rates = read(s.instruments, ORACLE_RATE_BYTES).map((r) => r - RATE_OFFSET);
  const [settleExpiry] = read(1, ORACLE_SETTLE_EXPIRY_BYTES);
  const settlePrices = read(s.underlyings, ORACLE_PRICE_BYTES);
  const [marksKey] = read(1, ORACLE_MARKS_KEY_BYTES);
  const freeInstruments = readUint(data, at, freeMaskBytes(s.instruments));
  if (freeInstruments >= 1n << BigInt(s.instruments)) throw new Error(`freeInstruments=${freeInstruments} names an id beyond ${s.instruments}`);
  return {
    used: data[0] === 1, key: readUint(data, 1, 32), time: readUint(data, 33, 4), fundingEpoch: readUint(data, 37, 4), prices, volSlices, rates,
    settleExpiry, settlePrices, marksKey, freeInstruments,
  };
}

/** Header, oracle section, then the records (spot slots, then derivatives slots): the bytes posted on-chain and hashed into the public input. */
export function encodePublicData(header: BatchHeader, oracle: OracleSection, records: readonly SlotRecord[]): Uint8Array {
  const o = encodeOracleSection(oracle);
  const out = new Uint8Array(HEADER_BYTES + o.length + records.length * RECORD_BYTES);
  out.set(encodeHeader(header), 0);
  out.set(o, HEADER_BYTES);
  records.forEach((r, i) => out.set(encodeRecord(r), HEADER_BYTES + o.length + i * RECORD_BYTES));
  return out;
}

export function decodePublicData(
  data: Uint8Array,
  sizes: OracleShape,
): { header: BatchHeader; oracle: OracleSection; records: SlotRecord[] } {
  const oracleBytes = oracleSectionBytes(sizes);
  const first = HEADER_BYTES + oracleBytes;
  if (data.length < first || (data.length - first) % RECORD_BYTES !== 0) {
    throw new RangeError(`public data length ${data.length} is not a header, an oracle section and whole records`);
  }
  const records: SlotRecord[] = [];
  for (let o = first; o < data.length; o += RECORD_BYTES) {
    records.push(decodeRecord(data.subarray(o, o + RECORD_BYTES)));
  }
  return {
    header: decodeHeader(data.subarray(0, HEADER_BYTES)),
    oracle: decodeOracleSection(data.subarray(HEADER_BYTES, first), sizes),
    records,
  };
}

/** sha256(publicData) as 0x-hex: the digest the custodian's BatchSubmitted event carries. */
export function publicDataDigest(publicData: Uint8Array): Hex {
  return `0x${createHash("sha256").update(publicData).digest("hex")}`;
}

/** How many public inputs `publicDataBytes` bytes of public data make (publicInputsOf): a batch's or an exit's. */
export function publicInputCount(publicDataBytes: number): number {
  return Math.ceil(publicDataBytes / PUBLIC_INPUT_CHUNK_BYTES);
}

/**
 * The public inputs of the batch circuit and of the exit circuit, as the custodian computes them: the public data cut
 * into PUBLIC_INPUT_CHUNK_BYTES chunks, each a big-endian integer (the last one the remaining bytes). So the proof
 * binds every byte of the data.
 */
export function publicInputsOf(publicData: Uint8Array): bigint[] {
  const out: bigint[] = [];
  for (let o = 0; o < publicData.length; o += PUBLIC_INPUT_CHUNK_BYTES) {
    out.push(BigInt(bytesToHex(publicData.subarray(o, o + PUBLIC_INPUT_CHUNK_BYTES))));
  }
  return out;
}

/**
 * The custodian's request queue is a keccak hash chain over the records it will expect in public data:
 * chain[0] = 0, chain[i+1] = keccak256(chain[i] ++ queuedForm(record_i)). A batch consumes requests in queue order
 * (requestsInQueueOrder).
 */
export function nextRequestChain(chain: Hex, record: Uint8Array): Hex {
  return keccak256(concatBytes([hexToBytes(chain), queuedForm(record)]));
}

/**
 * The batch's request records in the order the custodian's queue has them, or null when no order does
 * (BatchRecords.sol `_inQueueOrder`, the custodian's rule). A batch applies its spot slots (the first `spotSlots`
 * records) before its derivatives slots, and each class holds its own request types: its requests are the queue's
 * next ones when each class's requests are in queue order and some merge of the two is the queue. `queued(k)` is the
 * queued form (queuedForm) of the k-th request from the batch's first, or undefined past the queue's end.
 */
export function requestsInQueueOrder(records: readonly SlotRecord[], spotSlots: number, queued: (k: number) => Hex | undefined): SlotRecord[] | null {
  const isRequest = (r: SlotRecord) => REQUEST_TYPES.includes(r.type);
  const classes = [records.slice(0, spotSlots).filter(isRequest), records.slice(spotSlots).filter(isRequest)];
  const next = [0, 0];
  const out: SlotRecord[] = [];
  for (let k = 0; k < classes[0].length + classes[1].length; k++) {
    const want = queued(k);
    const c = [0, 1].find((c) => next[c] < classes[c].length && bytesToHex(queuedForm(encodeRecord(classes[c][next[c]]))) === want);
    if (c === undefined) return null;
    out.push(classes[c][next[c]++]);
  }
  return out;
}

/**
 * The record as the custodian queued it: a forced request's outcome byte (FORCED_OUTCOME_OFFSET), which the
 * batch's record carries as the circuit proved it, is 0 in the queue; every other record is unchanged.
 */
export function queuedForm(record: Uint8Array): Uint8Array {
  if (!FORCED_REQUEST_TYPES.includes(record[0] as TxType) || record[FORCED_OUTCOME_OFFSET] === 0) return record;
  const queued = record.slice();
  queued[FORCED_OUTCOME_OFFSET] = 0;
  return queued;
}
export const REQUEST_CHAIN_GENESIS: Hex = `0x${"00".repeat(32)}`;
