/**
 * The web page in a real browser (Debian's Chromium, driven by playwright-core): on a local exchange
 * (webExchange.ts: node, sequencer loop, API + page, a market maker's ladder) a new user connects a devnet
 * test wallet, derives the trading key from its EIP-712 signature, mints test tokens, registers the key,
 * deposits, trades against the maker, sees the fill, the position (balances) and the settled batch (and a
 * page opened later sees the trade from the trade history), queues a forced withdrawal that the next batch
 * processes, cancels a resting order, survives stream gaps (the book resyncs, a lost trade comes back); a
 * second user connects through an injected EIP-1193 wallet (injectedWallet.ts) and deposits; the first
 * sees the funding its perpetual position paid, places a reduce-only order and a stop order from the ticket
 * (the stop held, listed as held with its trigger, cancelled from the table), closes part of the position against
 * the maker with a forced close queued on the custodian, and in the settlement explorer every proof verified in the
 * browser's worker, the decoded records of its account and the custody sum; in exodus the page starts it
 * and refunds a deposit no batch took, and the explorer proves the exit. A screenshot of each page is kept
 * in build/web-screenshots/.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { createTestClient, erc20Abi, http, parseUnits, toHex } from "viem";
import { hardhat } from "viem/chains";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { INSTRUMENT_MARKET_BASE, Side, TimeInForce } from "../../sequencer/protocol/constants.ts";
import { fundingStep } from "../../sequencer/derivatives/formulas.ts";
import { deriveTradingKey } from "../../sequencer/sdk/tradingKey.ts";
import { exodusStatus, forceWithdraw } from "../../sequencer/sdk/custodian.ts";
import { custodianAbi } from "../../sequencer/chain/abi.ts";
import { REPO_ROOT } from "../../sequencer/web/build.ts";
import { terminateSnarkjsCurve } from "../../scripts/setup/zkLibs.ts";
import { DEV_MNEMONIC } from "../helpers/localExchange.ts";
import { MID_TICKS, startWebExchange, usd, type WebExchange } from "./webExchange.ts";
import { injectWallet } from "./injectedWallet.ts";

// The functions passed to page.waitForFunction/evaluate run in the page, where these exist (the test is typed for Node).
declare const document: { querySelector(s: string): { textContent: string | null; getAttribute(n: string): string | null } | null; querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> & Iterable<{ textContent: string | null }> };
declare const window: unknown;

export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
export const SCREENSHOTS = join(REPO_ROOT, "build", "web-screenshots");
const WALLET = 5;
/** The development account behind the injected EIP-1193 wallet (injectedWallet.ts). */
const INJECTED_WALLET = 6;

describe("web page in Chromium", { timeout: 900_000 }, () => {
  let w: WebExchange;
  let browser: Browser;
  let page: Page;
  let accountId = 0;
  const pageErrors: string[] = [];

  const text = async (sel: string, on: Page = page) => (await on.locator(sel).textContent()) ?? "";
  /** Clicks and waits until the message element says something other than "…in progress" (on the trading page unless `on` says which). */
  const clickAndWait = async (button: string, msg: string, timeout = 90_000, on: Page = page) => {
    await on.click(button);
    await on.waitForFunction((id) => {
      const t = document.querySelector(id)?.textContent ?? "";
      return t !== "" && !t.endsWith("…");
    }, msg, { timeout });
    return text(msg, on);
  };

  /** Fills the order form (buy/sell, time in force, price in ticks, size in lots), places it, and returns the page's answer. */
  const placeOrder = async (side: "0" | "1", tif: "0" | "1" | "2" | "3", price: bigint, lots: number) => {
    await page.selectOption("#side", side);
    await page.selectOption("#tif", tif);
    await page.fill("#price", String(price));
    await page.fill("#size", String(lots));
    return clickAndWait("#place", "#order-msg");
  };

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
    rmSync(SCREENSHOTS, { recursive: true, force: true });
    mkdirSync(SCREENSHOTS, { recursive: true });
    w = await startWebExchange();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(w.url);
    await page.waitForSelector("body[data-ready=true]", { timeout: 120_000 });
  });

  after(async () => {
    await browser?.close();
    await w?.close();
    await terminateSnarkjsCurve();
  });

  it("shows the maker's ladder in the book and the depth chart", async () => {
    await page.waitForFunction(() => document.querySelectorAll("#asks tbody tr").length === 3, null, { timeout: 30_000 });
    assert.equal(await text("#asks tbody tr:first-child td:first-child"), String(MID_TICKS + 500n));
    assert.equal(await text("#bids tbody tr:first-child td:first-child"), String(MID_TICKS - 500n));
    assert.equal(await page.locator("#depth svg path[data-side=bids]").count(), 1);
    assert.equal(await page.locator("#depth svg path[data-side=asks]").count(), 1);
  });

  it("connects a devnet wallet and derives the trading key the SDK derives from its EIP-712 signature", async () => {
    await page.selectOption("#wallet-select", String(WALLET));
    assert.match(await clickAndWait("#connect", "#wallet-msg"), /^connected 0x/);
    const inPage = await page.evaluate(() => String((window as any).__exchange.state.key.publicKey[0]));
    const chainId = await w.ex.publicClient.getChainId();
    const sdk = await deriveTradingKey(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: WALLET }) as never, chainId, w.ex.deployment.custodian);
    assert.equal(inPage, String(sdk.publicKey[0]));
  });

  it("mints test tokens, registers the key on the custodian, refuses a bad amount and deposits", async () => {
    assert.match(await clickAndWait("#mint", "#wallet-msg"), /^minted 10000 of USDC, WETH/);
    const registered = await clickAndWait("#register", "#wallet-msg");
    assert.match(registered, /^registered: account \d+$/);
    accountId = Number(registered.split(" ").at(-1));
    await page.fill("#deposit-amount", "12abc");
    assert.equal(await clickAndWait("#deposit", "#funds-msg"), 'deposit failed: deposit amount: "12abc" is not a positive decimal number');
    await page.fill("#deposit-amount", "5000");
    assert.match(await clickAndWait("#deposit", "#funds-msg"), /^deposited 5000 USDC/);
    // credited once the sequencer has pulled the request (between batches)
    await page.waitForFunction(() => document.querySelector("#balances-table tbody tr:first-child td:nth-child(4)")?.textContent === "5000", null, { timeout: 90_000 });
  });

  it("buys from the maker (IOC), sees the fill, the trade and the WETH it now holds, then the batch that settles it", async () => {
    const batchesBefore = (await w.maker.batches(1)).batches[0]?.batchNumber as number;
    assert.match(await placeOrder("0", "1", MID_TICKS + 500n, 100), /^order \d+ \(IOC\): accepted, fill; filled 100 lots$/);
    await page.waitForFunction(() => document.querySelectorAll("#fills-table tbody tr").length === 1, null, { timeout: 30_000 });
    assert.deepEqual(await page.locator("#fills-table tbody tr:first-child td").allTextContents().then((c) => [c[3], c[4], c[5], c[6]]), ["buy", "taker", "300500", "100"]);
    await page.waitForFunction(() => document.querySelector("#trades-table tbody tr td:nth-child(2)")?.textContent === "300500", null, { timeout: 30_000 });
    assert.equal(await page.locator("#candles svg rect[data-candle]").count() >= 1, true);
    // 100 lots of 0.001 WETH
    await page.waitForFunction(() => document.querySelector("#balances-table tbody tr:nth-child(2) td:nth-child(2)")?.textContent === "0.1", null, { timeout: 30_000 });
    // the ask level shrank by the fill
    await page.waitForFunction(() => document.querySelector("#asks tbody tr:first-child td:nth-child(2)")?.textContent === "900", null, { timeout: 30_000 });
    // a later batch is announced on the stream and shown as the last settled batch
    await page.waitForFunction((n) => Number(document.querySelector("#last-batch span")?.getAttribute("data-batch") ?? -1) > n, batchesBefore ?? -1, { timeout: 120_000 });
    await page.screenshot({ path: join(SCREENSHOTS, "trade.png"), fullPage: true });
  });

  it("takes no ?custodian= or ?rpc= from a link: the trading page uses the server's custodian and relay (a link to the exchange's own origin cannot aim deposits at another contract)", async () => {
    const linked = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    linked.on("pageerror", (e) => pageErrors.push(e.message));
    const evil = "0x000000000000000000000000000000000000dEaD";
    await linked.goto(`${w.url}?custodian=${evil}&rpc=http://127.0.0.1:1`);
    await linked.waitForSelector("body[data-ready=true]", { timeout: 120_000 });
    const cfg = await linked.evaluate(() => (window as any).__exchange.state.cfg as { custodian: string; rpcUrl: string });
    const served = await (await fetch(new URL("/web/config.json", w.url))).json() as { custodian: string };
    assert.equal(cfg.custodian.toLowerCase(), served.custodian.toLowerCase());
    assert.notEqual(cfg.custodian.toLowerCase(), evil.toLowerCase());
    assert.equal(new URL(cfg.rpcUrl).pathname, "/web/rpc");
    await linked.close();
  });

  it("a page opened after the trade shows it, and its candle, from the exchange's trade history", async () => {
    const late = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    late.on("pageerror", (e) => pageErrors.push(e.message));
    await late.goto(w.url);
    await late.waitForSelector("body[data-ready=true]", { timeout: 120_000 });
    assert.deepEqual((await late.locator("#trades-table tbody tr:first-child td").allTextContents()).slice(1), ["300500", "100", "sell"]);
    assert.equal(await late.locator("#trades-table tbody tr").count(), 1);
    assert.equal(await late.locator("#candles svg rect[data-candle]").count(), 1);
    await late.close();
  });

  it("withdraws WETH through the exchange and, once its batch is posted, claims it on-chain to the wallet", async () => {
    await page.selectOption("#withdraw-token", "1");
    await page.fill("#withdraw-amount", "0.05");
    assert.equal(await clickAndWait("#withdraw", "#funds-msg"), "withdrawal of 0.05 WETH accepted: claim it on-chain after its batch is posted");
    // credited to the wallet's withdrawable on the custodian by the batch that proves the withdrawal
    await page.waitForFunction(() => document.querySelector("#balances-table tbody tr:nth-child(2) td:nth-child(5)")?.textContent === "0.05", null, { timeout: 120_000 });
    const owner = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: WALLET }).address;
    const wethOf = () => w.ex.publicClient.readContract({ address: w.ex.deployment.weth, abi: erc20Abi, functionName: "balanceOf", args: [owner] });
    const before = await wethOf();
    assert.equal(await clickAndWait("#claim", "#funds-msg"), `claimed WETH to ${owner}`);
    assert.equal((await wethOf()) - before, 5n * 10n ** 16n);
    await page.waitForFunction(() => document.querySelector("#balances-table tbody tr:nth-child(2) td:nth-child(5)")?.textContent === "0", null, { timeout: 30_000 });
  });

  it("forced withdrawal: queued on the custodian from the page, shown pending, processed by the next batch, then claimed", async () => {
    const rows = () => page.locator("#requests-table tbody tr").count();
    const stateOf = (row: number) => page.locator(`#requests-table tbody tr:nth-child(${row}) [data-state]`).getAttribute("data-state");
    await page.waitForSelector("#requests-table");
    assert.equal(await stateOf(1), "processed", "the account's deposit, processed by a batch");
    const before = await rows();
    await page.selectOption("#force-token", "0");
    await page.fill("#force-amount", "1x");
    assert.equal(await clickAndWait("#force-withdraw", "#requests-msg"), 'forced withdrawal failed: forced withdrawal amount: "1x" is not a positive decimal number');
    assert.equal(await rows(), before, "nothing was queued");
    await page.fill("#force-amount", "1");
    assert.match(await clickAndWait("#force-withdraw", "#requests-msg"), /^forced withdrawal of 1 USDC queued on the custodian \(request \d+\): the next batch must process it$/);
    assert.equal(await rows(), before + 1);
    assert.deepEqual((await page.locator("#requests-table tbody tr:first-child td").allTextContents()).slice(1, 4), ["forced withdrawal", "USDC", "1"]);
    assert.equal(await stateOf(1), "pending");
    assert.match(await text("#requests-table tbody tr:first-child [data-state]"), /^pending: a batch must process it by \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    // the next batch consumes it: honoured (the balance covers it), 1 USDC credited to the wallet's withdrawable
    await page.waitForFunction(() => document.querySelector("#requests-table tbody tr:first-child [data-state]")?.getAttribute("data-state") === "processed", null, { timeout: 120_000 });
    assert.match(await text("#requests-table tbody tr:first-child [data-state]"), /^honoured by batch \d+: credited to the wallet's withdrawable$/);
    await page.waitForFunction(() => document.querySelector("#balances-table tbody tr:first-child td:nth-child(5)")?.textContent === "1", null, { timeout: 30_000 });
    await page.selectOption("#withdraw-token", "0");
    assert.match(await clickAndWait("#claim", "#funds-msg"), /^claimed USDC to 0x/);
    await page.waitForFunction(() => document.querySelector("#balances-table tbody tr:first-child td:nth-child(5)")?.textContent === "0", null, { timeout: 30_000 });
  });

  it("rests a GTC order, sees it open, and cancels it with a signed cancel", async () => {
    assert.match(await placeOrder("0", "0", 299_000n, 50), /^order (\d+) \(GTC\): accepted$/);
    await page.waitForFunction(() => document.querySelectorAll("#orders-table tbody tr").length === 1, null, { timeout: 30_000 });
    const orderId = await page.locator("#orders-table button.cancel").getAttribute("data-order");
    assert.match(await clickAndWait("#orders-table button.cancel", "#order-msg"), new RegExp(`^order ${orderId}: cancelled`));
    await page.waitForFunction(() => document.querySelectorAll("#orders-table tbody tr").length === 0, null, { timeout: 30_000 });
  });

  it("notices a gap in the stream's sequence numbers and resyncs the book from a snapshot", async () => {
    await page.evaluate(() => (window as any).__exchange.dropStreamMessages(1));
    // the maker's new level: its trade-free book delta is the message the page loses
    await w.maker.placeOrder({ marketId: 0, side: Side.SELL, timeInForce: TimeInForce.POST_ONLY, priceTicks: MID_TICKS + 2_000n, sizeLots: 7n });
    await page.waitForFunction(() => (window as any).__exchange.state.resyncs >= 1, null, { timeout: 30_000 });
    assert.equal(await page.evaluate(() => (window as any).__exchange.state.gaps), 1);
    // the snapshot brought the level the lost delta carried
    await page.waitForFunction(() => [...document.querySelectorAll("#asks tbody tr td:first-child")].some((td) => td.textContent === "302000"), null, { timeout: 30_000 });
  });

  it("a trade whose stream message is lost in a gap comes back from the trade history after the resync", async () => {
    const resyncs = await page.evaluate(() => (window as any).__exchange.state.resyncs as number);
    // the next message is this order's trade (the order's and fill's private messages, then the book delta follow)
    await page.evaluate(() => (window as any).__exchange.dropStreamMessages(1));
    assert.match(await placeOrder("0", "1", MID_TICKS + 500n, 1), /^order \d+ \(IOC\): accepted, fill; filled 1 lots$/);
    await page.waitForFunction((n) => (window as any).__exchange.state.resyncs > n, resyncs, { timeout: 30_000 });
    assert.equal(await page.evaluate(() => (window as any).__exchange.state.socket.dropped), 2, "one message lost in each gap");
    await page.waitForFunction(() => document.querySelector("#trades-table tbody tr td:nth-child(3)")?.textContent === "1", null, { timeout: 30_000 });
    const { trades } = (await (await fetch(`${w.url}/v1/markets/0/trades`)).json()) as { trades: { tradeId: number }[] };
    assert.deepEqual(await page.evaluate(() => (window as any).__exchange.state.trades.of(0).map((t: { tradeId: number }) => t.tradeId)), trades.map((t) => t.tradeId).reverse());
    // sold back, so the WETH the exodus pays out below is unchanged
    assert.match(await placeOrder("1", "1", MID_TICKS - 500n, 1), /^order \d+ \(IOC\): accepted, fill; filled 1 lots$/);
  });

  it("an injected EIP-1193 wallet connects, derives the trading key the SDK derives, mints, registers and deposits", async () => {
    const injected = privateKeyToAccount(toHex(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: INJECTED_WALLET }).getHdKey().privateKey!));
    const other = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    other.on("pageerror", (e) => pageErrors.push(e.message));
    const calls = await injectWallet(other, injected, w.ex.publicClient, w.ex.node.url);
    await other.goto(w.url);
    await other.waitForSelector("body[data-ready=true]", { timeout: 120_000 });
    const said = (button: string, msg: string) => clickAndWait(button, msg, 90_000, other);
    await other.selectOption("#wallet-select", "injected");
    assert.equal(await said("#connect", "#wallet-msg"), `connected ${injected.address}`);
    const chainId = await w.ex.publicClient.getChainId();
    const sdk = await deriveTradingKey(injected, chainId, w.ex.deployment.custodian);
    assert.equal(await other.evaluate(() => String((window as any).__exchange.state.key.publicKey[0])), String(sdk.publicKey[0]));
    assert.match(await said("#mint", "#wallet-msg"), /^minted 10000 of USDC, WETH/);
    assert.match(await said("#register", "#wallet-msg"), /^registered: account \d+$/);
    await other.fill("#deposit-amount", "1000");
    assert.match(await said("#deposit", "#funds-msg"), /^deposited 1000 USDC/);
    await other.waitForFunction(() => document.querySelector("#balances-table tbody tr:first-child td:nth-child(4)")?.textContent === "1000", null, { timeout: 90_000 });
    // everything went through the injected wallet: one signature, and the wallet's own transactions (2 mints, register, approve, deposit)
    assert.equal(calls.filter((c) => c.method === "eth_signTypedData_v4").length, 1);
    assert.equal(calls.filter((c) => c.method === "eth_sendTransaction").length, 5);
    assert.equal(await w.ex.publicClient.readContract({ address: w.ex.deployment.usdc, abi: erc20Abi, functionName: "balanceOf", args: [injected.address] }), 9_000n * 10n ** 6n);
    await other.close();
  });

  it("moves USDC into collateral, buys the perpetual from the maker and sees the position, its margin and the option chain", async () => {
    await w.publishOracle(3000); // a fresh mark: derivatives orders need an oracle update younger than 240 s
    await page.fill("#transfer-amount", "2000");
    assert.equal(await clickAndWait("#transfer", "#funds-msg"), "2000 USDC moved into derivatives collateral");
    await page.waitForFunction(() => document.querySelector("#margin-table tbody td")?.textContent === "2000", null, { timeout: 30_000 });
    await page.selectOption("#market", String(INSTRUMENT_MARKET_BASE + w.instruments.perp));
    await page.waitForFunction((p) => document.querySelector("#asks tbody tr:first-child td")?.textContent === p, String(MID_TICKS + 100n), { timeout: 30_000 });
    assert.match(await placeOrder("0", "1", MID_TICKS + 100n, 10), /^order \d+ \(IOC\): accepted, fill; filled 10 lots$/);
    await page.waitForFunction(() => document.querySelectorAll("#positions-table tbody tr").length === 1, null, { timeout: 30_000 });
    // 10 lots of 0.01 ETH; entry 3,001 USDC per ETH = 30.01 per lot; mark 3,000 = 30 per lot; PnL 10 x -0.01
    const row = await page.locator("#positions-table tbody tr td").allTextContents();
    assert.deepEqual(row.slice(1, 5), ["10", "30.01", "30", "-0.1"]);
    // a fully funded long (2,000 of collateral behind 300 of notional) has no liquidation price either way
    assert.equal(row[7], "0", "no funding paid yet");
    assert.equal(row[8], "none / none");
    const margin = await page.locator("#margin-table tbody td").allTextContents();
    assert.equal(Number(margin[2]), 30); // initial margin: 10% of 10 lots x 30
    assert.ok(Number(margin[5]) > 0 && Number(margin[5]) < 2000, `free margin ${margin[5]}`);
    // the option chain: one strike (3,000), one expiry, a call and a put mark, each with the implied vol the oracle signed (60%)
    await page.waitForSelector("#chain-table");
    assert.equal(await page.locator("#chain-table tbody tr").count(), 1);
    assert.equal(await text("#chain-table tbody tr td:first-child"), String(usd(3000)));
    assert.match(await text("#chain-table tbody tr td:nth-child(2)"), /^C \d+(\.\d+)? \(60\.0%\) \/ P \d+(\.\d+)? \(60\.0%\)$/);
    await page.screenshot({ path: join(SCREENSHOTS, "trade-derivatives.png"), fullPage: true });
  });

  it("shows the funding the perpetual position paid over a funding step", async () => {
    // the epoch ends at 3,000 with 500 ppm: the index steps by fundingStep(500, 30 USDC per lot) = 0.015 USDC per lot; 10 lots long pay 0.15
    await w.stepFunding(3000, 500n);
    assert.equal(fundingStep(500n, 30_000_000n), 15_000n);
    await page.waitForFunction(() => document.querySelector("#positions-table tbody tr td:nth-child(8)")?.textContent === "0.15", null, { timeout: 120_000 });
  });

  it("order ticket on derivatives markets: a reduce-only sell fills, a stop order is held, listed with its trigger and cancelled", async () => {
    await w.publishOracle(3000); // derivatives orders need an oracle update younger than 240 s
    // the reduce-only and trigger inputs are for derivatives markets only
    await page.selectOption("#market", "0");
    await page.waitForFunction(() => (document.querySelector("#deriv-order-fields") as unknown as { hidden: boolean }).hidden, null, { timeout: 30_000 });
    await page.selectOption("#market", String(INSTRUMENT_MARKET_BASE + w.instruments.perp));
    await page.waitForSelector("#deriv-order-fields:not([hidden])", { timeout: 30_000 });
    // reduce-only: sells 4 of the 10 lots long to the maker's bid; the position shrinks to 6
    await page.check("#reduce-only");
    assert.match(await placeOrder("1", "1", MID_TICKS - 100n, 4), /^order \d+ \(IOC, reduce-only\): accepted, fill; filled 4 lots$/);
    await page.waitForFunction(() => document.querySelector("#positions-table tbody tr td:nth-child(2)")?.textContent === "6", null, { timeout: 30_000 });
    await page.uncheck("#reduce-only");
    // a trigger needs a price, and a price needs a trigger: clear errors, nothing sent
    await page.selectOption("#trigger-type", "1");
    await page.fill("#trigger-price", "31x");
    assert.equal(await placeOrder("0", "0", MID_TICKS + 2_000n, 5), 'place order failed: trigger price: "31x" is not a positive whole number');
    await page.selectOption("#trigger-type", "0");
    await page.fill("#trigger-price", "310000");
    assert.equal(await placeOrder("0", "0", MID_TICKS + 2_000n, 5), "place order failed: trigger price: choose stop or take-profit for it, or leave it empty");
    // a stop buy at 3,100 (310,000 ticks) with the mark at 3,000: held, listed as held with its trigger
    await page.selectOption("#trigger-type", "1");
    const held = await placeOrder("0", "0", MID_TICKS + 2_000n, 5);
    assert.match(held, /^order \d+ \(GTC, stop at 310000\): held$/);
    const orderId = held.split(" ")[1]!;
    await page.waitForFunction(() => document.querySelectorAll("#orders-table tbody tr").length === 1, null, { timeout: 30_000 });
    assert.equal(await page.locator("#orders-table [data-status]").getAttribute("data-status"), "held");
    assert.equal(await text("#orders-table [data-status]"), "held: stop at 310000");
    assert.equal(await page.locator("#orders-table button.cancel").getAttribute("data-order"), orderId);
    const listed = (await w.maker.account(accountId)).openOrders;
    assert.deepEqual(listed.map((o) => [String(o.orderId), o.status, o.status === "held" ? o.triggerPriceTicks : null]), [[orderId, "held", 310_000n]], "the exchange holds it as the page shows");
    await page.screenshot({ path: join(SCREENSHOTS, "trade-held-order.png"), fullPage: true });
    // its cancel button sends a signed cancel of the held order
    assert.match(await clickAndWait("#orders-table button.cancel", "#order-msg"), new RegExp(`^order ${orderId}: cancelled`));
    await page.waitForFunction(() => document.querySelectorAll("#orders-table tbody tr").length === 0, null, { timeout: 30_000 });
    assert.deepEqual((await w.maker.account(accountId)).openOrders, []);
    await page.selectOption("#trigger-type", "0");
    await page.fill("#trigger-price", "");
  });

  it("forced close: closes 2 of the perpetual lots against the maker from the page (a bad input refused first), and the next batch with an oracle update proves it honoured", async () => {
    await w.publishOracle(3000); // the close is judged at a fresh mark
    await page.fill("#close-instrument", String(w.instruments.perp));
    await page.fill("#close-counterparty", String(w.maker.accountId));
    await page.fill("#close-lots", "2x");
    assert.equal(await clickAndWait("#force-close", "#requests-msg"), 'forced close failed: lots: "2x" is not a positive whole number');
    await page.fill("#close-lots", "2");
    assert.match(
      await clickAndWait("#force-close", "#requests-msg"),
      new RegExp(`^forced close of 2 lots of instrument ${w.instruments.perp} against account ${w.maker.accountId} queued on the custodian \\(request \\d+\\): the next batch with an oracle update must process it$`),
    );
    await page.waitForFunction(() => document.querySelector("#positions-table tbody tr td:nth-child(2)")?.textContent === "4", null, { timeout: 120_000 });
    await page.waitForFunction(() => document.querySelector("#requests-table tbody tr:first-child [data-state]")?.textContent?.startsWith("honoured by batch") ?? false, null, { timeout: 120_000 });
    const row = await page.locator("#requests-table tbody tr:first-child td").allTextContents();
    assert.deepEqual(row.slice(1, 4), ["forced close", `instrument ${w.instruments.perp}`, `2 lots to account ${w.maker.accountId}`]);
    assert.match(row[5], new RegExp(`^honoured by batch \\d+: the lots passed to account ${w.maker.accountId} at the mark$`));
  });

  it("explorer: verifies every batch's proof in a worker, decodes the account's records and sums the custody, and closes the wallet's position against the counterparty it names", async () => {
    const explorer = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    explorer.on("pageerror", (e) => pageErrors.push(e.message));
    await explorer.goto(`${w.url}/explorer`);
    await explorer.waitForSelector("#verify-status[data-ok]", { timeout: 300_000 });
    assert.equal(await explorer.getAttribute("#verify-status", "data-ok"), "true");
    const batches = await explorer.locator("details.batch").count();
    assert.ok(batches >= 3, `${batches} batches`);
    assert.equal(await explorer.locator("details.batch[data-proof=valid]").count(), batches);
    assert.match(await explorer.locator("#verify-status").textContent() ?? "", new RegExp(`all ${batches} batches verified`));
    // holdings equal claims: nothing is missing and nothing is unaccounted for
    assert.deepEqual(await explorer.locator("#custody-table [data-surplus]").evaluateAll((els) => els.map((e) => e.getAttribute("data-surplus"))), ["0", "0"]);
    // the account's history, rebuilt from chain data: its key, its deposit and its trade
    await explorer.fill("#account-id", String(accountId));
    await explorer.click("#account-lookup");
    await explorer.waitForSelector("#account-history", { timeout: 30_000 });
    const types = await explorer.locator("#account-history tbody tr td:nth-child(3)").allTextContents();
    assert.deepEqual(types.slice(0, 3), ["REGISTER_KEY", "DEPOSIT", "TRADE"]);
    assert.match(await explorer.locator("#account-history tbody tr:nth-child(3) td:nth-child(4)").textContent() ?? "", new RegExp(`buyAccountId=${accountId} .*lots=100 priceTicks=300500`));
    // without a connected wallet, the positions name their counterparty but offer no button
    assert.deepEqual((await explorer.locator("#account-positions tbody tr td").allTextContents()).slice(0, 3), [String(w.instruments.perp), "4", `account ${w.maker.accountId}, 4 lots`]);
    assert.equal(await explorer.locator("#account-positions button.force-close").count(), 0);
    // the wallet's own account: its position offers a forced close against the largest holder of the other side in
    // the state rebuilt from chain data, queued from the explorer, proven honoured by the next batch with an update
    await explorer.selectOption("#wallet-select", String(WALLET));
    await explorer.click("#connect");
    await explorer.waitForSelector("#account-positions button.force-close", { timeout: 30_000 });
    await explorer.click("#account-positions button.force-close");
    await explorer.waitForFunction(() => /(queued|failed)/.test(document.querySelector("#account-msg")?.textContent ?? ""), null, { timeout: 90_000 });
    assert.match(
      await text("#account-msg", explorer),
      new RegExp(`^forced close of 4 lots of instrument ${w.instruments.perp} against account ${w.maker.accountId} queued on the custodian \\(request \\d+\\): the next batch with an oracle update must process it$`),
    );
    await w.publishOracle(3000);
    await page.waitForFunction((m) =>
      document.querySelector("#requests-table tbody tr:first-child td:nth-child(4)")?.textContent === `4 lots to account ${m}` &&
      (document.querySelector("#requests-table tbody tr:first-child [data-state]")?.textContent?.startsWith("honoured by batch") ?? false),
    w.maker.accountId, { timeout: 120_000 });
    await page.waitForFunction(() => (document.querySelector("#positions-table tbody tr td:nth-child(2)")?.textContent ?? "0") === "0", null, { timeout: 60_000 });
    await explorer.locator("details.batch").first().evaluate((d) => ((d as unknown as { open: boolean }).open = true));
    await explorer.screenshot({ path: join(SCREENSHOTS, "explorer.png"), fullPage: true });
    await explorer.close();
  });

  it("exodus: the operator stops, a forced withdrawal outlives its deadline, the page starts the exodus and refunds an unprocessed deposit, and the wallet exits from the explorer with a proof made in the browser, then collects its derivatives claim there once the claim window ends", async () => {
    const { custodian, usdc } = w.ex.deployment;
    // everything accepted so far is proven first (the perpetual's trade among it), then the operator stops
    for (let i = 0; w.sequencer.pendingTransactions > 0; i++) {
      assert.ok(i < 480, `${w.sequencer.pendingTransactions} transactions still pending`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await w.stopOperator();
    assert.deepEqual(new Set(await page.locator("#fills-table tbody tr td:nth-child(9)").allTextContents()), new Set(["ok"]));
    const owner = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: WALLET }).address;
    const usdcOf = () => w.ex.publicClient.readContract({ address: usdc, abi: erc20Abi, functionName: "balanceOf", args: [owner] });
    // a deposit the stopped operator never processes, then a forced withdrawal that outlives its deadline
    await page.selectOption("#deposit-token", "0");
    await page.fill("#deposit-amount", "10");
    assert.match(await clickAndWait("#deposit", "#funds-msg"), /^deposited 10 USDC/);
    await forceWithdraw(w.ex.as(w.ex.wallet(WALLET)), custodian, 0, 10n ** 6n);
    const { requestDeadline } = await exodusStatus(w.ex.publicClient, custodian);
    const testClient = createTestClient({ chain: hardhat, mode: "hardhat", transport: http(w.ex.node.url) });
    await testClient.increaseTime({ seconds: Number(requestDeadline) + 1 });
    await testClient.mine({ blocks: 1 });
    // the trading page starts the exodus, shows the forced withdrawal expired and refunds the deposit no batch took
    assert.equal(await clickAndWait("#exodus", "#requests-msg"), "exodus started: refund unprocessed deposits here, exit from the settlement explorer");
    assert.equal((await exodusStatus(w.ex.publicClient, custodian)).exodusMode, true);
    await page.waitForFunction(() => document.querySelector("#requests-table tbody tr:first-child [data-state]")?.getAttribute("data-state") === "expired", null, { timeout: 30_000 });
    assert.match(await text("#requests-table tbody tr:first-child [data-state]"), /^expired at .*: the exodus can start$/);
    assert.equal(await page.locator("#requests-table tbody tr:nth-child(2) [data-state]").getAttribute("data-state"), "refundable");
    const usdcBeforeRefund = await usdcOf();
    assert.match(await clickAndWait("#requests-table button.refund", "#requests-msg"), /^deposit \d+ refunded: 10 USDC credited to the wallet that made it and claimed$/);
    assert.equal((await usdcOf()) - usdcBeforeRefund, 10n * 10n ** 6n);
    await page.waitForFunction(() => document.querySelector("#requests-table tbody tr:nth-child(2) [data-state]")?.getAttribute("data-state") === "refunded", null, { timeout: 30_000 });

    const explorer = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    explorer.on("pageerror", (e) => pageErrors.push(e.message));
    await explorer.goto(`${w.url}/explorer`);
    await explorer.waitForSelector("#verify-status[data-ok=true]", { timeout: 300_000 });
    assert.equal(await explorer.getAttribute("#exodus [data-exodus]", "data-exodus"), "true");
    await explorer.selectOption("#wallet-select", String(WALLET));
    await explorer.click("#connect");
    await explorer.waitForSelector("#exit-button", { timeout: 30_000 });
    const before = await usdcOf();
    await explorer.click("#exit-button");
    await explorer.waitForFunction(() => /^(exited|exit failed)/.test(document.querySelector("#exit-msg")?.textContent ?? ""), null, { timeout: 600_000 });
    const said = (await explorer.locator("#exit-msg").textContent()) ?? "";
    assert.match(said, new RegExp(`^exited: paid \\d+(\\.\\d+)? USDC, 0\\.05 WETH to ${owner}$`));
    assert.equal(await w.ex.publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "exited", args: [accountId] }), true);
    const paidUsdc = (await usdcOf()) - before;
    assert.equal(parseUnits(said.split(" ")[2]!, 6), paidUsdc);
    assert.ok(paidUsdc > 2_000n * 10n ** 6n, `paid ${paidUsdc}`); // about 2,699 USDC spot
    // the derivatives claim (about 2,000 of collateral and position) waits for the claim window's end
    const [windowEnd, , , pending] = await w.ex.publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "exodusClaim", args: [accountId] });
    assert.ok(pending > 1_000n * 10n ** 6n, `pending ${pending}`);
    assert.match(await explorer.locator("#derivatives-pending").textContent() ?? "", /derivatives claim of [\d.,]+ USDC waits for the claim window/);
    assert.equal(await explorer.locator("#claim-derivatives-button").count(), 0, "no collect button while the window is open");
    await explorer.screenshot({ path: join(SCREENSHOTS, "explorer-exodus.png"), fullPage: true });
    await testClient.setNextBlockTimestamp({ timestamp: windowEnd });
    await testClient.mine({ blocks: 1 });
    await explorer.click("#connect");
    await explorer.waitForSelector("#claim-derivatives-button", { timeout: 30_000 });
    const beforeClaim = await usdcOf();
    await explorer.click("#claim-derivatives-button");
    await explorer.waitForFunction(() => /^(derivatives claim paid|claim failed)/.test(document.querySelector("#exit-msg")?.textContent ?? ""), null, { timeout: 60_000 });
    assert.match((await explorer.locator("#exit-msg").textContent()) ?? "", new RegExp(`^derivatives claim paid: [\\d.,]+ USDC of [\\d.,]+ USDC to ${owner}$`));
    assert.equal((await usdcOf()) - beforeClaim, pending, "the only claim of the window, within the pot: paid in full");
    assert.equal(await explorer.locator("#derivatives-pending").count(), 0);
    await explorer.close();
  });

  it("kept a screenshot of each page and saw no script error", () => {
    for (const f of ["trade.png", "trade-derivatives.png", "explorer.png", "explorer-exodus.png"]) assert.ok(statSync(join(SCREENSHOTS, f)).size > 10_000, `${f} was written`);
    assert.deepEqual(pageErrors, []);
  });
});
