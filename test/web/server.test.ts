/**
 * The web page's routes on their own (sequencer/web/server.ts), with a stand-in chain: the pages and
 * their scripts are served (built by esbuild on first use), the config says what the page works on, the
 * JSON-RPC relay forwards reads and raw transactions and refuses every other method, and unknown assets
 * and missing exit artifacts are clear 404s.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { startWebServer } from "../../sequencer/web/server.ts";

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
