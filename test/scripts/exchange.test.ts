/**
 * The exchange CLI driven in-process against an in-process API server: order, book, orders, fills,
 * account, cancel, cancel-all, withdraw, transfer, positions, instruments, stream and key; a refused request prints the server's code
 * and exits 1; a missing option is a usage error.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { bytesToHex } from "viem";
import { createApiServer } from "../../sequencer/api/server.ts";
import { runExchangeCli } from "../../scripts/exchange.ts";
import { alice, bob, offlineSequencer } from "../helpers/sequencer.ts";
import type { Sequencer } from "../../sequencer/service/sequencer.ts";
import { derivativesSequencer } from "../helpers/derivativesSequencer.ts";
import { NOW, oracleUpdate, traders } from "../helpers/derivatives.ts";

async function setup(s: Sequencer = offlineSequencer()) {
  const app = createApiServer(s);
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  after(() => app.close());
  /** Runs a verb as trader `t`; returns the exit status and the parsed JSON lines. */
  const cli = async (t: typeof alice | null, ...args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const who = t ? ["--account", String(t.accountId), "--trading-key", bytesToHex(t.key)] : [];
    const code = await runExchangeCli(["--api", url, ...who, ...args], { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out: out.map((l) => JSON.parse(l) as Record<string, any>), err };
  };
  return { s, cli };
}

describe("exchange CLI", () => {
  it("trades, reads, cancels and withdraws through the API", async () => {
    const { s, cli } = await setup();
    const sell = await cli(bob, "order", "--market", "0", "--side", "sell", "--price", "90", "--size", "5", "--order-id", "1");
    assert.equal(sell.code, 0, sell.err.join("\n"));
    assert.deepEqual([sell.out[0].orderId, sell.out[0].events[0].type], ["1", "accepted"]);
    await cli(bob, "order", "--market", "0", "--side", "sell", "--price", "95", "--size", "5", "--order-id", "2", "--tif", "post-only");
    const buy = await cli(alice, "order", "--market", "0", "--side", "buy", "--price", "90", "--size", "2", "--order-id", "1", "--tif", "ioc");
    assert.ok(buy.out[0].events.some((e: { type: string }) => e.type === "fill"));

    const book = await cli(null, "book", "0", "--levels", "1");
    assert.deepEqual(book.out[0].asks, [{ priceTicks: "90", lots: "3", orders: 1 }]);
    assert.deepEqual((await cli(bob, "orders", "--status", "open")).out[0].orders.map((o: { orderId: string }) => o.orderId), ["2", "1"]);
    assert.deepEqual((await cli(alice, "fills")).out[0].fills.map((f: { lots: string }) => f.lots), ["2"]);
    const account = await cli(null, "account", "2");
    assert.equal(account.out[0].openOrders.length, 2);

    assert.equal((await cli(bob, "cancel", "1")).out[0].events[0].type, "cancelled");
    const all = await cli(bob, "cancel-all", "--market", "0");
    assert.equal(all.out[0].cancelled, 1);
    assert.equal(s.engine.openOrders(2).length, 0);

    const w = await cli(alice, "withdraw", "--token-id", "1", "--amount", "2000");
    assert.deepEqual(w.out[0], { status: "accepted", tokenId: 1, amount: "2000", nonce: 0 });
  });

  it("moves quote into collateral and out, and reads positions and instruments", async () => {
    const { seq } = derivativesSequencer(NOW);
    await seq.acceptOracleUpdate(oracleUpdate({ time: NOW }));
    await seq.drain(); // keys, deposits and instruments proven
    const { cli } = await setup(seq);
    const carol = traders.carol;
    const into = await cli(carol, "transfer", "--to-collateral", "--amount", "5000000000");
    assert.deepEqual(into.out[0], { status: "accepted", toCollateral: true, amount: "5000000000", nonce: 0 }, into.err.join("\n"));
    const out = await cli(carol, "transfer", "--to-spot", "--amount", "1000000000");
    assert.equal(out.out[0].nonce, 1);
    const positions = await cli(null, "positions", String(carol.accountId));
    assert.equal(positions.out[0].collateral, "4000000000");
    const instruments = await cli(null, "instruments");
    assert.deepEqual(instruments.out[0].instruments.map((i: { instrumentId: number }) => i.instrumentId), [0, 1]);
    const refused = await cli(carol, "transfer", "--to-spot", "--amount", "9000000000");
    assert.equal(refused.code, 1);
    assert.match(refused.err.join(""), /^INSUFFICIENT_MARGIN: /);
    assert.match((await cli(carol, "transfer", "--amount", "1")).err.join(""), /exactly one of --to-collateral and --to-spot/);
    assert.equal(seq.derivatives.risk.account(carol.accountId).collateral, 4_000_000_000n, "refusals changed nothing");
  });

  it("prints the server's code for a refused request, and usage errors for bad arguments", async () => {
    const { s, cli } = await setup();
    const n = s.pendingTransactions;
    const refused = await cli(alice, "cancel", "42");
    assert.equal(refused.code, 1);
    assert.match(refused.err.join("\n"), /^UNKNOWN_ORDER: /);
    const reused = await cli(bob, "order", "--market", "0", "--side", "sell", "--price", "90", "--size", "1", "--order-id", "0");
    assert.equal(reused.code, 0);
    assert.match((await cli(bob, "order", "--market", "0", "--side", "sell", "--price", "90", "--size", "1", "--order-id", "0")).err.join(""), /ORDER_ID_REUSED/);
    assert.equal((await cli(alice, "order", "--market", "0", "--side", "up", "--price", "1", "--size", "1")).code, 1);
    assert.match((await cli(null, "cancel", "1")).err.join(""), /needs --account and --trading-key/);
    assert.match((await cli(alice, "order", "--market", "x", "--side", "buy", "--price", "1", "--size", "1")).err.join(""), /non-negative integer/);
    assert.equal(s.pendingTransactions, n, "only the one accepted order changed anything (it rests, no transaction yet)");
  });

  it("refuses bad arguments of the exodus and treasury verbs before sending or building anything", async () => {
    const { cli } = await setup();
    // an RPC nobody serves: a verb that reached the chain would fail with a connection error, not these
    const chain = ["--rpc", "http://127.0.0.1:9", "--custodian", "0x5FbDB2315678afecb367f032d93F642f64180aa3", "--wallet-key", `0x${"11".repeat(32)}`];
    const collateral = await cli(null, "force-withdraw", ...chain, "--token-id", "1", "--amount", "5", "--collateral");
    assert.equal(collateral.code, 1);
    assert.match(collateral.err.join(""), /--collateral withdraws the quote token: --token-id must be 0/);
    const partial = await cli(null, "exit", ...chain, "--vkey", "v.json", "--exit-wasm", "exit.wasm");
    assert.equal(partial.code, 1);
    assert.match(partial.err.join(""), /--exit-wasm, --exit-zkey and --exit-vkey go together/);
    assert.match((await cli(null, "exit", ...chain, "--log-range", "0")).err.join(""), /--log-range must be at least 1 block/);
    assert.match((await cli(null, "claim-derivatives", ...chain, "--log-range", "x")).err.join(""), /--log-range must be a non-negative integer/);
    assert.match((await cli(null, "force-withdraw", ...chain, "--token-id", "1", "--amount", "-5")).err.join(""), /non-negative integer/);
    assert.match((await cli(null, "exodus", "--rpc", "http://127.0.0.1:9", "--custodian", "nope", "--wallet-key", `0x${"11".repeat(32)}`)).err.join(""), /not an address/);
    assert.match((await cli(null, "claim-exit-remainder", ...chain, "--token-id", "-1")).err.join(""), /non-negative integer/);
    assert.match((await cli(null, "claim-exit-remainder", ...chain, "--token-id", "2", "--for-account", "x")).err.join(""), /non-negative integer/);
    // the treasury verb (operator): an unknown fund, a negative and a zero amount
    assert.match((await cli(null, "treasury-withdraw", ...chain, "--fund", "pension", "--amount", "5")).err.join(""), /Allowed choices are fee, insurance/);
    assert.match((await cli(null, "treasury-withdraw", ...chain, "--fund", "fee", "--amount", "-5")).err.join(""), /non-negative integer/);
    assert.match((await cli(null, "treasury-withdraw", ...chain, "--fund", "insurance", "--amount", "0")).err.join(""), /must be of a positive amount/);
  });

  it("derives a trading key from a wallet key, and streams a market", async () => {
    const { s, cli } = await setup();
    const key = await cli(null, "key", "--wallet-key", `0x${"22".repeat(32)}`, "--chain-id", "31337", "--custodian", "0x00000000000000000000000000000000000000c5");
    assert.equal(key.code, 0, key.err.join("\n"));
    assert.match(key.out[0].tradingKey, /^0x[0-9a-f]{64}$/);
    assert.equal(key.out[0].publicKey.length, 2);

    s.placeOrder((await import("../helpers/traders.ts")).order(bob, { orderId: 1n, side: 1, priceTicks: 90n, sizeLots: 1n }));
    const streamed = await cli(bob, "stream", "--market", "0", "--private", "--count", "2");
    assert.equal(streamed.code, 0, streamed.err.join("\n"));
    assert.deepEqual(streamed.out.map((m) => [m.type, m.seq]), [["subscribed", 3], ["book", 4]], "after hello (1) and authenticated (2)");
    assert.deepEqual(streamed.out[1].asks, [{ priceTicks: "90", lots: "1", orders: 1 }]);
  });
});
