/**
 * The dishonest-marker hunt (circuits/HUNT.md, "The marking hunt"): whoever proves a marking (circuits/marking) is the
 * attacker, an operator trying to publish a mark other than Black-Scholes of the option's terms under the update.
 * Each scenario is an honest marking (marking.ts#buildMarking) that the circuit must accept with the mirror's message
 * hash, root and key (liveness). Then every input is changed, one at a time (each position of an array: +1, -1, 0,
 * p-1, a related field's value, a random field element, twice, negated: test/helpers/dishonest.ts's mutations), and
 * the candidate goes to the open marking circuit (test/helpers/openMarking.ts: the three public inputs are outputs,
 * as a prover computes them from its witness). Verdicts:
 * - refused: a constraint fails;
 * - legitimate: the circuit accepts, and what it publishes is exactly what the TypeScript mirror computes from the
 *   candidate's own update and entries: the update passes the mirror's checks and hashes (raw words, as the batch
 *   hashes them) to the published message hash, every used entry is an option the mirror marks, its leaf holds the
 *   mirror's mark, unused leaves are 0, and the root and key are the mirror's. A marking of another update or of other
 *   options is harmless (a batch reads a mark only under its own signed message and for its own instrument's terms);
 *   a wrong mark for the published message and terms is not;
 * - hole: anything else; the test fails.
 * Values the circuit computes itself with `<--` (the kind and underlying selectors, quotients, bits) are pinned by the
 * constraints next to them: test/circuits/marking/marking.test.ts replaces the two selectors with lying ones.
 *
 * Sizes: huntSettings (HUNT_SAMPLE per scenario by default; HUNT=fields one per field; HUNT=full everything; HUNT_SEED).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { poseidon, poseidonChain } from "../../../sequencer/crypto/poseidon.ts";
import { EMPTY_INSTRUMENT, type InstrumentState } from "../../../sequencer/derivatives/formulas.ts";
import { buildMarking, markFault, markingUpdateFault, markOf, type MarkEntry } from "../../../sequencer/derivatives/marking.ts";
import { Bits, Domain, FIELD_MODULUS, type InstrumentKind } from "../../../sequencer/protocol/constants.ts";
import type { OracleUpdate } from "../../../sequencer/protocol/messages.ts";
import { TEST_PARAMS, type CircuitParams } from "../../../sequencer/protocol/params.ts";
import { sliceWord, type VolSlice } from "../../../sequencer/protocol/volSlices.ts";
import { QuadTree } from "../../../sequencer/crypto/quadTree.ts";
import { terminateSnarkjsCurve } from "../../../scripts/setup/zkLibs.ts";
import { oracleUpdate, tableOptions } from "../../helpers/derivatives.ts";
import { describeVerdict, huntRandom, huntSettings, leavesOf, sampleMutations, type HuntLine, type Related, type Verdict } from "../../helpers/dishonest.ts";
import { EDGE_ENTRIES, MARKING_PARAMS, markingUpdate, MIXED_ENTRIES } from "../../helpers/markingFixtures.ts";
import { buildOpenMarkingCircuit, openMarkingWitness } from "../../helpers/openMarking.ts";

after(terminateSnarkjsCurve);

type Input = Record<string, unknown>;
type MarkingScenario = { name: string; p: CircuitParams; update: OracleUpdate; entries: MarkEntry[] };

const TERMS = ["id", "generation", "kind", "underlying", "strike", "expiry", "lot"];
const RELATED: Related = {
  ...Object.fromEntries(TERMS.map((f) => [f, TERMS.filter((g) => g !== f)])),
  oracleTime: ["fundingEpoch", "expiry", "sliceExpiry"], fundingEpoch: ["oracleTime"],
  expiry: ["sliceExpiry", "oracleTime"], sliceExpiry: ["expiry", "oracleTime"],
  prices: ["strike"], strike: ["prices"], sliceUnderlying: ["underlying"], underlying: ["sliceUnderlying"],
  sliceLevel: ["sliceSlope"], sliceSlope: ["sliceLevel"], rateWords: ["settleWord"], settleWord: ["rateWords"],
};

function scenarios(): MarkingScenario[] {
  const table = tableOptions();
  return [
    { name: "two underlyings: call, skewed put, reused id, expired put", p: MARKING_PARAMS, update: markingUpdate(), entries: MIXED_ENTRIES },
    { name: "the ranges' edges", p: MARKING_PARAMS, update: markingUpdate(), entries: EDGE_ENTRIES },
    { name: "one entry, three empty leaves", p: MARKING_PARAMS, update: markingUpdate(), entries: MIXED_ENTRIES.slice(1, 2) },
    { name: "the test table's call and put", p: TEST_PARAMS, update: oracleUpdate(), entries: table },
  ];
}

const big = (v: unknown): bigint => BigInt(v as string | bigint);
const column = (input: Input, f: string): bigint[] => (input[f] as unknown[]).map(big);
/** A number field of the candidate, or null when it does not fit a safe integer (the mirror's checks refuse it then). */
const small = (v: bigint): number | null => (v < BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : null);

/** The verdict on what the open circuit published for `input` (see the file comment). */
function judge(p: CircuitParams, input: Input, out: { messageHash: bigint; marksRoot: bigint; marksKey: bigint }): Verdict {
  const time = big(input.oracleTime), epoch = big(input.fundingEpoch);
  if (time >= 1n << 32n || epoch >= 1n << 32n) return { kind: "hole", why: `accepted time ${time} / epoch ${epoch} outside 32 bits` };
  const [su, se, sl, ss] = ["sliceUnderlying", "sliceExpiry", "sliceLevel", "sliceSlope"].map((f) => column(input, f));
  const signed = (v: bigint) => (v > FIELD_MODULUS / 2n ? v - FIELD_MODULUS : v);
  const slices: VolSlice[] = su.map((u, e) => ({ underlying: small(u) ?? -1, expiry: small(se[e]) ?? -1, levelPpm: sl[e], slopePpm: signed(ss[e]) }));
  const update: OracleUpdate = { time: Number(time), fundingEpoch: Number(epoch), prices: column(input, "prices"), volSlices: slices, rates: column(input, "rateWords").map((w) => w - (1n << BigInt(Bits.fundingRate - 1))), settlement: null };
  // The rate and settlement words are hashed, not read (the batch that reads the marks range-checks them under the same
  // hash), so the mirror's checks are asked of everything else.
  const fault = markingUpdateFault({ ...update, rates: update.rates.map(() => 0n) }, p);
  if (fault) return { kind: "hole", why: `accepted an update the mirror refuses: ${fault.message}` };
  const words = [Domain.ORACLE, time | (epoch << 32n), ...update.prices, ...slices.map(sliceWord), ...column(input, "rateWords"), big(input.settleWord)];
  if (poseidonChain(words) !== out.messageHash) return { kind: "hole", why: "the published message hash is not the hash of the update's words" };
  const used = column(input, "used");
  const leaves: bigint[] = [];
  for (const [c, u] of used.entries()) {
    if (u === 0n) { leaves.push(0n); continue; }
    if (u !== 1n) return { kind: "hole", why: `entry ${c} accepted with used = ${u}` };
    const [id, generation, kind, underlying, strike, expiry, lot] = TERMS.map((f) => column(input, f)[c]);
    const inst: InstrumentState = { ...EMPTY_INSTRUMENT, kind: (small(kind) ?? -1) as InstrumentKind, underlying: small(underlying) ?? -1, strike, expiry: small(expiry) ?? -1, lotSizeE6: lot, generation: 0 };
    const why = markFault(inst, update);
    if (why) return { kind: "hole", why: `entry ${c} accepted, the mirror refuses it: ${why.message}` };
    leaves.push(poseidon([id, generation, kind, underlying, strike, expiry, lot, markOf(inst, update)]));
  }
  const tree = new QuadTree(Math.round(Math.log(used.length) / Math.log(4)));
  leaves.forEach((l, c) => tree.set(c, l));
  if (tree.root !== out.marksRoot) return { kind: "hole", why: "the published root holds a mark other than the mirror's for the entries' terms" };
  if (poseidon([out.messageHash, out.marksRoot]) !== out.marksKey) return { kind: "hole", why: "the published key is not Poseidon(messageHash, marksRoot)" };
  return { kind: "legitimate", changes: "the mirror's marking of the candidate's own update and entries" };
}

describe("dishonest marker: the marking circuit", { timeout: 3_600_000 }, () => {
  const wasm = new Map<CircuitParams, string>();
  before(async () => {
    for (const p of [MARKING_PARAMS, TEST_PARAMS]) wasm.set(p, await buildOpenMarkingCircuit(p));
  });

  it("every input, changed, is refused or publishes exactly the mirror's marking of what it holds", async () => {
    const settings = huntSettings();
    const lines: HuntLine[] = [];
    const t0 = performance.now();
    for (const s of scenarios()) {
      const w = wasm.get(s.p)!;
      const honest = buildMarking(s.update, s.entries, s.p);
      // liveness: the honest marking is accepted with the mirror's public inputs
      const o = await openMarkingWitness(w, honest.inputs);
      assert.ok(o.ok, `liveness: ${s.name} refused at ${o.ok ? "" : o.chain.join(" < ")}`);
      assert.deepEqual([o.messageHash, o.marksRoot, o.marksKey], [honest.messageHash, honest.marksRoot, honest.marksKey]);
      assert.equal(judge(s.p, honest.inputs, o).kind, "legitimate");

      const input = Object.fromEntries(Object.entries(honest.inputs).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : String(v)])) as Input;
      const groups = Object.keys(input).filter((f) => !["messageHash", "marksRoot", "marksKey"].includes(f)).map((f) => ({ leaves: leavesOf(input, f, []) }));
      for (const m of sampleMutations(groups, input, settings, huntRandom(settings.seed, s.name), RELATED)) {
        const changed = structuredClone(input);
        m.apply(changed);
        const r = await openMarkingWitness(w, changed);
        const verdict: Verdict = r.ok ? judge(s.p, changed, r) : { kind: "refused", chain: r.chain };
        lines.push({ label: `${s.name} | ${m.label}`, verdict });
        if (verdict.kind !== "refused" || process.env.HUNT_VERBOSE) console.log(`  ${s.name} | ${m.label}: ${describeVerdict(verdict)}`);
      }
    }
    const counts = lines.reduce((m, l) => m.set(l.verdict.kind, (m.get(l.verdict.kind) ?? 0) + 1), new Map<string, number>());
    console.log(`marking hunt (seed ${settings.seed}): ${lines.length} candidates, ${[...counts].map(([k, n]) => `${n} ${k}`).join(", ")} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    assert.deepEqual(lines.filter((l) => l.verdict.kind === "hole").map((l) => `${l.label}: ${(l.verdict as { why: string }).why}`), [], "soundness holes in the marking circuit");
  });
});
