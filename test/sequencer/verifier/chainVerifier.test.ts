/**
 * The independent verifier against a real history: an in-process Hardhat chain, the real batch circuit
 * (dev keys) and proofs posted by the Sequencer. Then tampering that must be reported, never thrown.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { wallClockChain } from "../../helpers/chain.ts";
import { erc20Abi, type Address, type PublicClient, type WalletClient } from "viem";
import { buildBatchCircuit } from "../../../scripts/build/batchCircuit.ts";
import { buildCircuit } from "../../../scripts/build/circuitBuild.ts";
import { printReport } from "../../../scripts/verify.ts";
import { DEMO_MIN_DEPOSITS, deployExchange, deployRefusingExitVerifier, deployTestToken, readArtifact, send, type Clients } from "../../../scripts/deploy/deployExchange.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { createDefaultProver } from "../../../fpga-prover/defaultProver.ts";
import { custodianAbi } from "../../../sequencer/chain/abi.ts";
import { OrderType, Side, TimeInForce, TxType } from "../../../sequencer/protocol/constants.ts";
import { DEVNET_PARAMS, paramsId, TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { FIELD_MODULUS } from "../../../sequencer/crypto/field.ts";
import { Sequencer } from "../../../sequencer/service/sequencer.ts";
import { signOrder, signWithdrawal } from "../../../sequencer/protocol/signing.ts";
import { verifyChain, type VerifyOptions } from "../../../sequencer/verifier/chainVerifier.ts";
import { CheckpointError, checkpointOf, decodeCheckpoint, encodeCheckpoint, type StateCheckpoint } from "../../../sequencer/verifier/checkpoint.ts";
import { restoreExchangeState, snapshotExchangeState } from "../../../sequencer/persistence/stateSnapshot.ts";
import { FIXTURES } from "../../scripts/helpers.ts";
import { testTrader } from "../../helpers/traders.ts";

const USDC = 10n ** 6n;
const ETH = 10n ** 18n;
const SIZE_UNIT = 10n ** 15n;
const PRICE_UNIT = 10n;

describe("independent chain verifier", { timeout: 300_000 }, () => {
  let publicClient: PublicClient;
  let custodian: Address;
  let sequencer: Sequencer;
  let vkey: unknown;
  const alice = testTrader(1);
  const bob = testTrader(2);
  /** What the sequencer logged and rejected: printed with a failed assertion on the setup's batches. */
  const diagnostics: string[] = [];
  const verify = (extra: Partial<VerifyOptions> = {}) => verifyChain({ publicClient, custodian, params: TEST_PARAMS, vkey, ...extra });

  before(async () => {
    const { viem } = await wallClockChain();
    publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
    const [operator, aliceWallet, bobWallet] = (await viem.getWalletClients()) as unknown as WalletClient[];
    const as = (w: WalletClient): Clients => ({ publicClient, walletClient: w });
    const circuit = await buildBatchCircuit(TEST_PARAMS);
    vkey = JSON.parse(readFileSync(circuit.vkey, "utf8"));
    const usdc = await deployTestToken(as(operator), "USD Coin", "USDC", 6);
    const weth = await deployTestToken(as(operator), "Wrapped Ether", "WETH", 18);
    ({ custodian } = await deployExchange(as(operator), { params: TEST_PARAMS, verifierSol: circuit.verifierSol, quoteToken: usdc, operator: operator.account!.address, exitVerifier: await deployRefusingExitVerifier(as(operator)) }));
    await send(as(operator), custodian, custodianAbi, "registerToken", [weth, DEMO_MIN_DEPOSITS.weth]);
    await send(as(operator), custodian, custodianAbi, "registerMarket", [1, SIZE_UNIT, PRICE_UNIT]);
    sequencer = new Sequencer({
      params: TEST_PARAMS,
      keys: { wasm: circuit.wasm, zkey: circuit.zkey, vkey },
      // The product's default (native, each proof checked by snarkjs): snarkjs alone can take longer than
      // half the custodian's MAX_BATCH_AGE on a loaded machine, and the batch's stamp would expire.
      prover: createDefaultProver(() => {}).prover,
      chain: { publicClient, walletClient: operator, custodian },
      makerFeePpm: 100,
      takerFeePpm: 500,
      log: (line) => diagnostics.push(line),
      // Two batches in flight, posted together: the verifier reads submitBatches calldata too.
      pipelineDepth: 2,
      batchesPerPost: 2,
    });
    sequencer.events.on("rejected", (r) => diagnostics.push(`rejected ${r.code}: ${r.message}`));
    const drained = async (n: number) => {
      const posted = await sequencer.drain();
      assert.equal(posted.length, n, `batches posted; the sequencer said:\n${diagnostics.join("\n")}`);
    };

    // Accounts 1 and 2, in registration order.
    await send(as(aliceWallet), custodian, custodianAbi, "registerTradingKey", [...alice.pubKey]);
    await send(as(bobWallet), custodian, custodianAbi, "registerTradingKey", [...bob.pubKey]);
    const token = readArtifact("test/TestToken.sol", "TestToken").abi;
    await send(as(operator), usdc, token, "mint", [aliceWallet.account!.address, 10_000n * USDC]);
    await send(as(operator), weth, token, "mint", [bobWallet.account!.address, 5n * ETH]);
    await send(as(aliceWallet), usdc, erc20Abi, "approve", [custodian, 10_000n * USDC]);
    await send(as(bobWallet), weth, erc20Abi, "approve", [custodian, 5n * ETH]);
    await send(as(aliceWallet), custodian, custodianAbi, "deposit", [0, 10_000n * USDC]);
    await send(as(bobWallet), custodian, custodianAbi, "deposit", [1, 5n * ETH]);
    assert.equal(await sequencer.syncRequests(), 5);
    await drained(3);

    // One trade and one withdrawal, proven together after the three request batches.
    const base = { marketId: 0, type: OrderType.LIMIT, timeInForce: TimeInForce.GTC, maxFeePpm: 1000, expiry: Math.floor(Date.now() / 1000) + 3600 };
    sequencer.placeOrder(signOrder(bob.key, { ...base, accountId: bob.accountId, orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 800n }));
    const fills = sequencer.placeOrder(signOrder(alice.key, { ...base, accountId: alice.accountId, orderId: 1n, side: Side.BUY, priceTicks: 300_100n, sizeLots: 500n }));
    assert.equal(fills.filter((e) => e.type === "fill").length, 1);
    sequencer.requestWithdrawal(signWithdrawal(alice.key, { accountId: alice.accountId, tokenId: 0, amount: 1_000n * USDC, nonce: 0 }));
    await drained(1);
  });

  after(() => terminateSnarkjsCurve());

  it("rebuilds the sequencer's state from chain data alone, every proof and root checking out", async () => {
    const progress: number[] = [];
    const report = await verify({ onProgress: (p) => progress.push(p.batch.batchNumber) });
    assert.deepEqual(report.mismatches, []);
    assert.equal(report.ok, true);
    assert.equal(report.batchesChecked, 4);
    assert.deepEqual(progress, [0, 1, 2, 3]);
    assert.equal(report.batches[0].txHash, report.batches[1].txHash, "batches 0 and 1 were posted by one submitBatches transaction");
    assert.ok(report.batches.every((b) => b.proofValid && b.rootMatches && b.ok));
    assert.deepEqual(report.batches.map((b) => b.transactions), [2, 2, 1, 2]);
    assert.equal(report.finalRoot, sequencer.state.root);
    assert.equal(report.chainRoot, sequencer.state.root);
    assert.equal(report.feePool, sequencer.state.feePool);
    assert.ok(report.feePool > 0n);
    assert.deepEqual([...report.balances.keys()], [1, 2]);
    for (const id of [1, 2]) {
      for (let token = 0; token < 4 ** TEST_PARAMS.balanceLevels; token++) {
        assert.equal(report.balances.get(id)!.get(token) ?? 0n, sequencer.state.balance(id, token), `account ${id} token ${token}`);
      }
    }
    // alice bought 500 lots: base 500 * SIZE_UNIT, paid quote + 500 ppm taker fee, withdrew 1000 USDC.
    const quote = 500n * 300_000n * PRICE_UNIT;
    assert.equal(report.balances.get(1)!.get(1), 500n * SIZE_UNIT);
    assert.equal(report.balances.get(1)!.get(0), 10_000n * USDC - quote - (quote * 500n) / 1_000_000n - 1_000n * USDC);

    const lines: string[] = [];
    printReport(report, (l) => lines.push(l));
    assert.ok(lines.some((l) => l.startsWith("OK:")));
    assert.ok(lines.some((l) => /^\s+2\s+1\s+4500000000000000000$/.test(l)), lines.join("\n"));
  });

  it("verifies the chain as of a block: views and events read at it, a batch posted after it not half seen; logs read in ranges of any width", async () => {
    const last = (await publicClient.getContractEvents({ address: custodian, abi: custodianAbi, eventName: "BatchSubmitted", fromBlock: 0n, strict: true })).at(-1)!;
    assert.equal(Number(last.args.batchNumber), 3);
    const before = await verify({ atBlock: last.blockNumber - 1n });
    assert.deepEqual(before.mismatches, [], "the state before the last batch is consistent by itself");
    assert.equal(before.batchesChecked, 3);
    assert.equal(before.atBlock, last.blockNumber - 1n);
    assert.equal(before.chainRoot, last.args.oldRoot, "the custodian's root read at that block");
    const narrow = await verify({ logRange: 1n });
    assert.deepEqual(narrow.mismatches, []);
    assert.equal(narrow.batchesChecked, 4);
    assert.equal(narrow.chainRoot, sequencer.state.root);
  });

  describe("checkpoints: resuming the rebuild after a batch", () => {
    /** A public client counting the batch transactions it fetches (calldata: what a resumed rebuild skips). */
    const counting = () => {
      const fetched: string[] = [];
      const client = new Proxy(publicClient, {
        get(target, key, receiver) {
          if (key === "getTransaction") return (a: { hash: string }) => (fetched.push(a.hash), target.getTransaction(a as never));
          return Reflect.get(target, key, receiver);
        },
      });
      return { client: client as PublicClient, fetched };
    };
    /** The checkpoint after batch 2, as `npm run verify -- --save-checkpoint` writes it, read back from its text. */
    const afterBatch2 = async (): Promise<StateCheckpoint> => {
      const last = (await publicClient.getContractEvents({ address: custodian, abi: custodianAbi, eventName: "BatchSubmitted", fromBlock: 0n, strict: true })).at(-1)!;
      const before = await verify({ atBlock: last.blockNumber - 1n });
      assert.equal(before.ok, true);
      assert.deepEqual(before.lastBatch && before.lastBatch.batchNumber, 2);
      const cp = checkpointOf(before.state, 2, before.lastBatch!.blockNumber, { chainId: await publicClient.getChainId(), custodian, params: TEST_PARAMS });
      return decodeCheckpoint(encodeCheckpoint(cp));
    };

    it("a checkpoint after batch 2 resumes there: the same state and balances as from genesis, only batch 3's calldata fetched and replayed", async () => {
      const full = await verify();
      const { client, fetched } = counting();
      const resumed = await verify({ publicClient: client, checkpoint: await afterBatch2() });
      assert.deepEqual(resumed.mismatches, []);
      assert.equal(resumed.ok, true);
      assert.equal(resumed.resumedAfter, 2);
      assert.deepEqual(resumed.batches.map((b) => b.batchNumber), [3]);
      assert.ok(resumed.batches[0].proofValid && resumed.batches[0].rootMatches);
      assert.deepEqual(fetched, [full.batches[3].txHash], "only the transaction that posted batch 3 is read");
      assert.equal(resumed.finalRoot, sequencer.state.root);
      assert.deepEqual(resumed.balances, full.balances);
      assert.equal(resumed.feePool, full.feePool);
      const lines: string[] = [];
      printReport(resumed, (l) => lines.push(l));
      assert.ok(lines.includes("batches checked: 1 (after batch 2, resumed from a checkpoint)"), lines.join("\n"));
      // a checkpoint after the last batch: nothing left to replay, the same state
      const atLast = checkpointOf(full.state, 3, full.lastBatch!.blockNumber, { chainId: await publicClient.getChainId(), custodian, params: TEST_PARAMS });
      const { client: c2, fetched: f2 } = counting();
      const none = await verify({ publicClient: c2, checkpoint: atLast });
      assert.equal(none.ok, true);
      assert.equal(none.batchesChecked, 0);
      assert.deepEqual(f2, []);
      assert.equal(none.finalRoot, sequencer.state.root);
    });

    it("a checkpoint that is not this chain's state is refused with the reason, before any batch is read", async () => {
      const good = await afterBatch2();
      // a self-consistent state with one unit more for alice: rehashes fine, to a root no batch posted
      const richer = restoreExchangeState(TEST_PARAMS, good.state);
      richer.setBalance(alice.accountId, 0, richer.balance(alice.accountId, 0) + 1n);
      richer.commitAccount(alice.accountId);
      const forged: StateCheckpoint = { ...good, state: snapshotExchangeState(richer) };
      // the same edit with the recorded root left as it was: the content does not hash to it
      const inconsistent: StateCheckpoint = { ...good, state: { ...forged.state, root: good.state.root } };
      // two forgeries rehashing to the true root: a balance one field modulus higher (hashed modulo p), a position in
      // no slot (the leaf hashes the slots); restoring takes both, so the checkpoint's own check must refuse them
      const account = (c: StateCheckpoint) => c.state.accounts.find((a) => a.id === alice.accountId)!;
      const plusP = structuredClone(good);
      account(plusP).balances[0][1] += FIELD_MODULUS;
      const phantom = structuredClone(good);
      account(phantom).deriv.positions[0].size = 5n;
      for (const c of [plusP, phantom]) assert.equal(restoreExchangeState(TEST_PARAMS, c.state).root, good.state.root, "the forgery rehashes to the true root");
      const cases: [string, StateCheckpoint, RegExp][] = [
        ["a balance plus the field modulus", plusP, /^checkpoint: its state is not one a batch could have written \(account 1: balances\)$/],
        ["a position outside the slots", phantom, /^checkpoint: its state is not one a batch could have written \(account 1: its non-zero positions are not the instruments its slots name\)$/],
        ["a forged balance", forged, /^checkpoint: its state's root 0x[0-9a-f]{64} is not the root batch 2 posted \(0x[0-9a-f]{64}\)$/],
        ["a state that does not hash to its own root", inconsistent, /^checkpoint: its state cannot be restored \(state snapshot: rebuilt root \d+ is not the recorded \d+\)$/],
        ["the state after batch 2 claimed as batch 1's", { ...good, batchNumber: 1 }, /is not the root batch 1 posted/],
        ["a batch the chain does not have", { ...good, batchNumber: 9 }, /^checkpoint: follows batch 9, the custodian has accepted 4 batches$/],
        ["another custodian", { ...good, custodian: "0x000000000000000000000000000000000000dEaD" }, /^checkpoint: made for custodian 0x0+dEaD, not 0x/],
        ["another chain", { ...good, chainId: good.chainId + 1 }, /^checkpoint: made on chain \d+, this node serves chain \d+$/],
        ["other circuit parameters", { ...good, params: paramsId(DEVNET_PARAMS) }, /^checkpoint: made with circuit parameters a2b1o4/],
      ];
      for (const [what, checkpoint, message] of cases) {
        const { client, fetched } = counting();
        await assert.rejects(verify({ publicClient: client, checkpoint }), (e: Error) => e instanceof CheckpointError && message.test(e.message), what);
        assert.deepEqual(fetched, [], `${what}: no batch calldata read`);
      }
      assert.throws(() => decodeCheckpoint("{not json"), /^CheckpointError: checkpoint: not JSON/);
      assert.throws(() => decodeCheckpoint(encodeCheckpoint({ ...good, version: 2 as 1 })), /checkpoint: format version 2, this code reads version 1/);
      assert.throws(() => decodeCheckpoint(JSON.stringify({ version: 1, chainId: "1" })), /checkpoint: missing or malformed chainId, custodian, params, batchNumber, blockNumber, state/);
    });
  });

  it("reports every proof as invalid against the verification key of another circuit", async () => {
    const other = await buildCircuit({
      name: "verifier_test_tiny_product",
      mainSource: readFileSync(join(FIXTURES, "tinyProduct.circom"), "utf8"),
      setup: "dev",
      log: () => {},
    });
    const report = await verify({ vkey: JSON.parse(readFileSync(other.vkey, "utf8")) });
    assert.equal(report.ok, false);
    assert.deepEqual(report.mismatches.map((m) => [m.batchNumber, m.check]), [[0, "proof"], [1, "proof"], [2, "proof"], [3, "proof"]]);
    // The state itself still rebuilds: only the proofs fail.
    assert.ok(report.batches.every((b) => !b.proofValid && b.rootMatches));
    assert.equal(report.finalRoot, sequencer.state.root);
  });

  it("reports a malformed verification key as invalid proofs instead of throwing", async () => {
    const report = await verify({ vkey: { protocol: "groth16", curve: "bn128", IC: [] } });
    assert.equal(report.ok, false);
    assert.equal(report.mismatches.filter((m) => m.check === "proof").length, 4);
  });

  it("reports a root mismatch when a decoded record is corrupted before the replay", async () => {
    const report = await verify({
      transformRecords: (batchNumber, records) => {
        if (batchNumber !== 3) return;
        const w = records.find((r) => r.type === TxType.WITHDRAW);
        assert.ok(w && w.type === TxType.WITHDRAW);
        w.amount += 1n;
      },
    });
    assert.equal(report.ok, false);
    assert.deepEqual(report.mismatches.map((m) => [m.batchNumber, m.check]), [[3, "newRoot"], [null, "finalRoot"]]);
    assert.deepEqual(report.batches.map((b) => b.ok), [true, true, true, false]);
    assert.ok(report.batches[3].proofValid, "the proof is checked on the bytes from the chain");
    assert.notEqual(report.finalRoot, report.chainRoot);
    const lines: string[] = [];
    printReport(report, (l) => lines.push(l));
    assert.ok(lines.some((l) => l.startsWith("FAILED: 2 mismatch")));
    assert.ok(lines.some((l) => l.includes("batch 3 [newRoot]")));
  });

  it("reports a batch whose oracle section names another marking (marksKey) than the replay reads its marks from, its root still matching", async () => {
    const report = await verify({
      transformOracle: (batchNumber, oracle) => {
        if (batchNumber === 2) oracle.marksKey = 12_345n;
      },
    });
    assert.deepEqual(report.mismatches.map((m) => [m.batchNumber, m.check]), [[2, "marksKey"]]);
    assert.match(report.mismatches[0].message, /reads the marks of marking 0x0+3039, the replay those of none \(0\)/);
    assert.deepEqual(report.batches.map((b) => b.ok), [true, true, false, true]);
    assert.equal(report.batches[2].rootMatches, true);
  });

  it("reports a record that cannot be applied, and every later root, without throwing", async () => {
    const report = await verify({
      transformRecords: (batchNumber, records) => {
        if (batchNumber !== 2) return;
        // batch 2: bob's WETH deposit and a NOOP; make the NOOP a trade bob cannot settle
        assert.equal(records[1].type, TxType.NOOP);
        records[1] = {
          type: TxType.TRADE, buyAccountId: 1n, buyOrderId: 9n, sellAccountId: 2n, sellOrderId: 9n,
          marketId: 0n, lots: 10n ** 9n, priceTicks: 1n, buyFeePpm: 0n, sellFeePpm: 0n,
        };
        return records;
      },
    });
    assert.deepEqual(report.mismatches.map((m) => [m.batchNumber, m.check]), [[2, "replay"], [3, "oldRoot"], [3, "replay"], [null, "finalRoot"]]);
    assert.match(report.mismatches[0].message, /slot 1: INSUFFICIENT_BALANCE/);
  });

  it("reports a request record that is not the queued request", async () => {
    const report = await verify({
      transformRecords: (batchNumber, records) => {
        if (batchNumber !== 1) return;
        const d = records.find((r) => r.type === TxType.DEPOSIT);
        assert.ok(d && d.type === TxType.DEPOSIT);
        d.amount -= 1n;
      },
    });
    const checks = report.mismatches.map((m) => [m.batchNumber, m.check]);
    assert.deepEqual(checks.slice(0, 2), [[1, "requests"], [1, "newRoot"]]);
  });
});
