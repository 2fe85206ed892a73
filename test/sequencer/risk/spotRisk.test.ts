import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { QUOTE_TOKEN_ID, Side, TimeInForce } from "../../../sequencer/protocol/constants.ts";
import { MatchingEngine } from "../../../sequencer/matching/engine.ts";
import { feeAmount } from "../../../sequencer/matching/fees.ts";
import { SelfTradePolicy, type EngineEvent, type FillEvent } from "../../../sequencer/matching/types.ts";
import { SpotRisk, buyReservePerLot, type SpotRiskSnapshot } from "../../../sequencer/risk/spotRisk.ts";
import { MARKETS, buy, kinds, place, prng, registry, sell } from "../../../scripts/fixtures/matching/helpers.ts";
import { DEFAULT_FLOW, randomFlow } from "../../../scripts/fixtures/matching/randomFlow.ts";

const Q = QUOTE_TOKEN_ID;
const BASE1 = 1; // market 1: sizeUnit 1000, priceUnit 10, maker 100 ppm, taker 300 ppm
const BASE2 = 2; // market 2: sizeUnit 1, priceUnit 1, maker 0 ppm, taker 2500 ppm

function setup(): { e: MatchingEngine; risk: SpotRisk } {
  const risk = new SpotRisk();
  return { e: new MatchingEngine({ markets: registry(), risk }), risk };
}

describe("spot risk: balances", () => {
  it("credits and debits, refusing to go below what is reserved", () => {
    const { e, risk } = setup();
    assert.ok(risk.credit(1, Q, 10_000n));
    assert.ok(risk.debit(1, Q, 1_000n));
    assert.equal(risk.balance(1, Q), 9_000n);
    e.execute(place(buy(1, 1n, 100n, 5n, { maxFeePpm: 300 }))); // reserves 5 * (100 * 10 + ceil(1000 * 300 / 1e6)) = 5005
    assert.equal(risk.reserved(1, Q), 5_005n);
    assert.equal(risk.available(1, Q), 3_995n);
    assert.equal(risk.debit(1, Q, 3_996n), false);
    assert.equal(risk.balance(1, Q), 9_000n, "a refused debit changes nothing");
    assert.ok(risk.debit(1, Q, 3_995n));
    e.execute({ kind: "cancel", time: 1000, accountId: 1, orderId: 1n });
    assert.equal(risk.reserved(1, Q), 0n);
    assert.ok(risk.debit(1, Q, 5_005n));
    assert.equal(risk.balance(1, Q), 0n);
    assert.equal(risk.debit(1, Q, 1n), false);
    assert.equal(risk.debit(7, Q, 1n), false, "unknown account");
    assert.ok(risk.debit(7, Q, 0n));
  });

  it("refuses bad amounts, bad ids and balances reaching 2^128", () => {
    const risk = new SpotRisk();
    assert.equal(risk.credit(1, Q, -1n), false);
    assert.equal(risk.credit(1, Q, 1n << 96n), false);
    assert.equal(risk.credit(-1, Q, 1n), false);
    assert.equal(risk.credit(1, 1 << 16, 1n), false);
    assert.equal(risk.credit(1, Q, 1 as unknown as bigint), false);
    const nearFull = SpotRisk.restore({ version: 1, feePool: "0", entries: [[1, 0, String((1n << 128n) - 10n), "0"]] });
    assert.equal(nearFull.credit(1, Q, 10n), false);
    assert.ok(nearFull.credit(1, Q, 9n));
    assert.equal(nearFull.balance(1, Q), (1n << 128n) - 1n);
  });
});

describe("spot risk: reservations and fills", () => {
  it("reserves quote for a buy (per-lot fee ceiling) and base for a sell; refuses when short", () => {
    const { e, risk } = setup();
    // perLot = 100 * 10 + ceil(1000 * 1000 / 1e6) = 1001
    risk.credit(1, Q, 3_002n);
    assert.deepEqual(kinds(e.execute(place(buy(1, 1n, 100n, 3n, { maxFeePpm: 1000 })))), ["rejected:RISK_REJECTED", "done"]);
    assert.equal(risk.reserved(1, Q), 0n);
    risk.credit(1, Q, 1n);
    assert.deepEqual(kinds(e.execute(place(buy(1, 1n, 100n, 3n, { maxFeePpm: 1000 })))), ["accepted", "done"]);
    assert.equal(risk.reserved(1, Q), 3_003n);
    risk.credit(2, BASE1, 2_999n);
    assert.deepEqual(kinds(e.execute(place(sell(2, 1n, 110n, 3n)))), ["rejected:RISK_REJECTED", "done"]);
    risk.credit(2, BASE1, 1n);
    assert.deepEqual(kinds(e.execute(place(sell(2, 1n, 110n, 3n)))), ["accepted", "done"]);
    assert.equal(risk.reserved(2, BASE1), 3_000n);
  });

  it("moves balances exactly as the circuit's TRADE rule and releases price improvement", () => {
    const { e, risk } = setup();
    risk.credit(1, BASE1, 2_000n);
    risk.credit(2, Q, 10_000n);
    e.execute(place(sell(1, 1n, 100n, 2n, { maxFeePpm: 100, timeInForce: TimeInForce.POST_ONLY })));
    const ev = e.execute(place(buy(2, 1n, 105n, 2n, { maxFeePpm: 1000 })));
    const f = ev.find((x): x is FillEvent => x.type === "fill")!;
    assert.deepEqual([f.priceTicks, f.lots, f.makerFeePpm, f.takerFeePpm], [100n, 2n, 100, 300]);
    // quote = 2 * 100 * 10 = 2000; buyer fee ceil(2000 * 300 / 1e6) = 1; seller fee ceil(2000 * 100 / 1e6) = 1
    assert.equal(risk.balance(2, Q), 10_000n - 2_001n);
    assert.equal(risk.balance(2, BASE1), 2_000n);
    assert.equal(risk.balance(1, BASE1), 0n);
    assert.equal(risk.balance(1, Q), 1_999n);
    assert.equal(risk.feePool, 2n);
    assert.equal(risk.reserved(2, Q), 0n, "the reservation at 105 is released in full, improvement included");
    assert.equal(risk.reserved(1, BASE1), 0n);
  });

  it("releases what remains on IOC remainder, partial fill then cancel, and expiry", () => {
    const { e, risk } = setup();
    risk.credit(1, BASE1, 10_000n);
    risk.credit(2, Q, 100_000n);
    e.execute(place(sell(1, 1n, 100n, 3n, { expiry: 2000 })));
    e.execute(place(buy(2, 1n, 100n, 5n, { maxFeePpm: 300, timeInForce: TimeInForce.IOC })));
    assert.equal(risk.reserved(2, Q), 0n);
    e.execute(place(sell(1, 2n, 101n, 4n, { expiry: 2000 })));
    e.execute(place(buy(2, 2n, 101n, 1n)));
    assert.equal(risk.reserved(1, BASE1), 3_000n);
    e.execute(place(buy(2, 3n, 101n, 1n, { maxFeePpm: 300 }), 2001)); // meets the expired order
    assert.equal(risk.reserved(1, BASE1), 0n);
    assert.equal(risk.reserved(2, Q), 1_011n, "the new buy rests: 1 * 101 * 10 + ceil(1010 * 300 / 1e6)");
    e.execute({ kind: "cancelAll", time: 2001, accountId: 2 });
    assert.equal(risk.reserved(2, Q), 0n);
  });

  it("reserves enough for fees rounded up on every fill (whole-order ceiling would fall short)", () => {
    const { e, risk } = setup();
    // Market 2: 1 lot at price 1 is 1 quote; its 2500 ppm taker fee rounds up to 1 per fill.
    // Whole-order ceiling: 2 + ceil(2 * 2500 / 1e6) = 3, but two 1-lot fills cost 2 + 1 + 1 = 4.
    risk.credit(1, Q, 3n);
    assert.deepEqual(kinds(e.execute(place(buy(1, 1n, 1n, 2n, { marketId: 2, maxFeePpm: 2500 })))), ["rejected:RISK_REJECTED", "done"]);
    risk.credit(1, Q, 1n);
    assert.equal(buyReservePerLot(buy(1, 1n, 1n, 2n, { maxFeePpm: 2500 }), MARKETS[1]), 2n);
    risk.credit(2, BASE2, 1n);
    risk.credit(3, BASE2, 1n);
    e.execute(place(sell(2, 1n, 1n, 1n, { marketId: 2 })));
    e.execute(place(sell(3, 1n, 1n, 1n, { marketId: 2 })));
    const ev = e.execute(place(buy(1, 1n, 1n, 2n, { marketId: 2, maxFeePpm: 2500 })));
    assert.deepEqual(kinds(ev), ["accepted", "fill:1@1", "fill:1@1", "done"]);
    assert.equal(risk.balance(1, Q), 0n);
    assert.equal(risk.reserved(1, Q), 0n);
    assert.equal(risk.balance(1, BASE2), 2n);
    assert.equal(risk.feePool, 2n);
  });

  it("undoes a fill exactly (a trade no batch could prove), even after its proceeds were spent, and says who is no longer covered", () => {
    const { e, risk } = setup();
    risk.credit(1, BASE1, 2_000n);
    risk.credit(2, Q, 10_000n);
    const before = risk.snapshot();
    e.execute(place(sell(1, 1n, 100n, 2n, { maxFeePpm: 100, timeInForce: TimeInForce.POST_ONLY })));
    const f = e.execute(place(buy(2, 1n, 105n, 2n, { maxFeePpm: 1000, timeInForce: TimeInForce.IOC }))).find((x): x is FillEvent => x.type === "fill")!;
    const fill = { buyAccount: 2, sellAccount: 1, lots: f.lots, priceTicks: f.priceTicks, buyFeePpm: f.takerFeePpm, sellFeePpm: f.makerFeePpm };
    assert.ok(risk.debit(2, BASE1, 2_000n), "the buyer withdraws the base it bought");
    risk.unwindFill(fill, MARKETS[0]!);
    assert.equal(risk.balance(2, BASE1), -2_000n, "the spent base is owed until what spent it is refused in turn");
    assert.deepEqual(risk.uncovered(2), [BASE1]);
    assert.equal(risk.debit(2, BASE1, 1n), false, "nothing more can be spent");
    risk.adjust(2, BASE1, 2_000n); // the withdrawal that spent it is refused and returned
    assert.deepEqual(risk.snapshot(), before, "balances and fee pool exactly as before the fill");
    assert.deepEqual(risk.uncovered(2), []);
    const negative = SpotRisk.restore({ version: 1, feePool: "0", entries: [[2, BASE1, "-5", "0"]] });
    assert.equal(negative.balance(2, BASE1), -5n, "a snapshot taken meanwhile restores");
    assert.throws(() => SpotRisk.restore({ version: 1, feePool: "0", entries: [[2, BASE1, "-5", "1"]] }), /bad entry/);
  });

  it("snapshots and restores to an identical state", () => {
    const { e, risk } = setup();
    risk.credit(1, Q, 50_000n);
    risk.credit(2, BASE1, 9_000n);
    e.execute(place(buy(1, 1n, 100n, 4n)));
    e.execute(place(sell(2, 1n, 99n, 6n)));
    const s = risk.snapshot();
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
    const r = SpotRisk.restore(JSON.parse(JSON.stringify(s)) as SpotRiskSnapshot);
    assert.deepEqual(r.snapshot(), s);
    assert.deepEqual(r.entries(), risk.entries());
    assert.equal(r.feePool, risk.feePool);
    assert.throws(() => SpotRisk.restore({ ...s, entries: [[1, 0, "1", "2"]] }), /bad entry/);
  });
});

describe("spot risk under random trading", () => {
  for (const [seed, policy] of [[11, SelfTradePolicy.CANCEL_MAKER], [12, SelfTradePolicy.CANCEL_TAKER]] as const) {
    it(`conserves every token, keeps 0 <= reserved <= balance, reservations = live orders (seed ${seed}, ${policy})`, () => {
      const risk = new SpotRisk();
      const markets = registry();
      let e = new MatchingEngine({ markets, risk, selfTradePolicy: policy });
      const accounts = 6;
      const r = prng(seed);
      const flow = randomFlow({ seed, ...DEFAULT_FLOW, accounts, cancelPct: 10 });
      const tokens = [Q, BASE1, BASE2];
      const net = new Map<number, bigint>(tokens.map((t) => [t, 0n])); // credits - debits
      /** Independent ledger rebuilt from fill events with the circuit's formula. */
      const ledger = new Map<string, bigint>();
      const add = (a: number, t: number, v: bigint): void => void ledger.set(`${a}:${t}`, (ledger.get(`${a}:${t}`) ?? 0n) + v);
      let feePool = 0n;
      const tally: Record<string, number> = {};
      for (let i = 0; i < 4000; i++) {
        if (i % 40 === 0 || r.chance(5)) {
          const a = 1 + r.int(accounts);
          const t = r.pick(tokens);
          const amount = BigInt(r.int(t === BASE1 ? 20_000 : t === BASE2 ? 40 : 60_000));
          if (r.chance(70)) {
            assert.ok(risk.credit(a, t, amount));
            net.set(t, net.get(t)! + amount);
            add(a, t, amount);
          } else if (risk.debit(a, t, amount)) {
            net.set(t, net.get(t)! - amount);
            add(a, t, -amount);
          }
        }
        if (i === 2000) e = MatchingEngine.restore(e.snapshot(), { markets, risk });
        const events: EngineEvent[] = e.execute(flow.next());
        for (const ev of events) {
          const k = ev.type === "rejected" ? ev.code : ev.type;
          tally[k] = (tally[k] ?? 0) + 1;
          if (ev.type !== "fill") continue;
          const m = markets.get(ev.marketId)!;
          const quote = ev.lots * ev.priceTicks * m.priceUnit;
          const base = ev.lots * m.sizeUnit;
          const [b, s] = ev.makerSide === Side.BUY ? [ev.makerAccount, ev.takerAccount] : [ev.takerAccount, ev.makerAccount];
          const bf = feeAmount(quote, ev.makerSide === Side.BUY ? ev.makerFeePpm : ev.takerFeePpm);
          const sf = feeAmount(quote, ev.makerSide === Side.BUY ? ev.takerFeePpm : ev.makerFeePpm);
          add(b, Q, -(quote + bf));
          add(b, m.baseTokenId, base);
          add(s, m.baseTokenId, -base);
          add(s, Q, quote - sf);
          feePool += bf + sf;
        }
        // Conservation.
        for (const t of tokens) {
          assert.equal(risk.totalBalance(t) + (t === Q ? risk.feePool : 0n), net.get(t), `token ${t} after command ${i}`);
        }
        assert.equal(risk.feePool, feePool);
        // Per-account balances, bounds, and reservations recomputed from the live orders.
        for (let a = 1; a <= accounts; a++) {
          const expectReserved = new Map<number, bigint>(tokens.map((t) => [t, 0n]));
          for (const o of e.openOrders(a)) {
            const m = markets.get(o.marketId)!;
            const t = o.side === Side.BUY ? Q : m.baseTokenId;
            const perLot = o.side === Side.BUY ? buyReservePerLot(o, m) : m.sizeUnit;
            expectReserved.set(t, expectReserved.get(t)! + o.remainingLots * perLot);
          }
          for (const t of tokens) {
            const bal = risk.balance(a, t);
            const res = risk.reserved(a, t);
            assert.equal(bal, ledger.get(`${a}:${t}`) ?? 0n, `balance ${a}/${t} after command ${i}`);
            assert.ok(0n <= res && res <= bal, `0 <= reserved <= balance for ${a}/${t} after command ${i}`);
            assert.equal(res, expectReserved.get(t), `reserved ${a}/${t} after command ${i}`);
          }
        }
      }
      for (const k of ["fill", "accepted", "RISK_REJECTED"]) assert.ok((tally[k] ?? 0) > 50, `too few ${k}: ${JSON.stringify(tally)}`);
    });
  }
});

// Review of 2026-12-06: GET /v1/accounts/:id read one account's balances by walking (and sorting) every entry of the
// exchange, about 106 ms at 100,000 funded accounts, for anyone, unmetered.
describe("SpotRisk.entriesOf (one account's balances for the API)", () => {
  it("gives the account's non-zero entries by token id, as entries() has them, and nothing of the other accounts", () => {
    const risk = new SpotRisk();
    for (let a = 1; a <= 500; a++) risk.credit(a, a % 3, BigInt(a));
    risk.credit(7, 3, 70n);
    risk.credit(7, 0, 5n);
    risk.credit(8, 2, 0n); // a zero entry is not listed
    const fromAll = (id: number, tokens: number) => risk.entries().filter((e) => e.accountId === id && e.tokenId < tokens).map(({ tokenId, balance, reserved }) => ({ tokenId, balance, reserved }));
    for (const id of [1, 7, 8, 499, 501]) assert.deepEqual(risk.entriesOf(id, 4), fromAll(id, 4), `account ${id}`);
    assert.deepEqual(risk.entriesOf(7, 4).map((e) => [e.tokenId, e.balance]), [[0n, 5n], [1, 7n], [3, 70n]].map(([t, b]) => [Number(t), b]));
    assert.deepEqual(risk.entriesOf(7, 2).map((e) => e.tokenId), [0, 1], "only token ids below the bound");
  });
});
