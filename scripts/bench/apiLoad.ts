/**
 * One load generator process of `npm run bench:api` (forked by api.ts): loads or signs its orders
 * before any timing, says "ready", then on "go" sends them to the API and reports every answer:
 * accepted, refused (by code), and per-order latency. Up to `window` orders are in flight.
 *   ws   + json:   one JSON message per order                  ws   + binary: frames of `batch` order records
 *   http + json:   POST /v1/orders/batch of `batch` orders      http + binary: the same body as order records
 * Every message and body is encoded before timing: the generator's own encoding is not the API's cost.
 */
import WebSocket from "ws";
import { toJson } from "../../sequencer/wire/schemas.ts";
import { BINARY_ORDERS_TYPE, encodeOrderFrame } from "../../sequencer/wire/orderFrames.ts";
import { encodeOrderRecords } from "../../sequencer/protocol/orderRecords.ts";
import type { Order, Signed } from "../../sequencer/protocol/messages.ts";
import { signedOrders } from "./apiOrders.ts";

export type Encoding = "json" | "binary";
export type LoadConfig = { g: number; count: number; transport: "ws" | "http"; window: number; batch: number };
/** What api.ts sends to start a run. */
export type Go = { type: "go"; url: string; count: number; encoding: Encoding };
/** One unit of sending: a WebSocket message or an HTTP body, and the orders in it. */
type Unit = { data: string | Uint8Array; n: number };
export type LoadReport = {
  g: number;
  transport: "ws" | "http";
  sent: number;
  accepted: number;
  refused: Record<string, number>;
  /** Orders sent that got no answer. */
  lost: number;
  latenciesMs: number[];
  /** Wall-clock (epoch ms) of the first send and of the last answer. */
  startMs: number;
  endMs: number;
  /** CPU time (user + system) this generator process used for the run, in ms. */
  cpuMs: number;
};

const now = () => performance.timeOrigin + performance.now();

async function runWs(url: string, c: LoadConfig, units: Unit[]): Promise<LoadReport> {
  const r: LoadReport = { g: c.g, transport: "ws", sent: 0, accepted: 0, refused: {}, lost: 0, latenciesMs: [], startMs: 0, endMs: 0, cpuMs: 0 };
  const ws = new WebSocket(`${url.replace("http", "ws")}/v1/stream`);
  await new Promise((res, rej) => { ws.once("open", res); ws.once("error", rej); });
  const sentAt = new Float64Array(units.length);
  let next = 0;
  let answered = 0;
  const total = units.reduce((a, u) => a + u.n, 0);
  const done = new Promise<void>((resolve) => {
    const send = () => {
      const i = next++;
      sentAt[i] = now();
      r.sent += units[i]!.n;
      ws.send(units[i]!.data);
    };
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString()) as { type: string; id?: number; code?: string; results?: { status: number; code?: string }[] };
      if (m.id === undefined) return;
      const ms = now() - sentAt[m.id]!;
      const items = m.results ?? [m.type === "result" ? { status: 200 } : { status: 400, code: m.code }];
      const n = m.type === "error" ? units[m.id]!.n : items.length;
      for (let k = 0; k < n; k++) {
        const item = items[Math.min(k, items.length - 1)]!;
        r.latenciesMs.push(ms);
        if (item.status === 200) r.accepted++;
        else r.refused[item.code ?? "?"] = (r.refused[item.code ?? "?"] ?? 0) + 1;
      }
      answered += n;
      if (answered === total) resolve();
      else if (next < units.length) send();
    });
    ws.on("close", () => resolve());
    r.startMs = now();
    const inFlight = Math.max(1, Math.floor(c.window / units[0]!.n));
    while (next < Math.min(inFlight, units.length)) send();
  });
  await done;
  r.endMs = now();
  r.lost = r.sent - answered;
  ws.close();
  return r;
}

async function runHttp(url: string, c: LoadConfig, bodies: Unit[]): Promise<LoadReport> {
  const r: LoadReport = { g: c.g, transport: "http", sent: 0, accepted: 0, refused: {}, lost: 0, latenciesMs: [], startMs: now(), endMs: 0, cpuMs: 0 };
  let next = 0;
  let answered = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const { data, n } = bodies[next++]!;
      r.sent += n;
      const t = now();
      try {
        const binary = data instanceof Uint8Array;
        const res = await fetch(`${url}/v1/orders/batch`, { method: "POST", headers: { "content-type": binary ? BINARY_ORDERS_TYPE : "application/json" }, body: data });
        const json = (await res.json()) as { results?: { status: number; code?: string }[]; code?: string };
        const ms = now() - t;
        if (!json.results) {
          r.refused[json.code ?? `HTTP_${res.status}`] = (r.refused[json.code ?? `HTTP_${res.status}`] ?? 0) + n;
          answered += n;
          continue;
        }
        for (const item of json.results) {
          r.latenciesMs.push(ms);
          answered++;
          if (item.status === 200) r.accepted++;
          else r.refused[item.code ?? "?"] = (r.refused[item.code ?? "?"] ?? 0) + 1;
        }
      } catch {
        // no answer: counted as lost below
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.floor(c.window / c.batch)) }, worker));
  r.endMs = now();
  r.lost = r.sent - answered;
  return r;
}

/** The orders cut into what one transport and encoding sends (WebSocket JSON: one order per message). */
function unitsOf(orders: Signed<Order>[], c: LoadConfig, encoding: Encoding): Unit[] {
  if (c.transport === "ws" && encoding === "json") return orders.map((order, id) => ({ data: toJson({ op: "order", id, order }), n: 1 }));
  const units: Unit[] = [];
  for (let i = 0; i < orders.length; i += c.batch) {
    const part = orders.slice(i, i + c.batch);
    const data = c.transport === "ws" ? encodeOrderFrame(units.length, part) : encoding === "binary" ? encodeOrderRecords(part) : toJson({ orders: part });
    units.push({ data, n: part.length });
  }
  return units;
}

async function main(): Promise<void> {
  const c = JSON.parse(process.env.BENCH_API_LOAD!) as LoadConfig;
  const orders = signedOrders(c.g, c.count, (done) => process.send!({ type: "signing", g: c.g, done, count: c.count }));
  const units = { json: unitsOf(orders, c, "json"), binary: unitsOf(orders, c, "binary") };
  process.send!({ type: "ready" });
  process.on("message", async (m: Go) => {
    if (m.type !== "go") return;
    const perUnit = units[m.encoding][0]!.n;
    const chosen = units[m.encoding].slice(0, Math.ceil(m.count / perUnit));
    const cpu = process.cpuUsage();
    const report = c.transport === "ws" ? await runWs(m.url, c, chosen) : await runHttp(m.url, c, chosen);
    const used = process.cpuUsage(cpu);
    process.send!({ type: "done", report: { ...report, cpuMs: (used.user + used.system) / 1000 } });
  });
}

if (process.env.BENCH_API_LOAD) await main();
