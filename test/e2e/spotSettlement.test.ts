/**
 * End to end on a local Hardhat chain with the real circuit, dev keys and the snarkjs-exported verifier:
 * two traders derive their trading keys from their wallets (EIP-712), deposit, trade with partial fills,
 * cancel, withdraw, and the ERC20 balances come out exact. Then forged and replayed batches are refused.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { wallClockChain } from "../helpers/chain.ts";
import * as snarkjs from "snarkjs";
import { erc20Abi, type Address, type PublicClient, type WalletClient } from "viem";
import { buildBatchCircuit } from "../../scripts/build/batchCircuit.ts";
import { DEMO_MARKET, deployDemoExchange, readArtifact, send, type Clients } from "../../scripts/deploy/deployExchange.ts";
import { SnarkjsDevice } from "../../fpga-prover/snarkjsDevice.ts";
import { SingleDeviceProver } from "../../fpga-prover/prover.ts";
import { createDefaultProver } from "../../fpga-prover/defaultProver.ts";
import { custodianAbi } from "../../sequencer/chain/abi.ts";
import { BatchPostError } from "../../sequencer/chain/custodianClient.ts";
import { toCalldataProof } from "../../sequencer/protocol/calldataProof.ts";
import { OrderType, Side, TimeInForce } from "../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { Sequencer } from "../../sequencer/service/sequencer.ts";
import { signCancel, signOrder, signWithdrawal } from "../../sequencer/protocol/signing.ts";
import { deriveTradingKey, type TradingKey } from "../../sequencer/sdk/tradingKey.ts";
import { requestFeeWithdrawal } from "../../sequencer/sdk/custodian.ts";
import { terminateSnarkjsCurve } from "../../scripts/setup/zkLibs.ts";

const USDC = 10n ** 6n;
const ETH = 10n ** 18n;
const SIZE_UNIT = DEMO_MARKET.sizeUnit; // one lot = 0.001 WETH
const PRICE_UNIT = DEMO_MARKET.priceUnit; // one tick per lot = 0.00001 USDC, i.e. a price tick of 0.01 USDC per WETH
const MAKER_PPM = 100;
const TAKER_PPM = 500;
const ceilDiv = (a: bigint, b: bigint) => (a + b - 1n) / b;

describe("spot settlement end to end", { timeout: 900_000 }, () => {
  let publicClient: PublicClient;
  let operator: WalletClient;
  let aliceWallet: WalletClient;
  let bobWallet: WalletClient;
  let usdc: Address;
  let weth: Address;
  let custodian: Address;
  let sequencer: Sequencer;
  let alice: TradingKey;
  let bob: TradingKey;
  /** Built once: a rebuild would run a new dev setup, whose keys the deployed verifier does not accept. */
  let circuit: Awaited<ReturnType<typeof buildBatchCircuit>>;
  const as = (w: WalletClient): Clients => ({ publicClient, walletClient: w });
  const balanceOf = (token: Address, who: Address) => publicClient.readContract({ address: token, abi: erc20Abi, functionName: "balanceOf", args: [who] });

  after(async () => {
    await terminateSnarkjsCurve(); // the prover's and verifier's snarkjs workers would keep the process alive
  });

  before(async () => {
    const { viem } = await wallClockChain();
    publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
    [operator, aliceWallet, bobWallet] = (await viem.getWalletClients()) as unknown as WalletClient[];
    circuit = await buildBatchCircuit(TEST_PARAMS);
    ({ custodian, usdc, weth } = await deployDemoExchange(as(operator), { params: TEST_PARAMS, verifierSol: circuit.verifierSol, operator: operator.account!.address, refuseExits: true }));
    const vkey = JSON.parse((await import("node:fs")).readFileSync(circuit.vkey, "utf8"));
    sequencer = new Sequencer({
      params: TEST_PARAMS,
      keys: { wasm: circuit.wasm, zkey: circuit.zkey, vkey },
      // The product's default (native, each proof checked by snarkjs): snarkjs alone can take longer than
      // half the custodian's MAX_BATCH_AGE on a loaded machine, and the batch's stamp would expire.
      prover: createDefaultProver(() => {}).prover,
      chain: { publicClient, walletClient: operator, custodian },
      makerFeePpm: MAKER_PPM,
      takerFeePpm: TAKER_PPM,
    });
    const chainId = await publicClient.getChainId();
    alice = await deriveTradingKey(aliceWallet as never, chainId, custodian);
    bob = await deriveTradingKey(bobWallet as never, chainId, custodian);
  });

  it("derives the same trading key again from the same wallet, and another for another custodian", async () => {
    const chainId = await publicClient.getChainId();
    assert.deepEqual((await deriveTradingKey(aliceWallet as never, chainId, custodian)).publicKey, alice.publicKey);
    assert.notDeepEqual((await deriveTradingKey(aliceWallet as never, chainId, usdc)).publicKey, alice.publicKey);
    assert.notDeepEqual(bob.publicKey, alice.publicKey);
  });

  it("settles deposits, partial fills, a cancel and withdrawals with exact token balances", async () => {
    const a = aliceWallet.account!.address;
    const b = bobWallet.account!.address;
    await send(as(aliceWallet), custodian, custodianAbi, "registerTradingKey", [...alice.publicKey]);
    await send(as(bobWallet), custodian, custodianAbi, "registerTradingKey", [...bob.publicKey]);
    await send(as(operator), usdc, readArtifact("test/TestToken.sol", "TestToken").abi, "mint", [a, 10_000n * USDC]);
    await send(as(operator), weth, readArtifact("test/TestToken.sol", "TestToken").abi, "mint", [b, 5n * ETH]);
    await send(as(aliceWallet), usdc, erc20Abi, "approve", [custodian, 10_000n * USDC]);
    await send(as(bobWallet), weth, erc20Abi, "approve", [custodian, 5n * ETH]);
    await send(as(aliceWallet), custodian, custodianAbi, "deposit", [0, 10_000n * USDC]);
    await send(as(bobWallet), custodian, custodianAbi, "deposit", [1, 5n * ETH]);
    const [aliceId, bobId] = [1, 2];

    assert.equal(await sequencer.syncRequests(), 5); // market, 2 keys, 2 deposits
    await sequencer.drain();

    const expiry = Math.floor(Date.now() / 1000) + 3600;
    const base = { marketId: 0, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, maxFeePpm: 1000, expiry };
    const ask = signOrder(bob.privateKey, { ...base, accountId: bobId, orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 2000n });
    assert.equal(sequencer.placeOrder(ask)[0].type, "accepted");
    const fills1 = sequencer.placeOrder(signOrder(alice.privateKey, { ...base, accountId: aliceId, orderId: 1n, side: Side.BUY, priceTicks: 300_100n, sizeLots: 500n }));
    const fills2 = sequencer.placeOrder(signOrder(alice.privateKey, { ...base, accountId: aliceId, orderId: 2n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 700n }));
    assert.deepEqual([...fills1, ...fills2].filter((e) => e.type === "fill").map((e) => e.type === "fill" && [e.lots, e.priceTicks]), [[500n, 300_000n], [700n, 300_000n]]);
    assert.equal(sequencer.cancelOrder(signCancel(bob.privateKey, { accountId: bobId, orderId: 1n })).some((e) => e.type === "cancelled"), true);
    await sequencer.drain();

    const notional1 = 500n * 300_000n * PRICE_UNIT;
    const notional2 = 700n * 300_000n * PRICE_UNIT;
    const aliceFees = ceilDiv(notional1 * BigInt(TAKER_PPM), 1_000_000n) + ceilDiv(notional2 * BigInt(TAKER_PPM), 1_000_000n);
    const bobFees = ceilDiv(notional1 * BigInt(MAKER_PPM), 1_000_000n) + ceilDiv(notional2 * BigInt(MAKER_PPM), 1_000_000n);
    const aliceUsdc = 10_000n * USDC - notional1 - notional2 - aliceFees;
    const bobUsdc = notional1 + notional2 - bobFees;
    const aliceWeth = 1200n * SIZE_UNIT;
    const bobWeth = 5n * ETH - aliceWeth;

    sequencer.requestWithdrawal(signWithdrawal(alice.privateKey, { accountId: aliceId, tokenId: 0, amount: aliceUsdc, nonce: 0 }));
    sequencer.requestWithdrawal(signWithdrawal(alice.privateKey, { accountId: aliceId, tokenId: 1, amount: aliceWeth, nonce: 1 }));
    sequencer.requestWithdrawal(signWithdrawal(bob.privateKey, { accountId: bobId, tokenId: 0, amount: bobUsdc, nonce: 0 }));
    sequencer.requestWithdrawal(signWithdrawal(bob.privateKey, { accountId: bobId, tokenId: 1, amount: bobWeth, nonce: 0 + 1 }));
    await sequencer.drain();

    for (const [w, token] of [[aliceWallet, 0], [aliceWallet, 1], [bobWallet, 0], [bobWallet, 1]] as const) {
      await send(as(w), custodian, custodianAbi, "withdraw", [token]);
    }
    assert.equal(await balanceOf(usdc, a), aliceUsdc);
    assert.equal(await balanceOf(weth, a), aliceWeth);
    assert.equal(await balanceOf(usdc, b), bobUsdc);
    assert.equal(await balanceOf(weth, b), bobWeth);
    assert.equal(await balanceOf(usdc, custodian), aliceFees + bobFees, "the custodian keeps exactly the fee pool");
    assert.equal(await balanceOf(weth, custodian), 0n);
    assert.equal(await sequencer.custodian.stateRoot(), sequencer.state.root);
    assert.equal(sequencer.state.feePool, aliceFees + bobFees);
  });

  it("pays the fee pool out only through a proven FEE_WITHDRAW, to the custodian's fee recipient: one unit more than the pool is refused", async () => {
    const pool = sequencer.state.feePool;
    assert.ok(pool > 0n);
    const recipient = await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "feeRecipient" });
    assert.equal(recipient.toLowerCase(), operator.account!.address.toLowerCase(), "the deployment's treasury (the admin) receives the fees");
    const held = await balanceOf(usdc, custodian);
    await requestFeeWithdrawal(as(operator), custodian, pool + 1n);
    assert.equal(await sequencer.syncRequests(), 1);
    await sequencer.drain();
    assert.equal(sequencer.state.feePool, pool, "refused: the pool is unchanged");
    assert.equal(await publicClient.readContract({ address: custodian, abi: custodianAbi, functionName: "withdrawable", args: [recipient, 0] }), 0n);

    await requestFeeWithdrawal(as(operator), custodian, pool);
    assert.equal(await sequencer.syncRequests(), 1);
    await sequencer.drain();
    assert.equal(sequencer.state.feePool, 0n);
    assert.equal(await sequencer.custodian.stateRoot(), sequencer.state.root);
    const before = await balanceOf(usdc, recipient);
    await send(as(operator), custodian, custodianAbi, "withdraw", [0]);
    assert.equal(await balanceOf(usdc, recipient), before + pool, "the recipient pulled the pool");
    assert.equal(await balanceOf(usdc, custodian), held - pool, "the custodian no longer holds it");
  });

  it("refuses forged proofs, mutated public data and replayed batches, changing nothing", async () => {
    const keysOf = circuit;
    const device = new SnarkjsDevice();
    const { buildBatch } = await import("../../sequencer/batch/batchWitness.ts");
    const batchNumber = await sequencer.custodian.batchCount();
    const probe = sequencer.state.begin();
    const batch = buildBatch(sequencer.state, [], { batchNumber, timestamp: await sequencer.custodian.lastTimestamp() });
    probe.rollback();
    const vkey = JSON.parse((await import("node:fs")).readFileSync(keysOf.vkey, "utf8"));
    const { proof } = await device.prove({ wasm: keysOf.wasm, zkey: keysOf.zkey, vkey }, batch.circuitInput);
    const good = toCalldataProof(proof);
    const rootBefore = await sequencer.custodian.stateRoot();

    const forged = [...good] as unknown as typeof good;
    (forged as unknown as bigint[])[7] = (good[7] + 1n);
    await assert.rejects(sequencer.custodian.submitBatch(batchNumber, batch.publicData, forged), (e: unknown) => e instanceof BatchPostError);
    const mutated = batch.publicData.slice();
    mutated[mutated.length - 1] ^= 1; // a NOOP record's padding
    await assert.rejects(sequencer.custodian.submitBatch(batchNumber, mutated, good), (e: unknown) => e instanceof BatchPostError && e.reason === "InvalidProof");
    assert.equal(await snarkjs.groth16.verify(vkey, batch.publicInputs.map(String), proof), true);
    assert.equal(await sequencer.custodian.stateRoot(), rootBefore);
    assert.equal(await sequencer.custodian.batchCount(), batchNumber);

    // The valid batch goes through once; replaying it is refused.
    await sequencer.custodian.submitBatch(batchNumber, batch.publicData, good);
    const replay = sequencer.custodian.submitBatch(batchNumber + 1, batch.publicData, good);
    await assert.rejects(replay, (e: unknown) => e instanceof BatchPostError && (e.reason === "StaleRoot" || e.reason === "BadBatchNumber"));
  });

  it("reports a failed proof and retries it from the service loop, dropping nothing", async () => {
    const real = new SnarkjsDevice();
    let calls = 0;
    const flaky = {
      name: "flaky",
      prove: (k: Parameters<SnarkjsDevice["prove"]>[0], input: Record<string, unknown>) => (++calls === 1 ? Promise.reject(new Error("device lost")) : real.prove(k, input)),
      verify: real.verify.bind(real),
    };
    // A second sequencer over the same chain, starting from the state the first one reached.
    const s2 = sequencer;
    (s2 as unknown as { opts: { prover: unknown } }).opts.prover = new SingleDeviceProver(flaky, 1);
    const errors: string[] = [];
    await send(as(aliceWallet), usdc, erc20Abi, "approve", [custodian, 0n]);
    await send(as(operator), usdc, readArtifact("test/TestToken.sol", "TestToken").abi, "mint", [aliceWallet.account!.address, 7n * USDC]);
    await send(as(aliceWallet), usdc, erc20Abi, "approve", [custodian, 7n * USDC]);
    await send(as(aliceWallet), custodian, custodianAbi, "deposit", [0, 7n * USDC]);
    const before = await s2.custodian.processedRequests();
    const stop = s2.start({ pollMs: 100, maxWaitMs: 0, retryMs: 100, onError: (e) => errors.push((e as Error).message) });
    const deadline = Date.now() + 120_000;
    while ((await s2.custodian.processedRequests()) === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    await stop();
    assert.deepEqual(errors, ["device lost"]);
    assert.equal(await s2.custodian.processedRequests(), before + 1);
    assert.equal(await s2.custodian.stateRoot(), s2.state.root);
    assert.equal(s2.pendingTransactions, 0);
  });
});
