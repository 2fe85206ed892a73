/**
 * What the independent verifier asks the node for, on a chain of many batches posted a few submitBatches calls at
 * a time (mock batch verifier, empty batches built by buildBatch): through a node that caps the results of an
 * eth_getLogs call, as public providers do, it rebuilds the chain's root all the same (a refused range is read
 * again in halves), and it fetches each posting transaction once, not once per batch it carries.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getContract, type Hex, type PublicClient } from "viem";
import { custodianAbi } from "../../../sequencer/chain/abi.ts";
import { custodianArgs } from "../../../sequencer/chain/custodianArgs.ts";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { verifyChain } from "../../../sequencer/verifier/chainVerifier.ts";
import { PROOF, deployExitRoles, deployNamed, hex } from "../../contracts/helpers.ts";

const { viem, networkHelpers } = await network.create();
const POSTS = 3;
const PER_POST = 20;

/** `client` counting getTransaction calls and refusing a getContractEvents call that answers more than `cap` logs. */
function node(client: PublicClient, cap = Infinity) {
  const counts = { getTransaction: 0, getContractEvents: 0, refused: 0 };
  const wrapped = new Proxy(client, {
    get(target, prop, recv) {
      const v = Reflect.get(target, prop, recv);
      if (prop === "getTransaction") return (args: unknown) => (counts.getTransaction++, (v as (a: unknown) => unknown).call(target, args));
      if (prop !== "getContractEvents") return typeof v === "function" ? v.bind(target) : v;
      return async (args: unknown) => {
        counts.getContractEvents++;
        const logs = await (v as (a: unknown) => Promise<unknown[]>).call(target, args);
        if (logs.length > cap) {
          counts.refused++;
          throw new Error(`query returned more than ${cap} results (provider cap)`);
        }
        return logs;
      };
    },
  });
  return { client: wrapped, counts };
}

describe("chain verifier's reads", { timeout: 300_000 }, () => {
  it("rebuilds through a node capping results per call, and fetches each submitBatches transaction once", async () => {
    const publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
    const [admin, operator] = await viem.getWalletClients();
    const state = new ExchangeState(TEST_PARAMS);
    const verifier = await deployNamed(viem, "MockVerifier");
    const usdc = await deployNamed(viem, "TestToken", ["USD Coin", "USDC", 6]);
    const address = await deployNamed(viem, "Custodian", custodianArgs(TEST_PARAMS, {
      verifier, genesisRoot: state.root, quoteToken: usdc, quoteMinDeposit: 1n, admin: admin.account.address, operator: operator.account.address,
      ...(await deployExitRoles(viem, admin.account.address)),
    }));
    const custodian = getContract({ abi: custodianAbi, address, client: { public: publicClient, wallet: operator } });
    let n = 0;
    for (let post = 0; post < POSTS; post++) {
      const t = Number(await networkHelpers.time.latest());
      const datas: Hex[] = [];
      for (let i = 0; i < PER_POST; i++) datas.push(hex(buildBatch(state, [], { batchNumber: n++, timestamp: t }).publicData));
      await custodian.write.submitBatches([datas, datas.map(() => PROOF)], { account: operator.account, gas: 16_000_000n });
    }
    assert.equal(await custodian.read.batchCount(), POSTS * PER_POST);

    const vkey = {}; // mock-proven batches: every proof is reported invalid, the rebuild goes on
    const free = node(publicClient);
    const plain = await verifyChain({ publicClient: free.client, custodian: address, params: TEST_PARAMS, vkey });
    assert.equal(plain.finalRoot, plain.chainRoot);
    assert.equal(plain.batchesChecked, POSTS * PER_POST);
    assert.equal(free.counts.getTransaction, POSTS, "one fetch per posting transaction");

    // a node refusing an answer of more than 50 logs (public providers: 10,000): the 60 BatchSubmitted events of
    // the one default range are refused; its halves (at most 40 each, 20 per block) are served
    const capped = node(publicClient, 50);
    const report = await verifyChain({ publicClient: capped.client, custodian: address, params: TEST_PARAMS, vkey });
    assert.equal(report.finalRoot, report.chainRoot);
    assert.equal(report.batchesChecked, POSTS * PER_POST);
    assert.ok(capped.counts.refused > 0);
    assert.deepEqual(report.mismatches.filter((m) => m.check !== "proof"), plain.mismatches.filter((m) => m.check !== "proof"));
  });
});
