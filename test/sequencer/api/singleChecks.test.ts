/**
 * Single cancels, withdrawals and transfers have their signatures verified with the group of requests they arrive
 * with, as orders and cancel batches do (review of 2026-12-06, Low: "A single cancel, withdrawal or transfer is still
 * checked on the main thread"). Before, each was checked by a verifier call of its own, on the calling thread (the
 * native verifier runs a call of fewer than 16 checks synchronously: about 0.1 ms each), so a source sending junk-signed
 * single cancels in other accounts' names as fast as its rate limit allows held the main thread about 1.1 s per 10,000
 * (scripts/bench/singleChecks.ts: 1,115 ms in 10,000 verifier calls before, 45 ms in 11 calls after). Now they join
 * the intake's group (one verifier call, off the main thread from 16 checks) and still run in arrival order: a cancel
 * after a place sees the order.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { CommandGateway } from "../../../sequencer/api/commands.ts";
import { OrderIntake } from "../../../sequencer/api/orderIntake.ts";
import { createApiServer } from "../../../sequencer/api/server.ts";
import { defaultSignatureVerifier } from "../../../sequencer/crypto/nativeSignatureVerifier.ts";
import type { SignatureVerifier } from "../../../sequencer/crypto/signatureVerifier.ts";
import { Side } from "../../../sequencer/protocol/constants.ts";
import { signCancel, signTransfer, signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import { toJson } from "../../../sequencer/wire/schemas.ts";
import { alice, bob, offlineSequencer } from "../../helpers/sequencer.ts";
import { order } from "../../helpers/traders.ts";

/** The default verifier, recording the size of every call it gets. */
function recordingVerifier() {
  const base = defaultSignatureVerifier();
  const calls: number[] = [];
  const verifier: SignatureVerifier = { name: `recording ${base.name}`, verifyBatch: (checks) => (calls.push(checks.length), base.verifyBatch(checks)) };
  return { verifier, calls };
}

const wire = (x: unknown) => JSON.parse(toJson(x)) as unknown;
/** A signature of alice's, on requests in bob's name: each is checked, then refused BAD_SIGNATURE. */
const forged = signCancel(alice.key, { accountId: 1, orderId: 1n }).signature;

describe("api: single signed requests are verified in groups", () => {
  it("junk-signed single cancels, withdrawals and transfers sent together are verified by one verifier call, each refused BAD_SIGNATURE, nothing changed", async () => {
    const { verifier, calls } = recordingVerifier();
    const s = offlineSequencer({ verifier });
    const g = new CommandGateway(s, new OrderIntake(s), { perSource: null, perAccount: null });
    const before = [s.pendingTransactions, s.withdrawalNonce(2), JSON.stringify(s.engine.openOrders(2))];
    const answers: Promise<unknown>[] = [];
    for (let i = 0; i < 12; i++) {
      answers.push(g.cancel(wire({ accountId: 2, orderId: BigInt(i + 1), signature: forged }), "mallory"));
      answers.push(g.withdraw(wire({ ...signWithdrawal(bob.key, { accountId: 2, tokenId: 0, amount: BigInt(i + 1), nonce: 0 }), signature: forged }), "mallory"));
      answers.push(g.transfer(wire({ ...signTransfer(bob.key, { accountId: 2, toCollateral: true, amount: BigInt(i + 1), nonce: 0 }), signature: forged }), "mallory"));
    }
    const codes = await Promise.all(answers.map((p) => p.then(() => "ok", (e: { code?: string }) => e.code)));
    assert.deepEqual(new Set(codes), new Set(["BAD_SIGNATURE"]));
    assert.deepEqual(calls, [36], "one verifier call for the 36 requests (before: 36 calls of one check, each on the main thread)");
    assert.deepEqual([s.pendingTransactions, s.withdrawalNonce(2), JSON.stringify(s.engine.openOrders(2))], before, "nothing changed");
  });

  it("over one WebSocket: a burst of junk single cancels between orders is verified in a few large calls, and a cancel after its place still sees the order", async () => {
    const { verifier, calls } = recordingVerifier();
    const s = offlineSequencer({ verifier });
    const app = createApiServer(s, { rateLimits: { perSource: null, perAccount: null } });
    after(() => app.close());
    const address = await app.listen({ host: "127.0.0.1", port: 0 });
    const ws = new WebSocket(`${address.replace("http", "ws")}/v1/stream`);
    after(() => ws.close());
    const answers = new Map<string | number, Record<string, unknown>>();
    let wake = () => {};
    ws.on("message", (d) => {
      const m = JSON.parse(d.toString());
      if (m.id !== undefined) answers.set(m.id, m);
      wake();
    });
    await new Promise((r) => ws.once("message", r)); // hello
    const N = 64;
    const sent: (string | number)[] = [];
    const send = (msg: { op: string; id: string | number } & Record<string, unknown>) => (sent.push(msg.id), ws.send(toJson(msg)));
    send({ op: "order", id: "place", order: order(bob, { orderId: 7n, side: Side.SELL, priceTicks: 95n, sizeLots: 3n }) });
    for (let i = 0; i < N; i++) {
      send({ op: "cancel", id: i, cancel: { accountId: 2, orderId: BigInt(100 + i), signature: forged } });
      // junk orders between the cancels: a group takes both kinds, so they cannot split it
      if (i % 8 === 0) send({ op: "order", id: `junk-${i}`, order: { ...order(bob, { orderId: BigInt(200 + i), side: Side.SELL, priceTicks: 95n }), signature: forged } });
    }
    send({ op: "cancel", id: "cancel", cancel: signCancel(bob.key, { accountId: 2, orderId: 7n }) });
    while (answers.size < sent.length) await new Promise<void>((r) => (wake = r));
    assert.deepEqual([answers.get("place")!.type, answers.get("cancel")!.type], ["result", "result"], "placed, then cancelled by the cancel sent after it");
    assert.equal(s.query.order(2, 7n), undefined, "not live");
    for (const id of sent.filter((x) => x !== "place" && x !== "cancel")) assert.equal(answers.get(id)!.code, "BAD_SIGNATURE", `request ${id}`);
    const checks = calls.reduce((a, b) => a + b, 0);
    assert.equal(checks, sent.length, "every request checked once");
    assert.ok(calls.length <= 4, `${sent.length} requests verified in ${calls.length} calls (${calls.join(", ")}); before, every single cancel was a call of its own`);
  });
});
