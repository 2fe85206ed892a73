/** Reads the custodian's request queue (RequestQueued events) and turns each record into a batch transaction. */
import type { PublicClient, Address } from "viem";
import { custodianAbi } from "./abi.ts";
import { REQUEST_TYPES } from "../protocol/constants.ts";
import { decodeRecord } from "../protocol/publicData.ts";
import { txFromRecord } from "../protocol/recordDecoder.ts";
import type { BatchTx } from "../protocol/transactions.ts";
import { hexToBytes } from "viem";

/**
 * The batch transaction of a queued request record (REGISTER_KEY, DEPOSIT, REGISTER_MARKET, REGISTER_INSTRUMENT,
 * FORCED_WITHDRAW, FORCED_COLLATERAL_WITHDRAW, FEE_WITHDRAW, INSURANCE_WITHDRAW: an outcome request is queued with
 * `honoured = 0`, and its outcome is decided when it is applied); throws for any other record.
 */
export function requestToTx(record: Uint8Array): BatchTx {
  const r = decodeRecord(record);
  if (!REQUEST_TYPES.includes(r.type)) throw new Error(`record of type ${r.type} is not a request`);
  return txFromRecord(r);
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
