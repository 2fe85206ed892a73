/**
 * The web page's routes on their own (sequencer/web/server.ts), with a stand-in chain: the pages and
 * their scripts are served (built by esbuild on first use), the config says what the page works on, the
 * JSON-RPC relay forwards reads and raw transactions and refuses every other method, charging each relayed call to
 * its source's bucket, and unknown assets and missing exit artifacts are clear 404s.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { createApiServer } from "../../sequencer/api/server.ts";
import { registerWebPage, startWebServer } from "../../sequencer/web/server.ts";
import { offlineSequencer } from "../helpers/sequencer.ts";

describe("web page server", { timeout: 120_000 }, () => {
  let url: string;
  let app: FastifyInstance;
  const calls: { method: string; params?: unknown }[] = [];
  const rpc = {
    request: async (a: { method: string; params?: unknown }) => {
      calls.push(a);
      if (a.method === "eth_call") throw Object.assign(new Error("execution reverted"), { code: 3, data: "0x1234" });
      // a node that cannot be reached: viem's error names the URL, its short message does not
      if (a.method === "eth_getCode") throw Object.assign(new Error("HTTP request failed.\n\nURL: https://node.example/v3/SECRET_KEY"), { shortMessage: "HTTP request failed." });
      return a.method === "eth_chainId" ? "0x7a69" : "0x1";
    },
  };

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), "web-"));
    writeFileSync(join(dir, "vkey.json"), JSON.stringify({ protocol: "groth16", nPublic: 1 }));
    ({ url, app } = await startWebServer({ chainId: 31337, custodian: "0x5FbDB2315678afecb367f032d93F642f64180aa3", params: "test", rpc, vkeyPath: join(dir, "vkey.json") }));
  });
  after(async () => app?.close());

  const post = (body: unknown) => fetch(`${url}/web/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.json());

  it("serves both pages and their scripts", async () => {
    for (const [path, type, marker] of [["/", "text/html", "/web/app.js"], ["/explorer", "text/html", "/web/explorer.js"], ["/web/app.js", "text/javascript", ""], ["/web/verifyWorker.js", "text/javascript", ""], ["/web/style.css", "text/css", ""]]) {
      const res = await fetch(`${url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get("content-type") ?? "", new RegExp(`^${type}`), path);
      assert.ok((await res.text()).includes(marker), path);
    }
  });

  it("says what the page works on; explorer-only here, without the exit circuit", async () => {
    assert.deepEqual(await (await fetch(`${url}/web/config.json`)).json(), { chainId: 31337, custodian: "0x5FbDB2315678afecb367f032d93F642f64180aa3", params: "test", devWallets: false, api: false, exit: false });
    assert.deepEqual(await (await fetch(`${url}/web/vkey.json`)).json(), { protocol: "groth16", nPublic: 1 });
    const exit = await fetch(`${url}/web/exit.zkey`);
    assert.equal(exit.status, 404);
    assert.deepEqual(await exit.json(), { code: "NOT_FOUND", message: "this server was started without the exit circuit" });
  });

  it("refuses unknown assets by name", async () => {
    const res = await fetch(`${url}/web/%2e%2e%2fpackage.json`); // "../package.json"
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { code: "NOT_FOUND", message: "no page asset ../package.json" });
    const other = await fetch(`${url}/web/nope.js`);
    assert.equal(other.status, 404);
    assert.deepEqual(await other.json(), { code: "NOT_FOUND", message: "no page asset nope.js" });
  });

  it("relays reads and raw transactions, passes the node's errors on, and refuses other methods", async () => {
    assert.deepEqual(await post({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }), { jsonrpc: "2.0", id: 1, result: "0x7a69" });
    assert.deepEqual(await post([{ jsonrpc: "2.0", id: 2, method: "eth_blockNumber" }, { jsonrpc: "2.0", id: 3, method: "eth_sendRawTransaction", params: ["0x02"] }]), [
      { jsonrpc: "2.0", id: 2, result: "0x1" },
      { jsonrpc: "2.0", id: 3, result: "0x1" },
    ]);
    assert.deepEqual(await post({ jsonrpc: "2.0", id: 4, method: "eth_call", params: [{}] }), { jsonrpc: "2.0", id: 4, error: { code: 3, message: "execution reverted", data: "0x1234" } });
    const before = calls.length;
    for (const method of ["eth_sendTransaction", "eth_accounts", "hardhat_setBalance", "evm_increaseTime", "personal_sign"]) {
      assert.deepEqual(await post({ jsonrpc: "2.0", id: 5, method, params: [] }), { jsonrpc: "2.0", id: 5, error: { code: -32601, message: `method ${method} is not relayed (reads and eth_sendRawTransaction only)` } });
    }
    assert.equal(calls.length, before, "no refused method reached the node");
    assert.deepEqual(await post({ jsonrpc: "2.0", id: 6, method: "eth_getCode", params: ["0x00", "latest"] }), { jsonrpc: "2.0", id: 6, error: { code: -32000, message: "HTTP request failed." } }, "the node's URL stays on the server");
    assert.deepEqual(await post([null, 7]), [
      { jsonrpc: "2.0", id: null, error: { code: -32600, message: "not a JSON-RPC request object" } },
      { jsonrpc: "2.0", id: null, error: { code: -32600, message: "not a JSON-RPC request object" } },
    ]);
    const n = calls.length;
    const many = await fetch(`${url}/web/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(Array(101).fill({ jsonrpc: "2.0", id: 1, method: "eth_chainId" })) });
    assert.equal(many.status, 400);
    assert.deepEqual(await many.json(), { jsonrpc: "2.0", id: null, error: { code: -32600, message: "a batch of at most 100 calls" } });
    assert.equal(calls.length, n, "nothing of it reached the node");
    const bad = await fetch(`${url}/web/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: "3" });
    assert.equal(bad.status, 400);
    assert.deepEqual(await bad.json(), { jsonrpc: "2.0", id: null, error: { code: -32600, message: "a JSON-RPC request object or array" } });
  });
});

/**
 * The relay charges each relayed call to its source's bucket, besides the body: a JSON-RPC batch reaches the node once
 * per call, and charged by its body's size alone (a token per started 2 KiB) it had the node answer up to
 * MAX_RELAYED_BATCH calls for one token. A batch the bucket cannot pay for is refused whole (429, the API's error
 * shape), before anything reaches the node, and spends nothing of the calls' charge.
 */
describe("web relay: each relayed call is charged to its source", { timeout: 120_000 }, () => {
  const batch = (n: number) => Array.from({ length: n }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "eth_blockNumber" }));
  const countingRpc = () => {
    const calls: string[] = [];
    return { calls, request: async (a: { method: string }) => (calls.push(a.method), "0x1") };
  };
  const vkeyPath = () => {
    const path = join(mkdtempSync(join(tmpdir(), "web-")), "vkey.json");
    writeFileSync(path, "{}");
    return path;
  };
  const site = { chainId: 31337, custodian: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const, params: "test" as const };

  it("page-only server: a batch of n calls costs n tokens; one the bucket cannot pay for is refused 429, nothing relayed", async () => {
    const rpc = countingRpc();
    const { url, app } = await startWebServer({ ...site, rpc, vkeyPath: vkeyPath(), relayLimit: { perSecond: 0.001, burst: 5 } });
    after(() => app.close());
    const post = (body: unknown) => fetch(`${url}/web/rpc`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const three = await post(batch(3));
    assert.equal(three.status, 200);
    assert.equal(((await three.json()) as unknown[]).length, 3);
    assert.equal(rpc.calls.length, 3);
    // 2 tokens left: 3 more calls are refused whole, none of them relayed, nothing spent
    const refused = await post(batch(3));
    assert.equal(refused.status, 429);
    assert.deepEqual(await refused.json(), { code: "RATE_LIMITED", message: "too many requests from 127.0.0.1" });
    assert.equal(rpc.calls.length, 3, "nothing of the refused batch reached the node");
    assert.equal((await post(batch(2))).status, 200, "the 2 tokens the refusal left");
    assert.equal(rpc.calls.length, 5);
    assert.equal((await post({ jsonrpc: "2.0", id: 9, method: "eth_chainId" })).status, 429, "a single call costs a token too");
    assert.equal(rpc.calls.length, 5);
  });

  it("on the API's server: the request pays its body as any request does, and a token per relayed call besides it, from the API's source bucket", async () => {
    const rpc = countingRpc();
    const app = createApiServer(offlineSequencer(), { rateLimits: { perAccount: null, perSource: { perSecond: 0.001, burst: 10 } } });
    registerWebPage(app, { ...site, rpc, vkeyPath: vkeyPath() });
    after(() => app.close());
    const post = (body: unknown) => app.inject({ method: "POST", url: "/web/rpc", headers: { "content-type": "application/json" }, payload: JSON.stringify(body) });
    // a small body costs its one token (paid on arrival), its 5 calls 5 more: 4 left
    const five = await post(batch(5));
    assert.equal(five.statusCode, 200);
    assert.equal(rpc.calls.length, 5);
    // 4 calls: the body's token leaves 3, too few for them: refused, nothing relayed (paid by its body alone, it went through)
    const refused = await post(batch(4));
    assert.equal(refused.statusCode, 429);
    assert.deepEqual(refused.json(), { code: "RATE_LIMITED", message: "too many requests from 127.0.0.1" });
    assert.equal(rpc.calls.length, 5, "nothing of the refused batch reached the node");
    // the refusal spent its body's token only: a single call (1 + 1) still goes through, then 1 token is left
    assert.equal((await post({ jsonrpc: "2.0", id: 1, method: "eth_chainId" })).statusCode, 200);
    assert.equal(rpc.calls.length, 6);
    assert.equal((await post({ jsonrpc: "2.0", id: 2, method: "eth_chainId" })).statusCode, 429);
    assert.equal(rpc.calls.length, 6);
    // the API's other requests share the bucket: it is empty for them too
    assert.equal((await app.inject({ method: "POST", url: "/v1/orders", headers: { "content-type": "application/json" }, payload: "{}" })).statusCode, 429);
  });
});
