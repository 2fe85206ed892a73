/**
 * A batch's public data lives only in the calldata of the transaction that posts it (BatchSubmitted carries its
 * SHA-256), and every exit needs the state rebuilt from it: the independent verifier (sequencer/verifier) reads each
 * batch from its transaction's input. Attack (review of 2026-12-06, Medium): an operator that posts through a contract
 * holding OPERATOR_ROLE, or from its own account delegated to forwarding code by EIP-7702, hides the data inside
 * internal calls, and no user's tooling can rebuild the state for an exit. The custodian refuses both
 * (BatchNotInCalldata): the sender must be the transaction's origin and have no code. The direct post is accepted.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { concat, createWalletClient, custom, encodeFunctionData, getAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

import { custodianAbi } from "../../sequencer/chain/abi.ts";
import { PROOF, hex } from "./helpers.ts";
import { exitFixtures } from "./exitFixture.ts";

const connection = await network.create();
const { viem, networkHelpers } = connection;
const { deployFunded, batches } = exitFixtures(connection);

/**
 * A forwarder: calldata = target (20 bytes) ++ payload; it CALLs the target with the payload and bubbles a revert.
 * PUSH1 20, CALLDATASIZE, SUB, DUP1, PUSH1 20, PUSH1 0, CALLDATACOPY, PUSH1 0, PUSH1 0, DUP3, PUSH1 0, PUSH1 0,
 * PUSH1 0, CALLDATALOAD, PUSH1 96, SHR, GAS, CALL, PUSH1 40, JUMPI, RETURNDATASIZE, PUSH1 0, PUSH1 0, RETURNDATACOPY,
 * RETURNDATASIZE, PUSH1 0, REVERT, JUMPDEST, STOP.
 */
const FORWARDER_RUNTIME = "6014360380601460003760006000826000600060003560601c5af16028573d600060003e3d6000fd5b00";
const FORWARDER_INIT = `0x602a600c600039602a6000f3${FORWARDER_RUNTIME}` as Hex;
/** Hardhat's second default account, the fixture's operator (its key is public: the default mnemonic's). */
const OPERATOR_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as const;

async function setup() {
  const env = await deployFunded();
  const b = batches(env);
  const deploy = await env.operator.sendTransaction({ data: FORWARDER_INIT });
  const { contractAddress } = await env.publicClient.waitForTransactionReceipt({ hash: deploy });
  const forwarder = getAddress(contractAddress!);
  assert.equal(await env.publicClient.getCode({ address: forwarder }), `0x${FORWARDER_RUNTIME}`);
  // the next batch, all no-ops
  const call = encodeFunctionData({ abi: custodianAbi, functionName: "submitBatch", args: [hex(await b.nextBatch([])), PROOF] });
  return { env, b, forwarder, call };
}

describe("a batch's public data must be in its transaction's calldata", () => {
  it("a contract holding OPERATOR_ROLE (granted through the timelock) cannot post a batch: BatchNotInCalldata, nothing changes", async () => {
    const { env, b, forwarder, call } = await setup();
    const grant = await b.timelocked("grantRole", [await env.custodian.read.OPERATOR_ROLE(), forwarder]);
    await networkHelpers.time.increase(grant.delay + 1n);
    await grant.execute();
    assert.equal(await env.custodian.read.hasRole([await env.custodian.read.OPERATOR_ROLE(), forwarder]), true);
    const before = await env.custodian.read.batchCount();
    await viem.assertions.revertWithCustomErrorWithArgs(
      env.operator.sendTransaction({ to: forwarder, data: concat([env.custodian.address, call]) }), env.custodian, "BatchNotInCalldata", [forwarder]);
    assert.equal(await env.custodian.read.batchCount(), before);
  });

  it("the operator's own account delegated to forwarding code (EIP-7702) cannot post a batch through it: BatchNotInCalldata; posted directly, the same batch is accepted", async () => {
    const { env, forwarder, call } = await setup();
    const operator = privateKeyToAccount(OPERATOR_KEY);
    assert.equal(operator.address, getAddress(env.operator.account.address), "the fixture's operator");
    const local = createWalletClient({ account: operator, chain: env.publicClient.chain, transport: custom(connection.provider) });
    const authorization = await local.signAuthorization({ contractAddress: forwarder, executor: "self" });
    const before = await env.custodian.read.batchCount();
    await viem.assertions.revertWithCustomErrorWithArgs(
      local.sendTransaction({ to: operator.address, data: concat([env.custodian.address, call]), authorizationList: [authorization] }),
      env.custodian, "BatchNotInCalldata", [operator.address]);
    assert.equal(await env.custodian.read.batchCount(), before);
    // Undelegated again (an authorization to the zero address), the operator posts the batch itself: accepted.
    const undo = await local.signAuthorization({ contractAddress: "0x0000000000000000000000000000000000000000", executor: "self" });
    await env.publicClient.waitForTransactionReceipt({ hash: await local.sendTransaction({ to: operator.address, authorizationList: [undo] }) });
    assert.equal(await env.publicClient.getCode({ address: operator.address }), undefined, "no code any more");
    await env.publicClient.waitForTransactionReceipt({ hash: await env.operator.sendTransaction({ to: env.custodian.address, data: call }) });
    assert.equal(await env.custodian.read.batchCount(), before + 1);
  });
});
