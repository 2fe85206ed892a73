/**
 * The exodus exit circuit (circuits/exit/exit.circom) against the exit rule (sequencer/exit/exitRule.ts):
 * on states built by real batches (ExchangeState through buildBatch: perpetuals with unsettled funding,
 * options, a liquidation, an insurance fund, expiry settlement) and on hand-made ones, the circuit
 * accepts exactly the rule's claim (spot amounts, derivatives claim, the state's pooled quote) for every account;
 * and the attacks first: every way a dishonest prover could claim more, move value between the spot quote amount
 * and the derivatives claim, or name a larger pot, is refused at the rule's own constraint
 * (test/helpers/circuitRules.ts).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildExitCircuit } from "../../../scripts/build/exitCircuit.ts";
import { formatWarning } from "../../../scripts/build/circomInspect.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { buildBatch } from "../../../sequencer/batch/batchWitness.ts";
import { exitWitness, type ExitInput } from "../../../sequencer/exit/exitWitness.ts";
import { exitPublicInputCount, exitPublicInputs, type ExitClaim } from "../../../sequencer/protocol/exitPublicData.ts";
import { accountRisk, lotRisk, settleFunding } from "../../../sequencer/derivatives/formulas.ts";
import { Bits, TxType } from "../../../sequencer/protocol/constants.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { instrumentInputs } from "../../../sequencer/protocol/layouts.ts";
import { fieldOf } from "../../../sequencer/crypto/field.ts";
import type { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { inputFailure, rule } from "../../helpers/circuitRules.ts";
import { aliceLongPerpetual, GAP_UPDATE, NOW, PRICE, registerDave, traders, VOL } from "../../helpers/derivatives.ts";
import { exitBatchStates, exitHandMadeStates } from "../../helpers/huntStates.ts";
import { handMade, px } from "../../../scripts/fixtures/exitStates.ts";

after(terminateSnarkjsCurve);

const ACCOUNTS = 4 ** TEST_PARAMS.accountLevels;
const { alice, bob } = traders;
const dave = 4;

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
    states = exitBatchStates();
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
              await refuses(withClaim(w.input, { ...w.claim, derivativesClaim: w.claim.derivativesClaim + 1n }), binding());
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
      for (const state of exitHandMadeStates()) {
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

    it("value moved between the spot quote amount and the derivatives claim, either way, is refused at the binding", async () => {
      // the custodian pays amount[0] out of everything it holds and the derivatives claim only out of the pot: a
      // prover who could move value into amount[0] would take it from the quote that backs other accounts' spot
      const state = handMade({ spot: [50_000_000n, 60n], collateral: 1_000_000_000n, sizes: [10n] });
      const w = exitWitness(state, 5, [px(3_100n)]);
      assert.ok(w.claim.amounts[0] > 0n && w.claim.derivativesClaim > 0n);
      await accepts(w.input);
      for (const d of [1n, 1_000_000n, -1n, -w.claim.amounts[0], w.claim.derivativesClaim]) {
        const moved = { ...w.claim, amounts: w.claim.amounts.map((a, t) => (t === 0 ? a + d : a)), derivativesClaim: w.claim.derivativesClaim - d };
        await refuses(withClaim(w.input, moved), binding());
      }
    });

    it("an inflated derivatives claim is refused at the binding; a tampered equity behind it at the root", async () => {
      const w = exitWitness(states[0][1], alice.accountId, [px(3_400n)]);
      assert.ok(w.claim.derivativesClaim > 0n);
      for (const claim of [w.claim.derivativesClaim + 1n, 2n * w.claim.derivativesClaim, (1n << 128n) - 1n]) {
        await refuses(withClaim(w.input, { ...w.claim, derivativesClaim: claim }), binding());
      }
      const richer = { ...w.input, collateral: String(BigInt(w.input.collateral as string) + 1_000n) };
      await refuses(withClaim(richer, { ...w.claim, derivativesClaim: w.claim.derivativesClaim + 1_000n }), rootRule());
    });

    it("a wrong pooled quote (a larger pot) is refused at the binding, or at the root when the witness's globals say it too; it is range-checked as the amounts are", async () => {
      const state = states[1][1];
      const w = exitWitness(state, bob.accountId, [PRICE]);
      assert.equal(w.claim.pooledQuote, state.globals.pooledQuote);
      assert.ok(w.claim.pooledQuote > 0n);
      for (const pooled of [w.claim.pooledQuote + 1n, w.claim.pooledQuote - 1n, 0n, (1n << 128n) - 1n]) {
        await refuses(withClaim(w.input, { ...w.claim, pooledQuote: pooled }), binding());
        await refuses(withClaim({ ...w.input, pooledQuote: String(pooled) }, { ...w.claim, pooledQuote: pooled }), rootRule());
      }
      // a pooled quote outside [0, 2^128) (the batch circuit never leaves one) cannot be put in a claim, even under
      // a root that holds it
      const hand = handMade({ spot: [5n], collateral: 5n });
      const honest = exitWitness(hand, 5, [PRICE]);
      hand.setGlobals({ ...hand.globals, pooledQuote: fieldOf(-1n) });
      await refuses({ ...honest.input, root: String(hand.root), pooledQuote: String(fieldOf(-1n)) }, rule("Exit", "pooledBits.in <== pooledQuote"));
      assert.throws(() => exitPublicInputs({ ...w.claim, pooledQuote: 1n << 128n }, TEST_PARAMS), /does not fit/);
    });

    it("the review's scenario (2026-12-05): under water at the last price beyond the fund and the pool, every claim is proven with the one pooled quote, the derivatives claims exceeding it", async () => {
      const state = aliceLongPerpetual();
      registerDave(state);
      buildBatch(state, [{ type: TxType.DEPOSIT, accountId: dave, tokenId: 0, amount: 10_000_000_000n }], { batchNumber: 20, timestamp: NOW });
      buildBatch(state, [], { batchNumber: 21, timestamp: NOW, oracle: GAP_UPDATE() });
      const ws = [alice.accountId, bob.accountId, traders.carol.accountId, dave].map((id) => exitWitness(state, id, [px(2_600n)]));
      for (const w of ws) {
        await accepts(w.input);
        assert.equal(w.claim.pooledQuote, state.globals.pooledQuote);
      }
      assert.ok(-ws[0].valuation.equity > state.globals.insuranceFund + state.feePool);
      assert.ok(ws.reduce((sum, w) => sum + w.claim.derivativesClaim, 0n) > state.globals.pooledQuote);
      assert.deepEqual([ws[3].claim.amounts[0], ws[3].claim.derivativesClaim], [10_000_000_000n, 0n]);
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
      await refuses(withClaim(input, { ...w.claim, derivativesClaim: w.claim.derivativesClaim + 34_000_000n }), rootRule());
    });

    it("a position's instrument that is not the tree's (settled at a price of the exiter's choosing, or another instrument with its own path) is refused at the slot's path", async () => {
      const state = states[0][1];
      const w = exitWitness(state, alice.accountId, [px(2_600n)]);
      const held = w.input.held as string[][];
      const k = (w.input.posId as string[]).findIndex((id) => id !== "0");
      assert.ok(k >= 0, "alice holds a position");
      const id = Number((w.input.posId as string[])[k]) - 1;
      const path = rule("HeldInstruments", "path[k].root === root");
      const settled = instrumentInputs({ ...state.instruments[id]!, settlePrice: px(9_000n) }).map((v) => fieldOf(v).toString());
      await refuses({ ...w.input, held: held.map((f, j) => (j === k ? settled : f)) }, path);
      const other = state.instruments.findIndex((inst, j) => j !== id && inst.kind !== 0);
      const swapped = {
        ...w.input,
        held: held.map((f, j) => (j === k ? instrumentInputs(state.instruments[other]!).map((v) => fieldOf(v).toString()) : f)),
        heldSiblings: (w.input.heldSiblings as string[][][]).map((p, j) => (j === k ? state.instrumentProof(other).map((l) => l.map(String)) : p)),
      };
      await refuses(swapped, path);
    });

    it("a wrong price: valued at another price than the claim's is refused at the binding; the custodian's own price decides", async () => {
      const state = states[0][1];
      const honest = exitWitness(state, alice.accountId, [PRICE]);
      const better = exitWitness(state, alice.accountId, [px(3_400n)]);
      assert.ok(better.claim.derivativesClaim > honest.claim.derivativesClaim);
      // the better valuation's private input under the claim at the custodian's price
      await refuses({ ...better.input, publicInput: withClaim(honest.input, { ...honest.claim, derivativesClaim: better.claim.derivativesClaim }).publicInput }, binding());
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
      await refuses(withClaim(w.input, { ...w.claim, derivativesClaim: equity }), binding());
    });

    it("negative equity claimed as positive is refused at the binding", async () => {
      const state = states[1][1];
      const w = exitWitness(state, dave, [px(2_600n)]);
      assert.ok(w.valuation.equity < 0n);
      assert.equal(w.claim.amounts[0], state.balance(dave, 0));
      assert.equal(w.claim.derivativesClaim, 0n);
      const flipped = { ...w.claim, derivativesClaim: -w.valuation.equity };
      await refuses(withClaim(w.input, flipped), binding());
      // nor added to the spot amount
      await refuses(withClaim(w.input, { ...w.claim, amounts: w.claim.amounts.map((a, t) => (t === 0 ? a - w.valuation.equity : a)) }), binding());
      // nor as the field element of the negative equity (the claim must fit 128 bits)
      assert.throws(() => exitPublicInputs({ ...w.claim, derivativesClaim: fieldOf(w.valuation.equity) }, TEST_PARAMS), /does not fit/);
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
