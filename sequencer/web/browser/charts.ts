/** Hand-drawn SVG charts: the depth chart of a book and candles of trades (no charting library needed). */
import type { BookView } from "../../sdk/wire.ts";

const NS = "http://www.w3.org/2000/svg";

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** Cumulative lots against price: bids (green) left of the spread, asks (red) right of it. */
export function depthChart(book: BookView, width = 420, height = 160): SVGElement {
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "chart", "data-chart": "depth" });
  const bids = book.bids.map((l) => [Number(l.priceTicks), Number(l.lots)] as const);
  const asks = book.asks.map((l) => [Number(l.priceTicks), Number(l.lots)] as const);
  if (bids.length + asks.length === 0) {
    root.append(Object.assign(svg("text", { x: 10, y: height / 2 }), { textContent: "empty book" }));
    return root;
  }
  const cum = (side: (readonly [number, number])[]) => side.reduce<[number, number][]>((acc, [p, l]) => [...acc, [p, (acc.at(-1)?.[1] ?? 0) + l]], []);
  const cb = cum(bids);
  const ca = cum(asks);
  const prices = [...cb, ...ca].map(([p]) => p);
  const lo = Math.min(...prices);
  const hi = Math.max(...prices);
  const top = Math.max(1, ...[...cb, ...ca].map(([, c]) => c));
  const x = (p: number) => 10 + ((p - lo) / Math.max(1, hi - lo)) * (width - 20);
  const y = (c: number) => height - 16 - (c / top) * (height - 30);
  const path = (pts: [number, number][], color: string, kind: string) => {
    if (pts.length === 0) return;
    // a step from zero at the best price, then the cumulative lots level by level
    const d = `M${x(pts[0]![0]).toFixed(1)},${y(0).toFixed(1)} ` + pts.map(([p, c]) => `L${x(p).toFixed(1)},${y(c).toFixed(1)}`).join(" ");
    root.append(svg("path", { d, fill: "none", stroke: color, "stroke-width": 2, "data-side": kind }));
  };
  path(cb, "#2a9d4b", "bids");
  path(ca, "#c0392b", "asks");
  root.append(Object.assign(svg("text", { x: 4, y: height - 2, "font-size": 10 }), { textContent: String(lo) }));
  root.append(Object.assign(svg("text", { x: width - 60, y: height - 2, "font-size": 10 }), { textContent: String(hi) }));
  return root;
}

export type Trade = { time: number; price: number; lots: number };
export type Candle = { start: number; open: number; high: number; low: number; close: number; lots: number };

/** Groups trades into candles of `seconds` each, in time order. */
export function candlesOf(trades: readonly Trade[], seconds: number): Candle[] {
  const out: Candle[] = [];
  for (const t of [...trades].sort((a, b) => a.time - b.time)) {
    const start = Math.floor(t.time / seconds) * seconds;
    const c = out.at(-1);
    if (c && c.start === start) {
      c.high = Math.max(c.high, t.price);
      c.low = Math.min(c.low, t.price);
      c.close = t.price;
      c.lots += t.lots;
    } else out.push({ start, open: t.price, high: t.price, low: t.price, close: t.price, lots: t.lots });
  }
  return out;
}

export function candleChart(candles: readonly Candle[], width = 420, height = 160): SVGElement {
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "chart", "data-chart": "candles" });
  if (candles.length === 0) {
    root.append(Object.assign(svg("text", { x: 10, y: height / 2 }), { textContent: "no trades yet" }));
    return root;
  }
  const shown = candles.slice(-40);
  const lo = Math.min(...shown.map((c) => c.low));
  const hi = Math.max(...shown.map((c) => c.high));
  const y = (p: number) => 10 + (1 - (p - lo) / Math.max(1, hi - lo)) * (height - 30);
  const w = (width - 20) / 40;
  shown.forEach((c, i) => {
    const cx = 10 + i * w + w / 2;
    const color = c.close >= c.open ? "#2a9d4b" : "#c0392b";
    root.append(svg("line", { x1: cx, x2: cx, y1: y(c.high), y2: y(c.low), stroke: color }));
    const top = y(Math.max(c.open, c.close));
    root.append(svg("rect", { x: cx - w * 0.35, y: top, width: w * 0.7, height: Math.max(2, y(Math.min(c.open, c.close)) - top), fill: color, "data-candle": c.start }));
  });
  root.append(Object.assign(svg("text", { x: 4, y: height - 2, "font-size": 10 }), { textContent: `${lo} – ${hi}` }));
  return root;
}
