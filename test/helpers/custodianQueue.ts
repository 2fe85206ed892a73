/**
 * A model of the custodian's request queue beside a test sequencer on a fake chain (derivativesSequencer.ts): a test
 * queues on-chain requests through it (`request`: the record the custodian queues, then the sequencer admits the
 * request), and every batch the sequencer posts from `start()` on is decoded and checked to consume the queue's next
 * requests in an order the custodian accepts (publicData.ts requestsInQueueOrder, the custodian's own rule).
 */
import assert from "node:assert/strict";
import { bytesToHex, type Hex } from "viem";
import { compressPublicKey } from "../../sequencer/crypto/babyjub.ts";
import { REQUEST_TYPES, type TxType } from "../../sequencer/protocol/constants.ts";
import { decodePublicData, encodeRecord, queuedForm, RECORD_LAYOUT, requestsInQueueOrder, type OracleSection, type SlotRecord } from "../../sequencer/protocol/publicData.ts";
import type { BatchTx } from "../../sequencer/protocol/transactions.ts";
import type { Sequencer } from "../../sequencer/service/sequencer.ts";

/** A batch as the chain received it: its oracle section and records. */
export type ChainBatch = { oracle: OracleSection; records: SlotRecord[] };

const queueable = (r: SlotRecord) => REQUEST_TYPES.includes(r.type);

/**
 * The record the custodian queues for on-chain request `tx`: its fields by RECORD_LAYOUT's names (the treasury's
 * account and token 0 where the request names none), a key compressed, the outcome byte 0.
 */
export function queuedRecordOf(tx: BatchTx): SlotRecord {
  const fields = tx as unknown as Record<string, number | bigint | [bigint, bigint] | undefined>;
  const record: Record<string, unknown> = { type: tx.type };
  for (const [name] of RECORD_LAYOUT[tx.type]) {
    const v = fields[name];
    record[name] = name === "honoured" ? 0n : name === "pubKey" ? compressPublicKey(v as [bigint, bigint]) : BigInt((v as number | bigint | undefined) ?? 0);
  }
  return record as SlotRecord;
}

/** The queue model for `seq` (see the module comment); `attach` follows a sequencer restarted on the same chain. */
export function custodianQueue(seq: Sequencer) {
  const queue: Hex[] = [];
  const batches: ChainBatch[] = [];
  const violations: string[] = [];
  let consumed = 0;
  let tracking = false;
  let current = seq;
  const attach = (s: Sequencer): void => {
    current = s;
    const submit = s.custodian.submitBatch.bind(s.custodian) as (...a: unknown[]) => Promise<unknown>;
    Object.assign(s.custodian, {
      submitBatch: async (n: number, publicData: Uint8Array, ...rest: unknown[]) => {
        const sent = await submit(n, publicData, ...rest); // (a batch the custodian refuses consumes nothing)
        if (tracking) {
          const { oracle, records } = decodePublicData(publicData, s.params);
          batches.push({ oracle, records });
          if (!requestsInQueueOrder(records, s.params.slots, (k) => queue[consumed + k])) {
            violations.push(`batch ${n}: request records ${records.filter(queueable).map((r) => r.type).join(",")} are not the queue's next (${queue.length - consumed} left)`);
          }
          consumed += records.filter(queueable).length;
        }
        return sent;
      },
    });
  };
  attach(seq);
  return {
    batches,
    violations,
    attach,
    /** From now on every batch is recorded and checked (everything queued before was consumed). */
    start(): void {
      assert.equal(current.peekPending().length, 0, "nothing queued before the model starts");
      tracking = true;
    },
    /** Queues `tx` on the custodian and has the sequencer admit it. */
    request(tx: BatchTx): void {
      queue.push(bytesToHex(queuedForm(encodeRecord(queuedRecordOf(tx)))));
      current.acceptRequest(tx);
    },
    /** How many requests were queued since start(). */
    get queued(): number {
      return queue.length;
    },
    /** How many of the requests queued since start() the batches consumed. */
    get consumed(): number {
      return consumed;
    },
    /** The records of `type` in the batches posted since start(), with the time of their batch's oracle update (0 unused). */
    recordsOf(type: TxType): { record: SlotRecord; oracleTime: bigint }[] {
      return batches.flatMap((b) => b.records.filter((r) => r.type === type).map((record) => ({ record, oracleTime: b.oracle.used ? b.oracle.time : 0n })));
    },
  };
}
