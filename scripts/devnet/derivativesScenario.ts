/**
 * The devnet's derivatives act: the admin registers the oracle key and four instruments on ETH (a
 * perpetual, a future, and a call and a put struck at 3,000, both dated a week out); a test oracle
 * feeder signs prices and funding through the API; the demo traders move USDC into collateral and trade
 * all four through the SDK; two funding epochs pass (the chain's clock is moved forward, and the
 * sequencer's and the feeder's with it); a price drop puts the leveraged taker below maintenance
 * margin and the operator's liquidator takes its position, and the options trader's stop-loss on a small
 * perpetual long fires and closes it (its first fill proven at a mark past the trigger); a week later the dated instruments expire
 * and every position in them is settled at the signed price; with the 7-instrument table (or the 11 of the production
 * 16-instrument table: a chain of 2 expiries x 2 strikes x call/put, the perpetual and two futures; or the 43 of the
 * devnet's 48-instrument table: 2 expiries x 10 strikes x call/put, all quoted by the maker), the exchange is
 * then down through the 2-week expiry's settlement window, and the oracle's first update after it names the
 * expiry so the 2-week instruments settle all the same. Between the two, the settled 1-week future's id, free
 * once every position in it is closed, is relisted as a 4-week future that trades under a market id of its own,
 * and the options trader then leaves that future with a forced close against the maker, through the custodian.
 * Every step is proven and posted.
 */
import { erc20Abi, type Address, type PublicClient, type TestClient } from "viem";
import { custodianAbi, DEMO_ETH_PERPETUAL, DEMO_ETH_TERMS, readArtifact, registerInstrument, send, setOracleKey, type Clients, type InstrumentRegistration } from "../deploy/deployExchange.ts";
import { publicKeyOf } from "../../sequencer/crypto/babyjub.ts";
import { INSTRUMENT_MARKET_BASE, InstrumentKind, neverRests, OrderType, SETTLEMENT_WINDOW, Side, TimeInForce, TriggerType } from "../../sequencer/protocol/constants.ts";
import { CancelReason } from "../../sequencer/matching/types.ts";
import type { AccountReport } from "../../sequencer/risk/accountReport.ts";
import { DEFAULT_IMMEDIATE_TTL, type ExchangeClient } from "../../sequencer/sdk/client.ts";
import { accountOf, deposit, forceClose } from "../../sequencer/sdk/custodian.ts";
import { OracleFeeder, type VolSurface } from "../../sequencer/sdk/oracleFeeder.ts";
import { ApiRequestError } from "../../sequencer/sdk/wire.ts";

const USDC = 10n ** 6n;
const HOUR = 3600;
const WEEK = 7 * 24 * HOUR;
/** The devnet oracle's key: a fixed development key, INSECURE. */
const DEV_ORACLE_KEY = new Uint8Array(32).fill(7);
/** 1e-8 quote per ETH. */
const usd = (dollars: number) => BigInt(Math.round(dollars * 100)) * 1_000_000n;
/** Price ticks of 0.01 USDC per ETH. */
const ticks = (dollars: number) => BigInt(Math.round(dollars * 100));
const VOL = 600_000n; // 60%
/** The devnet chain's strikes when the table has room for them: ten, 2,600 to 3,500 (3,000 and 3,200 among them). */
const WIDE_STRIKES = Array.from({ length: 10 }, (_, k) => 2600 + 100 * k);
/** At least one tick. */
const max1 = (t: bigint) => (t < 1n ? 1n : t);

/**
 * The devnet oracle's vol surface (a slice per underlying and expiry, as the oracle signs them): ETH at VOL at the
 * money with a put skew of 0.75 vol points per 1% of moneyness (slope -750,000 ppm: a strike 10% below the index at
 * 67.5%, 10% above at 52.5%), an expiry within 8 days 5 points above the later ones (a term structure); other underlyings
 * flat at VOL.
 */
const skewAt = (now: number): VolSurface => (underlying, expiry) =>
  underlying !== 0 ? { levelPpm: VOL, slopePpm: 0n } : { levelPpm: VOL + (expiry - now < 8 * 24 * HOUR ? 50_000n : 0n), slopePpm: -750_000n };

export type Trader = { name: string; c: ExchangeClient; clients: Clients };

export type ScenarioContext = {
  admin: Clients;
  publicClient: PublicClient;
  testClient: TestClient;
  custodian: Address;
  usdc: Address;
  /** Underlyings the oracle prices (the circuit's): ETH is underlying 0, the others get a fixed price and vol. */
  underlyings: number;
  maker: Trader;
  leveraged: Trader;
  optionsTrader: Trader;
  liquidator: Trader;
  /** The sequencer's (and the feeder's) clock; `advance` moves it and the chain's forward. */
  clock: () => number;
  advance: (seconds: number) => void;
  /** Pulls on-chain requests and proves and posts everything pending; logs what it settled. */
  settle: (what: string) => Promise<unknown>;
  info: (line: string) => void;
  step: (line: string) => void;
};

const dollars = (quoteUnits: bigint) => (Number(quoteUnits) / 1e6).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const KIND = ["-", "perp", "future", "call", "put"];

function report(info: (line: string) => void, name: string, r: AccountReport): void {
  info(`${name}: collateral ${dollars(r.collateral)}, equity ${dollars(r.equity)}, IM ${dollars(r.initialMargin)}, MM ${dollars(r.maintenanceMargin)}, delta ${r.greeks.delta.toFixed(2)} ETH`);
  for (const p of r.positions) {
    const g = p.kind === InstrumentKind.CALL || p.kind === InstrumentKind.PUT ? `, delta ${p.greeks.delta.toFixed(3)} gamma ${p.greeks.gamma.toExponential(2)} vega ${p.greeks.vega.toFixed(2)} theta ${p.greeks.theta.toFixed(2)}/y` : "";
    info(`   ${KIND[p.kind]} ${p.size} lots, entry ${dollars(p.averageEntryPerLot)}/lot, mark ${dollars(p.markPerLot)}/lot, uPnL ${dollars(p.unrealisedPnl)}, rPnL ${dollars(p.realisedPnl)}, fees ${dollars(p.feesPaid)}${g}`);
  }
}

/** What the scenario leaves running: the test feeder, to publish on after it (the devnet's --keep). */
export type ScenarioFeed = {
  /**
   * Publishes the scenario's last ETH price again every `everyMs` with the clock's time (derivatives orders and
   * transfers need an update at most ORACLE_FRESHNESS old); each failure is logged with `info`. Returns a stop.
   */
  keepFeeding(everyMs?: number): () => void;
};

export async function runDerivativesScenario(ctx: ScenarioContext): Promise<ScenarioFeed> {
  const { admin, info, step, settle } = ctx;
  const traders = [ctx.maker, ctx.leveraged, ctx.optionsTrader, ctx.liquidator];
  const jump = async (seconds: number) => {
    await ctx.testClient.increaseTime({ seconds });
    await ctx.testClient.mine({ blocks: 1 });
    ctx.advance(seconds);
  };

  // With room for 3 linear and 4 option instruments: a perpetual, futures a week and two weeks out (a calendar),
  // 1-week calls at 3,000 and 3,200 (a vertical spread), a 1-week put and a 2-week call; with 8 option ids (the
  // 16-instrument table of the production size) the whole chain of both expiries, calls and
  // puts at 3,000 and 3,200 (a put spread on the 2-week expiry too); with the test table's 2 + 2: the perpetual,
  // the 1-week future, call and put.
  // With 40 option ids (the devnet's table, DEVNET_PARAMS) the chain has ten strikes a side, 2,600 to 3,500, on both
  // expiries (issue 15's devnet chain: 2 expiries x 10 strikes x call/put).
  const { instrumentSlots, optionSlots } = await ctx.maker.c.instruments();
  const chain = instrumentSlots - optionSlots >= 3 && optionSlots >= 4;
  const fullChain = chain && optionSlots >= 8;
  const wideChain = fullChain && optionSlots >= WIDE_STRIKES.length * 4;
  const dated = (name: string, kind: InstrumentKind, strike: number, at: number): [string, InstrumentRegistration] => [name, { ...base, kind, strike: usd(strike), expiry: at }];
  await setOracleKey(admin, ctx.custodian, publicKeyOf(DEV_ORACLE_KEY));
  const block = await ctx.publicClient.getBlock();
  const expiry = Number(block.timestamp) + WEEK;
  const later = expiry + WEEK;
  const base = DEMO_ETH_TERMS;
  const specs: [string, InstrumentRegistration][] = [
    ["ETH-PERP", DEMO_ETH_PERPETUAL],
    ["ETH-1W future", { ...base, kind: InstrumentKind.FUTURE, expiry }],
    ...(chain ? [["ETH-2W future", { ...base, kind: InstrumentKind.FUTURE, expiry: later }] as [string, InstrumentRegistration]] : []),
    ["ETH-1W-3000-C", { ...base, kind: InstrumentKind.CALL, strike: usd(3000), expiry }],
    ...(chain ? [["ETH-1W-3200-C", { ...base, kind: InstrumentKind.CALL, strike: usd(3200), expiry }] as [string, InstrumentRegistration]] : []),
    ["ETH-1W-3000-P", { ...base, kind: InstrumentKind.PUT, strike: usd(3000), expiry }],
    ...(chain ? [["ETH-2W-3000-C", { ...base, kind: InstrumentKind.CALL, strike: usd(3000), expiry: later }] as [string, InstrumentRegistration]] : []),
    ...(fullChain
      ? [
        dated("ETH-1W-3200-P", InstrumentKind.PUT, 3200, expiry), dated("ETH-2W-3200-C", InstrumentKind.CALL, 3200, later),
        dated("ETH-2W-3000-P", InstrumentKind.PUT, 3000, later), dated("ETH-2W-3200-P", InstrumentKind.PUT, 3200, later),
      ]
      : []),
    ...(wideChain
      ? [["1W", expiry], ["2W", later]].flatMap(([tenor, at]) =>
        WIDE_STRIKES.filter((k) => k !== 3000 && k !== 3200).flatMap((k) => [
          dated(`ETH-${tenor}-${k}-C`, InstrumentKind.CALL, k, at as number), dated(`ETH-${tenor}-${k}-P`, InstrumentKind.PUT, k, at as number),
        ]))
      : []),
  ];
  const chainShape = wideChain ? `2 expiries x ${WIDE_STRIKES.length} strikes` : fullChain ? "2 expiries x 2 strikes" : "";
  step(`Derivatives: oracle key and ${specs.length} instruments on ETH registered by the admin${chainShape ? ` (a chain of ${chainShape} x call/put)` : ""}`);
  const ids: number[] = [];
  for (const [name, spec] of specs) {
    ids.push(await registerInstrument(admin, ctx.custodian, spec));
    info(`${name}: instrument ${ids.at(-1)}, lots of 0.01 ETH, ticks of 0.01 USDC, IM 10% / MM 5%${spec.expiry ? `, expires ${new Date(spec.expiry * 1000).toISOString()}` : ", funding capped at 0.05% per hour"}`);
  }
  const idOf = (name: string): number => ids[specs.findIndex(([n]) => n === name)];
  const [PERP, FUTURE, CALL, PUT] = ["ETH-PERP", "ETH-1W future", "ETH-1W-3000-C", "ETH-1W-3000-P"].map(idOf);
  const extraOptions = [...(chain ? ["ETH-1W-3200-C", "ETH-2W-3000-C"] : []), ...(fullChain ? ["ETH-1W-3200-P", "ETH-2W-3200-C", "ETH-2W-3000-P", "ETH-2W-3200-P"] : [])].map(idOf);
  /** The wide chain's other strikes, quoted smaller. */
  const wingOptions = wideChain ? ids.filter((id) => id !== CALL && id !== PUT && !extraOptions.includes(id) && specs[ids.indexOf(id)][1].strike > 0n) : [];
  const market = (id: number) => INSTRUMENT_MARKET_BASE + id;

  // Underlyings beyond ETH (production sizes price 2): a steady 60,000 (BTC), nothing listed on them here.
  const OTHER_PRICES = Array.from({ length: ctx.underlyings - 1 }, () => usd(60_000));
  const feeder = new OracleFeeder({ url: ctx.maker.c.url, key: DEV_ORACLE_KEY, fundingEpochSeconds: HOUR, clock: ctx.clock });
  let lastPrice = 3000;
  const publish = async (price: number) => {
    lastPrice = price;
    const { update, outcome } = await feeder.publish(ctx.maker.c, [usd(price), ...OTHER_PRICES], skewAt(ctx.clock()));
    const rate = update.rates[PERP];
    info(`oracle: ETH ${price.toFixed(2)}, vol slices ${update.volSlices.filter((v) => v.levelPpm > 0n).map((v) => `${Number(v.levelPpm) / 10_000}% skew ${Number(v.slopePpm) / 1_000_000}`).join(", ")} (per expiry: at-the-money vol, skew per 1.00 of moneyness), funding epoch ${update.fundingEpoch}${outcome.fundingTick ? ` (tick: perpetual rate ${rate} ppm)` : ""}` +
      `${outcome.liquidations.length ? `; liquidations ${outcome.liquidations.map(([a, i, l]) => `account ${a} ${l} lots of ${i}`).join(", ")}` : ""}` +
      `${update.settlement ? `; names expiry ${new Date(update.settlement.expiry * 1000).toISOString()} at ETH ${(Number(update.settlement.prices[0]) / 1e8).toFixed(2)}` : ""}` +
      `${outcome.settled.length ? `; settled instruments ${outcome.settled.join(", ")}` : ""}${outcome.cancelled.length ? `; orders cancelled for margin: accounts ${outcome.cancelled.join(", ")}` : ""}`);
    return outcome;
  };
  await publish(3000);
  await settle("instrument registrations");
  // The options were listed after that update was signed: it has no vol slice for them, so nothing trades on them
  // (NO_VOL_SLICE) until the next update prices their expiries.
  await publish(3000);

  step("Collateral: USDC moved from spot balances into derivatives collateral (signed transfers)");
  const token = readArtifact("test/TestToken.sol", "TestToken");
  for (const [t, amount] of [[ctx.optionsTrader, 30_000n], [ctx.liquidator, 60_000n]] as const) {
    await send(admin, ctx.usdc, token.abi, "mint", [t.clients.walletClient.account!.address, amount * USDC]);
    await deposit(t.clients, ctx.custodian, ctx.usdc, 0, amount * USDC);
  }
  await settle("deposits");
  for (const [t, amount] of [[ctx.maker, 100_000n], [ctx.leveraged, 2_000n], [ctx.optionsTrader, 20_000n], [ctx.liquidator, 50_000n]] as const) {
    await t.c.transfer(true, amount * USDC);
    info(`${t.name}: ${amount.toLocaleString("en-US")} USDC to collateral`);
  }
  await settle("transfers");

  step("Derivatives trading through the API");
  /** Resting orders live two days; IOC orders the SDK's default for orders that never rest (intake allows IMMEDIATE_ORDER_TTL). */
  const expiresAt = (tif: TimeInForce) => ctx.clock() + (neverRests({ type: OrderType.LIMIT, timeInForce: tif }) ? DEFAULT_IMMEDIATE_TTL : 2 * 24 * HOUR);
  /** `listing`: an instrument listed later, by name and market id (a reused id's market id is not its first). */
  const place = async (t: Trader, id: number, side: Side, price: bigint, lots: bigint, tif: TimeInForce = TimeInForce.GTC, listing?: { name: string; marketId: number }) => {
    const what = `${t.name} ${side === Side.BUY ? "buys" : "sells"} ${lots} ${listing?.name ?? specs[ids.indexOf(id)][0]} @ ${price}`;
    try {
      const { order, events } = await t.c.placeOrder({ marketId: listing?.marketId ?? market(id), side, priceTicks: price, sizeLots: lots, timeInForce: tif, maxFeePpm: 1000, expiry: expiresAt(tif) });
      const fills = events.flatMap((e) => (e.type === "fill" ? [`${e.lots}@${e.priceTicks}`] : []));
      const cancels = events.flatMap((e) => (e.type === "cancelled" ? [e] : []));
      const own = cancels.find((e) => e.accountId === order.accountId && e.orderId === order.orderId);
      // resting orders met and cancelled on the way (a maker without a free position slot: position-slots, proven)
      const met = cancels.filter((e) => e !== own && e.reason === CancelReason.POSITION_SLOTS).map((e) => `account ${e.accountId}'s order ${e.orderId} cancelled, ${e.reason}`);
      const rest = fills.length ? `filled ${fills.join(", ")}` : own ? `nothing filled, ${own.reason}` : "resting";
      info(`${what}: ${[...met, rest].join("; ")}`);
      return true;
    } catch (e) {
      if (!(e instanceof ApiRequestError)) throw e;
      info(`${what}: refused, ${e.code}`);
      return false;
    }
  };
  // The maker quotes the perpetual above the index (longs will pay funding), the future at a premium,
  // and the options around their Black-Scholes marks.
  for (const [bid, ask] of [[3002, 3008], [3000, 3010]]) {
    await place(ctx.maker, PERP, Side.BUY, ticks(bid), 1000n, TimeInForce.POST_ONLY);
    await place(ctx.maker, PERP, Side.SELL, ticks(ask), 1000n, TimeInForce.POST_ONLY);
  }
  await place(ctx.maker, FUTURE, Side.BUY, ticks(3005), 500n, TimeInForce.POST_ONLY);
  await place(ctx.maker, FUTURE, Side.SELL, ticks(3020), 500n, TimeInForce.POST_ONLY);
  if (chain) {
    await place(ctx.maker, idOf("ETH-2W future"), Side.BUY, ticks(3015), 500n, TimeInForce.POST_ONLY);
    await place(ctx.maker, idOf("ETH-2W future"), Side.SELL, ticks(3030), 500n, TimeInForce.POST_ONLY);
  }
  const { instruments } = await ctx.maker.c.instruments();
  const markTicks = (id: number) => instruments.find((i) => i.instrumentId === id)!.markPerLot! / 100n; // tick value: 100 quote units per lot
  let quoted = 0;
  const options = [CALL, PUT, ...extraOptions, ...wingOptions];
  for (const id of options) {
    const lots = wingOptions.includes(id) ? 100n : 300n;
    info(`${specs[ids.indexOf(id)][0]} mark: ${dollars(markTicks(id) * 100n)} per lot (Black-Scholes, fixed point)`);
    // a quote never below one tick (a far out-of-the-money wing's mark can be below 3 ticks)
    const bid = await place(ctx.maker, id, Side.BUY, max1((markTicks(id) * 97n) / 100n), lots, TimeInForce.POST_ONLY);
    const ask = await place(ctx.maker, id, Side.SELL, max1((markTicks(id) * 103n) / 100n), lots, TimeInForce.POST_ONLY);
    if (bid && ask) quoted++;
  }
  info(`${ctx.maker.name} quotes ${quoted} of the ${options.length} options two-sided, beside the perpetual and the futures`);
  // 6 ETH across two instruments on 2,000 USDC: 4 on the perpetual, 2 on the future (1,800 of initial margin)
  await place(ctx.leveraged, PERP, Side.BUY, ticks(3010), 400n, TimeInForce.IOC);
  await place(ctx.leveraged, FUTURE, Side.BUY, ticks(3020), 200n, TimeInForce.IOC);
  await place(ctx.optionsTrader, FUTURE, Side.BUY, ticks(3020), 200n, TimeInForce.IOC);
  await place(ctx.optionsTrader, CALL, Side.BUY, (markTicks(CALL) * 103n) / 100n, 100n, TimeInForce.IOC);
  await place(ctx.optionsTrader, PUT, Side.SELL, (markTicks(PUT) * 97n) / 100n, 100n, TimeInForce.IOC);
  if (chain) {
    // a vertical call spread (long the 3,000 call above, short the 3,200) and a calendar (long the 1-week
    // future above, short the 2-week)
    const high = idOf("ETH-1W-3200-C");
    await place(ctx.optionsTrader, high, Side.SELL, (markTicks(high) * 97n) / 100n, 100n, TimeInForce.IOC);
    await place(ctx.optionsTrader, idOf("ETH-2W future"), Side.SELL, ticks(3015), 200n, TimeInForce.IOC);
  }
  if (fullChain) {
    // a put spread on the 2-week expiry: long the 3,200 put, short the 3,000 put
    for (const [name, side] of [["ETH-2W-3200-P", Side.BUY], ["ETH-2W-3000-P", Side.SELL]] as const) {
      const id = idOf(name);
      await place(ctx.optionsTrader, id, side, (markTicks(id) * (side === Side.BUY ? 103n : 97n)) / 100n, 100n, TimeInForce.IOC);
    }
  }
  if (wideChain) {
    // a butterfly on the 2-week calls: long the 2,900 and the 3,100, short twice the 3,000
    for (const [name, side, lots] of [["ETH-2W-2900-C", Side.BUY, 50n], ["ETH-2W-3000-C", Side.SELL, 100n], ["ETH-2W-3100-C", Side.BUY, 50n]] as const) {
      const id = idOf(name);
      await place(ctx.optionsTrader, id, side, (markTicks(id) * (side === Side.BUY ? 103n : 97n)) / 100n, lots, TimeInForce.IOC);
    }
  }
  await place(ctx.leveraged, PERP, Side.BUY, ticks(3010), 600n, TimeInForce.IOC); // refused: over initial margin
  // a stop-loss: 50 perpetual lots bought, protected by a reduce-only stop sell once the mark falls to 2,850
  // (held by the sequencer; its first fill proven at a mark that crossed the trigger: TriggerFill)
  await place(ctx.optionsTrader, PERP, Side.BUY, ticks(3010), 50n, TimeInForce.IOC);
  const stopLoss = await ctx.optionsTrader.c.placeOrder({
    marketId: market(PERP), side: Side.SELL, priceTicks: ticks(2800), sizeLots: 50n, maxFeePpm: 1000, expiry: ctx.clock() + 14 * 24 * HOUR,
    reduceOnly: true, triggerType: TriggerType.STOP, triggerPriceTicks: ticks(2850),
  });
  info(`${ctx.optionsTrader.name}: stop-loss on the 50 perpetual lots (sell, limit 2800, once the mark falls to 2850): ${stopLoss.events.map((e) => e.type).join(", ")}`);
  await settle("derivatives trades");
  for (const t of traders) report(info, t.name, await t.c.derivatives());

  step("Funding: two hourly epochs (the perpetual's book mid sits above the index: longs pay shorts)");
  for (const price of [3000, 2990]) {
    await jump(HOUR);
    await publish(price);
    await settle("funding tick");
  }

  step("A 10% drop: the leveraged long falls below maintenance margin and is liquidated across both instruments");
  const before = await ctx.leveraged.c.derivatives();
  info(`before: ${ctx.leveraged.name} equity ${dollars(before.equity)} vs MM ${dollars(before.maintenanceMargin)}`);
  await publish(2700);
  await settle("liquidation");
  report(info, ctx.leveraged.name, await ctx.leveraged.c.derivatives());
  report(info, ctx.liquidator.name, await ctx.liquidator.c.derivatives());
  const perpLeft = (await ctx.optionsTrader.c.derivatives()).positions.find((p) => p.instrumentId === PERP)?.size ?? 0n;
  const fired = (await ctx.optionsTrader.c.fills()).fills.some((f) => String(f.orderId) === String(stopLoss.order.orderId));
  info(`${ctx.optionsTrader.name}'s stop-loss ${fired ? "fired at the 2700 mark and filled (proven: its first fill at a mark at or below its trigger)" : "did not fire"}; perpetual position now ${perpLeft} lots`);
  if (!fired || perpLeft !== 0n) throw new Error("the stop-loss should have closed the 50 perpetual lots at the 2,700 mark");

  step(`A week later: the 1-week future and options expire and settle at the signed price${chain ? `; the 2-week future and ${fullChain ? "options" : "call"} stay open` : ""}`);
  await jump(expiry - ctx.clock() + 1);
  await publish(3150);
  await settle("expiry settlement");
  for (const t of traders) report(info, t.name, await t.c.derivatives());

  step("Relisting: the 1-week future is settled and nobody holds it, so its id is free; the admin lists a 4-week future there, which trades under a market id of its own");
  const free = await ctx.publicClient.readContract({ address: ctx.custodian, abi: custodianAbi, functionName: "freeInstruments" });
  info(`the custodian's mask of free ids after the settlement batches: ${free.toString(2).padStart(instrumentSlots, "0")} (bit i = id i)`);
  const relisted = await registerInstrument(admin, ctx.custodian, { ...base, kind: InstrumentKind.FUTURE, expiry: later + 2 * WEEK });
  const relistedMarket = await ctx.publicClient.readContract({ address: ctx.custodian, abi: custodianAbi, functionName: "instrumentMarketId", args: [relisted] });
  info(`ETH-4W future: instrument ${relisted} (the 1-week future's was ${FUTURE}), market ${relistedMarket} (the 1-week future traded as ${market(FUTURE)})`);
  await publish(3150);
  await settle("relisting");
  const listing = { name: "ETH-4W future", marketId: relistedMarket };
  const listed = (await ctx.maker.c.instruments()).instruments.find((i) => i.instrumentId === relisted)!;
  info(`listed: market ${listed.marketId}, generation ${listed.generation}, expiry ${new Date(listed.expiry * 1000).toISOString()}, status ${listed.status}`);
  await place(ctx.maker, relisted, Side.SELL, ticks(3170), 300n, TimeInForce.POST_ONLY, listing);
  await place(ctx.optionsTrader, relisted, Side.BUY, ticks(3170), 100n, TimeInForce.IOC, listing);
  // an order signed for the settled 1-week future's market is refused: that instrument is gone from the id
  await place(ctx.optionsTrader, FUTURE, Side.BUY, ticks(3170), 100n, TimeInForce.IOC);
  await settle("trade on the relisted future");
  for (const t of [ctx.maker, ctx.optionsTrader]) report(info, t.name, await t.c.derivatives());

  step("Forced close: the options trader leaves its 4-week future through the custodian, against the maker on the other side, at the mark (as it would if the operator never matched its closing orders)");
  const held = (await ctx.optionsTrader.c.derivatives()).positions.find((p) => p.instrumentId === relisted)?.size ?? 0n;
  const makerId = await accountOf(ctx.publicClient, ctx.custodian, ctx.maker.clients.walletClient.account!.address);
  const request = await forceClose(ctx.optionsTrader.clients, ctx.custodian, relisted, makerId, held);
  info(`${ctx.optionsTrader.name} queues forceClose(instrument ${relisted}, counterparty ${makerId} (${ctx.maker.name}), ${held} lots): request ${request}, to be proven within the custodian's deadline`);
  await publish(3150);
  await settle("forced close");
  const after = (await ctx.optionsTrader.c.derivatives()).positions.find((p) => p.instrumentId === relisted)?.size ?? 0n;
  info(`${ctx.optionsTrader.name}'s 4-week future position: ${held} -> ${after} lots (proven honoured: the maker held the other side)`);
  if (after !== 0n) throw new Error(`the forced close should have closed the ${held} lots`);
  for (const t of [ctx.maker, ctx.optionsTrader]) report(info, t.name, await t.c.derivatives());
  if (chain) {
    step("Another week: the exchange is down through the 2-week expiry's settlement window; the oracle's first update after it names the expiry, and the 2-week future and call settle at its price");
    await jump(later - ctx.clock() + SETTLEMENT_WINDOW + HOUR);
    await publish(3080);
    await settle("expiry settlement after a missed window");
    for (const t of traders) report(info, t.name, await t.c.derivatives());
  }
  const balance = await ctx.publicClient.readContract({ address: ctx.usdc, abi: erc20Abi, functionName: "balanceOf", args: [ctx.custodian] });
  info(`the custodian holds ${dollars(balance)} USDC for all accounts`);
  return {
    keepFeeding(everyMs = 60_000) {
      const timer = setInterval(() => publish(lastPrice).catch((e) => info(`oracle feeder: ${e instanceof Error ? e.message : String(e)}`)), everyMs);
      return () => clearInterval(timer);
    },
  };
}
