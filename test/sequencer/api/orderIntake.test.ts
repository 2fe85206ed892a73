/** OrderIntake: orders arriving together go to the sequencer as one group, in arrival order, one at a time. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { OrderIntake } from "../../../sequencer/api/orderIntake.ts";
import type { Order, Signed } from "../../../sequencer/protocol/messages.ts";
import type { IntakeOutcome } from "../../../sequencer/service/sequencer.ts";

const fake = (orderId: bigint) => ({ orderId }) as unknown as Signed<Order>;

describe("OrderIntake", () => {
  it("groups concurrent submissions, keeps their order, and never runs two groups at once", async () => {
    const calls: bigint[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const sequencer = {
      placeOrders: async (orders: readonly Signed<Order>[]): Promise<IntakeOutcome[]> => {
        calls.push(orders.map((o) => o.orderId));
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        return orders.map((o) => ({ events: [{ type: "done", seq: Number(o.orderId) }] }));
      },
    };
    const intake = new OrderIntake(sequencer, { maxGroup: 3 });
    const first = [intake.submit([fake(1n)]), intake.submit([fake(2n), fake(3n)]), intake.submit([fake(4n)])];
    const results = await Promise.all(first);
    assert.deepEqual(calls, [[1n, 2n, 3n], [4n]], "one group of the first three (maxGroup), then the rest");
    assert.deepEqual(results.map((r) => r.map((o) => ("events" in o ? o.events[0] : null))), [[{ type: "done", seq: 1 }], [{ type: "done", seq: 2 }, { type: "done", seq: 3 }], [{ type: "done", seq: 4 }]]);
    assert.equal(maxInFlight, 1);
    assert.deepEqual([intake.groups, intake.orders, intake.queued], [2, 4, 0]);
  });

  it("rejects every order of a group whose call failed, and goes on with the next", async () => {
    let fail = true;
    const intake = new OrderIntake({
      placeOrders: async (orders) => {
        if (fail) {
          fail = false;
          throw new Error("verifier down");
        }
        return orders.map(() => ({ events: [] }));
      },
    });
    await assert.rejects(intake.submit([fake(1n)]), /verifier down/);
    assert.deepEqual(await intake.submit([fake(2n)]), [{ events: [] }]);
  });
});
