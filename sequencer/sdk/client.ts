/**
 * ExchangeClient: a trader's HTTP client of the exchange API. It holds the trading key (derived from a
 * wallet with EIP-712, tradingKey.ts), signs every state-changing request, allocates order ids, and
 * opens the WebSocket (streamClient.ts). On-chain steps (register the key, deposit, claim a
 * withdrawal) are in custodian.ts.
 *
 * Order ids: an account's ids must grow within each order-storage slot, so the client counts up from
 * (unix seconds << 8): a restarted client starts above every id of its earlier runs (at up to 256
 * orders per second on average). Pass `firstOrderId` to continue from a known id instead.
 */
import type { Address } from "viem";
import type { EngineEvent } from "../matching/index.ts";
import { IMMEDIATE_ORDER_TTL, neverRests, OrderType, TimeInForce, type Side, type TriggerType } from "../protocol/constants.ts";
import type { Cancel, Order, Signed, Transfer, Withdrawal } from "../protocol/messages.ts";
import type { AccountReport } from "../risk/accountReport.ts";
import type { InstrumentStatus, ListedInstrument } from "../derivatives/formulas.ts";
import type { PublicKey } from "../crypto/babyjub.ts";
import { signCancel, signOrder, signTransfer, signWithdrawal } from "../protocol/signing.ts";
import { StreamClient, type StreamClientOptions } from "./streamClient.ts";
import { deriveTradingKey, type TradingKey, type TypedDataSigner } from "./tradingKey.ts";
import { ApiRequestError, fromJson, toJson, type BatchItem } from "./wire.ts";
import { BINARY_ORDERS_TYPE } from "../wire/orderFrames.ts";
import type { OpenOrderView, TradeRecord } from "../wire/responses.ts";
import { encodeOrderRecords } from "../protocol/orderRecords.ts";

export type ExchangeClientOptions = {
  /** Base URL of the API, e.g. http://127.0.0.1:8080 */
  url: string;
  accountId: number;
  tradingKey: TradingKey;
  firstOrderId?: bigint;
  /** Expiry given to resting orders (GTC, post-only) that name none: now + this many seconds (default 1 day). */
  defaultTtlSeconds?: number;
  /**
   * Expiry given to orders that never rest (IOC, FOK, market) that name none: now + this many seconds (default
   * 5 minutes; at most IMMEDIATE_ORDER_TTL, 10 minutes, which the sequencer and the circuit enforce: the default
   * leaves 5 minutes for a clock ahead of the sequencer's). What such an order leaves unfilled is not cancelled in
   * the proven state (RULES.md G12): its signature stays good until its expiry; shorter than the batch latency,
   * its fills could not be proven.
   */
  immediateTtlSeconds?: number;
};

/** The SDK's expiry for orders that never rest, in seconds from now: half of IMMEDIATE_ORDER_TTL, the rest a margin for clock skew. */
export const DEFAULT_IMMEDIATE_TTL = IMMEDIATE_ORDER_TTL / 2;

/** What a caller gives for an order; the client fills in account, id, defaults, and signs. */
export type OrderInput = {
  marketId: number;
  side: Side;
  priceTicks: bigint;
  sizeLots: bigint;
  type?: OrderType;
  timeInForce?: TimeInForce;
  maxFeePpm?: number;
  expiry?: number;
  orderId?: bigint;
  /** Reduce-only (derivatives markets only): fills may only reduce the account's position (docs/client.md). */
  reduceOnly?: boolean;
  /** A stop or take-profit order: held by the sequencer until the mark crosses `triggerPriceTicks` (docs/client.md 6.8). */
  triggerType?: TriggerType;
  triggerPriceTicks?: bigint;
};

export type Placed = { order: Signed<Order>; events: EngineEvent[] };
export type { BatchItem };

/** GET/POST against the API; non-2xx answers throw ApiRequestError with the server's code. */
export async function apiRequest<T>(url: string, method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
  const binary = body instanceof Uint8Array;
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": binary ? BINARY_ORDERS_TYPE : "application/json" },
    body: body === undefined ? undefined : binary ? (body as Uint8Array<ArrayBuffer>) : toJson(body),
  });
  const parsed = fromJson<Record<string, unknown>>(await res.text());
  if (!res.ok) throw new ApiRequestError(res.status, String(parsed.code), String(parsed.message), parsed);
  return parsed as T;
}

function query(opts: Record<string, string | number | undefined>): URLSearchParams {
  return new URLSearchParams(Object.entries(opts).flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, String(v)]])));
}

/** A market's recent trades (GET /v1/markets/:id/trades), newest first; `before` (a tradeId) pages back. Needs no account. */
export function marketTrades(url: string, marketId: number, opts: { limit?: number; before?: number } = {}): Promise<{ marketId: number; trades: TradeRecord[] }> {
  const q = query(opts);
  return apiRequest(url.replace(/\/$/, ""), "GET", `/v1/markets/${marketId}/trades${q.size ? `?${q}` : ""}`);
}

export class ExchangeClient {
  readonly url: string;
  readonly accountId: number;
  readonly tradingKey: TradingKey;
  #nextOrderId: bigint;
  readonly #ttl: number;
  readonly #immediateTtl: number;

  constructor(opts: ExchangeClientOptions) {
    this.url = opts.url.replace(/\/$/, "");
    this.accountId = opts.accountId;
    this.tradingKey = opts.tradingKey;
    this.#nextOrderId = opts.firstOrderId ?? BigInt(Math.floor(Date.now() / 1000)) << 8n;
    this.#ttl = opts.defaultTtlSeconds ?? 86_400;
    this.#immediateTtl = opts.immediateTtlSeconds ?? DEFAULT_IMMEDIATE_TTL;
    if (!(this.#immediateTtl > 0 && this.#immediateTtl <= IMMEDIATE_ORDER_TTL)) {
      throw new RangeError(`immediateTtlSeconds ${this.#immediateTtl} must be in (0, ${IMMEDIATE_ORDER_TTL}]: the sequencer refuses a market, IOC or FOK order expiring later than that after its arrival`);
    }
  }

  /**
   * Derives the trading key from a wallet (viem account or wallet client; ethers via
   * ethersTypedDataSigner) for the exchange's chain and custodian, and makes a client for `accountId`
   * (the custodian's accountOf(wallet) once the key is registered: custodian.ts).
   */
  static async fromWallet(wallet: TypedDataSigner, opts: Omit<ExchangeClientOptions, "tradingKey"> & { chainId: number; custodian: Address; keyIndex?: number }): Promise<ExchangeClient> {
    const tradingKey = await deriveTradingKey(wallet, opts.chainId, opts.custodian, opts.keyIndex);
    return new ExchangeClient({ ...opts, tradingKey });
  }

  get publicKey(): PublicKey {
    return this.tradingKey.publicKey;
  }

  #get<T>(path: string): Promise<T> {
    return apiRequest<T>(this.url, "GET", path);
  }

  #post<T>(path: string, body: unknown): Promise<T> {
    return apiRequest<T>(this.url, "POST", path, body);
  }

  // ---- signing ----------------------------------------------------------------------------------

  /** The next order id of this client (ids only grow). */
  allocateOrderId(): bigint {
    return this.#nextOrderId++;
  }

  /** Fills in the defaults and signs; does not send. */
  signOrder(input: OrderInput): Signed<Order> {
    const type = input.type ?? OrderType.LIMIT;
    const timeInForce = input.timeInForce ?? TimeInForce.GTC;
    return signOrder(this.tradingKey.privateKey, {
      accountId: this.accountId,
      orderId: input.orderId ?? this.allocateOrderId(),
      marketId: input.marketId,
      side: input.side,
      type,
      timeInForce,
      priceTicks: input.priceTicks,
      sizeLots: input.sizeLots,
      maxFeePpm: input.maxFeePpm ?? 1000,
      // an order that never rests gets the short expiry (RULES.md T14), unless it carries a trigger: a stop or take-profit
      // waits for its mark, so it gets the resting one (a stop-loss that quietly expired after minutes protected nothing)
      expiry: input.expiry ?? Math.floor(Date.now() / 1000) + (neverRests({ type, timeInForce }) && !input.triggerType ? this.#immediateTtl : this.#ttl),
      ...(input.reduceOnly ? { reduceOnly: true } : {}),
      ...(input.triggerType ? { triggerType: input.triggerType, triggerPriceTicks: input.triggerPriceTicks } : {}),
    });
  }

  signCancel(orderId: bigint): Signed<Cancel> {
    return signCancel(this.tradingKey.privateKey, { accountId: this.accountId, orderId });
  }

  // ---- writes -----------------------------------------------------------------------------------

  async placeOrder(input: OrderInput): Promise<Placed> {
    const order = this.signOrder(input);
    const { events } = await this.#post<{ events: EngineEvent[] }>("/v1/orders", order);
    return { order, events };
  }

  /**
   * Up to 100 orders in one request; each gets its own result. `binary`: sent as binary order records
   * (smaller, and cheaper for the server to read) instead of JSON; the answer is the same.
   */
  async placeOrders(inputs: readonly OrderInput[], opts: { binary?: boolean } = {}): Promise<{ orders: Signed<Order>[]; results: BatchItem[] }> {
    const orders = inputs.map((i) => this.signOrder(i));
    const { results } = await this.#post<{ results: BatchItem[] }>("/v1/orders/batch", opts.binary ? encodeOrderRecords(orders) : { orders });
    return { orders, results };
  }

  async cancel(orderId: bigint): Promise<EngineEvent[]> {
    return (await this.#post<{ events: EngineEvent[] }>("/v1/cancels", this.signCancel(orderId))).events;
  }

  /**
   * Cancels every open order (of one market when given), held stop and take-profit orders included: one signed cancel per order, sent in batches of
   * up to 100 (the circuit proves each cancel by its own signature). Returns one result per order.
   */
  async cancelAll(marketId?: number): Promise<{ orderId: bigint; result: BatchItem }[]> {
    const open = (await this.account()).openOrders.filter((o) => marketId === undefined || o.marketId === marketId);
    const out: { orderId: bigint; result: BatchItem }[] = [];
    for (let i = 0; i < open.length; i += 100) {
      const part = open.slice(i, i + 100);
      const { results } = await this.#post<{ results: BatchItem[] }>("/v1/cancels/batch", { cancels: part.map((o) => this.signCancel(o.orderId)) });
      part.forEach((o, k) => out.push({ orderId: o.orderId, result: results[k] }));
    }
    return out;
  }

  /** Asks the sequencer to withdraw `amount` of `tokenId` (claim it on-chain once its batch is posted). */
  async withdraw(tokenId: number, amount: bigint, nonce?: number): Promise<Signed<Withdrawal>> {
    const n = nonce ?? (await this.account()).withdrawalNonce;
    const w = signWithdrawal(this.tradingKey.privateKey, { accountId: this.accountId, tokenId, amount, nonce: n });
    await this.#post("/v1/withdrawals", w);
    return w;
  }

  /**
   * Moves `amount` of quote (token 0) between the spot balance and derivatives collateral (in when
   * `toCollateral`). Out of collateral only if the equity left covers the positions and open orders.
   * Shares its nonce sequence with withdrawals.
   */
  async transfer(toCollateral: boolean, amount: bigint, nonce?: number): Promise<Signed<Transfer>> {
    const n = nonce ?? (await this.account()).withdrawalNonce;
    const t = signTransfer(this.tradingKey.privateKey, { accountId: this.accountId, toCollateral, amount, nonce: n });
    await this.#post("/v1/transfers", t);
    return t;
  }

  // ---- reads ------------------------------------------------------------------------------------

  /**
   * {status: "ok", time (the sequencer's clock, unix seconds: what order expiries and oracle ages are judged by)};
   * rejects with ApiRequestError 503 (status "failing", `problems`) while batches fail or no prover device is healthy.
   */
  health(): Promise<{ status: string; time: number; pendingTransactions: number }> {
    return this.#get("/v1/health");
  }

  /** The fee pool, the insurance fund, the open bad debt and the pooled quote of the proven state (quote units). */
  treasury(): Promise<{ feePool: bigint; insuranceFund: bigint; openBadDebt: bigint; pooledQuote: bigint }> {
    return this.#get("/v1/treasury");
  }

  markets(): Promise<{ markets: Record<string, unknown>[] }> {
    return this.#get("/v1/markets");
  }

  book(marketId: number, levels = 10): Promise<{ marketId: number; bids: { priceTicks: bigint; lots: bigint; orders: number }[]; asks: { priceTicks: bigint; lots: bigint; orders: number }[] }> {
    return this.#get(`/v1/markets/${marketId}/book?levels=${levels}`);
  }

  trades(marketId: number, opts: { limit?: number; before?: number } = {}): Promise<{ marketId: number; trades: TradeRecord[] }> {
    return marketTrades(this.url, marketId, opts);
  }

  account(accountId = this.accountId): Promise<{
    accountId: number;
    balances: { tokenId: number; balance: bigint; reserved: bigint; available: bigint }[];
    /** Resting orders (status "open"), then stop and take-profit orders held until their trigger (status "held"). */
    openOrders: OpenOrderView[];
    positions: unknown[];
    withdrawalNonce: number;
  }> {
    return this.#get(`/v1/accounts/${accountId}`);
  }

  /** Collateral, equity, margin used, positions with PnL and Greeks, at the latest oracle update. */
  derivatives(accountId = this.accountId): Promise<AccountReport> {
    return this.#get(`/v1/accounts/${accountId}/derivatives`);
  }

  /** The registered instruments with their mark per lot at the latest oracle update. */
  instruments(): Promise<{ oracleTime: number | null; fundingEpoch: number; instrumentSlots: number; optionSlots: number; underlyings: number; positionSlots: number; instruments: (ListedInstrument & { instrumentId: number; marketId: number; tickSizeE8: bigint; status: InstrumentStatus; markPerLot: bigint | null; volPpm: bigint | null; openInterestLots: bigint; holders: number })[] }> {
    return this.#get("/v1/instruments");
  }

  orders(opts: { status?: "open" | "filled" | "cancelled"; limit?: number } = {}): Promise<{ orders: Record<string, unknown>[] }> {
    const q = query(opts);
    return this.#get(`/v1/accounts/${this.accountId}/orders${q.size ? `?${q}` : ""}`);
  }

  order(orderId: bigint): Promise<{ order: Record<string, unknown> }> {
    return this.#get(`/v1/accounts/${this.accountId}/orders/${orderId}`);
  }

  fills(opts: { limit?: number; before?: number } = {}): Promise<{ fills: Record<string, unknown>[] }> {
    const q = query(opts);
    return this.#get(`/v1/accounts/${this.accountId}/fills${q.size ? `?${q}` : ""}`);
  }

  /** This account's accepted transactions that no batch could prove (taken out of the queue), newest first. */
  rejections(limit = 100): Promise<{ rejections: Record<string, unknown>[] }> {
    return this.#get(`/v1/accounts/${this.accountId}/rejections?limit=${limit}`);
  }

  batches(limit = 20): Promise<{ pendingTransactions: number; batches: Record<string, unknown>[] }> {
    return this.#get(`/v1/batches?limit=${limit}`);
  }

  /** Opens the WebSocket, authenticated for this account's private channel. */
  async stream(opts: StreamClientOptions = {}): Promise<StreamClient> {
    const s = await StreamClient.connect(`${this.url.replace(/^http/, "ws")}/v1/stream`, opts);
    await s.authenticate(this.accountId, this.tradingKey.privateKey);
    return s;
  }
}
