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
import { getAddress, parseEventLogs, type Hex, type PublicClient, type WalletClient } from "viem";

import { claimExitRemainder, exit as sdkExit } from "../../sequencer/sdk/custodian.ts";
import { TxType } from "../../sequencer/protocol/constants.ts";
import { exitPublicInputs, exitTokenCount, type ExitClaim } from "../../sequencer/protocol/exitPublicData.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { PROOF, TEST_REQUEST_DEADLINE } from "./helpers.ts";
import { ALICE_USDC, ALICE_WETH, BOB_USDC, exitFixtures } from "./exitFixture.ts";
import { testTokenAbi } from "./abis.ts";

const connection = await network.create();
const { viem, networkHelpers } = connection;
const { deployFunded } = exitFixtures(connection);

const TOKENS = exitTokenCount(TEST_PARAMS);
const ODD = 2; // the token id of the token that misbehaves
const ALICE_ODD = 5n;
const BOB_ODD = 7n;
const REVERTS = "0x60006000fd"; // PUSH1 0 PUSH1 0 REVERT: balanceOf (and everything) reverts, read as holding 0
const answers = (n: number) => `0x60${n.toString(16).padStart(2, "0")}60005260206000f3` as Hex; // returns n for any call

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
    await networkHelpers.setCode(odd.address, answers(3)); // answers, but shows less than the remainder: never paid in part
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
    await networkHelpers.setCode(odd.address, answers(9));
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

  it("claimExitRemainder before exodus: NotInExodus", async () => {
    const env = await deployFunded();
    await viem.assertions.revertWithCustomError(env.custodian.write.claimExitRemainder([1, 0]), env.custodian, "NotInExodus");
  });
});
