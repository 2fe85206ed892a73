/**
 * The admin cannot act overnight (issue 12): granting OPERATOR_ROLE and replacing the oracle key need the
 * timelock (OpenZeppelin TimelockController, delay > request deadline, checked at deployment), whose CallScheduled
 * event announces them; the default admin's transfer delay also exceeds the deadline. Attacks: the admin granting
 * itself OPERATOR_ROLE or TIMELOCK_ROLE, or replacing the oracle key, directly (refused) and through the timelock
 * before its delay (refused) and after (works, with the events). Also the deployed bytecode's size bound, the
 * deployment script's timelock, and the timelock's own roles and delay (AdminTimelock: no configuration of it leaves
 * nobody able to propose or execute; review of 2026-12-06).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { artifacts, network } from "hardhat";
import { encodeFunctionData, getAddress, getContract, keccak256, stringToHex, parseEventLogs, zeroAddress, zeroHash, type Address, type Hex, type PublicClient, type WalletClient } from "viem";

import { CUSTODIAN_LIBRARIES, custodianArgs, DEFAULT_REQUEST_DEADLINE, type CustodianRoles } from "../../sequencer/chain/custodianArgs.ts";
import { adminTimelockAbi, custodianAbi } from "../../sequencer/chain/abi.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { deployCustodian, TIMELOCK_MARGIN_SECONDS } from "../../scripts/deploy/deployExchange.ts";
import { TEST_REQUEST_DEADLINE, TEST_TIMELOCK_DELAY, compressKey, deployCustodianContract, pubKeyOf } from "./helpers.ts";
import { ORACLE_KEY, exitFixtures } from "./exitFixture.ts";

const connection = await network.create();
const { viem, networkHelpers } = connection;
const { deployBase } = exitFixtures(connection);

/** EIP-170: the largest deployed bytecode a chain accepts. */
const MAX_CODE_SIZE = 24_576;
/**
 * Room the custodian keeps under MAX_CODE_SIZE for the next changes: its exodus payouts, batch credits, key and
 * instrument checks and batch record checks moved to linked libraries (CUSTODIAN_LIBRARIES) to make it. 1,500 until
 * forceClose (2026-12-05) took the margin to 1,195 bytes; moving its checks to a library saved 2 bytes; the exit's
 * split claim (2026-12-05) moved the exit's owner and once-only checks into CustodianPayouts to stay at 1,073 bytes,
 * and the exodus claim window (2026-12-06) moved market and token registration and the storing of oracle prices
 * into linked libraries, ending at 1,189 bytes; the timelock's delay checked at each use (2026-12-06) moved the
 * oracle section's check to BatchRecords, ending at 1,031 bytes; TIMELOCK_ROLE's renounce refused and one forced close
 * per instrument (2026-12-06, stop 46) moved the forced requests' entry to RequestQueue.requestForced, ending at 1,124
 * bytes; the later fixes of 2026-12-06 (the exit remainder, the timelock's floor) left 1,033; ahead of the marks
 * registry (issue 15, an immutable address and a static call per batch), the request entry points (2026-12-07) moved
 * to the libraries, each queueing its own record (RequestQueue.push: the custodian appends nothing itself), with the
 * forced requests' account and amount checks and the oracle key's check, ending at 2,686 bytes (2,668 once the oracle
 * section's marks key was added); the marks registry's read (2026-12-07: an immutable registry and key offset, a static
 * call in assembly: 155 bytes fewer than a checked call at an offset computed per batch) ended at 2,436 bytes, and
 * refusing options on a custodian without a registry (OptionsNeedMarksRegistry, 2026-12-07) at 2,318. What is left in the
 * custodian is mostly the batch path (kept there: every library call costs each batch a DELEGATECALL), access
 * control and views.
 */
const CODE_SIZE_RESERVE = 1_000;
/** TIMELOCK_ROLE's role admin: a role nobody holds (so nobody, the timelock included, can grant TIMELOCK_ROLE). */
const NO_ADMIN_ROLE = keccak256(stringToHex("NO_ADMIN_ROLE"));

describe("admin timelock", () => {
  it("the deployed custodian fits the EIP-170 code size limit with a 1,000-byte reserve, and so do its libraries and the timelock", async () => {
    const { deployedBytecode } = await artifacts.readArtifact("Custodian");
    const size = (deployedBytecode.length - 2) / 2;
    console.log(`\n  Custodian deployed bytecode: ${size} bytes (limit ${MAX_CODE_SIZE}, margin ${MAX_CODE_SIZE - size})`);
    assert.ok(size <= MAX_CODE_SIZE - CODE_SIZE_RESERVE, `${size} bytes`);
    for (const [, name] of CUSTODIAN_LIBRARIES) {
      const library = (await artifacts.readArtifact(name)).deployedBytecode;
      console.log(`  ${name} deployed bytecode: ${(library.length - 2) / 2} bytes`);
      assert.ok((library.length - 2) / 2 <= MAX_CODE_SIZE, name);
    }
    const timelockCode = (await artifacts.readArtifact("AdminTimelock")).deployedBytecode;
    console.log(`  AdminTimelock deployed bytecode: ${(timelockCode.length - 2) / 2} bytes`);
    assert.ok((timelockCode.length - 2) / 2 <= MAX_CODE_SIZE, "AdminTimelock");
    const env = await networkHelpers.loadFixture(deployBase);
    const code = await env.publicClient.getCode({ address: env.custodian.address });
    assert.equal((code!.length - 2) / 2, size);
  });

  it("deployment refuses a deadline of 0 or above 30 days, a timelock delay not above the deadline, and zero exit roles", async () => {
    const env = await networkHelpers.loadFixture(deployBase);
    const { custodian, roles } = env;
    const deploy = (over: Partial<CustodianRoles>) => deployCustodianContract(viem, custodianArgs(TEST_PARAMS, { ...roles, ...over }));
    await viem.assertions.revertWithCustomErrorWithArgs(deploy({ requestDeadline: 0 }), custodian, "InvalidRequestDeadline", [0n]);
    const max = 30 * 86400;
    assert.equal(await custodian.read.MAX_REQUEST_DEADLINE(), BigInt(max));
    await viem.assertions.revertWithCustomErrorWithArgs(deploy({ requestDeadline: max + 1 }), custodian, "InvalidRequestDeadline", [BigInt(max + 1)]);
    // The test timelock's delay is the deadline + 1 day: a deadline equal to it, or above, is refused.
    await viem.assertions.revertWithCustomErrorWithArgs(
      deploy({ requestDeadline: TEST_TIMELOCK_DELAY }), custodian, "TimelockDelayTooShort", [BigInt(TEST_TIMELOCK_DELAY), BigInt(TEST_TIMELOCK_DELAY)]);
    await deploy({ requestDeadline: TEST_TIMELOCK_DELAY - 1 });
    const long = await viem.deployContract("AdminTimelock", [BigInt(max + 1), [env.admin.account.address], [env.admin.account.address], zeroAddress]);
    await deploy({ requestDeadline: max, timelock: long.address });
    await viem.assertions.revertWithCustomError(deploy({ exitVerifier: zeroAddress }), custodian, "ZeroAddress");
    await viem.assertions.revertWithCustomError(deploy({ timelock: zeroAddress }), custodian, "ZeroAddress");
    await viem.assertions.revertWithCustomError(deploy({ treasury: zeroAddress }), custodian, "ZeroAddress");
    // An address with no getMinDelay() (an EOA) is no timelock.
    await assert.rejects(deploy({ timelock: env.admin.account.address }));
  });

  it("the admin granting itself OPERATOR_ROLE or TIMELOCK_ROLE (directly, or through TIMELOCK_ROLE's own role admin), or replacing the oracle key, directly: refused", async () => {
    const { custodian, admin } = await networkHelpers.loadFixture(deployBase);
    const [operatorRole, timelockRole] = [await custodian.read.OPERATOR_ROLE(), await custodian.read.TIMELOCK_ROLE()];
    const me = getAddress(admin.account.address);
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.grantRole([operatorRole, me]), custodian, "AccessControlUnauthorizedAccount", [me, timelockRole]);
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.grantRole([timelockRole, me]), custodian, "AccessControlUnauthorizedAccount", [me, NO_ADMIN_ROLE]);
    // nor through the role above it: nobody holds NO_ADMIN_ROLE, which is its own admin (were it the default admin's,
    // the admin would grant itself NO_ADMIN_ROLE, then TIMELOCK_ROLE: review of a59e140)
    assert.equal(await custodian.read.getRoleAdmin([NO_ADMIN_ROLE]), NO_ADMIN_ROLE);
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.grantRole([NO_ADMIN_ROLE, me]), custodian, "AccessControlUnauthorizedAccount", [me, NO_ADMIN_ROLE]);
    assert.equal(await custodian.read.hasRole([NO_ADMIN_ROLE, me]), false);
    // The first oracle key is the admin's (nothing can trade derivatives before it); a replacement is not.
    await custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]);
    const other = pubKeyOf(556n);
    await viem.assertions.revertWithCustomErrorWithArgs(custodian.write.setOracleKey([other[0], other[1]]), custodian, "AccessControlUnauthorizedAccount", [me, timelockRole]);
    assert.equal(await custodian.read.oracleKey(), compressKey(ORACLE_KEY));
    assert.equal(await custodian.read.hasRole([operatorRole, me]), false);
  });

  it("through the timelock: announced by CallScheduled, refused before the delay, effective after it (RoleGranted, OracleKeySet)", async () => {
    const env = await networkHelpers.loadFixture(deployBase);
    const { custodian, admin, timelock } = env;
    const { timelocked } = exitFixtures(connection).batches(env);
    const me = getAddress(admin.account.address);
    const operatorRole = await custodian.read.OPERATOR_ROLE();
    assert.equal(await timelock.read.getMinDelay(), BigInt(TEST_TIMELOCK_DELAY));
    assert.ok(TEST_TIMELOCK_DELAY > TEST_REQUEST_DEADLINE);
    await custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]);
    const other = pubKeyOf(556n);
    const grant = await timelocked("grantRole", [operatorRole, me]);
    const rekey = await timelocked("setOracleKey", [other[0], other[1]]);
    // The announcement: the target, the call and the delay, in the timelock's CallScheduled event.
    const receipt = await env.publicClient.waitForTransactionReceipt({ hash: await grant.scheduled });
    const [announced] = parseEventLogs({ abi: adminTimelockAbi, logs: receipt.logs, eventName: "CallScheduled" });
    assert.deepEqual([getAddress(announced.args.target), announced.args.data, announced.args.delay], [getAddress(custodian.address), grant.data, BigInt(TEST_TIMELOCK_DELAY)]);
    // Before the delay: refused (the timelock's own error), one second short included.
    await viem.assertions.revertWithCustomError(grant.execute(), timelock, "TimelockUnexpectedOperationState");
    const id = await timelock.read.hashOperation([custodian.address, 0n, rekey.data, zeroHash, zeroHash]);
    const readyAt = await timelock.read.getTimestamp([id]);
    await networkHelpers.time.setNextBlockTimestamp(readyAt - 1n);
    await viem.assertions.revertWithCustomError(rekey.execute(), timelock, "TimelockUnexpectedOperationState");
    assert.equal(await custodian.read.oracleKey(), compressKey(ORACLE_KEY));
    // At the delay: both take effect, with the custodian's events.
    await networkHelpers.time.setNextBlockTimestamp(readyAt + 1n);
    await viem.assertions.emitWithArgs(rekey.execute(), custodian, "OracleKeySet", [other[0], other[1], compressKey(other), compressKey(ORACLE_KEY)]);
    await viem.assertions.emitWithArgs(grant.execute(), custodian, "RoleGranted", [operatorRole, me, getAddress(timelock.address)]);
    assert.equal(await custodian.read.hasRole([operatorRole, me]), true);
    assert.equal(await custodian.read.operatorCount(), 2n);
    // Only the timelock's proposer can schedule.
    await viem.assertions.revertWithCustomError(
      timelock.write.schedule([custodian.address, 0n, grant.data, zeroHash, `0x${"07".padStart(64, "0")}`, BigInt(TEST_TIMELOCK_DELAY)], { account: env.alice.account }),
      timelock, "AccessControlUnauthorizedAccount");
  });

  it("the timelock cannot hand TIMELOCK_ROLE on (its role admin is a role nobody holds: every later change would be instant)", async () => {
    const env = await networkHelpers.loadFixture(deployBase);
    const { custodian, admin, timelock } = env;
    const { timelocked } = exitFixtures(connection).batches(env);
    const me = getAddress(admin.account.address);
    const timelockRole = await custodian.read.TIMELOCK_ROLE();
    const readyAt = async (data: Hex) => timelock.read.getTimestamp([await timelock.read.hashOperation([custodian.address, 0n, data, zeroHash, zeroHash])]);

    // The attack: one announced grant, after which an EOA changes the oracle key and the recipients at once.
    const grant = await timelocked("grantRole", [timelockRole, me]);
    await networkHelpers.time.setNextBlockTimestamp((await readyAt(grant.data)) + 1n);
    await viem.assertions.revertWithCustomErrorWithArgs(grant.execute(), custodian, "AccessControlUnauthorizedAccount", [getAddress(timelock.address), NO_ADMIN_ROLE]);
    assert.equal(await custodian.read.hasRole([timelockRole, me]), false);
  });

  it("a timelock that lowered its own delay to the deadline has its powers refused (TimelockDelayTooShort) until it raises it again, but a call scheduled under the low delay runs at once in a batch that raises it first; AdminTimelock refuses the lowering (TimelockDelayOutOfBounds), and the custodian refuses a timelock without AdminTimelock's floor (review of 2026-12-06)", async () => {
    const env = await networkHelpers.loadFixture(deployBase);
    const { admin } = env;
    const me = getAddress(admin.account.address);
    // OpenZeppelin's TimelockController unchanged has no floor: refused as the custodian's timelock.
    const unchanged = (await viem.deployContract("PlainTimelock", [BigInt(TEST_TIMELOCK_DELAY), [me], [me], zeroAddress])).address;
    await assert.rejects(deployCustodianContract(viem, custodianArgs(TEST_PARAMS, { ...env.roles, timelock: unchanged })), "a timelock without minDelayFloor()");
    // A timelock that reports a floor and lowers its delay below it all the same: what the check at each use sees.
    const plainAddress = (await viem.deployContract("LoweringTimelock", [BigInt(TEST_TIMELOCK_DELAY), [me], [me], zeroAddress])).address;
    const plain = getContract({ abi: adminTimelockAbi, address: plainAddress, client: { public: env.publicClient, wallet: admin } });
    const custodianAddress = await deployCustodianContract(viem, custodianArgs(TEST_PARAMS, { ...env.roles, timelock: plainAddress }));
    const custodian = getContract({ abi: custodianAbi, address: custodianAddress, client: { public: env.publicClient, wallet: admin } });
    const { timelocked } = exitFixtures(connection).batches({ ...env, custodian, timelock: plain });
    await custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]);
    const readyAt = async (data: Hex, target: Address = custodian.address) => plain.read.getTimestamp([await plain.read.hashOperation([target, 0n, data, zeroHash, zeroHash])]);

    // The timelock lowers its own delay to the request deadline (itself a scheduled call on the timelock).
    const lower = encodeFunctionData({ abi: adminTimelockAbi, functionName: "updateDelay", args: [BigInt(TEST_REQUEST_DEADLINE)] });
    await plain.write.schedule([plain.address, 0n, lower, zeroHash, zeroHash, BigInt(TEST_TIMELOCK_DELAY)]);
    await networkHelpers.time.setNextBlockTimestamp((await readyAt(lower, plain.address)) + 1n);
    await plain.write.execute([plain.address, 0n, lower, zeroHash, zeroHash]);
    assert.equal(await plain.read.getMinDelay(), BigInt(TEST_REQUEST_DEADLINE));
    // Each later timelocked change now waits only the deadline: refused, whatever it is.
    const other = pubKeyOf(556n);
    const rekey = await timelocked("setOracleKey", [other[0], other[1]]);
    const recipients = await timelocked("setTreasuryRecipients", [me, me]);
    const operator = await timelocked("grantRole", [await custodian.read.OPERATOR_ROLE(), me]);
    await networkHelpers.time.setNextBlockTimestamp((await readyAt(operator.data)) + 1n);
    for (const call of [rekey, recipients, operator]) {
      await viem.assertions.revertWithCustomErrorWithArgs(call.execute(), custodian, "TimelockDelayTooShort", [BigInt(TEST_REQUEST_DEADLINE), BigInt(TEST_REQUEST_DEADLINE)]);
    }
    assert.equal(await custodian.read.oracleKey(), compressKey(ORACLE_KEY), "nothing changed");
    assert.equal(await custodian.read.hasRole([await custodian.read.OPERATOR_ROLE(), me]), false);

    // The gap the custodian's check at each use leaves: one batch, scheduled under the low delay, raises the delay
    // back and then replaces the oracle key, which sees the raised delay. The key lands one deadline after it was
    // announced, not one timelock delay.
    const raise = encodeFunctionData({ abi: adminTimelockAbi, functionName: "updateDelay", args: [BigInt(TEST_TIMELOCK_DELAY)] });
    const sneak = pubKeyOf(558n);
    const rekeyData = encodeFunctionData({ abi: custodianAbi, functionName: "setOracleKey", args: [sneak[0], sneak[1]] });
    const batch = [[plain.address, custodian.address], [0n, 0n], [raise, rekeyData], zeroHash, zeroHash] as const;
    await plain.write.scheduleBatch([...batch, BigInt(TEST_REQUEST_DEADLINE)]);
    await networkHelpers.time.increase(TEST_REQUEST_DEADLINE);
    await plain.write.executeBatch([...batch]);
    assert.equal(await custodian.read.oracleKey(), compressKey(sneak));

    // AdminTimelock (env.timelock) never goes below its deployment's delay, so this cannot arise.
    const { timelock } = env;
    const lowerAdmin = encodeFunctionData({ abi: adminTimelockAbi, functionName: "updateDelay", args: [BigInt(TEST_REQUEST_DEADLINE)] });
    await timelock.write.schedule([timelock.address, 0n, lowerAdmin, zeroHash, zeroHash, BigInt(TEST_TIMELOCK_DELAY)]);
    await networkHelpers.time.increase(TEST_TIMELOCK_DELAY);
    const maxDelay = await timelock.read.MAX_DELAY();
    await viem.assertions.revertWithCustomErrorWithArgs(timelock.write.execute([timelock.address, 0n, lowerAdmin, zeroHash, zeroHash]), timelock, "TimelockDelayOutOfBounds",
      [BigInt(TEST_REQUEST_DEADLINE), BigInt(TEST_TIMELOCK_DELAY), maxDelay]);
    assert.equal(await timelock.read.getMinDelay(), BigInt(TEST_TIMELOCK_DELAY));
  });

  it("the timelock cannot renounce TIMELOCK_ROLE (nobody could grant it again: operators and the oracle key would be frozen for good): AdminRenounceRefused, and it keeps its powers", async () => {
    const env = await networkHelpers.loadFixture(deployBase);
    const { custodian, timelock } = env;
    const { timelocked } = exitFixtures(connection).batches(env);
    const timelockRole = await custodian.read.TIMELOCK_ROLE();
    const readyAt = async (data: Hex) => timelock.read.getTimestamp([await timelock.read.hashOperation([custodian.address, 0n, data, zeroHash, zeroHash])]);
    const renounce = await timelocked("renounceRole", [timelockRole, getAddress(timelock.address)]);
    await networkHelpers.time.setNextBlockTimestamp((await readyAt(renounce.data)) + 1n);
    await viem.assertions.revertWithCustomError(renounce.execute(), custodian, "AdminRenounceRefused");
    assert.equal(await custodian.read.hasRole([timelockRole, getAddress(timelock.address)]), true);
    // Still its own: an oracle key change goes through after the delay (the first key is the admin's to set).
    await custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]);
    const other = pubKeyOf(557n);
    const rekey = await timelocked("setOracleKey", [other[0], other[1]]);
    await networkHelpers.time.setNextBlockTimestamp((await readyAt(rekey.data)) + 1n);
    await rekey.execute();
    assert.equal(await custodian.read.oracleKey(), compressKey(other));
  });

  it("deployExchange's deployCustodian deploys a timelock (deadline + 1 day, the deployer proposes and executes) and passes it; the treasury defaults to the admin", async () => {
    const env = await networkHelpers.loadFixture(deployBase);
    const c = { publicClient: env.publicClient as unknown as PublicClient, walletClient: env.admin as unknown as WalletClient };
    const address = await deployCustodian(c, {
      params: TEST_PARAMS, verifier: env.verifier.address, exitVerifier: env.roles.exitVerifier, quoteToken: env.usdc.address, operator: env.operator.account.address,
    });
    const read = (functionName: string, args: readonly unknown[] = []) => env.publicClient.readContract({ address, abi: custodianAbi, functionName, args } as never) as Promise<unknown>;
    assert.equal(await read("requestDeadline"), BigInt(DEFAULT_REQUEST_DEADLINE));
    const timelock = (await read("timelock")) as `0x${string}`;
    const delay = await env.publicClient.readContract({ address: timelock, abi: adminTimelockAbi, functionName: "getMinDelay" });
    assert.equal(delay, BigInt(DEFAULT_REQUEST_DEADLINE + TIMELOCK_MARGIN_SECONDS));
    const proposer = await env.publicClient.readContract({ address: timelock, abi: adminTimelockAbi, functionName: "PROPOSER_ROLE" });
    assert.equal(await env.publicClient.readContract({ address: timelock, abi: adminTimelockAbi, functionName: "hasRole", args: [proposer, env.admin.account.address] }), true);
    assert.equal(await read("hasRole", [await read("TIMELOCK_ROLE"), timelock]), true);
    assert.equal(await read("defaultAdminDelay"), DEFAULT_REQUEST_DEADLINE + 2 * 86400);
    assert.equal(await read("feeRecipient"), getAddress(env.admin.account.address));
    assert.equal(await read("insuranceRecipient"), getAddress(env.admin.account.address));
    // An explicit treasury is passed through.
    const other = await deployCustodian(c, {
      params: TEST_PARAMS, verifier: env.verifier.address, exitVerifier: env.roles.exitVerifier, quoteToken: env.usdc.address, operator: env.operator.account.address,
      timelock, treasury: env.dave.account.address,
    });
    const readOther = (functionName: string) => env.publicClient.readContract({ address: other, abi: custodianAbi, functionName } as never) as Promise<unknown>;
    assert.deepEqual([await readOther("feeRecipient"), await readOther("insuranceRecipient")], [getAddress(env.dave.account.address), getAddress(env.dave.account.address)]);
  });
});

/**
 * The timelock's own configuration (review of 2026-12-06, Low): with OpenZeppelin's TimelockController unchanged, its
 * sole proposer renouncing PROPOSER_ROLE (one unannounced transaction), an announced revoke of the last proposer or
 * executor or of the timelock's own admin role, or an announced updateDelay to a huge value froze governance for
 * good (operators, the oracle key, the treasury's recipients). AdminTimelock keeps a holder of each role, refuses
 * holders that cannot act, and keeps its delay within [the deployment's delay, MAX_DELAY].
 */
describe("admin timelock: its own roles and delay", () => {
  const ROLE = (name: string) => keccak256(stringToHex(name));
  const [PROPOSER, EXECUTOR, CANCELLER, ADMIN] = [ROLE("PROPOSER_ROLE"), ROLE("EXECUTOR_ROLE"), ROLE("CANCELLER_ROLE"), zeroHash];

  /** deployBase, and helpers to schedule calls on the timelock itself (one call or a batch) and execute them. */
  async function setup() {
    const env = await networkHelpers.loadFixture(deployBase);
    const { timelock } = env;
    const me = getAddress(env.admin.account.address);
    const call = (functionName: string, args: readonly unknown[]) => encodeFunctionData({ abi: adminTimelockAbi, functionName, args } as never);
    /** Schedules `calls` (one batch, on the timelock) with the current delay, waits it out; `execute()` runs them. */
    const selfBatch = async (calls: readonly Hex[], salt: Hex = zeroHash, account = env.admin.account) => {
      const op = [calls.map(() => timelock.address), calls.map(() => 0n), [...calls], zeroHash, salt] as const;
      await timelock.write.scheduleBatch([...op, await timelock.read.getMinDelay()], { account });
      await networkHelpers.time.increase(Number(await timelock.read.getMinDelay()));
      return { execute: () => timelock.write.executeBatch([...op], { account }) };
    };
    /** The roles `account` holds on the timelock, in the order proposer, executor, canceller, admin. */
    const rolesOf = async (account: Address) => Promise.all([PROPOSER, EXECUTOR, CANCELLER, ADMIN].map((r) => timelock.read.hasRole([r, account])));
    return { ...env, me, call, selfBatch, rolesOf };
  }

  /** The timelock still governs: an oracle key replacement goes through after the delay. */
  async function stillGoverns(env: Awaited<ReturnType<typeof setup>>, seed: bigint) {
    const { timelocked } = exitFixtures(connection).batches(env);
    if ((await env.custodian.read.oracleKey()) === 0n) await env.custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]);
    const key = pubKeyOf(seed);
    const rekey = await timelocked("setOracleKey", [key[0], key[1]], keccak256(stringToHex(`rekey ${seed}`)));
    await networkHelpers.time.increase(Number(rekey.delay));
    await rekey.execute();
    assert.equal(await env.custodian.read.oracleKey(), compressKey(key));
  }

  it("the sole proposer renouncing PROPOSER_ROLE (one unannounced transaction), EXECUTOR_ROLE or CANCELLER_ROLE: LastRoleHolder, and it keeps them and still governs", async () => {
    const env = await setup();
    const { timelock, me } = env;
    for (const role of [PROPOSER, EXECUTOR, CANCELLER]) {
      await viem.assertions.revertWithCustomErrorWithArgs(timelock.write.renounceRole([role, me]), timelock, "LastRoleHolder", [role, me]);
      assert.equal(await timelock.read.roleHolders([role]), 1n);
    }
    assert.deepEqual(await env.rolesOf(me), [true, true, true, false]);
    await stillGoverns(env, 601n);
  });

  it("announced revokes of the last proposer, executor or canceller, and the timelock revoking or renouncing its own DEFAULT_ADMIN_ROLE: refused at execution (LastRoleHolder), nothing changes", async () => {
    const env = await setup();
    const { timelock, me, call } = env;
    const self = getAddress(timelock.address);
    const attempts: [Hex, Hex, Address][] = [
      [call("revokeRole", [PROPOSER, me]), PROPOSER, me],
      [call("revokeRole", [EXECUTOR, me]), EXECUTOR, me],
      [call("revokeRole", [CANCELLER, me]), CANCELLER, me],
      [call("revokeRole", [ADMIN, self]), ADMIN, self],
      [call("renounceRole", [ADMIN, self]), ADMIN, self],
    ];
    for (const [i, [data, role, account]] of attempts.entries()) {
      const op = await env.selfBatch([data], keccak256(stringToHex(`revoke ${i}`)));
      await viem.assertions.revertWithCustomErrorWithArgs(op.execute(), timelock, "LastRoleHolder", [role, account]);
    }
    assert.deepEqual(await env.rolesOf(me), [true, true, true, false]);
    assert.equal(await timelock.read.hasRole([ADMIN, self]), true);
    await stillGoverns(env, 602n);
  });

  it("updateDelay above MAX_DELAY (2^256 - 1, MAX_DELAY + 1) or below the deployment's delay: TimelockDelayOutOfBounds; MAX_DELAY and back to the floor go through, and calls still land", async () => {
    const env = await setup();
    const { timelock, call } = env;
    const [floor, max] = [await timelock.read.minDelayFloor(), await timelock.read.MAX_DELAY()];
    assert.equal(floor, BigInt(TEST_TIMELOCK_DELAY));
    assert.equal(max, 90n * 86400n);
    for (const delay of [2n ** 256n - 1n, max + 1n, floor - 1n, 0n]) {
      const op = await env.selfBatch([call("updateDelay", [delay])], keccak256(stringToHex(`delay ${delay}`)));
      await viem.assertions.revertWithCustomErrorWithArgs(op.execute(), timelock, "TimelockDelayOutOfBounds", [delay, floor, max]);
      assert.equal(await timelock.read.getMinDelay(), floor);
    }
    // Outside a scheduled call: OpenZeppelin's refusal, whatever the value.
    await viem.assertions.revertWithCustomErrorWithArgs(timelock.write.updateDelay([max + 1n]), timelock, "TimelockUnauthorizedCaller", [env.me]);
    // Within the bounds: up to MAX_DELAY (a change then waits 90 days, no more), and back down to the floor.
    await viem.assertions.emitWithArgs((await env.selfBatch([call("updateDelay", [max])])).execute(), timelock, "MinDelayChange", [floor, max]);
    await stillGoverns(env, 603n);
    await viem.assertions.emitWithArgs((await env.selfBatch([call("updateDelay", [floor])], keccak256(stringToHex("down")))).execute(), timelock, "MinDelayChange", [max, floor]);
    assert.equal(await timelock.read.getMinDelay(), floor);
  });

  it("roles only to accounts that can act on their own: PROPOSER_ROLE or CANCELLER_ROLE to address(0), an operating role to the timelock, DEFAULT_ADMIN_ROLE to anyone but the timelock: RoleHolderRefused; EXECUTOR_ROLE to address(0) (anyone executes) is allowed and counts", async () => {
    const env = await setup();
    const { timelock, me, call } = env;
    const self = getAddress(timelock.address);
    const refused: [Hex, Address][] = [
      [PROPOSER, zeroAddress], [CANCELLER, zeroAddress], [PROPOSER, self], [EXECUTOR, self], [CANCELLER, self],
      [ADMIN, me], [ADMIN, zeroAddress], [ADMIN, getAddress(env.alice.account.address)],
    ];
    for (const [i, [role, account]] of refused.entries()) {
      const op = await env.selfBatch([call("grantRole", [role, account])], keccak256(stringToHex(`grant ${i}`)));
      await viem.assertions.revertWithCustomErrorWithArgs(op.execute(), timelock, "RoleHolderRefused", [role, account]);
      assert.equal(await timelock.read.hasRole([role, account]), role === ADMIN && account === self);
    }
    // Open execution: address(0) holds EXECUTOR_ROLE, counted, so the named executor may then leave.
    await (await env.selfBatch([call("grantRole", [EXECUTOR, zeroAddress])], keccak256(stringToHex("open")))).execute();
    assert.equal(await timelock.read.roleHolders([EXECUTOR]), 2n);
    await timelock.write.renounceRole([EXECUTOR, me]);
    assert.equal(await timelock.read.roleHolders([EXECUTOR]), 1n);
    const { timelocked } = exitFixtures(connection).batches(env);
    await env.custodian.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]);
    const key = pubKeyOf(604n);
    const rekey = await timelocked("setOracleKey", [key[0], key[1]]);
    await networkHelpers.time.increase(Number(rekey.delay));
    await timelock.write.execute([env.custodian.address, 0n, rekey.data, zeroHash, zeroHash], { account: env.bob.account });
    assert.equal(await env.custodian.read.oracleKey(), compressKey(key));
    // ...and address(0), now the last executor, cannot be revoked.
    const close = await env.selfBatch([call("revokeRole", [EXECUTOR, zeroAddress])], keccak256(stringToHex("close")));
    await viem.assertions.revertWithCustomErrorWithArgs(close.execute(), timelock, "LastRoleHolder", [EXECUTOR, zeroAddress]);
  });

  it("deployment refuses an extra admin, no proposer or executor, a zero proposer, and a delay above MAX_DELAY", async () => {
    const { timelock, admin } = await networkHelpers.loadFixture(deployBase);
    const me = getAddress(admin.account.address);
    const delay = BigInt(TEST_TIMELOCK_DELAY);
    const deploy = (args: readonly unknown[]) => viem.deployContract("AdminTimelock", args as never);
    await viem.assertions.revertWithCustomErrorWithArgs(deploy([delay, [me], [me], me]), timelock, "RoleHolderRefused", [ADMIN, me]);
    await viem.assertions.revertWithCustomErrorWithArgs(deploy([delay, [], [me], zeroAddress]), timelock, "NoRoleHolder", [PROPOSER]);
    await viem.assertions.revertWithCustomErrorWithArgs(deploy([delay, [me], [], zeroAddress]), timelock, "NoRoleHolder", [EXECUTOR]);
    await viem.assertions.revertWithCustomErrorWithArgs(deploy([delay, [zeroAddress], [me], zeroAddress]), timelock, "RoleHolderRefused", [PROPOSER, zeroAddress]);
    const max = await timelock.read.MAX_DELAY();
    await viem.assertions.revertWithCustomErrorWithArgs(deploy([max + 1n, [me], [me], zeroAddress]), timelock, "TimelockDelayOutOfBounds", [max + 1n, max + 1n, max]);
    // Open execution and MAX_DELAY are fine; duplicates count once.
    const open = await viem.deployContract("AdminTimelock", [max, [me, me], [zeroAddress], zeroAddress]);
    assert.deepEqual([await open.read.roleHolders([PROPOSER]), await open.read.roleHolders([EXECUTOR]), await open.read.roleHolders([ADMIN])], [1n, 1n, 1n]);
  });

  it("handing over to a multisig: one scheduled batch grants the new account the three roles, then revokes the old one's; the new one governs, the old one cannot", async () => {
    const env = await setup();
    const { timelock, me, call } = env;
    const multisig = getAddress(env.carol.account.address);
    const handover = await env.selfBatch([
      ...[PROPOSER, EXECUTOR, CANCELLER].map((r) => call("grantRole", [r, multisig])),
      ...[PROPOSER, EXECUTOR, CANCELLER].map((r) => call("revokeRole", [r, me])),
    ]);
    await handover.execute();
    assert.deepEqual(await env.rolesOf(multisig), [true, true, true, false]);
    assert.deepEqual(await env.rolesOf(me), [false, false, false, false]);
    for (const role of [PROPOSER, EXECUTOR, CANCELLER]) assert.equal(await timelock.read.roleHolders([role]), 1n);
    // The old proposer cannot schedule; the multisig can, and is now the last holder of each role.
    await viem.assertions.revertWithCustomErrorWithArgs(
      timelock.write.schedule([timelock.address, 0n, call("updateDelay", [BigInt(TEST_TIMELOCK_DELAY)]), zeroHash, zeroHash, BigInt(TEST_TIMELOCK_DELAY)]),
      timelock, "AccessControlUnauthorizedAccount", [me, PROPOSER]);
    const leave = await env.selfBatch([call("revokeRole", [PROPOSER, multisig])], keccak256(stringToHex("leave")), env.carol.account);
    await viem.assertions.revertWithCustomErrorWithArgs(leave.execute(), timelock, "LastRoleHolder", [PROPOSER, multisig]);
    await viem.assertions.revertWithCustomErrorWithArgs(timelock.write.renounceRole([PROPOSER, multisig], { account: env.carol.account }), timelock, "LastRoleHolder", [PROPOSER, multisig]);
  });
});
