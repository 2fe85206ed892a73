/**
 * Exit remainders (review of 2026-12-06, "Known limits of exits"): an exit pays each token what the custodian holds
 * free of it, `min(amount, balanceOf(this) - owed)`, and marks the account exited. A token whose `balanceOf` fails at
 * that moment (paused or broken: read as 0), or of which the custodian momentarily holds less, used to pay less, and
 * the rest was lost for good (AlreadyExited). Now the unpaid part is recorded per (account, token)
 * (ExitRemainderRecorded) and `claimExitRemainder` pays it later, in full or not at all (ClaimNotCovered, the
 * remainder stays pending), so a stranger cannot cut it while the token misbehaves; a remainder is not in `owed`
 * until paid, and each payment checks `balanceOf - owed` then, so remainders are never credited beyond what the
 * custodian holds.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, parseEventLogs, type PublicClient, type WalletClient } from "viem";

import { claimExitRemainder, exit as sdkExit } from "../../sequencer/sdk/custodian.ts";
import { TxType } from "../../sequencer/protocol/constants.ts";
import { exitPublicInputs, exitTokenCount, type ExitClaim } from "../../sequencer/protocol/exitPublicData.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { PROOF, TEST_REQUEST_DEADLINE } from "./helpers.ts";
import { ALICE_USDC, ALICE_WETH, BOB_USDC, REVERTS, USDC, answers, exitFixtures } from "./exitFixture.ts";
import { testTokenAbi } from "./abis.ts";

const connection = await network.create();
const { viem, networkHelpers } = connection;
const { deployFunded } = exitFixtures(connection);

const TOKENS = exitTokenCount(TEST_PARAMS);
const ODD = 2; // the token id of the token that misbehaves
const ALICE_ODD = 5n;
const BOB_ODD = 7n;

const amountsOf = (byToken: Record<number, bigint>): bigint[] => Array.from({ length: TOKENS }, (_, t) => byToken[t] ?? 0n);

/** Alice and Bob hold USDC (Alice WETH too) and 5 and 7 of a third token, Odd; a forced withdrawal went overdue: exodus. */
async function oddInExodus() {
  const env = await deployFunded();
  const { custodian, admin, carol, alice } = env;
  const odd = await env.contract(testTokenAbi, "TestToken", ["Odd", "ODD", 18]);
  await custodian.write.registerToken([odd.address, 1n], { account: admin.account });
  await odd.write.mint([carol.account.address, 100n]);
  await odd.write.approve([custodian.address, 100n], { account: carol.account });
  await custodian.write.depositTo([1, ODD, ALICE_ODD], { account: carol.account });
  await custodian.write.depositTo([2, ODD, BOB_ODD], { account: carol.account });
  await env.submit([
    { type: TxType.DEPOSIT, accountId: 1n, tokenId: BigInt(ODD), amount: ALICE_ODD },
    { type: TxType.DEPOSIT, accountId: 2n, tokenId: BigInt(ODD), amount: BOB_ODD },
  ]);
  await custodian.write.forceWithdraw([0, 1n], { account: alice.account });
  await networkHelpers.time.increase(TEST_REQUEST_DEADLINE);
  await custodian.write.activateExodus();
  const code = (await env.publicClient.getCode({ address: odd.address }))!;
  return { ...env, odd, code };
}

describe("exit remainders", () => {
  it("a trader exiting while its token's balanceOf reverts is paid 0 of it, the rest recorded; a claim while still broken reverts (ClaimNotCovered) and stays pending; after the token recovers anyone's claim pays it in full to the owner, once; custody is kept throughout", async () => {
    const env = await networkHelpers.loadFixture(oddInExodus);
    const { custodian, exitVerifier, alice, dave, odd, usdc, weth } = env;
    const tokens = [usdc, weth, odd];
    /** The custody invariant: of every registered token, what all accounts may withdraw (owed) is held. */
    const custodyKept = async () => {
      for (const [t, token] of tokens.entries()) {
        assert.ok(await custodian.read.owed([t]) <= await token.read.balanceOf([custodian.address]), `token ${t}: owed beyond holdings`);
      }
    };
    const exit = async (w: typeof alice, accountId: number, amounts: bigint[]) => {
      const claim: ExitClaim = {
        root: await custodian.read.stateRoot(), accountId, prices: [...(await custodian.read.lastPrices())], pooledQuote: 0n, derivativesClaim: 0n, amounts,
      };
      await exitVerifier.write.expectInputs([exitPublicInputs(claim, TEST_PARAMS)]);
      const hash = await custodian.write.exit([accountId, amounts, 0n, 0n, PROOF], { account: w.account });
      return (await env.publicClient.waitForTransactionReceipt({ hash })).logs;
    };

    // the token breaks; Alice exits: her USDC and WETH are paid, nothing of Odd, and its 5 are recorded, not credited
    await networkHelpers.setCode(odd.address, REVERTS);
    const logs = await exit(alice, 1, amountsOf({ 0: ALICE_USDC, 1: ALICE_WETH, [ODD]: ALICE_ODD }));
    const [exited] = parseEventLogs({ abi: custodian.abi, logs, eventName: "Exited" });
    assert.deepEqual(exited.args.paid, amountsOf({ 0: ALICE_USDC, 1: ALICE_WETH }));
    const recorded = parseEventLogs({ abi: custodian.abi, logs, eventName: "ExitRemainderRecorded" });
    assert.deepEqual(recorded.map((e) => e.args), [{ accountId: 1, tokenId: ODD, amount: ALICE_ODD }], "the unpaid part is recorded");
    assert.equal(await custodian.read.withdrawable([alice.account.address, ODD]), 0n);
    assert.equal(await custodian.read.owed([ODD]), 0n, "a remainder is not owed until paid");

    // still broken: a stranger's claim reverts and pays nothing; the remainder stays pending
    await viem.assertions.revertWithCustomErrorWithArgs(
      custodian.write.claimExitRemainder([1, ODD], { account: dave.account }), custodian, "ClaimNotCovered", [ALICE_ODD, 0n]);
    await networkHelpers.setCode(odd.address, answers(3n)); // answers, but shows less than the remainder: never paid in part
    await viem.assertions.revertWithCustomErrorWithArgs(
      custodian.write.claimExitRemainder([1, ODD], { account: dave.account }), custodian, "ClaimNotCovered", [ALICE_ODD, 3n]);
    assert.equal(await custodian.read.withdrawable([alice.account.address, ODD]), 0n);

    // the token recovers: anyone's claim credits the owner the remainder in full, and Alice withdraws it
    await networkHelpers.setCode(odd.address, env.code);
    await custodyKept();
    const hash = await custodian.write.claimExitRemainder([1, ODD], { account: dave.account });
    const paid = parseEventLogs({ abi: custodian.abi, logs: (await env.publicClient.waitForTransactionReceipt({ hash })).logs, eventName: "ExitRemainderPaid" });
    assert.deepEqual(paid.map((e) => e.args), [{ accountId: 1, owner: getAddress(alice.account.address), tokenId: ODD, amount: ALICE_ODD }]);
    assert.equal(await custodian.read.withdrawable([alice.account.address, ODD]), ALICE_ODD);
    assert.equal(await custodian.read.withdrawable([dave.account.address, ODD]), 0n);
    assert.equal(await custodian.read.owed([ODD]), ALICE_ODD);
    await custodyKept();

    // a second claim is refused, by anyone; so is a claim of a token the exit paid in full, or an unregistered id
    for (const w of [dave, alice]) {
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.claimExitRemainder([1, ODD], { account: w.account }), custodian, "NoExitRemainder", [1, ODD]);
    }
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.claimExitRemainder([1, 0]), custodian, "NoExitRemainder", [1, 0]);
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.claimExitRemainder([1, 200]), custodian, "NoExitRemainder", [1, 200]);
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.claimExitRemainder([2, ODD]), custodian, "NoExitRemainder", [2, ODD]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      custodian.write.exit([1, amountsOf({ [ODD]: ALICE_ODD }), 0n, 0n, PROOF], { account: alice.account }), custodian, "AlreadyExited", [1]);

    const before = await odd.read.balanceOf([alice.account.address]);
    await custodian.write.withdraw([ODD], { account: alice.account });
    assert.equal(await odd.read.balanceOf([alice.account.address]), before + ALICE_ODD);
    await custodyKept();
  });

  it("two pending remainders of one token are never both paid beyond what the custodian holds: each payment checks balanceOf - owed then; the one not covered waits until the token is there", async () => {
    const env = await networkHelpers.loadFixture(oddInExodus);
    const { custodian, exitVerifier, alice, bob, carol, dave, odd } = env;
    // through the SDK (sequencer/sdk/custodian.ts): exit reports the remainders, claimExitRemainder pays one
    const clients = (w: WalletClient) => ({ publicClient: env.publicClient as unknown as PublicClient, walletClient: w });
    const exit = async (w: typeof alice, accountId: number, amounts: bigint[]) => {
      const claim: ExitClaim = {
        root: await custodian.read.stateRoot(), accountId, prices: [...(await custodian.read.lastPrices())], pooledQuote: 0n, derivativesClaim: 0n, amounts,
      };
      await exitVerifier.write.expectInputs([exitPublicInputs(claim, TEST_PARAMS)]);
      return sdkExit(clients(w), custodian.address, claim, PROOF);
    };
    await networkHelpers.setCode(odd.address, REVERTS);
    assert.deepEqual((await exit(alice, 1, amountsOf({ 0: ALICE_USDC, 1: ALICE_WETH, [ODD]: ALICE_ODD }))).remainders, amountsOf({ [ODD]: ALICE_ODD }));
    assert.deepEqual((await exit(bob, 2, amountsOf({ 0: BOB_USDC, [ODD]: BOB_ODD }))).remainders, amountsOf({ [ODD]: BOB_ODD }));
    // the custodian answers for 9 of the 12 the state holds (a token that lost some of them): Alice's 5 are paid,
    // Bob's 7 exceed the 4 left free and wait; owed never exceeds the 9
    await networkHelpers.setCode(odd.address, answers(9n));
    await custodian.write.claimExitRemainder([1, ODD], { account: dave.account });
    await viem.assertions.revertWithCustomErrorWithArgs(
      custodian.write.claimExitRemainder([2, ODD], { account: dave.account }), custodian, "ClaimNotCovered", [BOB_ODD, 4n]);
    assert.equal(await custodian.read.owed([ODD]), ALICE_ODD);
    assert.equal(await custodian.read.withdrawable([bob.account.address, ODD]), 0n);
    // the token answers its real balance again (12): Bob's 7 are paid in full; owed is exactly what it holds
    await networkHelpers.setCode(odd.address, env.code);
    assert.equal((await claimExitRemainder(clients(carol), custodian.address, 2, ODD)).amount, BOB_ODD);
    assert.equal(await custodian.read.withdrawable([bob.account.address, ODD]), BOB_ODD);
    assert.equal(await custodian.read.owed([ODD]), ALICE_ODD + BOB_ODD);
    assert.equal(await odd.read.balanceOf([custodian.address]), ALICE_ODD + BOB_ODD);
  });

  it("after the claim window, the part of a late exit's derivatives claim that token 0 could not pay (its balanceOf read short) waits as the account's pending claim, reserved out of the pot: a later exit cannot take it, claimDerivatives pays it in full once covered (ClaimNotCovered before, nothing paid), once; custody is kept throughout", async () => {
    const env = await networkHelpers.loadFixture(oddInExodus);
    const { custodian, exitVerifier, alice, bob, dave, usdc } = env;
    const POT = 600n * USDC; // the frozen state's pooled quote; no claim was recorded within the window
    const custodyKept = async () => assert.ok(await custodian.read.owed([0]) <= await usdc.read.balanceOf([custodian.address]), "token 0: owed beyond holdings");
    const exit = async (w: typeof alice, accountId: number, amounts: bigint[], derivativesClaim: bigint) => {
      const claim: ExitClaim = {
        root: await custodian.read.stateRoot(), accountId, prices: [...(await custodian.read.lastPrices())], pooledQuote: POT, derivativesClaim, amounts,
      };
      await exitVerifier.write.expectInputs([exitPublicInputs(claim, TEST_PARAMS)]);
      const hash = await custodian.write.exit([accountId, amounts, POT, derivativesClaim, PROOF], { account: w.account });
      const logs = (await env.publicClient.waitForTransactionReceipt({ hash })).logs;
      const pending = parseEventLogs({ abi: custodian.abi, logs, eventName: "DerivativesClaimPending" }).map((e) => e.args);
      return { ...parseEventLogs({ abi: custodian.abi, logs, eventName: "Exited" })[0].args, pending };
    };
    const [windowEnd] = await custodian.read.exodusClaim([1]);
    await networkHelpers.time.increaseTo(windowEnd);

    // token 0 answers 100 USDC for the custodian: Alice's 50 of spot are paid, then 50 of the 300 her claim is due;
    // the other 250 wait as her pending claim (not credited, not owed)
    const usdcCode = env.publicClient.getCode({ address: usdc.address });
    await networkHelpers.setCode(usdc.address, answers(100n * USDC));
    const a = await exit(alice, 1, amountsOf({ 0: 50n * USDC }), 300n * USDC);
    assert.deepEqual([a.paid[0], a.derivativesClaimed, a.derivativesPaid], [50n * USDC, 300n * USDC, 50n * USDC]);
    assert.deepEqual(await custodian.read.exodusClaim([1]), [windowEnd, 0n, POT, 250n * USDC], "the unpaid 250 pending for Alice");
    assert.deepEqual(a.pending, [{ accountId: 1, amount: 250n * USDC }], "and the exit says so (DerivativesClaimPending)");
    assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), 100n * USDC);
    assert.equal(await custodian.read.owed([0]), 100n * USDC, "the pending part is not owed until paid");
    assert.equal(await custodian.read.exodusDerivativesPaid(), 50n * USDC, "only what was credited");
    // still short: a stranger's claim reverts and pays nothing
    await viem.assertions.revertWithCustomErrorWithArgs(
      custodian.write.claimDerivatives([1], { account: dave.account }), custodian, "ClaimNotCovered", [250n * USDC, 0n]);

    // the token answers again; Bob exits late claiming 500: the pot's 600 less Alice's whole 300 leaves him 300 (he
    // would take Alice's 250 too if only what was credited had left the pot)
    await networkHelpers.setCode(usdc.address, (await usdcCode)!);
    await custodyKept();
    const b = await exit(bob, 2, amountsOf({}), 500n * USDC);
    assert.deepEqual([b.derivativesClaimed, b.derivativesPaid], [500n * USDC, 300n * USDC]);
    assert.deepEqual(await custodian.read.exodusClaim([2]), [windowEnd, 0n, POT, 0n], "Bob was paid all he was due: nothing pending");
    assert.deepEqual(b.pending, [], "no DerivativesClaimPending for an exit paid all it was due");

    // anyone's claimDerivatives now pays Alice's 250 in full, to Alice, once; the pot is paid out exactly
    const hash = await custodian.write.claimDerivatives([1], { account: dave.account });
    const paid = parseEventLogs({ abi: custodian.abi, logs: (await env.publicClient.waitForTransactionReceipt({ hash })).logs, eventName: "DerivativesClaimPaid" });
    assert.deepEqual(paid.map((e) => e.args), [{ accountId: 1, owner: getAddress(alice.account.address), claimed: 250n * USDC, paid: 250n * USDC }]);
    assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), 350n * USDC);
    assert.equal(await custodian.read.withdrawable([dave.account.address, 0]), 0n);
    assert.equal(await custodian.read.exodusDerivativesPaid(), POT);
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.claimDerivatives([1], { account: dave.account }), custodian, "NoPendingClaim", [1]);
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.claimDerivatives([2]), custodian, "NoPendingClaim", [2]);
    await custodyKept();
    await custodian.write.withdraw([0], { account: alice.account });
    await custodyKept();
  });

  it("claimExitRemainder before exodus: NotInExodus", async () => {
    const env = await deployFunded();
    await viem.assertions.revertWithCustomError(env.custodian.write.claimExitRemainder([1, 0]), env.custodian, "NotInExodus");
  });
});
