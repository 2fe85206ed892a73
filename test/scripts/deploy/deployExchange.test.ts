/**
 * scripts/deploy/deployExchange.ts on an in-process Hardhat chain: the custodian is deployed with the sizes of
 * the circuit parameters and the empty state's root, and the admin helpers set the oracle key and register
 * instruments (returning the id the custodian assigned). The verifier is the mock (no circuit build needed).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import type { PublicClient, WalletClient } from "viem";
import { zeroAddress } from "viem";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  custodianAbi, deploy, deployCustodian, deployDemoExchange, deployExchange, deployTestToken, readArtifact, registerInstrument, setOracleKey, type Clients, type InstrumentRegistration,
} from "../../../scripts/deploy/deployExchange.ts";
import { compressPublicKey, publicKeyOf } from "../../../sequencer/crypto/babyjub.ts";
import { InstrumentKind } from "../../../sequencer/protocol/constants.ts";
import { PRODUCTION_PARAMS, publicDataBytes, TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { exitPublicInputCount } from "../../../sequencer/protocol/exitPublicData.ts";
import { publicInputCount } from "../../../sequencer/protocol/publicData.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";

const { viem, networkHelpers } = await network.create();
const publicClient = (await viem.getPublicClient()) as unknown as PublicClient;
const [admin, operator, stranger] = (await viem.getWalletClients()) as unknown as WalletClient[];
const as = (w: WalletClient): Clients => ({ publicClient, walletClient: w });

async function deployed() {
  const verifier = await deploy(as(admin), readArtifact("test/MockVerifier.sol", "MockVerifier"));
  const usdc = await deployTestToken(as(admin), "USD Coin", "USDC", 6);
  // A marks registry (in front of the accepting mock) so options can be listed (OptionsNeedMarksRegistry).
  const marksRegistry = await deploy(as(admin), readArtifact("MarksRegistry.sol", "MarksRegistry"), [verifier]);
  const custodian = await deployCustodian(as(admin), { params: TEST_PARAMS, verifier, exitVerifier: verifier, quoteToken: usdc, operator: operator.account!.address, marksRegistry });
  const read = (functionName: string, args: readonly unknown[] = []) =>
    publicClient.readContract({ address: custodian, abi: custodianAbi, functionName, args } as never) as Promise<unknown>;
  return { custodian, read };
}

const PERP: InstrumentRegistration = {
  kind: InstrumentKind.PERPETUAL, underlying: 0, lotSizeE6: 1_000n, tickSizeE8: 1_000_000n, imPpm: 100_000, mmPpm: 50_000, strike: 0n, expiry: 0, fundingCapPpm: 1_000,
};

describe("deployExchange", () => {
  it("deployDemoExchange takes no default exit verifier: the caller names one, its source, or refuseExits (checked by tsc)", () => {
    // The exit verifier is immutable: a call that names none is a type error (npm run typecheck fails if it is not).
    // @ts-expect-error no exitVerifier, exitVerifierSol or refuseExits
    const unnamed: Parameters<typeof deployDemoExchange>[1] = { params: TEST_PARAMS, verifierSol: "batchVerifier.sol", operator: zeroAddress };
    const named: Parameters<typeof deployDemoExchange>[1] = { ...unnamed, refuseExits: true };
    assert.ok("refuseExits" in named && !("refuseExits" in unnamed));
  });

  it("refuses a batch or exit verifier whose circuit has another number of public inputs than the parameters' (it would refuse every proof; the exit one only in exodus)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "verifier-inputs-"));
    /** A snarkjs verifier source path whose vkey beside it has `n` public inputs (nothing else is read before the check). */
    const verifierWith = (name: string, n: number) => {
      writeFileSync(join(dir, `${name}.vkey.json`), JSON.stringify({ protocol: "groth16", curve: "bn128", nPublic: n }));
      return join(dir, `${name}Verifier.sol`);
    };
    const batchInputs = publicInputCount(publicDataBytes(TEST_PARAMS));
    assert.notEqual(batchInputs, publicInputCount(publicDataBytes(PRODUCTION_PARAMS)));
    await assert.rejects(
      deployExchange(as(admin), { params: TEST_PARAMS, verifierSol: verifierWith("wrongBatch", batchInputs + 1), quoteToken: zeroAddress, operator: operator.account!.address, exitVerifier: zeroAddress }),
      new RegExp(`batch circuit of these parameters has ${batchInputs} public inputs, this verifier's ${batchInputs + 1}`),
    );
    const exitInputs = exitPublicInputCount(TEST_PARAMS);
    await assert.rejects(
      deployDemoExchange(as(admin), { params: TEST_PARAMS, verifierSol: verifierWith("fine", batchInputs), operator: operator.account!.address, exitVerifierSol: verifierWith("wrongExit", exitInputs + 2) }),
      new RegExp(`exit circuit of these parameters has ${exitInputs} public inputs, this verifier's ${exitInputs + 2}`),
    );
    // an exit verifier built before the claim carried the pooled quote and the derivatives claim apart (4 inputs at
    // TEST_PARAMS, 35 at production size; now 5 and 36) is refused too
    assert.deepEqual([exitInputs, exitPublicInputCount(PRODUCTION_PARAMS)], [5, 36]);
    await assert.rejects(
      deployDemoExchange(as(admin), { params: TEST_PARAMS, verifierSol: verifierWith("fine", batchInputs), operator: operator.account!.address, exitVerifierSol: verifierWith("oldExit", 4) }),
      new RegExp(`exit circuit of these parameters has 5 public inputs, this verifier's 4`),
    );
  });

  it("deploys the custodian with the parameters' sizes at the empty state's root", async () => {
    const { read } = await networkHelpers.loadFixture(deployed);
    assert.equal(await read("stateRoot"), new ExchangeState(TEST_PARAMS).root);
    assert.equal(await read("slots"), BigInt(TEST_PARAMS.slots));
    assert.equal(await read("derivSlots"), BigInt(TEST_PARAMS.derivSlots));
    assert.equal(await read("underlyings"), TEST_PARAMS.underlyings);
    assert.equal(await read("instruments"), TEST_PARAMS.instruments);
    assert.equal(await read("optionInstruments"), TEST_PARAMS.optionInstruments);
    assert.equal(await read("publicDataBytes"), BigInt(publicDataBytes(TEST_PARAMS)));
    assert.equal(await read("maxAccounts"), 4 ** TEST_PARAMS.accountLevels);
    assert.equal(await read("hasRole", [await read("OPERATOR_ROLE"), operator.account!.address]), true);
  });

  it("setOracleKey stores the compressed key; only the admin may", async () => {
    const { custodian, read } = await networkHelpers.loadFixture(deployed);
    const key = publicKeyOf(Buffer.alloc(32, 7));
    await setOracleKey(as(admin), custodian, key);
    assert.equal(await read("oracleKey"), compressPublicKey(key));
    await assert.rejects(setOracleKey(as(stranger), custodian, publicKeyOf(Buffer.alloc(32, 8))), /AccessControlUnauthorizedAccount/);
    assert.equal(await read("oracleKey"), compressPublicKey(key));
  });

  it("registerInstrument returns the assigned id (options at the option ids) and throws on a refused registration", async () => {
    const { custodian, read } = await networkHelpers.loadFixture(deployed);
    const expiry = (await networkHelpers.time.latest()) + 86400;
    const call: InstrumentRegistration = { ...PERP, kind: InstrumentKind.CALL, lotSizeE6: 10_000n, strike: 3000n * 10n ** 8n, expiry, fundingCapPpm: 0 };
    assert.equal(await registerInstrument(as(admin), custodian, call), TEST_PARAMS.instruments - TEST_PARAMS.optionInstruments);
    assert.equal(await registerInstrument(as(admin), custodian, PERP), 0);
    assert.equal(await registerInstrument(as(admin), custodian, { ...PERP, kind: InstrumentKind.FUTURE, expiry, fundingCapPpm: 0 }), 1);
    await assert.rejects(registerInstrument(as(admin), custodian, { ...PERP, mmPpm: 200_000 }), /InvalidMarginRates/);
    await assert.rejects(registerInstrument(as(stranger), custodian, PERP), /AccessControlUnauthorizedAccount/);
    assert.equal(await read("requestCount"), 3n);
  });
});
