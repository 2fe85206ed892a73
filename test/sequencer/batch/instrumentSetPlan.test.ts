/**
 * sequencer/batch/instrumentSetPlan.ts: the set a batch must load holds every instrument any account it touches holds
 * at any point of the batch (margin is cross), and the batcher takes the longest prefix that fits M. Checked against
 * a simulation of the positions through the batch, over random queues of trades, liquidations, settlements, forced
 * closes, transfers and registrations between accounts of at most K positions; and the liveness floor: with
 * M = 2K - 1 every single transaction fits, with 2K - 2 a trade between two full accounts does not.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { planInstrumentSet, setFloor, setNeeds } from "../../../sequencer/batch/instrumentSetPlan.ts";
import { instrumentMarketId, TxType } from "../../../sequencer/protocol/constants.ts";
import type { BatchTx } from "../../../sequencer/protocol/transactions.ts";
import { prng } from "../../helpers/prng.ts";

const N = 1_024;
const K = 16;
const market = (id: number) => instrumentMarketId(id, 0, N);
// Only the fields the plan reads: accounts and the instrument named.
const trade = (buyer: number, seller: number, id: number) =>
  ({ type: TxType.DERIV_TRADE, buy: { accountId: buyer, marketId: market(id) }, sell: { accountId: seller, marketId: market(id) } }) as unknown as BatchTx;
const liquidate = (victim: number, liquidator: number, id: number) =>
  ({ type: TxType.LIQUIDATE, liquidatedAccountId: victim, liquidator: { accountId: liquidator, marketId: market(id) } }) as unknown as BatchTx;
const settle = (accountId: number, instrumentId: number) => ({ type: TxType.SETTLE, accountId, instrumentId }) as BatchTx;
const forcedClose = (accountId: number, counterpartyId: number, instrumentId: number) =>
  ({ type: TxType.FORCED_CLOSE, accountId, counterpartyId, instrumentId, lots: 1n }) as BatchTx;
const transfer = (accountId: number) => ({ type: TxType.TRANSFER, request: { accountId } }) as unknown as BatchTx;
const register = (instrumentId: number) => ({ type: TxType.REGISTER_INSTRUMENT, instrumentId }) as unknown as BatchTx;

/** Positions as instrument sets per account; a trade opens the instrument for both sides (if not held) or closes it for one, keeping each at most K. */
type Holdings = Map<number, Set<number>>;
const heldOf = (h: Holdings) => (a: number) => h.get(a) ?? new Set<number>();

describe("instrument set plan (planInstrumentSet)", () => {
  it("names each transaction's accounts and instrument as its derivatives slot reads them", () => {
    assert.deepEqual(setNeeds(trade(1, 2, 700), N), { accounts: [1, 2], instrument: 700 });
    assert.deepEqual(setNeeds(liquidate(3, 4, 5), N), { accounts: [3, 4], instrument: 5 });
    assert.deepEqual(setNeeds(forcedClose(3, 4, 9), N), { accounts: [3, 4], instrument: 9 });
    assert.deepEqual(setNeeds(settle(3, 9), N), { accounts: [3], instrument: 9 });
    assert.deepEqual(setNeeds(register(1_023), N), { accounts: [], instrument: 1_023 });
    assert.deepEqual(setNeeds(transfer(8), N), { accounts: [8], instrument: null });
    assert.deepEqual(setNeeds({ type: TxType.NOOP }, N), { accounts: [], instrument: null });
    // a later generation of the id names the same leaf
    const reused = { type: TxType.DERIV_TRADE, buy: { accountId: 1, marketId: instrumentMarketId(7, 3, N) }, sell: { accountId: 2 } } as unknown as BatchTx;
    assert.equal(setNeeds(reused, N).instrument, 7);
  });

  it("over random queues the set holds every instrument a touched account holds at any point of the prefix, at most M ids, strictly increasing; the next transaction would not fit", () => {
    let partial = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const r = prng(seed);
      const accounts = 12;
      const h: Holdings = new Map();
      // start: random holdings of up to K positions in a few hundred instruments
      for (let a = 0; a < accounts; a++) {
        const s = new Set<number>();
        const n = r.int(K + 1);
        while (s.size < n) s.add(r.int(300));
        h.set(a, s);
      }
      const start = new Map([...h].map(([a, s]) => [a, new Set(s)]));
      // a queue of transactions that keep every account at K positions or fewer, simulated as they go
      const txs: BatchTx[] = [];
      const sim: Holdings = new Map([...h].map(([a, s]) => [a, new Set(s)]));
      const touchedHoldings: number[][] = []; // per transaction, what its accounts hold before and after it, plus its instrument
      while (txs.length < 40) {
        const a = r.int(accounts);
        let b = r.int(accounts);
        if (b === a) b = (a + 1) % accounts;
        const sa = sim.get(a)!;
        const sb = sim.get(b)!;
        const kind = r.int(6);
        let tx: BatchTx;
        let id: number | null;
        if (kind <= 1) {
          // a trade: in something one of them holds, or a new instrument when both have room
          const pool = [...sa, ...sb];
          id = pool.length && r.chance(0.6) ? r.pick(pool) : r.int(N);
          const opensA = !sa.has(id);
          const opensB = !sb.has(id);
          if ((opensA && sa.size >= K) || (opensB && sb.size >= K)) continue; // intake refuses TOO_MANY_POSITIONS
          tx = kind === 0 ? trade(a, b, id) : liquidate(a, b, id);
          const before = [...sa, ...sb];
          // both sides hold it after, or one side closes
          if (r.chance(0.3) && !opensA) sa.delete(id); else sa.add(id);
          sb.add(id);
          touchedHoldings.push([...before, ...sa, ...sb, id]);
        } else if (kind === 2 && sa.size) {
          id = r.pick([...sa]);
          tx = settle(a, id);
          touchedHoldings.push([...sa, id]);
          sa.delete(id);
        } else if (kind === 3 && sa.size && sb.size < K) {
          id = r.pick([...sa]);
          tx = forcedClose(a, b, id);
          touchedHoldings.push([...sa, ...sb, id]);
          sb.add(id);
          sa.delete(id);
        } else if (kind === 4) {
          tx = transfer(a);
          touchedHoldings.push([...sa]);
        } else {
          id = 600 + r.int(400);
          tx = register(id);
          touchedHoldings.push([id]);
        }
        txs.push(tx);
      }
      for (const m of [setFloor(K), 40, 64]) {
        const plan = planInstrumentSet(txs, heldOf(start), m, N);
        assert.ok(plan.taken >= 1, `seed ${seed}, m ${m}: at the floor every transaction fits alone`);
        assert.equal(plan.unfit, undefined);
        assert.ok(plan.ids.length <= m);
        for (let i = 1; i < plan.ids.length; i++) assert.ok(plan.ids[i]! > plan.ids[i - 1]!, "strictly increasing");
        const ids = new Set(plan.ids);
        for (let t = 0; t < plan.taken; t++) {
          for (const id of touchedHoldings[t]!) assert.ok(ids.has(id), `seed ${seed}, m ${m}: transaction ${t} needs ${id}, not in the set`);
        }
        if (plan.taken < txs.length) {
          partial++;
          const next = planInstrumentSet(txs.slice(0, plan.taken + 1), heldOf(start), Number.MAX_SAFE_INTEGER, N);
          assert.ok(next.ids.length > m, "the prefix is the longest that fits");
        }
      }
    }
    assert.ok(partial > 60, `queues longer than one set: ${partial} of 180 plans`);
  });

  it("liveness floor: a trade between two accounts of K positions fits M = 2K - 1 alone and not 2K - 2; the next batch takes what did not fit", () => {
    const h: Holdings = new Map([
      [1, new Set(Array.from({ length: K }, (_, i) => i))], // 0..15, among them 15
      [2, new Set(Array.from({ length: K }, (_, i) => 15 + i))], // 15..30
    ]);
    const close = trade(1, 2, 15); // both hold 15: 31 instruments
    assert.deepEqual(planInstrumentSet([close], heldOf(h), setFloor(K), N), { taken: 1, ids: Array.from({ length: 31 }, (_, i) => i) });
    const refused = planInstrumentSet([close], heldOf(h), setFloor(K) - 1, N);
    assert.equal(refused.taken, 0);
    assert.equal(refused.unfit!.length, 31, "the caller rejects it with what it needs");
    // two such trades between disjoint pairs: one batch each at the floor
    h.set(3, new Set(Array.from({ length: K }, (_, i) => 100 + i)));
    h.set(4, new Set(Array.from({ length: K }, (_, i) => 115 + i)));
    const queue = [close, trade(3, 4, 115)];
    assert.equal(planInstrumentSet(queue, heldOf(h), setFloor(K), N).taken, 1);
    assert.equal(planInstrumentSet(queue.slice(1), heldOf(h), setFloor(K), N).taken, 1);
    assert.equal(planInstrumentSet(queue, heldOf(h), 2 * setFloor(K), N).taken, 2);
    // transactions that need nothing are always taken; the oracle step's own instruments count
    const free = [{ type: TxType.NOOP } as BatchTx, { type: TxType.INSURANCE_WITHDRAW, amount: 1n } as BatchTx];
    assert.equal(planInstrumentSet(free, heldOf(h), 0, N).taken, 2);
    assert.equal(planInstrumentSet([close], heldOf(h), setFloor(K), N, [500]).taken, 0, "a perpetual the oracle step loads takes a place");
    assert.throws(() => planInstrumentSet([], heldOf(h), 1, N, [1, 2]), RangeError);
  });
});
