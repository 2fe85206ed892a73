/**
 * scripts/exit.ts (`npm run cli -- exit`) against a custodian in exodus with tokens that misbehave
 * (test/helpers/exodus.ts: a real exit proof at DEVNET_PARAMS): a registered token whose balanceOf reverts (the
 * custodian survives it: it pays 0 of it) must not keep the trader from exiting, and a token whose transfer
 * reverts after the exit, or a node that fails to answer a read after it, must not lose the exit's outcome or the
 * tokens after it.
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { network } from "hardhat";
import { erc20Abi } from "viem";
import { runExit, type ExitLine } from "../../scripts/exit.ts";
import { terminateSnarkjsCurve } from "../../scripts/setup/zkLibs.ts";
import { ALICE_AMOUNTS, exodusChain, flakyClient } from "../helpers/exodus.ts";

const connection = await network.create();

describe("exit CLI with misbehaving tokens", { timeout: 600_000 }, () => {
  after(() => terminateSnarkjsCurve());

  it("exits past a registered token whose balanceOf reverts (null balances), names a token it could not pull with the command that retries it, and prints the exit's outcome when the claim-window read after it fails", async () => {
    const env = await exodusChain(connection, { brokenToken: true });
    await env.refuseTransfers();
    // the batch vkey only checks the mock-proven batches' proofs, which an exit does not look at
    const vkey = join(mkdtempSync(join(tmpdir(), "exit-cli-")), "batch.vkey.json");
    writeFileSync(vkey, "{}");
    const printed: unknown[] = [];
    const logged: string[] = [];
    // the node fails the one read after the exit (the claim window): the exit's outcome comes from its receipt
    const publicClient = flakyClient(env.publicClient, { reads: ["exodusClaim"] });
    const { result, lines } = await runExit({
      clients: { publicClient, walletClient: env.alice }, custodian: env.custodian, params: "devnet", vkey,
      exitWasm: env.exitCircuit.wasm, exitZkey: env.exitCircuit.zkey, exitVkey: env.exitCircuit.vkey,
      print: (v) => printed.push(v), log: (l) => logged.push(l),
    });

    assert.deepEqual(result.paid, [...ALICE_AMOUNTS, 0n], "the exit itself paid every token (0 of the broken one)");
    const byId = (t: number) => lines.find((l) => l.tokenId === t)!;
    assert.equal(byId(3).token.toLowerCase(), env.broken!.toLowerCase());
    assert.equal(byId(3).walletBefore, null, "the broken token's balance is unavailable, printed as null");
    assert.equal(byId(3).walletAfter, null);
    assert.deepEqual([byId(0).walletBefore, byId(0).walletAfter], [0n, ALICE_AMOUNTS[0]], "token 0 pulled");
    assert.deepEqual([byId(2).walletBefore, byId(2).walletAfter], [0n, ALICE_AMOUNTS[2]], "token 2, after the refusing token, pulled too");
    assert.equal(byId(1).walletAfter, 0n);
    assert.match(byId(1).pullFailed ?? "", /withdraw|revert/i, "token 1's pull failed, and its line says so");
    assert.equal(lines.filter((l: ExitLine) => l.pullFailed !== undefined).length, 1);
    assert.equal(await env.withdrawable(1), ALICE_AMOUNTS[1], "token 1 stays credited");
    assert.equal(await env.publicClient.readContract({ address: env.tokens[2]!, abi: erc20Abi, functionName: "balanceOf", args: [env.alice.account!.address] }), ALICE_AMOUNTS[2]);

    const account = printed.at(-1) as { status: string; exitTx: string; failedPulls: { tokenId: number; error: string }[]; derivativesPending: bigint | null; claimWindowEnd: bigint | null; warnings: string[] };
    assert.equal(account.status, "exited");
    assert.deepEqual(account.failedPulls.map((f) => f.tokenId), [1]);
    assert.ok(logged.some((l) => /token 1: .*withdraw --claim --token-id 1\b/.test(l)), `a retry hint for token 1 in ${JSON.stringify(logged)}`);

    assert.deepEqual(publicClient.failed, ["exodusClaim"], "the read after the exit failed");
    assert.deepEqual([account.derivativesPending, account.claimWindowEnd], [0n, null], "no derivatives claim (none can wait); the window end unread");
    assert.equal(account.warnings.length, 1);
    assert.ok(account.warnings[0]!.includes(account.exitTx), "the warning names the exit's hash");
    assert.ok(logged.includes(account.warnings[0]!), "and is on stderr");
    assert.ok(logged.some((l) => /^the exit is done; .*npm run cli -- exit-remainders --for-account 1 --rpc URL --custodian 0x/.test(l)), `the follow-up command in ${JSON.stringify(logged)}`);
  });
});
