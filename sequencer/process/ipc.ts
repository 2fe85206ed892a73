/**
 * A Sequencer driven over a Node IPC channel (a parent process that spawned it with an "ipc" stdio and
 * `serialization: "advanced"`, so bigints travel as they are). One request, one reply, answered only
 * after the request's log records are committed: a reply is an acknowledgement.
 *
 *   { id, op: "orders", orders: Signed<Order>[] }  -> { id, result: ({ events } | { rejected: code })[] }
 *   { id, op: "cancel", cancel: Signed<Cancel> }   -> { id, result: { events } | { rejected: code } }
 *   { id, op: "withdraw", withdrawal }             -> { id, result: { accepted: true } | { rejected: code } }
 *   { id, op: "transfer", transfer }               -> { id, result: { accepted: true } | { rejected: code } }
 *   { id, op: "oracle", update: SignedOracleUpdate } -> { id, result: OracleOutcome | { rejected: code } }
 *   { id, op: "status" }                           -> { id, result: { root, pending, unposted, requests } }
 *   { id, op: "known", orders: [accountId, orderId][] } -> { id, result: boolean[] } (the id can no longer be accepted: it is at or below the latest id accepted in its storage slot)
 *   { id, op: "snapshot" }                         -> { id, result: SequencerSnapshot } (error while a batch is in flight)
 * Anything else, or a failure, answers { id, error: message }.
 */
import type { EngineEvent } from "../matching/index.ts";
import { RequestRejected, type Sequencer } from "../service/sequencer.ts";

export type IpcOutcome = { events: EngineEvent[] } | { rejected: string };
export type IpcRequest = { id: number; op: string; [field: string]: unknown };
export type IpcReply = { id: number; result?: unknown; error?: string };

function outcome(fn: () => EngineEvent[] | void): IpcOutcome | { accepted: true } {
  try {
    const events = fn();
    return events ? { events } : { accepted: true };
  } catch (e) {
    if (e instanceof RequestRejected) return { rejected: e.code };
    throw e;
  }
}

/** The reply to one request. */
export async function handleIpcRequest(sequencer: Sequencer, req: IpcRequest): Promise<IpcReply> {
  try {
    switch (req.op) {
      case "orders": {
        const outcomes = await sequencer.placeOrders(req.orders as Parameters<Sequencer["placeOrders"]>[0]);
        return { id: req.id, result: outcomes.map((o) => ("events" in o ? o : { rejected: o.rejected.code })) };
      }
      case "cancel":
        return { id: req.id, result: outcome(() => sequencer.cancelOrder(req.cancel as Parameters<Sequencer["cancelOrder"]>[0])) };
      case "withdraw":
        return { id: req.id, result: outcome(() => sequencer.requestWithdrawal(req.withdrawal as Parameters<Sequencer["requestWithdrawal"]>[0])) };
      case "transfer":
        return { id: req.id, result: outcome(() => sequencer.requestTransfer(req.transfer as Parameters<Sequencer["requestTransfer"]>[0])) };
      case "oracle":
        try {
          return { id: req.id, result: await sequencer.acceptOracleUpdate(req.update as Parameters<Sequencer["acceptOracleUpdate"]>[0]) };
        } catch (e) {
          if (e instanceof RequestRejected) return { id: req.id, result: { rejected: e.code } };
          throw e;
        }
      case "status":
        return {
          id: req.id,
          result: { root: sequencer.query.stateRoot, pending: sequencer.query.pendingTransactions, unposted: sequencer.unpostedBatch, requests: sequencer.requestsAdmitted },
        };
      case "known":
        return { id: req.id, result: (req.orders as [number, bigint][]).map(([a, o]) => sequencer.query.isOrderIdUsed(a, o)) };
      case "snapshot":
        return { id: req.id, result: sequencer.snapshot() };
      default:
        return { id: req.id, error: `unknown op ${req.op}` };
    }
  } catch (e) {
    return { id: req.id, error: (e as Error).message };
  }
}

/** Serves requests arriving on this process's IPC channel, in arrival order. */
export function serveIpc(sequencer: Sequencer): void {
  if (!process.send) throw new Error("no IPC channel: start this process with an 'ipc' stdio");
  let queue = Promise.resolve();
  process.on("message", (req: IpcRequest) => {
    queue = queue.then(async () => {
      process.send!(await handleIpcRequest(sequencer, req));
    });
  });
}
