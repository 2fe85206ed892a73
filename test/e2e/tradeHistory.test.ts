/**
 * The sequencer process's trade history (sequencer/process/main.ts with --port: the HTTP API with its fill
 * store, `history.db` in the data directory) against a local Hardhat node: a seller and a buyer trade three
 * times; the process is SIGKILLed once the fills are in `history.db`, restarted on the same data directory,
 * and its API answers the account fills and the market's trades exactly as before; a new trade continues
 * the fill ids. The other e2e tests drive the process over IPC without the API, so this is the test of the
 * wiring.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBatchCircuit } from "../../scripts/build/batchCircuit.ts";
import { SqliteFillStore } from "../../sequencer/api/fillStore.ts";
import { fetchRequests } from "../../sequencer/chain/requests.ts";
import { OrderType, Side, TimeInForce } from "../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { signOrder } from "../../sequencer/protocol/signing.ts";
import { apiRequest } from "../../sequencer/sdk/client.ts";
import { fundTrader, startLocalExchange, type LocalExchange } from "../helpers/localExchange.ts";
import { SequencerProcess } from "../helpers/sequencerProcess.ts";
import type { TestTrader } from "../helpers/traders.ts";

const USDC = 10n ** 6n;
const ETH = 10n ** 18n;

describe("sequencer process: trade history across a restart (--port, history.db)", { timeout: 300_000 }, () => {
  let local: LocalExchange;
  let seller: TestTrader;
  let buyer: TestTrader;
  const dataDir = mkdtempSync(join(tmpdir(), "sequencer-history-"));
  let live: SequencerProcess | null = null;

  before(async () => {
    const circuit = await buildBatchCircuit(TEST_PARAMS);
    local = await startLocalExchange(circuit.verifierSol);
    seller = await fundTrader(local, 1, [[1, 10n * ETH]]);
    buyer = await fundTrader(local, 2, [[0, 100_000n * USDC]]);
  });

  after(() => {
    live?.kill();
    local?.node.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Starts the process with its HTTP API on a free port; its URL is read from its log line. */
  const start = async (): Promise<{ proc: SequencerProcess; url: string }> => {
    const proc = await SequencerProcess.start(
      { data: dataDir, rpc: local.node.url, custodian: local.deployment.custodian, operatorKey: local.operatorKey },
      ["--port", "0"],
    );
    live = proc;
    const line = proc.output.find((l) => l.includes("HTTP API on "));
    assert.ok(line, `the process names its API's address:\n${proc.output.slice(-20).join("\n")}`);
    return { proc, url: line.slice(line.indexOf("HTTP API on ") + "HTTP API on ".length).trim() };
  };

  let nextOrderId = 1n;
  const order = (t: TestTrader, side: Side, sizeLots: bigint) =>
    signOrder(t.key, {
      accountId: t.accountId, orderId: nextOrderId++, marketId: 0, side, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC,
      priceTicks: 300_000n, sizeLots, maxFeePpm: 1000, expiry: Math.floor(Date.now() / 1000) + 86_400,
    });
  type Fills = { fills: { fillId: number; accountId: number; role: string; lots: bigint }[] };
  type Trades = { trades: { tradeId: number; lots: bigint }[] };

  it("answers fills and trades after a SIGKILL as before it, and continues the fill ids", async () => {
    let { proc, url } = await start();
    // the deposits and key registrations must be admitted before the orders can be
    const requests = await fetchRequests(local.publicClient, local.deployment.custodian, 0);
    for (let s = await proc.call<{ requests: number }>("status"); s.requests < requests.length; s = await proc.call("status")) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const placed = await proc.call<{ events?: { type: string }[] }[]>("orders", {
      orders: [order(seller, Side.SELL, 10n), order(buyer, Side.BUY, 1n), order(buyer, Side.BUY, 2n), order(buyer, Side.BUY, 3n)],
    });
    assert.deepEqual(placed.map((p) => p.events?.filter((e) => e.type === "fill").length), [0, 1, 1, 1], "three trades");

    const sellerFills = await apiRequest<Fills>(url, "GET", `/v1/accounts/${seller.accountId}/fills`);
    const buyerFills = await apiRequest<Fills>(url, "GET", `/v1/accounts/${buyer.accountId}/fills`);
    const trades = await apiRequest<Trades>(url, "GET", "/v1/markets/0/trades");
    assert.deepEqual(sellerFills.fills.map((f) => [f.fillId, f.role, f.lots]), [[3, "maker", 3n], [2, "maker", 2n], [1, "maker", 1n]]);
    assert.deepEqual(trades.trades.map((t) => t.tradeId), [3, 2, 1]);

    // history.db is written once the orders are durable: read it beside the process until the three trades are there
    const peek = new SqliteFillStore(join(dataDir, "history.db"));
    for (let waited = 0; peek.accountFills(buyer.accountId, 10).length < 3; waited += 50) {
      assert.ok(waited < 10_000, "the fills reach history.db");
      await new Promise((r) => setTimeout(r, 50));
    }
    peek.close();
    proc.kill();
    assert.equal(await proc.exited, "SIGKILL");

    ({ proc, url } = await start());
    assert.deepEqual(await apiRequest<Fills>(url, "GET", `/v1/accounts/${seller.accountId}/fills`), sellerFills);
    assert.deepEqual(await apiRequest<Fills>(url, "GET", `/v1/accounts/${buyer.accountId}/fills`), buyerFills);
    assert.deepEqual(await apiRequest<Trades>(url, "GET", "/v1/markets/0/trades"), trades);

    // the seller's order is still on the book (the log restored it): a new trade takes fill id 4
    const more = await proc.call<{ events?: { type: string }[] }[]>("orders", { orders: [order(buyer, Side.BUY, 4n)] });
    assert.equal(more[0]!.events?.filter((e) => e.type === "fill").length, 1);
    const after4 = await apiRequest<Fills>(url, "GET", `/v1/accounts/${seller.accountId}/fills?limit=2`);
    assert.deepEqual(after4.fills.map((f) => [f.fillId, f.lots]), [[4, 4n], [3, 3n]]);
    await proc.stop();
  });
});
