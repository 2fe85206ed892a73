/**
 * The web page on a fastify server: the trading page (`/`), the settlement explorer (`/explorer`), their
 * scripts (built by build.ts into build/web/ on first use), and two routes the page needs:
 *
 *   GET  /web/config.json   {chainId, custodian, params, devWallets, api}: what the page talks to
 *   GET  /web/vkey.json     the batch circuit's Groth16 verification key (the explorer verifies every proof with it)
 *   GET  /web/exit.wasm, /web/exit.zkey, /web/exit-vkey.json   the exit circuit's artifacts (the deployment's, when
 *                           the server was given them): the explorer proves a wallet's exit with them in exodus
 *   POST /web/rpc           a JSON-RPC relay to the chain, restricted to reads and eth_sendRawTransaction
 *                           (the page reads chain data and a local test wallet sends its signed transactions
 *                           through it; an injected wallet uses its own node); each relayed call costs a token
 *                           of its source's bucket besides the body (relayCharge)
 *
 * registerWebPage adds these to the exchange's API server (createApiServer); startWebServer serves them
 * alone, with no sequencer (`api: false`): the explorer needs only chain data (after the operator stops,
 * in exodus).
 */
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import type { Address } from "viem";
import { ensureWebBuild } from "./build.ts";
import { chargeSourceBucket, DEFAULT_RATE_LIMITS } from "../api/commands.ts";
import { ApiError } from "../api/errors.ts";
import { TokenBuckets, type RateLimit } from "../api/rateLimit.ts";
import type { ApiParts } from "../api/server.ts";
import type { ParamsName } from "../protocol/params.ts";

/** Anything that answers EIP-1193 requests: a viem client, a Hardhat provider. */
export type Eip1193 = { request(args: { method: string; params?: unknown }): Promise<unknown> };

export type WebPageOptions = {
  chainId: number;
  custodian: Address;
  /** Circuit parameter set of the deployment (PARAMS_SETS). */
  params: ParamsName;
  /** The chain the relay forwards to. */
  rpc: Eip1193;
  /** Path of the batch circuit's verification key (JSON). */
  vkeyPath: string;
  /** Offer the Hardhat development mnemonic's wallets and the test tokens' open mint (devnet only). */
  devWallets?: boolean;
  /** Whether this server also serves the exchange API (false: explorer only). */
  api?: boolean;
  /** The exit circuit's artifacts (those the custodian's exit verifier was built from): the page proves exits with them. */
  exitCircuit?: { wasm: string; zkey: string; vkey: string };
  /**
   * The source buckets the relay's calls are charged to when the server has no API (startWebServer): default
   * DEFAULT_RATE_LIMITS.perSource; null: none. On the API's server (createApiServer) its own buckets are used (relayCharge).
   */
  relayLimit?: RateLimit | null;
};

/** The JSON-RPC methods the relay forwards; anything else is refused (-32601). */
export const RELAYED_METHODS = new Set([
  "eth_chainId", "net_version", "eth_blockNumber", "eth_call", "eth_estimateGas", "eth_gasPrice", "eth_maxPriorityFeePerGas",
  "eth_feeHistory", "eth_getBalance", "eth_getCode", "eth_getLogs", "eth_getBlockByNumber", "eth_getBlockByHash",
  "eth_getTransactionByHash", "eth_getTransactionReceipt", "eth_getTransactionCount", "eth_sendRawTransaction",
]);

const PAGES: Record<string, string> = { "/": "index.html", "/explorer": "explorer.html" };
const ASSETS = new Set(["app.js", "explorer.js", "verifyWorker.js", "style.css"]);
const TYPES: Record<string, string> = { html: "text/html; charset=utf-8", js: "text/javascript; charset=utf-8", css: "text/css; charset=utf-8" };

type RpcCall = { jsonrpc?: string; id?: unknown; method?: unknown; params?: unknown };

/** Most calls one relayed JSON-RPC batch may hold (each reaches the node: the page sends a handful at a time). */
export const MAX_RELAYED_BATCH = 100;

async function relay(rpc: Eip1193, call: RpcCall | null): Promise<object> {
  if (call === null || typeof call !== "object" || Array.isArray(call)) return { jsonrpc: "2.0", id: null, error: { code: -32600, message: "not a JSON-RPC request object" } };
  const id = call.id ?? null;
  if (typeof call.method !== "string" || !RELAYED_METHODS.has(call.method)) {
    return { jsonrpc: "2.0", id, error: { code: -32601, message: `method ${String(call.method)} is not relayed (reads and eth_sendRawTransaction only)` } };
  }
  try {
    return { jsonrpc: "2.0", id, result: await rpc.request({ method: call.method, params: call.params ?? [] }) };
  } catch (e) {
    // The node's own error (a revert, a bad nonce) passes on with its code, message and data. A failure to reach
    // the node gets viem's short message only: its full message names the node's URL (an API key in its path).
    const err = e as { code?: number; message?: string; shortMessage?: string; data?: unknown; cause?: { code?: number; data?: unknown; message?: string } };
    const data = err.data ?? err.cause?.data;
    const message = err.cause?.message ?? err.shortMessage ?? (err.code !== undefined ? err.message : undefined) ?? "the chain node failed";
    return { jsonrpc: "2.0", id, error: { code: err.code ?? err.cause?.code ?? -32000, message, ...(data === undefined ? {} : { data }) } };
  }
}

/**
 * What the relay charges for `calls` relayed calls of one request from `source`: a token each of the source's bucket,
 * all or none (RATE_LIMITED, 429, none spent and nothing relayed), besides what the request paid for its body. The
 * node answers every call of a batch, so a batch of n calls costs n (a batch paid only by its body's size, a token per
 * 2 KiB, had the node answer up to MAX_RELAYED_BATCH calls for a token). On the API's server the API's source buckets
 * (CommandGateway.chargeSource: the relay shares the source's rate with its other requests), else buckets of the page's
 * own (`relayLimit`).
 */
function relayCharge(app: FastifyInstance & { api?: ApiParts }, opts: WebPageOptions): (source: string, calls: number) => void {
  const commands = app.api?.commands;
  if (commands) return (source, calls) => commands.chargeSource(source, calls);
  const limit = opts.relayLimit === undefined ? DEFAULT_RATE_LIMITS.perSource : opts.relayLimit;
  const buckets = limit ? new TokenBuckets<string>(limit) : null;
  return (source, calls) => chargeSourceBucket(buckets, source, calls);
}

/** Adds the page's routes to `app` (before it listens) and starts the page's build. */
export function registerWebPage(app: FastifyInstance, opts: WebPageOptions): void {
  const charge = relayCharge(app, opts);
  const built = ensureWebBuild();
  built.catch(() => {}); // reported on the first request
  const send = async (file: string, reply: { type(t: string): unknown; header(k: string, v: string): unknown }) => {
    const dir = await ensureWebBuild();
    reply.type(TYPES[file.split(".").pop()!]!);
    reply.header("cache-control", "no-cache");
    return readFile(join(dir, file));
  };
  for (const [path, file] of Object.entries(PAGES)) app.get(path, async (_req, reply) => send(file, reply));
  app.get("/web/:file", async (req, reply) => {
    const { file } = req.params as { file: string };
    if (file === "config.json") {
      return { chainId: opts.chainId, custodian: opts.custodian, params: opts.params, devWallets: opts.devWallets ?? false, api: opts.api ?? true, exit: opts.exitCircuit !== undefined };
    }
    if (file === "vkey.json") return reply.type("application/json").send(await readFile(opts.vkeyPath));
    const exitFile = { "exit.wasm": "wasm", "exit.zkey": "zkey", "exit-vkey.json": "vkey" } as const;
    if (file in exitFile) {
      if (!opts.exitCircuit) return reply.code(404).send({ code: "NOT_FOUND", message: "this server was started without the exit circuit" });
      const kind = exitFile[file as keyof typeof exitFile];
      reply.type(kind === "wasm" ? "application/wasm" : kind === "vkey" ? "application/json" : "application/octet-stream");
      return reply.send(createReadStream(opts.exitCircuit[kind]));
    }
    if (!ASSETS.has(file)) return reply.code(404).send({ code: "NOT_FOUND", message: `no page asset ${file}` });
    return send(file, reply);
  });
  app.post("/web/rpc", { bodyLimit: 1024 * 1024 }, async (req, reply) => {
    const body = req.body as RpcCall | (RpcCall | null)[] | null;
    if (body === null || typeof body !== "object") return reply.code(400).send({ jsonrpc: "2.0", id: null, error: { code: -32600, message: "a JSON-RPC request object or array" } });
    if (Array.isArray(body) && body.length > MAX_RELAYED_BATCH) {
      return reply.code(400).send({ jsonrpc: "2.0", id: null, error: { code: -32600, message: `a batch of at most ${MAX_RELAYED_BATCH} calls` } });
    }
    try {
      charge(req.ip, Array.isArray(body) ? body.length : 1); // before anything reaches the node
    } catch (e) {
      if (e instanceof ApiError) return reply.code(e.statusCode).send(e.body());
      throw e;
    }
    return Array.isArray(body) ? Promise.all(body.map((c) => relay(opts.rpc, c))) : relay(opts.rpc, body);
  });
}

/** The page alone (no exchange API): the explorer and the exit flow from chain data. Returns its URL. */
export async function startWebServer(opts: Omit<WebPageOptions, "api"> & { host?: string; port?: number }): Promise<{ url: string; app: FastifyInstance }> {
  const app = Fastify({ logger: false });
  registerWebPage(app, { ...opts, api: false });
  await ensureWebBuild();
  const url = await app.listen({ host: opts.host ?? "127.0.0.1", port: opts.port ?? 0 });
  return { url, app };
}
