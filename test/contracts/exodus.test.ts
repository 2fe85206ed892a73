/**
 * Exodus on the custodian (issue 12): a hostile operator that keeps posting batches but skips a forced withdrawal
 * makes exodus available at the request's deadline (one second before: refused; at it: accepted), after which
 * batches, deposits, registrations and forced requests stop for good; unconsumed deposits are refunded to their
 * depositors once; each account exits once, by its owner, with a proof of exactly the amounts the exit public data
 * (sequencer/protocol/exitPublicData.ts) commits to; and exits never take more than the custodian holds beyond
 * what it already owes.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, parseEventLogs } from "viem";

import { TxType } from "../../sequencer/protocol/constants.ts";
import { exitPublicInputs, exitTokenCount, type ExitClaim } from "../../sequencer/protocol/exitPublicData.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import type { OracleSection } from "../../sequencer/protocol/publicData.ts";
import { PROOF, TEST_REQUEST_DEADLINE, compressKey, hex, pubKeyOf } from "./helpers.ts";
import { ALICE_USDC, ALICE_WETH, BOB_USDC, GENESIS_ROOT, ORACLE_KEY, USDC, exitFixtures } from "./exitFixture.ts";
import { testTokenAbi } from "./abis.ts";
import { EMPTY_SLICE } from "../../sequencer/protocol/volSlices.ts";

const connection = await network.create();
const { viem, networkHelpers } = connection;
const { deployFunded } = exitFixtures(connection);

type Env = Awaited<ReturnType<typeof deployFunded>>;
const TOKENS = exitTokenCount(TEST_PARAMS);
const MAX = 2n ** 256n - 1n;

/** Alice's forced withdrawal queued at a known time (request 5); returns that time. */
async function withForced() {
  const env = await deployFunded();
  const hash = await env.custodian.write.forceWithdraw([0, 100n * USDC], { account: env.alice.account });
  const receipt = await env.publicClient.waitForTransactionReceipt({ hash });
  const { timestamp } = await env.publicClient.getBlock({ blockNumber: receipt.blockNumber });
  return { ...env, forcedAt: timestamp };
}

/** An oracle batch (prices 3000 USDC), Carol's deposit to Alice queued and never consumed, then exodus. */
async function inExodus() {
  const env = await deployFunded();
  const { custodian, carol, admin } = env;
  await custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]], { account: admin.account });
  const oracle: OracleSection = {
    used: true, key: compressKey(ORACLE_KEY), time: await env.now(), fundingEpoch: 1n, prices: [3000n * 10n ** 8n], volSlices: [EMPTY_SLICE, EMPTY_SLICE], rates: [0n, 0n, 0n, 0n],
    settleExpiry: 0n, settlePrices: [0n], freeInstruments: 0b1111n,
  };
  await env.submit([], [], oracle);
  await custodian.write.depositTo([1, 0, 100n * USDC], { account: carol.account });
  await networkHelpers.time.increase(TEST_REQUEST_DEADLINE);
  await custodian.write.activateExodus();
  return { ...env, oracle };
}

/** The claim for `accountId` against the custodian's frozen root and last prices. */
async function claimOf(env: Env, accountId: number, amounts: bigint[]): Promise<ExitClaim> {
  return { root: await env.custodian.read.stateRoot(), accountId, prices: [...(await env.custodian.read.lastPrices())], amounts };
}

const amountsOf = (byToken: Record<number, bigint>): bigint[] => Array.from({ length: TOKENS }, (_, t) => byToken[t] ?? 0n);

describe("exodus", () => {
  it("exodusAvailableAt: never while the queue is empty; the oldest unconsumed request's time + deadline; moves when it is consumed", async () => {
    const env = await networkHelpers.loadFixture(withForced);
    const { custodian, bob } = env;
    assert.equal(await custodian.read.requestDeadline(), BigInt(TEST_REQUEST_DEADLINE));
    assert.equal(await custodian.read.exodusAvailableAt(), env.forcedAt + BigInt(TEST_REQUEST_DEADLINE));
    await networkHelpers.time.increase(100);
    await custodian.write.deposit([0, 5n * USDC], { account: bob.account });
    const second = await custodian.read.queuedAt([6n]);
    assert.ok(BigInt(second) > env.forcedAt);
    await env.submit([{ type: TxType.FORCED_WITHDRAW, accountId: 1n, tokenId: 0n, amount: 100n * USDC, honoured: 1n }]);
    assert.equal(await custodian.read.exodusAvailableAt(), BigInt(second) + BigInt(TEST_REQUEST_DEADLINE));
    await env.submit([{ type: TxType.DEPOSIT, accountId: 2n, tokenId: 0n, amount: 5n * USDC }]);
    assert.equal(await custodian.read.exodusAvailableAt(), MAX);
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.activateExodus(), custodian, "ExodusNotAvailable", [MAX]);
  });

  it("a hostile operator posting batches that skip a forced withdrawal: exodus refused at deadline - 1 s, accepted at the deadline", async () => {
    const env = await networkHelpers.loadFixture(withForced);
    const { custodian, dave } = env;
    const deadline = env.forcedAt + BigInt(TEST_REQUEST_DEADLINE);
    // The operator keeps going, consuming nothing: every batch is accepted, the forced request stays first.
    for (let i = 0; i < 3; i++) {
      await networkHelpers.time.increase(TEST_REQUEST_DEADLINE / 4);
      await env.submit([{ type: TxType.TRADE, buyAccountId: 1n, buyOrderId: 1n, sellAccountId: 2n, sellOrderId: 2n, marketId: 0n, lots: 1n, priceTicks: 1n, buyFeePpm: 0n, sellFeePpm: 0n }]);
    }
    assert.equal(await custodian.read.processedRequests(), 5n);
    // One second before the deadline: refused (the transaction is mined in that block, and reverts).
    await networkHelpers.time.setNextBlockTimestamp(deadline - 1n);
    await viem.assertions.revertWithCustomErrorWithArgs(
      custodian.write.activateExodus({ account: dave.account, gas: 200_000n }), custodian, "ExodusNotAvailable", [deadline]);
    assert.equal(BigInt(await networkHelpers.time.latest()), deadline - 1n);
    assert.equal(await custodian.read.exodusMode(), false);
    // At the deadline, by anyone: accepted.
    await networkHelpers.time.setNextBlockTimestamp(deadline);
    const root = await custodian.read.stateRoot();
    await viem.assertions.emitWithArgs(custodian.write.activateExodus({ account: dave.account }), custodian, "ExodusActivated", [root, 5n, deadline]);
    assert.equal(await custodian.read.exodusMode(), true);
    // Batches stop for good, even one consuming the overdue request; the root stays frozen.
    const late = await env.nextBatch([{ type: TxType.FORCED_WITHDRAW, accountId: 1n, tokenId: 0n, amount: 100n * USDC, honoured: 1n }]);
    await viem.assertions.revertWithCustomError(custodian.write.submitBatch([hex(late), PROOF], { account: env.operator.account }), custodian, "ExodusModeActive");
    assert.equal(await custodian.read.stateRoot(), root);
  });

  it("after exodus: deposits, registrations, forced requests, listings and a second activation revert with ExodusModeActive; withdraw still pays", async () => {
    const env = await networkHelpers.loadFixture(withForced);
    const { custodian, alice, bob, carol } = env;
    // A withdrawal credited before exodus.
    await env.submit([{ type: TxType.WITHDRAW, accountId: 2n, tokenId: 0n, amount: 50n * USDC }]);
    await networkHelpers.time.increase(TEST_REQUEST_DEADLINE);
    await custodian.write.activateExodus();
    const count = await custodian.read.requestCount();
    const key = pubKeyOf(31n);
    for (const call of [
      custodian.write.activateExodus(),
      custodian.write.deposit([0, 5n * USDC], { account: alice.account }),
      custodian.write.depositTo([1, 0, 5n * USDC], { account: carol.account }),
      custodian.write.registerTradingKey([key[0], key[1]], { account: carol.account }),
      custodian.write.registerTradingKey([key[0], key[1]], { account: bob.account }),
      custodian.write.forceWithdraw([0, 1n], { account: bob.account }),
      custodian.write.forceWithdrawCollateral([1n], { account: bob.account }),
      custodian.write.registerMarket([1, 1n, 1n]),
      custodian.write.registerInstrument([1, 0, 1_000n, 1_000_000n, 100_000, 50_000, 0n, 0, 1_000]),
      custodian.write.registerToken([env.usdc.address, 1n]),
    ]) {
      await viem.assertions.revertWithCustomError(call, custodian, "ExodusModeActive");
    }
    assert.equal(await custodian.read.requestCount(), count);
    const before = await env.usdc.read.balanceOf([bob.account.address]);
    await custodian.write.withdraw([0], { account: bob.account });
    assert.equal(await env.usdc.read.balanceOf([bob.account.address]), before + 50n * USDC);
  });

  it("stores the prices of the last batch that used the oracle (0 before any) for exits", async () => {
    const env = await networkHelpers.loadFixture(inExodus);
    assert.deepEqual(await env.custodian.read.lastPrices(), [3000n * 10n ** 8n]);
    const fresh = await deployFunded();
    assert.deepEqual(await fresh.custodian.read.lastPrices(), [0n]);
  });

  describe("refundDeposit", () => {
    it("credits an unconsumed deposit back to its depositor's withdrawable (anyone may call), once; the depositor pulls it, to any address", async () => {
      const env = await networkHelpers.loadFixture(inExodus);
      const { custodian, carol, dave, usdc } = env;
      const index = (await custodian.read.requestCount()) - 1n;
      assert.equal(await custodian.read.queuedBy([index]), getAddress(carol.account.address));
      const before = await usdc.read.balanceOf([carol.account.address]);
      const held = await usdc.read.balanceOf([custodian.address]);
      const owed = await custodian.read.owed([0]);
      await viem.assertions.emitWithArgs(
        custodian.write.refundDeposit([index, 1, 0, 100n * USDC], { account: dave.account }),
        custodian, "DepositRefunded", [index, 1, getAddress(carol.account.address), 0, 100n * USDC]);
      // Nothing moves yet: the queued deposit's claim became a withdrawable credit (still owed).
      assert.equal(await usdc.read.balanceOf([custodian.address]), held);
      assert.equal(await custodian.read.withdrawable([carol.account.address, 0]), 100n * USDC);
      assert.equal(await custodian.read.owed([0]), owed);
      // A depositor that cannot receive the token (a blacklisted address) takes it to another one.
      await custodian.write.withdrawTo([0, dave.account.address], { account: carol.account });
      assert.equal(await usdc.read.balanceOf([carol.account.address]), before);
      assert.equal(await custodian.read.withdrawable([carol.account.address, 0]), 0n);
      assert.equal(await custodian.read.owed([0]), owed - 100n * USDC);
      assert.equal(await usdc.read.balanceOf([custodian.address]), held - 100n * USDC);
      // Twice: refused.
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.refundDeposit([index, 1, 0, 100n * USDC]), custodian, "AlreadyRefunded", [index]);
    });

    it("refuses a wrong record, a consumed deposit, a request beyond the queue, a non-deposit request, and any refund before exodus", async () => {
      const env = await networkHelpers.loadFixture(inExodus);
      const { custodian, usdc } = env;
      const index = (await custodian.read.requestCount()) - 1n;
      const held = await usdc.read.balanceOf([custodian.address]);
      for (const [accountId, tokenId, amount] of [[2, 0, 100n * USDC], [1, 1, 100n * USDC], [1, 0, 100n * USDC + 1n], [1, 0, 1n]] as const) {
        await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.refundDeposit([index, accountId, tokenId, amount]), custodian, "RequestMismatch", [index]);
      }
      // Request 2 was Alice's USDC deposit, consumed by a batch: its funds are in the state, exits pay them.
      await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.refundDeposit([2n, 1, 0, ALICE_USDC]), custodian, "NotRefundable", [2n]);
      await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.refundDeposit([index + 1n, 1, 0, 1n]), custodian, "NotRefundable", [index + 1n]);
      assert.equal(await usdc.read.balanceOf([custodian.address]), held);

      const early = await networkHelpers.loadFixture(withForced);
      await early.custodian.write.deposit([0, 5n * USDC], { account: early.bob.account });
      await viem.assertions.revertWithCustomError(early.custodian.write.refundDeposit([6n, 2, 0, 5n * USDC]), early.custodian, "NotInExodus");
      await networkHelpers.time.increase(TEST_REQUEST_DEADLINE);
      await early.custodian.write.activateExodus();
      // The forced withdrawal at index 5 is a request, but not a deposit.
      await viem.assertions.revertWithCustomErrorWithArgs(early.custodian.write.refundDeposit([5n, 1, 0, 100n * USDC]), early.custodian, "RequestMismatch", [5n]);
      await early.custodian.write.refundDeposit([6n, 2, 0, 5n * USDC]);
    });
  });

  describe("exit", () => {
    it("credits the owner exactly the amounts proven against the frozen root and last prices; the public inputs are the TS exitPublicInputs", async () => {
      const env = await networkHelpers.loadFixture(inExodus);
      const { custodian, alice, exitVerifier, usdc, weth } = env;
      const amounts = amountsOf({ 0: ALICE_USDC, 1: ALICE_WETH });
      const claim = await claimOf(env, 1, amounts);
      assert.equal(claim.root, GENESIS_ROOT + 4n); // deployFunded's three batches and the oracle one, each root + 1
      // The mock says yes only for the inputs the TS encoder computes; in probe mode it shows what it received.
      await exitVerifier.write.setProbe([true]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.exit([1, amounts, PROOF], { account: alice.account }), exitVerifier, "BatchVerifierCalled",
        [[PROOF], exitPublicInputs(claim, TEST_PARAMS)]);
      await exitVerifier.write.setProbe([false]);
      await exitVerifier.write.expectInputs([exitPublicInputs(claim, TEST_PARAMS)]);
      const receipt = await env.publicClient.waitForTransactionReceipt({ hash: await custodian.write.exit([1, amounts, PROOF], { account: alice.account }) });
      const [ev] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "Exited" });
      assert.deepEqual(ev.args, { accountId: 1, owner: getAddress(alice.account.address), claimed: amounts, paid: amounts });
      assert.equal(await custodian.read.exited([1]), true);
      assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), ALICE_USDC);
      assert.equal(await custodian.read.withdrawable([alice.account.address, 1]), ALICE_WETH);
      const [u0, w0] = [await usdc.read.balanceOf([alice.account.address]), await weth.read.balanceOf([alice.account.address])];
      await custodian.write.withdraw([0], { account: alice.account });
      await custodian.write.withdrawTo([1, alice.account.address], { account: alice.account });
      assert.equal(await usdc.read.balanceOf([alice.account.address]), u0 + ALICE_USDC);
      assert.equal(await weth.read.balanceOf([alice.account.address]), w0 + ALICE_WETH);
    });

    it("refuses a double exit, an exit for another account or an unassigned one, a wrong amount vector, and any exit before exodus", async () => {
      const env = await networkHelpers.loadFixture(inExodus);
      const { custodian, alice, bob, carol, exitVerifier } = env;
      const amounts = amountsOf({ 0: ALICE_USDC, 1: ALICE_WETH });
      await exitVerifier.write.expectInputs([exitPublicInputs(await claimOf(env, 1, amounts), TEST_PARAMS)]);
      // Bob (or anyone) claiming Alice's account: refused, whatever the proof.
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.exit([1, amounts, PROOF], { account: bob.account }), custodian, "NotAccountOwner", [1, getAddress(bob.account.address)]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.exit([9, amounts, PROOF], { account: carol.account }), custodian, "NotAccountOwner", [9, getAddress(carol.account.address)]);
      // Alice's own account with other amounts (a bit more USDC, or Bob's USDC on top): the proof is for other public data.
      for (const wrong of [amountsOf({ 0: ALICE_USDC + 1n, 1: ALICE_WETH }), amountsOf({ 0: ALICE_USDC + BOB_USDC, 1: ALICE_WETH }), amountsOf({ 0: ALICE_USDC })]) {
        await viem.assertions.revertWithCustomError(custodian.write.exit([1, wrong, PROOF], { account: alice.account }), custodian, "InvalidProof");
      }
      // Bob proving his own account with Alice's amounts: the account id is in the public data.
      await viem.assertions.revertWithCustomError(custodian.write.exit([2, amounts, PROOF], { account: bob.account }), custodian, "InvalidProof");
      // Wrong length, or an amount that does not fit 16 bytes.
      await viem.assertions.revertWithCustomError(custodian.write.exit([1, amounts.slice(1), PROOF], { account: alice.account }), custodian, "BadExitAmounts");
      await viem.assertions.revertWithCustomError(custodian.write.exit([1, [...amounts, 0n], PROOF], { account: alice.account }), custodian, "BadExitAmounts");
      await viem.assertions.revertWithCustomError(custodian.write.exit([1, amountsOf({ 0: 2n ** 128n }), PROOF], { account: alice.account }), custodian, "BadExitAmounts");
      assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), 0n);
      // A verifier that refuses everything.
      await exitVerifier.write.setAnswer([false]);
      await viem.assertions.revertWithCustomError(custodian.write.exit([1, amounts, PROOF], { account: alice.account }), custodian, "InvalidProof");
      await exitVerifier.write.setAnswer([true]);
      await custodian.write.exit([1, amounts, PROOF], { account: alice.account });
      // Twice: refused, even with a valid proof.
      await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.exit([1, amounts, PROOF], { account: alice.account }), custodian, "AlreadyExited", [1]);
      assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), ALICE_USDC);

      const early = await networkHelpers.loadFixture(withForced);
      await viem.assertions.revertWithCustomError(early.custodian.write.exit([1, amounts, PROOF], { account: early.alice.account }), early.custodian, "NotInExodus");
    });

    it("a listed token whose balanceOf reverts or burns its gas pays nothing, and the exit's other tokens are paid (anyone can give an account a unit of any token); too little gas reverts (ExitGasTooLow)", async () => {
      const env = await deployFunded();
      const { custodian, admin, carol, alice, bob, exitVerifier } = env;
      const odd = await env.contract(testTokenAbi, "TestToken", ["Odd", "ODD", 18]);
      await custodian.write.registerToken([odd.address, 1n], { account: admin.account });
      await odd.write.mint([carol.account.address, 10n]);
      await odd.write.approve([custodian.address, 10n], { account: carol.account });
      await custodian.write.depositTo([1, 2, 1n], { account: carol.account });
      await custodian.write.depositTo([2, 2, 1n], { account: carol.account });
      await env.submit([{ type: TxType.DEPOSIT, accountId: 1n, tokenId: 2n, amount: 1n }, { type: TxType.DEPOSIT, accountId: 2n, tokenId: 2n, amount: 1n }]);
      await custodian.write.forceWithdraw([0, 1n], { account: alice.account });
      await networkHelpers.time.increase(TEST_REQUEST_DEADLINE);
      await custodian.write.activateExodus();

      const exit = async (w: typeof alice, accountId: number, amounts: bigint[], gas?: bigint) => {
        await exitVerifier.write.expectInputs([exitPublicInputs(await claimOf(env, accountId, amounts), TEST_PARAMS)]);
        return custodian.write.exit([accountId, amounts, PROOF], { account: w.account, gas });
      };
      const paidBy = async (hash: `0x${string}`) => {
        const receipt = await env.publicClient.waitForTransactionReceipt({ hash });
        return parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "Exited" })[0].args.paid;
      };
      // its balanceOf reverts (PUSH1 0 PUSH1 0 REVERT): Alice is paid her USDC and WETH, nothing of it
      await networkHelpers.setCode(odd.address, "0x60006000fd");
      const alices = amountsOf({ 0: ALICE_USDC, 1: ALICE_WETH, 2: 1n });
      assert.deepEqual(await paidBy(await exit(alice, 1, alices)), amountsOf({ 0: ALICE_USDC, 1: ALICE_WETH }));
      assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), ALICE_USDC);
      assert.equal(await custodian.read.withdrawable([alice.account.address, 1]), ALICE_WETH);
      // its balanceOf loops until its gas is gone (JUMPDEST PUSH1 0 JUMP): Bob is paid his USDC; with too little gas
      // for the guarded call his exit reverts instead of paying him nothing
      await networkHelpers.setCode(odd.address, "0x5b600056");
      const bobs = amountsOf({ 0: BOB_USDC, 2: 1n });
      await viem.assertions.revertWithCustomError(exit(bob, 2, bobs, 150_000n), custodian, "ExitGasTooLow");
      assert.equal(await custodian.read.exited([2]), false);
      assert.deepEqual(await paidBy(await exit(bob, 2, bobs)), amountsOf({ 0: BOB_USDC }));
      assert.equal(await custodian.read.withdrawable([bob.account.address, 0]), BOB_USDC);
    });

    it("exits are capped by what the custodian holds beyond what it owes: first come first served, refunds and credits stay covered", async () => {
      const env = await networkHelpers.loadFixture(inExodus);
      const { custodian, alice, bob, usdc } = env;
      // Holdings: 1000 (Alice) + 500 (Bob) consumed, 100 (Carol's deposit) unconsumed and owed.
      const held = await usdc.read.balanceOf([custodian.address]);
      assert.equal(held, ALICE_USDC + BOB_USDC + 100n * USDC);
      assert.equal(await custodian.read.owed([0]), 100n * USDC);
      // Alice's proof says she won 200 from Bob in derivatives: 1200 USDC. Bob, whose equity fell below zero and was
      // floored, still claims his 500 spot USDC: 1700 claimed against 1500 in the state.
      const aliceAmounts = amountsOf({ 0: ALICE_USDC + 200n * USDC, 1: ALICE_WETH, 3: 5n });
      const bobAmounts = amountsOf({ 0: BOB_USDC });
      await custodian.write.exit([1, aliceAmounts, PROOF], { account: alice.account });
      const receipt = await env.publicClient.waitForTransactionReceipt({ hash: await custodian.write.exit([2, bobAmounts, PROOF], { account: bob.account }) });
      const [ev] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "Exited" });
      assert.deepEqual(ev.args.claimed, bobAmounts);
      assert.deepEqual(ev.args.paid, amountsOf({ 0: 300n * USDC }));
      // Token 3 is not registered: claimed, paid 0.
      assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), ALICE_USDC + 200n * USDC);
      assert.equal(await custodian.read.owed([0]), held);
      // Everything owed can still leave: Carol's refund, Alice's and Bob's credits; the custodian ends empty.
      await custodian.write.refundDeposit([(await custodian.read.requestCount()) - 1n, 1, 0, 100n * USDC]);
      await custodian.write.withdraw([0], { account: env.carol.account });
      await custodian.write.withdraw([0], { account: alice.account });
      await custodian.write.withdraw([0], { account: bob.account });
      assert.equal(await usdc.read.balanceOf([custodian.address]), 0n);
      assert.equal(await custodian.read.owed([0]), 0n);
    });
  });
});
