/**
 * sequencer/chain/custodianClient.ts, the derivatives reads, on an in-process Hardhat chain: the oracle key,
 * instrument parameters and REGISTER_INSTRUMENT requests decoded from the queue; and submitBatches with real
 * proofs of three consecutive TEST_PARAMS batches (test/helpers/provenBatches.ts) and the real batched verifier.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { network } from "hardhat";
import { hexToBytes, type PublicClient, type WalletClient } from "viem";
import {
  deploy, deployCustodian, deployTestToken, readArtifact, registerInstrument, setOracleKey, type Clients,
} from "../../../scripts/deploy/deployExchange.ts";
import { BatchPostError, CustodianClient } from "../../../sequencer/chain/custodianClient.ts";
import { compressPublicKey, publicKeyOf } from "../../../sequencer/crypto/babyjub.ts";
import { InstrumentKind, TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import type { CalldataProof } from "../../../sequencer/protocol/calldataProof.ts";
import { provenBatches, provenCustodianFixture } from "../../helpers/provenBatches.ts";

const { viem, networkHelpers } = await network.create();
const publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
const [admin, operator] = (await viem.getWalletClients()) as unknown as WalletClient[];
const c: Clients = { publicClient, walletClient: admin };

async function deployed() {
  const verifier = await deploy(c, readArtifact("test/MockVerifier.sol", "MockVerifier"));
  const usdc = await deployTestToken(c, "USD Coin", "USDC", 6);
  // A marks registry (in front of the accepting mock) so options can be listed (OptionsNeedMarksRegistry).
  const marksRegistry = await deploy(c, readArtifact("MarksRegistry.sol", "MarksRegistry"), [verifier]);
  const custodian = await deployCustodian(c, { params: TEST_PARAMS, verifier, exitVerifier: verifier, quoteToken: usdc, operator: operator.account!.address, marksRegistry });
  return { custodian, client: new CustodianClient({ publicClient, walletClient: operator, custodian }) };
}

describe("CustodianClient: derivatives reads", () => {
  it("oracleKey is null until the admin sets it, then the compressed key", async () => {
    const { custodian, client } = await networkHelpers.loadFixture(deployed);
    assert.equal(await client.oracleKey(), null);
    const key = publicKeyOf(Buffer.alloc(32, 3));
    await setOracleKey(c, custodian, key);
    assert.equal(await client.oracleKey(), compressPublicKey(key));
  });

  it("reads a registered instrument as an InstrumentSpec and rejects an unregistered id", async () => {
    const { custodian, client } = await networkHelpers.loadFixture(deployed);
    const expiry = (await networkHelpers.time.latest()) + 86400;
    const id = await registerInstrument(c, custodian, {
      kind: InstrumentKind.PUT, underlying: 0, lotSizeE6: 10_000n, tickSizeE8: 5_000_000n, imPpm: 150_000, mmPpm: 75_000,
      strike: 2500n * 10n ** 8n, expiry, fundingCapPpm: 0,
    });
    assert.deepEqual(await client.instrument(id), {
      kind: InstrumentKind.PUT, underlying: 0, lotSizeE6: 10_000n, tickValue: 500n, imPpm: 150_000n, mmPpm: 75_000n,
      strike: 2500n * 10n ** 8n, expiry, fundingCapPpm: 0n,
    });
    await assert.rejects(client.instrument(0), /UnknownInstrument/);
  });

  it("decodes queued REGISTER_INSTRUMENT requests into RegisterInstrumentTx, in queue order", async () => {
    const { custodian, client } = await networkHelpers.loadFixture(deployed);
    await registerInstrument(c, custodian, {
      kind: InstrumentKind.PERPETUAL, underlying: 0, lotSizeE6: 1_000n, tickSizeE8: 1_000_000n, imPpm: 100_000, mmPpm: 50_000, strike: 0n, expiry: 0, fundingCapPpm: 1_000,
    });
    const requests = await client.requests(0);
    assert.equal(requests.length, 1);
    assert.equal(requests[0].index, 0);
    assert.deepEqual(requests[0].tx, {
      type: TxType.REGISTER_INSTRUMENT, instrumentId: 0, kind: InstrumentKind.PERPETUAL, underlying: 0, lotSizeE6: 1_000n, tickValue: 10n,
      imPpm: 100_000n, mmPpm: 50_000n, strike: 0n, expiry: 0, fundingCapPpm: 1_000n,
    });
  });
});

describe("CustodianClient.submitBatches (real proofs, real batched verifier)", async () => {
  const { circuit, batches } = await provenBatches(3);
  const fixture = provenCustodianFixture({ viem, networkHelpers }, circuit.verifierSol);
  const set = (from: number, to: number) => batches.slice(from, to).map((b) => ({ publicData: hexToBytes(b.publicData), proof: b.proof }));
  const clientOf = (custodian: `0x${string}`) => new CustodianClient({ publicClient, walletClient: operator, custodian });

  it("posts consecutive batches in one transaction, leaves out those already posted with the same data, null when all are", async () => {
    const { custodian } = await networkHelpers.loadFixture(fixture);
    const client = clientOf(custodian.address);
    let sending = 0;
    const sent: string[] = [];
    assert.ok(await client.submitBatches(0, set(0, 2), (h) => sent.push(h), () => sending++));
    assert.equal(await client.stateRoot(), batches[1].newRoot);
    assert.equal(await client.batchCount(), 2);
    assert.ok(await client.submitBatches(0, set(0, 3)), "batches 0 and 1 left out, batch 2 posted");
    assert.equal(await client.stateRoot(), batches[2].newRoot);
    assert.equal(await client.submitBatches(1, set(1, 3)), null);
    assert.deepEqual([sending, sent.length], [1, 1]);
  });

  it("postedBatchHash finds a posted batch's public-data hash searching back from the head in block ranges (1 block each here), null for one not posted", async () => {
    const { custodian } = await networkHelpers.loadFixture(fixture);
    await clientOf(custodian.address).submitBatches(0, set(0, 2));
    const narrow = new CustodianClient({ publicClient, walletClient: operator, custodian: custodian.address, requestReads: { maxBlockRange: 1 } });
    const sha = (hex: string) => `0x${createHash("sha256").update(hexToBytes(hex as `0x${string}`)).digest("hex")}`;
    assert.equal(await narrow.postedBatchHash(0), sha(batches[0].publicData));
    assert.equal(await narrow.postedBatchHash(1), sha(batches[1].publicData));
    assert.equal(await narrow.postedBatchHash(2), null);
  });

  it("a refused set is BatchPostError with the custodian's error, nothing sent; other data under a posted number is BatchNumberTaken", async () => {
    const { custodian } = await networkHelpers.loadFixture(fixture);
    const client = clientOf(custodian.address);
    const bad = set(0, 2);
    bad[1] = { ...bad[1], proof: batches[0].proof as CalldataProof };
    let sending = 0;
    await assert.rejects(client.submitBatches(0, bad, undefined, () => sending++), (e: unknown) => e instanceof BatchPostError && e.reason === "InvalidProof");
    await assert.rejects(client.submitBatches(0, [set(1, 2)[0], set(0, 1)[0]]), (e: unknown) => e instanceof BatchPostError && e.reason === "StaleRoot");
    assert.equal(sending, 0);
    assert.equal(await client.batchCount(), 0);
    await client.submitBatches(0, set(0, 1));
    await assert.rejects(client.submitBatches(0, set(1, 3)), (e: unknown) => e instanceof BatchPostError && e.reason === "BatchNumberTaken");
    await assert.rejects(client.submitBatches(0, []), RangeError);
  });
});
