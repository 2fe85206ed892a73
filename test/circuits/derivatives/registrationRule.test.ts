/**
 * The registration rules that keep an instrument's later batches provable live in three places: the
 * custodian (Custodian._checkInstrument, which queues the request), the witness builder
 * (derivSlotWitness registrationErrors) and the circuit (DerivSlot's REGISTER_INSTRUMENT). A request
 * the custodian queues must be provable (requests are consumed in order), and one the circuit accepts
 * must keep every later batch provable. These tests put the three sides on the same boundary cases.
 *
 * - Funding horizon: `fundingCapPpm * lotSizeE6 * MAX_ORACLE_PRICE < FUNDING_CAP_BOUND` (all three).
 * - Expiry: the custodian's MAX_EXPIRY_SECONDS leaves room for the batch age and the oracle age, so the
 *   Black-Scholes time input stays below 2^26 s (the circuit refuses it otherwise, shown below); its
 *   MIN_EXPIRY_LEAD gives the operator an hour before the settlement window opens.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getContract, type Abi } from "viem";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { TxRejected } from "../../../sequencer/batch/slotWitness.ts";
import type { BatchTx, InstrumentSpec } from "../../../sequencer/batch/transactions.ts";
import { custodianArgs } from "../../../sequencer/chain/custodianArgs.ts";
import { custodianAbi } from "../../../sequencer/chain/abi.ts";
import { fundingCapFits } from "../../../sequencer/derivatives/formulas.ts";
import { FUNDING_CAP_BOUND, MAX_ORACLE_AGE, MAX_ORACLE_PRICE, PPM, PRICE_SCALE, TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { mockVerifierAbi, testTokenAbi } from "../../contracts/abis.ts";
import { loadBatchCircuit, refuses, rule, witnessFailure } from "../../helpers/circuitRules.ts";
import { INSTRUMENTS, NOW, oracleUpdate } from "../../helpers/derivatives.ts";

after(terminateSnarkjsCurve);
const { viem, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const [admin, operator] = await viem.getWalletClients();

async function deploy<const TAbi extends Abi>(abi: TAbi, name: string, args: readonly unknown[] = []) {
  const { address } = await viem.deployContract(name, args as never);
  return getContract({ abi, address, client: { public: publicClient, wallet: admin } });
}

/** A custodian for TEST_PARAMS with a mock verifier (as test/contracts deploy it). */
async function deployCustodian() {
  const verifier = await deploy(mockVerifierAbi, "MockVerifier");
  const usdc = await deploy(testTokenAbi, "TestToken", ["USD Coin", "USDC", 6]);
  return deploy(custodianAbi, "Custodian", custodianArgs(TEST_PARAMS, {
    verifier: verifier.address, genesisRoot: 1n, quoteToken: usdc.address, quoteMinDeposit: 1n, admin: admin.account.address, operator: operator.account.address,
  }));
}
type Custodian = Awaited<ReturnType<typeof deployCustodian>>;

const PERP = 0;
const CALL = 2;
/** A perpetual with lots of `lotSizeE6` and funding cap `fundingCapPpm`, tick value = lot size (tick size 1 quote per unit). */
const perpetual = (lotSizeE6: bigint, fundingCapPpm: bigint): InstrumentSpec => ({ ...INSTRUMENTS[PERP], lotSizeE6, tickValue: lotSizeE6, fundingCapPpm });
const registration = (instrumentId: number, spec: InstrumentSpec): BatchTx => ({ type: TxType.REGISTER_INSTRUMENT, instrumentId, ...spec });

/**
 * Whether the custodian queues `spec` (tick size 10^8: tick value = lot size) in a block at `blockTime`
 * (the next block's time unless given); a refusal must be `error`.
 */
async function custodianAccepts(custodian: Custodian, spec: InstrumentSpec, error: string, blockTime?: number): Promise<boolean> {
  const args = [spec.kind, spec.underlying, spec.lotSizeE6, PRICE_SCALE, Number(spec.imPpm), Number(spec.mmPpm), spec.strike, spec.expiry, Number(spec.fundingCapPpm)] as const;
  const before = await custodian.read.requestCount();
  if (blockTime !== undefined) await networkHelpers.time.setNextBlockTimestamp(blockTime);
  try {
    await custodian.write.registerInstrument(args, { account: admin.account });
  } catch (e) {
    assert.match(String(e), new RegExp(error), String(e));
    assert.equal(await custodian.read.requestCount(), before, "a refused registration queues nothing");
    return false;
  }
  assert.equal(await custodian.read.requestCount(), before + 1n);
  return true;
}

/** Whether the witness builder registers `spec` (BAD_INSTRUMENT otherwise). */
function witnessBuilderAccepts(spec: InstrumentSpec, id = PERP): boolean {
  try {
    buildBatch(new ExchangeState(TEST_PARAMS), [registration(id, spec)], { batchNumber: 1, timestamp: NOW, oracle: null });
    return true;
  } catch (e) {
    assert.ok(e instanceof TxRejected && e.code === "BAD_INSTRUMENT", String(e));
    return false;
  }
}

describe("registration rules: custodian, witness builder and circuit agree", { timeout: 900_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });

  it("funding horizon: the same boundary on all three sides, for small, whole-unit and the largest lots", async () => {
    const largestCap = (lot: bigint) => (FUNDING_CAP_BOUND - 1n) / (lot * MAX_ORACLE_PRICE);
    const cases: [bigint, bigint][] = [];
    for (const lot of [1_000_000n, 12_345_678n, (1n << 48n) - 1n]) {
      const cap = largestCap(lot);
      assert.ok(cap < PPM, "the horizon rule binds below the 10^6 ppm cap for these lots");
      cases.push([lot, cap], [lot, cap + 1n]);
    }
    cases.push([10_000n, PPM], [1n, PPM]); // small lots: any cap up to 10^6 ppm fits
    for (const [lot, cap] of cases) {
      const spec = perpetual(lot, cap);
      const fits = fundingCapFits(cap, lot);
      const label = `lot ${lot}, cap ${cap}`;
      assert.equal(witnessBuilderAccepts(spec), fits, `witness builder, ${label}`);
      const custodian = await networkHelpers.loadFixture(deployCustodian); // a fresh one: perpetual ids are few
      assert.equal(await custodianAccepts(custodian, spec, "InvalidFundingCap"), fits, `custodian, ${label}`);
      if (fits) assert.equal(await witnessFailure(new ExchangeState(TEST_PARAMS), [registration(PERP, spec)], { oracle: null }), null, `circuit, ${label}`);
      else await refuses(new ExchangeState(TEST_PARAMS), [registration(PERP, spec)], rule("DerivSlot", "fundingHorizon.in <=="), { oracle: null });
    }
  });

  it("funding horizon: the largest cap's worst tick at the highest price is provable, and 2^20 of them fit the index", async () => {
    const lot = 1_000_000n;
    const cap = (FUNDING_CAP_BOUND - 1n) / (lot * MAX_ORACLE_PRICE);
    const state = new ExchangeState(TEST_PARAMS);
    buildBatch(state, [registration(PERP, perpetual(lot, cap))], { batchNumber: 1, timestamp: NOW, oracle: null });
    for (const rate of [cap, -cap]) {
      const copy = new ExchangeState(TEST_PARAMS);
      buildBatch(copy, [registration(PERP, perpetual(lot, cap))], { batchNumber: 1, timestamp: NOW, oracle: null });
      const tick = oracleUpdate({ fundingEpoch: 1, prices: [MAX_ORACLE_PRICE], rates: [rate, 0n, 0n, 0n] });
      assert.equal(await witnessFailure(copy, [], { oracle: tick }), null, `rate ${rate}`);
      const step = copy.instruments[PERP].fundingIndex;
      assert.ok(step < 1n << 43n && step >= -(1n << 43n), `step ${step}`);
      assert.ok((1n << 20n) * step < 1n << 63n && (1n << 20n) * step >= -(1n << 63n), "2^20 such steps stay in the signed 64-bit index");
    }
  });

  it("expiry: the custodian leaves the batch and oracle ages below 2^26 s and an hour's lead; past 2^26 s the circuit cannot mark the option", async () => {
    const custodian = await networkHelpers.loadFixture(deployCustodian);
    const maxExpiry = Number(await custodian.read.MAX_EXPIRY_SECONDS());
    const batchAge = Number(await custodian.read.MAX_BATCH_AGE());
    assert.equal(maxExpiry + batchAge + MAX_ORACLE_AGE, 2 ** 26, "the custodian's bound leaves room for both ages");
    const call = (expiry: number): InstrumentSpec => ({ ...INSTRUMENTS[CALL], expiry });
    let t = Number(await networkHelpers.time.latest()) + 100;
    for (const [ahead, accepted] of [[3_599, false], [3_600, true], [maxExpiry - 1, true], [maxExpiry, false]] as const) {
      t += 10;
      assert.equal(await custodianAccepts(custodian, call(t + ahead), "InvalidExpiry", t), accepted, `expiry ${ahead} s ahead`);
    }

    // The circuit's side: the earliest oracle time a later batch may carry is the registering block's time
    // less MAX_BATCH_AGE and MAX_ORACLE_AGE. At the custodian's bound that is 2^26 - 1 s before expiry: provable.
    // The registering block is at NOW; both batches are stamped as early as the custodian allows.
    const registered = (expiry: number) => {
      const state = new ExchangeState(TEST_PARAMS);
      buildBatch(state, [registration(CALL, call(expiry))], { batchNumber: 1, timestamp: NOW - batchAge, oracle: null });
      return state;
    };
    const earliest = NOW - batchAge - MAX_ORACLE_AGE;
    const marking = { oracle: oracleUpdate({ time: earliest }), timestamp: earliest + MAX_ORACLE_AGE };
    assert.equal(await witnessFailure(registered(NOW + maxExpiry - 1), [], marking), null);
    // The old bound (2^26 s from the registering block) let the admin register an option that nothing could
    // mark then: the sequencer's Black-Scholes refuses the time (so it accepts no oracle update at all)...
    const old = registered(NOW + 2 ** 26 - 1);
    assert.throws(() => buildBatch(old, [], { batchNumber: 2, ...marking }), new RegExp(`timeSeconds = ${2 ** 26 - 1 + batchAge + MAX_ORACLE_AGE} outside`));
    // ...and so does the circuit (the same batch with the old expiry in its instrument table).
    await refuses(registered(NOW + maxExpiry - 1), [], rule("BlackScholes", "tBits.in <== timeSeconds"), marking, (input) => {
      const table = input.oldInstruments as string[][];
      table[CALL][7] = String(NOW + 2 ** 26 - 1);
    });
  });
});
