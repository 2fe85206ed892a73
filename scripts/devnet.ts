/**
 * The main job: a local chain with the exchange and demo traders, on embedded defaults.
 *
 *   npm run devnet            # starts a Hardhat node, deploys, trades, proves, settles, verifies (DEVNET_PARAMS:
 *                             # test trees and slots, 256 order slots, a table of 48 with a 40-option chain, 16 positions)
 *   npm run devnet -- --keep  # instead of the exodus act, keeps the node, the exchange (batches proven as
 *                             # orders arrive) and its web page running for you to trade (Ctrl-C to stop)
 *   npm run devnet -- --size test         # the same with the test table of 4 instruments (TEST_PARAMS: 3 position
 *                                         # slots per account: the maker quotes all four, and a quote met while it holds
 *                                         # three others is cancelled position-slots)
 *   npm run devnet -- --size production   # the same at production sizes (PRODUCTION_PARAMS: 16M accounts,
 *                                         # 18 + 4 slots per batch, 16 instruments, 16 positions per account); its
 *                                         # first run builds the circuits (~15 minutes on 2 cores)
 *
 *   npm run devnet -- --pipeline-depth 1 --batches-per-post 1   # one batch at a time, each posted alone
 *                                         # (default: 2 in flight, posted together by Custodian.submitBatches)
 *
 * Steps: build the batch, exit and marking circuits (cached; dev keys, INSECURE), start `hardhat node`, deploy test
 * USDC/WETH, the marks registry and the custodian, start the exchange API, onboard three traders from their wallets with the SDK
 * (EIP-712-derived trading keys, registered and funded on the custodian), run a market maker's ladder
 * against two takers through the API (partial fills, IOC, a cancel; the maker watches its fills on the
 * WebSocket), withdraw; then derivatives (devnet/derivativesScenario.ts): a perpetual, futures a week
 * and two weeks out, calls and puts at two strikes and two expiries on ETH, a test oracle feeder signing a
 * vol slice per expiry (a level and a put skew), collateral transfers, trades (a vertical call spread, a put
 * spread and a calendar among them), two funding ticks, a liquidation across two instruments and the 1-week expiry settling while the
 * 2-week instruments stay open, then the 2-week expiry settling from the update that names it after an outage
 * through its settlement window; the operator withdraws the fee pool with a proven FEE_WITHDRAW to the
 * custodian's fee recipient. Every batch is proven and posted; then the independent
 * verifier rebuilds the whole state, balances, collateral and positions, from chain data alone. Last (unless --keep), the
 * exodus act (devnet/exodusAct.ts): the operator stops, a forced withdrawal goes unprocessed past the
 * deadline, exodus is switched on and every trader exits with an exit proof, printing what it recovered.
 *
 * Time: the chain's clock is moved forward for funding epochs and the week to expiry (evm_increaseTime),
 * and the sequencer's clock with it, so the run takes minutes, not a week.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, Option } from "commander";
import { createPublicClient, createTestClient, createWalletClient, erc20Abi, http, type Address, type PublicClient, type WalletClient } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { buildBatchCircuit } from "./build/batchCircuit.ts";
import { buildExitCircuit } from "./build/exitCircuit.ts";
import { buildMarkingCircuit, markingKeysOf } from "./build/markingCircuit.ts";
import { deployDemoExchange, readArtifact, send, type Clients } from "./deploy/deployExchange.ts";
import { startHardhatNode } from "./devnet/localNode.ts";
import { runDerivativesScenario, type Trader } from "./devnet/derivativesScenario.ts";
import { runExodusAct } from "./devnet/exodusAct.ts";
import { createDefaultProver } from "../fpga-prover/defaultProver.ts";
import { pipelineSettings, type PipelineFlags } from "../sequencer/process/pipelineFlags.ts";
import { custodianAbi } from "../sequencer/chain/abi.ts";
import { createApiServer } from "../sequencer/api/server.ts";
import { OrderType, Side, TimeInForce } from "../sequencer/protocol/constants.ts";
import { PARAMS_NAMES, PARAMS_SETS, paramsId, type ParamsName } from "../sequencer/protocol/params.ts";
import type { EngineEvent } from "../sequencer/matching/index.ts";
import { Sequencer } from "../sequencer/service/sequencer.ts";
import { ExchangeClient } from "../sequencer/sdk/client.ts";
import { claimWithdrawal, deposit, registerTradingKey, requestFeeWithdrawal } from "../sequencer/sdk/custodian.ts";
import { deriveTradingKey } from "../sequencer/sdk/tradingKey.ts";
import { registerWebPage } from "../sequencer/web/server.ts";

/** Hardhat's well-known development mnemonic: its node funds these accounts. Never use it elsewhere. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";
const USDC = 10n ** 6n;
const ETH = 10n ** 18n;

const program = new Command()
  .name("devnet")
  .description("Local chain with the exchange and demo traders: trade, prove, settle, verify")
  .option("--port <port>", "JSON-RPC port of the Hardhat node", "8545")
  .option("--pipeline-depth <n>", "batches in flight at once (the next built and proven while the ones before it are)", "2")
  .option("--batches-per-post <n>", "batches posted by one submitBatches transaction", "2")
  .option("--keep", "skip the exodus act and keep the node, the exchange and its web page running (Ctrl-C to stop)", false)
  .addOption(new Option("--size <size>", "circuit and tree sizes").choices(PARAMS_NAMES).default("devnet"))
  .parse();
const opts = program.opts<{ port: string; keep: boolean; size: ParamsName } & PipelineFlags>();
const PARAMS = PARAMS_SETS[opts.size];

const step = (line: string) => console.log(`\n== ${line}`);
const info = (line: string) => console.log(`   ${line}`);

function describe(events: readonly EngineEvent[]): string {
  return events
    .filter((e) => e.type !== "done")
    .map((e) => (e.type === "fill" ? `fill ${e.lots} lots @ ${e.priceTicks}` : e.type === "rejected" ? `rejected ${e.code}` : e.type))
    .join(", ");
}

async function main(): Promise<void> {
  step("Batch circuit (cached build; development keys are INSECURE)");
  const built = (cached: boolean, t0: number) => (cached ? "cached" : `built in ${((performance.now() - t0) / 1000).toFixed(0)} s, cached from now on`);
  let t0 = performance.now();
  const circuit = await buildBatchCircuit(PARAMS);
  info(`${opts.size} sizes (${paramsId(PARAMS)}): ${circuit.nConstraints} constraints, ${PARAMS.slots} spot + ${PARAMS.derivSlots} derivatives slots per batch (${built(circuit.cached, t0)})`);
  t0 = performance.now();
  const exitCircuit = await buildExitCircuit(PARAMS);
  info(`exit circuit: ${exitCircuit.nConstraints} constraints (${built(exitCircuit.cached, t0)})`);
  t0 = performance.now();
  const markingCircuit = await buildMarkingCircuit(PARAMS);
  info(`marking circuit: ${markingCircuit.nConstraints} constraints (${built(markingCircuit.cached, t0)})`);

  step("Local chain");
  const node = await startHardhatNode(Number(opts.port), info);
  const publicClient = createPublicClient({ chain: hardhat, transport: http(node.url) }) as PublicClient;
  const wallet = (i: number): WalletClient => createWalletClient({ chain: hardhat, transport: http(node.url), account: mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i }) });
  const operator = wallet(0);
  const as = (w: WalletClient): Clients => ({ publicClient, walletClient: w });

  step("Deploy");
  const d = await deployDemoExchange(as(operator), {
    params: PARAMS, verifierSol: circuit.verifierSol, exitVerifierSol: exitCircuit.verifierSol, markingVerifierSol: markingCircuit.verifierSol, operator: operator.account!.address,
  });
  info(`custodian ${d.custodian}\n   verifier  ${d.verifier}\n   marks registry ${d.marksRegistry}\n   USDC ${d.usdc}  WETH ${d.weth}`);

  const chainId = await publicClient.getChainId();
  // The operator's liquidator: its trading key is registered before the sequencer starts, which signs
  // the liquidator's side of every liquidation with it.
  const liquidatorWallet = wallet(4);
  const liquidatorKey = await deriveTradingKey(liquidatorWallet as never, chainId, d.custodian);
  const liquidatorId = await registerTradingKey(as(liquidatorWallet), d.custodian, liquidatorKey.publicKey);
  info(`operator's liquidator: account ${liquidatorId}`);

  // The sequencer's clock follows the chain's when the devnet moves it forward.
  let clockOffset = 0;
  const clock = () => Math.floor(Date.now() / 1000) + clockOffset;

  const { prover, description } = createDefaultProver(info);
  const { pipelineDepth, batchesPerPost } = pipelineSettings(opts);
  info(`prover: ${description}; up to ${pipelineDepth} batches in flight, ${batchesPerPost} per transaction`);
  const sequencer = new Sequencer({
    params: PARAMS,
    keys: { wasm: circuit.wasm, zkey: circuit.zkey, vkey: JSON.parse(readFileSync(circuit.vkey, "utf8")) },
    markingKeys: markingKeysOf(markingCircuit),
    marksRegistry: d.marksRegistry,
    prover,
    chain: { publicClient, walletClient: operator, custodian: d.custodian },
    makerFeePpm: 100,
    takerFeePpm: 500,
    log: info,
    clock,
    liquidator: { accountId: liquidatorId, key: liquidatorKey.privateKey },
    pipelineDepth,
    batchesPerPost,
  });
  const settle = async (what: string) => {
    await sequencer.syncRequests();
    const n = sequencer.pendingTransactions;
    const t0 = Date.now();
    const batches = await sequencer.drain();
    info(`${what}: ${n} transactions settled in ${batches.length} proven batches (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return batches;
  };

  const api = createApiServer(sequencer, { exchange: { chainId, custodian: d.custodian } });
  const webPage = { chainId, custodian: d.custodian, params: opts.size, rpc: publicClient, vkeyPath: circuit.vkey, devWallets: true, exitCircuit };
  registerWebPage(api, webPage);
  const apiUrl = await api.listen({ host: "127.0.0.1", port: 0 });
  info(`exchange API on ${apiUrl} (WebSocket ${apiUrl.replace("http", "ws")}/v1/stream)`);
  info(`web page: ${apiUrl}/ (trading; devnet test wallets #5-#9) and ${apiUrl}/explorer (settlement explorer)`);

  step("Onboard traders with the SDK: wallet signs EIP-712, trading key derived, registered, funded");
  const token = readArtifact("test/TestToken.sol", "TestToken");
  const traders: { name: string; w: WalletClient; c: ExchangeClient; usdc: bigint; weth: bigint }[] = [];
  for (const t of [
    { name: "maker", w: wallet(1), usdc: 200_000n * USDC, weth: 50n * ETH },
    { name: "taker-1", w: wallet(2), usdc: 20_000n * USDC, weth: 0n },
    { name: "taker-2", w: wallet(3), usdc: 0n, weth: 10n * ETH },
  ]) {
    const key = await deriveTradingKey(t.w as never, chainId, d.custodian);
    const accountId = await registerTradingKey(as(t.w), d.custodian, key.publicKey);
    for (const [addr, amount, tokenId] of [[d.usdc, t.usdc, 0], [d.weth, t.weth, 1]] as const) {
      if (amount === 0n) continue;
      await send(as(operator), addr, token.abi, "mint", [t.w.account!.address, amount]);
      await deposit(as(t.w), d.custodian, addr, tokenId, amount);
    }
    traders.push({ ...t, c: new ExchangeClient({ url: apiUrl, accountId, tradingKey: key, firstOrderId: 1n }) });
    info(`${t.name}: account ${accountId}, trading key ${key.publicKey[0].toString(16).slice(0, 12)}…`);
  }
  await settle("registrations, market and deposits");

  step("Trading through the API (WETH/USDC, price in 0.01 USDC ticks, size in 0.001 WETH lots)");
  const [maker, taker1, taker2] = traders;
  const makerStream = await maker.c.stream();
  let makerFills = 0n;
  makerStream.on("fill", (f) => (makerFills += f.lots));
  await makerStream.subscribeBatches();
  const batchEvents: number[] = [];
  makerStream.on("batch", (b) => batchEvents.push(b.batchNumber));
  const place = async (t: (typeof traders)[number], side: (typeof Side)[keyof typeof Side], price: bigint, lots: bigint, tif: (typeof TimeInForce)[keyof typeof TimeInForce] = TimeInForce.GTC, type: (typeof OrderType)[keyof typeof OrderType] = OrderType.LIMIT) => {
    const { order, events } = await t.c.placeOrder({ marketId: d.marketId, side, type, timeInForce: tif, priceTicks: price, sizeLots: lots });
    info(`${t.name} ${side === Side.BUY ? "buys" : "sells"} ${lots} @ ${price} ${type === OrderType.MARKET ? "market" : ["GTC", "IOC", "FOK", "post-only"][tif]}: ${describe(events)}`);
    return order;
  };
  // The maker posts its ladder as one batch of binary order records (the compact entry for market makers).
  const ladder = [1n, 2n, 3n].flatMap((i) => [
    { marketId: d.marketId, side: Side.BUY, timeInForce: TimeInForce.POST_ONLY, priceTicks: 300_000n - 500n * i, sizeLots: 1000n },
    { marketId: d.marketId, side: Side.SELL, timeInForce: TimeInForce.POST_ONLY, priceTicks: 300_000n + 500n * i, sizeLots: 1000n },
  ]);
  const posted = await maker.c.placeOrders(ladder, { binary: true });
  posted.orders.forEach((o, i) => info(`maker ${o.side === Side.BUY ? "buys" : "sells"} ${o.sizeLots} @ ${o.priceTicks} post-only (binary batch): ${posted.results[i]!.status === 200 ? describe(posted.results[i]!.events!) : posted.results[i]!.code}`));
  if (posted.results.some((r) => r.status !== 200)) throw new Error("the maker's ladder was refused");
  await place(taker1, Side.BUY, 301_500n, 1500n, TimeInForce.IOC, OrderType.MARKET);
  const resting = await place(taker2, Side.SELL, 299_000n, 2500n);
  const book = await maker.c.book(d.marketId, 3);
  info(`book: bids ${book.bids.map((l) => `${l.lots}@${l.priceTicks}`).join(" ")} | asks ${book.asks.map((l) => `${l.lots}@${l.priceTicks}`).join(" ")}`);
  info(`taker-2 cancels the rest of order ${resting.orderId}: ${describe(await taker2.c.cancel(resting.orderId))}`);
  const settled = await settle("trades and cancel");
  const lastBatch = settled.at(-1)!.batchNumber;
  if (!batchEvents.includes(lastBatch)) await makerStream.next((m) => m.type === "batch" && m.batch.batchNumber === lastBatch);
  info(`maker's stream: ${makerFills} lots filled, batch events ${batchEvents.join(", ")}`);

  step("Withdrawals through the API, claimed on-chain");
  const owed = (await taker1.c.account()).balances.find((b) => b.tokenId === 1)!.available;
  await taker1.c.withdraw(1, owed);
  const proceeds = (await taker2.c.account()).balances.find((b) => b.tokenId === 0)!.available;
  await taker2.c.withdraw(0, proceeds);
  await settle("withdrawals");
  await claimWithdrawal(as(taker1.w), d.custodian, 1);
  await claimWithdrawal(as(taker2.w), d.custodian, 0);
  const bal = (a: Address, who: Address) => publicClient.readContract({ address: a, abi: erc20Abi, functionName: "balanceOf", args: [who] });
  info(`taker-1 wallet now holds ${Number(await bal(d.weth, taker1.w.account!.address)) / 1e18} WETH (withdrew ${owed})`);
  info(`taker-2 wallet now holds ${Number(await bal(d.usdc, taker2.w.account!.address)) / 1e6} USDC (withdrew ${proceeds})`);
  await makerStream.close();

  const trader = (t: (typeof traders)[number]): Trader => ({ name: t.name, c: t.c, clients: as(t.w) });
  const testClient = createTestClient({ chain: hardhat, mode: "hardhat", transport: http(node.url) });
  const liquidator = { name: "liquidator", clients: as(liquidatorWallet), c: new ExchangeClient({ url: apiUrl, accountId: liquidatorId, tradingKey: liquidatorKey, firstOrderId: 1n << 20n }) };
  const feed = await runDerivativesScenario({
    admin: as(operator), publicClient, custodian: d.custodian, usdc: d.usdc, testClient, underlyings: PARAMS.underlyings,
    maker: trader(maker), leveraged: trader(taker1), optionsTrader: trader(taker2),
    liquidator,
    clock, advance: (seconds) => (clockOffset += seconds), settle, info, step,
  });

  step("Treasury: the fee pool leaves only through a proven FEE_WITHDRAW, to the custodian's fee recipient");
  const treasury = await taker1.c.treasury();
  const feeRecipient = await publicClient.readContract({ address: d.custodian, abi: custodianAbi, functionName: "feeRecipient" });
  const recipientBefore = await bal(d.usdc, feeRecipient);
  if (treasury.feePool > 0n) {
    await requestFeeWithdrawal(as(operator), d.custodian, treasury.feePool);
    await settle("fee withdrawal");
    await claimWithdrawal(as(operator), d.custodian, 0);
  }
  info(`fee pool ${Number(treasury.feePool) / 1e6} USDC paid to the fee recipient ${feeRecipient} (its wallet: +${Number((await bal(d.usdc, feeRecipient)) - recipientBefore) / 1e6} USDC); ` +
    `the insurance fund keeps ${Number(treasury.insuranceFund) / 1e6} USDC (open bad debt ${Number(treasury.openBadDebt) / 1e6} USDC)`);

  step("Independent verification from chain data");
  const { runVerifier } = await import("./verify.ts");
  // it saves a checkpoint of what it rebuilt: the exits below resume from it (docs/client.md 10.1, "Checkpoints")
  const checkpoint = join(mkdtempSync(join(tmpdir(), "devnet-")), "checkpoint.json");
  const ok = await runVerifier({ rpc: node.url, custodian: d.custodian, params: opts.size, vkey: circuit.vkey, saveCheckpoint: checkpoint });

  if (opts.keep) {
    // The exchange stays live for the web page: batches are proven and posted as orders and requests arrive.
    sequencer.start();
    // and the test feeder keeps the marks fresh (the scenario's last ETH price, a minute apart): derivatives orders
    // and transfers need an update at most ORACLE_FRESHNESS old
    feed.keepFeeding();
    step("The exchange stays up (--keep): trade on the web page; Ctrl-C to stop");
    info("the test oracle feeder publishes the last ETH price every minute (derivatives need a fresh update)");
    info(`web page: ${apiUrl}/ (devnet test wallets #5-#9 are offered) and ${apiUrl}/explorer (settlement explorer)`);
    info(`node ${node.url}; custodian ${d.custodian}; API ${apiUrl}`);
    return;
  }

  await runExodusAct({
    publicClient, testClient, custodian: d.custodian, params: PARAMS,
    tokens: [{ symbol: "USDC", address: d.usdc, decimals: 6 }, { symbol: "WETH", address: d.weth, decimals: 18 }],
    traders: [...traders.map(trader), liquidator],
    stopOperator: () => api.close(),
    advance: (seconds) => (clockOffset += seconds),
    vkey: circuit.vkey, exitCircuit, checkpoint, info, step,
  });

  node.stop();
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
