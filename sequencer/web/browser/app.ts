/**
 * The trading page. Everything goes through the SDK: the trading key is derived from the wallet's EIP-712
 * signature (sdk/tradingKey.ts), requests are signed and sent by ExchangeClient (sdk/client.ts), the
 * custodian calls are sdk/custodian.ts, and every number on the page streams over /v1/stream through the
 * SDK's StreamClient (sequence numbers; on a gap the books resync from snapshots and the account is
 * re-read over HTTP).
 */
import { chainListingFault, type ListedInstrument, type ListedMarket } from "./listing.ts";
import { parseAbi, type Address, type PublicClient, type WalletClient } from "viem";
import type { StreamClient } from "../../sdk/streamClient.ts";
import { apiRequest, ExchangeClient, type OrderInput } from "../../sdk/client.ts";
import { accountOf, activateExodus, claimWithdrawal, deposit, FORCED_WAITING, forceClose, forceWithdraw, forceWithdrawCollateral, refundDeposit, registerTradingKey } from "../../sdk/custodian.ts";
import { deriveTradingKey, type TradingKey } from "../../sdk/tradingKey.ts";
import type { BookView } from "../../sdk/wire.ts";
import type { OpenOrderView, TradeRecord } from "../../wire/responses.ts";
import { custodianAbi } from "../../chain/abi.ts";
import { INSTRUMENT_MARKET_BASE, InstrumentKind, OrderType, Side, TimeInForce, TriggerType, TxType } from "../../protocol/constants.ts";
import { candleChart, candlesOf, depthChart } from "./charts.ts";
import { TradeTape } from "./tradeTape.ts";
import { RequestWatcher, type OwnRequest } from "./requests.ts";
import {
  $, devWallet, errorText, fill, h, injectedWallet, loadConfig, parsePositive, parseUnitsStrict, parseWhole, publicClientOf, short, table, time, tokensOf, units,
  walletPublicClient,
  type PageConfig, type TokenInfo,
} from "./common.ts";
import { openStream, type BrowserSocket } from "./socket.ts";

type Any = Record<string, any>;
const KIND = ["none", "perpetual", "future", "call", "put"];
const TIF = ["GTC", "IOC", "FOK", "POST_ONLY"];
const TRIGGER = ["none", "stop", "take-profit"];
const CANDLE_SECONDS = 10;

const s = {
  cfg: null as PageConfig | null,
  pc: null as PublicClient | null,
  /** The account's requests, read incrementally from the custodian's events. */
  requests: null as RequestWatcher | null,
  tokens: [] as TokenInfo[],
  markets: [] as Any[],
  instruments: [] as Any[],
  marketId: 0,
  book: { bids: [], asks: [] } as BookView,
  trades: new TradeTape(),
  lastBatch: null as Any | null,
  stream: null as StreamClient | null,
  socket: null as BrowserSocket | null,
  wallet: null as WalletClient | null,
  address: null as Address | null,
  key: null as TradingKey | null,
  accountId: 0,
  client: null as ExchangeClient | null,
  gaps: 0,
  resyncs: 0,
  lastSeq: 0,
};

// Test hooks (the browser tests read them and make a gap with them).
(window as unknown as { __exchange: unknown }).__exchange = {
  state: s,
  dropStreamMessages: (n: number) => s.socket?.dropIncoming(n),
};

const quote = () => s.tokens[0] ?? { symbol: "quote", decimals: 6, tokenId: 0, address: "0x" };
const q = (v: bigint | number | null | undefined) => (v === null || v === undefined ? "—" : units(BigInt(v), quote().decimals));
const tokenName = (id: number) => s.tokens[id]?.symbol ?? `token ${id}`;

function say(id: string, text: string, ok = true): void {
  const el = $(id);
  el.textContent = text;
  el.className = ok ? "msg ok" : "msg err";
}

/** Runs a button's action with its result or error shown next to it. */
async function act(msgId: string, what: string, f: () => Promise<string | void>): Promise<void> {
  say(msgId, `${what}…`);
  try {
    const r = await f();
    say(msgId, r ?? `${what}: done`);
  } catch (e) {
    say(msgId, `${what} failed: ${errorText(e)}`, false);
  }
}

const input = (id: string) => $<HTMLInputElement>(id).value;

// ---- market data --------------------------------------------------------------------------------

function marketLabel(marketId: number): string {
  const inst = s.instruments.find((i) => i.marketId === marketId);
  if (inst) return `${KIND[inst.kind]} #${inst.instrumentId}${inst.strike ? ` strike ${units(BigInt(inst.strike), 8)}` : ""}${inst.expiry ? ` exp ${time(inst.expiry)}` : ""} (market ${marketId})`;
  const spot = s.markets.find((m) => m.marketId === marketId);
  return spot ? `${tokenName(spot.baseTokenId)}/${tokenName(0)} (market ${marketId})` : `market ${marketId}`;
}

function renderMarket(): void {
  const levels = (side: "bids" | "asks") => s.book[side].map((l) => [String(l.priceTicks), String(l.lots)]);
  fill("book", h("div", { class: "cols" },
    h("div", {}, h("h4", {}, "bids"), table(["price (ticks)", "lots"], levels("bids"), { id: "bids" })),
    h("div", {}, h("h4", {}, "asks"), table(["price (ticks)", "lots"], levels("asks"), { id: "asks" }))));
  fill("depth", depthChart(s.book));
  const trades = s.trades.of(s.marketId);
  fill("trades", table(["time", "price (ticks)", "lots", "maker side"], trades.slice(-15).reverse().map((t) => [time(t.time), t.price, t.lots, t.makerSide === Side.BUY ? "buy" : "sell"]), { id: "trades-table" }));
  fill("candles", candleChart(candlesOf(trades, CANDLE_SECONDS)));
  const b = s.lastBatch;
  fill("last-batch", b
    ? h("span", { "data-batch": b.batchNumber }, `last settled batch ${b.batchNumber}: ${b.transactions} transactions, posted ${time(b.postedAt)}, tx ${short(String(b.txHash ?? ""))}, proved in ${(b.timings.proveMs / 1000).toFixed(1)} s`, " ", h("a", { href: `/explorer#batch-${b.batchNumber}` }, "see it in the explorer"))
    : "no batch settled yet");
  fill("stream-status", `stream: ${s.stream ? "connected" : "not connected"}, last seq ${s.lastSeq}, gaps ${s.gaps}, books resynced ${s.resyncs}`);
}

async function selectMarket(marketId: number): Promise<void> {
  s.marketId = marketId;
  showDerivativesOrderFields(marketId >= INSTRUMENT_MARKET_BASE);
  s.book = (await s.stream!.subscribeMarket(marketId, 10)) ?? { bids: [], asks: [] };
  await s.trades.load(location.origin, marketId); // the trades made before the page opened (the stream brings the rest)
  renderMarket();
}

async function loadMarkets(): Promise<void> {
  s.markets = (await apiRequest<{ markets: Any[] }>(location.origin, "GET", "/v1/markets")).markets;
  const inst = await apiRequest<Any>(location.origin, "GET", "/v1/instruments");
  s.instruments = inst.instruments;
  const sel = $<HTMLSelectElement>("market");
  const spot = s.markets.map((m) => m.marketId as number).filter((id) => id < INSTRUMENT_MARKET_BASE);
  sel.replaceChildren(...[...spot, ...s.instruments.map((i) => i.marketId as number)].map((id) => h("option", { value: id }, marketLabel(id))));
  renderOptionChain();
}

function renderOptionChain(): void {
  const options = s.instruments.filter((i) => i.kind === InstrumentKind.CALL || i.kind === InstrumentKind.PUT);
  if (options.length === 0) return fill("option-chain", "no options listed");
  const expiries = [...new Set(options.map((o) => Number(o.expiry)))].sort((a, b) => a - b);
  const strikes = [...new Set(options.map((o) => BigInt(o.strike)))].sort((a, b) => (a < b ? -1 : 1));
  const cell = (strike: bigint, expiry: number) => {
    const at = (kind: number) => options.find((o) => BigInt(o.strike) === strike && Number(o.expiry) === expiry && o.kind === kind);
    const c = at(InstrumentKind.CALL);
    const p = at(InstrumentKind.PUT);
    const iv = (o: Any) => (o.volPpm === null || o.volPpm === undefined ? "" : ` (${(Number(o.volPpm) / 10_000).toFixed(1)}%)`);
    return h("span", {}, c ? `C ${q(c.markPerLot)}${iv(c)}` : "", c && p ? " / " : "", p ? `P ${q(p.markPerLot)}${iv(p)}` : "");
  };
  // an expiry's options share its status: live, expired (awaiting the oracle's settlement prices) or settled
  const status = (e: number) => {
    const st = options.find((o) => Number(o.expiry) === e)?.status;
    return st === "expired" ? " (expired, awaiting its settlement prices)" : st === "settled" ? " (settled)" : "";
  };
  fill("option-chain", table(["strike (1e-8 quote)", ...expiries.map((e) => `expiry ${time(e)}${status(e)}: mark per lot (implied vol)`)], strikes.map((k) => [String(k), ...expiries.map((e) => cell(k, e))]), { id: "chain-table" }));
}

async function openMarketStream(): Promise<void> {
  const { client, socket } = await openStream();
  s.stream = client;
  s.socket = socket;
  client.on("message", (m) => {
    s.lastSeq = m.seq;
    if (m.type === "trade") s.trades.add([m as unknown as TradeRecord]);
    if (m.type === "batch") {
      s.lastBatch = m.batch;
      void refreshAccount();
      void refreshRequests(); // a batch consumes queued requests
      void refreshInstruments();
    }
    if (m.type === "order" || m.type === "fill" || m.type === "rejected") scheduleAccountRefresh();
    renderMarket();
  });
  client.on("book", (marketId, view) => {
    if (marketId === s.marketId) s.book = view;
  });
  client.on("gap", () => {
    s.gaps++;
    scheduleAccountRefresh(); // orders and fills missed in the gap: read again over HTTP
  });
  client.on("resynced", (marketId: number) => {
    s.resyncs++;
    // trades lost in the gap: read the market's history again (merged by trade id)
    void s.trades.load(location.origin, marketId).then(renderMarket).catch((e) => say("order-msg", `trade history: ${errorText(e)}`, false));
  });
  client.on("close", () => fill("stream-status", "stream closed: reload the page"));
  await client.subscribeBatches();
  const batches = await apiRequest<{ batches: Any[] }>(location.origin, "GET", "/v1/batches?limit=1");
  s.lastBatch = batches.batches[0] ?? null;
}

async function refreshInstruments(): Promise<void> {
  s.instruments = (await apiRequest<Any>(location.origin, "GET", "/v1/instruments")).instruments;
  renderOptionChain();
}

// ---- wallet and account -------------------------------------------------------------------------

async function connect(): Promise<void> {
  const cfg = s.cfg!;
  const choice = $<HTMLSelectElement>("wallet-select").value;
  s.wallet = choice === "injected" ? await injectedWallet(cfg) : devWallet(cfg, Number(choice));
  if (choice === "injected") {
    // from here on the chain is read through the wallet's own node, not the operator's relay: token addresses and
    // decimals (what a typed amount becomes), the account id, the requests
    s.pc = walletPublicClient(cfg);
    s.requests = new RequestWatcher(s.pc, cfg.custodian);
    s.tokens = await tokensOf(s.pc, cfg.custodian);
  }
  s.address = s.wallet.account!.address;
  s.key = await deriveTradingKey(s.wallet as never, cfg.chainId, cfg.custodian);
  s.accountId = await accountOf(s.pc!, cfg.custodian, s.address);
  await startAccount();
}

async function startAccount(): Promise<void> {
  const key = s.key!;
  fill("wallet", h("div", {}, `wallet ${s.address}`), h("div", {}, "trading key ", h("code", {}, short(key.publicKey[0]))), h("div", { id: "account-id", "data-account": s.accountId }, s.accountId ? `account ${s.accountId}` : "no account yet: register the trading key"));
  if (!s.accountId) return;
  s.client = new ExchangeClient({ url: location.origin, accountId: s.accountId, tradingKey: key });
  const registered = await apiRequest<{ publicKey: string[] | null }>(location.origin, "GET", `/v1/accounts/${s.accountId}/key`).catch(() => null);
  if (registered?.publicKey && BigInt(registered.publicKey[0]!) !== key.publicKey[0]) say("account-msg", "the exchange holds another trading key for this account (rotated?): orders signed here will be refused", false);
  try {
    await s.stream!.authenticate(s.accountId, key.privateKey);
  } catch (e) {
    say("account-msg", `private stream: ${errorText(e)} (the exchange has not seen the key yet; reconnect in a moment)`, false);
  }
  await Promise.all([refreshAccount(), refreshRequests()]);
}

let refreshTimer: ReturnType<typeof setTimeout> | null = null;
function scheduleAccountRefresh(): void {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    void refreshAccount();
  }, 150);
}

async function refreshAccount(): Promise<void> {
  const c = s.client;
  if (!c) return;
  const [acct, fills, deriv] = await Promise.all([
    c.account() as Promise<Any>,
    c.fills({ limit: 30 }) as Promise<Any>,
    c.derivatives() as Promise<Any>,
  ]);
  const withdrawable = await Promise.all(s.tokens.map((t) => s.pc!.readContract({ address: s.cfg!.custodian, abi: custodianAbi, functionName: "withdrawable", args: [s.address!, t.tokenId] } as never) as Promise<bigint>));
  fill("balances", table(["token", "balance", "reserved", "available", "withdrawable on-chain"], s.tokens.map((t) => {
    const b = (acct.balances as Any[]).find((x) => x.tokenId === t.tokenId) ?? { balance: 0n, reserved: 0n, available: 0n };
    return [t.symbol, units(BigInt(b.balance), t.decimals), units(BigInt(b.reserved), t.decimals), units(BigInt(b.available), t.decimals), units(withdrawable[t.tokenId] ?? 0n, t.decimals)];
  }), { id: "balances-table" }));
  fill("open-orders", table(["order id", "market", "side", "price (ticks)", "lots left", "filled", "status", ""], (acct.openOrders as OpenOrderView[]).map((o) => [
    String(o.orderId), marketLabel(o.marketId), o.side === Side.BUY ? "buy" : "sell", String(o.priceTicks), String(o.remainingLots), String(o.filledLots), orderStatusCell(o),
    h("button", { class: "cancel", "data-order": String(o.orderId), onclick: () => act("order-msg", `cancel ${o.orderId}`, async () => {
      const ev = await c.cancel(BigInt(o.orderId));
      await refreshAccount();
      return `order ${o.orderId}: ${ev.map((e) => e.type).join(", ")}`;
    }) }, "cancel"),
  ]), { id: "orders-table" }));
  fill("fills", table(["time", "order", "market", "side", "role", "price (ticks)", "lots", "fee ppm", "status"], (fills.fills as Any[]).map((f) => [
    time(f.time), String(f.orderId), marketLabel(f.marketId), f.side === Side.BUY ? "buy" : "sell", f.role, String(f.priceTicks), String(f.lots), f.feePpm, f.rejected ? `rejected ${f.rejected}` : "ok",
  ]), { id: "fills-table" }));
  fill("margin", table(["collateral", "equity", "initial margin", "maintenance margin", "margin with orders", "free"], [[q(deriv.collateral), q(deriv.equity), q(deriv.initialMargin), q(deriv.maintenanceMargin), q(deriv.marginWithOrders), q(deriv.available)]], { id: "margin-table" }));
  fill("positions", table(["instrument", "size (lots)", "entry / lot", "mark / lot", "unrealised PnL", "realised PnL", "fees", "funding paid", "liquidation index price (below / above)", "greeks"], (deriv.positions as Any[]).map((p) => [
    marketLabel(p.marketId), String(p.size), q(p.averageEntryPerLot), q(p.markPerLot), q(p.unrealisedPnl), q(p.realisedPnl), q(p.feesPaid), q(p.fundingPaid),
    BigInt(p.size) === 0n ? "—" : liquidationText(deriv.liquidation as Any[], p),
    p.kind === InstrumentKind.CALL || p.kind === InstrumentKind.PUT ? Object.entries(p.greeks ?? {}).map(([k, v]) => `${k} ${String(v)}`).join(", ") : "—",
  ]), { id: "positions-table" }));
}

const REQUEST_KIND: Record<number, string> = {
  [TxType.DEPOSIT]: "deposit", [TxType.FORCED_WITHDRAW]: "forced withdrawal", [TxType.FORCED_COLLATERAL_WITHDRAW]: "forced collateral withdrawal",
  [TxType.FORCED_CLOSE]: "forced close",
};

/** A request's queue index, or "in line" while it waits for a place (it has none yet). */
function queueIndexText(r: OwnRequest): string {
  return r.index < 0 ? "in line" : String(r.index);
}

function requestStateText(r: OwnRequest): string {
  switch (r.state) {
    case "waiting": return `waiting in line (position ${r.position}) for a place among the custodian's open forced requests: a batch must process it by ${time(r.deadline)}`;
    case "pending": return `pending: a batch must process it by ${time(r.deadline)}`;
    case "processed":
      if (!r.outcome) return "processed by a batch";
      if (r.tx.type === TxType.FORCED_CLOSE) {
        return r.outcome.honoured
          ? `honoured by batch ${r.outcome.batchNumber}: the lots passed to account ${r.tx.counterpartyId} at the mark`
          : `refused by batch ${r.outcome.batchNumber}: a position did not hold the lots (name another counterparty)`;
      }
      return r.outcome.honoured
        ? `honoured by batch ${r.outcome.batchNumber}: credited to the wallet's withdrawable`
        : `refused by batch ${r.outcome.batchNumber}: the balance (or collateral beyond initial margin) did not cover it`;
    case "expired": return `expired at ${time(r.deadline)}: the exodus can start`;
    case "refundable": return "not processed: refundable in exodus";
    case "refunded": return "refunded";
  }
}

/**
 * The account's deposits and forced withdrawals on the custodian's queue, with their state (chain data: the
 * whole queue's events, so read when the account starts, after each batch and after the page's own requests,
 * not on every account refresh).
 */
async function refreshRequests(): Promise<void> {
  if (!s.accountId) return;
  const list = await s.requests!.own(s.accountId).catch((e) => (say("requests-msg", `requests: ${errorText(e)}`, false), null));
  if (!list) return;
  fill("requests", table(["queue index", "request", "token or instrument", "amount", "queued", "state", ""], list.map((r) => {
    if (r.tx.type === TxType.FORCED_CLOSE) {
      const { instrumentId, lots, counterpartyId } = r.tx;
      return [queueIndexText(r), REQUEST_KIND[r.tx.type], `instrument ${instrumentId}`, `${lots} lots to account ${counterpartyId}`, time(r.queuedAt), h("span", { "data-state": r.state }, requestStateText(r)), ""];
    }
    const tx = r.tx; // a deposit or a forced withdrawal
    const t = s.tokens[tx.tokenId];
    return [
      queueIndexText(r), REQUEST_KIND[tx.type], t?.symbol ?? `token ${tx.tokenId}`, t ? units(tx.amount, t.decimals) : String(tx.amount), time(r.queuedAt),
      h("span", { "data-state": r.state }, requestStateText(r)),
      r.state === "refundable" ? h("button", { class: "refund", "data-index": r.index, onclick: () => act("requests-msg", `refund deposit ${r.index}`, async () => {
        // The refund credits the depositor's withdrawable; the wallet that made the deposit pulls it at once.
        const wallet = needWallet();
        await refundDeposit(wallet, s.cfg!.custodian, BigInt(r.index), tx);
        const by = await s.pc!.readContract({ address: s.cfg!.custodian, abi: custodianAbi, functionName: "queuedBy", args: [BigInt(r.index)] } as never) as string;
        const mine = by.toLowerCase() === s.address!.toLowerCase();
        if (mine) await claimWithdrawal(wallet, s.cfg!.custodian, tx.tokenId);
        await refreshRequests();
        return `deposit ${r.index} refunded: ${units(tx.amount, t!.decimals)} ${t!.symbol} credited to the wallet that made it${mine ? " and claimed" : " (it claims them with withdraw)"}`;
      }) }, "refund") : "",
    ];
  }), { id: "requests-table" }));
}

/**
 * The index prices of a position's underlying at which the account would be liquidated, below and above
 * the current one (the account report's `liquidation`, all its positions on that underlying moving
 * together); "none" where there is none within a factor of 100.
 */
function liquidationText(liquidation: Any[], p: Any): string {
  const inst = s.instruments.find((i) => i.instrumentId === p.instrumentId);
  const l = inst && liquidation.find((x) => x.underlying === inst.underlying);
  if (!l) return "—";
  const price = (v: string | bigint | null | undefined) => (v === null || v === undefined ? "none" : units(BigInt(v), 8));
  return `${price(l.below)} / ${price(l.above)}`;
}

// ---- actions ------------------------------------------------------------------------------------

/** Shows the order ticket's derivatives-only inputs (reduce-only, trigger) on derivatives markets; on spot markets hides and clears them. */
function showDerivativesOrderFields(derivatives: boolean): void {
  $("deriv-order-fields").hidden = !derivatives;
  if (derivatives) return;
  $<HTMLInputElement>("reduce-only").checked = false;
  $<HTMLSelectElement>("trigger-type").value = String(TriggerType.NONE);
  $<HTMLInputElement>("trigger-price").value = "";
}

/**
 * The order ticket's derivatives-only fields (docs/client.md 6.7, 6.8), as the SDK's OrderInput takes them:
 * reduce-only when ticked; a stop or take-profit trigger with its price in ticks (required with a trigger, refused without one).
 */
function derivativesOrderFields(): Pick<OrderInput, "reduceOnly" | "triggerType" | "triggerPriceTicks"> {
  const triggerType = Number(input("trigger-type")) as TriggerType;
  const priceText = input("trigger-price");
  if (triggerType === TriggerType.NONE && priceText.trim() !== "") throw new Error("trigger price: choose stop or take-profit for it, or leave it empty");
  return {
    ...($<HTMLInputElement>("reduce-only").checked ? { reduceOnly: true } : {}),
    ...(triggerType === TriggerType.NONE ? {} : { triggerType, triggerPriceTicks: parsePositive(priceText, "trigger price") }),
  };
}

/** "stop at 310000" (the trigger price in ticks). */
function triggerText(type: TriggerType, priceTicks: bigint): string {
  return `${TRIGGER[type]} at ${priceTicks}`;
}

/** An open order's state: resting in the book, or held by the exchange until its trigger (docs/client.md 6.8). */
function orderStatusCell(o: OpenOrderView): HTMLElement {
  const text = o.status === "held" ? `held: ${triggerText(o.triggerType, o.triggerPriceTicks)}` : "open";
  return h("span", { "data-status": o.status }, text, o.reduceOnly ? ", reduce-only" : "");
}

const testTokenAbi = parseAbi(["function mint(address to, uint256 amount)"]);

function tokenById(id: string): TokenInfo {
  const t = s.tokens[Number(id)];
  if (!t) throw new Error(`no token ${id}`);
  return t;
}

function needWallet(): { publicClient: PublicClient; walletClient: WalletClient } {
  if (!s.wallet) throw new Error("connect a wallet first");
  return { publicClient: s.pc!, walletClient: s.wallet };
}

function needClient(): ExchangeClient {
  if (!s.client) throw new Error("connect a wallet with a registered trading key first");
  return s.client;
}

function wireActions(): void {
  $("connect").onclick = () => act("wallet-msg", "connect", async () => {
    await connect();
    return `connected ${s.address}${s.accountId ? `, account ${s.accountId}` : ""}`;
  });
  $("mint").onclick = () => act("wallet-msg", "mint test tokens", async () => {
    const c = needWallet();
    for (const t of s.tokens) {
      const hash = await c.walletClient.writeContract({ address: t.address, abi: testTokenAbi, functionName: "mint", args: [s.address!, 10_000n * 10n ** BigInt(t.decimals)], account: c.walletClient.account!, chain: c.walletClient.chain });
      await c.publicClient.waitForTransactionReceipt({ hash });
    }
    return `minted 10000 of ${s.tokens.map((t) => t.symbol).join(", ")} to ${s.address}`;
  });
  $("register").onclick = () => act("wallet-msg", "register trading key", async () => {
    const c = needWallet();
    if (s.accountId) return `already account ${s.accountId}`;
    s.accountId = await registerTradingKey(c, s.cfg!.custodian, s.key!.publicKey);
    await new Promise((r) => setTimeout(r, 1200)); // the exchange polls the custodian for the key
    await startAccount();
    return `registered: account ${s.accountId}`;
  });
  $("deposit").onclick = () => act("funds-msg", "deposit", async () => {
    const c = needWallet();
    const t = tokenById(input("deposit-token"));
    const amount = parseUnitsStrict(input("deposit-amount"), t.decimals, "deposit amount");
    await deposit(c, s.cfg!.custodian, t.address, t.tokenId, amount);
    setTimeout(scheduleAccountRefresh, 1500);
    void refreshRequests();
    return `deposited ${units(amount, t.decimals)} ${t.symbol}: credited once the exchange sees it (about a second)`;
  });
  $("withdraw").onclick = () => act("funds-msg", "withdraw", async () => {
    const t = tokenById(input("withdraw-token"));
    const amount = parseUnitsStrict(input("withdraw-amount"), t.decimals, "withdrawal amount");
    await needClient().withdraw(t.tokenId, amount);
    await refreshAccount();
    return `withdrawal of ${units(amount, t.decimals)} ${t.symbol} accepted: claim it on-chain after its batch is posted`;
  });
  $("claim").onclick = () => act("funds-msg", "claim", async () => {
    const t = tokenById(input("withdraw-token"));
    await claimWithdrawal(needWallet(), s.cfg!.custodian, t.tokenId);
    await refreshAccount();
    return `claimed ${t.symbol} to ${s.address}`;
  });
  $("transfer").onclick = () => act("funds-msg", "transfer", async () => {
    const amount = parseUnitsStrict(input("transfer-amount"), quote().decimals, "transfer amount");
    const toCollateral = $<HTMLSelectElement>("transfer-dir").value === "in";
    await needClient().transfer(toCollateral, amount);
    await refreshAccount();
    return `${units(amount, quote().decimals)} ${quote().symbol} moved ${toCollateral ? "into" : "out of"} derivatives collateral`;
  });
  $("place").onclick = () => act("order-msg", "place order", async () => {
    const c = needClient();
    // the market's label came from the exchange's API: what the order will sign is checked against the chain first
    // (the API's JSON, untyped here: a field it lacks compares unequal to the chain's)
    const fault = await chainListingFault(s.pc!, s.cfg!.custodian, s.marketId, s.instruments as ListedInstrument[], s.markets as ListedMarket[]);
    if (fault) throw new Error(`not signed: ${fault}`);
    const type = Number(input("otype")) as OrderType;
    // signed by the SDK (ExchangeClient.signOrder): reduce-only and the trigger are packed into the order's words there
    const { order, events } = await c.placeOrder({
      marketId: s.marketId, side: Number(input("side")) as Side, type, timeInForce: (type === OrderType.MARKET ? TimeInForce.IOC : Number(input("tif"))) as TimeInForce,
      priceTicks: parsePositive(input("price"), "price"), sizeLots: parsePositive(input("size"), "size"),
      ...(s.marketId >= INSTRUMENT_MARKET_BASE ? derivativesOrderFields() : {}),
    });
    await refreshAccount();
    const fills = events.filter((e) => e.type === "fill");
    const terms = [TIF[order.timeInForce], ...(order.reduceOnly ? ["reduce-only"] : []), ...(order.triggerType ? [triggerText(order.triggerType, order.triggerPriceTicks ?? 0n)] : [])];
    return `order ${order.orderId} (${terms.join(", ")}): ${events.filter((e) => e.type !== "done").map((e) => e.type).join(", ")}${fills.length ? `; filled ${fills.reduce((a, e) => a + (e.type === "fill" ? e.lots : 0n), 0n)} lots` : ""}`;
  });
  $("force-withdraw").onclick = () => act("requests-msg", "forced withdrawal", async () => {
    const c = needWallet();
    const choice = input("force-token");
    const t = choice === "collateral" ? quote() : tokenById(choice);
    const amount = parseUnitsStrict(input("force-amount"), t.decimals, "forced withdrawal amount");
    const index = choice === "collateral" ? await forceWithdrawCollateral(c, s.cfg!.custodian, amount) : await forceWithdraw(c, s.cfg!.custodian, t.tokenId, amount);
    await refreshRequests();
    const what = `forced withdrawal of ${units(amount, t.decimals)} ${t.symbol}${choice === "collateral" ? " collateral" : ""}`;
    if (index === FORCED_WAITING) return `${what} waits in line for a place in the custodian's queue (its forced requests are full): the next batches admit it, oldest first`;
    return `${what} queued on the custodian (request ${index}): the next batch must process it`;
  });
  $("force-close").onclick = () => act("requests-msg", "forced close", async () => {
    const c = needWallet();
    const instrumentId = parseWhole(input("close-instrument"), "instrument id");
    const counterpartyId = parseWhole(input("close-counterparty"), "counterparty account");
    const lots = parsePositive(input("close-lots"), "lots");
    const index = await forceClose(c, s.cfg!.custodian, instrumentId, counterpartyId, lots);
    await refreshRequests();
    const what = `forced close of ${lots} lots of instrument ${instrumentId} against account ${counterpartyId}`;
    if (index === FORCED_WAITING) return `${what} waits in line for a place in the custodian's queue (its forced requests are full): the next batches admit it, oldest first`;
    return `${what} queued on the custodian (request ${index}): the next batch with an oracle update must process it`;
  });
  $("exodus").onclick = () => act("requests-msg", "start exodus", async () => {
    await activateExodus(needWallet(), s.cfg!.custodian);
    await refreshRequests();
    return "exodus started: refund unprocessed deposits here, exit from the settlement explorer";
  });
  $<HTMLSelectElement>("market").onchange = (e) => void selectMarket(Number((e.target as HTMLSelectElement).value));
}

async function main(): Promise<void> {
  s.cfg = await loadConfig();
  if (!s.cfg.api) {
    // the explorer-only server (startWebServer: chain data alone): no exchange to trade on
    say("wallet-msg", "This server serves the settlement explorer only: the exchange's API is not running here.", false);
    return;
  }
  s.pc = publicClientOf(s.cfg);
  s.requests = new RequestWatcher(s.pc, s.cfg.custodian);
  s.tokens = await tokensOf(s.pc, s.cfg.custodian);
  const wallets = $<HTMLSelectElement>("wallet-select");
  wallets.replaceChildren(h("option", { value: "injected" }, "browser wallet (window.ethereum)"), ...(s.cfg.devWallets ? [5, 6, 7, 8, 9].map((i) => h("option", { value: i }, `devnet test wallet #${i}`)) : []));
  if (s.cfg.devWallets) wallets.value = "5";
  else $("mint").hidden = true;
  for (const id of ["deposit-token", "withdraw-token", "force-token"]) $(id).replaceChildren(...s.tokens.map((t) => h("option", { value: t.tokenId }, t.symbol)));
  $("force-token").append(h("option", { value: "collateral" }, `${quote().symbol} collateral`));
  wireActions();
  await loadMarkets();
  await openMarketStream();
  await selectMarket(Number($<HTMLSelectElement>("market").value || 0));
  document.body.dataset.ready = "true";
}

main().catch((e) => {
  say("wallet-msg", `the page could not start: ${errorText(e)}`, false);
  console.error(e);
});
