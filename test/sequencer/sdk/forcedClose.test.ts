/** closeCounterparty: whom a forced close names, and how many lots, in a state rebuilt from chain data. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { closeCounterparty } from "../../../sequencer/sdk/forcedClose.ts";
import { aliceLongPerpetual, traders } from "../../helpers/derivatives.ts";

const { alice, bob, carol } = traders;
const PERP = 0;

describe("closeCounterparty", () => {
  it("names the holder of the other side and as many lots as both hold, either way round", () => {
    const s = aliceLongPerpetual(); // alice +15,000, bob -15,000
    assert.deepEqual(closeCounterparty(s, alice.accountId, PERP), { counterpartyId: bob.accountId, lots: 15_000n });
    assert.deepEqual(closeCounterparty(s, bob.accountId, PERP), { counterpartyId: alice.accountId, lots: 15_000n });
  });

  it("takes the largest opposite position (the lowest id among equals), capped at the requester's own", () => {
    const s = aliceLongPerpetual(); // alice +15,000, bob -15,000
    const withSize = (id: number, size: bigint) => {
      const d = s.account(id).deriv;
      s.setDeriv(id, { ...d, positions: d.positions.map((p, i) => (i === PERP ? { ...p, size } : p)) });
    };
    withSize(carol.accountId, -20_000n);
    withSize(alice.accountId, 35_000n);
    assert.deepEqual(closeCounterparty(s, alice.accountId, PERP), { counterpartyId: carol.accountId, lots: 20_000n });
    assert.deepEqual(closeCounterparty(s, carol.accountId, PERP), { counterpartyId: alice.accountId, lots: 20_000n });
    withSize(carol.accountId, -15_000n);
    assert.deepEqual(closeCounterparty(s, alice.accountId, PERP), { counterpartyId: bob.accountId, lots: 15_000n }, "bob's id is lower");
  });

  it("is null for an account without the position, or an instrument nobody holds", () => {
    const s = aliceLongPerpetual();
    assert.equal(closeCounterparty(s, carol.accountId, PERP), null);
    assert.equal(closeCounterparty(s, alice.accountId, 1), null);
  });
});
