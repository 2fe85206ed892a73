/**
 * Gas of the exit path at production sizes (64 token ids, 2 underlyings, PRODUCTION_PARAMS slots), with mock verifiers:
 * forced requests, the forced cancel (a key rotation), a deposit (now also stamped and counted as owed), a batch
 * consuming forced requests, the operator's fee pool withdrawal request, activating exodus, refunding a deposit and exits, spot only and with a
 * derivatives claim recorded for the claim window, then its payment (claimDerivatives) (add the real exit verifier's
 * Groth16 check: about 261k for an account holding four tokens, circuits/exit/EXIT.md). Prints a table; the bounds only catch gross regressions.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import type { Hex } from "viem";

import { TxType } from "../../sequencer/protocol/constants.ts";
import { exitTokenCount } from "../../sequencer/protocol/exitPublicData.ts";
import { PRODUCTION_PARAMS } from "../../sequencer/protocol/params.ts";
import { PROOF, TEST_REQUEST_DEADLINE, compressKey, pubKeyOf } from "./helpers.ts";
import { ALICE_USDC, ALICE_WETH, ORACLE_KEY, USDC, exitFixtures } from "./exitFixture.ts";

const connection = await network.create();
const { networkHelpers } = connection;
const { deployFunded } = exitFixtures(connection, PRODUCTION_PARAMS);

describe("exit path gas (production sizes, mock verifiers)", () => {
  it("forceWithdraw, forceWithdrawCollateral, forced cancel, deposit, a batch of forced records, forceClose and its batch, requestFeeWithdrawal, activateExodus, refundDeposit, exit", async () => {
    const env = await deployFunded();
    const { custodian, alice, bob, carol, dave, publicClient } = env;
    await custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]); // forceWithdrawCollateral needs it
    const gas = async (hash: Promise<Hex>) => (await publicClient.waitForTransactionReceipt({ hash: await hash })).gasUsed;
    const rows: [string, bigint][] = [];
    // Typical, not first-ever, writes: Bob's forced request first, then Alice's is measured.
    await custodian.write.forceWithdraw([0, 1n], { account: bob.account });
    rows.push(["forceWithdraw", await gas(custodian.write.forceWithdraw([1, ALICE_WETH], { account: alice.account }))]);
    await env.submit([
      { type: TxType.FORCED_WITHDRAW, accountId: 2n, tokenId: 0n, amount: 1n, honoured: 1n },
      { type: TxType.FORCED_WITHDRAW, accountId: 1n, tokenId: 1n, amount: ALICE_WETH, honoured: 1n },
    ]);
    const key = pubKeyOf(4242n);
    rows.push(["registerTradingKey (rotation = forced cancel)", await gas(custodian.write.registerTradingKey([key[0], key[1]], { account: bob.account }))]);
    rows.push(["deposit (stamped, owed)", await gas(custodian.write.deposit([0, 10n * USDC], { account: alice.account }))]);
    rows.push(["forceWithdrawCollateral", await gas(custodian.write.forceWithdrawCollateral([100n * USDC], { account: alice.account }))]);
    // One batch: the collateral withdrawal honoured (derivatives slot), the rotation and the deposit (spot slots).
    rows.push([`submitBatch ${PRODUCTION_PARAMS.slots}+${PRODUCTION_PARAMS.derivSlots}: 1 forced collateral + key + deposit`, await gas(env.submit([
      { type: TxType.REGISTER_KEY, accountId: 2n, pubKey: compressKey(key) },
      { type: TxType.DEPOSIT, accountId: 1n, tokenId: 0n, amount: 10n * USDC },
    ], [{ type: TxType.FORCED_COLLATERAL_WITHDRAW, accountId: 1n, tokenId: 0n, amount: 100n * USDC, honoured: 1n }]))]);
    // A forced close (bob against alice), then the batch that proves it honoured: its ForcedCloseProven event.
    rows.push(["forceClose", await gas(custodian.write.forceClose([0, 1, 100n], { account: bob.account }))]);
    rows.push([`submitBatch ${PRODUCTION_PARAMS.slots}+${PRODUCTION_PARAMS.derivSlots}: 1 forced close`, await gas(env.submit([], [
      { type: TxType.FORCED_CLOSE, accountId: 2n, instrumentId: 0n, counterpartyId: 1n, lots: 100n, honoured: 1n },
    ]))]);
    // The treasury (left unconsumed, as the deposit below): an insurance withdrawal first, so the fee withdrawal
    // measured writes the pending-request slot they share as a typical, not first-ever, request does.
    await networkHelpers.impersonateAccount(env.timelock.address); // the timelock alone queues it
    await networkHelpers.setBalance(env.timelock.address, 10n ** 18n);
    await custodian.write.requestInsuranceWithdrawal([1n], { account: env.timelock.address });
    rows.push(["requestFeeWithdrawal (operator)", await gas(custodian.write.requestFeeWithdrawal([10n * USDC], { account: env.operator.account }))]);
    // Carol registers (account 3), a deposit is left in the queue, then exodus.
    const carolKey = pubKeyOf(4343n);
    await custodian.write.registerTradingKey([carolKey[0], carolKey[1]], { account: carol.account });
    await custodian.write.depositTo([1, 0, 50n * USDC], { account: carol.account });
    await networkHelpers.time.increase(TEST_REQUEST_DEADLINE);
    rows.push(["activateExodus", await gas(custodian.write.activateExodus({ account: dave.account }))]);
    const index = (await custodian.read.requestCount()) - 1n;
    rows.push(["refundDeposit", await gas(custodian.write.refundDeposit([index, 1, 0, 50n * USDC], { account: dave.account }))]);
    // The state's pooled quote (collateral, fund, pool) as the proofs would carry it; Alice's and Bob's exits claim no
    // derivatives, Carol's (registered above) a derivatives claim beside a spot amount: the pot's first write.
    const pooledQuote = 100n * USDC;
    const amounts = Array.from({ length: exitTokenCount(PRODUCTION_PARAMS) }, (_, t) => (t === 0 ? ALICE_USDC - 100n * USDC : 0n));
    rows.push([`exit (${amounts.length} token ids, 1 paid; mock verifier)`, await gas(custodian.write.exit([1, amounts, pooledQuote, 0n, PROOF], { account: alice.account }))]);
    const both = amounts.map((a, t) => (t === 1 ? 1n : a));
    rows.push([`exit (${amounts.length} token ids, 2 paid; mock verifier)`, await gas(custodian.write.exit([2, both, pooledQuote, 0n, PROOF], { account: bob.account }))]);
    await env.usdc.write.transfer([custodian.address, 1_000n * USDC], { account: dave.account }); // Alice and Bob took what was free
    const carols = amounts.map((_, t) => (t === 0 ? 1n : 0n));
    rows.push([`exit (${amounts.length} token ids, 1 paid + a derivatives claim recorded; mock)`, await gas(custodian.write.exit([3, carols, pooledQuote, 50n * USDC, PROOF], { account: carol.account }))]);
    assert.equal(await custodian.read.exodusDerivativesPaid(), 0n);
    await networkHelpers.time.increaseTo((await custodian.read.exodusClaim([3]))[0]);
    rows.push(["claimDerivatives (after the claim window)", await gas(custodian.write.claimDerivatives([3], { account: dave.account }))]);
    assert.equal(await custodian.read.exodusDerivativesPaid(), 50n * USDC);
    console.log("\n  exit path gasUsed (incl. 21k base + calldata), production sizes:");
    for (const [label, g] of rows) console.log(`    ${label.padEnd(60)} ${g.toString().padStart(9)}`);
    for (const [label, g] of rows) assert.ok(g < 1_000_000n, `${label}: ${g}`);
  });
});
