/**
 * The custodian's read of the marks registry (contracts/interfaces/ICustodianMarks.sol; circuits/DERIVATIVES.md,
 * "Reading marks in the batch"): a batch whose oracle section carries a non-zero marks key is accepted only once the
 * custodian's MarksRegistry recorded the key (MarksNotRecorded otherwise, changing nothing), by submitBatch and by
 * every batch of a submitBatches; a custodian without a registry (the zero address) refuses every non-zero key, and
 * lists no option (no batch could read its mark), and a key of 0 needs no registry. The registry here stands in front of a MockVerifier that accepts (the marking proof is
 * test/contracts/marksRegistry.test.ts's subject), so any key can be recorded.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getAddress, zeroAddress } from "viem";

import { custodianArgs } from "../../sequencer/chain/custodianArgs.ts";
import { custodianAbi, marksRegistryAbi } from "../../sequencer/chain/abi.ts";
import { TEST_PARAMS } from "../../sequencer/protocol/params.ts";
import { InstrumentKind } from "../../sequencer/protocol/constants.ts";
import { unusedOracleSection, type OracleSection } from "../../sequencer/protocol/publicData.ts";
import { mockVerifierAbi } from "./abis.ts";
import { PROOF, batchBytes, compressKey, deployCustodianContract, hex } from "./helpers.ts";
import { GENESIS_ROOT, ORACLE_KEY, exitFixtures } from "./exitFixture.ts";

const connection = await network.create();
const { viem, networkHelpers } = connection;
const { deployBase, batches } = exitFixtures(connection);

/** Two markings' keys as batches carry them (the custodian only looks them up; the marking proof binds them). */
const KEY = 0xabcdefn << 200n;
const OTHER_KEY = 77n;

/**
 * Two custodians over the same roles with the oracle key set: `marked`, with a MarksRegistry in front of an accepting
 * MockVerifier, and `bare`, with none (the zero address, the deployments' default).
 */
async function deployMarked() {
  const env = await deployBase();
  const markingVerifier = await env.contract(mockVerifierAbi, "MockVerifier");
  const registry = await env.contract(marksRegistryAbi, "MarksRegistry", [markingVerifier.address]);
  const marked = await env.contract(custodianAbi, "Custodian", custodianArgs(TEST_PARAMS, { ...env.roles, marksRegistry: registry.address }));
  const bare = env.custodian;
  for (const c of [marked, bare]) await c.write.setOracleKey([ORACLE_KEY[0], ORACLE_KEY[1]]);
  return { ...env, registry, marked, bare };
}
type Env = Awaited<ReturnType<typeof deployMarked>>;
type Custodian = Env["marked"];

/** Records `key` in the registry (any message and root: the mock verifier accepts). */
const record = (env: Env, key: bigint) => env.registry.write.record([1n, 2n, key, PROOF]);

/** An oracle section under the registered key (one price, nothing registered) carrying `marksKey`. */
async function oracleWith(env: Env, marksKey: bigint): Promise<OracleSection> {
  return {
    ...unusedOracleSection(TEST_PARAMS), used: true, key: compressKey(ORACLE_KEY), time: BigInt(await networkHelpers.time.latest()),
    fundingEpoch: 1n, prices: [3000n * 10n ** 8n], marksKey,
  };
}

/** The next batch of `custodian` (no records) carrying `marksKey`, as hex public data. */
async function batchWith(env: Env, custodian: Custodian, marksKey: bigint) {
  return hex(await batches({ ...env, custodian }).nextBatch([], [], await oracleWith(env, marksKey)));
}

/** What a batch changes: root, counters, timestamp. */
async function stateOf(c: Custodian) {
  return [await c.read.stateRoot(), await c.read.batchCount(), await c.read.lastTimestamp(), await c.read.processedRequests()];
}

/** Asserts that `send()` reverts with MarksNotRecorded(key) and that `custodian` did not change. */
async function refused(custodian: Custodian, send: () => Promise<unknown>, key: bigint) {
  const before = await stateOf(custodian);
  await viem.assertions.revertWithCustomErrorWithArgs(send(), custodian, "MarksNotRecorded", [key]);
  assert.deepEqual(await stateOf(custodian), before, "a refused batch changes nothing");
}

describe("Custodian: marks keys (MarksNotRecorded)", () => {
  it("keeps the registry it was deployed with; the default is none (the zero address); an account without code is refused (InvalidMarksRegistry)", async () => {
    const env = await networkHelpers.loadFixture(deployMarked);
    assert.equal(getAddress(await env.marked.read.marksRegistry()), getAddress(env.registry.address));
    assert.equal(await env.bare.read.marksRegistry(), zeroAddress);
    const noCode = "0x00000000000000000000000000000000000000aa";
    await viem.assertions.revertWithCustomErrorWithArgs(
      deployCustodianContract(viem, custodianArgs(TEST_PARAMS, { ...env.roles, marksRegistry: noCode })), env.marked, "InvalidMarksRegistry", [noCode]);
  });

  it("submitBatch refuses a batch whose non-zero marks key is not recorded, changing nothing; the same batch passes once the key is recorded", async () => {
    const env = await networkHelpers.loadFixture(deployMarked);
    const { marked, operator } = env;
    const pd = await batchWith(env, marked, KEY);
    await refused(marked, () => marked.write.submitBatch([pd, PROOF], { account: operator.account }), KEY);
    // Another key recorded does not vouch for this one.
    await record(env, OTHER_KEY);
    await refused(marked, () => marked.write.submitBatch([pd, PROOF], { account: operator.account }), KEY);
    await record(env, KEY);
    await marked.write.submitBatch([pd, PROOF], { account: operator.account });
    assert.equal(await marked.read.batchCount(), 1);
    assert.equal(await marked.read.stateRoot(), GENESIS_ROOT + 1n);
  });

  it("a key of 0 (the batch read no mark) needs no registry: accepted with or without one, nothing recorded", async () => {
    const env = await networkHelpers.loadFixture(deployMarked);
    for (const c of [env.marked, env.bare]) {
      await c.write.submitBatch([await batchWith(env, c, 0n), PROOF], { account: env.operator.account });
      assert.equal(await c.read.batchCount(), 1);
    }
    assert.equal(await env.registry.read.isRecorded([0n]), false);
  });

  it("a custodian without a registry refuses every non-zero key, even one recorded in a registry elsewhere", async () => {
    const env = await networkHelpers.loadFixture(deployMarked);
    await record(env, KEY);
    for (const key of [KEY, 1n, 2n ** 256n - 1n]) {
      const pd = await batchWith(env, env.bare, key);
      await refused(env.bare, () => env.bare.write.submitBatch([pd, PROOF], { account: env.operator.account }), key);
    }
  });

  it("lists no call or put on a custodian without a registry (OptionsNeedMarksRegistry), queuing nothing: no batch could read its mark; perpetuals and futures list there, options where a registry is", async () => {
    const env = await networkHelpers.loadFixture(deployMarked);
    const expiry = (await networkHelpers.time.latest()) + 7 * 86400;
    // kind, underlying, lotSizeE6, tickSizeE8, imPpm, mmPpm, strike, expiry, fundingCapPpm
    const args = (kind: InstrumentKind) => {
      const option = kind === InstrumentKind.CALL || kind === InstrumentKind.PUT;
      return [kind, 0, 10_000n, 1_000_000n, 100_000, 50_000, option ? 3000n * 10n ** 8n : 0n, kind === InstrumentKind.PERPETUAL ? 0 : expiry, kind === InstrumentKind.PERPETUAL ? 1_000 : 0] as const;
    };
    for (const kind of [InstrumentKind.CALL, InstrumentKind.PUT]) {
      const queued = await env.bare.read.requestCount();
      await viem.assertions.revertWithCustomError(env.bare.write.registerInstrument(args(kind)), env.bare, "OptionsNeedMarksRegistry");
      assert.equal(await env.bare.read.requestCount(), queued, "a refused listing queues nothing");
    }
    const before = [await env.bare.read.requestCount(), await env.marked.read.requestCount()];
    for (const kind of [InstrumentKind.PERPETUAL, InstrumentKind.FUTURE]) await env.bare.write.registerInstrument(args(kind));
    for (const kind of [InstrumentKind.CALL, InstrumentKind.PUT]) await env.marked.write.registerInstrument(args(kind));
    assert.deepEqual([await env.bare.read.requestCount(), await env.marked.read.requestCount()], before.map((n) => n + 2n), "two listings queued on each");
  });

  it("submitBatches refuses the whole call when one batch among several carries an unrecorded key; accepts all once it is recorded", async () => {
    const env = await networkHelpers.loadFixture(deployMarked);
    const { marked, operator } = env;
    await record(env, KEY);
    // Three consecutive batches (roots g -> g+1 -> g+2 -> g+3): recorded, zero, then the unrecorded key.
    const keys = [KEY, 0n, OTHER_KEY];
    const oracles = await Promise.all(keys.map((k) => oracleWith(env, k)));
    const timestamp = await batches(env).now();
    const pds = oracles.map((oracle, i) =>
      hex(batchBytes({ oldRoot: GENESIS_ROOT + BigInt(i), newRoot: GENESIS_ROOT + BigInt(i + 1), batchNumber: BigInt(i), timestamp }, [], TEST_PARAMS, { oracle })));
    await refused(marked, () => marked.write.submitBatches([pds, pds.map(() => PROOF)], { account: operator.account }), OTHER_KEY);
    await record(env, OTHER_KEY);
    await marked.write.submitBatches([pds, pds.map(() => PROOF)], { account: operator.account });
    assert.equal(await marked.read.batchCount(), 3);
    assert.equal(await marked.read.stateRoot(), GENESIS_ROOT + 3n);
  });
});
