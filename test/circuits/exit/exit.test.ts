/**
 * The exodus exit circuit (circuits/exit/exit.circom) against the exit rule (sequencer/exit/exitRule.ts):
 * on states built by real batches (ExchangeState through buildBatch: perpetuals with unsettled funding,
 * options, a liquidation, an insurance fund, expiry settlement) and on hand-made ones, the circuit
 * accepts exactly the rule's amounts for every account; and the attacks first: every way a dishonest
 * prover could claim more is refused at the rule's own constraint (test/helpers/circuitRules.ts).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildExitCircuit } from "../../../scripts/build/exitCircuit.ts";
import { formatWarning } from "../../../scripts/build/circomInspect.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { exitWitness, type ExitInput } from "../../../sequencer/exit/exitWitness.ts";
import { exitPublicInputCount, exitPublicInputs, type ExitClaim } from "../../../sequencer/protocol/exitPublicData.ts";
import { accountRisk, lotRisk, optionMark, settleFunding } from "../../../sequencer/derivatives/formulas.ts";
import { Bits } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { fieldOf } from "../../../sequencer/crypto/field.ts";
import type { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { inputFailure, rule } from "../../helpers/circuitRules.ts";
import { aliceLongPerpetual, derivTrade, NOW, oracleUpdate, PRICE, traders, VOL } from "../../helpers/derivatives.ts";
import { AT_EXPIRY, fundedInsuranceState } from "../../helpers/huntStates.ts";
import { CALL, FUTURE, handMade, PERP, PUT, px } from "../../../scripts/fixtures/exitStates.ts";

after(terminateSnarkjsCurve);

const ACCOUNTS = 4 ** TEST_PARAMS.accountLevels;
const { alice, bob } = traders;
const dave = 4;

/** alice long 15,000 perpetual lots and 100 puts (bob the other side), then a funding tick nobody has settled yet. */
function perpetualWithFunding(): ExchangeState {
  const state = aliceLongPerpetual();
  const putTicks = (optionMark(state.instruments[3], PRICE, VOL, NOW) * 92n) / 100n / state.instruments[3].tickValue;
  buildBatch(state, [derivTrade(3, 100n, putTicks, { buy: { orderId: 2n }, sell: { orderId: 2n } })], { batchNumber: 10, timestamp: NOW, oracle: oracleUpdate() });
  buildBatch(state, [], { batchNumber: 11, timestamp: NOW, oracle: oracleUpdate({ fundingEpoch: 1, rates: [700n, 0n, 0n, 0n] }) });
  return state;
}

/** fundedInsuranceState, then the expiry batch (3,150) settles the future and the options. */
function settledState(): ExchangeState {
  const state = fundedInsuranceState();
  buildBatch(state, [], AT_EXPIRY);
  return state;
}

/** The input of `claim` with `input`'s private part: what a prover who tampers the witness but encodes its claim consistently sends. */
function withClaim(input: ExitInput, claim: ExitClaim): ExitInput {
  return {
    ...input, root: claim.root.toString(), accountId: String(claim.accountId), prices: claim.prices.map(String),
    publicInput: exitPublicInputs(claim, TEST_PARAMS).map(String),
  };
}

describe("exit circuit", { timeout: 1_800_000 }, () => {
  let wasm: string;
  let states: [string, ExchangeState][];
  before(async () => {
    const build = await buildExitCircuit(TEST_PARAMS);
    wasm = build.wasm;
    console.log(`exit circuit at TEST_PARAMS: ${build.nConstraints} constraints`);
    const ws = build.inspect.filter((w) => !w.library && !w.justification);
    assert.equal(ws.length, 0, `circom2 --inspect: ${ws.length} unjustified:\n${ws.map(formatWarning).join("\n")}`);
    states = [
      ["perpetual long/short with unsettled funding, puts", perpetualWithFunding()],
      ["calls, a liquidation, an insurance fund", fundedInsuranceState()],
      ["dated instruments settled at expiry", settledState()],
    ];
  });

  const accepts = async (input: ExitInput) => assert.deepEqual(await inputFailure(input, wasm), null);
  const refuses = async (input: ExitInput, expected: string) => {
    const failure = await inputFailure(input, wasm);
    assert.notEqual(failure, null, "the circuit accepted a dishonest exit");
    assert.ok(failure!.includes(expected), `refused at ${failure!.join(" < ")}, not at ${expected}`);
  };
  const binding = () => rule("Exit", "data.chunks <== publicInput");
  const rootRule = () => rule("Exit", "root === stateRoot.out");

  describe("the circuit proves the rule, bit-exact", () => {
    it("states built by batches: every account they hold and one never written, at three prices (the rule's amounts accepted, one unit more refused)", async () => {
      let nonTrivial = 0;
      for (const [, state] of states) {
        for (const price of [px(2_600n), PRICE, px(3_400n)]) {
          for (const id of new Set([...state.accountIds(), ACCOUNTS - 1])) {
            const w = exitWitness(state, id, [price]);
            await accepts(w.input);
            if (w.valuation.positions.some((p) => p.size !== 0n)) {
              nonTrivial++;
              const more = { ...w.claim, amounts: w.claim.amounts.map((a, t) => (t === 0 ? a + 1n : a)) };
              await refuses(withClaim(w.input, more), binding());
            }
          }
        }
      }
      assert.ok(nonTrivial >= 15, `only ${nonTrivial} exits with positions`);
    });

    it("the states exercise what they claim to: unsettled funding, negative equity, settled payoffs, options in the money", () => {
      const [[, funding], [, funded], [, settled]] = states;
      assert.notEqual(exitWitness(funding, alice.accountId, [PRICE]).valuation.funding, 0n);
      assert.ok(exitWitness(funded, dave, [px(2_600n)]).valuation.equity < 0n);
      const s = exitWitness(settled, dave, [px(2_000n)]).valuation.positions[2];
      assert.ok(s.settled && s.size > 0n && s.mark > 0n, "dave's calls pay their settled payoff");
      assert.ok(exitWitness(funding, alice.accountId, [px(2_600n)]).valuation.positions[3].mark > 0n);
    });

    it("hand-made states: puts and calls in and out of the money, settled options, negative equity, no account", async () => {
      const cases = [
        handMade({ spot: [5n, 6n, 7n, 8n] }),
        handMade({ instruments: [{ ...PERP, fundingIndex: 500n }, FUTURE, CALL, PUT], collateral: 1_000_000_000n, sizes: [10n, 0n, 2n, -2n], snaps: [100n] }),
        handMade({ instruments: [{ ...PERP, fundingIndex: -900n }, FUTURE, CALL, PUT], collateral: 1_000_000_000n, sizes: [-10n, 0n, -2n, 2n], snaps: [-100n] }),
        handMade({ instruments: [PERP, { ...FUTURE, settlePrice: px(3_150n) }, { ...CALL, settlePrice: px(3_200n) }, { ...PUT, settlePrice: px(2_500n) }], collateral: -5n, sizes: [0n, 4n, 1n, 1n] }),
        handMade({ spot: [50n, 60n], collateral: -400_000_000n, sizes: [10n] }),
      ];
      for (const state of cases) {
        for (const price of [0n, px(2_900n), px(3_100n)]) {
          for (const id of [5, 9]) await accepts(exitWitness(state, id, [price]).input);
        }
      }
    });
  });

  describe("attacks", () => {
    it("an inflated amount (spot token) is refused at the public input's binding", async () => {
      const state = states[0][1];
      const w = exitWitness(state, bob.accountId, [PRICE]);
      await refuses(withClaim(w.input, { ...w.claim, amounts: w.claim.amounts.map((a, t) => (t === 1 ? a + 1n : a)) }), binding());
    });

    it("public inputs that are not the claim's data are refused at the binding: one bit of the first or last chunk, a chunk above 31 bytes, chunks rotated", async () => {
      const w = exitWitness(states[0][1], alice.accountId, [PRICE]);
      const inputs = w.publicInputs;
      assert.equal(inputs.length, exitPublicInputCount(TEST_PARAMS));
      const last = inputs.length - 1;
      const tampered: bigint[][] = [
        inputs.map((v, i) => (i === 0 ? v ^ 1n : v)), // the root's bits
        inputs.map((v, i) => (i === last ? v ^ 1n : v)), // the last amount's lowest bit
        inputs.map((v, i) => (i === 1 ? v + (1n << 248n) : v)), // a chunk above 31 bytes
        [...inputs.slice(1), inputs[0]!],
      ];
      for (const t of tampered) await refuses({ ...w.input, publicInput: t.map(String) }, binding());
    });

    it("a claim against another root (the state before the last batch) is refused at the root", async () => {
      const before = aliceLongPerpetual();
      const now = states[0][1];
      const w = exitWitness(now, alice.accountId, [PRICE]);
      await refuses(withClaim(w.input, { ...w.claim, root: before.root }), rootRule());
    });

    it("a consistent proof against an older root proves a claim the custodian does not rebuild (another public input)", () => {
      const older = exitWitness(aliceLongPerpetual(), alice.accountId, [PRICE]);
      const frozen = exitWitness(states[0][1], alice.accountId, [PRICE]);
      assert.notDeepEqual(older.publicInputs, exitPublicInputs({ ...older.claim, root: frozen.claim.root }, TEST_PARAMS));
      assert.notDeepEqual(older.publicInputs, frozen.publicInputs);
    });

    it("another account's leaf under this account id (a wrong path) is refused at the root", async () => {
      const state = states[1][1];
      const bobs = exitWitness(state, bob.accountId, [PRICE]);
      await refuses(withClaim(bobs.input, { ...bobs.claim, accountId: alice.accountId }), rootRule());
    });

    it("an account id past the tree (an alias of a real leaf's path) is refused at its range check", async () => {
      const state = states[1][1];
      const w = exitWitness(state, alice.accountId, [PRICE]);
      await refuses(withClaim(w.input, { ...w.claim, accountId: alice.accountId + ACCOUNTS }), rule("Exit", "idBits.in <== accountId"));
    });

    it("a tampered balance leaf (more quote on the spot balance, claimed consistently) is refused at the root", async () => {
      const state = states[0][1];
      const w = exitWitness(state, alice.accountId, [PRICE]);
      const input = { ...w.input, balances: (w.input.balances as string[]).map((b, t) => (t === 0 ? String(BigInt(b) + 1_000n) : b)) };
      await refuses(withClaim(input, { ...w.claim, amounts: w.claim.amounts.map((a, t) => (t === 0 ? a + 1_000n : a)) }), rootRule());
    });

    it("a tampered position (a larger long, claimed consistently) is refused at the root", async () => {
      const state = states[0][1];
      const w = exitWitness(state, alice.accountId, [px(3_400n)]);
      const input = { ...w.input, posSize: (w.input.posSize as string[]).map((s, k) => (k === 0 ? String(BigInt(s) + 1n) : s)) };
      await refuses(withClaim(input, { ...w.claim, amounts: w.claim.amounts.map((a, t) => (t === 0 ? a + 34_000_000n : a)) }), rootRule());
    });

    it("a wrong price: valued at another price than the claim's is refused at the binding; the custodian's own price decides", async () => {
      const state = states[0][1];
      const honest = exitWitness(state, alice.accountId, [PRICE]);
      const better = exitWitness(state, alice.accountId, [px(3_400n)]);
      assert.ok(better.claim.amounts[0] > honest.claim.amounts[0]);
      // the better valuation's private input under the claim at the custodian's price
      await refuses({ ...better.input, publicInput: withClaim(honest.input, { ...honest.claim, amounts: better.claim.amounts }).publicInput }, binding());
      // and a price no proven batch can have used is refused outright
      await refuses(withClaim(honest.input, { ...honest.claim, prices: [1n << BigInt(Bits.oraclePrice)] }), rule("Exit", "priceBits[u].in <== prices[u]"));
    });

    it("an option valued above intrinsic (at its Black-Scholes mark) is refused at the binding", async () => {
      const state = states[1][1];
      const w = exitWitness(state, dave, [PRICE]);
      const inst = state.instruments[2];
      const bs = lotRisk(inst, PRICE, VOL, NOW).mark;
      assert.ok(bs > w.valuation.positions[2].mark, "at the strike a live call is worth more than its intrinsic 0");
      const acc = state.account(dave).deriv;
      const risks = state.instruments.map((i) => ({ ...lotRisk(i, PRICE, VOL, NOW) }));
      const { equity } = accountRisk(settleFunding(acc, state.instruments.map((i) => i.fundingIndex)), risks);
      assert.ok(equity > w.valuation.equity);
      await refuses(withClaim(w.input, { ...w.claim, amounts: w.claim.amounts.map((a, t) => (t === 0 ? state.balance(dave, 0) + equity : a)) }), binding());
    });

    it("negative equity claimed as positive is refused at the binding", async () => {
      const state = states[1][1];
      const w = exitWitness(state, dave, [px(2_600n)]);
      assert.ok(w.valuation.equity < 0n);
      assert.equal(w.claim.amounts[0], state.balance(dave, 0));
      const flipped = { ...w.claim, amounts: w.claim.amounts.map((a, t) => (t === 0 ? a - w.valuation.equity : a)) };
      await refuses(withClaim(w.input, flipped), binding());
      // nor as the field element of the negative equity (the amount must fit 128 bits)
      assert.throws(() => exitPublicInputs({ ...w.claim, amounts: [fieldOf(w.valuation.equity), 0n, 0n, 0n] }, TEST_PARAMS), /does not fit/);
    });

    it("bad input to the witness builder: a clear error and the state unchanged", () => {
      const state = states[0][1];
      const root = state.root;
      assert.throws(() => exitWitness(state, ACCOUNTS, [PRICE]), /outside the account tree/);
      assert.throws(() => exitWitness(state, 1, [PRICE, PRICE]), /1 prices/);
      assert.throws(() => exitWitness(state, 1, [PRICE], { ...TEST_PARAMS, accountLevels: 3 }), /not the state's/);
      assert.equal(state.root, root);
    });
  });
});
