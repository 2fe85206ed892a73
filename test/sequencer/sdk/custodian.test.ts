/**
 * The SDK's on-chain steps against a custodian on Hardhat's in-process chain (mock proof verifier):
 * registering a wallet-derived trading key opens an account and queues the key request, a deposit is
 * approved, transferred and queued, and claiming with nothing credited is refused by the custodian. A deposit
 * below the token's minimum and a second key rotation before a batch processed the first are refused before
 * anything is sent. Forced withdrawals, exodus and refunds likewise.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { decodeFunctionData, erc20Abi, getAddress, hexToBytes, zeroAddress, type PublicClient, type WalletClient } from "viem";
import { fetchRequests } from "../../../sequencer/chain/requests.ts";
import { TxType } from "../../../sequencer/protocol/constants.ts";
import { custodianArgs } from "../../../sequencer/chain/custodianArgs.ts";
import { custodianAbi } from "../../../sequencer/chain/abi.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { deployCustodianContract, deployExitRoles } from "../../contracts/helpers.ts";
import {
  accountOf, activateExodus, claimWithdrawal, deposit, exodusStatus, forceWithdraw, forceWithdrawCollateral, keyRotationPending, minDeposit,
  refundDeposit, registerTradingKey, requestFeeWithdrawal, requestInsuranceWithdrawalCalldata, setTreasuryRecipientsCalldata,
} from "../../../sequencer/sdk/custodian.ts";
import { deriveTradingKey } from "../../../sequencer/sdk/tradingKey.ts";

const { viem, networkHelpers } = await network.create();

/** A custodian (mock verifier, quote minimum deposit 1,000 units) and a trader's wallet, fresh for each test. */
async function setup() {
  const publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
  const [admin, trader] = (await viem.getWalletClients()) as unknown as WalletClient[];
  const verifier = await viem.deployContract("MockVerifier");
  const usdc = await viem.deployContract("TestToken", ["USD Coin", "USDC", 6]);
  const exit = await deployExitRoles(viem, admin.account!.address);
  const custodian = { abi: custodianAbi, address: await deployCustodianContract(viem, custodianArgs(TEST_PARAMS, {
    verifier: verifier.address, genesisRoot: 0x1234n, quoteToken: usdc.address, quoteMinDeposit: 1_000n, admin: admin.account!.address, operator: admin.account!.address, ...exit,
  })) };
  const c = { publicClient, walletClient: trader };
  const chainId = await publicClient.getChainId();
  return { publicClient, admin, trader, usdc, custodian, c, chainId };
}

describe("sdk: custodian steps", () => {
  it("registers a derived trading key, deposits, and reports a refused claim", async () => {
    const { publicClient, trader, usdc, custodian, c, chainId } = await setup();

    const key = await deriveTradingKey(trader as never, chainId, custodian.address);
    assert.equal(await accountOf(publicClient, custodian.address, trader.account!.address), 0);
    const accountId = await registerTradingKey(c, custodian.address, key.publicKey);
    assert.equal(accountId, 1);

    await usdc.write.mint([trader.account!.address, 5_000n]);
    await deposit(c, custodian.address, usdc.address, 0, 3_000n);
    const held = await publicClient.readContract({ address: usdc.address, abi: erc20Abi, functionName: "balanceOf", args: [custodian.address] });
    assert.equal(held, 3_000n);

    const requests = await fetchRequests(publicClient, custodian.address, 0);
    const mine = requests.map((r) => r.tx).filter((tx) => tx.type === TxType.REGISTER_KEY || tx.type === TxType.DEPOSIT);
    assert.deepEqual(mine.map((tx) => tx.type), [TxType.REGISTER_KEY, TxType.DEPOSIT]);
    const reg = mine[0] as { accountId: number; pubKey: readonly [bigint, bigint] };
    assert.deepEqual([reg.accountId, [...reg.pubKey]], [1, [...key.publicKey]]);
    assert.deepEqual(mine[1], { type: TxType.DEPOSIT, accountId: 1, tokenId: 0, amount: 3_000n });

    await assert.rejects(claimWithdrawal(c, custodian.address, 0), /NothingToWithdraw|reverted/);
  });

  it("refuses, sending nothing, a deposit below the minimum and a key rotation while the previous one is queued", async () => {
    const { publicClient, trader, usdc, custodian, c, chainId } = await setup();
    const key = await deriveTradingKey(trader as never, chainId, custodian.address);
    const requestCount = () => publicClient.readContract({ address: custodian.address, abi: custodian.abi, functionName: "requestCount" });

    assert.equal(await minDeposit(publicClient, custodian.address, 0), 1_000n);
    const accountId = await registerTradingKey(c, custodian.address, key.publicKey);
    assert.equal(await keyRotationPending(publicClient, custodian.address, accountId), true);
    await assert.rejects(registerTradingKey(c, custodian.address, key.publicKey), /previous key registration is not processed yet/);

    await usdc.write.mint([trader.account!.address, 5_000n]);
    await assert.rejects(deposit(c, custodian.address, usdc.address, 0, 999n), /below token 0's minimum deposit 1000/);
    const allowance = await publicClient.readContract({ address: usdc.address, abi: erc20Abi, functionName: "allowance", args: [trader.account!.address, custodian.address] });
    assert.equal(allowance, 0n);
    assert.equal(await requestCount(), 1n);
    await deposit(c, custodian.address, usdc.address, 0, 1_000n);
    assert.equal(await requestCount(), 2n);
  });

  it("forced withdrawals, exodus and refunds: refused before anything is sent when they cannot work", async () => {
    const { publicClient, trader, usdc, custodian, c, chainId } = await setup();
    await assert.rejects(forceWithdraw(c, custodian.address, 0, 5n), /has no account/);
    const key = await deriveTradingKey(trader as never, chainId, custodian.address);
    await registerTradingKey(c, custodian.address, key.publicKey);
    await assert.rejects(forceWithdraw(c, custodian.address, 0, 0n), /positive amount/);
    await usdc.write.mint([trader.account!.address, 5_000n]);
    await deposit(c, custodian.address, usdc.address, 0, 2_000n);
    assert.equal(await forceWithdraw(c, custodian.address, 0, 5n), 2n);
    await assert.rejects(forceWithdrawCollateral(c, custodian.address, 5n), /ForcedRequestPending|reverted/);
    const status = await exodusStatus(publicClient, custodian.address);
    const queuedAt = await publicClient.readContract({ address: custodian.address, abi: custodian.abi, functionName: "queuedAt", args: [0n] }) as bigint;
    assert.deepEqual(status, { exodusMode: false, exodusAvailableAt: queuedAt + status.requestDeadline, requestDeadline: 3600n, openForcedRequests: 1, waitingForcedRequests: 0 });
    await assert.rejects(activateExodus(c, custodian.address), /not available yet/);
    await networkHelpers.time.increase(3600);
    await activateExodus(c, custodian.address);
    assert.equal((await exodusStatus(publicClient, custodian.address)).exodusMode, true);
    const before = await publicClient.readContract({ address: usdc.address, abi: erc20Abi, functionName: "balanceOf", args: [trader.account!.address] });
    await refundDeposit(c, custodian.address, 1n, { accountId: 1, tokenId: 0, amount: 2_000n });
    await claimWithdrawal(c, custodian.address, 0); // the refund is a withdrawable credit
    const after = await publicClient.readContract({ address: usdc.address, abi: erc20Abi, functionName: "balanceOf", args: [trader.account!.address] });
    assert.equal(after - before, 2_000n);
  });

  it("treasury: the operator queues fee withdrawals (their queue indexes returned), refused, sending nothing, for 0 or a non-operator, and cannot queue an insurance withdrawal; the timelock's calldata for the insurance withdrawal and the recipients", async () => {
    const { publicClient, admin, trader, custodian, c } = await setup();
    const operator = { publicClient, walletClient: admin };
    await assert.rejects(requestFeeWithdrawal(operator, custodian.address, 0n), /positive amount/);
    await assert.rejects(requestFeeWithdrawal(c, custodian.address, 5n), /is not an operator/);
    const requestCount = () => publicClient.readContract({ address: custodian.address, abi: custodianAbi, functionName: "requestCount" });
    assert.equal(await requestCount(), 0n);
    assert.equal(await requestFeeWithdrawal(operator, custodian.address, 30n), 0n);
    const queued = await publicClient.getContractEvents({ address: custodian.address, abi: custodianAbi, eventName: "RequestQueued", fromBlock: 0n, strict: true });
    assert.deepEqual(queued.map((l) => [l.args.index, hexToBytes(l.args.record)[0]]), [[0n, TxType.FEE_WITHDRAW]]);
    // The insurance fund's withdrawal: TIMELOCK_ROLE only, so the operator's direct call reverts and queues nothing;
    // the calldata the timelock schedules is requestInsuranceWithdrawal(amount).
    await assert.rejects(
      admin.writeContract({ address: custodian.address, abi: custodianAbi, functionName: "requestInsuranceWithdrawal", args: [20n], account: admin.account!, chain: admin.chain }),
      /AccessControlUnauthorizedAccount|reverted/,
    );
    assert.equal(await requestCount(), 1n);
    const insurance = decodeFunctionData({ abi: custodianAbi, data: requestInsuranceWithdrawalCalldata(20n) });
    assert.deepEqual([insurance.functionName, insurance.args], ["requestInsuranceWithdrawal", [20n]]);
    assert.throws(() => requestInsuranceWithdrawalCalldata(0n), /positive amount/);
    assert.throws(() => requestInsuranceWithdrawalCalldata(1n << 96n), /below 2\^96/, "the request's 96 bits");
    assert.equal(decodeFunctionData({ abi: custodianAbi, data: requestInsuranceWithdrawalCalldata((1n << 96n) - 1n) }).args?.[0], (1n << 96n) - 1n, "the largest that fits");
    // A second fee withdrawal while the first is open: the custodian refuses it.
    await assert.rejects(requestFeeWithdrawal(operator, custodian.address, 1n), /TreasuryRequestPending|reverted/);
    // The calldata the timelock schedules: setTreasuryRecipients(fee, insurance).
    const data = setTreasuryRecipientsCalldata(trader.account!.address, admin.account!.address);
    const decoded = decodeFunctionData({ abi: custodianAbi, data });
    assert.deepEqual([decoded.functionName, decoded.args], ["setTreasuryRecipients", [getAddress(trader.account!.address), getAddress(admin.account!.address)]]);
    assert.throws(() => setTreasuryRecipientsCalldata(zeroAddress, admin.account!.address), /non-zero/);
  });
});
