/**
 * The rules RULES.md listed under "Gaps" (G1-G9; G4 in its own describe): rules no test broke. Each circuit attack is built
 * the way a dishonest operator would build it (the TypeScript checks off, public data hashed
 * consistently) and must be refused at the rule's own constraint (test/helpers/circuitRules.ts); the
 * witness builder's refusal code is checked on the honest path (the rules on), and a refused batch
 * changes nothing.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildBatch, type BatchOptions } from "../../../sequencer/batch/batchWitness.ts";
import { TxRejected } from "../../../sequencer/batch/slotWitness.ts";
import type { BatchTx } from "../../../sequencer/protocol/transactions.ts";
import { OracleRejected, type SignedOracleUpdate } from "../../../sequencer/derivatives/oracleStep.ts";
import { Bits, MAX_ORACLE_PRICE, MIN_ORACLE_PRICE, MIN_VOL_PPM, Side, TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { encodePublicData, publicInputsOf, type OracleSection } from "../../../sequencer/protocol/publicData.ts";
import { signCancel, signTransfer } from "../../../sequencer/protocol/signing.ts";
import { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { compressPublicKey, type PublicKey } from "../../../sequencer/crypto/babyjub.ts";
import { buildBatchCircuit } from "../../../scripts/build/batchCircuit.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { inputFailure, loadBatchCircuit, refuses, rule, witnessFailure, type CircuitInput } from "../../helpers/circuitRules.ts";
import {
  aliceLongPerpetual, derivativesState, derivOrder, derivTrade, EXPIRY, INSTRUMENTS, liquidateAlice, NOW, oracleUpdate, PRICE, setInsuranceFund, traders, VOL, volSlices,
} from "../../helpers/derivatives.ts";

after(terminateSnarkjsCurve);
const { alice, bob } = traders;
const [PERP, FUTURE, CALL] = [0, 1, 2];
const LIMIT_128 = 1n << BigInt(Bits.balance);
const POSITION_LIMIT = 1n << BigInt(Bits.positionSize - 1);
const COLLATERAL_LIMIT = 1n << BigInt(Bits.collateral - 1);

/** The witness builder (rules on) refuses `txs` on `state` with `code`, leaving the state as it was. */
function builderRefuses(state: ExchangeState, txs: BatchTx[], code: string, opts: Partial<BatchOptions> = {}): void {
  const root = state.root;
  assert.throws(
    () => buildBatch(state, txs, { batchNumber: 50, timestamp: NOW, oracle: oracleUpdate(), ...opts }),
    (e: unknown) => (e instanceof TxRejected || e instanceof OracleRejected) && e.code === code,
    `the builder did not refuse with ${code}`,
  );
  assert.equal(state.root, root, "a refused batch changed the state");
}

/** The operator's claim on an honest batch: `claim` changes the state after it, and the public data is hashed with the new root; the circuit refuses at the digest. */
async function refusesClaim(state: ExchangeState, txs: BatchTx[], opts: Partial<BatchOptions>, claim: () => void): Promise<void> {
  const batch = buildBatch(state, txs, { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate(), ...opts });
  claim();
  batch.circuitInput.publicInput = publicInputsOf(encodePublicData({ ...batch.header, newRoot: state.root }, batch.oracle, batch.records)).map(String);
  const failure = await inputFailure(batch.circuitInput);
  assert.ok(failure?.includes(rule("Batch", "pub.chunks <== publicInput")), `refused at ${failure?.join(" < ")}`);
}

/** alice buys one future lot from bob: the same orders, at any time before the orders' own expiry. */
const futureTrade = () => derivTrade(FUTURE, 10n, 300_000n);
const callTrade = () => derivTrade(CALL, 10n, 20_000n);

describe("RULES.md gaps: attacks on rules no test broke", { timeout: 900_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });

  describe("G6: a trade on a dated instrument at or after its expiry (DT8)", () => {
    // The batch is stamped at the expiry while its oracle update was signed a second before: the
    // instrument has not settled (the oracle time has not reached the expiry), so only the trade's own
    // expiry rule stands between the operator and a fill at a price the market no longer makes.
    const atExpiry = (t: number): Partial<BatchOptions> => ({ timestamp: t, oracle: oracleUpdate({ time: EXPIRY - 1 }) });

    it("refuses a future and a call traded at the expiry second and after it (the instrument not yet settled)", async () => {
      for (const tx of [futureTrade, callTrade]) {
        await refuses(derivativesState(), [tx()], rule("Fill", "datedFill * (1 - beforeExpiry.out) === 0"), atExpiry(EXPIRY));
        await refuses(derivativesState(), [tx()], rule("Fill", "datedFill * (1 - beforeExpiry.out) === 0"), atExpiry(EXPIRY + 60));
      }
    });

    it("accepts the same trades a second before the expiry, and a perpetual at the expiry second", async () => {
      for (const tx of [futureTrade, callTrade]) assert.equal(await witnessFailure(derivativesState(), [tx()], atExpiry(EXPIRY - 1)), null);
      assert.equal(await witnessFailure(derivativesState(), [derivTrade(PERP, 10n, 300_000n)], atExpiry(EXPIRY)), null);
    });

    it("the witness builder refuses them with INSTRUMENT_EXPIRED, changing nothing", () => {
      builderRefuses(derivativesState(), [futureTrade()], "INSTRUMENT_EXPIRED", atExpiry(EXPIRY));
      builderRefuses(derivativesState(), [callTrade()], "INSTRUMENT_EXPIRED", atExpiry(EXPIRY));
    });
  });

  describe("G7: the seller's and the liquidator's initial margin (DT11, L11)", () => {
    // bob sells 16,000 perpetual lots at 2,900 while the mark is 3,000: alice gains 16,000 quote of
    // equity (65,768 on an IM of 48,000), bob loses it (33,954 on the same IM).
    const sellerUnder = () => derivTrade(PERP, 16_000n, 290_000n);
    // carol buys alice's whole position at 2,940 (the band's high edge, mark 2,800): her equity is
    // 50,000 - 15,000 x 1.4 = 29,000 on an IM of 42,000.
    const liquidatorUnder = () => liquidateAlice(15_000n, 294_000n);
    const DROPPED = { oracle: oracleUpdate({ prices: [280_000_000_000n] }) };

    it("refuses a trade that leaves the seller under initial margin (the buyer well above it)", async () => {
      await refuses(derivativesState(), [sellerUnder()], rule("DerivSlot", "bIM.b <== bPost.req"));
      assert.equal(await witnessFailure(derivativesState(), [derivTrade(PERP, 11_000n, 290_000n)]), null, "11,000 lots leave bob above it");
    });

    it("refuses a liquidation that leaves the liquidator under initial margin", async () => {
      await refuses(aliceLongPerpetual(), [liquidatorUnder()], rule("DerivSlot", "bIM.b <== bPost.req"), DROPPED);
    });

    it("the witness builder refuses both with BELOW_INITIAL_MARGIN, changing nothing", () => {
      builderRefuses(derivativesState(), [sellerUnder()], "BELOW_INITIAL_MARGIN");
      builderRefuses(aliceLongPerpetual(), [liquidatorUnder()], "BELOW_INITIAL_MARGIN", DROPPED);
    });
  });

  describe("G8: positions stay 48-bit signed, collateral 128-bit signed (DT12)", () => {
    // No sequence of batches reaches these bounds at the test sizes (2^47 lots need about 2^68 quote
    // units of margin, collateral 2^127 needs 2^31 maximal deposits), so the accounts are written
    // straight into the state: what the circuit must refuse is the step across the bound.
    const BIG = 1n << 100n;
    /** `state` with alice's and bob's perpetual positions at `aSize`, `bSize` and `BIG` collateral each. */
    function atPositions(aSize: bigint, bSize: bigint): ExchangeState {
      const state = derivativesState();
      for (const [id, size] of [[alice.accountId, aSize], [bob.accountId, bSize]] as const) {
        const d = state.account(id).deriv;
        state.setDeriv(id, { collateral: BIG, positions: d.positions.map((p, i) => (i === PERP ? { ...p, size } : p)) });
        state.commitAccount(id);
      }
      return state;
    }
    /** `state` with alice's collateral at 2^127 - 10 and 10 quote units in her spot balance; her transfer of `amount` into collateral. */
    function collateralAtTop(): ExchangeState {
      const state = derivativesState();
      state.setDeriv(alice.accountId, { ...state.account(alice.accountId).deriv, collateral: COLLATERAL_LIMIT - 10n });
      state.setBalance(alice.accountId, 0, 10n);
      state.commitAccount(alice.accountId);
      return state;
    }
    const transferIn = (amount: bigint): BatchTx => ({ type: TxType.TRANSFER, request: signTransfer(alice.key, { accountId: alice.accountId, toCollateral: true, amount, nonce: 1 }) });

    it("refuses a buy that takes a position to 2^47 lots, and a sell that takes one below -2^47", async () => {
      await refuses(atPositions(POSITION_LIMIT - 1n, 0n), [derivTrade(PERP, 1n, 300_000n)], [rule("AccountRisk", "sign[i].in <== size[i]"), rule("DerivSlot", "aPostTrade.short <== imShort")]);
      await refuses(atPositions(0n, 1n - POSITION_LIMIT), [derivTrade(PERP, 2n, 300_000n)], [rule("AccountRisk", "sign[i].in <== size[i]"), rule("DerivSlot", "bPost.short <== imShort")]);
      // (The circuit's range is [-2^47, 2^47); sizeInRange, shared by the builder and the risk engine,
      // also refuses -2^47 itself, so the honest bound is |size| < 2^47.)
      assert.equal(await witnessFailure(atPositions(POSITION_LIMIT - 2n, 2n - POSITION_LIMIT), [derivTrade(PERP, 1n, 300_000n)]), null, "up to the bound passes");
    });

    it("refuses a transfer that takes collateral to 2^127", async () => {
      await refuses(collateralAtTop(), [transferIn(10n)], [rule("AccountRisk", "cRange.in <== c"), rule("DerivSlot", "aPostTrade.short <== imShort")]);
      assert.equal(await witnessFailure(collateralAtTop(), [transferIn(9n)]), null, "2^127 - 1 passes");
    });

    it("the witness builder refuses them with POSITION_OVERFLOW and COLLATERAL_OVERFLOW, changing nothing", () => {
      builderRefuses(atPositions(POSITION_LIMIT - 1n, 0n), [derivTrade(PERP, 1n, 300_000n)], "POSITION_OVERFLOW");
      builderRefuses(atPositions(0n, 1n - POSITION_LIMIT), [derivTrade(PERP, 2n, 300_000n)], "POSITION_OVERFLOW");
      builderRefuses(collateralAtTop(), [transferIn(10n)], "COLLATERAL_OVERFLOW");
    });
  });

  describe("G9: bad debt left by a SETTLE (ST3)", () => {
    // bob sells 15,000 future lots at 3,000 on 50,000 of collateral; the future settles at 3,500, which
    // leaves him flat at -25,045 quote. The cover is no operator choice (a signal of the slot, not a
    // witness): a claimed new state with any other cover is refused where the root meets the public data.
    const atExpiry = { oracle: oracleUpdate({ time: EXPIRY + 5, prices: [350_000_000_000n] }), timestamp: EXPIRY + 10 };
    const settleBob: BatchTx = { type: TxType.SETTLE, accountId: bob.accountId, instrumentId: FUTURE };
    function bobShort(fund: bigint): ExchangeState {
      const state = derivativesState();
      buildBatch(state, [derivTrade(FUTURE, 15_000n, 300_000n)], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() });
      setInsuranceFund(state, fund);
      return state;
    }
    /** Moves `amount` from the insurance fund to bob's collateral (negative: back), after the honest batch. */
    function shift(state: ExchangeState, amount: bigint): void {
      const d = state.account(bob.accountId).deriv;
      state.setDeriv(bob.accountId, { ...d, collateral: d.collateral + amount });
      state.commitAccount(bob.accountId);
      state.setGlobals({ ...state.globals, insuranceFund: state.globals.insuranceFund - amount }); // inside the state: the pooled quote stays
    }

    it("refuses a settlement that leaves a flat account's deficit uncovered while the fund holds enough", async () => {
      const state = bobShort(40_000_000_000n);
      await refusesClaim(state, [settleBob], atExpiry, () => {
        assert.equal(state.account(bob.accountId).deriv.collateral, 0n, "the honest batch covers the whole deficit");
        shift(state, -(40_000_000_000n - state.globals.insuranceFund));
      });
    });

    it("refuses a settlement whose cover exceeds the deficit (the fund's surplus paid to the settled account)", async () => {
      const state = bobShort(40_000_000_000n);
      await refusesClaim(state, [settleBob], atExpiry, () => shift(state, state.globals.insuranceFund));
    });

    it("refuses a cover of the part of a deficit the fund does not hold (minting the rest)", async () => {
      const state = bobShort(20_000_000_000n);
      await refusesClaim(state, [settleBob], atExpiry, () => {
        assert.equal(state.globals.insuranceFund, 0n, "the honest batch empties the fund");
        const d = state.account(bob.accountId).deriv;
        state.setDeriv(bob.accountId, { ...d, collateral: 0n });
        state.commitAccount(bob.accountId);
      });
    });
  });

  describe("G5: an instrument registered in this batch, traded in the same batch (DT7, RI11)", () => {
    // Two derivatives slots: the first registers the future, the second trades it. The slots read the
    // instrument table at the batch's start (the marks come from the oracle step, which ran before the
    // registration), where the future is not registered yet.
    const params = { ...TEST_PARAMS, derivSlots: 2 };
    const perpetualOnly = () => derivativesState(undefined, [INSTRUMENTS[PERP]], params);
    const registerFuture: BatchTx = { type: TxType.REGISTER_INSTRUMENT, instrumentId: FUTURE, ...INSTRUMENTS[FUTURE] };
    const batchOf = (state: ExchangeState, txs: BatchTx[], n: number, o: Partial<BatchOptions> = {}) =>
      buildBatch(state, txs, { batchNumber: n, timestamp: NOW, oracle: oracleUpdate(), ...o }).circuitInput;

    it("refuses a trade of the future in the batch that registers it, and proves it in the next batch", async () => {
      const { wasm } = await buildBatchCircuit(params);
      const dishonest = batchOf(perpetualOnly(), [registerFuture, futureTrade()], 9, { enforceRules: false, verifySignatures: false });
      const failure = await inputFailure(dishonest, wasm);
      assert.ok(failure?.includes(rule("Fill", "fills * kindNone === 0")), `refused at ${failure?.join(" < ")}`);
      const state = perpetualOnly();
      assert.equal(await inputFailure(batchOf(state, [registerFuture], 9), wasm), null);
      assert.equal(await inputFailure(batchOf(state, [futureTrade()], 10), wasm), null, "tradable from the next batch");
    });

    it("the witness builder refuses it with UNKNOWN_INSTRUMENT, changing nothing", () => {
      builderRefuses(perpetualOnly(), [registerFuture, futureTrade()], "UNKNOWN_INSTRUMENT");
    });
  });

  describe("G3: the oracle step's time, price, vol and rate rules (O4, O6, O8)", () => {
    // Values past the top of the range do not fit the signed message (oracleMessage refuses to pack
    // them, and intake answers MALFORMED): the operator's update carries the signature of another one.
    const cases: [string, SignedOracleUpdate, string | null, string][] = [
      ["refuses an update signed a second after the batch's timestamp (ORACLE_FROM_FUTURE)", oracleUpdate({ time: NOW + 1 }), "ORACLE_FROM_FUTURE", rule("OracleStep", "notFuture.in <==")],
      ["refuses a price one below 2^16 (BAD_ORACLE_PRICE)", oracleUpdate({ prices: [MIN_ORACLE_PRICE - 1n] }), "BAD_ORACLE_PRICE", rule("OracleStep", "priceLo[u].in <==")],
      ["refuses a price of 2^50 (unsignable: the message packs 50 bits)", { ...oracleUpdate(), prices: [MAX_ORACLE_PRICE + 1n] }, null, rule("OracleStep", "priceHi[u].in <==")],
      // Every vol slice in use is range-checked, whether an option uses it or not (here no option is listed).
      ["refuses a vol level one below 2^13 (BAD_ORACLE_VOL)", oracleUpdate({ volSlices: volSlices(MIN_VOL_PPM - 1n) }), "BAD_ORACLE_VOL", rule("VolSlices", "levelLo[e].in <==")],
      ["refuses a vol level of 2^23 (unsignable: the message packs 23 bits)", { ...oracleUpdate(), volSlices: volSlices(1n << BigInt(Bits.volPpm)) }, null, rule("VolSlices", "levelHi[e].in <==")],
      ["refuses a funding rate on the future (FUNDING_NOT_PERPETUAL)", oracleUpdate({ rates: [0n, 1n, 0n, 0n] }), "FUNDING_NOT_PERPETUAL", rule("InstrumentMarks", "(1 - isPerp) * rate === 0")],
      ["refuses a funding rate on a call (FUNDING_NOT_PERPETUAL)", oracleUpdate({ rates: [0n, 0n, -1n, 0n] }), "FUNDING_NOT_PERPETUAL", rule("InstrumentMarks", "(1 - isPerp) * rate === 0")],
    ];

    // Each title names the witness builder's code; the builder refuses the update with it, changing nothing
    // (an unsignable one with a RangeError).
    for (const [title, update, code, at] of cases) {
      it(title, async () => {
        // Options are marked by Black-Scholes, whose TypeScript trace refuses prices and vols outside
        // its domain: the operator's witness is built on the perpetual and the future alone.
        await refuses(derivativesState(undefined, INSTRUMENTS.slice(0, /call/.test(title) ? 4 : 2)), [], at, { oracle: update });
        if (code) builderRefuses(derivativesState(), [], code, { oracle: update });
        else assert.throws(() => buildBatch(derivativesState(), [], { batchNumber: 50, timestamp: NOW, oracle: update }), RangeError);
      });
    }

    it("accepts the domain's edges: prices 2^16 and 2^50 - 1, vol levels 2^13 and 2^23 - 1", async () => {
      for (const [price, vol] of [[MIN_ORACLE_PRICE, MIN_VOL_PPM], [MAX_ORACLE_PRICE, (1n << BigInt(Bits.volPpm)) - 1n]]) {
        assert.equal(await witnessFailure(derivativesState(), [], { oracle: oracleUpdate({ prices: [price], volSlices: volSlices(vol) }) }), null, `price ${price}, vol ${vol}`);
      }
    });
  });

  describe("G2: an unused oracle section with a non-zero field (O1)", () => {
    // No oracle update in the batch (oracleUsed = 0), but one field of the section is not zero: in the
    // public data and in the witness alike, so only the step's own rule can refuse it.
    const keyOf = (x: bigint, y: bigint) => compressPublicKey([x, y] as PublicKey);
    // The rule's text in OracleStep, or [template, text] in another template.
    const fields: [string, (s: OracleSection) => OracleSection, (i: CircuitInput) => void, string | ["VolSlices", string]][] = [
      ["refuses a non-zero key y in an unused oracle section", (s) => ({ ...s, key: keyOf(0n, 5n) }), (i) => { i.oracleKeyY = "5"; }, "unused * oracleKeyY === 0"],
      ["refuses a non-zero time in an unused oracle section", (s) => ({ ...s, time: BigInt(NOW) }), (i) => { i.oracleTime = String(NOW); }, "unused * oracleTime === 0"],
      ["refuses a non-zero funding epoch in an unused oracle section", (s) => ({ ...s, fundingEpoch: 1n }), (i) => { i.fundingEpoch = "1"; }, "unused * fundingEpoch === 0"],
      ["refuses a non-zero price in an unused oracle section", (s) => ({ ...s, prices: [PRICE] }), (i) => { i.prices = [String(PRICE)]; }, "unused * prices[u] === 0"],
      ["refuses a vol slice in an unused oracle section", (s) => ({ ...s, volSlices: volSlices() }), (i) => { i.sliceExpiry = [String(EXPIRY), "0"]; i.sliceLevel = [String(VOL), "0"]; }, ["VolSlices", "(1 - used) * level[e] === 0"]],
      ["refuses a non-zero rate in an unused oracle section", (s) => ({ ...s, rates: [1n, 0n, 0n, 0n] }), (i) => { i.rates = ["1", "0", "0", "0"]; }, "for (var i = 0; i < N; i++) unused * rates[i] === 0"],
      ["refuses a named expiry in an unused oracle section", (s) => ({ ...s, settleExpiry: BigInt(EXPIRY) }), (i) => { i.settleExpiry = String(EXPIRY); }, "unused * settleExpiry === 0"],
      ["refuses a settlement price without a named expiry (O15)", (s) => ({ ...s, settlePrices: [PRICE] }), (i) => { i.settlePrices = [String(PRICE)]; }, "noSettle.out * settlePrices[u] === 0"],
    ];
    for (const [title, section, tamper, text] of fields) {
      it(title, async () => {
        const batch = buildBatch(derivativesState(), [], { batchNumber: 9, timestamp: NOW, oracle: null });
        assert.equal(await inputFailure(batch.circuitInput), null, "the honest batch passes");
        tamper(batch.circuitInput);
        batch.circuitInput.publicInput = publicInputsOf(encodePublicData(batch.header, section(batch.oracle), batch.records)).map(String);
        const failure = await inputFailure(batch.circuitInput);
        assert.ok(failure?.includes(typeof text === "string" ? rule("OracleStep", text) : rule(...text)), `refused at ${failure?.join(" < ")}`);
      });
    }
  });

  describe("G1: the fee pool and the insurance fund stay below 2^128 (H11)", () => {
    // No batch sequence reaches 2^128 at the test sizes: the pools are written straight into the state.
    // alice's 10-lot perpetual buy pays 180,000 of fees (150,000 + 30,000); carol's 1,000-lot
    // liquidation of alice at 2,800 pays 280,000,000 of penalty into the fund.
    const FEES = 180_000n;
    const PENALTY = 280_000_000n;
    const DROPPED = { oracle: oracleUpdate({ prices: [280_000_000_000n] }) };
    function feePoolAt(value: bigint): ExchangeState {
      const state = derivativesState();
      state.addFees(value - state.feePool); // the pool alone: the pooled quote's own bound is not what these test
      return state;
    }
    function fundAt(value: bigint): ExchangeState {
      const state = aliceLongPerpetual();
      state.setGlobals({ ...state.globals, insuranceFund: value }); // the fund alone, as feePoolAt
      return state;
    }
    const trade = () => derivTrade(PERP, 10n, 300_000n);
    const liquidation = () => liquidateAlice(1_000n, 280_000n);

    it("refuses a trade whose fees take the fee pool to 2^128; one unit less passes", async () => {
      await refuses(feePoolAt(LIMIT_128 - FEES), [trade()], rule("Batch", "feePoolBits.in <== feePoolEnd"));
      assert.equal(await witnessFailure(feePoolAt(LIMIT_128 - FEES - 1n), [trade()]), null);
    });

    it("refuses a liquidation whose penalty takes the insurance fund to 2^128; one unit less passes", async () => {
      await refuses(fundAt(LIMIT_128 - PENALTY), [liquidation()], rule("Batch", "insuranceBits.in <== insuranceEnd"), DROPPED);
      assert.equal(await witnessFailure(fundAt(LIMIT_128 - PENALTY - 1n), [liquidation()], DROPPED), null);
    });

    it("the witness builder refuses them with FEE_POOL_OVERFLOW and INSURANCE_OVERFLOW, changing nothing", () => {
      builderRefuses(feePoolAt(LIMIT_128 - FEES), [trade()], "FEE_POOL_OVERFLOW");
      builderRefuses(fundAt(LIMIT_128 - PENALTY), [liquidation()], "INSURANCE_OVERFLOW", DROPPED);
    });
  });
});

describe("G4: signatures, lots > 0, order expiry and order storage in a derivatives slot (DT6, L12)", { timeout: 900_000 }, () => {
  before(async () => {
    await loadBatchCircuit(TEST_PARAMS);
  });
  const { carol } = traders;
  const DROPPED = { oracle: oracleUpdate({ prices: [280_000_000_000n] }) };
  const SIGNATURE = rule("EdDSAPoseidonVerifier", "eqCheckX.in[1] <== addRight.xout");
  /** `t`'s order on instrument `id` as signed, relabelled as `owner`'s: its signature is `t`'s, not the owner's key's. */
  const signedBy = (t: typeof alice, owner: typeof alice, fields: Parameters<typeof derivOrder>[2], id = PERP) => ({ ...derivOrder(t, id, fields), accountId: owner.accountId });

  it("refuses a trade whose buy order or sell order is not signed by its account's key (bob's sell order signed by alice)", async () => {
    const buy = signedBy(bob, alice, { orderId: 1n, side: Side.BUY, priceTicks: 300_000n, sizeLots: 10n });
    await refuses(derivativesState(), [{ ...(derivTrade(PERP, 10n, 300_000n) as Extract<BatchTx, { type: typeof TxType.DERIV_TRADE }>), buy }], [SIGNATURE, rule("DerivSlot", "sigCheckA.msg <== msgA.out")]);
    const sell = signedBy(alice, bob, { orderId: 1n, side: Side.SELL, priceTicks: 300_000n, sizeLots: 10n });
    await refuses(derivativesState(), [{ ...(derivTrade(PERP, 10n, 300_000n) as Extract<BatchTx, { type: typeof TxType.DERIV_TRADE }>), sell }], [SIGNATURE, rule("DerivSlot", "sigCheckB.msg <== msgB.out")]);
  });

  it("refuses a liquidation whose liquidator order is not signed by the liquidator's key (L12)", async () => {
    const liquidation = liquidateAlice(1_000n, 280_000n) as Extract<BatchTx, { type: typeof TxType.LIQUIDATE }>;
    const forged = signedBy(bob, carol, { orderId: 1n, side: Side.BUY, priceTicks: 280_000n, sizeLots: 1_000n });
    await refuses(aliceLongPerpetual(), [{ ...liquidation, liquidator: forged }], [SIGNATURE, rule("DerivSlot", "sigCheckB.msg <== msgB.out")], DROPPED);
    assert.equal(await witnessFailure(aliceLongPerpetual(), [liquidation], DROPPED), null, "carol's own signature passes");
  });

  it("refuses a trade of zero lots", async () => {
    await refuses(derivativesState(), [derivTrade(PERP, 0n, 300_000n, { buy: { sizeLots: 10n }, sell: { sizeLots: 10n } })], rule("Fill", "fills * lotsIsZero.out === 0"));
  });

  it("refuses a fill of an order past its signed expiry, either side; at its expiry second it passes", async () => {
    const at = (expiry: number, side: "buy" | "sell") => derivTrade(PERP, 10n, 300_000n, { [side]: { expiry } });
    await refuses(derivativesState(), [at(NOW - 1, "buy")], [rule("OrderTime", "notExpired.b <=="), rule("Fill", "timeA.o <== orderA")]);
    await refuses(derivativesState(), [at(NOW - 1, "sell")], [rule("OrderTime", "notExpired.b <=="), rule("Fill", "timeB.o <== orderB")]);
    assert.equal(await witnessFailure(derivativesState(), [at(NOW, "sell")]), null);
  });

  it("refuses a second fill of an order beyond its signed size (order storage); the same order's remainder passes", async () => {
    const filledOnce = async () => {
      const state = derivativesState();
      assert.equal(await witnessFailure(state, [derivTrade(PERP, 6n, 300_000n, { sell: { sizeLots: 10n } })]), null);
      return state;
    };
    // bob's sell order (id 1, 10 lots) has 6 filled: alice's new order (id 2) may take 4 more, not 5
    const again = (lots: bigint) => derivTrade(PERP, lots, 300_000n, { buy: { orderId: 2n }, sell: { sizeLots: 10n } });
    await refuses(await filledOnce(), [again(5n)], rule("OrderStorage", "fill * (1 - within.out) === 0"));
    assert.equal(await witnessFailure(await filledOnce(), [again(4n)], { batchNumber: 10 }), null);
  });
});

describe("RULES.md gaps: the witness builder's refusal codes no test named", () => {
  // Each rule is broken in the circuit by its own attack test (RULES.md cites it); here the builder,
  // with its rules on, refuses the same transaction with the code the sequencer's rejection carries.
  const DROPPED = { oracle: oracleUpdate({ prices: [280_000_000_000n] }) };
  const { carol } = traders;
  const fresh = () => new ExchangeState(TEST_PARAMS);
  const spot = { oracle: null };
  const cancel = (orderId: bigint): BatchTx => ({ type: TxType.CANCEL, request: signCancel(alice.key, { accountId: alice.accountId, orderId }) });
  const withMarket = () => {
    const state = fresh();
    buildBatch(state, [{ type: TxType.REGISTER_MARKET, marketId: 0, baseTokenId: 1, sizeUnit: 1n, priceUnit: 1n }], { batchNumber: 1, timestamp: NOW, oracle: null });
    return state;
  };
  const fullBalance = () => {
    const state = fresh();
    state.setBalance(alice.accountId, 0, LIMIT_128 - 10n);
    state.commitAccount(alice.accountId);
    return state;
  };
  /** derivativesState() after alice's order 17 (storage slot 1, as order 1) filled one lot. */
  const slotTaken = () => {
    const state = derivativesState();
    buildBatch(state, [derivTrade(PERP, 1n, 300_000n, { buy: { orderId: 17n } })], { batchNumber: 9, timestamp: NOW, oracle: oracleUpdate() });
    return state;
  };
  const sellingLiquidator = () => ({ ...liquidateAlice(1_000n, 280_000n), liquidator: derivOrder(carol, PERP, { orderId: 1n, side: Side.SELL, priceTicks: 280_000n, sizeLots: 1_000n }) }) as BatchTx;

  const cases: [string, () => ExchangeState, BatchTx[], string, Partial<BatchOptions>?][] = [
    ["a key registered for an account outside the tree", fresh, [{ type: TxType.REGISTER_KEY, accountId: 4 ** TEST_PARAMS.accountLevels, pubKey: alice.pubKey }], "BAD_ACCOUNT", spot],
    ["a market registered twice", withMarket, [{ type: TxType.REGISTER_MARKET, marketId: 0, baseTokenId: 1, sizeUnit: 1n, priceUnit: 1n }], "MARKET_EXISTS", spot],
    ["a market with a zero size unit", fresh, [{ type: TxType.REGISTER_MARKET, marketId: 0, baseTokenId: 1, sizeUnit: 0n, priceUnit: 1n }], "BAD_UNIT", spot],
    ["a deposit that takes a balance to 2^128", fullBalance, [{ type: TxType.DEPOSIT, accountId: alice.accountId, tokenId: 0, amount: 10n }], "BALANCE_OVERFLOW", spot],
    ["two sell orders", derivativesState, [derivTrade(PERP, 10n, 300_000n, { buy: { side: Side.SELL } })], "WRONG_SIDE"],
    ["a liquidator on the liquidated position's side", aliceLongPerpetual, [sellingLiquidator()], "WRONG_SIDE", DROPPED],
    ["a sell order for another instrument", derivativesState, [derivTrade(PERP, 10n, 300_000n, { sell: { marketId: 0x8000 + FUTURE } })], "MARKET_MISMATCH"],
    ["a zero quantity", derivativesState, [derivTrade(PERP, 0n, 300_000n, { buy: { sizeLots: 10n }, sell: { sizeLots: 10n } })], "BAD_QUANTITY"],
    ["a price above the buy order's limit", derivativesState, [derivTrade(PERP, 10n, 300_001n, { buy: { priceTicks: 300_000n } })], "PRICE_OUTSIDE_LIMITS"],
    ["a price above the liquidator's limit", aliceLongPerpetual, [liquidateAlice(1_000n, 285_000n, 280_000n)], "PRICE_OUTSIDE_LIMITS", DROPPED],
    ["a fee above the buy order's signed maximum", derivativesState, [derivTrade(PERP, 10n, 300_000n, { buy: { maxFeePpm: 499 } })], "FEE_ABOVE_MAX"],
    ["a fill beyond the order's size", derivativesState, [derivTrade(PERP, 11n, 300_000n, { buy: { sizeLots: 10n }, sell: { sizeLots: 20n } })], "OVERFILL"],
    ["a fill of a cancelled order (cancelled in a spot slot of the same batch)", derivativesState, [cancel(1n), derivTrade(PERP, 10n, 300_000n)], "ORDER_CANCELLED"],
    ["a fill of an order whose storage slot a newer order took", slotTaken, [derivTrade(PERP, 1n, 300_000n)], "ORDER_SLOT_SUPERSEDED"],
    ["the liquidation of a healthy account", aliceLongPerpetual, [liquidateAlice(1_000n, 300_000n)], "NOT_LIQUIDATABLE"],
    ["a liquidation larger than the position", aliceLongPerpetual, [liquidateAlice(15_001n, 280_000n)], "BAD_LIQUIDATION_SIZE", DROPPED],
    ["a liquidation below the band around the mark", aliceLongPerpetual, [liquidateAlice(1_000n, 250_000n)], "LIQUIDATION_PRICE_OUTSIDE_BAND", DROPPED],
    ["a SETTLE of an instrument that has not settled", derivativesState, [{ type: TxType.SETTLE, accountId: alice.accountId, instrumentId: FUTURE }], "NOT_SETTLED"],
  ];
  for (const [what, state, txs, code, opts] of cases) {
    it(`${code}: refuses ${what}, changing nothing`, () => builderRefuses(state(), txs, code, opts));
  }
});
