/**
 * Leaving without the operator, end to end (issue 12). On a Hardhat node with the real batch and exit circuits
 * (TEST_PARAMS, dev keys) and their generated verifiers: three traders (the devnet's maker and two takers)
 * trade spot WETH/USDC, a perpetual, a dated future and a call through the sequencer process; every batch is
 * proven and posted. Then the operator disappears: the process is SIGKILLed and its data directory deleted,
 * with the future and the call still open. A trader queues a forced withdrawal and another a deposit that no
 * batch will ever consume; the chain's clock passes the request deadline; exodus is switched on with the CLI
 * (refused one second before the deadline); every trader exits with the CLI (`exit`: the state rebuilt from
 * chain data alone, the claim proven and sent, the credit pulled); the unconsumed deposit is refunded.
 * Checked: each wallet receives, token by token, exactly what the exit rule gives the rebuilt account (in USDC its
 * spot balance and its derivatives claim, the latter out of the pooled quote's pot: exodusDerivativesPaid); a second
 * exit is refused; the custodian is left holding exactly the fee pool and the insurance fund in USDC, and
 * nothing in WETH.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicClient, createTestClient, createWalletClient, erc20Abi, http, toHex, type Address, type Hex, type PublicClient, type WalletClient } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import { buildBatchCircuit } from "../../scripts/build/batchCircuit.ts";
import { buildExitCircuit } from "../../scripts/build/exitCircuit.ts";
import { buildMarkingCircuit, markingProcessFlags } from "../../scripts/build/markingCircuit.ts";
import { terminateSnarkjsCurve } from "../../scripts/setup/zkLibs.ts";
import { deployDemoExchange, readArtifact, registerInstrument, send, setOracleKey, type Clients } from "../../scripts/deploy/deployExchange.ts";
import { startHardhatNode, type LocalNode } from "../../scripts/devnet/localNode.ts";
import { runExchangeCli } from "../../scripts/exchange.ts";
import { custodianAbi } from "../../sequencer/chain/abi.ts";
import { publicKeyOf } from "../../sequencer/crypto/babyjub.ts";
import { signOracleUpdate } from "../../sequencer/derivatives/oracleSigner.ts";
import { exitValuation } from "../../sequencer/exit/exitRule.ts";
import { INSTRUMENT_MARKET_BASE, InstrumentKind, OrderType, Side, TimeInForce } from "../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { signOrder, signTransfer } from "../../sequencer/protocol/signing.ts";
import { toJson } from "../../sequencer/sdk/wire.ts";
import { verifyChain } from "../../sequencer/verifier/chainVerifier.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../../sequencer/verifier/checkpoint.ts";
import { restoreExchangeState, snapshotExchangeState } from "../../sequencer/persistence/stateSnapshot.ts";
import { SequencerProcess, freePort } from "../helpers/sequencerProcess.ts";
import { testTrader, type TestTrader } from "../helpers/traders.ts";
import { volSlices } from "../helpers/derivatives.ts";

const DEV_MNEMONIC = "test test test test test test test test test test test junk";
const USDC = 10n ** 6n;
const ETH = 10n ** 18n;
/** The custodian's request deadline in this test (deployments use 7 days). */
const DEADLINE = 2 * 3600;
const ORACLE_KEY = new Uint8Array(32).fill(61);
const PERP = 0;
const FUTURE = 1;
const CALL = TEST_PARAMS.instruments - TEST_PARAMS.optionInstruments;
/** The call's expiry, set when the admin lists it (the oracle's vol slice names it). */
let callExpiry = 0;
const linear = { underlying: 0, lotSizeE6: 10_000n, tickSizeE8: 1_000_000n, imPpm: 100_000, mmPpm: 50_000 };
const price = (quote: bigint) => quote * 10n ** 8n;

type Trader = TestTrader & { name: string; wallet: WalletClient; walletKey: Hex };

describe("exodus: every trader leaves with the CLI after the operator is gone", { timeout: 900_000 }, () => {
  let node: LocalNode;
  let publicClient: PublicClient;
  let custodian: Address;
  let usdc: Address;
  let weth: Address;
  let vkeyPath: string;
  let exitArtifacts: { wasm: string; zkey: string; vkey: string };
  let markingFlags: string[] = [];
  const traders: Trader[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), "sequencer-exodus-"));
  let live: SequencerProcess | null = null;
  let operator: WalletClient;
  let operatorKey: Hex;
  const as = (w: WalletClient): Clients => ({ publicClient, walletClient: w });
  const cli = async (args: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const status = await runExchangeCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { status, out: out.map((l) => JSON.parse(l) as Record<string, unknown>), err: err.join("\n") };
  };
  const chainArgs = (t: { walletKey: Hex }) => ["--rpc", node.url, "--custodian", custodian, "--wallet-key", t.walletKey];
  /** Gas of the transactions the CLI sent, printed with the exits. */
  const gas = new Map<string, bigint>();
  const lastTxGas = async () => {
    const block = await publicClient.getBlock({ includeTransactions: false });
    return (await publicClient.getTransactionReceipt({ hash: block.transactions.at(-1)! })).gasUsed;
  };
  const balanceOf = (token: Address, who: Address) => publicClient.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [who] });

  before(async () => {
    const circuit = await buildBatchCircuit(TEST_PARAMS);
    vkeyPath = circuit.vkey;
    const exit = await buildExitCircuit(TEST_PARAMS, "dev");
    const markingCircuit = await buildMarkingCircuit(TEST_PARAMS);
    exitArtifacts = { wasm: exit.wasm, zkey: exit.zkey, vkey: exit.vkey };
    node = await startHardhatNode(await freePort());
    publicClient = createPublicClient({ chain: hardhat, transport: http(node.url) }) as PublicClient;
    const account = (i: number) => mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i });
    const wallet = (i: number): WalletClient => createWalletClient({ chain: hardhat, transport: http(node.url), account: account(i) });
    operator = wallet(0);
    operatorKey = toHex(account(0).getHdKey().privateKey!);
    const d = await deployDemoExchange(as(operator), {
      params: TEST_PARAMS, verifierSol: circuit.verifierSol, exitVerifierSol: exit.verifierSol, markingVerifierSol: markingCircuit.verifierSol, requestDeadline: DEADLINE,
      operator: operator.account!.address,
    });
    ({ custodian, usdc, weth } = d);
    markingFlags = markingProcessFlags(markingCircuit, d.marksRegistry);
    await setOracleKey(as(operator), custodian, publicKeyOf(ORACLE_KEY));
    const expiry = Math.floor(Date.now() / 1000) + 86_400;
    callExpiry = expiry;
    assert.equal(await registerInstrument(as(operator), custodian, { ...linear, kind: InstrumentKind.PERPETUAL, strike: 0n, expiry: 0, fundingCapPpm: 1_000 }), PERP);
    assert.equal(await registerInstrument(as(operator), custodian, { ...linear, kind: InstrumentKind.FUTURE, strike: 0n, expiry, fundingCapPpm: 0 }), FUTURE);
    assert.equal(await registerInstrument(as(operator), custodian, { ...linear, kind: InstrumentKind.CALL, strike: price(3_000n), expiry, fundingCapPpm: 0 }), CALL);
    const token = readArtifact("test/TestToken.sol", "TestToken");
    for (const [i, name, usdcAmount, wethAmount] of [[1, "maker", 500_000n * USDC, 100n * ETH], [2, "taker-1", 100_000n * USDC, 0n], [3, "taker-2", 60_000n * USDC, 20n * ETH]] as const) {
      const w = wallet(i);
      const key = testTrader(i);
      await send(as(w), custodian, custodianAbi, "registerTradingKey", [...key.pubKey]);
      const accountId = Number(await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "accountOf", args: [w.account!.address] }));
      for (const [addr, amount, tokenId] of [[usdc, usdcAmount, 0], [weth, wethAmount, 1]] as const) {
        if (amount === 0n) continue;
        await send(as(operator), addr, token.abi, "mint", [w.account!.address, amount]);
        await send(as(w), addr, erc20Abi, "approve", [custodian, amount]);
        await send(as(w), custodian, custodianAbi, "deposit", [tokenId, amount]);
      }
      traders.push({ ...key, accountId, name, wallet: w, walletKey: toHex(account(i).getHdKey().privateKey!) });
    }
  });

  after(async () => {
    if (live?.isAlive) live.kill();
    node?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await terminateSnarkjsCurve();
  });

  it("trades spot, a perpetual, a future and a call through the sequencer process, every batch posted", async () => {
    const child = await SequencerProcess.start({ data: dataDir, rpc: node.url, custodian, operatorKey }, ["--poll-ms", "100", "--max-wait-ms", "200", ...markingFlags]);
    live = child;
    const requests = Number(await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "requestCount" }));
    const settled = async () => {
      for (const started = Date.now(); ; ) {
        if (Date.now() - started > 300_000) assert.fail(`the sequencer did not post everything in 300 s:\n${child.output.slice(-40).join("\n")}`);
        const s = await child.call<{ root: bigint; pending: number; unposted: unknown; requests: number }>("status");
        const chainRoot = await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "stateRoot" });
        if (s.requests >= requests && s.pending === 0 && s.unposted === null && s.root === chainRoot) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await settled();
    const [maker, taker1, taker2] = traders;
    const ids = new Map<number, bigint>();
    const expiry = Math.floor(Date.now() / 1000) + 3600;
    const order = (t: Trader, marketId: number, side: Side, priceTicks: bigint, sizeLots: bigint) => {
      const orderId = (ids.get(t.accountId) ?? 0n) + 1n;
      ids.set(t.accountId, orderId);
      return signOrder(t.key, { accountId: t.accountId, orderId, marketId, side, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, priceTicks, sizeLots, maxFeePpm: 1000, expiry });
    };
    const place = async (t: Trader, marketId: number, side: Side, priceTicks: bigint, sizeLots: bigint) => {
      const [outcome] = await child.call<({ events: { type: string }[] } | { rejected: string })[]>("orders", { orders: [order(t, marketId, side, priceTicks, sizeLots)] });
      assert.ok("events" in outcome, `${t.name}'s order was rejected: ${toJson(outcome)}`);
      return outcome.events;
    };
    const fills = (events: { type: string }[]) => events.filter((e) => e.type === "fill").length;

    // Spot: the maker sells 2 WETH to taker-1 at 3,000 USDC (lots of 0.001 WETH, ticks of 0.00001 USDC per lot).
    await place(maker, 0, Side.SELL, 300_000n, 2_000n);
    assert.equal(fills(await place(taker1, 0, Side.BUY, 300_000n, 2_000n)), 1);
    // Derivatives: an oracle price, collateral, then the three instruments (lots of 0.01 ETH, ticks of 0.01 USDC).
    const oracle = signOracleUpdate(ORACLE_KEY, { time: Math.floor(Date.now() / 1000), fundingEpoch: 0, prices: [price(3_000n)], volSlices: volSlices(600_000n, 0n, callExpiry), rates: [0n, 0n, 0n, 0n] });
    assert.ok(!("rejected" in (await child.call<object>("oracle", { update: oracle }))));
    for (const [t, amount] of [[maker, 200_000n * USDC], [taker1, 40_000n * USDC], [taker2, 30_000n * USDC]] as const) {
      const r = await child.call<{ accepted?: true; rejected?: string }>("transfer", { transfer: signTransfer(t.key, { accountId: t.accountId, toCollateral: true, amount, nonce: 0 }) });
      assert.equal(r.accepted, true, `${t.name}'s transfer: ${r.rejected}`);
    }
    await place(maker, INSTRUMENT_MARKET_BASE + PERP, Side.SELL, 300_000n, 500n);
    assert.equal(fills(await place(taker1, INSTRUMENT_MARKET_BASE + PERP, Side.BUY, 300_000n, 500n)), 1);
    await place(maker, INSTRUMENT_MARKET_BASE + FUTURE, Side.SELL, 301_000n, 300n);
    assert.equal(fills(await place(taker2, INSTRUMENT_MARKET_BASE + FUTURE, Side.BUY, 301_000n, 300n)), 1);
    await place(maker, INSTRUMENT_MARKET_BASE + CALL, Side.SELL, 4_000n, 100n);
    assert.equal(fills(await place(taker2, INSTRUMENT_MARKET_BASE + CALL, Side.BUY, 4_000n, 100n)), 1);
    await settled();
  });

  it("the operator disappears: SIGKILL, data deleted; a forced withdrawal and a deposit stay unprocessed", async () => {
    live!.kill();
    assert.equal(await live!.exited, "SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
    const [, taker1, taker2] = traders;
    const forced = await cli(["force-withdraw", ...chainArgs(taker1), "--token-id", "1", "--amount", String(ETH)]);
    assert.equal(forced.status, 0, forced.err);
    gas.set("forceWithdraw", await lastTxGas());
    const token = readArtifact("test/TestToken.sol", "TestToken");
    await send(as(operator), usdc, token.abi, "mint", [taker2.wallet.account!.address, 1_000n * USDC]);
    await send(as(taker2.wallet), usdc, erc20Abi, "approve", [custodian, 1_000n * USDC]);
    await send(as(taker2.wallet), custodian, custodianAbi, "deposit", [0, 1_000n * USDC]);
  });

  it("exodus opens exactly at the deadline of the oldest unprocessed request", async () => {
    const testClient = createTestClient({ chain: hardhat, mode: "hardhat", transport: http(node.url) });
    const availableAt = Number(await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "exodusAvailableAt" }));
    const latest = Number((await publicClient.getBlock()).timestamp);
    await testClient.setNextBlockTimestamp({ timestamp: BigInt(availableAt - 1) });
    await testClient.mine({ blocks: 1 });
    assert.ok(availableAt - 1 > latest);
    const early = await cli(["exodus", ...chainArgs(traders[0])]);
    assert.equal(early.status, 1);
    assert.match(early.err, /not available yet/);
    assert.equal(await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "exodusMode" }), false);
    await testClient.mine({ blocks: 1 }); // the last block is now at the deadline
    const onTime = await cli(["exodus", ...chainArgs(traders[0])]);
    assert.equal(onTime.status, 0, onTime.err);
    gas.set("activateExodus", await lastTxGas());
    assert.equal(await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "exodusMode" }), true);
  });

  it("every trader exits with the CLI and receives exactly what the exit rule gives its account: the spot part at once, the derivatives claim when the claim window ends", async () => {
    const report = await verifyChain({ publicClient, custodian, params: TEST_PARAMS, vkey: JSON.parse(readFileSync(vkeyPath, "utf8")) });
    assert.equal(report.ok, true);
    const prices = (await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "lastPrices" })) as readonly bigint[];
    assert.deepEqual([...prices], [price(3_000n)]);
    const tokens = [usdc, weth];
    let derivativesClaims = 0n;
    const claims = new Map<string, bigint>();
    // a checkpoint of the frozen state, as a watchtower's `verify --save-checkpoint` keeps one: every exit after the
    // first resumes from it (the first rebuilds from genesis); a forged one is refused before anything is sent
    const cpDir = mkdtempSync(join(tmpdir(), "exodus-checkpoint-"));
    const checkpoint = join(cpDir, "state.json");
    const verifyLines: string[] = [];
    const verified = await runExchangeCli(["verify", "--rpc", node.url, "--custodian", custodian, "--vkey", vkeyPath, "--save-checkpoint", checkpoint], { out: (l) => verifyLines.push(l), err: (l) => verifyLines.push(l) });
    assert.equal(verified, 0, verifyLines.join("\n"));
    assert.ok(verifyLines.some((l) => new RegExp(`^checkpoint written to ${checkpoint}: the state after batch ${report.batchesChecked - 1} \\(block \\d+\\)$`).test(l)), verifyLines.join("\n"));
    const saved = decodeCheckpoint(readFileSync(checkpoint, "utf8"));
    const richer = restoreExchangeState(TEST_PARAMS, saved.state);
    richer.setBalance(traders[0].accountId, 0, richer.balance(traders[0].accountId, 0) + 1n);
    richer.commitAccount(traders[0].accountId);
    const forgedPath = join(cpDir, "forged.json");
    writeFileSync(forgedPath, encodeCheckpoint({ ...saved, state: snapshotExchangeState(richer) }));
    const walletBefore = await balanceOf(usdc, traders[0].wallet.account!.address);
    const forged = await cli(["exit", ...chainArgs(traders[0]), "--vkey", vkeyPath, "--exit-wasm", exitArtifacts.wasm, "--exit-zkey", exitArtifacts.zkey, "--exit-vkey", exitArtifacts.vkey, "--checkpoint", forgedPath]);
    assert.equal(forged.status, 1);
    assert.match(forged.err, new RegExp(`checkpoint: its state's root 0x[0-9a-f]{64} is not the root batch ${saved.batchNumber} posted`));
    assert.equal(await balanceOf(usdc, traders[0].wallet.account!.address), walletBefore, "nothing was sent (the real exit below goes through)");
    for (const [i, t] of traders.entries()) {
      // token 0: the spot balance, paid at once; the derivatives claim is recorded and paid out of the pooled quote's
      // pot when the claim window ends (in full here: nobody is under water at the last price)
      const v = exitValuation(report.state, t.accountId, prices);
      const claimed = v.amounts.map((a, tokenId) => (tokenId === 0 ? a + v.derivativesClaim : a));
      const expected = v.amounts;
      derivativesClaims += v.derivativesClaim;
      claims.set(t.name, v.derivativesClaim);
      const before = await Promise.all(tokens.map((tok) => balanceOf(tok, t.wallet.account!.address)));
      const resume = i > 0 ? ["--checkpoint", checkpoint] : [];
      const r = await cli(["exit", ...chainArgs(t), "--vkey", vkeyPath, "--exit-wasm", exitArtifacts.wasm, "--exit-zkey", exitArtifacts.zkey, "--exit-vkey", exitArtifacts.vkey, ...resume]);
      assert.equal(r.status, 0, `${t.name}: ${r.err}`);
      if (i > 0) assert.match(r.err, new RegExp(`rebuilding the state from chain data \\(custodian 0x[0-9a-fA-F]{40}\\), from the checkpoint after batch ${saved.batchNumber}`));
      for (const [tokenId, tok] of tokens.entries()) {
        const line = r.out.find((l) => l.tokenId === tokenId)!;
        assert.equal(BigInt(line.claimed as string), claimed[tokenId], `${t.name} token ${tokenId}: claimed`);
        assert.equal(BigInt(line.paid as string), expected[tokenId], `${t.name} token ${tokenId}: spot paid in full`);
        assert.equal((await balanceOf(tok, t.wallet.account!.address)) - before[tokenId], expected[tokenId], `${t.name} token ${tokenId}: wallet credited`);
      }
      assert.ok(claimed[0] > 0n, `${t.name} recovers USDC`);
      const exited = r.out.find((l) => l.status === "exited")!;
      assert.equal(BigInt(exited.derivativesClaim as string), v.derivativesClaim, `${t.name}: derivatives claim`);
      assert.equal(BigInt(exited.derivativesPaid as string), 0n, `${t.name}: nothing of it paid within the window`);
      assert.equal(BigInt(exited.derivativesPending as string), v.derivativesClaim, `${t.name}: the claim waits for the window's end`);
      assert.equal(BigInt(exited.pooledQuote as string), report.state.globals.pooledQuote, `${t.name}: the frozen state's pooled quote`);
      gas.set(`exit (${t.name})`, (await publicClient.getTransactionReceipt({ hash: exited.exitTx as Hex })).gasUsed);
    }
    rmSync(cpDir, { recursive: true, force: true });
    assert.ok(derivativesClaims > 0n, "the traders have derivatives claims");
    assert.equal(await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "exodusDerivativesPaid" }), 0n);
    // Within the window a claim cannot be collected; once it ends, each trader collects its claim in full (the
    // window's claims are within the pot) with the CLI.
    const withClaim = traders.find((t) => claims.get(t.name)! > 0n)!;
    const early = await cli(["claim-derivatives", ...chainArgs(withClaim)]);
    assert.equal(early.status, 1);
    assert.match(early.err, /claim window is open/);
    const [windowEnd, windowClaims] = await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "exodusClaim", args: [withClaim.accountId] });
    assert.equal(windowClaims, derivativesClaims);
    const testClient = createTestClient({ chain: hardhat, mode: "hardhat", transport: http(node.url) });
    await testClient.setNextBlockTimestamp({ timestamp: windowEnd });
    await testClient.mine({ blocks: 1 });
    // anyone may send a claim: the operator sends the first claimant's, whose CLI then pulls what it credited
    await send(as(operator), custodian, custodianAbi, "claimDerivatives", [withClaim.accountId]);
    for (const t of traders) {
      const claim = claims.get(t.name)!;
      const before = await balanceOf(usdc, t.wallet.account!.address);
      const r = await cli(["claim-derivatives", ...chainArgs(t)]);
      if (claim === 0n) {
        assert.equal(r.status, 1);
        assert.match(r.err, /no derivatives claim waiting/);
        continue;
      }
      assert.equal(r.status, 0, `${t.name}: ${r.err}`);
      const [paid] = r.out;
      assert.deepEqual([BigInt(paid.claimed as string), BigInt(paid.paid as string)], [claim, claim], `${t.name}: derivatives claim paid in full`);
      assert.equal(paid.sentByOther, t === withClaim, `${t.name}: who sent the claim`);
      assert.equal((await balanceOf(usdc, t.wallet.account!.address)) - before, claim, `${t.name}: wallet credited`);
      gas.set(`claimDerivatives (${t.name})`, (await publicClient.getTransactionReceipt({ hash: paid.tx as Hex })).gasUsed);
    }
    assert.equal(await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "exodusDerivativesPaid" }), derivativesClaims);
    assert.ok(derivativesClaims <= report.state.globals.pooledQuote);
    console.log(`gas: ${[...gas].map(([k, v]) => `${k} ${v}`).join(", ")}`);
    const again = await cli(["exit", ...chainArgs(traders[0]), "--vkey", vkeyPath, "--exit-wasm", exitArtifacts.wasm, "--exit-zkey", exitArtifacts.zkey, "--exit-vkey", exitArtifacts.vkey]);
    assert.equal(again.status, 1);
    assert.match(again.err, /already exited/);
  });

  it("the unconsumed deposit is refunded; the custodian keeps exactly the fee pool and the insurance fund", async () => {
    const taker2 = traders[2];
    const processed = await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "processedRequests" });
    const count = await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "requestCount" });
    assert.equal(count - processed, 2n, "the forced withdrawal and the deposit");
    const before = await balanceOf(usdc, taker2.wallet.account!.address);
    await send(as(operator), custodian, custodianAbi, "refundDeposit", [count - 1n, taker2.accountId, 0, 1_000n * USDC]);
    assert.equal(await balanceOf(usdc, taker2.wallet.account!.address), before, "credited, not sent");
    await send(as(taker2.wallet), custodian, custodianAbi, "withdraw", [0]);
    assert.equal((await balanceOf(usdc, taker2.wallet.account!.address)) - before, 1_000n * USDC, "refunded to the depositor, whoever sends it");
    const report = await verifyChain({ publicClient, custodian, params: TEST_PARAMS, vkey: JSON.parse(readFileSync(vkeyPath, "utf8")) });
    assert.equal(await balanceOf(usdc, custodian), report.feePool + report.state.globals.insuranceFund);
    assert.equal(await balanceOf(weth, custodian), 0n);
  });
});
