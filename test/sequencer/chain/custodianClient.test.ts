/**
 * sequencer/chain/custodianClient.ts, the derivatives reads, on an in-process Hardhat chain: the oracle key,
 * instrument parameters and REGISTER_INSTRUMENT requests decoded from the queue.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import type { PublicClient, WalletClient } from "viem";
import {
  deploy, deployCustodian, deployTestToken, readArtifact, registerInstrument, setOracleKey, type Clients,
} from "../../../scripts/deploy/deployExchange.ts";
import { CustodianClient } from "../../../sequencer/chain/custodianClient.ts";
import { compressPublicKey, publicKeyOf } from "../../../sequencer/crypto/babyjub.ts";
import { InstrumentKind, TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";

const { viem, networkHelpers } = await network.create();
const publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
const [admin, operator] = (await viem.getWalletClients()) as unknown as WalletClient[];
const c: Clients = { publicClient, walletClient: admin };

async function deployed() {
  const verifier = await deploy(c, readArtifact("test/MockVerifier.sol", "MockVerifier"));
  const usdc = await deployTestToken(c, "USD Coin", "USDC", 6);
  const custodian = await deployCustodian(c, { params: TEST_PARAMS, verifier, exitVerifier: verifier, quoteToken: usdc, operator: operator.account!.address });
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
