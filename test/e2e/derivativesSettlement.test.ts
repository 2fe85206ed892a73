/**
 * Derivatives end to end on a local Hardhat chain with the real circuit (TEST_PARAMS, dev keys) and the
 * snarkjs-exported verifier: the admin registers the oracle key, a perpetual and a dated future on the
 * custodian; three traders (alice, bob, and carol, the operator's liquidator) deposit and move quote to
 * collateral; alice and bob trade the perpetual and the future; a funding tick; a price drop makes alice
 * liquidatable and carol takes her position; the future expires and both positions are settled. Every
 * batch is proven, posted and accepted by the on-chain verifier; then the independent chain verifier
 * rebuilds the same root, collateral and positions from chain data alone.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { wallClockChain } from "../helpers/chain.ts";
import { erc20Abi, type Address, type PublicClient, type WalletClient } from "viem";
import { buildBatchCircuit } from "../../scripts/build/batchCircuit.ts";
import { deployDemoExchange, readArtifact, registerInstrument, send, setOracleKey, type Clients } from "../../scripts/deploy/deployExchange.ts";
import { createDefaultProver } from "../../fpga-prover/defaultProver.ts";
import { custodianAbi } from "../../sequencer/chain/abi.ts";
import { publicKeyOf } from "../../sequencer/crypto/babyjub.ts";
import { signOracleUpdate } from "../../sequencer/derivatives/oracleSigner.ts";
import { INSTRUMENT_MARKET_BASE, InstrumentKind, OrderType, Side, TimeInForce } from "../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { EMPTY_SLICE } from "../../sequencer/protocol/volSlices.ts";
import { Sequencer } from "../../sequencer/service/sequencer.ts";
import { signOrder, signTransfer } from "../../sequencer/protocol/signing.ts";
import { deriveTradingKey, type TradingKey } from "../../sequencer/sdk/tradingKey.ts";
import { verifyChain } from "../../sequencer/verifier/chainVerifier.ts";
import { terminateSnarkjsCurve } from "../../scripts/setup/zkLibs.ts";

const USDC = 10n ** 6n;
const COLLATERAL = 50_000n * USDC;
const ORACLE_KEY = new Uint8Array(32).fill(41);
const PERP = 0;
const FUTURE = 1;
/** The future expires this many seconds after it is registered; the test moves the chain's clock (and the sequencer's) past it. */
const FUTURE_LIFETIME = 86_400;
/** Seconds the chain's clock was moved forward: the sequencer and the oracle read the same clock. */
let clockOffset = 0;
const now = () => Math.floor(Date.now() / 1000) + clockOffset;
const price = (quote: bigint) => quote * 100_000_000n;

describe("derivatives settlement end to end", { timeout: 1_200_000 }, () => {
  let publicClient: PublicClient;
  let operator: WalletClient;
  let wallets: WalletClient[];
  let custodian: Address;
  let sequencer: Sequencer;
  let keys: TradingKey[];
  let ids: number[];
  let vkey: unknown;
  let expiry: number;
  let epoch = 0;
  let testClient: { increaseTime(a: { seconds: number }): Promise<unknown>; mine(a: { blocks: number }): Promise<unknown> };
  const as = (w: WalletClient): Clients => ({ publicClient, walletClient: w });
  const oracle = (quote: bigint, rates: bigint[] = [0n, 0n, 0n, 0n]) =>
    signOracleUpdate(ORACLE_KEY, { time: now(), fundingEpoch: epoch, prices: [price(quote)], volSlices: Array.from({ length: TEST_PARAMS.optionInstruments }, () => EMPTY_SLICE), rates });
  const inSync = async () => assert.equal(await sequencer.custodian.stateRoot(), sequencer.state.root);

  before(async () => {
    const { viem } = await wallClockChain();
    publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
    testClient = await viem.getTestClient();
    let rest: WalletClient[];
    [operator, ...rest] = (await viem.getWalletClients()) as unknown as WalletClient[];
    wallets = rest.slice(0, 3);
    const circuit = await buildBatchCircuit(TEST_PARAMS);
    vkey = JSON.parse(readFileSync(circuit.vkey, "utf8"));
    const d = await deployDemoExchange(as(operator), { params: TEST_PARAMS, verifierSol: circuit.verifierSol, operator: operator.account!.address, refuseExits: true });
    custodian = d.custodian;
    await setOracleKey(as(operator), custodian, publicKeyOf(ORACLE_KEY));
    const chainId = await publicClient.getChainId();
    keys = [];
    ids = [];
    const token = readArtifact("test/TestToken.sol", "TestToken");
    for (const w of wallets) {
      const key = await deriveTradingKey(w as never, chainId, custodian);
      await send(as(w), custodian, custodianAbi, "registerTradingKey", [...key.publicKey]);
      await send(as(operator), d.usdc, token.abi, "mint", [w.account!.address, COLLATERAL]);
      await send(as(w), d.usdc, erc20Abi, "approve", [custodian, COLLATERAL]);
      await send(as(w), custodian, custodianAbi, "deposit", [0, COLLATERAL]);
      keys.push(key);
      ids.push(Number(await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "accountOf", args: [w.account!.address] })));
    }
    const linear = { underlying: 0, lotSizeE6: 10_000n, tickSizeE8: 1_000_000n, imPpm: 100_000, mmPpm: 50_000, strike: 0n };
    expiry = now() + FUTURE_LIFETIME;
    assert.equal(await registerInstrument(as(operator), custodian, { ...linear, kind: InstrumentKind.PERPETUAL, expiry: 0, fundingCapPpm: 1_000 }), PERP);
    assert.equal(await registerInstrument(as(operator), custodian, { ...linear, kind: InstrumentKind.FUTURE, expiry, fundingCapPpm: 0 }), FUTURE);
    sequencer = new Sequencer({
      params: TEST_PARAMS,
      keys: { wasm: circuit.wasm, zkey: circuit.zkey, vkey },
      prover: createDefaultProver(() => {}).prover,
      chain: { publicClient, walletClient: operator, custodian },
      makerFeePpm: 100,
      takerFeePpm: 500,
      liquidator: { accountId: ids[2], key: keys[2].privateKey },
      clock: now,
      log: process.env.E2E_LOG ? console.log : undefined,
    });
  });

  after(async () => {
    await terminateSnarkjsCurve(); // the prover's and verifier's snarkjs workers would keep the process alive
  });

  it("trades, funds, liquidates and settles, every batch proven and accepted on chain", async () => {
    const [alice, bob, carol] = [0, 1, 2];
    const order = (who: number, instrument: number, orderId: bigint, side: Side, priceTicks: bigint, sizeLots: bigint) =>
      signOrder(keys[who].privateKey, {
        accountId: ids[who], orderId, marketId: INSTRUMENT_MARKET_BASE + instrument, side, type: OrderType.LIMIT,
        timeInForce: TimeInForce.GTC, priceTicks, sizeLots, maxFeePpm: 1000, expiry: now() + 3600,
      });

    assert.equal(await sequencer.syncRequests(), 9); // market, 3 keys, 3 deposits, 2 instruments
    await sequencer.drain();
    await inSync();
    assert.ok(sequencer.markets.get(INSTRUMENT_MARKET_BASE + FUTURE), "instruments trade once their registration is proven");

    await sequencer.acceptOracleUpdate(oracle(3_000n));
    for (const who of [alice, bob, carol]) {
      sequencer.requestTransfer(signTransfer(keys[who].privateKey, { accountId: ids[who], toCollateral: true, amount: COLLATERAL, nonce: 0 }));
    }
    sequencer.placeOrder(order(bob, PERP, 1n, Side.SELL, 300_000n, 15_000n));
    assert.equal(sequencer.placeOrder(order(alice, PERP, 1n, Side.BUY, 300_000n, 15_000n)).filter((e) => e.type === "fill").length, 1);
    sequencer.placeOrder(order(alice, FUTURE, 2n, Side.SELL, 300_000n, 10n));
    assert.equal(sequencer.placeOrder(order(bob, FUTURE, 2n, Side.BUY, 300_000n, 10n)).filter((e) => e.type === "fill").length, 1);
    await sequencer.drain();
    await inSync();
    const state = () => sequencer.state;
    assert.equal(state().account(ids[alice]).deriv.positions[PERP].size, 15_000n);
    assert.equal(state().account(ids[bob]).deriv.positions[PERP].size, -15_000n);
    assert.equal(state().account(ids[bob]).deriv.positions[FUTURE].size, 10n);

    epoch = 1;
    const tick = await sequencer.acceptOracleUpdate(oracle(3_000n, [100n, 0n, 0n, 0n]));
    assert.equal(tick.fundingTick, true);
    await sequencer.drain();
    await inSync();
    assert.equal(state().instruments[PERP].fundingIndex, 3_000n);

    const drop = await sequencer.acceptOracleUpdate(oracle(2_800n));
    assert.deepEqual(drop.liquidations, [[ids[alice], PERP, 15_000n]]);
    await sequencer.drain();
    await inSync();
    assert.equal(state().account(ids[alice]).deriv.positions[PERP].size, 0n);
    assert.equal(state().account(ids[carol]).deriv.positions[PERP].size, 15_000n);
    assert.equal(state().globals.insuranceFund, 4_200_000_000n);

    const wait = expiry - now() + 1;
    await testClient.increaseTime({ seconds: wait });
    await testClient.mine({ blocks: 1 });
    clockOffset += wait;
    const expired = await sequencer.acceptOracleUpdate(oracle(2_900n));
    assert.deepEqual(expired.settled, [FUTURE]);
    const bobBefore = state().account(ids[bob]).deriv.collateral;
    await sequencer.drain();
    await inSync();
    assert.equal(state().instruments[FUTURE].settlePrice, price(2_900n));
    assert.equal(state().account(ids[bob]).deriv.positions[FUTURE].size, 0n);
    assert.ok(state().account(ids[bob]).deriv.collateral > bobBefore, "bob's long future paid out (and his short perpetual's funding received)");
    assert.equal(sequencer.pendingTransactions, 0);
  });

  it("the chain verifier rebuilds the same root, collateral and positions from chain data", async () => {
    const report = await verifyChain({ publicClient, custodian, params: TEST_PARAMS, vkey });
    assert.deepEqual(report.mismatches, []);
    assert.equal(report.ok, true);
    assert.equal(report.finalRoot, sequencer.state.root);
    for (const id of ids) assert.deepEqual(report.state.account(id).deriv, sequencer.state.account(id).deriv);
    assert.deepEqual(report.state.globals, sequencer.state.globals);
    assert.deepEqual(report.state.instruments, sequencer.state.instruments);
  });
});
