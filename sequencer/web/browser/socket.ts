/**
 * The browser's WebSocket with the face of `ws` that the SDK's StreamClient uses (on/once "message",
 * "close", "error"; send; close; readyState), so the page runs the SDK's own stream logic: sequence
 * numbers, gap detection and resync by snapshot.
 *
 * `dropIncoming(n)` discards the next n messages before the client sees them, as a lossy link would: the
 * page's tests make a gap with it (window.__exchange.dropStreamMessages).
 */
import { StreamClient } from "../../sdk/streamClient.ts";

type Handler = (...args: any[]) => void;

export class BrowserSocket {
  readonly #ws: WebSocket;
  readonly #handlers = new Map<string, Handler[]>();
  #drop = 0;
  dropped = 0;

  constructor(url: string) {
    this.#ws = new WebSocket(url);
    this.#ws.onmessage = (e) => {
      if (this.#drop > 0) {
        this.#drop--;
        this.dropped++;
        return;
      }
      this.#emit("message", String(e.data));
    };
    this.#ws.onclose = () => this.#emit("close");
    this.#ws.onerror = () => this.#emit("error", new Error("WebSocket error"));
  }

  get readyState(): number {
    return this.#ws.readyState;
  }

  dropIncoming(n: number): void {
    this.#drop += n;
  }

  on(name: string, fn: Handler): this {
    this.#handlers.set(name, [...(this.#handlers.get(name) ?? []), fn]);
    return this;
  }

  once(name: string, fn: Handler): this {
    const w: Handler = (...a) => {
      this.#handlers.set(name, (this.#handlers.get(name) ?? []).filter((f) => f !== w));
      fn(...a);
    };
    return this.on(name, w);
  }

  #emit(name: string, ...args: unknown[]): void {
    for (const f of this.#handlers.get(name) ?? []) f(...args);
  }

  send(data: string | Uint8Array): void {
    this.#ws.send(data);
  }

  close(): void {
    this.#ws.close();
  }
}

/** Opens /v1/stream of the page's origin with the SDK's StreamClient; resolves after the server's hello. */
export async function openStream(path = "/v1/stream"): Promise<{ client: StreamClient; socket: BrowserSocket }> {
  const url = new URL(path, location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const socket = new BrowserSocket(url.href);
  const client = new StreamClient(socket as never, { timeoutMs: 15_000 });
  await client.next((m) => m.type === "hello");
  return { client, socket };
}
