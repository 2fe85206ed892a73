/**
 * sequencer/sdk/exit.ts against nodes that serve eth_getLogs as public providers do (capping the results of a call,
 * or the blocks it spans) and tokens that refuse transfers: exitAccount (a real exit proof at DEVNET_PARAMS,
 * test/helpers/exodus.ts) rebuilds through the cap in ranges no wider than its logRange, and once the exit is sent
 * reports a token it could not pull instead of throwing; collectDerivativesClaim finds a claim someone else paid
 * without one read from block 0.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { erc20Abi, type PublicClient, type WalletClient } from "viem";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { EXODUS_CLAIM_WINDOW } from "../../../sequencer/protocol/constants.ts";
import { exitTokenCount } from "../../../sequencer/protocol/exitPublicData.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { collectDerivativesClaim, exitAccount } from "../../../sequencer/sdk/exit.ts";
import { custodianAbi } from "../../../sequencer/chain/abi.ts";
import { restoreExchangeState, snapshotExchangeState } from "../../../sequencer/persistence/stateSnapshot.ts";
import { verifyChain } from "../../../sequencer/verifier/chainVerifier.ts";
import { CheckpointError, checkpointOf } from "../../../sequencer/verifier/checkpoint.ts";
import { PROOF, TEST_REQUEST_DEADLINE } from "../../contracts/helpers.ts";
import { USDC, exitFixtures } from "../../contracts/exitFixture.ts";
import { ALICE_AMOUNTS, exodusChain } from "../../helpers/exodus.ts";

const connection = await network.create();

/**
 * `client` with an eth_getLogs (getContractEvents, getLogs) that refuses a call spanning more than `maxSpan`
 * blocks or answering more than `maxResults` logs, as public providers do, and records the spans asked for.
 */
function providerCaps(client: PublicClient, caps: { maxSpan?: bigint; maxResults?: number }) {
  const spans: bigint[] = [];
  let refused = 0;
  const capped = new Proxy(client, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (prop !== "getContractEvents" && prop !== "getLogs") return typeof v === "function" ? v.bind(target) : v;
      return async (args: { fromBlock?: bigint | string; toBlock?: bigint | string }) => {
        const to = typeof args.toBlock === "bigint" ? args.toBlock : await target.getBlockNumber({ cacheTime: 0 });
        const from = typeof args.fromBlock === "bigint" ? args.fromBlock : to;
        spans.push(to - from + 1n);
        if (caps.maxSpan !== undefined && to - from + 1n > caps.maxSpan) {
          refused++;
          throw new Error(`eth_getLogs is limited to a ${caps.maxSpan} block range (provider)`);
        }
        const logs = await (v as (a: unknown) => Promise<unknown[]>).call(target, args);
        if (caps.maxResults !== undefined && logs.length > caps.maxResults) {
          refused++;
          throw new Error(`query returned more than ${caps.maxResults} results (provider cap)`);
        }
        return logs;
      };
    },
  });
  return { client: capped, spans, refused: () => refused };
}

describe("SDK exit against capped providers and refusing tokens", { timeout: 600_000 }, () => {
  after(() => terminateSnarkjsCurve());

  it("exitAccount rebuilds through a result cap in ranges of at most logRange blocks, and reports a token it could not pull", async () => {
    const env = await exodusChain(connection);
    await env.refuseTransfers();
    const node = providerCaps(env.publicClient, { maxResults: 1 });
    const result = await exitAccount({
      clients: { publicClient: node.client, walletClient: env.alice }, custodian: env.custodian, params: env.params,
      batchVkey: {}, // the batches are mock-proven: their proofs are reported invalid, which an exit does not look at
      exitCircuit: env.exitCircuit, logRange: 4n,
    });
    assert.ok(node.spans.length > 0 && node.spans.every((s) => s <= 4n), `every log read within logRange: ${node.spans}`);
    assert.ok(node.refused() > 0, "some ranges held more than one log: refused, then read in halves");

    assert.deepEqual(result.paid, [...ALICE_AMOUNTS, 0n], "the exit credited every token (one amount per token id the tree holds)");
    assert.deepEqual(result.failedPulls.map((f) => f.tokenId), [1], "token 1's pull failed and is reported");
    assert.match(result.failedPulls[0]!.error, /withdraw|revert/i);
    assert.ok(!result.failedPulls[0]!.error.includes("\n"), "one line");
    assert.equal(await env.withdrawable(0), 0n);
    assert.equal(await env.withdrawable(1), ALICE_AMOUNTS[1], "token 1 waits in withdrawable");
    assert.equal(await env.withdrawable(2), 0n, "token 2, after the refusing token, was pulled");
    const wallet = env.alice.account!.address;
    assert.equal(await env.publicClient.readContract({ address: env.tokens[2]!, abi: erc20Abi, functionName: "balanceOf", args: [wallet] }), ALICE_AMOUNTS[2]);
  });

  it("exitAccount resumes the rebuild from a checkpoint (only the later batch replayed); a forged checkpoint is refused before anything is sent", async () => {
    const env = await exodusChain(connection);
    const events = await env.publicClient.getContractEvents({ address: env.custodian, abi: custodianAbi, eventName: "BatchSubmitted", fromBlock: 0n, strict: true });
    assert.equal(events.length, 2);
    // the state after batch 0, as `verify --save-checkpoint` run then would have saved it (mock proofs: the state rebuilds)
    const early = await verifyChain({ publicClient: env.publicClient, custodian: env.custodian, params: env.params, vkey: {}, atBlock: events[1].blockNumber - 1n });
    assert.equal(early.finalRoot, events[0].args.newRoot);
    const target = { chainId: await env.publicClient.getChainId(), custodian: env.custodian, params: env.params };
    const checkpoint = checkpointOf(early.state, 0, events[0].blockNumber, target);
    // the same state with more of token 0 for alice, hashed consistently: a root no batch posted
    const richer = restoreExchangeState(env.params, checkpoint.state);
    richer.setBalance(1, 0, richer.balance(1, 0) + 1n);
    richer.commitAccount(1);
    const forged = { ...checkpoint, state: snapshotExchangeState(richer) };
    const options = { clients: { publicClient: env.publicClient, walletClient: env.alice }, custodian: env.custodian, params: env.params, batchVkey: {}, exitCircuit: env.exitCircuit };

    await assert.rejects(exitAccount({ ...options, checkpoint: forged }), (e: Error) => e instanceof CheckpointError && /is not the root batch 0 posted/.test(e.message));
    assert.deepEqual(await Promise.all([0, 1, 2].map((t) => env.withdrawable(t))), [0n, 0n, 0n], "nothing was sent: no exit, nothing credited");

    const replayed: number[] = [];
    const result = await exitAccount({ ...options, checkpoint, onProgress: (p) => replayed.push(p.batch.batchNumber) });
    assert.deepEqual(replayed, [1], "batch 0 came from the checkpoint, batch 1 from chain data");
    assert.deepEqual([result.rebuild.resumedAfter, result.rebuild.batchesReplayed], [0, 1]);
    assert.deepEqual(result.paid, [...ALICE_AMOUNTS, 0n], "the claim is the one a rebuild from genesis gives");
    assert.deepEqual(result.failedPulls, []);
  });

  it("collectDerivativesClaim finds a claim a stranger paid on a node capping the block span", async () => {
    const { networkHelpers } = connection;
    const env = await exitFixtures(connection).deployFunded();
    const { custodian, alice, carol, publicClient } = env;
    await custodian.write.depositTo([1, 0, 100n * USDC], { account: carol.account }); // queued, never served
    await networkHelpers.time.increase(TEST_REQUEST_DEADLINE);
    await custodian.write.activateExodus();
    // mock exit verifier: Alice's exit records a derivatives claim of 100 USDC within the window
    await custodian.write.exit([1, Array(exitTokenCount(TEST_PARAMS)).fill(0n), 100n * USDC, 100n * USDC, PROOF], { account: alice.account });
    await networkHelpers.time.increase(EXODUS_CLAIM_WINDOW + 1);
    const hash = await custodian.write.claimDerivatives([1], { account: carol.account }); // anyone may
    await networkHelpers.mine(20_000);
    const node = providerCaps(publicClient as unknown as PublicClient, { maxSpan: 10_000n });
    const got = await collectDerivativesClaim({ clients: { publicClient: node.client, walletClient: alice as unknown as WalletClient }, custodian: custodian.address });
    assert.deepEqual(got, { accountId: 1, claimed: 100n * USDC, paid: 100n * USDC, tx: hash, sentByOther: true });
    assert.equal(node.refused(), 0);
    assert.ok(node.spans.every((s) => s <= 10_000n));
    assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), 0n, "pulled");
  });
});
