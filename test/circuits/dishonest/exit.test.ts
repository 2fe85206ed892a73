/**
 * The dishonest-exiter hunt (circuits/HUNT.md, "The exit hunt"): whoever builds an exodus exit witness
 * (circuits/exit/exit.circom) is the attacker, a trader trying to claim more than the exit rule
 * (sequencer/exit/exitRule.ts) gives it, or another account's funds. Each scenario is an honest exit witness
 * (exitWitness) of the exit tests' states (test/helpers/huntStates.ts: states built by batches, with spot balances,
 * perpetual, future, put and call positions, unsettled funding, negative equity, settled instruments; hand-made
 * ones; every account they hold and one never written, at three prices), which the circuit must accept with the
 * rule's claim (liveness). Then, one at a time, every input the witness builder fills is changed (each position of
 * an array; +1, -1, 0, p-1, another position's or a related field's value, a random field element, twice, negated;
 * for the key an off-curve x and a forging x), and a few whole witnesses a prover could take from real material are
 * tried (the claim at another price, another account's leaf and path under this id, another instrument with its own
 * path in a position slot, the account in another state).
 *
 * Each candidate goes to the open exit circuit (test/helpers/openExit.ts: the real circuit with the public input
 * packing taken out and the exit public data an output, as a prover computes its public inputs from its claim).
 * Verdicts (test/helpers/dishonest.ts's):
 * - refused: a constraint fails (named "Template:line", innermost first);
 * - custodian: the circuit accepts, but the custodian refuses the public data: it rebuilds it with its own frozen
 *   root and its own lastPrices (Custodian.exit, CustodianPayouts._verifyExit), so a claim on another root or at other
 *   prices is never paid;
 * - legitimate: the circuit accepts, and the claim (account id, pooled quote, derivatives claim, every amount) is
 *   byte for byte the rule's for that account id in the real state at those prices (exitClaim);
 * - hole: anything else, named by field and mutation; the test fails.
 * Values the circuit computes itself with `<--` (bits, one-hot selectors, quotients, signs) are not inputs and are not
 * changed: each is pinned by the constraints next to it, as in the batch hunt.
 *
 * Sizes (huntSettings, as the batch hunt): by default (npm test) HUNT_SAMPLE (default 4) mutations per scenario, drawn
 * from one per field (seed HUNT_SEED, default 1), and every choice; HUNT=fields one per field (HUNT_PER_FIELD for more)
 * per scenario; HUNT=full every kind at every position of every field.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { exitClaim } from "../../../sequencer/exit/exitRule.ts";
import { exitWitness, type ExitWitness } from "../../../sequencer/exit/exitWitness.ts";
import { encodeExitPublicData, exitPublicInputs, type ExitClaim } from "../../../sequencer/protocol/exitPublicData.ts";
import { TEST_PARAMS } from "../../../sequencer/protocol/params.ts";
import { instrumentInputs } from "../../../sequencer/protocol/layouts.ts";
import { fieldOf } from "../../../sequencer/crypto/field.ts";
import type { ExchangeState } from "../../../sequencer/state/exchangeState.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { px } from "../../../scripts/fixtures/exitStates.ts";
import { describeVerdict, huntRandom, huntSettings, leavesOf, sampleMutations, type HuntLine, type Related, type Verdict } from "../../helpers/dishonest.ts";
import { PRICE } from "../../helpers/derivatives.ts";
import { exitBatchStates, exitHandMadeStates } from "../../helpers/huntStates.ts";
import { buildOpenExitCircuit, decodeExitPublicData, openExitWitness } from "../../helpers/openExit.ts";

after(terminateSnarkjsCurve);

const p = TEST_PARAMS;
const ACCOUNTS = 4 ** p.accountLevels;

type Input = Record<string, unknown>;
/** One honest exit: the account `accountId` of `state` at the custodian's `price`; `accounts`: the state's accounts (before the hunt reads any other). */
type ExitScenario = { name: string; state: ExchangeState; accountId: number; price: bigint; accounts: readonly number[] };

/** Fields whose values are natural wrong values for a field ("other"): the globals among themselves, money fields, roots and hashes. */
const MONEY = ["collateral", "balances", "pooledQuote", "insurance", "feePool", "badDebt"];
const HASHES = ["root", "ordersRoot", "marketsRoot", "siblings", "instrumentsRoot", "heldSiblings"];
const RELATED: Related = {
  ...Object.fromEntries(MONEY.map((f) => [f, MONEY.filter((g) => g !== f)])),
  ...Object.fromEntries(HASHES.map((f) => [f, HASHES.filter((g) => g !== f)])),
  pubKeyX: ["pubKeyY"], pubKeyY: ["pubKeyX"],
  posId: ["posSize", "accountId"], posSize: ["posSnap", "posId"], posSnap: ["posSize", "held"],
  accountId: ["posId", "nonce"], nonce: ["accountId", "oracleTime"],
  prices: ["held"], held: ["prices", "posSnap"],
  oracleTime: ["fundingEpoch"], fundingEpoch: ["oracleTime"],
};

const scenarioName = (state: string, accountId: number, price: bigint) => `${state} | account ${accountId} at ${price}`;

/** The exit tests' witnesses: every account of the states built by batches and one never written, at three prices; the hand-made states' account 5 and an empty one. */
function scenarios(): ExitScenario[] {
  const out: ExitScenario[] = [];
  for (const [name, state] of exitBatchStates()) {
    const accounts = state.accountIds();
    for (const price of [px(2_600n), PRICE, px(3_400n)]) {
      for (const accountId of new Set([...accounts, ACCOUNTS - 1])) out.push({ name: scenarioName(name, accountId, price), state, accountId, price, accounts });
    }
  }
  exitHandMadeStates().forEach((state, i) => {
    const accounts = state.accountIds();
    for (const price of [0n, px(2_900n), px(3_100n)]) {
      for (const accountId of [5, 9]) out.push({ name: scenarioName(`hand-made ${i}`, accountId, price), state, accountId, price, accounts });
    }
  });
  return out;
}

/** What the open circuit says of `input`: refused where, or the verdict on the claim it proves. */
async function verdictOf(wasm: string, s: ExitScenario, honest: ExitWitness, input: Input): Promise<Verdict> {
  const o = await openExitWitness(wasm, p, input);
  return o.ok ? judge(s, honest, o.publicData) : { kind: "refused", chain: o.chain };
}

/** The fields in which two claims differ. */
function claimChanges(from: ExitClaim, to: ExitClaim): string {
  const out: string[] = [];
  if (from.accountId !== to.accountId) out.push(`accountId ${from.accountId} -> ${to.accountId}`);
  if (from.pooledQuote !== to.pooledQuote) out.push(`pooledQuote ${from.pooledQuote} -> ${to.pooledQuote}`);
  if (from.derivativesClaim !== to.derivativesClaim) out.push(`derivativesClaim ${from.derivativesClaim} -> ${to.derivativesClaim}`);
  from.amounts.forEach((a, t) => a !== to.amounts[t] && out.push(`amount[${t}] ${a} -> ${to.amounts[t]}`));
  return out.join("; ");
}

/** The verdict on exit public data the circuit accepted (see the file comment). */
export function judge(s: ExitScenario, honest: ExitWitness, data: Uint8Array): Verdict {
  const claim = decodeExitPublicData(data, p);
  // The custodian's checks (CustodianPayouts._verifyExit): it puts its own root and prices in the public data.
  if (claim.root !== s.state.root) return { kind: "custodian", why: "the root is not the custodian's frozen root" };
  if (claim.prices.some((v, u) => v !== honest.claim.prices[u])) return { kind: "custodian", why: "the prices are not the custodian's lastPrices" };
  let rule: ExitClaim;
  try {
    rule = exitClaim(s.state, claim.accountId, claim.prices);
  } catch (e) {
    return { kind: "hole", why: `the circuit proves a claim of account ${claim.accountId}, for which the rule has none: ${(e as Error).message}` };
  }
  if (!Buffer.from(encodeExitPublicData(rule, p)).equals(Buffer.from(data))) {
    return { kind: "hole", why: `the claim is not the rule's for account ${claim.accountId}: ${claimChanges(rule, claim)}` };
  }
  return { kind: "legitimate", changes: claim.accountId === s.accountId ? "the same claim" : `account ${claim.accountId}'s own claim, the rule's` };
}

/** Whole witnesses a prover could take from real material instead of this one. */
function choices(s: ExitScenario, honest: ExitWitness, all: ExitScenario[]): { label: string; input: Input }[] {
  const out: { label: string; input: Input }[] = [];
  out.push({ label: "the claim at another price", input: exitWitness(s.state, s.accountId, [s.price + px(100n)]).input });
  for (const id of s.accounts) {
    if (id === s.accountId) continue;
    const other = exitWitness(s.state, id, [s.price]);
    out.push({ label: `account ${id}'s leaf and path under account ${s.accountId}`, input: { ...other.input, accountId: String(s.accountId) } });
    out.push({ label: `account ${id}'s leaf under account ${s.accountId}'s path`, input: { ...honest.input, ...pick(other.input, ["pubKeyX", "pubKeyY", "nonce", "ordersRoot", "balances", "collateral", "posId", "posSize", "posSnap"]) } });
  }
  // every slot's instrument swapped for another instrument of the table, read by that instrument's own path
  const slots = honest.input.held as string[][];
  for (let k = 0; k < slots.length; k++) {
    for (let id = 0; id < s.state.params.instruments; id++) {
      const other = instrumentInputs(s.state.instruments[id]).map((v) => fieldOf(v).toString());
      if (other.join() === slots[k]!.join()) continue;
      const held = slots.map((f, j) => (j === k ? other : f));
      const heldSiblings = (honest.input.heldSiblings as string[][][]).map((path, j) => (j === k ? s.state.instrumentProof(id).map((l) => l.map(String)) : path));
      out.push({ label: `instrument ${id} and its path in slot ${k}`, input: { ...honest.input, held, heldSiblings } });
    }
  }
  const elsewhere = all.find((o) => o.state !== s.state);
  if (elsewhere) out.push({ label: "the account in another state", input: exitWitness(elsewhere.state, s.accountId, [s.price]).input });
  return out;
}

const pick = (input: Input, fields: string[]): Input => Object.fromEntries(fields.map((f) => [f, input[f]]));

describe("dishonest exiter: the exit circuit", { timeout: 3_600_000 }, () => {
  let wasm = "";
  before(async () => {
    wasm = await buildOpenExitCircuit(p);
  });

  it("every input the witness builder fills, changed, is refused, refused by the custodian, or proves the rule's own claim", async () => {
    const settings = huntSettings();
    const all = scenarios();
    const lines: HuntLine[] = [];
    const t0 = performance.now();
    for (const s of all) {
      const honest = exitWitness(s.state, s.accountId, [s.price]);
      // liveness: the open circuit accepts the honest witness with the rule's claim, packed as the builder packs it
      const o = await openExitWitness(wasm, p, honest.input);
      assert.ok(o.ok, `liveness: the exit circuit refuses the honest exit of ${s.name} at ${o.ok ? "" : o.chain.join(" < ")}`);
      assert.deepEqual(decodeExitPublicData(o.publicData, p), { ...honest.claim, prices: [...honest.claim.prices], amounts: [...honest.claim.amounts] });
      assert.deepEqual(exitPublicInputs(decodeExitPublicData(o.publicData, p), p), honest.publicInputs);
      assert.equal(judge(s, honest, o.publicData).kind, "legitimate");

      const input = honest.input as Input;
      const groups = Object.keys(input).filter((f) => f !== "publicInput").map((f) => ({ leaves: leavesOf(input, f, []) }));
      const tries = [
        ...sampleMutations(groups, input, settings, huntRandom(settings.seed, s.name), RELATED).map((m) => {
          const changed = structuredClone(input);
          m.apply(changed);
          return { label: m.label, input: changed };
        }),
        ...choices(s, honest, all).map((c) => ({ label: `choice "${c.label}"`, input: c.input })),
      ];
      for (const t of tries) {
        const verdict = await verdictOf(wasm, s, honest, t.input);
        lines.push({ label: `${s.name} | ${t.label}`, verdict });
        if (verdict.kind !== "refused" || process.env.HUNT_VERBOSE) console.log(`  ${s.name} | ${t.label}: ${describeVerdict(verdict)}`);
      }
    }
    const counts = lines.reduce((m, l) => m.set(l.verdict.kind, (m.get(l.verdict.kind) ?? 0) + 1), new Map<string, number>());
    const where = lines.reduce((m, l) => (l.verdict.kind === "refused" ? m.set(l.verdict.chain[0], (m.get(l.verdict.chain[0]) ?? 0) + 1) : m), new Map<string, number>());
    console.log(`exit hunt (seed ${settings.seed}, ${settings.full ? "full" : settings.sample === null ? `${settings.perField} per field` : `${settings.sample} per scenario`}): ${all.length} scenarios, ${lines.length} candidates, ${[...counts].map(([k, n]) => `${n} ${k}`).join(", ")} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    console.log(`  refused at: ${[...where].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r} ${n}`).join(", ")}`);
    assert.deepEqual(lines.filter((l) => l.verdict.kind === "hole").map((l) => `${l.label}: ${(l.verdict as { why: string }).why}`), [], "soundness holes in the exit circuit");
  });
});

describe("the hunts' sampling", () => {
  it("HUNT_SEED changes the draws of every scenario, whatever the length of its name", () => {
    const draws = (seed: number, name: string) => Array.from({ length: 4 }, huntRandom(seed, name)).join();
    for (const name of ["TRADE", "OPERATOR_CANCEL", "FORCED_COLLATERAL_WITHDRAW honoured", scenarioName("hand-made 0", 9, 0n)]) {
      assert.notEqual(draws(1, name), draws(2, name), `seeds 1 and 2 draw the same mutations for "${name}"`);
      assert.notEqual(draws(1, name), draws(1, `${name}.`), `"${name}" and "${name}." draw the same mutations`);
      assert.equal(draws(48, name), draws(48, name));
    }
  });
});
