/**
 * The exit's follow-ups in sequencer/sdk/exit.ts, on a custodian in exodus with mock verifiers and tokens that
 * misbehave (test/helpers/exodus.ts mockExodus): pendingExitClaims reads what waits for an exited account (its exit
 * remainders, which the custodian keeps no getter for, and its derivatives claim) with whether the custodian pays
 * each now; collectDerivativesClaim and collectExitRemainder, once the custodian has paid, report a pull the token
 * refuses instead of throwing (the payment is done and would be lost to the caller). The exit itself (the SDK's exit)
 * reports what it did from its receipt, however the node answers after it: a claim-window read that fails is a
 * warning with the exit's hash, a receipt that cannot be read an error naming the hash.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import type { WalletClient } from "viem";
import { exit } from "../../../sequencer/sdk/custodian.ts";
import { collectDerivativesClaim, collectExitRemainder, pendingExitClaims } from "../../../sequencer/sdk/exit.ts";
import { PROOF } from "../../contracts/helpers.ts";
import { REVERTS, USDC, answers } from "../../contracts/exitFixture.ts";
import { flakyClient, mockExodus } from "../../helpers/exodus.ts";

const connection = await network.create();
const { networkHelpers } = connection;

describe("SDK exit: its outcome survives the node failing after it", () => {
  it("a claim-window read that fails after the exit: what it paid and recorded comes from its receipt, the pending claim and window end are null, a warning names the hash and the follow-up; nothing thrown", async () => {
    const env = await mockExodus(connection);
    const { custodian, alice, bob } = env;
    // within the claim window, token 2's balanceOf reverting: Alice's 5 of it are recorded, her 100 USDC claim waits
    await env.setCode(2, REVERTS);
    const flaky = flakyClient(env.clients(alice).publicClient, { reads: ["exodusClaim"] });
    const got = await exit({ publicClient: flaky, walletClient: alice as unknown as WalletClient }, custodian.address, await env.expectExit(1, { 0: 7n, 2: 5n }, 100n * USDC, 600n * USDC), PROOF);
    assert.deepEqual(flaky.failed, ["exodusClaim"], "the read after the exit failed");
    assert.deepEqual({ ...got, hash: undefined, warnings: undefined }, {
      paid: [7n, 0n, 0n, 0n], spotPaid: [7n, 0n, 0n, 0n], derivativesClaimed: 100n * USDC, derivativesPaid: 0n, remainders: [0n, 0n, 5n, 0n],
      derivativesPending: null, claimWindowEnd: null, hash: undefined, warnings: undefined,
    });
    assert.match(got.hash, /^0x[0-9a-f]{64}$/);
    assert.equal(got.warnings.length, 1);
    assert.ok(got.warnings[0]!.includes(got.hash), "the warning names the exit's hash");
    assert.match(got.warnings[0]!, /went through .*HTTP request failed\..*pendingExitClaims \(npm run cli -- exit-remainders --for-account 1\)$/);
    assert.ok(!got.warnings[0]!.includes("\n") && !got.warnings[0]!.includes("node.example"), "one line, the node's URL left out");
    // the exit went through once: what the follow-up reads is what the exit recorded
    assert.equal(await custodian.read.exited([1]), true);
    assert.deepEqual((await pendingExitClaims({ publicClient: env.clients(alice).publicClient, custodian: custodian.address, accountId: 1 })).derivatives?.claim, 100n * USDC);
    assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), 7n);

    // an account without a derivatives claim: nothing can wait for claimDerivatives, whatever the node says
    await env.restore();
    const flakyBob = flakyClient(env.clients(bob).publicClient, { reads: ["exodusClaim"] });
    const bobs = await exit({ publicClient: flakyBob, walletClient: bob as unknown as WalletClient }, custodian.address, await env.expectExit(2, { 0: 3n }), PROOF);
    assert.deepEqual([bobs.paid[0], bobs.derivativesPending, bobs.claimWindowEnd, bobs.warnings.length], [3n, 0n, null, 1]);
  });

  it("a node that answers: the pending claim and window end are read at the exit's block, no warning", async () => {
    const env = await mockExodus(connection);
    const { custodian, alice } = env;
    const got = await exit(env.clients(alice), custodian.address, await env.expectExit(1, {}, 100n * USDC, 600n * USDC), PROOF);
    assert.deepEqual([got.derivativesPending, got.claimWindowEnd, got.warnings], [100n * USDC, env.windowEnd, []]);
  });

  it("a receipt that cannot be read: the exit throws naming its hash (it may have gone through: here it did)", async () => {
    const env = await mockExodus(connection);
    const { custodian, alice } = env;
    const flaky = flakyClient(env.clients(alice).publicClient, { receipts: true });
    const claim = await env.expectExit(1, { 0: 7n });
    const err = await exit({ publicClient: flaky, walletClient: alice as unknown as WalletClient }, custodian.address, claim, PROOF).then(() => null, (e: Error) => e);
    assert.ok(err, "throws");
    const m = /^exit was sent as (0x[0-9a-f]{64}) but its receipt could not be read \(HTTP request failed\.\): look the transaction up before sending it again$/.exec(err.message);
    assert.ok(m, err.message);
    assert.equal((await env.publicClient.getTransactionReceipt({ hash: m[1] as `0x${string}` })).status, "success", "the hash is the exit's");
    assert.equal(await custodian.read.exited([1]), true);
  });
});

describe("SDK exit follow-ups", () => {
  it("pendingExitClaims lists an exited account's remainders and its derivatives claim, each with whether the custodian pays it now, and leaves out what was paid", async () => {
    const env = await mockExodus(connection);
    const { custodian, alice, dave } = env;
    const read = (accountId: number) => pendingExitClaims({ publicClient: env.clients(alice).publicClient, custodian: custodian.address, accountId });
    assert.deepEqual(await read(1), { accountId: 1, exited: false, remainders: [], derivatives: null }, "nothing before the exit");

    // after the claim window Alice exits while token 2's balanceOf reverts and token 0 reads 30 USDC: her 5 of
    // token 2 wait as a remainder; of the 100 USDC her derivatives claim is due (pot 600), 30 are paid, 70 wait
    await networkHelpers.time.increaseTo(env.windowEnd);
    await env.setCode(2, REVERTS);
    await env.setCode(0, answers(30n * USDC));
    await env.exit(alice, 1, { 2: 5n }, 100n * USDC, 600n * USDC);
    assert.deepEqual(await read(1), {
      accountId: 1, exited: true,
      remainders: [{ tokenId: 2, amount: 5n, claimable: false, free: 0n }],
      derivatives: { claim: 70n * USDC, due: 70n * USDC, windowEnd: env.windowEnd, claimable: false, free: 0n },
    });

    // the tokens answer again: both are payable now; the exit is found 50 blocks back, read 10 blocks a call
    await env.restore();
    await networkHelpers.mine(50);
    const now = await pendingExitClaims({ publicClient: env.clients(alice).publicClient, custodian: custodian.address, accountId: 1, logRange: 10n });
    const head = await env.publicClient.getBlockNumber();
    await assert.rejects(pendingExitClaims({ publicClient: env.clients(alice).publicClient, custodian: custodian.address, accountId: 1, fromBlock: head - 10n }), /no Exited event of it was found from block/);
    assert.deepEqual([now.remainders, now.derivatives?.claimable], [[{ tokenId: 2, amount: 5n, claimable: true }], true]);
    // someone else pays the remainder: it is no longer listed (the exit's event is still there)
    await custodian.write.claimExitRemainder([1, 2], { account: dave.account });
    assert.deepEqual((await read(1)).remainders, []);
    await custodian.write.claimDerivatives([1], { account: dave.account });
    assert.deepEqual(await read(1), { accountId: 1, exited: true, remainders: [], derivatives: null });
    assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), 100n * USDC);
  });

  it("pendingExitClaims within the claim window: the recorded claim waits (ClaimWindowOpen), its due share of the pot given", async () => {
    const env = await mockExodus(connection);
    const { custodian, alice, bob } = env;
    await env.exit(alice, 1, {}, 800n * USDC, 600n * USDC);
    await env.exit(bob, 2, {}, 400n * USDC, 600n * USDC);
    const got = await pendingExitClaims({ publicClient: env.clients(alice).publicClient, custodian: custodian.address, accountId: 1 });
    // 1,200 claimed of a 600 pot: each claim is paid half
    assert.deepEqual(got.derivatives, { claim: 800n * USDC, due: 400n * USDC, windowEnd: env.windowEnd, claimable: false, refusal: "ClaimWindowOpen" });
    assert.deepEqual(got.remainders, []);
  });

  it("collectDerivativesClaim reports a token-0 pull the token refuses (pullFailed) instead of throwing: the claim is paid and waits in withdrawable", async () => {
    const env = await mockExodus(connection);
    const { custodian, alice } = env;
    await env.exit(alice, 1, {}, 100n * USDC, 600n * USDC);
    await networkHelpers.time.increaseTo(env.windowEnd);
    await env.refuseTransfers(0);
    const got = await collectDerivativesClaim({ clients: env.clients(alice), custodian: custodian.address });
    assert.deepEqual([got.claimed, got.paid, got.sentByOther], [100n * USDC, 100n * USDC, false]);
    assert.match(got.pullFailed ?? "", /withdraw|revert/i);
    assert.ok(!got.pullFailed!.includes("\n"), "one line");
    assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), 100n * USDC, "credited, not pulled");
    assert.deepEqual(await custodian.read.exodusClaim([1]), [env.windowEnd, 100n * USDC, 600n * USDC, 0n], "paid, once");
  });

  it("collectExitRemainder pays a remainder and reports a pull the token refuses (pullFailed), the credit waiting in withdrawable; paying another account's remainder pulls nothing", async () => {
    const env = await mockExodus(connection);
    const { custodian, alice, dave } = env;
    await env.setCode(2, REVERTS);
    await env.exit(alice, 1, { 2: 5n });
    await env.restore();
    await env.refuseTransfers(2);
    const got = await collectExitRemainder({ clients: env.clients(alice), custodian: custodian.address }, 2);
    assert.deepEqual({ ...got, pullFailed: undefined, tx: undefined }, { accountId: 1, tokenId: 2, amount: 5n, pulled: false, pullFailed: undefined, tx: undefined });
    assert.match(got.pullFailed ?? "", /withdraw|revert/i);
    assert.equal(await custodian.read.withdrawable([alice.account.address, 2]), 5n, "credited, not pulled");

    // Dave pays Alice's remainder in another deployment: Alice is credited, nothing is pulled, nothing failed
    const other = await mockExodus(connection);
    await other.setCode(2, REVERTS);
    await other.exit(other.alice, 1, { 2: 5n });
    await other.restore();
    const paid = await collectExitRemainder({ clients: other.clients(dave), custodian: other.custodian.address }, 2, 1);
    assert.deepEqual([paid.amount, paid.pulled, "pullFailed" in paid], [5n, false, false]);
    assert.equal(await other.custodian.read.withdrawable([other.alice.account.address, 2]), 5n);
  });
});
