/**
 * The registration rules that keep an instrument's later batches provable live in three places: the
 * custodian (RegistrationRules.checkInstrument, before Custodian.registerInstrument queues the request), the witness builder
 * (derivSlotWitness registrationErrors) and the circuit (RegisterInstrument, DerivSlot's REGISTER_INSTRUMENT). A request
 * the custodian queues must be provable (requests are consumed in order), and one the circuit accepts
 * must keep every later batch provable; the witness builder accepts exactly what the circuit accepts.
 * These tests put the three sides on the same generated boundary cases, field by field:
 *
 * - kind in [PERPETUAL, PUT]; underlying below the circuit's U; lotSizeE6 in (0, 2^40) and tickValue in (0, 2^48);
 *   0 < mmPpm <= imPpm <= 10^6; an option's strike in [MIN_ORACLE_PRICE, MAX_ORACLE_PRICE], 0 for the
 *   others; a perpetual's expiry 0, a dated instrument's not 0; a perpetual's fundingCapPpm <= 10^6, a
 *   dated instrument's 0; an option only at an option id (the custodian picks the ids itself).
 * - Funding horizon: `fundingCapPpm * lotSizeE6 * MAX_ORACLE_PRICE < FUNDING_CAP_BOUND` (all three).
 * - Expiry: the custodian's MAX_EXPIRY_SECONDS leaves room for the batch age and the oracle age, so the
 *   Black-Scholes time input stays below 2^26 s (the circuit refuses it otherwise, shown below); its
 *   MIN_EXPIRY_LEAD gives the operator an hour before the settlement window opens. (The custodian is
 *   stricter than the circuit here, and on the tick size, which must give a whole tick value: both
 *   only narrow what it queues.)
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { network } from "hardhat";
import { getContract, type Abi } from "viem";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { TxRejected } from "../../../sequencer/batch/slotWitness.ts";
import type { BatchTx, InstrumentSpec } from "../../../sequencer/protocol/transactions.ts";
import { custodianArgs } from "../../../sequencer/chain/custodianArgs.ts";
import { custodianAbi, marksRegistryAbi } from "../../../sequencer/chain/abi.ts";
import { fundingCapFits } from "../../../sequencer/derivatives/formulas.ts";
import {
  FUNDING_CAP_BOUND, InstrumentKind, MAX_ORACLE_AGE, MAX_ORACLE_PRICE, MIN_ORACLE_PRICE, PPM, PRICE_SCALE, TxType,
} from "../../../sequencer/protocol/constants.ts";
import { INSTRUMENT_FIELD } from "../../../sequencer/protocol/layouts.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { mockVerifierAbi, testTokenAbi } from "../../contracts/abis.ts";
import { deployExitRoles, deployNamed } from "../../contracts/helpers.ts";
import { inputFailure, loadBatchCircuit, refuses, rule, witnessFailure } from "../../helpers/circuitRules.ts";
import { buildMarking } from "../../../sequencer/derivatives/marking.ts";
import { buildMarkingCircuit } from "../../../scripts/build/markingCircuit.ts";
import { INSTRUMENTS, NOW, oracleUpdate, VOL, volSlices } from "../../helpers/derivatives.ts";
import { oracleMessage } from "../../../sequencer/protocol/messages.ts";

after(terminateSnarkjsCurve);
const { viem, networkHelpers } = await network.create();
const publicClient = await viem.getPublicClient();
const [admin, operator] = await viem.getWalletClients();

async function deploy<const TAbi extends Abi>(abi: TAbi, name: string, args: readonly unknown[] = []) {
  const address = await deployNamed(viem, name, args);
  return getContract({ abi, address, client: { public: publicClient, wallet: admin } });
}

/** A custodian for TEST_PARAMS with a mock verifier (as test/contracts deploy it) and a marks registry, so options list. */
async function deployCustodian() {
  const verifier = await deploy(mockVerifierAbi, "MockVerifier");
  const usdc = await deploy(testTokenAbi, "TestToken", ["USD Coin", "USDC", 6]);
  const exit = await deployExitRoles(viem, admin.account.address);
  const marksRegistry = (await deploy(marksRegistryAbi, "MarksRegistry", [verifier.address])).address;
  return deploy(custodianAbi, "Custodian", custodianArgs(TEST_PARAMS, {
    verifier: verifier.address, genesisRoot: 1n, quoteToken: usdc.address, quoteMinDeposit: 1n, admin: admin.account.address, operator: operator.account.address, ...exit, marksRegistry,
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
async function custodianAccepts(custodian: Custodian, spec: InstrumentSpec, error: string, blockTime?: number, tickSizeE8 = PRICE_SCALE): Promise<boolean> {
  const args = [spec.kind, spec.underlying, spec.lotSizeE6, tickSizeE8, Number(spec.imPpm), Number(spec.mmPpm), spec.strike, spec.expiry, Number(spec.fundingCapPpm)] as const;
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

/**
 * One boundary case of the registration rule: `spec` changes one field of a valid instrument of `base`
 * (registered, off-chain, at instrument id `id`, the base's class unless said); `custodian` is the error
 * the custodian refuses it with (null: queued; undefined: not expressible there, where the custodian
 * picks the id); `circuit` the RegisterInstrument line that refuses it (a kind beyond PUT: the line feeding
 * its OneHot decoding, which refuses it) (null: provable, and then the witness builder registers it too,
 * otherwise it refuses it with BAD_INSTRUMENT).
 */
type RuleCase = {
  label: string; base: number; spec: Partial<InstrumentSpec>; id?: number; custodian?: string | null; circuit: string | null;
  /** A value too wide for its record field: no public data carries it, so the circuit case registers the widest value that fits and the operator's witness puts this one in `reg`. */
  unencodable?: { field: "lotSizeE6" | "tickValue"; value: bigint };
};

const FUTURE = 1;
const U = TEST_PARAMS.underlyings;
const WIDE = 1n << 48n; // tick values' width
const LOT_WIDE = 1n << 40n; // lot sizes' width
/** Every field of the rule at its boundaries: the last value each side accepts and the first it refuses. */
const RULE_CASES: RuleCase[] = [
  { label: "kind NONE", base: PERP, spec: { kind: InstrumentKind.NONE }, custodian: "InvalidInstrumentKind", circuit: "isReg * regKind.out[KIND_NONE()] === 0" },
  { label: "kind PUT + 1", base: PERP, spec: { kind: (InstrumentKind.PUT + 1) as InstrumentKind }, custodian: "InvalidInstrumentKind", circuit: "regKind.in <== reg[I_KIND()]" },
  { label: "underlying U - 1", base: PERP, spec: { underlying: U - 1 }, custodian: null, circuit: null },
  { label: "underlying U", base: PERP, spec: { underlying: U }, custodian: "UnknownUnderlying", circuit: "isReg * (1 - regUnderlying.out) === 0" },
  { label: "lot size 0", base: FUTURE, spec: { lotSizeE6: 0n }, custodian: "InvalidLotSize", circuit: "isReg * (lotZero.out + tickZero.out + mmZero.out) === 0" },
  { label: "lot size 2^40 - 1", base: FUTURE, spec: { lotSizeE6: LOT_WIDE - 1n, tickValue: LOT_WIDE - 1n }, custodian: null, circuit: null },
  {
    label: "lot size 2^40", base: FUTURE, spec: { lotSizeE6: LOT_WIDE, tickValue: LOT_WIDE }, custodian: "InvalidLotSize", circuit: "regLot.in <== reg[I_LOT()]",
    unencodable: { field: "lotSizeE6", value: LOT_WIDE },
  },
  { label: "tick value 0", base: FUTURE, spec: { lotSizeE6: 1_000_000n, tickValue: 0n }, custodian: "InvalidTickSize", circuit: "isReg * (lotZero.out + tickZero.out + mmZero.out) === 0" },
  { label: "tick value 2^48 - 1", base: FUTURE, spec: { lotSizeE6: 1_000_000n, tickValue: WIDE - 1n }, custodian: null, circuit: null },
  {
    label: "tick value 2^48", base: FUTURE, spec: { lotSizeE6: 1_000_000n, tickValue: WIDE }, custodian: "InvalidTickSize", circuit: "regTick.in <== reg[I_TICK()]",
    unencodable: { field: "tickValue", value: WIDE },
  },
  { label: "maintenance margin 0", base: PERP, spec: { mmPpm: 0n }, custodian: "InvalidMarginRates", circuit: "isReg * (lotZero.out + tickZero.out + mmZero.out) === 0" },
  { label: "maintenance margin = initial", base: PERP, spec: { imPpm: 100_000n, mmPpm: 100_000n }, custodian: null, circuit: null },
  { label: "maintenance margin above initial", base: PERP, spec: { imPpm: 100_000n, mmPpm: 100_001n }, custodian: "InvalidMarginRates", circuit: "imAboveMm.in <==" },
  { label: "initial margin 10^6", base: PERP, spec: { imPpm: PPM }, custodian: null, circuit: null },
  { label: "initial margin 10^6 + 1", base: PERP, spec: { imPpm: PPM + 1n }, custodian: "InvalidMarginRates", circuit: "imAtMost.in <==" },
  { label: "option strike MIN_ORACLE_PRICE - 1", base: CALL, spec: { strike: MIN_ORACLE_PRICE - 1n }, custodian: "InvalidStrike", circuit: "strikeLo.in <==" },
  { label: "option strike MIN_ORACLE_PRICE", base: CALL, spec: { strike: MIN_ORACLE_PRICE }, custodian: null, circuit: null },
  { label: "option strike MAX_ORACLE_PRICE", base: CALL, spec: { kind: InstrumentKind.PUT, strike: MAX_ORACLE_PRICE }, custodian: null, circuit: null },
  { label: "option strike MAX_ORACLE_PRICE + 1", base: CALL, spec: { strike: MAX_ORACLE_PRICE + 1n }, custodian: "InvalidStrike", circuit: "strikeHi.in <==" },
  { label: "future with a strike", base: FUTURE, spec: { strike: 1n }, custodian: "InvalidStrike", circuit: "regOther * reg[I_STRIKE()] === 0" },
  { label: "perpetual with an expiry", base: PERP, spec: { expiry: 1 }, custodian: "InvalidExpiry", circuit: "regPerpetual * (1 - expiryZero.out) === 0" },
  { label: "future without an expiry", base: FUTURE, spec: { expiry: 0 }, custodian: "InvalidExpiry", circuit: "regDated * expiryZero.out === 0" },
  { label: "perpetual cap 10^6 (small lots)", base: PERP, spec: { lotSizeE6: 1n, tickValue: 1n, fundingCapPpm: PPM }, custodian: null, circuit: null },
  { label: "perpetual cap 10^6 + 1 (small lots)", base: PERP, spec: { lotSizeE6: 1n, tickValue: 1n, fundingCapPpm: PPM + 1n }, custodian: "InvalidFundingCap", circuit: "capAtMost.in <==" },
  { label: "future with a funding cap", base: FUTURE, spec: { fundingCapPpm: 1n }, custodian: "InvalidFundingCap", circuit: "regDated * reg[I_CAP()] === 0" },
  { label: "option at a non-option id", base: CALL, spec: {}, id: PERP, circuit: "regOption * (1 - optionId) === 0" },
];

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
    for (const lot of [1_000_000n, 12_345_678n, LOT_WIDE - 1n]) {
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
      else await refuses(new ExchangeState(TEST_PARAMS), [registration(PERP, spec)], rule("RegisterInstrument", "fundingHorizon.in <=="), { oracle: null });
    }
  });

  it("every field: the custodian queues only what the circuit proves, and the witness builder accepts exactly that", async () => {
    let t = 0;
    for (const c of RULE_CASES) {
      const base = INSTRUMENTS[c.base];
      const dated = (c.spec.kind ?? base.kind) !== InstrumentKind.PERPETUAL;
      const custodian = await networkHelpers.loadFixture(deployCustodian);
      t = Math.max(t, Number(await networkHelpers.time.latest())) + 10;
      // A dated instrument expires a day after the custodian's block (its window); the circuit only needs expiry in (0, 2^32).
      const spec: InstrumentSpec = { ...base, ...(dated ? { expiry: t + 86_400 } : {}), ...c.spec };
      const id = c.id ?? c.base;
      const provable = c.circuit === null;
      assert.equal(witnessBuilderAccepts(spec, id), provable, `witness builder, ${c.label}`);
      if (provable) assert.equal(await witnessFailure(new ExchangeState(TEST_PARAMS), [registration(id, spec)], { oracle: null }), null, `circuit, ${c.label}`);
      else if (!c.unencodable) await refuses(new ExchangeState(TEST_PARAMS), [registration(id, spec)], rule("RegisterInstrument", c.circuit!), { oracle: null });
      else {
        const { field, value } = c.unencodable;
        await refuses(new ExchangeState(TEST_PARAMS), [registration(id, { ...spec, [field]: value - 1n })], rule("RegisterInstrument", c.circuit!), { oracle: null }, (input) => {
          (input.d_reg as string[][])[0][INSTRUMENT_FIELD[field]] = String(value);
        });
      }
      if (c.custodian === undefined) continue;
      // The custodian takes a tick size and derives the tick value: tickSizeE8 = tickValue * 10^8 / lotSizeE6, whole for these cases.
      const tickSizeE8 = spec.lotSizeE6 === 0n ? PRICE_SCALE : (spec.tickValue * PRICE_SCALE) / spec.lotSizeE6;
      const queued = await custodianAccepts(custodian, spec, c.custodian ?? "no error expected", t, tickSizeE8);
      assert.equal(queued, c.custodian === null, `custodian, ${c.label}`);
      assert.ok(!queued || provable, `the custodian queues an unprovable registration: ${c.label}`);
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
    // an update pricing the option's expiry (so the batch reads its mark)
    const markingAt = (expiry: number) => ({ oracle: oracleUpdate({ time: earliest, volSlices: volSlices(VOL, 0n, expiry) }), timestamp: earliest + MAX_ORACLE_AGE });
    const marking = markingAt(NOW + maxExpiry - 1);
    const proven = buildBatch(registered(NOW + maxExpiry - 1), [], { batchNumber: 2, ...marking });
    assert.deepEqual(proven.marking?.marks.map((m) => m.id), [CALL], "the batch reads the option's mark");
    assert.equal(await witnessFailure(registered(NOW + maxExpiry - 1), [], marking), null);
    // The old bound (2^26 s from the registering block) let the admin register an option that nothing could
    // mark then: the sequencer's Black-Scholes refuses the time (so it accepts no oracle update at all)...
    const old = registered(NOW + 2 ** 26 - 1);
    // expiry - earliest oracle time = 2^26 - 1 + MAX_BATCH_AGE + MAX_ORACLE_AGE
    const oldMarking = markingAt(NOW + 2 ** 26 - 1);
    assert.throws(() => buildBatch(old, [], { batchNumber: 2, ...oldMarking }), new RegExp(`timeSeconds = ${2 ** 26 - 1 + batchAge + MAX_ORACLE_AGE} outside`));
    // ...and so does the marking circuit, which computes every mark a batch reads (the same option's entry with the old
    // expiry), so no batch can read one for it.
    const entry = { id: CALL, instrument: registered(NOW + maxExpiry - 1).instruments[CALL] };
    const input = buildMarking(marking.oracle, [entry], TEST_PARAMS).inputs;
    (input.expiry as bigint[])[0] = BigInt(NOW + 2 ** 26 - 1);
    (input.sliceExpiry as bigint[])[0] = BigInt(NOW + 2 ** 26 - 1);
    input.messageHash = oracleMessage(oldMarking.oracle);
    const chain = await inputFailure(input, (await buildMarkingCircuit(TEST_PARAMS)).wasm);
    assert.ok(chain?.includes(rule("BlackScholes", "tBits.in <== timeSeconds")), `refused at ${chain?.join(" < ")}`);
  });
});
