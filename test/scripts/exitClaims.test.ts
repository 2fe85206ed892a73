/**
 * The exit's follow-up verbs (scripts/exit.ts, `npm run cli -- claim-exit-remainder | claim-derivatives |
 * exit-remainders`) on a custodian in exodus with mock verifiers and tokens that misbehave (test/helpers/exodus.ts
 * mockExodus): a payment whose pull the token refuses is printed (`pullFailed`) and named on stderr with the command
 * that retries the pull, not thrown (the payment is done); `exit-remainders` prints what still waits for an exited
 * account with the command that claims each.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { runExchangeCli } from "../../scripts/exchange.ts";
import { runClaimDerivatives, runClaimExitRemainder, runExitRemainders } from "../../scripts/exit.ts";
import { REVERTS, USDC, answers } from "../contracts/exitFixture.ts";
import { mockExodus } from "../helpers/exodus.ts";

const connection = await network.create();
const { networkHelpers } = connection;

describe("exit follow-up verbs", () => {
  it("exit-remainders prints what waits with the command that claims it; claim-exit-remainder and claim-derivatives print a pull the token refuses with the command that retries it", async () => {
    const env = await mockExodus(connection);
    const { custodian, alice } = env;
    const out = () => {
      const printed: unknown[] = [];
      const logged: string[] = [];
      return { printed, logged, print: (v: unknown) => printed.push(v), log: (l: string) => logged.push(l) };
    };
    const remainders = async () => {
      const io = out();
      await runExitRemainders({ publicClient: env.clients(alice).publicClient, custodian: custodian.address, accountId: 1, ...io });
      return io;
    };
    // after the claim window, Alice exits while token 2's balanceOf reverts and token 0 reads 30 USDC: 5 of token 2
    // and 70 of the 100 USDC due of her derivatives claim wait
    await networkHelpers.time.increaseTo(env.windowEnd);
    await env.setCode(2, REVERTS);
    await env.setCode(0, answers(30n * USDC));
    await env.exit(alice, 1, { 2: 5n }, 100n * USDC, 600n * USDC);
    const waiting = await remainders();
    const doc = waiting.printed[0] as { status: string; remainders: { tokenId: number; amount: bigint }[]; derivatives: { claim: bigint } };
    assert.equal(doc.status, "pending exit claims");
    assert.deepEqual(doc.remainders.map((r) => [r.tokenId, r.amount]), [[2, 5n]]);
    assert.equal(doc.derivatives.claim, 70n * USDC);
    assert.ok(waiting.logged.some((l) => /^token 2: 5 waiting, not yet: .*claim-exit-remainder --token-id 2 --for-account 1\b/.test(l)), JSON.stringify(waiting.logged));
    assert.ok(waiting.logged.some((l) => /^derivatives claim: 70000000 waiting .*not yet: .*claim-derivatives\b/.test(l)), JSON.stringify(waiting.logged));

    // the tokens answer again, but refuse transfers: each payment is made and credited, its pull reported
    await env.restore();
    assert.ok((await remainders()).logged.every((l) => l.includes("the custodian pays it now")));
    await env.refuseTransfers(2);
    await env.refuseTransfers(0);
    const r = out();
    const paid = await runClaimExitRemainder({ clients: env.clients(alice), custodian: custodian.address, tokenId: 2, ...r });
    assert.deepEqual([paid.amount, paid.pulled], [5n, false]);
    const printedR = r.printed[0] as { status: string; pullFailed?: string };
    assert.equal(printedR.status, "exit remainder paid");
    assert.match(printedR.pullFailed ?? "", /withdraw|revert/i);
    assert.ok(r.logged.some((l) => /^token 2: 5 credited as the exit remainder but not pulled .*withdraw --claim --token-id 2\b/.test(l)), JSON.stringify(r.logged));
    const d = out();
    const claimed = await runClaimDerivatives({ clients: env.clients(alice), custodian: custodian.address, ...d });
    assert.deepEqual([claimed.claimed, claimed.paid], [70n * USDC, 70n * USDC]);
    assert.match((d.printed[0] as { pullFailed?: string }).pullFailed ?? "", /withdraw|revert/i);
    assert.ok(d.logged.some((l) => /^token 0: 70000000 credited for the derivatives claim but not pulled .*withdraw --claim --token-id 0\b/.test(l)), JSON.stringify(d.logged));
    assert.equal(await custodian.read.withdrawable([alice.account.address, 2]), 5n);
    assert.equal(await custodian.read.withdrawable([alice.account.address, 0]), 100n * USDC, "the exit's 30 and the claim's 70, waiting");

    const none = await remainders();
    assert.deepEqual(none.printed[0], { status: "pending exit claims", accountId: 1, exited: true, remainders: [], derivatives: null });
    assert.deepEqual(none.logged, []);
  });

  it("exit-remainders needs the account: --for-account or --wallet-key", async () => {
    const err: string[] = [];
    const status = await runExchangeCli(["exit-remainders", "--rpc", "http://127.0.0.1:9", "--custodian", "0x5FbDB2315678afecb367f032d93F642f64180aa3"], { out: () => {}, err: (l) => err.push(l) });
    assert.equal(status, 1);
    assert.match(err.join(""), /needs --for-account or --wallet-key/);
  });
});
