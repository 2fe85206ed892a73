/** Reads the custodian's request queue (RequestQueued events) and turns each record into a batch transaction. */
import type { PublicClient, Address } from "viem";
import { buildBabyjub } from "circomlibjs";
import { custodianAbi } from "./abi.ts";
import { TxType, type InstrumentKind } from "../protocol/constants.ts";
import { decodeRecord } from "../protocol/publicData.ts";
import type { BatchTx } from "../protocol/transactions.ts";
import type { PublicKey } from "../crypto/babyjub.ts";
import { hexToBytes } from "viem";

const babyJub = await buildBabyjub();

/** Inverse of compressPublicKey: y | signX << 255 back to (x, y). circomlibjs packs the same sign bit, little-endian. */
export function decompressPublicKey(compressed: bigint): PublicKey {
  const le = new Uint8Array(32);
  let v = compressed;
  for (let i = 0; i < 32; i++) {
    le[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  const point = babyJub.unpackPoint(le);
  if (!point) throw new Error("compressed key is not a Baby Jubjub point");
  return [babyJub.F.toObject(point[0]), babyJub.F.toObject(point[1])];
}

/** The batch transaction of a queued request record (REGISTER_KEY, DEPOSIT, REGISTER_MARKET, REGISTER_INSTRUMENT); throws for any other record. */
export function requestToTx(record: Uint8Array): BatchTx {
  const r = decodeRecord(record);
  switch (r.type) {
    case TxType.REGISTER_KEY:
      return { type: TxType.REGISTER_KEY, accountId: Number(r.accountId), pubKey: decompressPublicKey(r.pubKey) };
    case TxType.DEPOSIT:
      return { type: TxType.DEPOSIT, accountId: Number(r.accountId), tokenId: Number(r.tokenId), amount: r.amount };
    case TxType.REGISTER_MARKET:
      return { type: TxType.REGISTER_MARKET, marketId: Number(r.marketId), baseTokenId: Number(r.baseTokenId), sizeUnit: r.sizeUnit, priceUnit: r.priceUnit };
    case TxType.REGISTER_INSTRUMENT:
      return {
        type: TxType.REGISTER_INSTRUMENT, instrumentId: Number(r.instrumentId), kind: Number(r.kind) as InstrumentKind,
        underlying: Number(r.underlying), lotSizeE6: r.lotSizeE6, tickValue: r.tickValue, imPpm: r.imPpm, mmPpm: r.mmPpm,
        strike: r.strike, expiry: Number(r.expiry), fundingCapPpm: r.fundingCapPpm,
      };
    default:
      throw new Error(`record of type ${r.type} is not a request`);
  }
}

export type QueuedRequest = { index: number; record: Uint8Array; tx: BatchTx };

/** Requests with index >= fromIndex, in queue order. */
export async function fetchRequests(client: PublicClient, custodian: Address, fromIndex: number): Promise<QueuedRequest[]> {
  const logs = await client.getContractEvents({ address: custodian, abi: custodianAbi, eventName: "RequestQueued", fromBlock: 0n, strict: true });
  return logs
    .map((l) => ({ index: Number(l.args.index), record: hexToBytes(l.args.record) }))
    .filter((r) => r.index >= fromIndex)
    .sort((a, b) => a.index - b.index)
    .map((r) => ({ ...r, tx: requestToTx(r.record) }));
}
