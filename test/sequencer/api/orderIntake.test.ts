/**
 * OrderIntake: signed requests arriving together (orders, and the cancels, withdrawals and transfers of `command`) are
 * verified as one group; up to `depth` groups verify at once, and groups are run strictly in arrival order, one at a
 * time, each request of a group in its turn.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { OrderIntake } from "../../../sequencer/api/orderIntake.ts";
import type { Order, Signed } from "../../../sequencer/protocol/messages.ts";
import type { IntakeOutcome, SignedCommand, VerifiedOrders } from "../../../sequencer/service/sequencer.ts";

const fake = (orderId: bigint) => ({ orderId }) as unknown as Signed<Order>;
const fakeCancel = (orderId: bigint) => ({ cancel: { accountId: 1, orderId } }) as unknown as SignedCommand;
const checked = { check: {}, verdict: true } as never;

/** A sequencer whose verification of a group takes `delays[k]` ms (k = the group's index), recording what happens. */
function fakeSequencer(delays: number[], failGroup = -1) {
  const log: string[] = [];
  let verifying = 0;
  let maxVerifying = 0;
  let k = 0;
  return {
    log,
    maxVerifying: () => maxVerifying,
    verifyGroup: async (orders: readonly Signed<Order>[], commands: readonly SignedCommand[]) => {
      const group = k++;
      log.push(`verify ${orders.map((o) => o.orderId).join(",")}${commands.length ? ` +${commands.length}` : ""}`);
      maxVerifying = Math.max(maxVerifying, ++verifying);
      await new Promise((r) => setTimeout(r, delays[group] ?? 1));
      verifying--;
      if (group === failGroup) throw new Error("verifier down");
      return { orders: { orders, verified: orders.map(() => checked) }, commands: commands.map(() => checked) };
    },
    placeVerifiedOrders: (v: VerifiedOrders): IntakeOutcome[] => {
      log.push(`place ${v.orders.map((o) => o.orderId).join(",")}`);
      return v.orders.map((o) => ({ events: [{ type: "done", seq: Number(o.orderId) }] }) as unknown as IntakeOutcome);
    },
    /** Durable at once unless a test holds the disk: then when it releases it (or fails it). */
    disk: null as null | { promise: Promise<void>; release: () => void; fail: (e: Error) => void },
    durable(this: { disk: { promise: Promise<void> } | null; log: string[] }): Promise<void> {
      log.push("durable?");
      return this.disk?.promise ?? Promise.resolve();
    },
  };
}

describe("OrderIntake", () => {
  it("groups concurrent submissions (maxGroup), verifies groups concurrently, places them in arrival order", async () => {
    // The first group verifies slowly, the second fast: the second must still be placed after the first.
    const sequencer = fakeSequencer([30, 1]);
    const intake = new OrderIntake(sequencer, { maxGroup: 3, depth: 2 });
    const results = await Promise.all([intake.submit([fake(1n)]), intake.submit([fake(2n), fake(3n)]), intake.submit([fake(4n)])]);
    assert.deepEqual(sequencer.log, ["verify 1,2,3", "verify 4", "place 1,2,3", "durable?", "place 4", "durable?"]);
    assert.equal(sequencer.maxVerifying(), 2, "the two groups verified at the same time");
    assert.deepEqual(results.map((r) => r.map((o) => ("events" in o ? o.events[0] : null))), [[{ type: "done", seq: 1 }], [{ type: "done", seq: 2 }, { type: "done", seq: 3 }], [{ type: "done", seq: 4 }]]);
    assert.deepEqual([intake.groups, intake.orders, intake.queued], [2, 4, 0]);
  });

  it("with depth 1 runs one group at a time", async () => {
    const sequencer = fakeSequencer([10, 1]);
    const intake = new OrderIntake(sequencer, { maxGroup: 1, depth: 1 });
    await Promise.all([intake.submit([fake(1n)]), intake.submit([fake(2n)])]);
    assert.deepEqual(sequencer.log, ["verify 1", "place 1", "durable?", "verify 2", "place 2", "durable?"]);
    assert.equal(sequencer.maxVerifying(), 1);
  });

  it("answers a group only once its log records are durable, placing the next group meanwhile", async () => {
    const sequencer = fakeSequencer([1, 1]);
    let release!: () => void;
    let fail!: (e: Error) => void;
    const promise = new Promise<void>((res, rej) => ((release = res), (fail = rej)));
    sequencer.disk = { promise, release, fail };
    const intake = new OrderIntake(sequencer, { maxGroup: 1, depth: 2 });
    let answered = 0;
    const first = intake.submit([fake(1n)]).then((r) => (answered++, r));
    const second = intake.submit([fake(2n)]).then((r) => (answered++, r));
    while (!sequencer.log.includes("place 2")) await new Promise((r) => setTimeout(r, 1));
    assert.equal(answered, 0, "placed, not yet durable: no answer");
    release();
    assert.deepEqual(await first, [{ events: [{ type: "done", seq: 1 }] }]);
    await second;
    assert.equal(answered, 2);

    const failing = new Promise<void>((res, rej) => ((release = res), (fail = rej)));
    failing.catch(() => {});
    sequencer.disk = { promise: failing, release, fail };
    const third = intake.submit([fake(3n)]);
    fail(new Error("fsync failed"));
    await assert.rejects(third, /fsync failed/, "a group whose records may not be durable is never answered as accepted");
  });

  it("rejects every order of a group whose verification failed, and goes on with the next", async () => {
    const sequencer = fakeSequencer([1, 1], 0);
    const intake = new OrderIntake(sequencer);
    await assert.rejects(intake.submit([fake(1n)]), /verifier down/);
    assert.deepEqual(await intake.submit([fake(2n)]), [{ events: [{ type: "done", seq: 2 }] }]);
  });

  // Review of 2026-12-06: a cancel ran on arrival, ahead of the order sent before it (still verifying), and found no
  // order to cancel; the order then stayed live.
  it("runs a command (a cancel, a withdrawal) in its arrival turn: after the orders submitted before it are placed, before those after it; its signature is verified with theirs", async () => {
    const sequencer = fakeSequencer([30, 1]);
    const intake = new OrderIntake(sequencer, { maxGroup: 8, depth: 2 });
    const first = intake.submit([fake(1n)]);
    const cancel = intake.command([fakeCancel(1n)], (verified) => (sequencer.log.push(`run cancel (${verified.length} verified)`), "cancelled"));
    const second = intake.submit([fake(2n)]);
    assert.deepEqual(await Promise.all([first, cancel, second]).then(([, c]) => c), "cancelled");
    assert.deepEqual(sequencer.log, ["verify 1,2 +1", "place 1", "durable?", "run cancel (1 verified)", "durable?", "place 2", "durable?"]);
  });

  // Review of 2026-12-06 (Low): a single cancel, withdrawal or transfer was verified on the main thread, one verifier
  // call each, so single commands sent between orders (or alone) never formed a group.
  it("groups single commands with the orders and commands around them (one verification, up to maxGroup signed requests), and runs each in its turn", async () => {
    const sequencer = fakeSequencer([1, 1, 1]);
    const intake = new OrderIntake(sequencer, { maxGroup: 5, depth: 2 });
    const ran: string[] = [];
    const answers = [
      intake.command([fakeCancel(1n)], () => ran.push("cancel 1")),
      intake.submit([fake(2n)]),
      intake.command([fakeCancel(3n)], () => ran.push("cancel 3")),
      intake.command([fakeCancel(4n), fakeCancel(5n)], () => ran.push("cancels 4,5")),
      intake.command([fakeCancel(6n)], () => ran.push("cancel 6")),
      intake.submit([fake(7n)]),
    ];
    await Promise.all(answers);
    assert.deepEqual(sequencer.log.filter((l) => l.startsWith("verify")), ["verify 2 +4", "verify 7 +1"], "two verifier calls for six requests");
    assert.deepEqual(sequencer.log.filter((l) => !l.startsWith("durable")), ["verify 2 +4", "verify 7 +1", "place 2", "place 7"]);
    assert.deepEqual(ran, ["cancel 1", "cancel 3", "cancels 4,5", "cancel 6"]);
    assert.deepEqual([intake.groups, intake.orders], [2, 2]);
  });

  it("a group whose verification failed rejects every request of it, a command whose run throws is rejected with it, and what follows goes on", async () => {
    const sequencer = fakeSequencer([1, 1], 0);
    const intake = new OrderIntake(sequencer);
    const bad = intake.command([fakeCancel(1n)], () => "never");
    const badOrder = intake.submit([fake(2n)]);
    await assert.rejects(bad, /verifier down/);
    await assert.rejects(badOrder, /verifier down/);
    const refused = intake.command([fakeCancel(1n)], () => { throw new Error("UNKNOWN_ORDER"); });
    const after = intake.submit([fake(3n)]);
    await assert.rejects(refused, /UNKNOWN_ORDER/);
    assert.deepEqual(await after, [{ events: [{ type: "done", seq: 3 }] }]);
  });
});
