/**
 * The treasury's withdrawals on the custodian: the operator queues a FEE_WITHDRAW (14, spot slot) of the fee pool
 * or an INSURANCE_WITHDRAW (15, derivatives slot) of the insurance fund, outcome requests like forced withdrawals
 * (accountId 0, tokenId 0, honoured 0 in the queue); an honoured one credits the fee or insurance recipient in
 * quote, which only the timelock can change. Attacks first: callers without the role, an operator changing the
 * amount, the outcome or the slot class, crowding the open-request cap, and ignoring its own request.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, hexToBytes, parseEventLogs, toHex, zeroAddress, zeroHash } from "viem";

import { FORCED_OUTCOME_OFFSET, TxType } from "../../sequencer/protocol/constants.ts";
import { encodeRecord, nextRequestChain, type SlotRecord } from "../../sequencer/protocol/publicData.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { PROOF, TEST_REQUEST_DEADLINE, hex, recordsOffset } from "./helpers.ts";
import { USDC, exitFixtures } from "./exitFixture.ts";
import { RequestWatcher } from "../../sequencer/web/browser/requests.ts";

const connection = await network.create();
const { viem, networkHelpers } = connection;
const fixtures = exitFixtures(connection);
const spotOnly = exitFixtures(connection, { ...TEST_PARAMS, derivSlots: 0, instruments: 0, positionSlots: 0, optionInstruments: 0 });

type Env = Awaited<ReturnType<typeof fixtures.deployFunded>>;

const treasury = (type: 14 | 15, amount: bigint, honoured = 0n): SlotRecord => ({ type, accountId: 0n, tokenId: 0n, amount, honoured }) as SlotRecord;
const FEE = TxType.FEE_WITHDRAW as 14;
const INSURANCE = TxType.INSURANCE_WITHDRAW as 15;

/** Alice and Bob funded (5 requests consumed), then the recipients moved through the timelock: fees to Carol, insurance to Dave. */
async function withRecipients() {
  const env = await fixtures.deployFunded();
  const op = await env.timelocked("setTreasuryRecipients", [env.carol.account.address, env.dave.account.address]);
  await networkHelpers.time.increase(op.delay);
  await op.execute();
  return env;
}

/**
 * The timelock contract as a sender: what an executed timelock operation's call to the custodian is (impersonated,
 * so tests need not wait out the delay; the scheduled path itself is tested once, "through the timelock").
 */
async function asTimelock(env: Env) {
  await networkHelpers.impersonateAccount(env.timelock.address);
  await networkHelpers.setBalance(env.timelock.address, 10n ** 18n);
  return { account: env.timelock.address };
}

/** withRecipients, then a FEE_WITHDRAW of 30 USDC (the operator) and an INSURANCE_WITHDRAW of 20 USDC (the timelock) queued (requests 5 and 6). */
async function withRequests() {
  const env = await withRecipients();
  await env.custodian.write.requestFeeWithdrawal([30n * USDC], { account: env.operator.account });
  await env.custodian.write.requestInsuranceWithdrawal([20n * USDC], await asTimelock(env));
  return env;
}

/** Everything a refused call or batch must leave unchanged. */
async function snapshot(env: Env) {
  const { custodian, carol, dave } = env;
  return Promise.all([
    custodian.read.stateRoot(), custodian.read.batchCount(), custodian.read.processedRequests(), custodian.read.requestCount(),
    custodian.read.openForcedRequests(), custodian.read.owed([0]), custodian.read.withdrawable([carol.account.address, 0]),
    custodian.read.withdrawable([dave.account.address, 0]), custodian.read.feeRecipient(), custodian.read.insuranceRecipient(),
  ] as Promise<unknown>[]);
}

/** Submits public data `pd` and expects `error(args)`, with nothing changed. */
async function expectBatchRejected(env: Env, pd: Uint8Array, error: string, args: readonly unknown[]) {
  const before = await snapshot(env);
  await viem.assertions.revertWithCustomErrorWithArgs(
    env.custodian.write.submitBatch([hex(pd), PROOF], { account: env.operator.account }), env.custodian, error as never, args as never);
  assert.deepEqual(await snapshot(env), before);
}

/**
 * Sets the custodian's openForcedRequests counter to `open`. Filling the cap for real takes 1024 registered accounts
 * (forcedRequests.test.ts does it); here the counter is found in the storage slot it shares with batchCount,
 * processedRequests and requestCount (bits 232..247, after exodusMode) and written directly.
 */
async function setOpenRequests(env: Env, open: number) {
  const { custodian, publicClient } = env;
  const [batchCount, processed, count] = [BigInt(await custodian.read.batchCount()), await custodian.read.processedRequests(), await custodian.read.requestCount()];
  const mask64 = (1n << 64n) - 1n;
  for (let slot = 0n; slot < 64n; slot++) {
    const word = BigInt((await publicClient.getStorageAt({ address: custodian.address, slot: toHex(slot, { size: 32 }) })) ?? "0x0");
    if ((word & 0xffffffffn) !== batchCount || ((word >> 96n) & mask64) !== processed || ((word >> 160n) & mask64) !== count) continue;
    const updated = (word & ~(0xffffn << 232n)) | (BigInt(open) << 232n);
    await networkHelpers.setStorageAt(custodian.address, slot, toHex(updated, { size: 32 }));
    assert.equal(await custodian.read.openForcedRequests(), open);
    return;
  }
  throw new Error("openForcedRequests' slot not found");
}

describe("treasury withdrawals", () => {
  it("the treasury from the deployment is both recipients; requests queue the record (type 14/15, account 0, token 0, honoured 0) stamped with time and sender (the operator, the timelock)", async () => {
    const env = await networkHelpers.loadFixture(fixtures.deployFunded);
    const { custodian, operator, admin, publicClient } = env;
    assert.deepEqual([await custodian.read.feeRecipient(), await custodian.read.insuranceRecipient()], [getAddress(admin.account.address), getAddress(admin.account.address)]);
    const calls = {
      [FEE]: { simulate: custodian.simulate.requestFeeWithdrawal, write: custodian.write.requestFeeWithdrawal, by: operator.account.address },
      [INSURANCE]: { simulate: custodian.simulate.requestInsuranceWithdrawal, write: custodian.write.requestInsuranceWithdrawal, by: (await asTimelock(env)).account },
    };
    for (const [type, amount] of [[FEE, 30n * USDC], [INSURANCE, 7n]] as const) {
      const index = await custodian.read.requestCount();
      const chain0 = await custodian.read.requestChain([index]);
      const sender = calls[type].by;
      const { result } = await calls[type].simulate([amount], { account: sender });
      assert.equal(result, index);
      const receipt = await publicClient.waitForTransactionReceipt({ hash: await calls[type].write([amount], { account: sender }) });
      const { timestamp } = await publicClient.getBlock({ blockNumber: receipt.blockNumber });
      const record = encodeRecord(treasury(type, amount));
      assert.equal(record[0], type);
      assert.equal(record[FORCED_OUTCOME_OFFSET], 0);
      const [queued] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "RequestQueued" });
      assert.deepEqual([queued.args.index, hexToBytes(queued.args.record)], [index, record]);
      assert.equal(await custodian.read.requestChain([index + 1n]), nextRequestChain(chain0, record));
      assert.equal(await custodian.read.queuedAt([index]), timestamp);
      assert.equal(await custodian.read.queuedBy([index]), getAddress(sender));
    }
    assert.equal(await custodian.read.openForcedRequests(), 2);
  });

  it("refuses fee withdrawals from callers without OPERATOR_ROLE (the admin, a user, the treasury) and insurance withdrawals from any caller but the timelock (the operator and the admin included), amount 0, and a second request of a type while one is open", async () => {
    const env = await networkHelpers.loadFixture(withRecipients);
    const { custodian, operator, admin, alice, carol } = env;
    const role = await custodian.read.OPERATOR_ROLE();
    const timelockRole = await custodian.read.TIMELOCK_ROLE();
    const before = await snapshot(env);
    for (const who of [admin, alice, carol]) {
      const me = getAddress(who.account.address);
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.requestFeeWithdrawal([1n], { account: who.account }), custodian, "AccessControlUnauthorizedAccount", [me, role]);
    }
    for (const who of [operator, admin, alice, carol]) {
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.requestInsuranceWithdrawal([1n], { account: who.account }), custodian, "AccessControlUnauthorizedAccount", [getAddress(who.account.address), timelockRole]);
    }
    const timelock = await asTimelock(env);
    await viem.assertions.revertWithCustomError(custodian.write.requestFeeWithdrawal([0n], { account: operator.account }), custodian, "ZeroTreasuryWithdrawal");
    await viem.assertions.revertWithCustomError(custodian.write.requestInsuranceWithdrawal([0n], timelock), custodian, "ZeroTreasuryWithdrawal");
    assert.deepEqual(await snapshot(env), before);
    // One open request per type: the operator cannot crowd users' forced requests out of the cap.
    await custodian.write.requestFeeWithdrawal([5n], { account: operator.account });
    await viem.assertions.revertWithCustomErrorWithArgs(
      custodian.write.requestFeeWithdrawal([6n], { account: operator.account }), custodian, "TreasuryRequestPending", [FEE, 5n]);
    await custodian.write.requestInsuranceWithdrawal([5n], timelock);
    await viem.assertions.revertWithCustomErrorWithArgs(
      custodian.write.requestInsuranceWithdrawal([6n], timelock), custodian, "TreasuryRequestPending", [INSURANCE, 6n]);
    // Consumed by a batch (one refused, one honoured): both may be requested again.
    await env.submit([treasury(FEE, 5n, 0n)], [treasury(INSURANCE, 5n, 1n)]);
    await custodian.write.requestFeeWithdrawal([6n], { account: operator.account });
    await custodian.write.requestInsuranceWithdrawal([6n], timelock);
  });

  it("an insurance withdrawal through the timelock: announced by CallScheduled, refused one second before the delay, queued at it", async () => {
    const env = await networkHelpers.loadFixture(withRecipients);
    const { custodian, timelock } = env;
    const op = await env.timelocked("requestInsuranceWithdrawal", [20n * USDC]);
    const readyAt = await timelock.read.getTimestamp([await timelock.read.hashOperation([custodian.address, 0n, op.data, zeroHash, zeroHash])]);
    assert.ok(readyAt - (await env.now()) > BigInt(TEST_REQUEST_DEADLINE), "announced longer than the request deadline in advance");
    const count = await custodian.read.requestCount();
    await networkHelpers.time.setNextBlockTimestamp(readyAt - 1n);
    await viem.assertions.revertWithCustomError(op.execute(), timelock, "TimelockUnexpectedOperationState");
    assert.equal(await custodian.read.requestCount(), count);
    await networkHelpers.time.setNextBlockTimestamp(readyAt);
    await op.execute();
    assert.equal(await custodian.read.requestCount(), count + 1n);
    assert.equal(await custodian.read.queuedBy([count]), getAddress(timelock.address));
  });

  it("a spot-only custodian refuses insurance withdrawals (NoDerivativesSlots): nothing could consume them", async () => {
    const env = await networkHelpers.loadFixture(spotOnly.deployBase);
    await viem.assertions.revertWithCustomError(
      env.custodian.write.requestInsuranceWithdrawal([1n], await asTimelock(env as unknown as Env)), env.custodian, "NoDerivativesSlots");
    await env.custodian.write.requestFeeWithdrawal([1n], { account: env.operator.account });
  });

  describe("setTreasuryRecipients", () => {
    it("refused for the admin and the operator directly: TIMELOCK_ROLE only", async () => {
      const env = await networkHelpers.loadFixture(fixtures.deployFunded);
      const { custodian, admin, operator, carol } = env;
      const role = await custodian.read.TIMELOCK_ROLE();
      for (const who of [admin, operator, carol]) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          custodian.write.setTreasuryRecipients([carol.account.address, carol.account.address], { account: who.account }),
          custodian, "AccessControlUnauthorizedAccount", [getAddress(who.account.address), role]);
      }
      assert.equal(await custodian.read.feeRecipient(), getAddress(admin.account.address));
    });

    it("through the timelock: announced by CallScheduled, refused one second before the delay, effective at it (TreasuryRecipientsSet)", async () => {
      const env = await networkHelpers.loadFixture(fixtures.deployFunded);
      const { custodian, timelock, carol, dave, admin } = env;
      const op = await env.timelocked("setTreasuryRecipients", [carol.account.address, dave.account.address]);
      const receipt = await env.publicClient.waitForTransactionReceipt({ hash: await op.scheduled });
      const [announced] = parseEventLogs({ abi: timelock.abi, logs: receipt.logs, eventName: "CallScheduled" });
      assert.deepEqual([getAddress(announced.args.target), announced.args.data], [getAddress(custodian.address), op.data]);
      const readyAt = await timelock.read.getTimestamp([await timelock.read.hashOperation([custodian.address, 0n, op.data, zeroHash, zeroHash])]);
      await networkHelpers.time.setNextBlockTimestamp(readyAt - 1n);
      await viem.assertions.revertWithCustomError(op.execute(), timelock, "TimelockUnexpectedOperationState");
      assert.equal(await custodian.read.feeRecipient(), getAddress(admin.account.address));
      await networkHelpers.time.setNextBlockTimestamp(readyAt);
      await viem.assertions.emitWithArgs(op.execute(), custodian, "TreasuryRecipientsSet", [getAddress(carol.account.address), getAddress(dave.account.address)]);
      assert.deepEqual([await custodian.read.feeRecipient(), await custodian.read.insuranceRecipient()], [getAddress(carol.account.address), getAddress(dave.account.address)]);
    });

    it("refuses zero addresses, even through the timelock (ZeroAddress)", async () => {
      const env = await networkHelpers.loadFixture(fixtures.deployFunded);
      const { custodian, carol } = env;
      const zeroFee = await env.timelocked("setTreasuryRecipients", [zeroAddress, carol.account.address], toHex(1n, { size: 32 }));
      const zeroInsurance = await env.timelocked("setTreasuryRecipients", [carol.account.address, zeroAddress], toHex(2n, { size: 32 }));
      await networkHelpers.time.increase(zeroFee.delay);
      await viem.assertions.revertWithCustomError(zeroFee.execute(), custodian, "ZeroAddress");
      await viem.assertions.revertWithCustomError(zeroInsurance.execute(), custodian, "ZeroAddress");
      assert.equal(await custodian.read.feeRecipient(), getAddress(env.admin.account.address));
    });
  });

  describe("batches", () => {
    it("an honoured FEE_WITHDRAW credits the fee recipient in quote, who withdraws it; an honoured INSURANCE_WITHDRAW the insurance recipient", async () => {
      const env = await networkHelpers.loadFixture(withRequests);
      const { custodian, carol, dave, usdc } = env;
      const owed0 = await custodian.read.owed([0]);
      const receipt = await env.publicClient.waitForTransactionReceipt({ hash: await env.submit([treasury(FEE, 30n * USDC, 1n)], [treasury(INSURANCE, 20n * USDC, 1n)]) });
      const credited = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "TreasuryWithdrawalCredited" });
      assert.deepEqual(credited.map((e) => [e.args.batchNumber, e.args.txType, e.args.recipient, e.args.amount]), [
        [3, FEE, getAddress(carol.account.address), 30n * USDC],
        [3, INSURANCE, getAddress(dave.account.address), 20n * USDC],
      ]);
      assert.equal(await custodian.read.withdrawable([carol.account.address, 0]), 30n * USDC);
      assert.equal(await custodian.read.withdrawable([dave.account.address, 0]), 20n * USDC);
      assert.equal(await custodian.read.owed([0]), owed0 + 50n * USDC);
      assert.equal(await custodian.read.openForcedRequests(), 0);
      assert.equal(await custodian.read.processedRequests(), 7n);
      // The recipient pulls it with the ordinary withdraw.
      const before = await usdc.read.balanceOf([carol.account.address]);
      await custodian.write.withdraw([0], { account: carol.account });
      assert.equal(await usdc.read.balanceOf([carol.account.address]), before + 30n * USDC);
      assert.equal(await custodian.read.owed([0]), owed0 + 20n * USDC);
    });

    it("a refused one credits nothing (TreasuryWithdrawalRefused) and gives its place back", async () => {
      const env = await networkHelpers.loadFixture(withRequests);
      const { custodian, carol, dave } = env;
      const owed0 = await custodian.read.owed([0]);
      const receipt = await env.publicClient.waitForTransactionReceipt({ hash: await env.submit([treasury(FEE, 30n * USDC, 0n)], [treasury(INSURANCE, 20n * USDC, 0n)]) });
      const refused = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "TreasuryWithdrawalRefused" });
      assert.deepEqual(refused.map((e) => [e.args.txType, e.args.amount]), [[FEE, 30n * USDC], [INSURANCE, 20n * USDC]]);
      assert.equal(parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "TreasuryWithdrawalCredited" }).length, 0);
      assert.equal(await custodian.read.withdrawable([carol.account.address, 0]), 0n);
      assert.equal(await custodian.read.withdrawable([dave.account.address, 0]), 0n);
      assert.equal(await custodian.read.owed([0]), owed0);
      assert.equal(await custodian.read.openForcedRequests(), 0);
    });

    it("an outcome byte other than 0 or 1 is refused: BadForcedOutcome", async () => {
      const env = await networkHelpers.loadFixture(withRequests);
      for (const outcome of [2, 0xff]) {
        const pd = await env.nextBatch([treasury(FEE, 30n * USDC)], [treasury(INSURANCE, 20n * USDC, 1n)]);
        pd[recordsOffset(TEST_PARAMS) + FORCED_OUTCOME_OFFSET] = outcome;
        await expectBatchRejected(env, pd, "BadForcedOutcome", [0n, outcome]);
      }
    });

    it("a FEE_WITHDRAW in a derivatives slot or an INSURANCE_WITHDRAW in a spot slot is refused: UnknownTxType", async () => {
      const env = await networkHelpers.loadFixture(withRequests);
      const slots = BigInt(TEST_PARAMS.slots);
      await expectBatchRejected(env, await env.nextBatch([], [treasury(FEE, 30n * USDC, 1n)]), "UnknownTxType", [slots, FEE]);
      await expectBatchRejected(env, await env.nextBatch([treasury(FEE, 30n * USDC, 1n), treasury(INSURANCE, 20n * USDC, 1n)]), "UnknownTxType", [1n, INSURANCE]);
    });

    it("a record other than the queued one (amount, account, token, type) is refused: the request chain does not match", async () => {
      const env = await networkHelpers.loadFixture(withRequests);
      const insurance = treasury(INSURANCE, 20n * USDC, 1n);
      for (const spot of [
        treasury(FEE, 30n * USDC + 1n, 1n),
        treasury(FEE, 1000n * USDC, 1n),
        { type: FEE, accountId: 1n, tokenId: 0n, amount: 30n * USDC, honoured: 1n } as SlotRecord,
        { type: FEE, accountId: 0n, tokenId: 1n, amount: 30n * USDC, honoured: 1n } as SlotRecord,
        { type: TxType.FORCED_WITHDRAW, accountId: 0n, tokenId: 0n, amount: 30n * USDC, honoured: 1n } as SlotRecord,
      ]) {
        await expectBatchRejected(env, await env.nextBatch([spot], [insurance]), "UnqueuedRequest", [5n, 2n]);
      }
      await expectBatchRejected(env, await env.nextBatch([treasury(FEE, 30n * USDC, 1n)], [treasury(INSURANCE, 21n * USDC, 1n)]), "UnqueuedRequest", [5n, 2n]);
      // The queued records pass.
      await env.submit([treasury(FEE, 30n * USDC, 1n)], [insurance]);
    });
  });

  it("treasury requests count against MAX_OPEN_FORCED_REQUESTS: at the cap the operator may not queue and a user waits in line; the batch freeing the place admits the user", async () => {
    const env = await networkHelpers.loadFixture(withRecipients);
    const { custodian, operator, alice } = env;
    const max = Number(await custodian.read.MAX_OPEN_FORCED_REQUESTS());
    await setOpenRequests(env, max - 1);
    await custodian.write.requestFeeWithdrawal([30n * USDC], { account: operator.account });
    assert.equal(await custodian.read.openForcedRequests(), max);
    const count = await custodian.read.requestCount();
    await custodian.write.forceWithdraw([0, 1n], { account: alice.account });
    assert.deepEqual(await custodian.read.waitingLine(), [0n, 1n], "Alice waits in line");
    await viem.assertions.revertWithCustomError(custodian.write.requestInsuranceWithdrawal([1n], await asTimelock(env)), custodian, "TooManyForcedRequests");
    assert.equal(await custodian.read.requestCount(), count);
    // The batch consuming the fee withdrawal gives its place back, and Alice's forced request takes it.
    await env.submit([treasury(FEE, 30n * USDC, 1n)]);
    assert.equal(await custodian.read.openForcedRequests(), max);
    assert.equal(await custodian.read.requestCount(), count + 1n);
    assert.deepEqual(await custodian.read.waitingLine(), [1n, 1n]);
  });

  it("the trading page lists a forced request waiting in line (no queue index yet) with its deadline from the call, and once admitted as pending, still counted from the call", async () => {
    const env = await networkHelpers.loadFixture(withRecipients);
    const { custodian, operator, alice, publicClient } = env;
    const max = Number(await custodian.read.MAX_OPEN_FORCED_REQUESTS());
    await setOpenRequests(env, max - 1);
    await custodian.write.requestFeeWithdrawal([30n * USDC], { account: operator.account });
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await custodian.write.forceWithdraw([0, 1n], { account: alice.account }) });
    const joined = Number((await publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp);
    const watcher = new RequestWatcher(publicClient as never, custodian.address);
    const [waiting] = await watcher.own(1);
    assert.deepEqual({ ...waiting, tx: waiting!.tx }, {
      index: -1, position: 0, tx: { type: TxType.FORCED_WITHDRAW, accountId: 1, tokenId: 0, amount: 1n }, queuedAt: joined, deadline: joined + TEST_REQUEST_DEADLINE, state: "waiting",
    });
    await networkHelpers.time.increase(600);
    await env.submit([treasury(FEE, 30n * USDC, 1n)]); // admits it
    const [admitted] = await watcher.own(1);
    assert.equal(admitted!.state, "pending");
    assert.equal(admitted!.index, Number(await custodian.read.requestCount()) - 1);
    assert.equal(admitted!.queuedAt, joined, "stamped with the call");
    assert.equal(admitted!.deadline, joined + TEST_REQUEST_DEADLINE);
    assert.equal(await custodian.read.exodusAvailableAt(), BigInt(joined + TEST_REQUEST_DEADLINE));
    assert.equal((await watcher.own(1)).filter((r) => r.state === "waiting").length, 0, "no longer in line");
  });

  describe("exodus", () => {
    it("an unserved treasury request past the deadline lets anyone activate exodus (one second before: refused); then requests are refused", async () => {
      const env = await networkHelpers.loadFixture(withRecipients);
      const { custodian, operator, dave, publicClient } = env;
      const receipt = await publicClient.waitForTransactionReceipt({ hash: await custodian.write.requestFeeWithdrawal([30n * USDC], { account: operator.account }) });
      const { timestamp } = await publicClient.getBlock({ blockNumber: receipt.blockNumber });
      const deadline = timestamp + BigInt(TEST_REQUEST_DEADLINE);
      assert.equal(await custodian.read.exodusAvailableAt(), deadline);
      // The operator keeps posting batches that skip it.
      await networkHelpers.time.increase(TEST_REQUEST_DEADLINE / 2);
      await env.submit([]);
      await networkHelpers.time.setNextBlockTimestamp(deadline - 1n);
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.activateExodus({ account: dave.account, gas: 200_000n }), custodian, "ExodusNotAvailable", [deadline]);
      await networkHelpers.time.setNextBlockTimestamp(deadline);
      await viem.assertions.emitWithArgs(custodian.write.activateExodus({ account: dave.account }), custodian, "ExodusActivated", [await custodian.read.stateRoot(), 5n, deadline]);
      await viem.assertions.revertWithCustomError(custodian.write.requestFeeWithdrawal([1n], { account: operator.account }), custodian, "ExodusModeActive");
      await viem.assertions.revertWithCustomError(custodian.write.requestInsuranceWithdrawal([1n], await asTimelock(env)), custodian, "ExodusModeActive");
    });

    it("a pending treasury request refunds nothing: refundDeposit refuses its index (RequestMismatch), while a deposit behind it is refunded", async () => {
      const env = await networkHelpers.loadFixture(withRecipients);
      const { custodian, operator, carol, dave, usdc } = env;
      await custodian.write.requestFeeWithdrawal([30n * USDC], { account: operator.account });
      await custodian.write.depositTo([1, 0, 10n * USDC], { account: carol.account });
      await networkHelpers.time.increase(TEST_REQUEST_DEADLINE);
      await custodian.write.activateExodus({ account: dave.account });
      const before = await snapshot(env);
      // Index 5 is the fee withdrawal: no record it could be given as is a deposit.
      for (const [accountId, amount] of [[0, 30n * USDC], [1, 30n * USDC], [0, 10n * USDC]] as const) {
        await viem.assertions.revertWithCustomErrorWithArgs(
          custodian.write.refundDeposit([5n, accountId, 0, amount], { account: dave.account }), custodian, "RequestMismatch", [5n]);
      }
      assert.deepEqual(await snapshot(env), before);
      const paid = await usdc.read.balanceOf([carol.account.address]);
      await custodian.write.refundDeposit([6n, 1, 0, 10n * USDC], { account: dave.account });
      assert.equal(await custodian.read.withdrawable([carol.account.address, 0]), 10n * USDC, "credited to the depositor");
      await custodian.write.withdraw([0], { account: carol.account });
      assert.equal(await usdc.read.balanceOf([carol.account.address]), paid + 10n * USDC);
    });
  });
});
