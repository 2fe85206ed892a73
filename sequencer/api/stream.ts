/**
 * Market data stream on /v1/stream (WebSocket, `ws`).
 *
 * Client -> server: {"op":"subscribe","marketId":0,"levels":20} | {"op":"unsubscribe","marketId":0}
 * Server -> client (every message carries `seq`, counted per connection from 1 with no gaps, so a
 * client that sees a jump knows it lost messages and must resubscribe for a fresh snapshot):
 *   {"type":"subscribed","seq","marketId","levels"}
 *   {"type":"book","seq","marketId","snapshot":true,"bids","asks"}    on subscribe
 *   {"type":"book","seq","marketId","snapshot":false,"bids","asks"}   after every command that touched
 *       the market: a full top-N snapshot, not an incremental per-level delta (first slice; N = levels)
 *   {"type":"trade","seq","marketId","priceTicks","lots","makerSide","makerAccount","makerOrderId",
 *       "takerAccount","takerOrderId"}                                  one per fill, in match order,
 *       always before the book message of the same command
 *   {"type":"unsubscribed","seq","marketId"} | {"type":"error","seq","code","message"}
 * Bigints are decimal strings. Only commands that go through this API server are streamed.
 *
 * A client whose send buffer passes `maxBufferedBytes` is disconnected (close code 1013) rather than
 * buffered without bound.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { EngineEvent } from "../matching/index.ts";
import type { Sequencer } from "../service/sequencer.ts";
import { StreamRequestSchema, toJson } from "./schemas.ts";

export const STREAM_PATH = "/v1/stream";
const DEFAULT_LEVELS = 20;

type Client = { ws: WebSocket; seq: number; subs: Map<number, number> };

export class MarketStream {
  readonly #wss: WebSocketServer;
  readonly #clients = new Set<Client>();
  readonly #sequencer: Sequencer;
  readonly #maxBufferedBytes: number;

  constructor(sequencer: Sequencer, opts: { maxBufferedBytes?: number; maxMessageBytes?: number } = {}) {
    this.#sequencer = sequencer;
    this.#maxBufferedBytes = opts.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes ?? 4096 });
  }

  /** The HTTP server's 'upgrade' handler: takes /v1/stream, refuses other paths. */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== STREAM_PATH) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#connect(ws));
  };

  #connect(ws: WebSocket): void {
    const client: Client = { ws, seq: 0, subs: new Map() };
    this.#clients.add(client);
    ws.on("close", () => this.#clients.delete(client));
    ws.on("error", () => ws.terminate());
    ws.on("message", (data: RawData, isBinary: boolean) => this.#onMessage(client, data, isBinary));
  }

  #send(c: Client, msg: Record<string, unknown>): void {
    if (c.ws.readyState !== c.ws.OPEN) return;
    if (c.ws.bufferedAmount > this.#maxBufferedBytes) {
      c.ws.close(1013, "slow consumer");
      this.#clients.delete(c);
      return;
    }
    c.ws.send(toJson({ ...msg, seq: ++c.seq }));
  }

  #onMessage(c: Client, data: RawData, isBinary: boolean): void {
    let parsed: unknown;
    try {
      if (isBinary) throw new Error("binary frames are not accepted");
      parsed = JSON.parse(data.toString());
    } catch (e) {
      this.#send(c, { type: "error", code: "MALFORMED", message: (e as Error).message });
      return;
    }
    const req = StreamRequestSchema.safeParse(parsed);
    if (!req.success) {
      this.#send(c, { type: "error", code: "MALFORMED", message: "invalid stream request", issues: req.error.issues });
      return;
    }
    const { marketId } = req.data;
    if (req.data.op === "unsubscribe") {
      c.subs.delete(marketId);
      this.#send(c, { type: "unsubscribed", marketId });
      return;
    }
    if (!this.#sequencer.markets.get(marketId)) {
      this.#send(c, { type: "error", code: "UNKNOWN_MARKET", message: `market ${marketId} is not registered` });
      return;
    }
    const levels = req.data.levels ?? DEFAULT_LEVELS;
    c.subs.set(marketId, levels);
    this.#send(c, { type: "subscribed", marketId, levels });
    this.#send(c, { type: "book", marketId, snapshot: true, ...this.#sequencer.engine.depth(marketId, levels) });
  }

  /** Publishes what one command did: its trades, then the new book of every market it touched. */
  publish(events: readonly EngineEvent[]): void {
    if (this.#clients.size === 0) return;
    const touched = new Set<number>();
    for (const e of events) if (e.type === "accepted" || e.type === "fill" || e.type === "cancelled") touched.add(e.marketId);
    if (touched.size === 0) return;
    for (const c of this.#clients) {
      for (const e of events) {
        if (e.type !== "fill" || !c.subs.has(e.marketId)) continue;
        this.#send(c, {
          type: "trade", marketId: e.marketId, priceTicks: e.priceTicks, lots: e.lots, makerSide: e.makerSide,
          makerAccount: e.makerAccount, makerOrderId: e.makerOrderId, takerAccount: e.takerAccount, takerOrderId: e.takerOrderId,
        });
      }
      for (const m of touched) {
        const levels = c.subs.get(m);
        if (levels !== undefined) this.#send(c, { type: "book", marketId: m, snapshot: false, ...this.#sequencer.engine.depth(m, levels) });
      }
    }
  }

  /** Closes every connection (server shutdown). */
  async close(): Promise<void> {
    for (const c of this.#clients) c.ws.terminate();
    this.#clients.clear();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
