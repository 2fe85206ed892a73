/**
 * Exodus on the custodian (issue 12): a hostile operator that keeps posting batches but skips a forced withdrawal
 * makes exodus available at the request's deadline (one second before: refused; at it: accepted), after which
 * batches, deposits, registrations and forced requests stop for good; unconsumed deposits are refunded to their
 * depositors once; each account exits once, by its owner, with a proof of exactly the amounts the exit public data
 * (sequencer/protocol/exitPublicData.ts) commits to; exits never take more than the custodian holds beyond
 * what it already owes; spot amounts are paid in full whoever exits first, and derivatives claims only out of a pot
 * of the proven pooled quote (the review of 2026-12-05's scenario, on a state built by batches).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, parseEventLogs } from "viem";

import { buildBatch } from "../../sequencer/batch/batchWitness.ts";
import { exitClaim, exitValuation } from "../../sequencer/exit/exitRule.ts";
import { EXODUS_CLAIM_WINDOW, TxType } from "../../sequencer/protocol/constants.ts";
import { exitPublicInputs, exitTokenCount, type ExitClaim } from "../../sequencer/protocol/exitPublicData.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import type { OracleSection, SlotRecord } from "../../sequencer/protocol/publicData.ts";
import { aliceLongPerpetual, dave, GAP_UPDATE, NOW, registerDave, traders } from "../helpers/derivatives.ts";
import { PROOF, TEST_REQUEST_DEADLINE, compressKey, hex, pubKeyOf } from "./helpers.ts";
import { ALICE_USDC, ALICE_WETH, BOB_USDC, GENESIS_ROOT, ORACLE_KEY, USDC, exitFixtures } from "./exitFixture.ts";
import { testTokenAbi } from "./abis.ts";
import { EMPTY_SLICE } from "../../sequencer/protocol/volSlices.ts";

const connection = await network.create();
const { viem, networkHelpers } = connection;
const { deployFunded, deployBase, batches } = exitFixtures(connection);

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
    settleExpiry: 0n, settlePrices: [0n], marksKey: 0n, freeInstruments: 0b1111n,
  };
  await env.submit([], [], oracle);
  await custodian.write.depositTo([1, 0, 100n * USDC], { account: carol.account });
  await networkHelpers.time.increase(TEST_REQUEST_DEADLINE);
  await custodian.write.activateExodus();
  return { ...env, oracle };
}

/**
 * The claim for `accountId` against the custodian's frozen root and last prices: spot `amounts`, `derivativesClaim`
 * and the state's `pooledQuote` (0 unless said: inExodus's accounts hold no collateral).
 */
async function claimOf(env: Env, accountId: number, amounts: bigint[], derivativesClaim = 0n, pooledQuote = 0n): Promise<ExitClaim> {
  return { root: await env.custodian.read.stateRoot(), accountId, prices: [...(await env.custodian.read.lastPrices())], pooledQuote, derivativesClaim, amounts };
}

/** The custodian's exit call for `claim`: exit(accountId, amounts, pooledQuote, derivativesClaim, proof). */
const exitArgs = (claim: Pick<ExitClaim, "accountId" | "amounts" | "pooledQuote" | "derivativesClaim">) =>
  [claim.accountId, [...claim.amounts], claim.pooledQuote, claim.derivativesClaim, PROOF] as const;

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
        custodian.write.exit(exitArgs(claim), { account: alice.account }), exitVerifier, "BatchVerifierCalled",
        [[PROOF], exitPublicInputs(claim, TEST_PARAMS)]);
      await exitVerifier.write.setProbe([false]);
      await exitVerifier.write.expectInputs([exitPublicInputs(claim, TEST_PARAMS)]);
      const receipt = await env.publicClient.waitForTransactionReceipt({ hash: await custodian.write.exit(exitArgs(claim), { account: alice.account }) });
      const [ev] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "Exited" });
      assert.deepEqual(ev.args, { accountId: 1, owner: getAddress(alice.account.address), claimed: amounts, paid: amounts, derivativesClaimed: 0n, derivativesPaid: 0n });
      assert.equal(await custodian.read.exited([1]), true);
      assert.equal(await custodian.read.exodusDerivativesPaid(), 0n);
      assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), ALICE_USDC);
      assert.equal(await custodian.read.withdrawable([alice.account.address, 1]), ALICE_WETH);
      const [u0, w0] = [await usdc.read.balanceOf([alice.account.address]), await weth.read.balanceOf([alice.account.address])];
      await custodian.write.withdraw([0], { account: alice.account });
      await custodian.write.withdrawTo([1, alice.account.address], { account: alice.account });
      assert.equal(await usdc.read.balanceOf([alice.account.address]), u0 + ALICE_USDC);
      assert.equal(await weth.read.balanceOf([alice.account.address]), w0 + ALICE_WETH);
    });

    it("refuses a double exit, an exit for another account or an unassigned one, a claim the proof is not for (value moved between the spot amount and the derivatives claim, another pooled quote), a field wider than 16 bytes, and any exit before exodus", async () => {
      const env = await networkHelpers.loadFixture(inExodus);
      const { custodian, alice, bob, carol, exitVerifier } = env;
      // Alice's honest claim in a state whose pooled quote is 300 USDC: 1,000 USDC and 2 WETH spot, 200 USDC of equity.
      const amounts = amountsOf({ 0: ALICE_USDC - 300n * USDC, 1: ALICE_WETH });
      const claim = await claimOf(env, 1, amounts, 200n * USDC, 300n * USDC);
      await exitVerifier.write.expectInputs([exitPublicInputs(claim, TEST_PARAMS)]);
      // Bob (or anyone) claiming Alice's account: refused, whatever the proof.
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.exit(exitArgs(claim), { account: bob.account }), custodian, "NotAccountOwner", [1, getAddress(bob.account.address)]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.exit(exitArgs({ ...claim, accountId: 9 }), { account: carol.account }), custodian, "NotAccountOwner", [9, getAddress(carol.account.address)]);
      // Alice's own account with another claim: the proof is for other public data.
      const wrong: ExitClaim[] = [
        { ...claim, amounts: amountsOf({ 0: ALICE_USDC - 300n * USDC + 1n, 1: ALICE_WETH }) }, // a bit more USDC
        { ...claim, amounts: amountsOf({ 0: ALICE_USDC - 300n * USDC + BOB_USDC, 1: ALICE_WETH }) }, // Bob's USDC on top
        { ...claim, amounts: amountsOf({ 0: ALICE_USDC - 300n * USDC }) }, // no WETH
        // the equity moved into the spot amount, which is paid out of everything the custodian holds, not the pot
        { ...claim, amounts: amountsOf({ 0: ALICE_USDC - 100n * USDC, 1: ALICE_WETH }), derivativesClaim: 0n },
        // or the spot amount moved into the derivatives claim
        { ...claim, amounts: amountsOf({ 1: ALICE_WETH }), derivativesClaim: ALICE_USDC - 100n * USDC },
        { ...claim, derivativesClaim: claim.derivativesClaim + 1n }, // an inflated derivatives claim
        { ...claim, pooledQuote: claim.pooledQuote + 1_000n * USDC }, // a larger pot than the root's
      ];
      for (const w of wrong) {
        await viem.assertions.revertWithCustomError(custodian.write.exit(exitArgs(w), { account: alice.account }), custodian, "InvalidProof");
      }
      // Bob proving his own account with Alice's claim: the account id is in the public data.
      await viem.assertions.revertWithCustomError(custodian.write.exit(exitArgs({ ...claim, accountId: 2 }), { account: bob.account }), custodian, "InvalidProof");
      // Wrong length, or an amount, the pooled quote or the derivatives claim that does not fit 16 bytes.
      for (const bad of [
        { ...claim, amounts: amounts.slice(1) }, { ...claim, amounts: [...amounts, 0n] }, { ...claim, amounts: amountsOf({ 0: 2n ** 128n }) },
        { ...claim, pooledQuote: 2n ** 128n }, { ...claim, derivativesClaim: 2n ** 128n },
      ]) {
        await viem.assertions.revertWithCustomError(custodian.write.exit(exitArgs(bad), { account: alice.account }), custodian, "BadExitAmounts");
      }
      assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), 0n);
      // A verifier that refuses everything.
      await exitVerifier.write.setAnswer([false]);
      await viem.assertions.revertWithCustomError(custodian.write.exit(exitArgs(claim), { account: alice.account }), custodian, "InvalidProof");
      await exitVerifier.write.setAnswer([true]);
      await custodian.write.exit(exitArgs(claim), { account: alice.account });
      // Twice: refused, even with a valid proof.
      await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.exit(exitArgs(claim), { account: alice.account }), custodian, "AlreadyExited", [1]);
      // Her spot part is paid at once; her derivatives claim waits for the end of the claim window.
      assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), ALICE_USDC - 300n * USDC);
      assert.equal(await custodian.read.exodusDerivativesPaid(), 0n);
      assert.equal((await custodian.read.exodusClaim([1]))[3], 200n * USDC);

      const early = await networkHelpers.loadFixture(withForced);
      await viem.assertions.revertWithCustomError(early.custodian.write.exit(exitArgs(claim), { account: early.alice.account }), early.custodian, "NotInExodus");
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
        const claim = await claimOf(env, accountId, amounts);
        await exitVerifier.write.expectInputs([exitPublicInputs(claim, TEST_PARAMS)]);
        return custodian.write.exit(exitArgs(claim), { account: w.account, gas });
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

    it("spot amounts are paid in full whoever exits first; derivatives claims wait for the claim window's end, then share the pooled quote's pot pro rata; refunds and credits stay covered", async () => {
      const env = await networkHelpers.loadFixture(inExodus);
      const { custodian, alice, bob, usdc } = env;
      // Holdings: 1000 (Alice) + 500 (Bob) consumed, 100 (Carol's deposit) unconsumed and owed.
      const held = await usdc.read.balanceOf([custodian.address]);
      assert.equal(held, ALICE_USDC + BOB_USDC + 100n * USDC);
      assert.equal(await custodian.read.owed([0]), 100n * USDC);
      // The frozen state: Alice moved 300 USDC into collateral, Bob 300; the pooled quote is their 600 and the spot
      // balances 700 and 200 (1,500 in all, what the custodian holds for the state). At the last prices Alice won
      // 400 from Bob: her equity is 700, his -100, floored at 0. Under the old rule (one amount per token, spot plus
      // equity, first come first served) Alice's 1,400 left Bob 100 of his 200 spot USDC.
      const pooled = 600n * USDC;
      const alices = await claimOf(env, 1, amountsOf({ 0: 700n * USDC, 1: ALICE_WETH, 3: 5n }), 700n * USDC, pooled);
      const bobs = await claimOf(env, 2, amountsOf({ 0: 200n * USDC }), 0n, pooled);
      const exited = async (claim: ExitClaim, w: typeof alice) => {
        await env.exitVerifier.write.expectInputs([exitPublicInputs(claim, TEST_PARAMS)]);
        const receipt = await env.publicClient.waitForTransactionReceipt({ hash: await custodian.write.exit(exitArgs(claim), { account: w.account }) });
        const pending = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "DerivativesClaimPending" }).map((e) => e.args);
        return { ...parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "Exited" })[0].args, pending };
      };
      const a = await exited(alices, alice);
      // Alice: her spot in full at once (token 3 is not registered: paid 0); her derivatives claim recorded, not paid.
      assert.deepEqual(a.paid, amountsOf({ 0: 700n * USDC, 1: ALICE_WETH }));
      assert.deepEqual([a.derivativesClaimed, a.derivativesPaid], [700n * USDC, 0n]);
      assert.deepEqual(a.pending, [{ accountId: 1, amount: 700n * USDC }], "the exit says the claim waits (DerivativesClaimPending)");
      assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), 700n * USDC);
      const [windowEnd] = await custodian.read.exodusClaim([1]);
      assert.deepEqual(await custodian.read.exodusClaim([1]), [windowEnd, 700n * USDC, pooled, 700n * USDC]);
      assert.equal(windowEnd, (await custodian.read.exodusClaim([2]))[0]);
      // Bob, last: his spot USDC in full.
      const b = await exited(bobs, bob);
      assert.deepEqual(b.claimed, bobs.amounts);
      assert.deepEqual(b.paid, amountsOf({ 0: 200n * USDC }));
      assert.deepEqual([b.derivativesClaimed, b.derivativesPaid], [0n, 0n]);
      assert.deepEqual(b.pending, [], "a claim of 0 leaves nothing pending");
      // Claiming the derivatives part: refused while the window is open (one second before its end too), for an
      // account with nothing pending, and once paid.
      await networkHelpers.time.increaseTo(windowEnd - 2n);
      await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.claimDerivatives([1]), custodian, "ClaimWindowOpen", [windowEnd]);
      await networkHelpers.time.increaseTo(windowEnd);
      await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.claimDerivatives([2]), custodian, "NoPendingClaim", [2]);
      // At the window's end anyone may send it; Alice, the only claimant, takes the whole pot (600 of her 700): the
      // 100 Bob cannot pay is the loss.
      const receipt = await env.publicClient.waitForTransactionReceipt({ hash: await custodian.write.claimDerivatives([1], { account: bob.account }) });
      const [paidEv] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "DerivativesClaimPaid" });
      assert.deepEqual(paidEv.args, { accountId: 1, owner: getAddress(alice.account.address), claimed: 700n * USDC, paid: pooled });
      assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), 1_300n * USDC);
      assert.equal(await custodian.read.withdrawable([bob.account.address, 0]), 200n * USDC);
      assert.equal(await custodian.read.exodusDerivativesPaid(), pooled);
      await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.claimDerivatives([1]), custodian, "NoPendingClaim", [1]);
      assert.equal(await custodian.read.owed([0]), held);
      // Everything owed can still leave: Carol's refund, Alice's and Bob's credits; the custodian ends empty.
      await custodian.write.refundDeposit([(await custodian.read.requestCount()) - 1n, 1, 0, 100n * USDC]);
      await custodian.write.withdraw([0], { account: env.carol.account });
      await custodian.write.withdraw([0], { account: alice.account });
      await custodian.write.withdraw([0], { account: bob.account });
      assert.equal(await usdc.read.balanceOf([custodian.address]), 0n);
      assert.equal(await custodian.read.owed([0]), 0n);
    });

    it("the review's scenario (2026-12-05) on a state built by batches: an account under water beyond the fund and the pool, its counterparty exits first, then a spot-only user is paid in full; the derivatives claims of the window share the pooled quote pro rata, whoever exited first", async () => {
      // The rollup state, by the batch rules: alice long 15,000 perpetual lots from bob at 3,000 (50,000 USDC of
      // collateral each, and carol's 50,000), dave deposits 10,000 USDC and never trades, then the oracle's last
      // price gaps to 2,600 and nobody liquidates alice before the operator stops.
      const state = aliceLongPerpetual();
      registerDave(state);
      buildBatch(state, [{ type: TxType.DEPOSIT, accountId: dave.accountId, tokenId: 0, amount: 10_000n * USDC }], { batchNumber: 20, timestamp: NOW });
      buildBatch(state, [], { batchNumber: 21, timestamp: NOW, oracle: GAP_UPDATE() });
      const prices = [260_000_000_000n];
      const ids = [traders.alice.accountId, traders.bob.accountId, traders.carol.accountId, dave.accountId];
      const [aliceV, bobV, carolV, daveV] = ids.map((id) => exitValuation(state, id, prices));
      const { pooledQuote, insuranceFund } = state.globals;
      assert.ok(-aliceV.equity > insuranceFund + state.feePool, "alice's negative equity exceeds the fund and the pool");
      assert.equal(daveV.derivativesClaim, 0n);
      const spotQuote = ids.reduce((sum, id) => sum + state.balance(id, 0), 0n);
      assert.equal(spotQuote, 10_000n * USDC, "dave's is the only spot quote");
      const derivClaims = bobV.derivativesClaim + carolV.derivativesClaim;
      assert.ok(derivClaims > pooledQuote, "the derivatives claims exceed the pooled quote");

      // The custodian holding exactly that state's quote: the same four accounts and deposits, consumed by batches,
      // the oracle batch's price, then a forced request nobody serves, and exodus.
      const env = await deployBase();
      const { custodian, usdc, admin } = env;
      const wallets = [env.alice, env.bob, env.carol, env.dave];
      for (const [i, w] of wallets.entries()) {
        const key = pubKeyOf(1_000n + BigInt(i));
        await custodian.write.registerTradingKey([key[0], key[1]], { account: w.account });
        assert.equal(await custodian.read.accountOf([w.account.address]), ids[i]);
      }
      const deposits = [50_000n * USDC, 50_000n * USDC, 50_000n * USDC, 10_000n * USDC];
      for (const [i, w] of wallets.entries()) await custodian.write.deposit([0, deposits[i]], { account: w.account });
      const { submit, now } = batches(env);
      const records: SlotRecord[] = [
        ...ids.map((id, i): SlotRecord => ({ type: TxType.REGISTER_KEY, accountId: BigInt(id), pubKey: compressKey(pubKeyOf(1_000n + BigInt(i))) })),
        ...ids.map((id, i): SlotRecord => ({ type: TxType.DEPOSIT, accountId: BigInt(id), tokenId: 0n, amount: deposits[i] })),
      ];
      for (let i = 0; i < records.length; i += TEST_PARAMS.slots) await submit(records.slice(i, i + TEST_PARAMS.slots));
      await custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]], { account: admin.account });
      await submit([], [], {
        used: true, key: compressKey(ORACLE_KEY), time: await now(), fundingEpoch: 1n, prices, volSlices: [EMPTY_SLICE, EMPTY_SLICE], rates: [0n, 0n, 0n, 0n],
        settleExpiry: 0n, settlePrices: [0n], marksKey: 0n, freeInstruments: 0b1111n,
      });
      await custodian.write.forceWithdraw([0, 1n], { account: env.dave.account });
      await networkHelpers.time.increase(TEST_REQUEST_DEADLINE);
      await custodian.write.activateExodus();
      const held = await usdc.read.balanceOf([custodian.address]);
      assert.equal(await custodian.read.owed([0]), 0n);
      assert.equal(held, spotQuote + pooledQuote, "the custodian holds the spot balances and the pooled quote");
      // Under the old rule (amount[0] = spot + max(0, equity), first come first served) bob and carol, exiting first,
      // would have left dave 45 USDC of his 10,000.
      assert.equal(held - derivClaims, 45n * USDC);

      const root = await custodian.read.stateRoot();
      const exit = async (i: number) => {
        const claim = { ...exitClaim(state, ids[i], prices), root };
        await env.exitVerifier.write.expectInputs([exitPublicInputs(claim, TEST_PARAMS)]);
        const hash = await custodian.write.exit(exitArgs(claim), { account: wallets[i].account });
        const [ev] = parseEventLogs({ abi: custodian.abi, logs: (await env.publicClient.waitForTransactionReceipt({ hash })).logs, eventName: "Exited" });
        assert.ok((await custodian.read.exodusDerivativesPaid()) <= pooledQuote);
        return ev.args;
      };
      // bob, alice's counterparty, first, then carol: both claims recorded within the window, nothing paid yet (under
      // first come, first served bob took his whole gain and carol was short by what he took beyond his share)
      const b = await exit(1);
      assert.deepEqual([b.derivativesClaimed, b.derivativesPaid], [bobV.derivativesClaim, 0n]);
      const c = await exit(2);
      assert.deepEqual([c.derivativesClaimed, c.derivativesPaid], [carolV.derivativesClaim, 0n]);
      // alice, under water: nothing to claim
      const a = await exit(0);
      assert.deepEqual([a.paid, a.derivativesPaid], [amountsOf({}), 0n]);
      // dave, who never traded derivatives, last: his 10,000 USDC in full, at once
      const d = await exit(3);
      assert.deepEqual(d.paid, amountsOf({ 0: 10_000n * USDC }));
      assert.equal(d.derivativesPaid, 0n);
      assert.equal(await custodian.read.exodusDerivativesPaid(), 0n);
      // At the window's end each claim is paid the same share of the pot, whatever the order of the exits: carol
      // first here, bob after.
      const [windowEnd, windowClaims, pot] = await custodian.read.exodusClaim([0]);
      assert.deepEqual([windowClaims, pot], [derivClaims, pooledQuote]);
      await networkHelpers.time.increaseTo(windowEnd);
      const share = (claim: bigint) => (claim * pooledQuote) / derivClaims;
      for (const i of [2, 1]) {
        const hash = await custodian.write.claimDerivatives([ids[i]]);
        const [ev] = parseEventLogs({ abi: custodian.abi, logs: (await env.publicClient.waitForTransactionReceipt({ hash })).logs, eventName: "DerivativesClaimPaid" });
        const claim = [bobV, carolV][i - 1].derivativesClaim;
        assert.deepEqual([ev.args.claimed, ev.args.paid], [claim, share(claim)]);
        assert.ok(share(claim) < claim, "the shortfall is shared");
      }
      // Short of the pot by rounding only (at most a unit per claim); everything credited is owed out, and the
      // custodian still holds the rest.
      const paid = await custodian.read.exodusDerivativesPaid();
      assert.ok(paid <= pooledQuote && pooledQuote - paid <= 2n, `${paid} of ${pooledQuote}`);
      assert.equal(await custodian.read.owed([0]), spotQuote + paid);
      for (const w of wallets.slice(1)) await custodian.write.withdraw([0], { account: w.account });
      assert.equal(await usdc.read.balanceOf([custodian.address]), held - paid - spotQuote);
    });

    it("an exit after the claim window is paid at once out of what the window's claims left of the pot, and nothing once they took it all", async () => {
      const env = await networkHelpers.loadFixture(inExodus);
      const { custodian, alice, bob } = env;
      // A frozen state whose pooled quote is 600 USDC; Alice claims 250 of it within the window, Bob 500 after it.
      const pooled = 600n * USDC;
      const alices = await claimOf(env, 1, amountsOf({ 0: 700n * USDC }), 250n * USDC, pooled);
      const bobs = await claimOf(env, 2, amountsOf({ 0: 200n * USDC }), 500n * USDC, pooled);
      const exited = async (claim: ExitClaim, w: typeof alice) => {
        await env.exitVerifier.write.expectInputs([exitPublicInputs(claim, TEST_PARAMS)]);
        const receipt = await env.publicClient.waitForTransactionReceipt({ hash: await custodian.write.exit(exitArgs(claim), { account: w.account }) });
        return parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "Exited" })[0].args;
      };
      assert.equal((await exited(alices, alice)).derivativesPaid, 0n);
      const [windowEnd] = await custodian.read.exodusClaim([1]);
      await networkHelpers.time.increaseTo(windowEnd);
      // Bob, late: the 350 the window's 250 left, paid with his spot part, nothing recorded
      const b = await exited(bobs, bob);
      assert.deepEqual([b.paid[0], b.derivativesClaimed, b.derivativesPaid], [200n * USDC, 500n * USDC, 350n * USDC]);
      assert.equal(await custodian.read.withdrawable([bob.account.address, 0]), 550n * USDC);
      assert.deepEqual(await custodian.read.exodusClaim([2]), [windowEnd, 250n * USDC, pooled, 0n]);
      await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.claimDerivatives([2]), custodian, "NoPendingClaim", [2]);
      // Alice's window claim is still paid in full: the late exit took only what the window left.
      await custodian.write.claimDerivatives([1]);
      assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), 950n * USDC);
      assert.equal(await custodian.read.exodusDerivativesPaid(), pooled);

      // When the window's claims take the whole pot, a late exit gets its spot part and nothing of its claim.
      const full = await networkHelpers.loadFixture(inExodus);
      const claimA = await claimOf(full, 1, amountsOf({ 0: 700n * USDC }), 800n * USDC, pooled);
      await full.exitVerifier.write.expectInputs([exitPublicInputs(claimA, TEST_PARAMS)]);
      await full.custodian.write.exit(exitArgs(claimA), { account: full.alice.account });
      await networkHelpers.time.increaseTo((await full.custodian.read.exodusClaim([1]))[0]);
      const claimB = await claimOf(full, 2, amountsOf({ 0: 200n * USDC }), 500n * USDC, pooled);
      await full.exitVerifier.write.expectInputs([exitPublicInputs(claimB, TEST_PARAMS)]);
      await full.custodian.write.exit(exitArgs(claimB), { account: full.bob.account });
      assert.equal(await full.custodian.read.withdrawable([full.bob.account.address, 0]), 200n * USDC);
      await full.custodian.write.claimDerivatives([1]);
      assert.equal(await full.custodian.read.withdrawable([full.alice.account.address, 0]), 700n * USDC + pooled);
      assert.equal(await full.custodian.read.exodusDerivativesPaid(), pooled);
    });

    it("a derivatives claim is never paid in part: while token 0 reads short (its balanceOf reverts) anyone's claimDerivatives reverts ClaimNotCovered and the claim stays pending; once it answers, the claim is paid in full", async () => {
      const env = await networkHelpers.loadFixture(inExodus);
      const { custodian, alice, dave, usdc } = env;
      const pooled = 600n * USDC;
      const claim = await claimOf(env, 1, amountsOf({ 0: 700n * USDC }), 300n * USDC, pooled);
      await env.exitVerifier.write.expectInputs([exitPublicInputs(claim, TEST_PARAMS)]);
      await custodian.write.exit(exitArgs(claim), { account: alice.account });
      await networkHelpers.time.increaseTo((await custodian.read.exodusClaim([1]))[0]);
      const code = await env.publicClient.getCode({ address: usdc.address });
      await networkHelpers.setCode(usdc.address, "0x60006000fd"); // balanceOf (and everything) reverts: reads as holding 0
      await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.claimDerivatives([1], { account: dave.account }), custodian, "ClaimNotCovered", [300n * USDC, 0n]);
      await networkHelpers.setCode(usdc.address, code!);
      assert.equal((await custodian.read.exodusClaim([1]))[3], 300n * USDC, "still pending");
      assert.equal(await custodian.read.exodusDerivativesPaid(), 0n);
      await custodian.write.claimDerivatives([1], { account: dave.account });
      assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), 1_000n * USDC);
    });

    it("claimDerivatives before exodus: NotInExodus; the window opens when exodus does", async () => {
      const early = await networkHelpers.loadFixture(withForced);
      await viem.assertions.revertWithCustomError(early.custodian.write.claimDerivatives([1]), early.custodian, "NotInExodus");
      assert.deepEqual(await early.custodian.read.exodusClaim([1]), [0n, 0n, 0n, 0n]);
      await networkHelpers.time.increase(TEST_REQUEST_DEADLINE);
      const hash = await early.custodian.write.activateExodus();
      const { blockNumber } = await early.publicClient.waitForTransactionReceipt({ hash });
      const { timestamp } = await early.publicClient.getBlock({ blockNumber });
      assert.equal((await early.custodian.read.exodusClaim([1]))[0], timestamp + BigInt(EXODUS_CLAIM_WINDOW));
    });
  });
});
