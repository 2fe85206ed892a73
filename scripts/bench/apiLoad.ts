/**
 * One load generator process of `npm run bench:api` (forked by api.ts): loads or signs its orders
 * before any timing, says "ready", then on "go" sends them to the API over one WebSocket (single
 * orders, up to `window` in flight) or over HTTP (POST /v1/orders/batch of `batch` orders, `window`
 * orders in flight), and reports every answer: accepted, refused (by code), and per-order latency.
 */
import WebSocket from "ws";
import { toJson } from "../../sequencer/api/schemas.ts";
import { signedOrders } from "./apiOrders.ts";

export type LoadConfig = { g: number; count: number; transport: "ws" | "http"; window: number; batch: number };
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
};

const now = () => performance.timeOrigin + performance.now();

async function runWs(url: string, c: LoadConfig, messages: string[]): Promise<LoadReport> {
  const r: LoadReport = { g: c.g, transport: "ws", sent: 0, accepted: 0, refused: {}, lost: 0, latenciesMs: [], startMs: 0, endMs: 0 };
  const ws = new WebSocket(`${url.replace("http", "ws")}/v1/stream`);
  await new Promise((res, rej) => { ws.once("open", res); ws.once("error", rej); });
  const sentAt = new Float64Array(messages.length);
  let answered = 0;
  const done = new Promise<void>((resolve) => {
    const send = () => {
      const i = r.sent++;
      sentAt[i] = now();
      ws.send(messages[i]!);
    };
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString()) as { type: string; id?: number; code?: string };
      if (m.id === undefined) return;
      r.latenciesMs.push(now() - sentAt[m.id]!);
      if (m.type === "result") r.accepted++;
      else r.refused[m.code ?? "?"] = (r.refused[m.code ?? "?"] ?? 0) + 1;
      if (++answered === messages.length) resolve();
      else if (r.sent < messages.length) send();
    });
    ws.on("close", () => resolve());
    r.startMs = now();
    while (r.sent < Math.min(c.window, messages.length)) send();
  });
  await done;
  r.endMs = now();
  r.lost = r.sent - answered;
  ws.close();
  return r;
}

async function runHttp(url: string, c: LoadConfig, bodies: { body: string; n: number }[]): Promise<LoadReport> {
  const r: LoadReport = { g: c.g, transport: "http", sent: 0, accepted: 0, refused: {}, lost: 0, latenciesMs: [], startMs: now(), endMs: 0 };
  let next = 0;
  let answered = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const { body, n } = bodies[next++]!;
      r.sent += n;
      const t = now();
      try {
        const res = await fetch(`${url}/v1/orders/batch`, { method: "POST", headers: { "content-type": "application/json" }, body });
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

async function main(): Promise<void> {
  const c = JSON.parse(process.env.BENCH_API_LOAD!) as LoadConfig;
  const orders = signedOrders(c.g, c.count, (done) => process.send!({ type: "signing", g: c.g, done, count: c.count }));
  // Serialised before timing: the generator's own JSON work is not the API's cost.
  const messages = orders.map((order, id) => toJson({ op: "order", id, order }));
  const bodies: { body: string; n: number }[] = [];
  for (let i = 0; i < orders.length; i += c.batch) {
    const part = orders.slice(i, i + c.batch);
    bodies.push({ body: toJson({ orders: part }), n: part.length });
  }
  process.send!({ type: "ready" });
  process.on("message", async (m: { type: string; url: string; count: number }) => {
    if (m.type !== "go") return;
    const report = c.transport === "ws" ? await runWs(m.url, c, messages.slice(0, m.count)) : await runHttp(m.url, c, bodies.slice(0, Math.ceil(m.count / c.batch)));
    process.send!({ type: "done", report });
  });
}

if (process.env.BENCH_API_LOAD) await main();
