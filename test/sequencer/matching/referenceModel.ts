/**
 * A deliberately simple reference model of the matching engine, for differential testing: one flat array
 * of live orders in acceptance order, linear scans for everything, no indexes, no levels. It implements the
 * engine's documented policies (sequencer/matching/engine.ts) independently of the engine's code; only the
 * types are shared. Also used by scripts/bench/matching.ts as the baseline.
 */
import { OrderType, Side, TimeInForce } from "../../../sequencer/protocol/constants.ts";
import {
  CancelReason,
  RejectCode,
  SelfTradePolicy,
  type Command,
  type Depth,
  type DepthLevel,
  type EngineEvent,
  type MarketParams,
  type Order,
  type OrderView,
} from "../../../sequencer/matching/types.ts";

type Live = Order & { seq: number; remainingLots: bigint; filledLots: bigint };

const MAX40 = 2n ** 40n - 1n;

function uint(v: unknown, bits: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v < 2 ** bits;
}

export class ReferenceModel {
  /** Live orders, oldest first. */
  orders: Live[] = [];
  used: string[] = [];
  seq = 1;

  constructor(
    readonly markets: readonly MarketParams[],
    readonly policy: SelfTradePolicy = SelfTradePolicy.CANCEL_MAKER,
    /** The risk decision for an order (the model keeps no balances). */
    readonly riskAccepts: (o: Order) => boolean = () => true,
  ) {}

  execute(cmd: Command): EngineEvent[] {
    const seq = this.seq++;
    const out: EngineEvent[] = [];
    const c = cmd as any;
    if (typeof c !== "object" || c === null || !uint(c.time, 32)) {
      out.push(this.rej(c?.kind === "place" ? c.order : c, RejectCode.MALFORMED));
    } else if (c.kind === "place") {
      this.place(c.order, c.time, seq, out);
    } else if (c.kind === "cancel") {
      if (!uint(c.accountId, 32) || typeof c.orderId !== "bigint" || c.orderId < 0n || c.orderId > MAX40) {
        out.push(this.rej(c, RejectCode.MALFORMED));
      } else {
        const o = this.orders.find((x) => x.accountId === c.accountId && x.orderId === c.orderId);
        if (!o) out.push(this.rej(c, RejectCode.UNKNOWN_ORDER));
        else this.kill(o, CancelReason.USER, out);
      }
    } else if (c.kind === "cancelAll") {
      if (!uint(c.accountId, 32) || (c.marketId !== undefined && !uint(c.marketId, 16))) {
        out.push(this.rej(c, RejectCode.MALFORMED));
      } else if (c.marketId !== undefined && !this.markets.some((m) => m.marketId === c.marketId)) {
        out.push(this.rej(c, RejectCode.UNKNOWN_MARKET));
      } else {
        for (const o of this.orders.filter((x) => x.accountId === c.accountId && (c.marketId === undefined || x.marketId === c.marketId))) {
          this.kill(o, CancelReason.USER, out);
        }
      }
    } else {
      out.push(this.rej(c, RejectCode.MALFORMED));
    }
    out.push({ type: "done", seq });
    return out;
  }

  private rej(src: any, code: RejectCode): EngineEvent {
    const s = typeof src === "object" && src !== null ? src : {};
    return { type: "rejected", accountId: uint(s.accountId, 32) ? s.accountId : null, orderId: typeof s.orderId === "bigint" ? s.orderId : null, code };
  }

  private kill(o: Live, reason: CancelReason, out: EngineEvent[]): void {
    this.orders = this.orders.filter((x) => x !== o);
    out.push({ type: "cancelled", accountId: o.accountId, orderId: o.orderId, marketId: o.marketId, reason, remainingLots: o.remainingLots });
  }

  private validate(o: any, time: number): RejectCode | null {
    if (typeof o !== "object" || o === null) return RejectCode.MALFORMED;
    const ok =
      uint(o.accountId, 32) && typeof o.orderId === "bigint" && o.orderId >= 0n && o.orderId <= MAX40 &&
      uint(o.marketId, 16) && [0, 1].includes(o.side) && [0, 1].includes(o.type) && [0, 1, 2, 3].includes(o.timeInForce) &&
      typeof o.priceTicks === "bigint" && typeof o.sizeLots === "bigint" && uint(o.maxFeePpm, 16) && uint(o.expiry, 32);
    if (!ok) return RejectCode.MALFORMED;
    if (o.sizeLots === 0n) return RejectCode.ZERO_SIZE;
    if (o.sizeLots < 0n || o.sizeLots > MAX40) return RejectCode.SIZE_OUT_OF_RANGE;
    if (o.priceTicks < 0n || o.priceTicks > MAX40) return RejectCode.PRICE_OUT_OF_RANGE;
    if (o.type === OrderType.MARKET && o.timeInForce === TimeInForce.POST_ONLY) return RejectCode.INVALID_TIME_IN_FORCE;
    if (o.expiry < time) return RejectCode.EXPIRED;
    const market = this.markets.find((m) => m.marketId === o.marketId);
    if (!market) return RejectCode.UNKNOWN_MARKET;
    // the roles the order can take: a post-only order only makes, IOC/FOK/market orders only take, GTC both
    const makes = o.timeInForce === TimeInForce.POST_ONLY || (o.timeInForce === TimeInForce.GTC && o.type === OrderType.LIMIT);
    const takes = o.timeInForce !== TimeInForce.POST_ONLY;
    if ((makes && o.maxFeePpm < market.makerFeePpm) || (takes && o.maxFeePpm < market.takerFeePpm)) return RejectCode.MAX_FEE_TOO_LOW;
    if (this.used.includes(`${o.accountId}:${o.orderId}`)) return RejectCode.DUPLICATE_ORDER_ID;
    return null;
  }

  /** Resting orders the taker could trade with, in priority order (best price, then oldest). */
  private candidates(t: Order): Live[] {
    const buy = t.side === Side.BUY;
    return this.orders
      .filter((m) => m.marketId === t.marketId && m.side !== t.side && (buy ? m.priceTicks <= t.priceTicks : m.priceTicks >= t.priceTicks))
      .sort((a, b) => (a.priceTicks === b.priceTicks ? a.seq - b.seq : (buy ? a.priceTicks < b.priceTicks : a.priceTicks > b.priceTicks) ? -1 : 1));
  }

  private place(o: Order, time: number, seq: number, out: EngineEvent[]): void {
    const code = this.validate(o, time);
    if (code !== null) {
      out.push(this.rej(o, code));
      return;
    }
    const cands = this.candidates(o).filter((m) => m.expiry >= time);
    if (o.timeInForce === TimeInForce.POST_ONLY && cands.length > 0) {
      out.push(this.rej(o, RejectCode.WOULD_CROSS));
      return;
    }
    if (o.timeInForce === TimeInForce.FOK) {
      let avail = 0n;
      for (const m of cands) {
        if (m.accountId === o.accountId) {
          if (this.policy === SelfTradePolicy.CANCEL_TAKER) break;
          continue;
        }
        avail += m.remainingLots;
      }
      if (avail < o.sizeLots) {
        out.push(this.rej(o, RejectCode.FOK_UNFILLABLE));
        return;
      }
    }
    if (!this.riskAccepts(o)) {
      out.push(this.rej(o, RejectCode.RISK_REJECTED));
      return;
    }
    this.used.push(`${o.accountId}:${o.orderId}`);
    out.push({ type: "accepted", accountId: o.accountId, orderId: o.orderId, marketId: o.marketId, seq });
    const market = this.markets.find((m) => m.marketId === o.marketId)!;
    const t: Live = { ...o, seq, remainingLots: o.sizeLots, filledLots: 0n };
    let selfStop = false;
    while (t.remainingLots > 0n) {
      const m = this.candidates(t)[0];
      if (m === undefined) break;
      if (m.expiry < time) {
        this.kill(m, CancelReason.EXPIRED, out);
        continue;
      }
      if (m.accountId === t.accountId) {
        if (this.policy === SelfTradePolicy.CANCEL_TAKER) {
          selfStop = true;
          break;
        }
        this.kill(m, CancelReason.SELF_TRADE, out);
        continue;
      }
      const lots = m.remainingLots < t.remainingLots ? m.remainingLots : t.remainingLots;
      m.remainingLots -= lots;
      m.filledLots += lots;
      t.remainingLots -= lots;
      t.filledLots += lots;
      out.push({
        type: "fill", makerAccount: m.accountId, makerOrderId: m.orderId, takerAccount: t.accountId, takerOrderId: t.orderId,
        marketId: t.marketId, priceTicks: m.priceTicks, lots, makerSide: m.side,
        makerFeePpm: Math.min(market.makerFeePpm, m.maxFeePpm), takerFeePpm: Math.min(market.takerFeePpm, t.maxFeePpm),
      });
      if (m.remainingLots === 0n) this.orders = this.orders.filter((x) => x !== m);
    }
    if (t.remainingLots === 0n) return;
    const ioc = o.type === OrderType.MARKET || o.timeInForce === TimeInForce.IOC || o.timeInForce === TimeInForce.FOK;
    if (selfStop || ioc) {
      out.push({ type: "cancelled", accountId: t.accountId, orderId: t.orderId, marketId: t.marketId, reason: selfStop ? CancelReason.SELF_TRADE : CancelReason.IOC_REMAINDER, remainingLots: t.remainingLots });
    } else {
      this.orders.push(t);
    }
  }

  depth(marketId: number, n: number): Depth {
    const side = (s: Side): DepthLevel[] => {
      const levels: DepthLevel[] = [];
      const prices = [...new Set(this.orders.filter((o) => o.marketId === marketId && o.side === s).map((o) => o.priceTicks))];
      prices.sort((a, b) => ((s === Side.BUY ? a > b : a < b) ? -1 : 1));
      for (const p of prices.slice(0, n)) {
        const at = this.orders.filter((o) => o.marketId === marketId && o.side === s && o.priceTicks === p);
        levels.push({ priceTicks: p, lots: at.reduce((sum, o) => sum + o.remainingLots, 0n), orders: at.length });
      }
      return levels;
    };
    return { bids: side(Side.BUY), asks: side(Side.SELL) };
  }

  /** Live orders in the shape of the engine's queries, oldest first. */
  views(): OrderView[] {
    return this.orders.map((o) => ({ ...o }));
  }
}
