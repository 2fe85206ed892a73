/**
 * Forced requests on the custodian (issue 12): an account's owner queues FORCED_WITHDRAW (spot) and
 * FORCED_COLLATERAL_WITHDRAW (derivatives collateral) requests the operator must consume within the deadline;
 * the batch carries the circuit's outcome byte, which the custodian clears before checking the request chain and
 * credits only when it is 1. Attacks first: an operator flipping or forging the outcome or the amount, a spammer
 * filling the queue.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, hexToBytes, parseEventLogs, type Hex } from "viem";

import { FORCED_OUTCOME_OFFSET, RECORD_BYTES, TxType } from "../../sequencer/protocol/constants.ts";
import { encodeRecord, nextRequestChain, type SlotRecord } from "../../sequencer/protocol/publicData.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { PROOF, TEST_REQUEST_DEADLINE, compressKey, hex, pubKeyOf, recordsOffset } from "./helpers.ts";
import { ETH, ORACLE_KEY, USDC, exitFixtures } from "./exitFixture.ts";
import { queuedRequestOf, waitingRequestTx } from "../../sequencer/chain/requests.ts";

const connection = await network.create();
const { viem, networkHelpers } = connection;
const { deployFunded } = exitFixtures(connection);

/** deployFunded with the oracle key set (forceWithdrawCollateral needs it: no batch could judge collateral without marks). */
async function fundedWithOracle() {
  const env = await deployFunded();
  await env.custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]);
  return env;
}
const spotOnly = exitFixtures(connection, { ...TEST_PARAMS, derivSlots: 0, instruments: 0, positionSlots: 0, optionInstruments: 0 });

type Env = Awaited<ReturnType<typeof fundedWithOracle>>;

/** A custodian with 64 spot slots and room for 4096 accounts, and `n` impersonated owners (from `base`) with registered keys, proven. */
async function manyAccounts(n: number, base: bigint) {
  const wide = exitFixtures(connection, { ...TEST_PARAMS, accountLevels: 6, slots: 64 });
  const env = await wide.deployBase();
  const b = wide.batches(env);
  const key = pubKeyOf(base);
  const owners: Hex[] = Array.from({ length: n }, (_, i) => `0x${(base + BigInt(i)).toString(16).padStart(40, "0")}` as Hex);
  for (const owner of owners) {
    await networkHelpers.impersonateAccount(owner);
    await networkHelpers.setBalance(owner, 10n ** 18n);
    await env.custodian.write.registerTradingKey([key[0], key[1]], { account: owner });
  }
  for (let i = 0; i < n; i += 64) {
    await b.submit(owners.slice(i, i + 64).map((_, j) => ({ type: TxType.REGISTER_KEY, accountId: BigInt(i + j + 1), pubKey: compressKey(key) })));
  }
  /** The operator consumes the forced withdrawals of accounts [from + 1, to + 1) (refused: no balances), 64 a batch. */
  const serve = async (from: number, to: number) => {
    for (let i = from; i < to; i += 64) {
      await b.submit(Array.from({ length: Math.min(64, to - i) }, (_, j) => forced(TxType.FORCED_WITHDRAW, BigInt(i + j + 1), 0n, 1n)));
    }
  };
  return { custodian: env.custodian, owners, now: b.now, serve };
}

const forced = (type: 12 | 13, accountId: bigint, tokenId: bigint, amount: bigint, honoured = 0n): SlotRecord =>
  ({ type, accountId, tokenId, amount, honoured }) as SlotRecord;

/** Everything a refused call or batch must leave unchanged. */
async function snapshot(env: Env) {
  const { custodian, alice, bob } = env;
  const read = [
    custodian.read.stateRoot(), custodian.read.batchCount(), custodian.read.processedRequests(), custodian.read.requestCount(),
    custodian.read.openForcedRequests(), custodian.read.owed([0]), custodian.read.owed([1]),
    custodian.read.withdrawable([alice.account.address, 0]), custodian.read.withdrawable([alice.account.address, 1]),
    custodian.read.withdrawable([bob.account.address, 0]),
  ];
  return Promise.all(read as Promise<unknown>[]);
}

/** Submits public data `pd` and expects `error(args)`, with nothing changed. */
async function expectBatchRejected(env: Env, pd: Uint8Array, error: string, args: readonly unknown[]) {
  const before = await snapshot(env);
  await viem.assertions.revertWithCustomErrorWithArgs(
    env.custodian.write.submitBatch([hex(pd), PROOF], { account: env.operator.account }), env.custodian, error as never, args as never);
  assert.deepEqual(await snapshot(env), before);
}

describe("forced requests", () => {
  it("forceWithdraw queues FORCED_WITHDRAW (honoured 0) as the TS encoder, stamped with its time and owner; collateral in token 0", async () => {
    const env = await networkHelpers.loadFixture(fundedWithOracle);
    const { custodian, alice, bob, publicClient } = env;
    const index = await custodian.read.requestCount();
    const chain0 = await custodian.read.requestChain([index]);
    const hash = await custodian.write.forceWithdraw([1, ETH], { account: alice.account });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    const block = await publicClient.getBlock({ blockNumber: receipt.blockNumber });
    const record = encodeRecord(forced(TxType.FORCED_WITHDRAW, 1n, 1n, ETH));
    assert.equal(record[FORCED_OUTCOME_OFFSET], 0);
    const [queued] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "RequestQueued" });
    assert.deepEqual(hexToBytes(queued.args.record), record);
    const [ev] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "ForcedWithdrawalRequested" });
    assert.deepEqual(ev.args, { accountId: 1, txType: TxType.FORCED_WITHDRAW, tokenId: 1, amount: ETH, requestIndex: index });
    assert.equal(await custodian.read.requestChain([index + 1n]), nextRequestChain(chain0, record));
    assert.equal(await custodian.read.queuedAt([index]), block.timestamp);
    assert.equal(await custodian.read.queuedBy([index]), getAddress(alice.account.address));
    assert.equal(await custodian.read.openForcedRequests(), 1);

    const r2 = await publicClient.waitForTransactionReceipt({ hash: await custodian.write.forceWithdrawCollateral([7n * USDC], { account: bob.account }) });
    const [q2] = parseEventLogs({ abi: custodian.abi, logs: r2.logs, eventName: "RequestQueued" });
    assert.deepEqual(hexToBytes(q2.args.record), encodeRecord(forced(TxType.FORCED_COLLATERAL_WITHDRAW, 2n, 0n, 7n * USDC)));
    assert.equal(await custodian.read.queuedBy([index + 1n]), getAddress(bob.account.address));
    assert.equal(await custodian.read.openForcedRequests(), 2);
  });

  it("forceClose queues FORCED_CLOSE (honoured 0) as the TS encoder: the forced-request record with the instrument as its token and the counterparty and lots as its amount", async () => {
    const env = await networkHelpers.loadFixture(fundedWithOracle);
    const { custodian, alice, publicClient } = env;
    const index = await custodian.read.requestCount();
    const chain0 = await custodian.read.requestChain([index]);
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await custodian.write.forceClose([1, 2, 6_000n], { account: alice.account }) });
    const record = encodeRecord({ type: TxType.FORCED_CLOSE, accountId: 1n, instrumentId: 1n, counterpartyId: 2n, lots: 6_000n, honoured: 0n });
    const [queued] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "RequestQueued" });
    assert.deepEqual(hexToBytes(queued.args.record), record);
    const [ev] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "ForcedWithdrawalRequested" });
    assert.deepEqual(ev.args, { accountId: 1, txType: TxType.FORCED_CLOSE, tokenId: 1, amount: (2n << 64n) | 6_000n, requestIndex: index });
    assert.equal(await custodian.read.requestChain([index + 1n]), nextRequestChain(chain0, record));
    assert.equal(await custodian.read.openForcedRequests(), 1);
    await viem.assertions.revertWithCustomErrorWithArgs(
      custodian.write.forceClose([1, 2, 1n], { account: alice.account }), custodian, "ForcedRequestPending", [1, index]);
  });

  it("forceClose refuses what no slot could prove, queueing nothing: an instrument beyond the table, the caller itself or an unassigned account as counterparty, 0 or 2^40 lots; and before the oracle key", async () => {
    const env = await networkHelpers.loadFixture(fundedWithOracle);
    const { custodian, alice, carol } = env;
    const before = await snapshot(env);
    const instruments = await custodian.read.instruments();
    for (const [instrument, counterparty, lots] of [[instruments, 2, 1n], [0, 1, 1n], [0, 9, 1n], [0, 2, 0n], [0, 2, 1n << 40n]] as const) {
      await viem.assertions.revertWithCustomErrorWithArgs(
        custodian.write.forceClose([instrument, counterparty, lots], { account: alice.account }), custodian, "BadForcedClose", [instrument, counterparty, lots]);
    }
    await viem.assertions.revertWithCustomErrorWithArgs(
      custodian.write.forceClose([0, 1, 1n], { account: carol.account }), custodian, "NoAccount", [getAddress(carol.account.address)]);
    assert.deepEqual(await snapshot(env), before);
    const noKey = await networkHelpers.loadFixture(deployFunded);
    await viem.assertions.revertWithCustomError(noKey.custodian.write.forceClose([0, 2, 1n], { account: noKey.alice.account }), noKey.custodian, "OracleKeyNotSet");
  });

  it("a batch consuming a forced close pays nothing, honoured or refused (it moves positions in the rollup only), and reports the outcome: ForcedCloseProven", async () => {
    const env = await networkHelpers.loadFixture(fundedWithOracle);
    const { custodian, alice, bob, publicClient } = env;
    await custodian.write.forceClose([0, 2, 5n], { account: alice.account });
    await custodian.write.forceClose([0, 1, 7n], { account: bob.account });
    const fc = (accountId: bigint, counterpartyId: bigint, lots: bigint, honoured: bigint): SlotRecord =>
      ({ type: TxType.FORCED_CLOSE, accountId, instrumentId: 0n, counterpartyId, lots, honoured });
    const owedBefore = [await custodian.read.owed([0]), await custodian.read.owed([1])];
    const processed = await custodian.read.processedRequests();
    for (const [accountId, counterpartyId, lots, honoured] of [[1n, 2n, 5n, 1n], [2n, 1n, 7n, 0n]] as const) {
      const batchNumber = await custodian.read.batchCount();
      const receipt = await publicClient.waitForTransactionReceipt({ hash: await env.submit([], [fc(accountId, counterpartyId, lots, honoured)]) });
      const events = parseEventLogs({ abi: custodian.abi, logs: receipt.logs });
      assert.deepEqual(events.map((e) => e.eventName), ["ForcedCloseProven", "BatchSubmitted"], "no credit, no refusal of a withdrawal");
      const [proven] = parseEventLogs({ abi: custodian.abi, logs: receipt.logs, eventName: "ForcedCloseProven" });
      assert.deepEqual(proven.args, {
        batchNumber, accountId: Number(accountId), instrumentId: 0, counterpartyId: Number(counterpartyId), lots, honoured: honoured === 1n,
      });
    }
    assert.deepEqual([await custodian.read.owed([0]), await custodian.read.owed([1])], owedBefore);
    for (const who of [alice, bob]) assert.equal(await custodian.read.withdrawable([who.account.address, 0]), 0n);
    assert.equal(await custodian.read.processedRequests(), processed + 2n, "both requests consumed");
    assert.equal(await custodian.read.openForcedRequests(), 0, "their places in the cap given back");
  });

  it("refuses callers without an account, amount 0 and unknown tokens, queueing nothing", async () => {
    const env = await networkHelpers.loadFixture(fundedWithOracle);
    const { custodian, alice, carol } = env;
    const before = await snapshot(env);
    await viem.assertions.revertWithCustomErrorWithArgs(
      custodian.write.forceWithdraw([0, 1n], { account: carol.account }), custodian, "NoAccount", [getAddress(carol.account.address)]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      custodian.write.forceWithdrawCollateral([1n], { account: carol.account }), custodian, "NoAccount", [getAddress(carol.account.address)]);
    await viem.assertions.revertWithCustomError(custodian.write.forceWithdraw([0, 0n], { account: alice.account }), custodian, "ZeroForcedAmount");
    await viem.assertions.revertWithCustomError(custodian.write.forceWithdrawCollateral([0n], { account: alice.account }), custodian, "ZeroForcedAmount");
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.forceWithdraw([2, 1n], { account: alice.account }), custodian, "UnknownToken", [2]);
    assert.deepEqual(await snapshot(env), before);
  });

  it("refuses a collateral withdrawal before the oracle key is set (OracleKeyNotSet): no batch could judge it without marks, and no collateral exists yet", async () => {
    const env = await networkHelpers.loadFixture(deployFunded);
    const before = await snapshot(env);
    await viem.assertions.revertWithCustomError(
      env.custodian.write.forceWithdrawCollateral([1n], { account: env.alice.account }), env.custodian, "OracleKeyNotSet");
    assert.deepEqual(await snapshot(env), before);
    await env.custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]);
    await env.custodian.write.forceWithdrawCollateral([1n], { account: env.alice.account });
    assert.equal(await env.custodian.read.openForcedRequests(), 1);
  });

  it("a spot-only custodian refuses collateral withdrawals (NoDerivativesSlots): nothing could ever consume them", async () => {
    const env = await networkHelpers.loadFixture(spotOnly.deployBase);
    await env.custodian.write.registerTradingKey([pubKeyOf(9n)[0], pubKeyOf(9n)[1]], { account: env.alice.account });
    await viem.assertions.revertWithCustomError(
      env.custodian.write.forceWithdrawCollateral([1n], { account: env.alice.account }), env.custodian, "NoDerivativesSlots");
    await env.custodian.write.forceWithdraw([0, 1n], { account: env.alice.account });
  });

  it("per-account cap: forced closes of several instruments are queued at once, one per instrument id beside the account's forced withdrawal (a trader closes every position within one deadline); a second close of the same instrument is refused until a batch consumed the first (review of 2026-12-05)", async () => {
    const env = await networkHelpers.loadFixture(fundedWithOracle);
    const { custodian, alice } = env;
    const index = await custodian.read.requestCount();
    const instruments = Number(await custodian.read.instruments());
    assert.ok(instruments >= 2);
    for (let i = 0; i < instruments; i++) await custodian.write.forceClose([i, 2, 1n], { account: alice.account });
    await custodian.write.forceWithdrawCollateral([1n], { account: alice.account });
    assert.equal(await custodian.read.requestCount(), index + BigInt(instruments) + 1n);
    assert.equal(await custodian.read.openForcedRequests(), instruments + 1);
    for (let i = 0; i < instruments; i++) {
      await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.forceClose([i, 2, 2n], { account: alice.account }), custodian, "ForcedRequestPending", [1, index + BigInt(i)]);
    }
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.forceWithdraw([0, 1n], { account: alice.account }), custodian, "ForcedRequestPending", [1, index + BigInt(instruments)]);
    // A batch (one derivatives slot) consumes the close of instrument 0, refused: only that one may be asked again.
    await env.submit([], [{ type: TxType.FORCED_CLOSE, accountId: 1n, instrumentId: 0n, counterpartyId: 2n, lots: 1n, honoured: 0n }]);
    await custodian.write.forceClose([0, 2, 2n], { account: alice.account });
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.forceClose([1, 2, 2n], { account: alice.account }), custodian, "ForcedRequestPending", [1, index + 1n]);
  });

  it("per-account cap: a second forced withdrawal of either kind while one is unconsumed is refused, allowed once a batch consumed it", async () => {
    const env = await networkHelpers.loadFixture(fundedWithOracle);
    const { custodian, alice, bob } = env;
    const index = await custodian.read.requestCount();
    await custodian.write.forceWithdraw([0, 10n * USDC], { account: alice.account });
    for (const call of [custodian.write.forceWithdraw([0, 1n], { account: alice.account }), custodian.write.forceWithdrawCollateral([1n], { account: alice.account })]) {
      await viem.assertions.revertWithCustomErrorWithArgs(call, custodian, "ForcedRequestPending", [1, index]);
    }
    // Another account is not affected.
    await custodian.write.forceWithdraw([0, 1n * USDC], { account: bob.account });
    // One batch consumes both (refusing Alice's, honouring Bob's): both may force again.
    await env.submit([forced(TxType.FORCED_WITHDRAW, 1n, 0n, 10n * USDC, 0n), forced(TxType.FORCED_WITHDRAW, 2n, 0n, 1n * USDC, 1n)]);
    assert.equal(await custodian.read.openForcedRequests(), 0);
    await custodian.write.forceWithdrawCollateral([5n], { account: alice.account });
    await custodian.write.forceWithdraw([0, 5n], { account: bob.account });
  });

  it("total cap: MAX_OPEN_FORCED_REQUESTS (1024) open forced requests; the next waits in line and the next batch consuming some admits it before anyone can queue anew (zero-balance accounts refilling the cap cannot shut a user out)", async () => {
    // A custodian with room for 4096 accounts, 1025 owners (impersonated), one forced request each.
    const big = exitFixtures(connection, { ...TEST_PARAMS, accountLevels: 6 });
    const env = await big.deployBase();
    const { custodian } = env;
    const max = Number(await custodian.read.MAX_OPEN_FORCED_REQUESTS());
    assert.equal(max, 1024);
    const key = pubKeyOf(77n);
    const owners: Hex[] = Array.from({ length: max + 1 }, (_, i) => `0x${(0x10000n + BigInt(i)).toString(16).padStart(40, "0")}` as Hex);
    for (const owner of owners) {
      await networkHelpers.impersonateAccount(owner);
      await networkHelpers.setBalance(owner, 10n ** 18n);
      await custodian.write.registerTradingKey([key[0], key[1]], { account: owner });
    }
    // Consume the registrations (2 spot slots per batch).
    const nRegs = owners.length;
    for (let i = 0; i < nRegs; i += 2) {
      const records: SlotRecord[] = [];
      for (let j = i; j < Math.min(i + 2, nRegs); j++) records.push({ type: TxType.REGISTER_KEY, accountId: BigInt(j + 1), pubKey: compressKey(key) });
      await big.batches(env).submit(records);
    }
    for (const owner of owners.slice(0, max)) await custodian.write.forceWithdraw([0, 1n], { account: owner });
    assert.equal(await custodian.read.openForcedRequests(), max);
    const count = await custodian.read.requestCount();
    // The last owner (the user the others crowd out) asks: no place, so it waits in line; nothing is queued.
    const user = owners[max];
    const userId = max + 1;
    const waited = await env.publicClient.waitForTransactionReceipt({ hash: await custodian.write.forceWithdraw([0, 7n], { account: user }) });
    const [waiting] = parseEventLogs({ abi: custodian.abi, logs: waited.logs, eventName: "ForcedWithdrawalWaiting" });
    assert.deepEqual(waiting.args, { accountId: userId, txType: TxType.FORCED_WITHDRAW, tokenId: 0, amount: 7n, position: 0n });
    assert.equal(await custodian.read.requestCount(), count);
    assert.deepEqual(await custodian.read.waitingLine(), [0n, 1n]);
    const WAITING = await custodian.read.WAITING();
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.forceWithdraw([0, 1n], { account: user }), custodian, "ForcedRequestPending", [userId, WAITING]);
    // A batch consumes the first two (refused: no balances): it admits the waiting request into one of the two places.
    const batch = await env.publicClient.waitForTransactionReceipt({ hash: await big.batches(env).submit([forced(TxType.FORCED_WITHDRAW, 1n, 0n, 1n), forced(TxType.FORCED_WITHDRAW, 2n, 0n, 1n)]) });
    const [admitted] = parseEventLogs({ abi: custodian.abi, logs: batch.logs, eventName: "ForcedWithdrawalRequested" });
    assert.deepEqual(admitted.args, { accountId: userId, txType: TxType.FORCED_WITHDRAW, tokenId: 0, amount: 7n, requestIndex: count });
    // The page reads the waiting entry (ForcedWithdrawalWaiting) as the record the custodian queued on admission.
    const [record] = parseEventLogs({ abi: custodian.abi, logs: batch.logs, eventName: "RequestQueued" });
    assert.deepEqual(waitingRequestTx(waiting.args), queuedRequestOf(record).tx);
    assert.equal(await custodian.read.requestCount(), count + 1n);
    assert.equal(await custodian.read.openForcedRequests(), max - 1);
    assert.deepEqual(await custodian.read.waitingLine(), [1n, 1n]);
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.forceWithdraw([0, 1n], { account: user }), custodian, "ForcedRequestPending", [userId, count]);
    // The two refused accounts refill: the first takes the last place, the second waits.
    await custodian.write.forceWithdraw([0, 1n], { account: owners[0] });
    assert.equal(await custodian.read.openForcedRequests(), max);
    assert.equal((await custodian.simulate.forceWithdraw([0, 1n], { account: owners[1] })).result, WAITING, "returns WAITING");
    await custodian.write.forceWithdraw([0, 1n], { account: owners[1] });
    assert.deepEqual(await custodian.read.waitingLine(), [1n, 2n]);

    // Forced closes wait the same way, one per instrument id beside the account's forced withdrawal (admitted, above).
    await custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]);
    for (const instrument of [0, 1]) await custodian.write.forceClose([instrument, 1, 1n], { account: user });
    assert.deepEqual(await custodian.read.waitingLine(), [1n, 4n]);
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.forceClose([0, 2, 5n], { account: user }), custodian, "ForcedRequestPending", [userId, WAITING]);
    // A batch consuming two requests admits two: owners[1]'s withdrawal, then the user's close of instrument 0, whose
    // queue index is now its account's pending close of that instrument; the close of instrument 1 still waits.
    await big.batches(env).submit([forced(TxType.FORCED_WITHDRAW, 3n, 0n, 1n), forced(TxType.FORCED_WITHDRAW, 4n, 0n, 1n)]);
    assert.deepEqual(await custodian.read.waitingLine(), [3n, 4n]);
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.forceClose([0, 2, 5n], { account: user }), custodian, "ForcedRequestPending", [userId, count + 3n]);
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.forceClose([1, 2, 5n], { account: user }), custodian, "ForcedRequestPending", [userId, WAITING]);
  });

  it("attack: an operator's own accounts in line ahead of a user cannot delay the user's forced request past the deadline of its call (its deadline runs from joining the line, not from the admission)", async () => {
    // 1024 operator accounts fill the cap, 1024 more wait in line, then the user joins the line behind them. The
    // operator serves each of its requests (refused: no balances) just before its deadline, 64 a batch: were the
    // deadline counted from the admission, the user would be admitted only after two deadlines, and reach exodus
    // after three, past a timelocked change announced when the user asked.
    const MAX = 1024;
    const { custodian, owners, now, serve } = await manyAccounts(2 * MAX + 1, 0x20000n);
    for (const owner of owners.slice(0, 2 * MAX)) await custodian.write.forceWithdraw([0, 1n], { account: owner });
    assert.deepEqual(await custodian.read.waitingLine(), [0n, BigInt(MAX)]);
    const user = owners[2 * MAX]!;
    await custodian.write.forceWithdraw([0, 7n], { account: user });
    const joined = await now();
    const deadline = BigInt(TEST_REQUEST_DEADLINE);
    assert.ok(await custodian.read.exodusAvailableAt() <= joined + deadline);
    // Round 1, just before the first requests' deadline: all 1024 served, the 1024 in line admitted.
    await networkHelpers.time.increaseTo(joined + deadline - 600n);
    const firstAdmitted = await custodian.read.requestCount();
    await serve(0, MAX);
    assert.deepEqual(await custodian.read.waitingLine(), [BigInt(MAX), BigInt(MAX + 1)], "the user still waits");
    assert.ok(await custodian.read.queuedAt([firstAdmitted]) < joined, "an admitted request is stamped with when it joined the line");
    // The admitted requests and the user's still count from when they joined: every one of them is due by the
    // user's deadline, and the custodian says so.
    assert.ok(await custodian.read.exodusAvailableAt() <= joined + deadline);
    // Round 2 would come too late: past the user's deadline anyone may start the exodus, although every request in
    // the queue was admitted less than a deadline ago.
    await networkHelpers.time.increaseTo(joined + deadline);
    await custodian.write.activateExodus();
    assert.equal(await custodian.read.exodusMode(), true);
  });

  it("the admitted entries leave the line once consumed; exodusAvailableAt then counts from the queue alone", async () => {
    const MAX = 1024;
    const { custodian, owners, now, serve } = await manyAccounts(MAX + 2, 0x30000n);
    for (const owner of owners) await custodian.write.forceWithdraw([0, 1n], { account: owner });
    const lastJoined = await now();
    assert.deepEqual(await custodian.read.waitingLine(), [0n, 2n]);
    // One batch consumes two: both waiting requests are admitted, still counted from their joins.
    await networkHelpers.time.increase(600);
    await serve(0, 2);
    assert.deepEqual(await custodian.read.waitingLine(), [2n, 2n]);
    // The rest of the queue, then the two admitted ones: nothing left, no exodus clock.
    await serve(2, MAX + 2);
    assert.equal(await custodian.read.openForcedRequests(), 0);
    assert.equal(await custodian.read.exodusAvailableAt(), 2n ** 256n - 1n);
    // A new request counts from its own queueing.
    await custodian.write.forceWithdraw([0, 1n], { account: owners[0]! });
    const at = await now();
    assert.ok(at > lastJoined);
    assert.equal(await custodian.read.exodusAvailableAt(), at + BigInt(TEST_REQUEST_DEADLINE));
  });

  it("forced cancel (a key rotation) is queued with its time: the same deadline as every request", async () => {
    const env = await networkHelpers.loadFixture(fundedWithOracle);
    const { custodian, alice, publicClient } = env;
    assert.equal(await custodian.read.exodusAvailableAt(), 2n ** 256n - 1n);
    const index = await custodian.read.requestCount();
    const newKey = pubKeyOf(999n);
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await custodian.write.registerTradingKey([newKey[0], newKey[1]], { account: alice.account }) });
    const { timestamp } = await publicClient.getBlock({ blockNumber: receipt.blockNumber });
    assert.equal(await custodian.read.queuedAt([index]), timestamp);
    assert.equal(await custodian.read.exodusAvailableAt(), timestamp + BigInt(TEST_REQUEST_DEADLINE));
  });

  it("a batch credits honoured forced withdrawals to the owner (collateral in token 0) and credits nothing for refused ones", async () => {
    const env = await networkHelpers.loadFixture(fundedWithOracle);
    const { custodian, alice, bob } = env;
    await custodian.write.forceWithdraw([1, ETH], { account: alice.account });
    await custodian.write.forceWithdraw([0, 10_000n * USDC], { account: bob.account });
    const owed0 = await custodian.read.owed([0]);
    // Alice's honoured (spot slot 0), Bob's refused (spot slot 1).
    const r1 = await env.publicClient.waitForTransactionReceipt({ hash: await env.submit([
      forced(TxType.FORCED_WITHDRAW, 1n, 1n, ETH, 1n), forced(TxType.FORCED_WITHDRAW, 2n, 0n, 10_000n * USDC, 0n),
    ]) });
    const credited = parseEventLogs({ abi: custodian.abi, logs: r1.logs, eventName: "WithdrawalCredited" });
    assert.deepEqual(credited.map((e) => [e.args.accountId, e.args.tokenId, e.args.amount]), [[1, 1, ETH]]);
    const refused = parseEventLogs({ abi: custodian.abi, logs: r1.logs, eventName: "ForcedWithdrawalRefused" });
    assert.deepEqual(refused.map((e) => [e.args.accountId, e.args.tokenId, e.args.amount]), [[2, 0, 10_000n * USDC]]);
    assert.equal(await custodian.read.withdrawable([alice.account.address, 1]), ETH);
    assert.equal(await custodian.read.withdrawable([bob.account.address, 0]), 0n);
    assert.equal(await custodian.read.owed([1]), ETH);
    assert.equal(await custodian.read.owed([0]), owed0);
    // Collateral: a derivatives slot, token 0.
    await custodian.write.forceWithdrawCollateral([300n * USDC], { account: bob.account });
    await env.submit([], [forced(TxType.FORCED_COLLATERAL_WITHDRAW, 2n, 0n, 300n * USDC, 1n)]);
    assert.equal(await custodian.read.withdrawable([bob.account.address, 0]), 300n * USDC);
    assert.equal(await custodian.read.owed([0]), 300n * USDC);
    assert.equal(await custodian.read.openForcedRequests(), 0);
    // Pulled with the ordinary withdraw.
    const before = await env.usdc.read.balanceOf([bob.account.address]);
    await custodian.write.withdraw([0], { account: bob.account });
    assert.equal(await env.usdc.read.balanceOf([bob.account.address]), before + 300n * USDC);
    assert.equal(await custodian.read.owed([0]), 0n);
  });

  it("requests queued across slot classes (a collateral withdrawal, then a forced withdrawal and a deposit) fill one batch: each class's requests in queue order, merged as the queue has them; any other order is refused", async () => {
    const env = await networkHelpers.loadFixture(fundedWithOracle);
    const { custodian, alice, bob } = env;
    const first = await custodian.read.processedRequests();
    await custodian.write.forceWithdrawCollateral([300n * USDC], { account: alice.account }); // derivatives slot
    await custodian.write.forceWithdraw([0, 5n * USDC], { account: bob.account }); // spot slot
    await custodian.write.deposit([0, 7n * USDC], { account: alice.account }); // spot slot
    const fcw = forced(TxType.FORCED_COLLATERAL_WITHDRAW, 1n, 0n, 300n * USDC, 0n);
    const fw = forced(TxType.FORCED_WITHDRAW, 2n, 0n, 5n * USDC, 1n);
    const deposit: SlotRecord = { type: TxType.DEPOSIT, accountId: 1n, tokenId: 0n, amount: 7n * USDC };
    // the spot slots' requests out of their queue order: no merge is the queue
    await viem.assertions.revertWithCustomErrorWithArgs(env.submit([deposit, fw], [fcw]), custodian, "UnqueuedRequest", [first, 3n]);
    // a batch that leaves out the request between two it takes
    await viem.assertions.revertWithCustomErrorWithArgs(env.submit([deposit], [fcw]), custodian, "UnqueuedRequest", [first, 2n]);
    // the spot slots apply first, the derivatives slot after, and the custodian takes the three as the queue has them
    await env.submit([fw, deposit], [fcw]);
    assert.equal(await custodian.read.processedRequests(), first + 3n);
    assert.equal(await custodian.read.openForcedRequests(), 0);
    assert.equal(await custodian.read.withdrawable([bob.account.address, 0]), 5n * USDC);
  });

  describe("a dishonest operator", () => {
    async function queuedOne() {
      const env = await fundedWithOracle();
      await env.custodian.write.forceWithdraw([0, 100n * USDC], { account: env.alice.account });
      return env;
    }
    const queued = forced(TxType.FORCED_WITHDRAW, 1n, 0n, 100n * USDC);

    it("flipping the outcome byte to anything but 0 or 1 (2, 3, 0xff) is refused: BadForcedOutcome", async () => {
      const env = await networkHelpers.loadFixture(queuedOne);
      for (const outcome of [2, 3, 0xff]) {
        const pd = await env.nextBatch([queued]);
        pd[recordsOffset(TEST_PARAMS) + FORCED_OUTCOME_OFFSET] = outcome;
        await expectBatchRejected(env, pd, "BadForcedOutcome", [0n, outcome]);
      }
    });

    it("changing the amount, the account, the token, the type or the padding is refused: the request chain does not match", async () => {
      const env = await networkHelpers.loadFixture(queuedOne);
      for (const record of [
        forced(TxType.FORCED_WITHDRAW, 1n, 0n, 100n * USDC + 1n, 1n),
        forced(TxType.FORCED_WITHDRAW, 1n, 0n, 1n, 1n),
        forced(TxType.FORCED_WITHDRAW, 2n, 0n, 100n * USDC, 1n),
        forced(TxType.FORCED_WITHDRAW, 1n, 1n, 100n * USDC, 1n),
      ]) {
        await expectBatchRejected(env, await env.nextBatch([record]), "UnqueuedRequest", [5n, 1n]);
      }
      // A plain WITHDRAW in its place is no claim on the request (the circuit proves it as an ordinary withdrawal):
      // the forced request stays first in the queue, its deadline running.
      const at = await env.custodian.read.exodusAvailableAt();
      await env.submit([{ type: TxType.WITHDRAW, accountId: 1n, tokenId: 0n, amount: 100n * USDC }]);
      assert.equal(await env.custodian.read.processedRequests(), 5n);
      assert.equal(await env.custodian.read.exodusAvailableAt(), at);
      const dirty = await env.nextBatch([queued]);
      dirty[recordsOffset(TEST_PARAMS) + RECORD_BYTES - 1] = 1;
      await expectBatchRejected(env, dirty, "UnqueuedRequest", [5n, 1n]);
      // The honest record is accepted.
      await env.submit([{ ...queued, honoured: 1n } as SlotRecord]);
      assert.equal(await env.custodian.read.processedRequests(), 6n);
      assert.equal(await env.custodian.read.withdrawable([env.alice.account.address, 0]), 200n * USDC);
    });

    it("a FORCED_WITHDRAW in a derivatives slot, or a FORCED_COLLATERAL_WITHDRAW in a spot slot, is refused: UnknownTxType", async () => {
      const env = await networkHelpers.loadFixture(queuedOne);
      await expectBatchRejected(env, await env.nextBatch([], [queued]), "UnknownTxType", [BigInt(TEST_PARAMS.slots), TxType.FORCED_WITHDRAW]);
      const collateral = forced(TxType.FORCED_COLLATERAL_WITHDRAW, 1n, 0n, 100n * USDC);
      await expectBatchRejected(env, await env.nextBatch([collateral]), "UnknownTxType", [0n, TxType.FORCED_COLLATERAL_WITHDRAW]);
      // Queued as a spot withdrawal, consumed as a collateral withdrawal in the derivatives slot: the types differ.
      await expectBatchRejected(env, await env.nextBatch([], [collateral]), "UnqueuedRequest", [5n, 1n]);
    });

    it("a refused outcome credits nothing even with a non-zero amount; the honoured one is credited once", async () => {
      const env = await networkHelpers.loadFixture(queuedOne);
      await env.submit([queued]);
      assert.equal(await env.custodian.read.withdrawable([env.alice.account.address, 0]), 0n);
      // Replaying the record in a later batch is a claim of an unqueued request.
      await expectBatchRejected(env, await env.nextBatch([{ ...queued, honoured: 1n } as SlotRecord]), "UnqueuedRequest", [6n, 1n]);
    });
  });
});
