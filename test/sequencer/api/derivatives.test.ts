/**
 * The derivatives part of the network API over the offline derivatives sequencer (fake custodian, every
 * batch still built by the batch witness): GET /v1/instruments (marks at the latest oracle update, table
 * sizes), GET /v1/accounts/:id/derivatives and the positions of GET /v1/accounts/:id, POST /v1/transfers
 * and POST /v1/oracle/updates with every refusal changing nothing; and the SDK's transfer, derivatives
 * and instruments, and the test oracle feeder's funding rate from the perpetual's book premium.
 * Rate limits are in server.test.ts / rateLimit.test.ts.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createApiServer } from "../../../sequencer/api/server.ts";
import { DERIVATIVES_READ_COST } from "../../../sequencer/api/derivativesRoutes.ts";
import { get, post, wire, type App } from "../../helpers/apiInject.ts";
import { fundingStep, isFreeInstrument, lotRisk, optionMark } from "../../../sequencer/derivatives/formulas.ts";
import type { SignedOracleUpdate } from "../../../sequencer/derivatives/oracleStep.ts";
import { INSTRUMENT_MARKET_BASE, InstrumentKind, PPM, SETTLEMENT_WINDOW, Side, TriggerType, TxType } from "../../../sequencer/protocol/constants.ts";
import { apiRequest, ExchangeClient } from "../../../sequencer/sdk/client.ts";
import { OracleFeeder, type VolSurface } from "../../../sequencer/sdk/oracleFeeder.ts";
import { signCancel, signTransfer, signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import { ApiRequestError } from "../../../sequencer/sdk/wire.ts";
import type { Sequencer } from "../../../sequencer/service/sequencer.ts";
import { derivOrder, EXPIRY, INSTRUMENTS, NOW, ORACLE_KEY, oracleUpdate, PRICE, traders, VOL, volSlices } from "../../helpers/derivatives.ts";
import { EMPTY_SLICE } from "../../../sequencer/protocol/volSlices.ts";
import { DEPOSIT, derivativesSequencer, type FakeChain } from "../../helpers/derivativesSequencer.ts";
import { testTrader, type TestTrader } from "../../helpers/traders.ts";

const { alice, bob } = traders;
const PERP = 0;
const FUTURE = 1;
const PERP_MARKET = INSTRUMENT_MARKET_BASE + PERP;
/** 3000 quote per underlying x 0.01 underlying per lot, in quote units (1e-6). */
const MARK = 30_000_000n;
const QUOTE = 1_000_000n;





function setup(): { seq: Sequencer; chain: FakeChain; app: App } {
  const { seq, chain } = derivativesSequencer(NOW);
  const app = createApiServer(seq);
  after(() => app.close());
  return { seq, chain, app };
}

/** An oracle update at NOW through the API, then the registrations proven: both instruments trade. */
async function ready(): Promise<{ seq: Sequencer; chain: FakeChain; app: App }> {
  const s = setup();
  const r = await post(s.app, "/v1/oracle/updates", oracleUpdate());
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await s.seq.drain();
  assert.ok(s.seq.markets.get(PERP_MARKET), "the perpetual is a market once its registration is proven");
  return s;
}

const transfer = (t: TestTrader, amount: bigint, nonce: number, toCollateral = true) =>
  signTransfer(t.key, { accountId: t.accountId, toCollateral, amount, nonce });

/** Everything a refused request must leave as it was. */
function stateOf(seq: Sequencer) {
  return {
    pending: seq.pendingTransactions,
    latest: seq.derivatives.latest,
    oracleTime: seq.derivatives.risk.inputs?.time ?? null,
    instruments: seq.derivatives.instruments.map((i) => ({ ...i })),
    marks: seq.derivatives.risk.risks?.map((r) => r.mark) ?? null,
    accounts: Object.values(traders).map((t) => ({
      collateral: seq.derivatives.risk.account(t.accountId).collateral,
      positions: seq.derivatives.risk.account(t.accountId).positions.map((p) => p.size),
      spot: seq.risk.entries().filter((e) => e.accountId === t.accountId).map((e) => [e.tokenId, e.balance, e.reserved]),
      nonce: seq.withdrawalNonce(t.accountId),
      openOrders: seq.engine.openOrders(t.accountId).length,
    })),
  };
}

describe("api: the derivatives read's cost", () => {
  it("charges a source DERIVATIVES_READ_COST tokens per account read (it values the portfolio many times over): beyond its bucket, 429", async () => {
    const { seq } = derivativesSequencer(NOW);
    const app = createApiServer(seq, { rateLimits: { perSource: { perSecond: 1, burst: 2 * DERIVATIVES_READ_COST } } });
    after(() => app.close());
    for (let i = 0; i < 2; i++) assert.equal((await get(app, "/v1/accounts/1/derivatives")).status, 200);
    const r = await get(app, "/v1/accounts/1/derivatives");
    assert.deepEqual([r.status, r.body.code], [429, "RATE_LIMITED"]);
    assert.equal((await get(app, "/v1/instruments")).status, 200, "other reads are not charged");
  });
});

describe("api: times are the sequencer's clock", () => {
  it("GET /v1/health's time, fills and posted batches are stamped with the sequencer's clock (the devnet moves it with the chain's), not the wall clock", async () => {
    const { seq, chain, app } = await ready();
    for (const t of [alice, bob]) seq.requestTransfer(transfer(t, 1_000n * QUOTE, 0));
    await seq.drain();
    chain.now = NOW + 100;
    assert.equal((await get(app, "/v1/health")).body.time, NOW + 100);
    seq.placeOrder(derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 1n }));
    seq.placeOrder(derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 1n }));
    const fills = await get(app, "/v1/accounts/1/fills");
    assert.deepEqual(fills.body.fills.map((f: { time: number }) => f.time), [NOW + 100]);
    chain.now = NOW + 130;
    await seq.drain();
    const batches = await get(app, "/v1/batches");
    assert.equal(batches.body.batches[0].postedAt, NOW + 130);
  });
});

describe("api: GET /v1/instruments", () => {
  it("lists only proven instruments, with the table's sizes, and marks once an oracle update is accepted", async () => {
    const { seq, app } = setup();
    const empty = await get(app, "/v1/instruments");
    assert.equal(empty.status, 200);
    assert.deepEqual(empty.body, { oracleTime: null, fundingEpoch: 0, instrumentSlots: 4, optionSlots: 2, underlyings: 1, positionSlots: 3, instruments: [] }, "registrations queued, not yet proven");

    await seq.drain();
    const unmarked = await get(app, "/v1/instruments");
    assert.deepEqual(unmarked.body.instruments.map((i: Record<string, unknown>) => [i.instrumentId, i.marketId, i.kind, i.markPerLot]), [
      [PERP, PERP_MARKET, InstrumentKind.PERPETUAL, null],
      [FUTURE, INSTRUMENT_MARKET_BASE + FUTURE, InstrumentKind.FUTURE, null],
    ], "proven, but no oracle update yet: no mark");
    assert.equal(unmarked.body.oracleTime, null);

    const u = await post(app, "/v1/oracle/updates", oracleUpdate());
    assert.equal(u.status, 200, JSON.stringify(u.body));
    assert.deepEqual(u.body, { fundingTick: false, settled: [], liquidations: [], deleveraged: [], cancelled: [] });
    const marked = await get(app, "/v1/instruments");
    assert.equal(marked.body.oracleTime, NOW);
    const [perp, future] = marked.body.instruments;
    assert.deepEqual(perp, {
      instrumentId: PERP, marketId: PERP_MARKET, kind: InstrumentKind.PERPETUAL, underlying: 0, lotSizeE6: "10000", tickValue: "100", tickSizeE8: "1000000",
      imPpm: "100000", mmPpm: "50000", strike: "0", expiry: 0, fundingCapPpm: "1000", fundingIndex: "0", settlePrice: "0", generation: 0, status: "live", markPerLot: MARK.toString(), volPpm: null, openInterestLots: "0", holders: 0,
    });
    assert.equal(future.expiry, EXPIRY);
    const futureState = { ...INSTRUMENTS[FUTURE], fundingIndex: 0n, settlePrice: 0n, holders: 0, generation: 0 };
    assert.equal(future.markPerLot, lotRisk(futureState, PRICE, VOL, NOW).mark.toString());
  });
});

describe("api: POST /v1/oracle/updates", () => {
  it("applies a funding tick and moves the marks", async () => {
    const { seq, chain, app } = await ready();
    chain.now = NOW + 10;
    const r = await post(app, "/v1/oracle/updates", oracleUpdate({ time: NOW + 10, fundingEpoch: 1, prices: [310_000_000_000n], rates: [500n, 0n, 0n, 0n] }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.fundingTick, true);
    const { body } = await get(app, "/v1/instruments");
    assert.equal(body.oracleTime, NOW + 10);
    assert.equal(body.instruments[PERP].markPerLot, "31000000");
    assert.equal(body.instruments[PERP].fundingIndex, fundingStep(500n, 31_000_000n).toString());
    await seq.drain();
    assert.equal(seq.state.instruments[PERP].fundingIndex, fundingStep(500n, 31_000_000n), "the proven table agrees");
  });

  it("refuses bad updates with a clear code and changes nothing", async () => {
    const { seq, chain, app } = await ready();
    chain.now = NOW + 50;
    const before = stateOf(seq);
    const good = wire(oracleUpdate({ time: NOW + 10 }));
    const tampered = { ...good, prices: ["310000000000"] };
    const slices = good.volSlices as Record<string, unknown>[];
    const cases: [string, unknown, string][] = [
      ["unsigned", { ...good, signature: undefined }, "UNSIGNED"],
      ["no prices", { ...good, prices: [] }, "MALFORMED"],
      ["one vol slice (one per option id: 2)", { ...good, volSlices: [slices[0]] }, "MALFORMED"],
      ["three vol slices", { ...good, volSlices: [slices[0], slices[1], slices[1]] }, "MALFORMED"],
      ["a vol slice without its slope", { ...good, volSlices: [{ ...slices[0], slopePpm: undefined }, slices[1]] }, "MALFORMED"],
      ["a vol slope over 24 signed bits", { ...good, volSlices: [{ ...slices[0], slopePpm: (1n << 23n).toString() }, slices[1]] }, "MALFORMED"],
      // wire fuzz of 2026-12-07: the schema took 0..255, the message hash (sliceWord) only 0..3, and threw: 500 INTERNAL,
      // logged, for anyone's unsigned post
      ["a vol slice's underlying past what the hash packs (4)", { ...good, volSlices: [{ ...slices[0], underlying: 4 }, slices[1]] }, "MALFORMED"],
      ["a vol slice's underlying 255", { ...good, volSlices: [slices[0], { ...slices[1], underlying: 255 }] }, "MALFORMED"],
      ["three rates", { ...good, rates: ["0", "0", "0"] }, "MALFORMED"],
      ["five rates", { ...good, rates: ["0", "0", "0", "0", "0"] }, "MALFORMED"],
      ["rate over 24 bits", { ...good, rates: [(1n << 23n).toString(), "0", "0", "0"] }, "MALFORMED"],
      ["price over 50 bits", { ...good, prices: [(1n << 50n).toString()] }, "MALFORMED"],
      ["price as number", { ...good, prices: [300_000_000_000] }, "MALFORMED"],
      ["unknown key", { ...good, extra: 1 }, "MALFORMED"],
      ["no key", { ...good, key: undefined }, "MALFORMED"],
      ["another key", wire(oracleUpdate({ time: NOW + 10 }, new Uint8Array(32).fill(5))), "BAD_ORACLE_KEY"],
      ["key not a point", { ...good, key: ["1", "2"] }, "BAD_ORACLE_KEY"],
      ["tampered", tampered, "BAD_ORACLE_SIGNATURE"],
      ["back in time", wire(oracleUpdate({ time: NOW - 1 })), "ORACLE_WENT_BACK"],
      ["from the future", wire(oracleUpdate({ time: NOW + 51 })), "ORACLE_FROM_FUTURE"],
      ["epoch skipped", wire(oracleUpdate({ time: NOW + 10, fundingEpoch: 2 })), "BAD_FUNDING_EPOCH"],
      ["rate above the cap", wire(oracleUpdate({ time: NOW + 10, fundingEpoch: 1, rates: [1_001n, 0n, 0n, 0n] })), "FUNDING_ABOVE_CAP"],
      ["rate on the future", wire(oracleUpdate({ time: NOW + 10, fundingEpoch: 1, rates: [0n, 1n, 0n, 0n] })), "FUNDING_NOT_PERPETUAL"],
      ["price too low", wire(oracleUpdate({ time: NOW + 10, prices: [1n] })), "BAD_ORACLE_PRICE"],
      ["vol too low", wire(oracleUpdate({ time: NOW + 10, volSlices: volSlices((1n << 13n) - 1n) })), "BAD_ORACLE_VOL"],
      ["the same expiry twice", wire(oracleUpdate({ time: NOW + 10, volSlices: [volSlices()[0], volSlices()[0]] })), "BAD_ORACLE_VOL"],
      ["settlement with two prices (one underlying)", { ...good, settlement: { expiry: EXPIRY, prices: ["310000000000", "310000000000"] } }, "MALFORMED"],
      ["settlement at expiry 0", { ...good, settlement: { expiry: 0, prices: ["310000000000"] } }, "MALFORMED"],
      ["settlement price over 50 bits", { ...good, settlement: { expiry: EXPIRY, prices: [(1n << 50n).toString()] } }, "MALFORMED"],
      ["settlement added after signing", { ...good, settlement: { expiry: EXPIRY, prices: ["310000000000"] } }, "BAD_ORACLE_SIGNATURE"],
      ["settlement price too low", wire(oracleUpdate({ time: NOW + 10, settlement: { expiry: EXPIRY, prices: [1n] } })), "BAD_ORACLE_SETTLEMENT"],
    ];
    for (const [name, body, code] of cases) {
      const r = await post(app, "/v1/oracle/updates", JSON.stringify(body));
      assert.deepEqual([r.status, r.body.code], [400, code], `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(typeof r.body.message, "string", name);
      assert.deepEqual(stateOf(seq), before, `${name} changed nothing`);
    }
    const instruments = await get(app, "/v1/instruments");
    assert.equal(instruments.body.oracleTime, NOW, "the latest oracle time is the one accepted");
    assert.equal(instruments.body.instruments[PERP].markPerLot, MARK.toString());

    // The good one is still accepted after all that.
    const ok = await post(app, "/v1/oracle/updates", good);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(seq.derivatives.latest!.time, NOW + 10);
  });
});

describe("api: POST /v1/transfers", () => {
  it("is refused before any oracle update, changing nothing", async () => {
    const { seq, app } = setup();
    const before = stateOf(seq);
    const r = await post(app, "/v1/transfers", transfer(alice, QUOTE, 0));
    assert.deepEqual([r.status, r.body.code], [400, "NO_ORACLE"]);
    assert.deepEqual(stateOf(seq), before);
    assert.equal((await get(app, "/v1/accounts/1")).body.withdrawalNonce, 0, "the nonce is not used up");
  });

  it("moves quote to collateral and back, sharing the nonce with withdrawals", async () => {
    const { seq, app } = await ready();
    const amount = 10_000n * QUOTE;
    const n = seq.pendingTransactions;
    const r = await post(app, "/v1/transfers", transfer(alice, amount, 0));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { status: "accepted", accountId: 1, toCollateral: true, amount: amount.toString(), nonce: 0 });
    assert.equal(seq.pendingTransactions, n + 1);

    const report = await get(app, "/v1/accounts/1/derivatives");
    assert.equal(report.status, 200);
    assert.deepEqual(report.body, {
      accountId: 1, collateral: amount.toString(), equity: amount.toString(), initialMargin: "0", maintenanceMargin: "0", marginWithOrders: "0",
      available: amount.toString(), oracleTime: NOW, positions: [], greeks: { delta: 0, gamma: 0, vega: 0, theta: 0 }, liquidation: [],
    });
    const acct = await get(app, "/v1/accounts/1");
    assert.deepEqual(acct.body.balances, [{ tokenId: 0, balance: (DEPOSIT - amount).toString(), reserved: "0", available: (DEPOSIT - amount).toString() }]);
    assert.equal(acct.body.withdrawalNonce, 1);
    assert.deepEqual(acct.body.positions, []);

    // A withdrawal takes nonce 1, so a transfer must then carry 2.
    const stale = await post(app, "/v1/withdrawals", signWithdrawal(alice.key, { accountId: 1, tokenId: 0, amount: QUOTE, nonce: 0 }));
    assert.deepEqual([stale.status, stale.body.code], [400, "BAD_NONCE"]);
    assert.equal((await post(app, "/v1/withdrawals", signWithdrawal(alice.key, { accountId: 1, tokenId: 0, amount: QUOTE, nonce: 1 }))).status, 200);
    assert.equal((await post(app, "/v1/transfers", transfer(alice, 1n, 1))).body.code, "BAD_NONCE");
    const back = await post(app, "/v1/transfers", transfer(alice, 4_000n * QUOTE, 2, false));
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal((await get(app, "/v1/accounts/1/derivatives")).body.collateral, (6_000n * QUOTE).toString());
    assert.equal(seq.risk.available(1, 0), DEPOSIT - amount - QUOTE + 4_000n * QUOTE);

    await seq.drain();
    assert.equal(seq.state.account(1).deriv.collateral, 6_000n * QUOTE, "the proven collateral");
    assert.equal(seq.state.balance(1, 0), DEPOSIT - 6_000n * QUOTE - QUOTE, "the proven spot balance (less the withdrawal)");
  });

  it("refuses bad transfers with a clear code and changes nothing", async () => {
    const { seq, app } = await ready();
    assert.equal((await post(app, "/v1/transfers", transfer(alice, 5_000n * QUOTE, 0))).status, 200);
    const before = stateOf(seq);
    const good = wire(transfer(alice, QUOTE, 1, false));
    const cases: [string, unknown, string][] = [
      ["unsigned", { ...good, signature: undefined }, "UNSIGNED"],
      ["mis-signed", wire({ ...transfer(bob, QUOTE, 1, false), accountId: 1 }), "BAD_SIGNATURE"],
      ["tampered amount", { ...good, amount: "2" }, "BAD_SIGNATURE"],
      ["tampered direction", { ...good, toCollateral: true }, "BAD_SIGNATURE"],
      ["replayed", wire(transfer(alice, 5_000n * QUOTE, 0)), "BAD_NONCE"],
      ["nonce ahead", wire(transfer(alice, QUOTE, 2, false)), "BAD_NONCE"],
      ["amount 2^96", { ...good, amount: (1n << 96n).toString() }, "MALFORMED"],
      ["negative amount", { ...good, amount: "-1" }, "MALFORMED"],
      ["amount as number", { ...good, amount: 1 }, "MALFORMED"],
      ["nonce over 32 bits", { ...good, nonce: 2 ** 32 }, "MALFORMED"],
      ["direction not a boolean", { ...good, toCollateral: 1 }, "MALFORMED"],
      ["unknown key", { ...good, tokenId: 0 }, "MALFORMED"],
      ["zero amount", wire(transfer(alice, 0n, 1, false)), "BAD_AMOUNT"],
      ["more than the spot balance", wire(transfer(alice, DEPOSIT, 1)), "INSUFFICIENT_BALANCE"],
      ["more than the collateral", wire(transfer(alice, 5_000n * QUOTE + 1n, 1, false)), "INSUFFICIENT_MARGIN"],
      ["no trading key", wire(transfer(testTrader(4), QUOTE, 0)), "NO_TRADING_KEY"],
    ];
    for (const [name, body, code] of cases) {
      const r = await post(app, "/v1/transfers", JSON.stringify(body));
      assert.deepEqual([r.status, r.body.code], [400, code], `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(typeof r.body.message, "string", name);
      assert.deepEqual(stateOf(seq), before, `${name} changed nothing`);
    }
    const amountRange = await post(app, "/v1/transfers", { ...good, amount: (1n << 96n).toString() });
    assert.deepEqual(amountRange.body.issues[0].path, ["amount"]);
    assert.equal((await post(app, "/v1/transfers", good)).status, 200, "the good one still goes through with nonce 1");
    assert.equal(seq.derivatives.risk.account(1).collateral, 4_999n * QUOTE);
  });

  it("refuses to take out collateral that open orders or positions need", async () => {
    const { seq, app } = await ready();
    for (const t of [alice, bob]) assert.equal((await post(app, "/v1/transfers", transfer(t, 5_000n * QUOTE, 0))).status, 200);
    // 1,000 lots bid at 2,900: 2,900 quote of initial margin plus the worst-case fee.
    const placed = await post(app, "/v1/orders", derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY, priceTicks: 290_000n, sizeLots: 1_000n }));
    assert.equal(placed.body.events[0].type, "accepted");
    const withOrder = (await get(app, "/v1/accounts/1/derivatives")).body;
    assert.ok(BigInt(withOrder.marginWithOrders) > 2_900n * QUOTE);
    assert.equal(BigInt(withOrder.available), 5_000n * QUOTE - BigInt(withOrder.marginWithOrders));
    let before = stateOf(seq);
    const tooMuch = await post(app, "/v1/transfers", transfer(alice, BigInt(withOrder.available) + 1n, 1, false));
    assert.deepEqual([tooMuch.status, tooMuch.body.code], [400, "INSUFFICIENT_MARGIN"]);
    assert.deepEqual(stateOf(seq), before);

    // Filled against bob: a position of 1,000 lots at 2,900 (marked at 3,000), bob short.
    const fill = await post(app, "/v1/orders", derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 290_000n, sizeLots: 1_000n }));
    assert.ok(fill.body.events.some((e: { type: string }) => e.type === "fill"));
    const bobReport = (await get(app, "/v1/accounts/2/derivatives")).body;
    assert.equal(bobReport.positions[0].size, "-1000");
    before = stateOf(seq);
    const out = await post(app, "/v1/transfers", transfer(bob, BigInt(bobReport.available) + 1n, 1, false));
    assert.deepEqual([out.status, out.body.code], [400, "INSUFFICIENT_MARGIN"]);
    assert.deepEqual(stateOf(seq), before);
    // Exactly what is available may go.
    assert.equal((await post(app, "/v1/transfers", transfer(bob, BigInt(bobReport.available), 1, false))).status, 200);
    assert.equal((await get(app, "/v1/accounts/2/derivatives")).body.available, "0");
    await seq.drain();
    assert.equal(seq.state.account(2).deriv.collateral, seq.derivatives.risk.account(2).collateral);
  });
});

describe("api: GET /v1/accounts/:id/derivatives", () => {
  it("reports positions with entry, PnL, fees, margins and Greeks after a perpetual trade", async () => {
    const { seq, chain, app } = await ready();
    for (const t of [alice, bob]) assert.equal((await post(app, "/v1/transfers", transfer(t, 10_000n * QUOTE, 0))).status, 200);
    await post(app, "/v1/orders", derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 100n }));
    const taken = await post(app, "/v1/orders", derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 100n }));
    assert.ok(taken.body.events.some((e: { type: string }) => e.type === "fill"));

    const notional = 100n * MARK; // 3,000 quote
    const takerFee = (notional * 500n) / PPM;
    const makerFee = (notional * 100n) / PPM;
    const a = (await get(app, "/v1/accounts/1/derivatives")).body;
    assert.deepEqual(a.positions, [{
      instrumentId: PERP, marketId: PERP_MARKET, kind: InstrumentKind.PERPETUAL, size: "100", averageEntryPerLot: MARK.toString(), costBasis: notional.toString(),
      markPerLot: MARK.toString(), unrealisedPnl: "0", realisedPnl: "0", feesPaid: takerFee.toString(), fundingPaid: "0", greeks: { delta: 1, gamma: 0, vega: 0, theta: 0 },
    }]);
    // The trade price is paid out of collateral (the position carries no cost basis in the proven state):
    // equity is collateral plus size x mark.
    assert.equal(a.collateral, (10_000n * QUOTE - notional - takerFee).toString());
    assert.equal(a.equity, (10_000n * QUOTE - takerFee).toString());
    assert.equal(a.available, (10_000n * QUOTE - takerFee - BigInt(a.marginWithOrders)).toString());
    assert.equal(a.initialMargin, (notional / 10n).toString());
    assert.equal(a.maintenanceMargin, (notional / 20n).toString());
    assert.deepEqual(a.greeks, { delta: 1, gamma: 0, vega: 0, theta: 0 });
    // liquidation prices: alice's long is paid in full (never liquidated); bob's short falls under maintenance
    // margin where 13,000 of collateral (less his fee) meets 100 lots' value plus 5%: C = 100 V (1 + 0.05)
    assert.deepEqual(a.liquidation, [{ underlying: 0, indexPrice: PRICE.toString(), below: null, above: null }]);
    const [bobLiq] = (await get(app, "/v1/accounts/2/derivatives")).body.liquidation;
    assert.equal(bobLiq.below, null);
    const bobC = 10_000n * QUOTE + notional - makerFee;
    const closed = (((bobC * PPM) / (100n * 1_050_000n)) * PRICE) / MARK; // V per lot back to an index price
    assert.ok(Math.abs(Number(BigInt(bobLiq.above) - closed)) < Number(closed) / 10_000, `${bobLiq.above} near ${closed}`);
    const b = (await get(app, "/v1/accounts/2/derivatives")).body;
    assert.deepEqual([b.positions[0].size, b.positions[0].feesPaid, b.positions[0].greeks.delta], ["-100", makerFee.toString(), -1]);
    assert.equal(b.collateral, (10_000n * QUOTE + notional - makerFee).toString());
    assert.equal(b.equity, (10_000n * QUOTE - makerFee).toString());

    const acct = (await get(app, "/v1/accounts/1")).body;
    assert.deepEqual(acct.positions, a.positions, "GET /v1/accounts/:id lists the same positions");

    // The trade is proven as reported; then the index rises to 3,100: alice gains what bob loses.
    await seq.drain();
    assert.equal(seq.state.account(1).deriv.positions[PERP].size, 100n);
    assert.equal(seq.state.account(1).deriv.collateral, 10_000n * QUOTE - notional - takerFee);
    chain.now = NOW + 10;
    assert.equal((await post(app, "/v1/oracle/updates", oracleUpdate({ time: NOW + 10, prices: [310_000_000_000n] }))).status, 200);
    const up = (await get(app, "/v1/accounts/1/derivatives")).body;
    assert.equal(up.oracleTime, NOW + 10);
    assert.deepEqual([up.positions[0].markPerLot, up.positions[0].unrealisedPnl], ["31000000", (100n * QUOTE).toString()]);
    assert.equal(up.equity, (10_000n * QUOTE - takerFee + 100n * QUOTE).toString());
    const down = (await get(app, "/v1/accounts/2/derivatives")).body;
    assert.equal(down.positions[0].unrealisedPnl, (-100n * QUOTE).toString());
    assert.equal(down.equity, (10_000n * QUOTE - makerFee - 100n * QUOTE).toString());
  });

  it("reports the funding a perpetual position paid over funding steps: size x the index's step, pending then settled, signed", async () => {
    const { seq, chain, app } = await ready();
    for (const t of [alice, bob]) assert.equal((await post(app, "/v1/transfers", transfer(t, 10_000n * QUOTE, 0))).status, 200);
    await post(app, "/v1/orders", derivOrder(bob, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 100n }));
    await post(app, "/v1/orders", derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 100n }));
    const fundingOf = async (t: TestTrader) => (await get(app, `/v1/accounts/${t.accountId}/derivatives`)).body.positions[0].fundingPaid;
    assert.deepEqual([await fundingOf(alice), await fundingOf(bob)], ["0", "0"], "no funding step yet");

    // Epoch 1 ends at 3,100 with a rate of 500 ppm: the index steps by fundingStep(500, mark); longs pay it per lot, shorts receive it.
    chain.now = NOW + 10;
    assert.equal((await post(app, "/v1/oracle/updates", oracleUpdate({ time: NOW + 10, fundingEpoch: 1, prices: [310_000_000_000n], rates: [500n, 0n, 0n, 0n] }))).status, 200);
    const step1 = fundingStep(500n, 31_000_000n);
    assert.equal(step1, 15_500n);
    const collateralBefore = seq.derivatives.risk.account(alice.accountId).collateral;
    assert.deepEqual([await fundingOf(alice), await fundingOf(bob)], [(100n * step1).toString(), (-100n * step1).toString()], "pending (not yet settled on the accounts)");
    const report = (await get(app, "/v1/accounts/1/derivatives")).body;
    assert.equal(report.collateral, (collateralBefore - 100n * step1).toString(), "the collateral reported is net of it");

    // alice's next transfer touches her account: the funding is settled out of collateral and still reported once, not twice
    assert.equal((await post(app, "/v1/transfers", transfer(alice, QUOTE, 1))).status, 200);
    assert.equal(seq.derivatives.risk.account(alice.accountId).collateral, collateralBefore - 100n * step1 + QUOTE);
    assert.equal(await fundingOf(alice), (100n * step1).toString());
    assert.deepEqual((await get(app, "/v1/accounts/1")).body.positions, (await get(app, "/v1/accounts/1/derivatives")).body.positions, "GET /v1/accounts/:id agrees");

    // Epoch 2 ends at 2,900 with a negative rate: longs receive; the totals add up, settled plus pending.
    chain.now = NOW + 20;
    assert.equal((await post(app, "/v1/oracle/updates", oracleUpdate({ time: NOW + 20, fundingEpoch: 2, prices: [290_000_000_000n], rates: [-300n, 0n, 0n, 0n] }))).status, 200);
    const step2 = fundingStep(-300n, 29_000_000n);
    assert.deepEqual([await fundingOf(alice), await fundingOf(bob)], [(100n * (step1 + step2)).toString(), (-100n * (step1 + step2)).toString()]);
  });

  it("answers an account without derivatives, and refuses a malformed id", async () => {
    const { app } = await ready();
    const none = await get(app, "/v1/accounts/7/derivatives");
    assert.equal(none.status, 200);
    assert.deepEqual([none.body.accountId, none.body.collateral, none.body.positions], [7, "0", []]);
    assert.equal((await get(app, "/v1/accounts/x/derivatives")).body.code, "MALFORMED");
    assert.equal((await get(app, "/v1/accounts/99999999999/derivatives")).body.code, "MALFORMED");
  });
});

describe("api: held stop and take-profit orders among the account's open orders", () => {
  it("lists a stop order as held with its trigger (beside a resting order, status open), answers it by id, and a signed cancel removes it", async () => {
    const { app } = await ready();
    assert.equal((await post(app, "/v1/transfers", transfer(alice, 5_000n * QUOTE, 0))).status, 200);
    const resting = await post(app, "/v1/orders", derivOrder(alice, PERP, { orderId: 1n, side: Side.BUY, priceTicks: 290_000n, sizeLots: 10n }));
    assert.equal(resting.body.events[0].type, "accepted");
    // a stop buy at 3,100 (310,000 ticks): the mark (3,000) is below it, so the exchange holds it
    const stop = derivOrder(alice, PERP, { orderId: 2n, side: Side.BUY, priceTicks: 320_000n, sizeLots: 5n, triggerType: TriggerType.STOP, triggerPriceTicks: 310_000n });
    const held = await post(app, "/v1/orders", stop);
    assert.equal(held.status, 200, JSON.stringify(held.body));
    assert.equal(held.body.events[0].type, "held");

    const { signature: _s, ...fields } = wire(stop) as Record<string, unknown>;
    const heldView = { ...fields, status: "held", triggerType: TriggerType.STOP, triggerPriceTicks: "310000", remainingLots: "5", filledLots: "0", heldSince: NOW };
    const open = (await get(app, "/v1/accounts/1")).body.openOrders;
    assert.deepEqual(open.map((o: Record<string, unknown>) => [o.orderId, o.status]), [["1", "open"], ["2", "held"]], "resting orders first, then held ones");
    assert.deepEqual(open[1], heldView);
    assert.deepEqual((await get(app, "/v1/accounts/1/orders/2")).body, { order: heldView });

    const cancelled = await post(app, "/v1/cancels", signCancel(alice.key, { accountId: alice.accountId, orderId: 2n }));
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.deepEqual(cancelled.body.events.filter((e: { type: string }) => e.type === "cancelled").map((e: Record<string, unknown>) => [e.orderId, e.reason]), [["2", "user"]]);
    assert.deepEqual((await get(app, "/v1/accounts/1")).body.openOrders.map((o: Record<string, unknown>) => o.orderId), ["1"], "the held order is gone, the resting one stays");
    const gone = await get(app, "/v1/accounts/1/orders/2");
    assert.deepEqual([gone.status, gone.body.code], [404, "UNKNOWN_ORDER"]);
    const again = await post(app, "/v1/cancels", signCancel(alice.key, { accountId: alice.accountId, orderId: 2n }));
    assert.deepEqual([again.status, again.body.code], [422, "UNKNOWN_ORDER"], "a replayed cancel of the held order is refused");
  });

  it("a held stop order past its expiry reads as it will once the next record drops it (reason expired): out of openOrders, its read 404, before that record as after", async () => {
    const { app, chain, seq } = await ready();
    const stop = derivOrder(alice, PERP, { orderId: 2n, side: Side.BUY, priceTicks: 320_000n, sizeLots: 5n, triggerType: TriggerType.STOP, triggerPriceTicks: 310_000n, expiry: NOW + 10 });
    assert.equal((await post(app, "/v1/orders", stop)).body.events[0].type, "held");
    chain.now = NOW + 10; // held at its expiry second
    assert.equal((await get(app, "/v1/accounts/1/orders/2")).body.order.status, "held");
    chain.now = NOW + 11;
    const reads = async () => [(await get(app, "/v1/accounts/1")).body.openOrders, await get(app, "/v1/accounts/1/orders/2"), (await get(app, "/v1/accounts/1/orders")).body.orders];
    const [open, one, history] = await reads();
    assert.deepEqual(open, []);
    assert.deepEqual([one.status, one.body.code], [404, "UNKNOWN_ORDER"], "as after the sweep: a held order is not in the order history (6.8)");
    assert.deepEqual(history, []);
    assert.equal(seq.heldOrders().length, 1, "still held: no record yet");
    // the next record (a transfer) drops it, reason expired; the reads answer the same
    const dropped: unknown[] = [];
    seq.events.on("engine", (events) => dropped.push(...events.filter((e) => e.type === "cancelled").map((e) => e.type === "cancelled" && [e.orderId, e.reason])));
    assert.equal((await post(app, "/v1/transfers", transfer(alice, QUOTE, 0))).status, 200);
    assert.deepEqual(dropped, [[2n, "expired"]]);
    assert.deepEqual(seq.heldOrders(), []);
    const [open2, one2, history2] = await reads();
    assert.deepEqual([open2, one2.status, one2.body, history2], [open, one.status, one.body, history]);
  });
});

describe("sdk: derivatives", () => {
  async function listen() {
    const s = await ready();
    const url = await s.app.listen({ host: "127.0.0.1", port: 0 });
    const client = (t: TestTrader) => new ExchangeClient({ url, accountId: t.accountId, tradingKey: { privateKey: t.key, publicKey: t.pubKey }, firstOrderId: 1n });
    return { ...s, url, client };
  }

  it("streams the account's derivatives report, funding paid included, after its fills, its transfers and each oracle update", async () => {
    const { chain, app, client } = await listen();
    const [a, b] = [client(alice), client(bob)];
    const stream = await a.stream();
    after(() => stream.close());
    /** The next derivatives report on alice's private stream, waited for from before `action` runs. */
    const reportAfter = async (action: () => Promise<unknown>) => {
      const next = stream.next((m) => m.type === "derivatives");
      await action();
      return (await next).report;
    };
    assert.equal((await reportAfter(() => a.transfer(true, 10_000n * QUOTE))).collateral, 10_000n * QUOTE);
    await b.transfer(true, 10_000n * QUOTE);
    await b.placeOrder({ marketId: PERP_MARKET, side: Side.SELL, priceTicks: 300_000n, sizeLots: 100n });
    const filled = await reportAfter(() => a.placeOrder({ marketId: PERP_MARKET, side: Side.BUY, priceTicks: 300_000n, sizeLots: 100n }));
    assert.deepEqual([filled.positions[0].size, filled.positions[0].fundingPaid], [100n, 0n]);
    chain.now = NOW + 10;
    const funded = await reportAfter(() => post(app, "/v1/oracle/updates", oracleUpdate({ time: NOW + 10, fundingEpoch: 1, prices: [310_000_000_000n], rates: [500n, 0n, 0n, 0n] })));
    assert.equal(funded.oracleTime, NOW + 10);
    assert.equal(funded.positions[0].fundingPaid, 100n * fundingStep(500n, 31_000_000n));
    const { liquidation, ...summary } = await a.derivatives();
    assert.deepEqual(funded, summary, "the streamed report is the HTTP one less its liquidation prices");
    assert.equal("liquidation" in funded, false, "the stream leaves the liquidation prices out");
    assert.equal(liquidation.length, 1, "the HTTP report has them: alice is long on underlying 0");
  });

  it("reads a held take-profit order among the account's open orders with bigints, and cancelAll cancels it", async () => {
    const { client } = await listen();
    const a = client(alice);
    // a take-profit sell at 3,100 (310,000 ticks): it fires on a rise, the mark is 3,000, so it is held
    const { order, events } = await a.placeOrder({ marketId: PERP_MARKET, side: Side.SELL, priceTicks: 305_000n, sizeLots: 3n, reduceOnly: true, triggerType: TriggerType.TAKE_PROFIT, triggerPriceTicks: 310_000n });
    assert.equal(events[0].type, "held");
    const [held] = (await a.account()).openOrders;
    assert.ok(held.status === "held", `status ${held.status}`);
    assert.deepEqual([held.orderId, held.triggerType, held.triggerPriceTicks, held.reduceOnly, held.remainingLots, held.filledLots], [order.orderId, TriggerType.TAKE_PROFIT, 310_000n, true, 3n, 0n]);
    const results = await a.cancelAll(PERP_MARKET);
    assert.deepEqual(results.map((r) => [r.orderId, r.result.status]), [[order.orderId, 200]]);
    assert.deepEqual((await a.account()).openOrders, []);
  });

  it("transfers, and reads derivatives and instruments with bigints where the protocol has them", async () => {
    const { seq, client } = await listen();
    const a = client(alice);
    const t = await a.transfer(true, 10_000n * QUOTE);
    assert.equal(t.nonce, 0, "the nonce from the account");
    const report = await a.derivatives();
    assert.equal(report.collateral, 10_000n * QUOTE);
    assert.equal(report.available, 10_000n * QUOTE);
    assert.equal((await a.account()).withdrawalNonce, 1);

    await assert.rejects(a.transfer(true, 1n, 0), (e: ApiRequestError) => e.status === 400 && e.code === "BAD_NONCE");
    await assert.rejects(a.transfer(false, 10_000n * QUOTE + 1n), (e: ApiRequestError) => e.status === 400 && e.code === "INSUFFICIENT_MARGIN");
    await a.transfer(false, 1_000n * QUOTE);
    assert.equal((await a.derivatives()).collateral, 9_000n * QUOTE);

    const b = client(bob);
    await b.transfer(true, 10_000n * QUOTE);
    await b.placeOrder({ marketId: PERP_MARKET, side: Side.SELL, priceTicks: 300_000n, sizeLots: 10n, expiry: NOW + 3600 });
    await a.placeOrder({ marketId: PERP_MARKET, side: Side.BUY, priceTicks: 300_000n, sizeLots: 10n, expiry: NOW + 3600 });
    const [pos] = (await b.derivatives()).positions;
    assert.deepEqual([pos.size, pos.markPerLot, pos.unrealisedPnl], [-10n, MARK, 0n]);

    const { instruments, instrumentSlots, optionSlots, underlyings, positionSlots, oracleTime } = await a.instruments();
    assert.deepEqual([instrumentSlots, optionSlots, underlyings, positionSlots, oracleTime], [4, 2, 1, 3, NOW]);
    assert.equal(instruments[PERP].markPerLot, MARK);
    assert.deepEqual([instruments[PERP].tickValue, instruments[PERP].lotSizeE6, instruments[PERP].fundingCapPpm], [100n, 10_000n, 1_000n]);
    assert.equal(instruments[PERP].tickSizeE8, 1_000_000n, "revived as a bigint, as its type says");
    assert.equal((await a.derivatives()).equity, 9_000n * QUOTE - (10n * MARK * 500n) / PPM);
    assert.equal(seq.derivatives.risk.account(1).collateral, 9_000n * QUOTE - 10n * MARK - (10n * MARK * 500n) / PPM);
  });

  it("reads the treasury of the proven state: the fee pool once the trade is proven, then what a FEE_WITHDRAW left", async () => {
    const { seq, client } = await listen();
    const [a, b] = [client(alice), client(bob)];
    assert.deepEqual(await a.treasury(), { feePool: 0n, insuranceFund: 0n, openBadDebt: 0n, pooledQuote: 0n });
    await a.transfer(true, 10_000n * QUOTE);
    await b.transfer(true, 10_000n * QUOTE);
    await b.placeOrder({ marketId: PERP_MARKET, side: Side.SELL, priceTicks: 300_000n, sizeLots: 10n, expiry: NOW + 3600 });
    await a.placeOrder({ marketId: PERP_MARKET, side: Side.BUY, priceTicks: 300_000n, sizeLots: 10n, expiry: NOW + 3600 });
    assert.equal((await a.treasury()).feePool, 0n, "not proven yet");
    await seq.drain();
    const fees = (10n * MARK * 500n) / PPM + (10n * MARK * 100n) / PPM;
    assert.deepEqual(await a.treasury(), { feePool: fees, insuranceFund: 0n, openBadDebt: 0n, pooledQuote: 20_000n * QUOTE }, "both transfers are collateral; the fees moved inside");
    seq.acceptRequest({ type: TxType.FEE_WITHDRAW, amount: fees - 1n });
    await seq.drain();
    assert.equal((await a.treasury()).feePool, 1n);
  });

  it("OracleFeeder signs a vol slice per (underlying, expiry) from its surface, and the sequencer marks each option at its slice's vol for its strike; an update missing a live option's slice is refused (NO_VOL_SLICE)", async () => {
    const { seq, chain, url, client } = await listen();
    const a = client(alice);
    // The call and the put (ids 2 and 3, the option ids, both strike 3,000 at EXPIRY) listed beside the perpetual and the future.
    for (const id of [2, 3]) seq.acceptRequest({ type: TxType.REGISTER_INSTRUMENT, instrumentId: id, ...INSTRUMENTS[id] });
    await seq.drain();
    const feeder = new OracleFeeder({ url, key: ORACLE_KEY, fundingEpochSeconds: 3600, clock: () => chain.now });
    chain.now = NOW + 1;
    const asked: [number, number][] = [];
    const putSkew: VolSurface = (underlying, expiry) => {
      asked.push([underlying, expiry]);
      return { levelPpm: VOL, slopePpm: -750_000n };
    };
    const price = 330_000_000_000n; // 3,300: both options' strike lies 9.09% below the index
    const { update } = await feeder.publish(a, [price], putSkew);
    assert.deepEqual(asked, [[0, EXPIRY]], "the surface is asked once for the options' one (underlying, expiry)");
    assert.deepEqual(update.volSlices, [{ underlying: 0, expiry: EXPIRY, levelPpm: VOL, slopePpm: -750_000n }, EMPTY_SLICE]);
    // 600,000 + floor(-750,000 * (3,000 - 3,300) / 3,300) = 600,000 + 68,181
    const skewed = 668_181n;
    const marks = new Map((await a.instruments()).instruments.map((i) => [i.instrumentId, i.markPerLot]));
    const [call, put] = [2, 3].map((id) => seq.derivatives.instruments[id]);
    assert.equal(marks.get(2), optionMark(call, price, skewed, NOW + 1));
    assert.equal(marks.get(3), optionMark(put, price, skewed, NOW + 1));
    assert.ok(marks.get(3)! > optionMark(put, price, VOL, NOW + 1), "the put below the index is marked at the skewed, higher vol");
    const vols = new Map((await a.instruments()).instruments.map((i) => [i.instrumentId, i.volPpm]));
    assert.deepEqual([0, 1, 2, 3].map((id) => vols.get(id)), [null, null, skewed, skewed], "each option reports the vol it is marked at");

    // An update whose only slice names another expiry leaves both live options unpriced: refused, nothing changes.
    chain.now = NOW + 2;
    const before = (await a.instruments()).oracleTime;
    const stray = oracleUpdate({ time: NOW + 2, prices: [price], volSlices: volSlices(VOL, 0n, EXPIRY + 86_400) });
    await assert.rejects(apiRequest(url, "POST", "/v1/oracle/updates", stray), (e: unknown) => e instanceof ApiRequestError && e.code === "NO_VOL_SLICE");
    assert.equal((await a.instruments()).oracleTime, before, "the refused update changed nothing");
  });

  it("OracleFeeder names the earliest unsettled expiry with the prices of its first publication at or after it; an update long after the settlement window settles it at those", async () => {
    const { seq, chain, url, client } = await listen();
    const a = client(alice);
    const feeder = new OracleFeeder({ url, key: ORACLE_KEY, fundingEpochSeconds: 86_400, clock: () => chain.now });
    chain.now = NOW + 1;
    assert.equal((await feeder.publish(a, [PRICE], [VOL])).update.settlement, null, "nothing has expired");
    await seq.drain();
    // The exchange missed the future's settlement window (no update reached it for a day); the feeder's
    // first publication after the expiry is its expiry price.
    chain.now = EXPIRY + SETTLEMENT_WINDOW + 86_400;
    const statusOf = async () => (await a.instruments()).instruments.find((i) => i.instrumentId === FUTURE)!.status;
    assert.equal(await statusOf(), "live");
    // an update past the window that names nothing (an oracle without the expiry's prices): the future is expired, not settled
    await seq.acceptOracleUpdate(oracleUpdate({ time: chain.now - 60 }));
    assert.equal(await statusOf(), "expired");
    assert.equal(seq.derivatives.instruments[FUTURE].settlePrice, 0n);
    const late = await feeder.publish(a, [310_000_000_000n], [VOL]);
    assert.deepEqual(late.update.settlement, { expiry: EXPIRY, prices: [310_000_000_000n] });
    assert.deepEqual(late.outcome.settled, [FUTURE]);
    assert.equal(seq.derivatives.instruments[FUTURE].settlePrice, 310_000_000_000n);
    assert.equal(await statusOf(), "settled");
    await seq.drain(); // the batches carrying both updates are proven and posted
    chain.now += 60;
    assert.equal((await feeder.publish(a, [320_000_000_000n], [VOL])).update.settlement, null, "settled: nothing left to name");
  });

  it("relists a settled future's id once both positions are settled: a new market id; orders for the old one refused (STALE_MARKET), the new one trades", async () => {
    const { seq, chain, app } = await ready();
    for (const t of [alice, bob]) assert.equal((await post(app, "/v1/transfers", transfer(t, 10_000n * QUOTE, 0))).status, 200);
    await post(app, "/v1/orders", derivOrder(bob, FUTURE, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 10n }));
    await post(app, "/v1/orders", derivOrder(alice, FUTURE, { orderId: 1n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 10n }));
    await seq.drain();
    assert.equal(seq.state.instruments[FUTURE].holders, 2, "the proven table counts alice and bob");
    const interest = async () => {
      const i = (await get(app, "/v1/instruments")).body.instruments.find((x: { instrumentId: number }) => x.instrumentId === FUTURE);
      return [i.openInterestLots, i.holders];
    };
    assert.deepEqual(await interest(), ["10", 2], "GET /v1/instruments: open interest 10 lots, alice and bob hold it");
    // the expiry settles the future; the sequencer SETTLEs both positions, so its id is free
    chain.now = EXPIRY + 10;
    assert.equal((await post(app, "/v1/oracle/updates", oracleUpdate({ time: EXPIRY + 5, prices: [310_000_000_000n] }))).status, 200);
    await seq.drain();
    assert.equal(seq.state.instruments[FUTURE].holders, 0);
    assert.ok(isFreeInstrument(seq.state.instruments[FUTURE]));
    assert.deepEqual(await interest(), ["0", 0], "settled: nobody holds it");
    const marketIds = async (): Promise<number[]> => (await get(app, "/v1/markets")).body.markets.map((m: { marketId: number }) => m.marketId);
    assert.ok((await marketIds()).includes(INSTRUMENT_MARKET_BASE + FUTURE), "the settled future's market is listed until its id is");
    // the custodian hands the id out again (the fake custodian: the request as it would queue it)
    const next = { ...INSTRUMENTS[FUTURE], expiry: EXPIRY + 30 * 86_400 };
    seq.acceptRequest({ type: TxType.REGISTER_INSTRUMENT, instrumentId: FUTURE, ...next });
    chain.now += 60;
    assert.equal((await post(app, "/v1/oracle/updates", oracleUpdate({ time: chain.now - 5, prices: [310_000_000_000n] }))).status, 200);
    await seq.drain();
    const listed = (await get(app, "/v1/instruments")).body.instruments.find((i: { instrumentId: number }) => i.instrumentId === FUTURE);
    const market = INSTRUMENT_MARKET_BASE + FUTURE + 4 * 1;
    assert.deepEqual([listed.marketId, listed.generation, listed.expiry, listed.status, listed.settlePrice], [market, 1, next.expiry, "live", "0"]);
    const markets = await marketIds();
    assert.ok(markets.includes(market) && !markets.includes(INSTRUMENT_MARKET_BASE + FUTURE), `GET /v1/markets lists the new market, not the settled one's: ${markets}`);
    // an order signed for the settled future's market is refused and changes nothing
    const before = stateOf(seq);
    const stale = await post(app, "/v1/orders", derivOrder(alice, FUTURE, { orderId: 2n, side: Side.BUY, priceTicks: 310_000n, sizeLots: 5n }));
    assert.equal(stale.status, 400);
    assert.equal(stale.body.code, "STALE_MARKET");
    assert.deepEqual(stateOf(seq), before);
    // the new instrument trades at its own market id and the batch is built (every circuit rule checked)
    await post(app, "/v1/orders", derivOrder(bob, FUTURE, { orderId: 2n, side: Side.SELL, priceTicks: 310_000n, sizeLots: 5n, marketId: market }));
    const filled = await post(app, "/v1/orders", derivOrder(alice, FUTURE, { orderId: 3n, side: Side.BUY, priceTicks: 310_000n, sizeLots: 5n, marketId: market }));
    assert.ok(filled.body.events.some((e: { type: string }) => e.type === "fill"), JSON.stringify(filled.body));
    await seq.drain();
    assert.equal(seq.state.account(alice.accountId).deriv.positions[FUTURE].size, 5n);
    assert.equal(seq.state.instruments[FUTURE].holders, 2);
    assert.deepEqual(await interest(), ["5", 2], "the relisted future's open interest");
    const report = (await get(app, "/v1/accounts/1/derivatives")).body;
    const position = report.positions.find((p: { instrumentId: number }) => p.instrumentId === FUTURE);
    assert.deepEqual([position.marketId, position.size, position.realisedPnl], [market, "5", "0"], "the settled future's bookkeeping is not the new one's");
  });

  it("OracleFeeder: funding rate clamp((mid - index) / index) from the perpetual's book when an epoch ends, 0 otherwise", async () => {
    const { seq, chain, url, client } = await listen();
    const a = client(alice);
    const b = client(bob);
    const feeder = new OracleFeeder({ url, key: ORACLE_KEY, fundingEpochSeconds: 3600, clock: () => chain.now });
    const publish = (price = PRICE) => feeder.publish(a, [price], [VOL]);
    // Everything is proven before the clock moves on by hours, as the batch loop would do: a batch is
    // stamped within minutes of the chain's time, and an oracle update older than MAX_ORACLE_AGE is no use to it.
    const at = async (time: number) => {
      await seq.drain();
      chain.now = time;
    };

    await at(NOW + 1);
    const first = await publish();
    assert.deepEqual([first.update.fundingEpoch, first.update.rates, first.outcome.fundingTick], [0, [0n, 0n, 0n, 0n], false]);

    for (const c of [a, b]) await c.transfer(true, 10_000n * QUOTE);
    // Mid 3,002 over the index 3,000.
    const bid = await a.placeOrder({ marketId: PERP_MARKET, side: Side.BUY, priceTicks: 300_100n, sizeLots: 10n, expiry: NOW + 86_400 });
    const ask = await b.placeOrder({ marketId: PERP_MARKET, side: Side.SELL, priceTicks: 300_300n, sizeLots: 10n, expiry: NOW + 86_400 });

    await at(NOW + 1800);
    const mid = await publish();
    assert.deepEqual([mid.update.fundingEpoch, mid.update.rates, mid.outcome.fundingTick], [0, [0n, 0n, 0n, 0n], false], "no epoch ended: no rate");

    await at(NOW + 3601);
    const tick = await publish();
    const premium = ((300_200_000_000n - PRICE) * PPM) / PRICE; // mid 3,002 (1e-8 quote) over the index
    assert.equal(premium, 666n);
    assert.deepEqual([tick.update.fundingEpoch, tick.update.rates, tick.outcome.fundingTick], [1, [premium, 0n, 0n, 0n], true]);
    assert.equal(seq.derivatives.instruments[PERP].fundingIndex, fundingStep(premium, MARK), "applied by the sequencer");

    // The index falls to 2,990: the premium (about +0.4%) is capped at the perpetual's 1,000 ppm.
    await at(NOW + 7202);
    const capped = await publish(299_000_000_000n);
    assert.deepEqual([capped.update.fundingEpoch, capped.update.rates], [2, [1_000n, 0n, 0n, 0n]]);
    // A feeder started afresh continues from the sequencer's funding epoch (GET /v1/instruments).
    const restarted = await new OracleFeeder({ url, key: ORACLE_KEY, fundingEpochSeconds: 3600, clock: () => chain.now }).publish(a, [299_000_000_000n], [VOL]);
    assert.deepEqual([restarted.update.fundingEpoch, restarted.outcome.fundingTick], [2, false]);

    // A mid of 2,998 under the index of 3,000: (2,998 - 3,000) / 3,000 = -666 ppm, shorts pay.
    await a.cancel(bid.order.orderId);
    await b.cancel(ask.order.orderId);
    await a.placeOrder({ marketId: PERP_MARKET, side: Side.BUY, priceTicks: 299_700n, sizeLots: 10n, expiry: NOW + 86_400 });
    await b.placeOrder({ marketId: PERP_MARKET, side: Side.SELL, priceTicks: 299_900n, sizeLots: 10n, expiry: NOW + 86_400 });
    await at(NOW + 10_803);
    const below = await publish();
    assert.deepEqual([below.update.fundingEpoch, below.update.rates], [3, [-666n, 0n, 0n, 0n]]);

    // One side empty: the mid is the index, no premium; the epoch still moves.
    await b.cancelAll(PERP_MARKET);
    await at(NOW + 14_404);
    const oneSided = await publish();
    assert.deepEqual([oneSided.update.fundingEpoch, oneSided.update.rates, oneSided.outcome.fundingTick], [4, [0n, 0n, 0n, 0n], true]);

    const fundingIndex = fundingStep(666n, MARK) + fundingStep(1_000n, 29_900_000n) + fundingStep(-666n, MARK);
    assert.equal(seq.derivatives.instruments[PERP].fundingIndex, fundingIndex);
    await seq.drain();
    assert.equal(seq.state.instruments[PERP].fundingIndex, fundingIndex, "every tick proven");
  });

  it("OracleFeeder: an update that puts an account below maintenance margin answers its liquidation", async () => {
    const { seq, chain, url, client } = await listen();
    const [a, b, c] = [client(alice), client(bob), client(traders.carol)];
    await a.transfer(true, 10_000n * QUOTE);
    await b.transfer(true, 10_000n * QUOTE);
    await c.transfer(true, 50_000n * QUOTE);
    // 3,000 lots (30 underlying) at 3,000 on 10,000 quote: 9,000 of initial margin.
    await b.placeOrder({ marketId: PERP_MARKET, side: Side.SELL, priceTicks: 300_000n, sizeLots: 3_000n, expiry: NOW + 3600 });
    await a.placeOrder({ marketId: PERP_MARKET, side: Side.BUY, priceTicks: 300_000n, sizeLots: 3_000n, expiry: NOW + 3600 });
    assert.equal((await a.derivatives()).positions[0].size, 3_000n);

    const feeder = new OracleFeeder({ url, key: ORACLE_KEY, fundingEpochSeconds: 3600, clock: () => chain.now });
    chain.now = NOW + 10;
    // At 2,750 alice has lost 7,500: equity about 2,455 under 4,125 of maintenance margin.
    const { update, outcome } = await feeder.publish(a, [275_000_000_000n], [VOL]);
    assert.equal(update.time, NOW + 10);
    assert.deepEqual(outcome, { fundingTick: false, settled: [], liquidations: [[1, PERP, 3_000n]], deleveraged: [], cancelled: [] });
    assert.deepEqual((await a.derivatives()).positions.map((p) => p.size), [0n]);
    assert.equal((await c.derivatives()).positions[0].size, 3_000n, "the liquidator took the position");
    await seq.drain();
    assert.equal(seq.state.account(1).deriv.positions[PERP].size, 0n);
    assert.equal(seq.state.account(3).deriv.positions[PERP].size, 3_000n);
  });
});
