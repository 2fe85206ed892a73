/**
 * The batch's marked set over an instrument tree (circuits/lib/instrumentSet.circom, DERIVATIVES.md "At exchange
 * scale", build steps 1 and 3) against its TypeScript mirror (sequencer/state/instrumentSet.ts): an honest set loads
 * and writes back exactly as the mirror does, and a dishonest operator's set (a leaf that is not the tree's, an
 * instrument twice, ids out of order, an unused entry hiding an instrument, a write, or a real id, an id past the
 * tree) is refused at the rule's own constraint; a lookup finds exactly the set's used entries, and the position
 * lookup over the set 0..N-1 proves what today's PositionLookup(K, N) proves.
 */
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { registeredInstrument, EMPTY_INSTRUMENT, type InstrumentState } from "../../../sequencer/derivatives/formulas.ts";
import { emptySetId, loadInstrumentSet, type SetEntry } from "../../../sequencer/state/instrumentSet.ts";
import { instrumentFields, instrumentLeaf, InstrumentTree } from "../../../sequencer/state/instrumentTable.ts";
import { QuadTree } from "../../../sequencer/crypto/quadTree.ts";
import { INSTRUMENT_FIELD } from "../../../sequencer/protocol/layouts.ts";
import { FIELD_MODULUS } from "../../../sequencer/crypto/field.ts";
import { inputFailure, rule } from "../../helpers/circuitRules.ts";
import { INSTRUMENTS } from "../../helpers/derivatives.ts";
import { prng } from "../../helpers/prng.ts";
import { compileMain, fe, witness } from "../fixed/compile.ts";

const LEVELS = 2; // 16 ids
const M = 6;
const LIB = "circuits/lib/instrumentSet.circom";
type Input = Record<string, unknown>;

const [perp, future, call, put] = INSTRUMENTS.map((spec) => registeredInstrument(spec, EMPTY_INSTRUMENT));
/** A table with a perpetual at 0, a future at 3, a call at 5 (held by two accounts) and a put at 9; the rest never registered. */
function table(): InstrumentTree {
  const t = new InstrumentTree(LEVELS);
  t.set(0, { ...perp, fundingIndex: -1_234n, holders: 3 });
  t.set(3, future);
  t.set(5, { ...call, holders: 2 });
  t.set(9, put);
  return t;
}
/** A batch's set: the perpetual funded (a negative index), the future's holders up, the call read and left as it was, and a registration at the never-used id 12. */
function entries(t: InstrumentTree): SetEntry[] {
  return [
    { id: 0, after: { ...t.instrument(0), fundingIndex: -9_999n } },
    { id: 3, after: { ...t.instrument(3), holders: 1 } },
    { id: 5, after: t.instrument(5) },
    { id: 12, after: registeredInstrument(INSTRUMENTS[1]!, EMPTY_INSTRUMENT) },
  ];
}

let setWasm: string;
let lookupWasm: string;
async function refusedAt(input: Input, at: string, wasm = setWasm): Promise<void> {
  const chain = await inputFailure(input, wasm);
  assert.notEqual(chain, null, "the circuit accepted a dishonest set");
  assert.ok(chain!.includes(at), `refused at ${chain!.join(" < ")}, not at ${at}`);
}
/** Entry k's `field` of input array `name` replaced. */
function withEntry(input: Input, name: string, k: number, value: unknown): Input {
  const column = [...(input[name] as unknown[])];
  column[k] = value;
  return { ...input, [name]: column };
}
function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  for (b %= m; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m;
  return r;
}
const newRootOf = async (input: Input) => fe((await witness(setWasm, input as never))[1]!);

describe("instrument set over a tree (InstrumentSet, SetLookup, PositionSetLookup)", { timeout: 600_000 }, () => {
  before(async () => {
    setWasm = (await compileMain(`instrumentSet_${LEVELS}_${M}`, `component main = InstrumentSet(${LEVELS}, ${M});`, LIB)).wasm;
    lookupWasm = (await compileMain(`setLookup_${M}`, `component main = SetLookup(${M}, 13);`, LIB)).wasm;
  });

  it("loads and writes back a set as the TypeScript does: the root after is the table with the writes, unused entries change nothing", async () => {
    const t = table();
    const w = loadInstrumentSet(t, entries(table()), M);
    assert.equal(await inputFailure(w.inputs, setWasm), null);
    assert.equal(await newRootOf(w.inputs), w.newRoot);
    // the mirror's root is the plain quad tree of every instrument's leaf, the writes in place
    const expected = new QuadTree(LEVELS, instrumentLeaf(EMPTY_INSTRUMENT));
    const written = table();
    for (const e of entries(table())) written.set(e.id, e.after);
    for (let id = 0; id < 16; id++) expected.set(id, instrumentLeaf(written.instrument(id)));
    assert.equal(w.newRoot, expected.root);
    assert.equal(t.root, w.newRoot, "the table is written");
    assert.deepEqual(w.ids, [0, 3, 5, 12, emptySetId(LEVELS), emptySetId(LEVELS)]);
    // a set that reads only (every after as found), and an empty set: the root stays
    const reads = table();
    const r = loadInstrumentSet(reads, [0, 9].map((id) => ({ id, after: reads.instrument(id) })), M);
    assert.equal(await newRootOf(r.inputs), table().root);
    const none = loadInstrumentSet(table(), [], M);
    assert.equal(await newRootOf(none.inputs), table().root);
    // a full set
    const full = loadInstrumentSet(table(), [0, 1, 3, 5, 9, 15].map((id) => ({ id, after: EMPTY_INSTRUMENT })), M);
    assert.equal(await newRootOf(full.inputs), full.newRoot);
  });

  it("random tables and sets (40 seeds): the circuit accepts the mirror's witness and computes its root", async () => {
    for (let seed = 1; seed <= 40; seed++) {
      const r = prng(seed);
      const random = (): InstrumentState => ({
        ...registeredInstrument(r.pick(INSTRUMENTS), EMPTY_INSTRUMENT),
        fundingIndex: BigInt(r.int(2_000_001) - 1_000_000), holders: r.int(5), generation: r.int(3),
      });
      const t = new InstrumentTree(LEVELS);
      for (let id = 0; id < 16; id++) if (r.chance(0.5)) t.set(id, random());
      const ids = [...new Set(Array.from({ length: r.int(M + 1) }, () => r.int(16)))].sort((a, b) => a - b);
      const set = ids.map((id) => ({ id, after: r.chance(0.3) ? t.instrument(id) : r.chance(0.8) ? random() : EMPTY_INSTRUMENT }));
      const w = loadInstrumentSet(t, set, M);
      assert.equal(await newRootOf(w.inputs), w.newRoot, `seed ${seed}`);
    }
  });

  it("refuses an entry whose fields are not its leaf in the tree (the call's strike lowered, its holders dropped) at the path check", async () => {
    const w = loadInstrumentSet(table(), entries(table()), M);
    const at = rule("InstrumentSet", "used[k] * (update[k].oldRoot - root[k]) === 0");
    for (const [field, value] of [["strike", call!.strike - 1n], ["holders", 0n]] as const) {
      const leaf = [...w.inputs.leaf[2]!];
      leaf[INSTRUMENT_FIELD[field]] = value;
      await refusedAt(withEntry(w.inputs, "leaf", 2, leaf), at);
    }
  });

  it("refuses an instrument twice in the set, even with both paths chained (one copy moved, the other written back)", async () => {
    const t = table();
    const twice = loadInstrumentSet(t, [{ id: 5, after: { ...call!, holders: 3 } }, { id: 5, after: { ...call!, holders: 1 } }], M, { enforceRules: false });
    // the chain itself is consistent: the second copy is read, and its path taken, after the first write
    assert.equal(twice.before[1]!.holders, 3);
    assert.deepEqual(twice.inputs.leaf[1], twice.inputs.after[0]);
    assert.equal(t.instrument(5).holders, 1);
    await refusedAt(twice.inputs, rule("InstrumentSet", "used[k] * (1 - ordered[k].out) === 0"));
  });

  it("refuses ids out of order", async () => {
    const t = table();
    const w = loadInstrumentSet(t, [{ id: 9, after: t.instrument(9) }, { id: 3, after: t.instrument(3) }], M, { enforceRules: false });
    await refusedAt(w.inputs, rule("InstrumentSet", "used[k] * (1 - ordered[k].out) === 0"));
  });

  it("refuses a used entry after an unused one (used entries first: the unused entry's id 4^levels is above every used id, so the order rule refuses it)", async () => {
    const t = table();
    const w = loadInstrumentSet(t, [{ id: 3, after: t.instrument(3) }], M);
    // entry 0 made unused, entry 1 used with the same load: the set's canonical form is broken
    const input = { ...w.inputs, ids: [BigInt(emptySetId(LEVELS)), 3n, ...w.inputs.ids.slice(2)], used: [0n, 1n, ...w.inputs.used.slice(2)],
      leaf: [w.inputs.leaf[1], w.inputs.leaf[0], ...w.inputs.leaf.slice(2)], after: [w.inputs.after[1], w.inputs.after[0], ...w.inputs.after.slice(2)],
      siblings: [w.inputs.siblings[1], w.inputs.siblings[0], ...w.inputs.siblings.slice(2)] };
    await refusedAt(input, rule("InstrumentSet", "used[k] * (1 - ordered[k].out) === 0"));
  });

  it("refuses an unused entry that holds an instrument, is written, or carries a real id", async () => {
    const w = loadInstrumentSet(table(), entries(table()), M);
    const last = M - 1;
    await refusedAt(withEntry(w.inputs, "leaf", last, instrumentFields(call!)), rule("InstrumentSet", "(1 - used[k]) * leaf[k][f] === 0"));
    // a registration written to an unused entry would be dropped from the root: refused
    await refusedAt(withEntry(w.inputs, "after", last, instrumentFields(future!)), rule("InstrumentSet", "(1 - used[k]) * after[k][f] === 0"));
    await refusedAt(withEntry(w.inputs, "ids", last, 7n), rule("InstrumentSet", "(1 - used[k]) * (ids[k] - EMPTY) === 0"));
  });

  it("refuses a `used` flag that is not a bit (the batch gates on it): the last entry used 1/4^levels, so its index is 1 and its path the empty id 1's", async () => {
    const t = table();
    // five used entries, so the last one follows a used id below 4^levels (the order rule is content)
    const w = loadInstrumentSet(t, [...entries(table()), { id: 15, after: EMPTY_INSTRUMENT }], M);
    const last = M - 1;
    assert.equal(w.inputs.used[last], 0n);
    const inverse = modPow(BigInt(emptySetId(LEVELS)), FIELD_MODULUS - 2n, FIELD_MODULUS);
    const input = { ...withEntry(w.inputs, "used", last, inverse), siblings: w.inputs.siblings.map((p, k) => (k === last ? t.proof(1) : p)) };
    await refusedAt(input, rule("InstrumentSet", "used[k] * (used[k] - 1) === 0"));
  });

  it("refuses a used id at or past 4^levels (no path names it) at its range check", async () => {
    const t = table();
    const w = loadInstrumentSet(t, [{ id: 15, after: t.instrument(15) }], M);
    // id 16 + 15 has the same low bits as 15: the range check, not the path, refuses it
    await refusedAt(withEntry(w.inputs, "ids", 0, 31n), rule("InstrumentSet", "idBits[k].in <== index[k]"));
  });

  it("SetLookup finds a used entry's fields and its index; refuses an id the set does not hold, and never finds an unused entry", async () => {
    const w = loadInstrumentSet(table(), entries(table()), M);
    const input = (id: bigint) => ({ id, ids: w.inputs.ids, used: w.inputs.used, fields: w.inputs.leaf });
    const out = await witness(lookupWasm, input(5n) as never);
    assert.deepEqual(out.slice(1, 14).map(fe), instrumentFields(call!).map((v, f) => (f === INSTRUMENT_FIELD.holders ? 2n : v)));
    assert.equal(out[14], 2n, "entry 2");
    const found = rule("SetLookup", "entry.found === 1");
    await refusedAt(input(9n), found, lookupWasm); // registered, but not in the set
    // the unused entry's id, with exactly one unused entry (so only the `used` gate, not a double match, refuses it)
    const one = loadInstrumentSet(table(), [...entries(table()), { id: 15, after: EMPTY_INSTRUMENT }], M);
    assert.deepEqual(one.inputs.used, [1n, 1n, 1n, 1n, 1n, 0n]);
    await refusedAt({ id: BigInt(emptySetId(LEVELS)), ids: one.inputs.ids, used: one.inputs.used, fields: one.inputs.leaf }, found, lookupWasm);
  });

  describe("PositionSetLookup", () => {
    const K = 3;
    const N = 4;
    let setLookup: string;
    let vectorLookup: string;
    before(async () => {
      setLookup = (await compileMain(`positionSetLookup_${K}_${N}`, `component main = PositionSetLookup(${K}, ${N});`, LIB)).wasm;
      vectorLookup = (await compileMain(`positionLookup_${K}_${N}`, `component main = PositionLookup(${K}, ${N});`, "circuits/lib/positions.circom")).wasm;
    });
    const funding = [17n, -5n, 0n, 99n];
    const slots = (id: number[], size: bigint[], snap: bigint[]) => ({ id: id.map(BigInt), posSize: size, posSnap: snap });

    it("over the set 0..N-1 proves what PositionLookup(K, N) proves (the build order's regression): the same outputs on every layout tried, and the same refusal of a slot id past N", async () => {
      const layouts = [
        slots([0, 0, 0], [0n, 0n, 0n], [0n, 0n, 0n]),
        slots([1, 0, 0], [5n, 0n, 0n], [3n, 0n, 0n]),
        slots([4, 2, 0], [-7n, 2n, 0n], [1n, -4n, 0n]),
        slots([3, 1, 4], [1n, -1n, 8n], [9n, 8n, 7n]),
      ];
      for (const s of layouts) {
        const viaSet = await witness(setLookup, { ...s, ids: [0n, 1n, 2n, 3n], used: [1n, 1n, 1n, 1n], fundingIndex: funding } as never);
        const viaVector = await witness(vectorLookup, { ...s, fundingIndex: funding } as never);
        const n = 2 * N + 2 * K; // size[N], snap[N], index[K], empty[K]
        assert.deepEqual(viaSet.slice(1, 1 + n), viaVector.slice(1, 1 + n), `layout ${s.id.join(",")}`);
      }
      const past = slots([N + 1, 0, 0], [1n, 0n, 0n], [0n, 0n, 0n]);
      assert.notEqual(await inputFailure({ ...past, ids: [0n, 1n, 2n, 3n], used: [1n, 1n, 1n, 1n], fundingIndex: funding }, setLookup), null);
      assert.notEqual(await inputFailure({ ...past, fundingIndex: funding }, vectorLookup), null);
    });

    it("reads a position among set entries of any ids; refuses a slot whose instrument the set does not hold, and an empty slot with a size", async () => {
      const ids = [3n, 5n, 12n, BigInt(emptySetId(LEVELS))];
      const used = [1n, 1n, 1n, 0n];
      const out = await witness(setLookup, { ...slots([6, 0, 13], [4n, 0n, -2n], [11n, 0n, 12n]), ids, used, fundingIndex: funding } as never);
      assert.deepEqual(out.slice(1, 5).map(fe), [0n, 4n, fe(-2n), 0n], "sizes by entry: id 5 in entry 1, id 12 in entry 2");
      assert.deepEqual(out.slice(9, 12).map(fe), [fe(-5n), 0n, 0n], "funding index of each slot's instrument");
      await refusedAt({ ...slots([10, 0, 0], [4n, 0n, 0n], [0n, 0n, 0n]), ids, used, fundingIndex: funding }, rule("PositionSetLookup", "empty[k] + slotMatch[k].found === 1"), setLookup);
      // the unused entry's id + 1 is found nowhere either
      await refusedAt({ ...slots([emptySetId(LEVELS) + 1, 0, 0], [4n, 0n, 0n], [0n, 0n, 0n]), ids, used, fundingIndex: funding }, rule("PositionSetLookup", "empty[k] + slotMatch[k].found === 1"), setLookup);
      await refusedAt({ ...slots([0, 0, 0], [4n, 0n, 0n], [0n, 0n, 0n]), ids, used, fundingIndex: funding }, rule("PositionSetLookup", "empty[k] * posSize[k] === 0"), setLookup);
      await refusedAt({ ...slots([0, 0, 0], [0n, 0n, 0n], [0n, 7n, 0n]), ids, used, fundingIndex: funding }, rule("PositionSetLookup", "empty[k] * posSnap[k] === 0"), setLookup);
    });
  });
});
